package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/berthhq/berth/internal/agentapi"
	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/runtime"
)

// Version is the agent version reported in versionInfo.agentVersion (the
// agentHash says it is Berth's agent).
const Version = "0.1.0"

// Config configures an agent.
type Config struct {
	// Server is the control plane's base URL, e.g. http://127.0.0.1:4566.
	Server string
	// JoinToken admits the host to the cluster on first registration.
	JoinToken string
	// Cluster and Region place the instance.
	Cluster string
	Region  string
	// DataDir keeps the agent's identity and report sequence.
	DataDir string
	// SecretsDir holds the secret files of containers labelled
	// berth.secrets-as-files=true; default: a directory under /dev/shm (a
	// tmpfs), else under DataDir.
	SecretsDir string
	// Address is where other hosts reach this host's published ports.
	Address string
	// AvailabilityZone and InstanceType become ecs.* attributes.
	AvailabilityZone string
	InstanceType     string
	// Attributes are custom attributes (name -> value).
	Attributes map[string]string
	// ReservedMemoryMiB is kept back from tasks.
	ReservedMemoryMiB int64
	// ImagePullBehavior is default (pull, fall back to a local copy), always
	// (pull, no fallback), once (pull the first time only) or prefer-cached
	// (use a local copy when there is one), as the ECS agent's setting.
	ImagePullBehavior string
	// AllowPrivileged lets tasks run privileged containers.
	AllowPrivileged bool
	// StopTimeout is the default time between SIGTERM and SIGKILL.
	StopTimeout time.Duration
	// TaskCleanupWait is how long a stopped task's containers are kept.
	TaskCleanupWait time.Duration
	// Resync is how often each task re-reads its containers' state, in case
	// an engine event was missed.
	Resync time.Duration
	// MetadataAddr is where the task metadata endpoint listens (default: the
	// engine's bridge gateway, else 127.0.0.1, on a free port). It also
	// relays tasks' AWS API calls to the server.
	MetadataAddr string
	Logger       *slog.Logger
}

