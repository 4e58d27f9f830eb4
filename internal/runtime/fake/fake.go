package fake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/runtime"
)

var _ runtime.Runtime = (*Fake)(nil)

// Config configures a Fake. The zero value is ready to use.
type Config struct {
	// Host is what Info reports; zero fields get defaults (2 CPUs, 8 GiB,
	// linux, x86_64, engine "20.10.24-fake", API "1.41", hostname "fake").
	Host runtime.HostInfo
	// LiveRestore keeps containers running across Restart, like dockerd's
	// --live-restore.
	LiveRestore bool
	// PortRangeStart and PortRangeEnd bound the host ports picked for
	// HostPort 0; default 32768-60999, Docker's range.
	PortRangeStart, PortRangeEnd int
}

func (c *Config) setDefaults() {
	h := &c.Host
	if h.CPUs == 0 {
		h.CPUs = 2
	}
	if h.MemoryBytes == 0 {
		h.MemoryBytes = 8 << 30
	}
	if h.OSType == "" {
		h.OSType = "linux"
	}
	if h.Architecture == "" {
		h.Architecture = "x86_64"
	}
	if h.EngineVersion == "" {
		h.EngineVersion = "20.10.24-fake"
	}
	if h.APIVersion == "" {
		h.APIVersion = "1.41"
	}
	if h.Hostname == "" {
		h.Hostname = "fake"
	}
	if c.PortRangeStart == 0 {
		c.PortRangeStart = 32768
	}
	if c.PortRangeEnd == 0 {
		c.PortRangeEnd = 60999
	}
}

// Fake is an in-memory container engine. It is safe for concurrent use.
// Time passes through the time package only (timers, time.Now), so under
// testing/synctest a container's -sleep 10s or a 30 s stop timeout take no
// real time; outside a bubble they take real time.
type Fake struct {
	cfg Config

	mu         sync.Mutex
	registry   map[string]*image // what PullImage can fetch, by normalized ref
	local      map[string]*image // local images, by normalized ref
	containers map[string]*container
	volumes    map[string]*volume
	networks   map[string]bool
	subs       map[*subscriber]struct{}
	seq        int
	nextIP     int
	nextPort   int
	failPull   error
	failCreate error
	failStart  error
	down       bool
}

// New returns an empty engine: no images, containers or volumes.
func New(cfg Config) *Fake {
	cfg.setDefaults()
	return &Fake{
		cfg:        cfg,
		registry:   make(map[string]*image),
		local:      make(map[string]*image),
		containers: make(map[string]*container),
		volumes:    make(map[string]*volume),
		networks:   map[string]bool{"bridge": true, "host": true, "none": true, "default": true},
		subs:       make(map[*subscriber]struct{}),
		nextPort:   cfg.PortRangeStart,
	}
}

// FailNextPull makes the next PullImage return err.
func (f *Fake) FailNextPull(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failPull = err
}

// FailNextCreate makes the next CreateContainer return err.
func (f *Fake) FailNextCreate(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failCreate = err
}

// FailNextStart makes the next StartContainer return err; the container
// records it as its start error, as Docker does.
func (f *Fake) FailNextStart(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failStart = err
}

// SetUnreachable makes every call fail with ErrUnavailable (true) or work
// again (false), like an engine whose socket does not answer.
func (f *Fake) SetUnreachable(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// Restart simulates an engine restart. Every event stream ends with an
// ErrUnavailable error (dockerd closes them), so events of the restart itself
// are not delivered. Without Config.LiveRestore every running container is
// killed (exit 137); with it they keep running.
func (f *Fake) Restart() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		s.fail(fmt.Errorf("event stream: engine restarted: %w", errdefs.ErrUnavailable))
		delete(f.subs, s)
	}
	if f.cfg.LiveRestore {
		return
	}
	for _, c := range f.sortedContainers() {
		if c.running() {
			f.exitLocked(c, 137, false)
		}
	}
}

// Kill kills a running container's process with SIGKILL from outside (as
// `docker kill` or the kernel would): it exits 137.
func (f *Fake) Kill(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.lookup(id)
	if err != nil {
		return err
	}
	if !c.running() {
		return fmt.Errorf("container %s is not running: %w", c.id, errdefs.ErrConflict)
	}
	f.exitLocked(c, 137, false)
	return nil
}

// AddNetwork makes a user-defined network name valid as a NetworkMode.
func (f *Fake) AddNetwork(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.networks[name] = true
}

// Ping checks that the engine answers.
func (f *Fake) Ping(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.up()
}

// Info describes the configured host.
func (f *Fake) Info(ctx context.Context) (runtime.HostInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.up(); err != nil {
		return runtime.HostInfo{}, err
	}
	return f.cfg.Host, nil
}

func (f *Fake) up() error {
	if f.down {
		return fmt.Errorf("fake engine: %w", errdefs.ErrUnavailable)
	}
	return nil
}

// newID returns a deterministic 64-hex id for the next object.
func (f *Fake) newID(kind string) string {
	f.seq++
	sum := sha256.Sum256(fmt.Appendf(nil, "%s-%d", kind, f.seq))
	return hex.EncodeToString(sum[:])
}

func cloneLabels(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

// hasLabels reports whether have carries every label in want.
func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

// now is the engine's clock (under synctest the bubble's), in UTC and
// without a monotonic reading, as Docker reports times.
func now() time.Time { return time.Now().UTC() }
