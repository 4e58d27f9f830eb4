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
	"strings"
	"syscall"
	"time"

	"github.com/berthhq/berth/internal/agent"
	"github.com/berthhq/berth/internal/runtime/docker"
)

// agentFlags are the flags of the node agent, shared by `agent` and `dev`.
type agentFlags struct {
	cluster, region, dockerHost, az, instanceType, address, pull string
	secretsDir                                                   string
	reservedMemory                                               int64
	allowPrivileged                                              bool
	cleanupWait                                                  time.Duration
	attributes                                                   attrFlag
}

func (f *agentFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.cluster, "cluster", "default", "the cluster the host joins")
	fs.StringVar(&f.region, "region", "us-east-1", "the region of the cluster")
	fs.StringVar(&f.dockerHost, "docker-host", "", "the Docker engine to run tasks on (default: DOCKER_HOST or the local socket)")
	fs.StringVar(&f.az, "availability-zone", "", "the ecs.availability-zone attribute (default: <region>a)")
	fs.StringVar(&f.instanceType, "instance-type", "berth.host", "the ecs.instance-type attribute")
	fs.StringVar(&f.address, "address", "127.0.0.1", "the address other hosts reach this host's published ports at")
	fs.Int64Var(&f.reservedMemory, "reserved-memory", 0, "MiB of host memory kept back from tasks")
	fs.BoolVar(&f.allowPrivileged, "allow-privileged", false, "let tasks run privileged containers")
	fs.StringVar(&f.pull, "image-pull-behavior", "default", "default, always, once or prefer-cached (as ECS_IMAGE_PULL_BEHAVIOR)")
	fs.DurationVar(&f.cleanupWait, "task-cleanup-wait", 3*time.Hour, "how long a stopped task's containers are kept")
	fs.Var(&f.attributes, "attribute", "a custom attribute name=value (repeatable)")
	fs.StringVar(&f.secretsDir, "secrets-dir", "", "where secret files of containers labelled berth.secrets-as-files=true are kept (default: under /dev/shm, a tmpfs)")
}

func (f *agentFlags) config(server, token, dataDir string, log *slog.Logger) agent.Config {
	return agent.Config{
		Server: server, JoinToken: token, Cluster: f.cluster, Region: f.region, DataDir: dataDir,
		Address: f.address, AvailabilityZone: f.az, InstanceType: f.instanceType, Attributes: f.attributes.m,
		ReservedMemoryMiB: f.reservedMemory, AllowPrivileged: f.allowPrivileged, TaskCleanupWait: f.cleanupWait,
		ImagePullBehavior: f.pull, SecretsDir: f.secretsDir,
		Logger: log,
	}
}

// listFlag is a repeatable flag whose values may also come comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

type attrFlag struct{ m map[string]string }

func (a *attrFlag) String() string {
	var parts []string
	for k, v := range a.m {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (a *attrFlag) Set(s string) error {
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return fmt.Errorf("attribute %q is not name=value", kv)
		}
		if a.m == nil {
			a.m = map[string]string{}
		}
		a.m[k] = v
	}
	return nil
}

func runAgent(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var af agentFlags
	af.register(fs)
	var (
		server    = fs.String("server", "https://127.0.0.1:4566", "the control plane's URL (https://: the join token pins its CA)")
		tokenFile = fs.String("join-token-file", "", "file holding the cluster join token (the server's <data-dir>/join-token)")
		dataDir   = fs.String("data-dir", "", "directory for the agent's local state")
		logLevel  = fs.String("log-level", "info", "log level: debug, info, warn, error")
		logJSON   = fs.Bool("log-json", false, "log as JSON lines instead of text")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := applyEnv(fs); err != nil {
		return err
	}
	if *dataDir == "" {
		return errors.New("agent: --data-dir (or BERTH_DATA_DIR) is required")
	}
	log, err := newLogger(stderr, *logLevel, *logJSON)
	if err != nil {
		return err
	}
	token := ""
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fmt.Errorf("agent: read join token: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	rt, err := docker.New(docker.Config{Host: af.dockerHost})
	if err != nil {
		return fmt.Errorf("agent: %w; point the agent at a Docker engine with --docker-host or DOCKER_HOST", err)
	}
	a, err := agent.New(af.config(*server, token, *dataDir, log), rt)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return a.Run(ctx)
}

// devAgent runs the agent of `berth dev` against the local engine. An
// unreachable engine is reported, and the control plane keeps serving.
func devAgent(ctx context.Context, af *agentFlags, endpoint, dataDir string, log *slog.Logger, stdout io.Writer) error {
	token, err := os.ReadFile(filepath.Join(dataDir, "join-token"))
	if err != nil {
		return fmt.Errorf("dev: read join token: %w", err)
	}
	rt, err := docker.New(docker.Config{Host: af.dockerHost})
	if err == nil {
		err = rt.Ping(ctx)
	}
	if err != nil {
		fmt.Fprintf(stdout, "No Docker engine is reachable (%v): tasks cannot run until one is. Start Docker, or pass --docker-host (or set DOCKER_HOST), and restart berth dev.\n\n", err)
		return nil
	}
	a, err := agent.New(af.config(endpoint, strings.TrimSpace(string(token)), filepath.Join(dataDir, "agent"), log), rt)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}