// Validate fills defaults and checks the configuration.
func (c *Config) Validate() error {
	if c.Server == "" {
		return errors.New("agent: the server URL is required")
	}
	if c.DataDir == "" {
		return errors.New("agent: a data directory is required")
	}
	if c.SecretsDir == "" {
		abs, _ := filepath.Abs(c.DataDir)
		sum := sha256.Sum256([]byte(abs))
		c.SecretsDir = filepath.Join(c.DataDir, "secrets")
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			c.SecretsDir = filepath.Join("/dev/shm", "berth-secrets-"+hex.EncodeToString(sum[:6]))
		}
	}
	if c.Cluster == "" {
		c.Cluster = "default"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Address == "" {
		c.Address = "127.0.0.1"
	}
	if c.AvailabilityZone == "" {
		c.AvailabilityZone = c.Region + "a"
	}
	if c.InstanceType == "" {
		c.InstanceType = "berth.host"
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = 30 * time.Second
	}
	if c.TaskCleanupWait == 0 {
		c.TaskCleanupWait = 3 * time.Hour
	}
	switch c.ImagePullBehavior {
	case "":
		c.ImagePullBehavior = "default"
	case "default", "always", "once", "prefer-cached":
	default:
		return fmt.Errorf("agent: image pull behavior %q is not default, always, once or prefer-cached", c.ImagePullBehavior)
	}
	if c.Resync == 0 {
		c.Resync = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Agent runs a host's tasks.
type Agent struct {
	cfg    Config
	rt     runtime.Runtime
	log    *slog.Logger
	client *agentapi.Client
	// joinSecret is the join token without the CA fingerprint the client
	// pins.
	joinSecret string
	// pumps are the goroutines shipping container output (logship.go).
	pumps sync.WaitGroup
	// registryHost is the server's image registry (host[:port]), if any.
	registryHost string
	// heartbeatEvery is the interval the server asked for at registration.
	heartbeatEvery time.Duration
	ports          *portAllocator

	local *localStore
	id    *identity

	mu       sync.Mutex
	runners  map[string]*runner // by task ARN
	byCtr    map[string]*runner // by container id
	finished map[string]bool    // tasks whose STOPPED the server acknowledged

	reports *reporter
	meta    *metadataServer
	pulled  sync.Map           // image refs pulled by this agent (for "once")
	pulls   singleflight.Group // pulls in flight, by image ref
	wg      sync.WaitGroup
	ready   chan struct{}
}

// New validates cfg and returns an agent using rt.
func New(cfg Config, rt runtime.Runtime) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	joinSecret, caFingerprint := agentapi.ParseJoinToken(cfg.JoinToken)
	client, err := agentapi.NewClient(cfg.Server, caFingerprint)
	if err != nil {
		return nil, err
	}
	lo, hi := ephemeralRange()
	return &Agent{
		cfg: cfg, rt: rt, log: cfg.Logger.With("component", "agent"),
		client:     client,
		joinSecret: joinSecret,
		ports:      newPortAllocator(lo, hi),
		runners:    map[string]*runner{},
		byCtr:      map[string]*runner{},
		finished:   map[string]bool{},
		ready:      make(chan struct{}),
	}, nil
}

// Registered is closed once the agent has registered.
func (a *Agent) Registered() <-chan struct{} { return a.ready }

// InstanceARN is the instance the agent registered as.
func (a *Agent) InstanceARN() string {
	if a.id == nil {
		return ""
	}
	return a.id.InstanceARN
}

// Run registers the host and runs its tasks until ctx ends. Running
// containers are left running when the agent stops: a restarted agent adopts
// them.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.rt.Ping(ctx); err != nil {
		return fmt.Errorf("agent: cannot reach the Docker engine (%v); start Docker, or point the agent at an engine with --docker-host or DOCKER_HOST", err)
	}
	info, err := a.rt.Info(ctx)
	if err != nil {
		return fmt.Errorf("agent: describe the Docker engine: %w", err)
	}
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("agent: data dir: %w", err)
	}
	local, err := openLocal(a.cfg.DataDir)
	if err != nil {
		return err
	}
	defer local.Close()
	a.local = local
	if err := a.register(ctx, info); err != nil {
		return err
	}
	addr := a.cfg.MetadataAddr
	if addr == "" {
		host := info.BridgeGateway
		if host == "" {
			host = "127.0.0.1"
		}
		addr = net.JoinHostPort(host, "0")
	}
	// Containers keep the endpoint's address in their environment: listen
	// where the last run of the agent did when possible.
	var meta *metadataServer
	if prev := local.metadataAddr(); prev != "" && a.cfg.MetadataAddr == "" {
		meta, _ = newMetadataServer(a, prev)
	}
	if meta == nil {
		if meta, err = newMetadataServer(a, addr); err != nil {
			return fmt.Errorf("agent: task metadata endpoint on %s: %w", addr, err)
		}
	}
	if err := local.saveMetadataAddr(meta.ln.Addr().String()); err != nil {
		meta.ln.Close()
		return fmt.Errorf("agent: save metadata address: %w", err)
	}
	a.meta = meta
	a.reports = newReporter(a.client, local, a.log)
	close(a.ready)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); a.meta.run(ctx) }()
	go func() { defer wg.Done(); a.reports.run(ctx) }()
	go func() { defer wg.Done(); a.heartbeat(ctx) }()
	go func() { defer wg.Done(); a.events(ctx) }()

	err = a.watch(ctx)
	cancel()
	a.wg.Wait()
	a.pumps.Wait()
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// ec2InstanceID derives a stable EC2-style id for this host.
func ec2InstanceID(hostname string) string {
	seed := hostname
	if b, err := os.ReadFile("/etc/machine-id"); err == nil {
		seed += string(b)
	}
	sum := sha256.Sum256([]byte(seed))
	return "i-" + hex.EncodeToString(sum[:])[:17]
}

