// Command berth runs Berth: a self-hosted container platform that speaks the
// AWS container APIs.
//
//	berth dev       the control plane and one agent, data in ./.berth, for one machine
//	berth server    the control plane
//	berth agent     the node agent of one Docker host
//	berth version   print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/berthhq/berth/internal/controller"
	"github.com/berthhq/berth/internal/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "berth:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: berth <command> [flags]

commands:
  dev       run the control plane and a node agent for local use (data in ./.berth)
  server    run the control plane
  agent     run the node agent on a Docker host
  version   print the version

Run 'berth <command> -h' for a command's flags. Every flag can also be set
through the environment as BERTH_<FLAG> (e.g. BERTH_DATA_DIR for --data-dir).
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "berth", buildVersion())
		return nil
	case "dev":
		return runServer(args[0], args[1:], stdout, stderr, true)
	case "server":
		return runServer(args[0], args[1:], stdout, stderr, false)
	case "agent":
		return runAgent(args[1:], stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "devel-" + s.Value[:12]
			}
		}
	}
	return "devel"
}

func runServer(name string, args []string, stdout, stderr io.Writer, dev bool) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	defaultDir := ""
	if dev {
		defaultDir = ".berth"
	}
	var (
		listen    = fs.String("listen", "127.0.0.1:4566", "address of the API port (AWS APIs, registry, agent API)")
		dataDir   = fs.String("data-dir", defaultDir, "directory for state, credentials and the join token")
		auth      = fs.String("auth", "strict", "request authentication: strict, or permissive (accept any access key; for tools with dummy credentials only)")
		account   = fs.String("account-id", "000000000000", "the default account id")
		retain    = fs.Duration("task-retention", time.Hour, "how long STOPPED tasks stay describable")
		grace     = fs.Duration("agent-grace", 30*time.Second, "how long after its last heartbeat an agent counts as connected")
		healthy   = fs.Duration("task-healthy-after", 40*time.Second, "how long a service task without container health checks must be RUNNING to count healthy in a deployment")
		masterKey = fs.String("master-key-file", "", "the keyring's master keys, which decrypt every stored secret (default: <data-dir>/master.keys)")
		rotate    = fs.Bool("rotate-master-key", false, "start a new master key generation and re-wrap every sealed secret under it in the background")
		lost      = fs.Duration("instance-lost-after", 2*time.Minute, "how long an agent may be silent before its service tasks are replaced elsewhere")
		regHost   = fs.String("registry-host", "", "the host[:port] clients push images to, as repositoryUri and proxyEndpoint carry it (default: the --listen address)")
		lbAddr    = fs.String("lb-address", "127.0.0.1", "where load balancer listeners bind")
		lbOffset  = fs.Int("lb-port-offset", 0, "added to every listener port (8000 serves a port 80 listener on 8080, for unprivileged users)")
		logLevel  = fs.String("log-level", "info", "log level: debug, info, warn, error")
		logJSON   = fs.Bool("log-json", false, "log as JSON lines instead of text")
	)
	var (
		af       agentFlags
		noAgent  bool
		tlsNames listFlag
	)
	fs.Var(&tlsNames, "tls-name", "a host name or IP address other hosts reach the API port by, for its TLS certificate (repeatable)")
	if dev {
		af.register(fs)
		fs.BoolVar(&noAgent, "no-agent", false, "run the control plane only")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := applyEnv(fs); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", name, fs.Args())
	}
	if *dataDir == "" {
		return fmt.Errorf("%s: --data-dir (or BERTH_DATA_DIR) is required", name)
	}
	logger, err := newLogger(stderr, *logLevel, *logJSON)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}

	srv, err := server.New(server.Config{
		Listen:            *listen,
		DataDir:           *dataDir,
		Auth:              *auth,
		AccountID:         *account,
		TaskRetention:     *retain,
		AgentGrace:        *grace,
		InstanceLostAfter: *lost,
		MasterKeyFile:     *masterKey,
		RotateMasterKey:   *rotate,
		LBAddress:         *lbAddr,
		RegistryHost:      *regHost,
		LBPortOffset:      *lbOffset,
		TLSNames:          tlsNames,
		ServiceTiming:     controller.Timing{HealthyAfter: *healthy},
		Logger:            logger,
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	errc := make(chan error, 2)
	go func() { errc <- srv.Run(ctx) }()
	select {
	case err := <-errc:
		return err
	case <-srv.Up():
	}
	if !dev {
		return <-errc
	}
	printDevBanner(stdout, srv.Addr(), *dataDir)
	if noAgent {
		return <-errc
	}
	agentCtx, cancelAgent := context.WithCancel(ctx)
	agentDone := make(chan struct{})
	go func() {
		defer close(agentDone)
		if err := devAgent(agentCtx, &af, "https://"+srv.Addr(), *dataDir, logger, stdout); err != nil {
			logger.Error("agent stopped", "err", err)
		}
	}()
	err = <-errc
	cancelAgent()
	<-agentDone
	return err
}

func newLogger(w io.Writer, level string, asJSON bool) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	if asJSON {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

func printDevBanner(w io.Writer, addr, dataDir string) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	fmt.Fprintf(w, `
Berth is running.

  endpoint     http://%[1]s
  credentials  %[2]s (profile default)

Use it from another shell:

  export AWS_SHARED_CREDENTIALS_FILE=%[2]s AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
         AWS_ENDPOINT_URL=http://%[1]s
  aws ecs create-cluster --cluster-name demo

Another agent joins over TLS (the join token pins this server's CA; for other hosts, start
berth with --listen on an address they reach and --tls-name with the name they use):

  berth agent --server https://%[1]s --join-token-file %[3]s --data-dir /var/lib/berth-agent

`, addr, filepath.Join(abs, server.CredentialsFile), filepath.Join(abs, server.JoinTokenFile))
}

// applyEnv sets every flag that was not given on the command line from its
// BERTH_* environment variable, if that is set.
func applyEnv(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		env := "BERTH_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s: %w", env, serr)
			}
		}
	})
	return err
}
