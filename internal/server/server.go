// Package server wires Berth's control plane together: the state store, the
// AWS API gateway with every API package, health and metrics endpoints, and
// the first-start bootstrap of credentials.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/berthhq/berth/internal/agentapi"
	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/controller"
	"github.com/berthhq/berth/internal/ecr"
	"github.com/berthhq/berth/internal/ecs"
	"github.com/berthhq/berth/internal/elbv2"
	"github.com/berthhq/berth/internal/keyring"
	"github.com/berthhq/berth/internal/lb"
	"github.com/berthhq/berth/internal/logs"
	"github.com/berthhq/berth/internal/registry"
	"github.com/berthhq/berth/internal/secretsmanager"
	"github.com/berthhq/berth/internal/sigv4"
	"github.com/berthhq/berth/internal/ssm"
	"github.com/berthhq/berth/internal/state"
	"github.com/berthhq/berth/internal/sts"
)

// Config configures the control plane.
type Config struct {
	// Listen is the address of the one port every API is served on.
	Listen string
	// DataDir holds the state, the credentials file and the join token.
	DataDir string
	// Auth is "strict" (default) or "permissive".
	Auth string
	// AccountID is the default account, which owns the root access key.
	AccountID string
	// MaxBodyBytes caps API request bodies.
	MaxBodyBytes int64
	// TaskRetention is how long STOPPED tasks stay describable.
	TaskRetention time.Duration
	// AgentGrace is how long after its last heartbeat an agent still counts
	// as connected.
	AgentGrace time.Duration
	// AgentHeartbeat is how often agents are told to heartbeat; it must be
	// well under AgentGrace.
	AgentHeartbeat time.Duration
	// InstanceLostAfter is how long an agent may be silent before its
	// instance's service tasks are replaced elsewhere.
	InstanceLostAfter time.Duration
	// ServiceTiming tunes the service controller (zero fields: defaults);
	// tests shrink it. AgentGrace and InstanceLostAfter override its own.
	ServiceTiming controller.Timing
	// TLSNames are host names and IP addresses the API port's certificate
	// names besides loopback, the machine's host name and the listen
	// address: those other hosts' agents and clients dial it by.
	TLSNames []string
	// RegistryHost is the host[:port] clients push images to, which
	// repositoryUri and proxyEndpoint carry; default: the listen address.
	RegistryHost string
	// LBAddress is where load balancer listeners bind (default 127.0.0.1);
	// LBPortOffset is added to every listener port, so that an unprivileged
	// user can serve port 80 on 8080.
	LBAddress    string
	LBPortOffset int
	// LBHealthCheckInterval overrides every target group's health check
	// interval (tests only; zero keeps the groups' own).
	LBHealthCheckInterval time.Duration
	// RotateMasterKey starts a new master key generation at start; the
	// sealed secrets are re-wrapped in the background and the old
	// generation retired once all are (a crash midway resumes at the next
	// start).
	RotateMasterKey bool
	// MasterKeyFile is where the keyring's master keys live; default
	// <DataDir>/master.keys (mode 0600). Keep it apart from the data dir's
	// backups: it decrypts every secret in the state.
	MasterKeyFile string
	// Logger receives all logs.
	Logger *slog.Logger
}

// Validate fills defaults and checks the configuration.
func (c *Config) Validate() error {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:4566"
	}
	if c.DataDir == "" {
		return errors.New("server: a data directory is required")
	}
	if c.AccountID == "" {
		c.AccountID = "000000000000"
	}
	if len(c.AccountID) != 12 || !allDigits(c.AccountID) {
		return fmt.Errorf("server: account id %q is not 12 digits", c.AccountID)
	}
	if c.Auth == "" {
		c.Auth = awsapi.AuthStrict
	}
	if c.Auth != awsapi.AuthStrict && c.Auth != awsapi.AuthPermissive {
		return fmt.Errorf("server: auth mode %q is not strict or permissive", c.Auth)
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 16 << 20
	}
	if c.TaskRetention == 0 {
		c.TaskRetention = time.Hour
	}
	if c.AgentGrace == 0 {
		c.AgentGrace = 30 * time.Second
	}
	if c.AgentHeartbeat == 0 {
		c.AgentHeartbeat = min(10*time.Second, c.AgentGrace/3)
	}
	if c.InstanceLostAfter == 0 {
		c.InstanceLostAfter = 2 * time.Minute
	}
	if c.InstanceLostAfter < c.AgentGrace {
		return fmt.Errorf("server: instance-lost-after %s is shorter than the agent grace %s", c.InstanceLostAfter, c.AgentGrace)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Server is Berth's control plane.
type Server struct {
	cfg   Config
	log   *slog.Logger
	ready atomic.Bool
	addr  atomic.Pointer[string]
	up    chan struct{} // closed once serving
	creds atomic.Pointer[Credentials]
	caPEM atomic.Pointer[[]byte]
}

// Credentials are the root access key of the default account.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// New validates cfg and returns a server that Run starts.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, log: cfg.Logger.With("component", "server"), up: make(chan struct{})}, nil
}