func (a *Agent) register(ctx context.Context, info runtime.HostInfo) error {
	prev, err := a.local.identity()
	if err != nil {
		return fmt.Errorf("agent: read identity: %w", err)
	}
	arch := info.Architecture
	if arch == "" {
		arch = goruntime.GOARCH
	}
	attrs := []agentapi.Attribute{
		{Name: "ecs.os-type", Value: "linux"},
		{Name: "ecs.os-family", Value: "LINUX"},
		{Name: "ecs.cpu-architecture", Value: cpuArch(arch)},
		{Name: "ecs.availability-zone", Value: a.cfg.AvailabilityZone},
		{Name: "ecs.instance-type", Value: a.cfg.InstanceType},
	}
	for _, c := range capabilities {
		attrs = append(attrs, agentapi.Attribute{Name: c})
	}
	for k, v := range a.cfg.Attributes {
		attrs = append(attrs, agentapi.Attribute{Name: k, Value: v})
	}
	mem := info.MemoryBytes>>20 - a.cfg.ReservedMemoryMiB
	req := agentapi.RegisterRequest{
		JoinToken: a.joinSecret, Cluster: a.cfg.Cluster, Region: a.cfg.Region,
		EC2InstanceID: ec2InstanceID(info.Hostname), Address: a.cfg.Address,
		CPU: int64(info.CPUs) * 1024, MemoryMiB: mem, Attributes: attrs,
		AgentVersion: Version, DockerVersion: info.EngineVersion,
	}
	if prev != nil && sameServer(prev.Server, a.cfg.Server) && prev.Cluster == a.cfg.Cluster && prev.Region == a.cfg.Region {
		req.InstanceID, req.AgentToken = prev.InstanceID, prev.AgentToken
	}
	var resp *agentapi.RegisterResponse
	backoff := time.Second
	for {
		resp, err = a.client.Register(ctx, req)
		var se *agentapi.StatusError
		if err == nil || (errors.As(err, &se) && se.Status < 500) {
			break
		}
		a.log.Warn("registration failed; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
	if err != nil {
		return fmt.Errorf("agent: register with %s: %w", a.cfg.Server, err)
	}
	a.id = &identity{
		InstanceID: resp.InstanceID, InstanceARN: resp.ContainerInstanceARN, AgentToken: resp.AgentToken,
		Account: resp.Account, Region: resp.Region, Cluster: resp.Cluster, ClusterARN: resp.ClusterARN, Server: a.cfg.Server,
	}
	if err := a.local.saveIdentity(a.id); err != nil {
		return fmt.Errorf("agent: save identity: %w", err)
	}
	a.client.SetToken(resp.AgentToken)
	a.heartbeatEvery = resp.Interval()
	a.registryHost = resp.RegistryHost
	a.log.Info("registered", "instance", resp.ContainerInstanceARN, "cluster", resp.Cluster)
	return nil
}

// sameServer reports whether two server URLs name the same server, whichever
// scheme reaches it (agents of older versions saved http:// URLs).
func sameServer(a, b string) bool {
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return ua.Host == ub.Host && strings.TrimRight(ua.Path, "/") == strings.TrimRight(ub.Path, "/")
}

func cpuArch(a string) string {
	switch a {
	case "aarch64", "arm64":
		return "arm64"
	}
	return "x86_64"
}

// capabilities are the ecs.capability.* attributes Berth's agent supports.
var capabilities = []string{
	"com.amazonaws.ecs.capability.docker-remote-api.1.17",
	"com.amazonaws.ecs.capability.docker-remote-api.1.18",
	"com.amazonaws.ecs.capability.docker-remote-api.1.19",
	"com.amazonaws.ecs.capability.docker-remote-api.1.21",
	"com.amazonaws.ecs.capability.docker-remote-api.1.24",
	"com.amazonaws.ecs.capability.docker-remote-api.1.25",
	"com.amazonaws.ecs.capability.docker-remote-api.1.28",
	"com.amazonaws.ecs.capability.docker-remote-api.1.29",
	"com.amazonaws.ecs.capability.logging-driver.json-file",
	"com.amazonaws.ecs.capability.logging-driver.none",
	"ecs.capability.container-health-check",
	"ecs.capability.container-ordering",
	"ecs.capability.docker-plugin.local",
	"ecs.capability.env-files.s3",
	"ecs.capability.task-cpu-mem-limit",
}

func (a *Agent) heartbeat(ctx context.Context) {
	// After a failure (the server restarting, say) the next try comes
	// within a second: a restarted server counts the agent connected only
	// once it hears from it.
	retry := min(time.Second, a.heartbeatEvery)
	for {
		next := a.heartbeatEvery
		if err := a.client.Heartbeat(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("heartbeat failed", "err", err)
			next = retry
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(next):
		}
	}
}

// watch follows the instance's assignments and hands each task to its runner.
func (a *Agent) watch(ctx context.Context) error {
	var index uint64
	backoff := time.Second
	for ctx.Err() == nil {
		resp, err := a.client.Tasks(ctx, index, 30*time.Second)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var se *agentapi.StatusError
			if errors.As(err, &se) && se.Status == 401 {
				return fmt.Errorf("agent: the server no longer accepts this instance: %w", err)
			}
			a.log.Warn("watching tasks failed; retrying", "err", err, "in", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		first := index == 0
		index = resp.Index
		for _, t := range resp.Tasks {
			a.assign(ctx, t, first)
		}
		if first {
			a.removeOrphans(ctx, resp.Tasks)
		}
	}
	return nil
}

// assign starts a runner for a new task or passes a changed assignment on.
// Tasks of the first assignments after a start may have containers to adopt.
func (a *Agent) assign(ctx context.Context, t agentapi.Task, adopt bool) {
	a.mu.Lock()
	if a.finished[t.TaskARN] {
		a.mu.Unlock()
		return
	}
	r := a.runners[t.TaskARN]
	if r == nil {
		r = newRunner(a, t, adopt)
		a.runners[t.TaskARN] = r
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			r.run(ctx)
		}()
	}
	a.mu.Unlock()
	r.update(t)
}

func (a *Agent) markFinished(arn string) {
	a.mu.Lock()
	a.finished[arn] = true
	a.mu.Unlock()
}

func (a *Agent) forget(r *runner) {
	arn := r.current().TaskARN
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.runners[arn] == r {
		delete(a.runners, arn)
	}
	for id, rr := range a.byCtr {
		if rr == r {
			delete(a.byCtr, id)
		}
	}
	if a.meta != nil {
		a.meta.forget(r)
	}
}

func (a *Agent) trackContainer(id string, r *runner) {
	a.mu.Lock()
	a.byCtr[id] = r
	a.mu.Unlock()
}

// events dispatches engine events for this agent's containers to runners.
func (a *Agent) events(ctx context.Context) {
	for ctx.Err() == nil {
		evs, errs := a.rt.Events(ctx, map[string]string{LabelInstance: a.id.InstanceID})
	loop:
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-evs:
				if !ok {
					break loop
				}
				a.mu.Lock()
				r := a.byCtr[ev.ContainerID]
				a.mu.Unlock()
				// A create is the runner's own doing: nothing to learn.
				if r != nil && ev.Action != runtime.EventCreate {
					if ev.Action == runtime.EventOOM {
						r.noteOOM(ev.ContainerID)
					}
					r.notify()
				}
			case err, ok := <-errs:
				if ok && err != nil && ctx.Err() == nil {
					a.log.Warn("engine event stream ended", "err", err)
				}
				break loop
			}
		}
		// Runners resync on their own; resubscribe after a pause.
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// isNotFound reports whether err means the engine has no such object.
func isNotFound(err error) bool { return errors.Is(err, errdefs.ErrNotFound) }

// removeOrphans removes, once after a (re)start, this instance's containers
// and volumes whose task is no longer assigned to it: tasks that stopped
// while the agent was down, or that the server forgot. Containers the agent
// did not create carry no instance label and are never touched.
func (a *Agent) removeOrphans(ctx context.Context, assigned []agentapi.Task) {
	keep := map[string]bool{}
	var keepVolumes []string
	for _, t := range assigned {
		keep[t.TaskARN] = true
		keepVolumes = append(keepVolumes, volumeName(&t, ""))
	}
	mine := map[string]string{LabelInstance: a.id.InstanceID}
	list, err := a.rt.ListContainers(ctx, mine)
	if err != nil {
		a.log.Warn("list containers for orphans", "err", err)
		return
	}
	for _, c := range list {
		if keep[c.Labels[LabelTaskARN]] {
			continue
		}
		a.log.Info("removing orphaned container", "container", c.Name, "task_arn", c.Labels[LabelTaskARN])
		if err := a.rt.RemoveContainer(ctx, c.ID); err != nil && !isNotFound(err) {
			a.log.Warn("remove orphaned container", "container", c.Name, "err", err)
		}
	}
	vols, err := a.rt.ListVolumes(ctx, mine)
	if err != nil {
		return
	}
	for _, v := range vols {
		if slices.ContainsFunc(keepVolumes, func(prefix string) bool { return strings.HasPrefix(v, prefix) }) {
			continue
		}
		if err := a.rt.RemoveVolume(ctx, v); err != nil && !isNotFound(err) {
			a.log.Debug("remove orphaned volume", "volume", v, "err", err)
		}
	}
}