// Up is closed once the server serves requests; Addr and RootCredentials are
// valid from then on.
func (s *Server) Up() <-chan struct{} { return s.up }

// Addr is the address the server listens on.
func (s *Server) Addr() string {
	if p := s.addr.Load(); p != nil {
		return *p
	}
	return ""
}

// CACertificate returns the PEM of the cluster CA, which issues the API
// port's TLS certificate (for clients that reach it over https).
func (s *Server) CACertificate() []byte {
	if p := s.caPEM.Load(); p != nil {
		return *p
	}
	return nil
}

// RootCredentials returns the root access key of the default account.
func (s *Server) RootCredentials() Credentials {
	if c := s.creds.Load(); c != nil {
		return *c
	}
	return Credentials{}
}

// Run opens the state, bootstraps it on first start, and serves until ctx is
// cancelled. It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("server: data dir: %w", err)
	}
	phases := startPhases()
	store, err := state.Open(state.Config{DataDir: filepath.Join(s.cfg.DataDir, "state"), Logger: s.cfg.Logger})
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			s.log.Error("close state", "err", err)
		}
	}()
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	phases.mark("state")
	err = store.WaitLeader(waitCtx)
	cancel()
	if err != nil {
		return err
	}
	phases.mark("leader")
	kr, err := keyring.Open(keyring.Config{Dir: s.cfg.DataDir, MasterKeyFile: s.cfg.MasterKeyFile, Logger: s.cfg.Logger})
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if s.cfg.RotateMasterKey {
		if err := kr.Rotate(); err != nil {
			return fmt.Errorf("server: rotate the master key: %w", err)
		}
		s.log.Info("master key rotated; re-wrapping sealed secrets", "generation", kr.CurrentID())
	}
	keys := &accessKeys{store: store, kr: kr}
	certs, err := loadTLS(s.cfg.DataDir, s.cfg.Listen, s.cfg.TLSNames)
	if err != nil {
		return err
	}
	s.caPEM.Store(&certs.caPEM)
	root, err := bootstrap(ctx, store, keys, s.cfg.DataDir, s.cfg.AccountID, certs.Fingerprint())
	if err != nil {
		return err
	}
	s.creds.Store(root)
	phases.mark("keys")

	tcp, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", s.cfg.Listen, err)
	}
	// One port, TLS or not: see tls.go.
	ln := newMuxListener(tcp, certs.Config())
	addr := ln.Addr().String()
	s.addr.Store(&addr)
	defer ln.Close() // after a clean Serve it is closed already
	registryHost := s.cfg.RegistryHost
	if registryHost == "" {
		registryHost = addr
	}
	tokenKey, err := registryTokenKey(ctx, store, kr)
	if err != nil {
		return err
	}
	images, err := registry.New(registry.Config{DataDir: filepath.Join(s.cfg.DataDir, "registry"), Host: registryHost,
		TokenKey: tokenKey, Logger: s.cfg.Logger}, store)
	if err != nil {
		return fmt.Errorf("server: registry: %w", err)
	}
	defer func() {
		if err := images.Close(); err != nil {
			s.log.Error("close registry", "err", err)
		}
	}()

	phases.mark("registry")

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	verifier := &sigv4.Verifier{Lookup: keys.lookup}
	gw, err := awsapi.New(awsapi.Config{
		Auth:           s.cfg.Auth,
		DefaultAccount: s.cfg.AccountID,
		MaxBodyBytes:   s.cfg.MaxBodyBytes,
		Logger:         s.cfg.Logger,
		Registerer:     reg,
	}, awsapi.Deps{Verifier: verifier})
	if err != nil {
		return err
	}
	plane, err := lb.New(lb.Config{Address: s.cfg.LBAddress, PortOffset: s.cfg.LBPortOffset, Logger: s.cfg.Logger, MinHealthInterval: s.cfg.LBHealthCheckInterval})
	if err != nil {
		return fmt.Errorf("server: load balancer data plane: %w", err)
	}
	elb := elbv2.New(elbv2.Config{Logger: s.cfg.Logger, ResolveInstance: instanceResolver(store), HealthCheckInterval: s.cfg.LBHealthCheckInterval}, store, plane)
	gw.RegisterQuery(elb.Service())
	gw.RegisterJSON(ecs.New(ecs.Config{Logger: s.cfg.Logger, AgentGrace: s.cfg.AgentGrace, TargetGroup: func(account, region, arn string) ([]string, bool) {
		info, ok := elb.TargetGroupInfo(account, region, arn)
		return info.LoadBalancerARNs, ok
	}}, store).Service())
	gw.RegisterQuery(sts.New().Service())
	ssmAPI := ssm.New(ssm.Config{Logger: s.cfg.Logger}, store, kr)
	gw.RegisterJSON(ssmAPI.Service())
	smAPI := secretsmanager.New(secretsmanager.Config{Logger: s.cfg.Logger}, store, kr)
	gw.RegisterJSON(smAPI.Service())
	logsAPI, err := logs.New(logs.Config{DataDir: filepath.Join(s.cfg.DataDir, "logs"), Logger: s.cfg.Logger})
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	defer func() {
		if err := logsAPI.Close(); err != nil {
			s.log.Error("close logs", "err", err)
		}
	}()
	gw.RegisterJSON(logsAPI.Service())
	phases.mark("apis")
	ecrAPI := ecr.New(ecr.Config{Logger: s.cfg.Logger}, store, images)
	gw.RegisterJSON(ecrAPI.Service())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() || !store.IsLeader() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/agent/v1/", agentapi.NewHandler(agentapi.Config{
		Account: s.cfg.AccountID, Heartbeat: s.cfg.AgentHeartbeat, Grace: s.cfg.AgentGrace, Logger: s.cfg.Logger,
		Secrets:  secretResolver{ssm: ssmAPI, sm: smAPI},
		Logs:     logSink{logsAPI},
		Registry: images,
	}, store))
	root404 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, fmt.Sprintf("berth: nothing is served at %s %s", r.Method, r.URL.Path), http.StatusNotFound)
	})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2" || strings.HasPrefix(r.URL.Path, "/v2/") {
			images.ServeHTTP(w, r)
			return
		}
		if gw.Handles(r) {
			gw.ServeHTTP(w, r)
			return
		}
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		root404(w, r)
	})

	// Requests derive from serveCtx, so that long polls (agents' blocking
	// queries) end as soon as shutdown begins.
	serveCtx, cancelServe := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelServe()
	srv := &http.Server{
		BaseContext:       func(net.Listener) context.Context { return serveCtx },
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	ctrlCtx, stopControllers := context.WithCancel(ctx)
	var ctrls sync.WaitGroup
	// run runs a background loop; one that stops with an error says so.
	run := func(name string, fn func(context.Context) error) {
		ctrls.Go(func() {
			if err := fn(ctrlCtx); err != nil {
				s.log.Error("background loop stopped", "loop", name, "err", err)
			}
		})
	}
	// Re-wraps sealed secrets after a master key rotation (or one a crash
	// interrupted), then retires the old master keys.
	run("keyring", func(ctx context.Context) error { return kr.Run(ctx, keys, ssmAPI, smAPI) })
	run("secretsmanager", smAPI.Run) // purges secrets past their recovery window
	// The data plane serves on every server; its listeners close when it
	// returns.
	run("lb", plane.Run)
	run("logs", logsAPI.Run)    // retention
	run("registry", images.Run) // garbage collection
	run("ecr", ecrAPI.Run)      // lifecycle policies
	run("elbv2", elb.Run)
	gc := &controller.TaskGC{Store: store, Retention: s.cfg.TaskRetention, Logger: s.cfg.Logger}
	run("taskgc", gc.Run)
	timing := s.cfg.ServiceTiming
	timing.AgentGrace, timing.InstanceLostAfter = s.cfg.AgentGrace, s.cfg.InstanceLostAfter
	run("services", controller.NewServices(controller.ServicesConfig{Store: store, Logger: s.cfg.Logger, Timing: timing,
		LoadBalancing: loadBalancing{elb}}).Run)
	defer func() {
		stopControllers()
		ctrls.Wait()
	}()
	s.ready.Store(true)
	close(s.up)
	phases.mark("loops")
	s.log.Info("serving", "addr", addr, "data_dir", s.cfg.DataDir, "auth", s.cfg.Auth, phases.attr())

	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.ready.Store(false)
	cancelServe()
	// Give requests in flight a moment to finish, then close what is left
	// (including connections opened but never used, which Shutdown would
	// otherwise wait on).
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
	}
	<-errc
	return nil
}

// phases times the steps of a start, so that a slow one shows which step it
// spent its time in.
type phases struct {
	begin, last time.Time
	took        []any
}

func startPhases() *phases {
	now := time.Now()
	return &phases{begin: now, last: now}
}

// mark ends the step named phase.
func (p *phases) mark(phase string) {
	now := time.Now()
	p.took = append(p.took, slog.Duration(phase, now.Sub(p.last).Round(time.Millisecond)))
	p.last = now
}

// attr is the whole start and its steps, as one attribute.
func (p *phases) attr() slog.Attr {
	return slog.Group("startup", append([]any{slog.Duration("total", p.last.Sub(p.begin).Round(time.Millisecond))}, p.took...)...)
}
