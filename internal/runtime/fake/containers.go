package fake

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/runtime"
)

// container is one container and the simulated process of its current run.
type container struct {
	id     string
	name   string
	seq    int
	spec   runtime.ContainerSpec
	img    *image
	labels map[string]string
	argv   []string
	env    []string
	host   string   // hostname inside the container
	app    *Testapp // nil unless argv runs testapp with valid flags
	appErr error    // testapp's flag error, if any
	anon   []string // anonymous volumes, removed with the container

	state    string
	exitCode int
	oom      bool
	errMsg   string
	created  time.Time
	started  time.Time
	finished time.Time
	health   string
	streak   int
	ports    []runtime.PortBinding // bound while running
	ip       string

	run      int           // generation of the current run; stale timers compare it
	exited   chan struct{} // closed when the current run ends
	timers   []*time.Timer
	termSent bool // SIGTERM already being handled

	output  []runtime.LogLine // what its runs wrote, in order
	outWake chan struct{}     // closed when output grows
}

func (c *container) running() bool { return c.state == runtime.StateRunning }

var validName = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// baselineMiB is the resident memory of an idle testapp.
const baselineMiB = 4

// CreateContainer creates a container in state created, validating the spec
// as Docker's create would.
func (f *Fake) CreateContainer(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.up(); err != nil {
		return "", err
	}
	if err := f.failCreate; err != nil {
		f.failCreate = nil
		return "", err
	}
	name := strings.TrimPrefix(spec.Name, "/")
	if spec.Name != "" {
		if !validName.MatchString(spec.Name) {
			return "", fmt.Errorf("create %q: invalid container name, only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed: %w", spec.Name, errdefs.ErrInvalidArgument)
		}
		if other := f.byName(name); other != nil {
			return "", fmt.Errorf("create: the container name %q is already in use by container %q: %w", "/"+name, other.id, errdefs.ErrAlreadyExists)
		}
	}
	img := f.findImage(f.local, spec.Image)
	if img == nil {
		return "", fmt.Errorf("create %q: no such image: %s: %w", name, spec.Image, errdefs.ErrNotFound)
	}
	if err := f.validate(spec); err != nil {
		return "", fmt.Errorf("create %q: %w", name, err)
	}

	// Docker's merge: an entrypoint given in the spec drops the image's CMD.
	entrypoint, cmd := img.cfg.Entrypoint, img.cfg.Cmd
	if len(spec.Entrypoint) > 0 {
		entrypoint, cmd = spec.Entrypoint, nil
	}
	if len(spec.Command) > 0 {
		cmd = spec.Command
	}
	argv := append(slices.Clone(entrypoint), cmd...)
	if len(argv) == 0 {
		return "", fmt.Errorf("create %q: no command specified: %w", name, errdefs.ErrInvalidArgument)
	}

	id := f.newID("container")
	if name == "" {
		name = fmt.Sprintf("fake_%d", f.seq)
	}
	c := &container{
		id:      id,
		name:    name,
		seq:     f.seq,
		spec:    cloneSpec(spec),
		img:     img,
		labels:  cloneLabels(img.cfg.Labels),
		argv:    argv,
		state:   runtime.StateCreated,
		created: now(),
		exited:  make(chan struct{}),
	}
	for k, v := range spec.Labels {
		c.labels[k] = v
	}
	c.host = spec.Hostname
	switch {
	case c.host != "":
	case spec.NetworkMode == "host":
		c.host = f.cfg.Host.Hostname
	default:
		c.host = id[:12]
	}
	c.env = processEnv(img.cfg.Env, spec.Env, c.host)
	if isTestapp(argv) {
		app, err := ParseTestapp(argv[1:])
		if err != nil {
			c.appErr = err
		} else {
			c.app = &app
		}
	}
	// A volume the mount creates carries the spec's labels, as
	// runtime/docker asks Docker to do.
	for i, m := range c.spec.Mounts {
		if m.Type != runtime.MountVolume {
			continue
		}
		if m.Source == "" {
			v := f.newID("volume")
			f.volumes[v] = &volume{labels: cloneLabels(spec.Labels)}
			c.spec.Mounts[i].Source = v
			c.anon = append(c.anon, v)
		} else if _, ok := f.volumes[m.Source]; !ok {
			f.volumes[m.Source] = &volume{labels: cloneLabels(spec.Labels)}
		}
	}
	f.containers[id] = c
	f.emit(c, runtime.Event{Action: runtime.EventCreate})
	return id, nil
}

// validate refuses what Docker's create refuses with 400 (or 404 for a
// missing network or container).
func (f *Fake) validate(s runtime.ContainerSpec) error {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf(format+": %w", append(args, errdefs.ErrInvalidArgument)...)
	}
	if s.MemoryBytes != 0 && s.MemoryBytes < 6<<20 {
		return invalid("minimum memory limit allowed is 6MB")
	}
	if s.MemoryBytes > 0 && s.MemoryReservation > s.MemoryBytes {
		return invalid("minimum memory limit can not be less than memory reservation limit")
	}
	if s.StopSignal != "" {
		if _, ok := signalNumber(s.StopSignal); !ok {
			return invalid("invalid signal: %s", s.StopSignal)
		}
	}
	for _, p := range s.Ports {
		switch {
		case p.Protocol != "" && p.Protocol != "tcp" && p.Protocol != "udp" && p.Protocol != "sctp":
			return invalid("invalid proto: %s", p.Protocol)
		case p.ContainerPort < 1 || p.ContainerPort > 65535:
			return invalid("invalid port: %d", p.ContainerPort)
		case p.HostPort < 0 || p.HostPort > 65535:
			return invalid("invalid host port: %d", p.HostPort)
		}
	}
	targets := map[string]bool{}
	for _, m := range s.Mounts {
		switch m.Type {
		case runtime.MountBind, runtime.MountVolume, runtime.MountTmpfs:
		default:
			return invalid("mount type unknown: %q", m.Type)
		}
		if !path.IsAbs(m.Target) {
			return invalid("invalid mount config for type %q: invalid mount path: %q mount path must be absolute", m.Type, m.Target)
		}
		if m.Type == runtime.MountBind && m.Source == "" {
			return invalid("invalid mount config for type \"bind\": field Source must not be empty")
		}
		if m.Type == runtime.MountVolume && m.Source == "" && m.ReadOnly {
			return invalid("invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes")
		}
		if m.Type == runtime.MountTmpfs && m.Source != "" {
			return invalid("invalid mount config for type \"tmpfs\": field Source must be empty")
		}
		if targets[path.Clean(m.Target)] {
			return invalid("duplicate mount point: %s", m.Target)
		}
		targets[path.Clean(m.Target)] = true
	}
	if hc := s.HealthCheck; hc != nil {
		for _, d := range []time.Duration{hc.Interval, hc.Timeout, hc.StartPeriod} {
			if d < 0 || (d > 0 && d < time.Millisecond) {
				return invalid("health check durations must be 0 or at least 1ms")
			}
		}
		if hc.Retries < 0 {
			return invalid("health check retries must not be negative")
		}
	}
	switch mode := s.NetworkMode; {
	case strings.HasPrefix(mode, "container:"):
		if len(s.Ports) > 0 {
			return invalid("conflicting options: port publishing and the container type network mode")
		}
		if _, err := f.lookup(strings.TrimPrefix(mode, "container:")); err != nil {
			return err
		}
	case mode != "" && !f.networks[mode]:
		return fmt.Errorf("network %s not found: %w", mode, errdefs.ErrNotFound)
	}
	for _, from := range s.VolumesFrom {
		ref, _, _ := strings.Cut(from, ":")
		if _, err := f.lookup(ref); err != nil {
			return err
		}
	}
	return nil
}

// StartContainer starts a created or exited container. Host ports are bound
// here, as Docker does: one already bound by a running container fails the
// start with ErrInvalidArgument and leaves the container not running.
func (f *Fake) StartContainer(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.up(); err != nil {
		return err
	}
	c, err := f.lookup(id)
	if err != nil {
		return err
	}
	if c.running() {
		return nil // Docker answers 304 Not Modified
	}
	fail := func(err error) error {
		c.errMsg = err.Error()
		c.exitCode = 128
		return err
	}
	if err := f.failStart; err != nil {
		f.failStart = nil
		return fail(err)
	}
	if mode := c.spec.NetworkMode; strings.HasPrefix(mode, "container:") {
		other, err := f.lookup(strings.TrimPrefix(mode, "container:"))
		if err != nil {
			return fail(err)
		}
		if !other.running() {
			return fail(fmt.Errorf("start %s: cannot join network of a non running container: %s: %w", c.name, other.id, errdefs.ErrConflict))
		}
	}
	ports, err := f.bindPorts(c)
	if err != nil {
		return fail(fmt.Errorf("start %s: %w", c.name, err))
	}

	c.run++
	c.state = runtime.StateRunning
	c.exitCode, c.oom, c.errMsg, c.termSent = 0, false, "", false
	c.started = now()
	c.exited = make(chan struct{})
	c.ports = ports
	switch mode := c.spec.NetworkMode; {
	case mode == "host", mode == "none", strings.HasPrefix(mode, "container:"):
	default:
		f.nextIP++
		c.ip = fmt.Sprintf("172.17.%d.%d", f.nextIP/250, f.nextIP%250+2)
	}
	f.emit(c, runtime.Event{Action: runtime.EventStart})
	c.health = runtime.HealthNone
	if hc := c.spec.HealthCheck; hc != nil && !(len(hc.Test) > 0 && hc.Test[0] == "NONE") {
		c.health = runtime.HealthStarting
		c.streak = 0
		f.scheduleProbe(c)
	}
	f.runProcess(c)
	return nil
}

// bindPorts resolves c's port bindings against those of running containers.
func (f *Fake) bindPorts(c *container) ([]runtime.PortBinding, error) {
	if c.spec.NetworkMode == "host" || c.spec.NetworkMode == "none" {
		return nil, nil // Docker discards published ports in these modes
	}
	used := map[string]bool{}
	var taken []runtime.PortBinding
	for _, o := range f.containers {
		if o.running() {
			taken = append(taken, o.ports...)
		}
	}
	key := func(proto string, port int) string { return fmt.Sprintf("%s/%d", proto, port) }
	for _, b := range taken {
		used[key(b.Protocol, b.HostPort)] = true
	}
	var out []runtime.PortBinding
	for _, p := range c.spec.Ports {
		if p.Protocol == "" {
			p.Protocol = "tcp"
		}
		if p.HostPort == 0 {
			port, ok := f.ephemeralPort(p.Protocol, used)
			if !ok {
				return nil, fmt.Errorf("no free host port in %d-%d: %w", f.cfg.PortRangeStart, f.cfg.PortRangeEnd, errdefs.ErrInvalidArgument)
			}
			p.HostPort = port
		} else {
			for _, b := range append(taken, out...) {
				if b.Protocol == p.Protocol && b.HostPort == p.HostPort && (b.HostIP == "" || p.HostIP == "" || b.HostIP == p.HostIP) {
					ip := cmp.Or(p.HostIP, "0.0.0.0")
					return nil, fmt.Errorf("driver failed programming external connectivity on endpoint %s: Bind for %s:%d failed: port is already allocated: %w", c.name, ip, p.HostPort, errdefs.ErrInvalidArgument)
				}
			}
		}
		used[key(p.Protocol, p.HostPort)] = true
		out = append(out, p)
	}
	return out, nil
}

func (f *Fake) ephemeralPort(proto string, used map[string]bool) (int, bool) {
	n := f.cfg.PortRangeEnd - f.cfg.PortRangeStart + 1
	for range n {
		p := f.nextPort
		f.nextPort++
		if f.nextPort > f.cfg.PortRangeEnd {
			f.nextPort = f.cfg.PortRangeStart
		}
		if !used[fmt.Sprintf("%s/%d", proto, p)] {
			return p, true
		}
	}
	return 0, false
}

// StopContainer sends the stop signal, then SIGKILL after timeout, and waits
// for the process to end, as docker stop does.
func (f *Fake) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	f.mu.Lock()
	if err := f.up(); err != nil {
		f.mu.Unlock()
		return err
	}
	c, err := f.lookup(id)
	if err != nil {
		f.mu.Unlock()
		return err
	}
	if !c.running() {
		f.mu.Unlock()
		return nil
	}
	done := c.exited
	f.signalLocked(c, cmp.Or(c.spec.StopSignal, "SIGTERM"))
	if c.running() {
		f.afterLocked(c, max(timeout, 0), func() { f.exitLocked(c, 137, false) })
	}
	f.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RemoveContainer removes a container, killing it if it runs, with its
// anonymous volumes.
func (f *Fake) RemoveContainer(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.up(); err != nil {
		return err
	}
	c, err := f.lookup(id)
	if err != nil {
		return err
	}
	if c.running() {
		f.exitLocked(c, 137, false)
	}
	c.run++ // any timer left is stale
	delete(f.containers, c.id)
	for _, v := range c.anon {
		delete(f.volumes, v)
	}
	f.emit(c, runtime.Event{Action: runtime.EventDestroy})
	return nil
}

// InspectContainer returns a container's state.
func (f *Fake) InspectContainer(ctx context.Context, id string) (runtime.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.up(); err != nil {
		return runtime.Container{}, err
	}
	c, err := f.lookup(id)
	if err != nil {
		return runtime.Container{}, err
	}
	return c.view(), nil
}

// ListContainers lists containers carrying every label in labels, newest
// first as Docker does.
func (f *Fake) ListContainers(ctx context.Context, labels map[string]string) ([]runtime.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.up(); err != nil {
		return nil, err
	}
	var out []runtime.Container
	cs := f.sortedContainers()
	slices.Reverse(cs)
	for _, c := range cs {
		if hasLabels(c.labels, labels) {
			out = append(out, c.view())
		}
	}
	return out, nil
}

// Stats returns a deterministic sample: memory is testapp's baseline plus
// -alloc-mib, CPU time grows with the time the container has run.
func (f *Fake) Stats(ctx context.Context, id string) (runtime.Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.up(); err != nil {
		return runtime.Stats{}, err
	}
	c, err := f.lookup(id)
	if err != nil {
		return runtime.Stats{}, err
	}
	t := now()
	s := runtime.Stats{Time: t, OnlineCPUs: f.cfg.Host.CPUs}
	if !c.running() {
		return s, nil // Docker reports an all-zero sample for a stopped container
	}
	up := t.Sub(c.started)
	mem := uint64(baselineMiB) << 20
	if c.app != nil {
		mem += uint64(c.app.AllocMiB) << 20
	}
	s.CPUTotalNanos = uint64(up/100) + 1_000_000 // 1 % of a CPU plus start-up
	s.SystemCPUNanos = uint64(t.UnixNano()) * uint64(f.cfg.Host.CPUs)
	s.MemoryUsageBytes = mem
	s.MemoryLimitBytes = uint64(f.cfg.Host.MemoryBytes)
	if c.spec.MemoryBytes > 0 {
		s.MemoryLimitBytes = uint64(c.spec.MemoryBytes)
	}
	s.PIDs = 5 // a Go program's threads
	if c.ip != "" {
		s.NetworkRxBytes, s.NetworkTxBytes = 1024, 512
	}
	return s, nil
}

// view is the runtime.Container of c.
func (c *container) view() runtime.Container {
	v := runtime.Container{
		ID:         c.id,
		Name:       c.name,
		Image:      c.spec.Image,
		ImageID:    c.img.id,
		Labels:     cloneLabels(c.labels),
		State:      c.state,
		ExitCode:   c.exitCode,
		OOMKilled:  c.oom,
		Error:      c.errMsg,
		CreatedAt:  c.created,
		StartedAt:  c.started,
		FinishedAt: c.finished,
		Health:     c.health,
		Ports:      slices.Clone(c.ports),
		IPAddress:  c.ip,
	}
	return v
}

// lookup finds a container by id, unique id prefix or name.
func (f *Fake) lookup(ref string) (*container, error) {
	if c, ok := f.containers[ref]; ok {
		return c, nil
	}
	if c := f.byName(strings.TrimPrefix(ref, "/")); c != nil {
		return c, nil
	}
	var found *container
	for id, c := range f.containers {
		if ref != "" && strings.HasPrefix(id, ref) {
			if found != nil {
				return nil, fmt.Errorf("multiple containers match %q: %w", ref, errdefs.ErrInvalidArgument)
			}
			found = c
		}
	}
	if found == nil {
		return nil, fmt.Errorf("no such container: %s: %w", ref, errdefs.ErrNotFound)
	}
	return found, nil
}

func (f *Fake) byName(name string) *container {
	for _, c := range f.containers {
		if c.name == name {
			return c
		}
	}
	return nil
}

// sortedContainers returns the containers oldest first.
func (f *Fake) sortedContainers() []*container {
	cs := make([]*container, 0, len(f.containers))
	for _, c := range f.containers {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *container) int { return cmp.Compare(a.seq, b.seq) })
	return cs
}

// processEnv is the environment Docker gives the process: PATH when the
// image sets none, HOSTNAME, the image's variables, then the spec's.
func processEnv(imageEnv, specEnv []string, hostname string) []string {
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=" + hostname}
	set := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		for i, e := range env {
			if ek, _, _ := strings.Cut(e, "="); ek == k {
				env[i] = kv
				return
			}
		}
		env = append(env, kv)
	}
	for _, kv := range imageEnv {
		set(kv)
	}
	for _, kv := range specEnv {
		set(kv)
	}
	return env
}

func cloneSpec(s runtime.ContainerSpec) runtime.ContainerSpec {
	s.Labels = cloneLabels(s.Labels)
	s.Entrypoint = slices.Clone(s.Entrypoint)
	s.Command = slices.Clone(s.Command)
	s.Env = slices.Clone(s.Env)
	s.Ports = slices.Clone(s.Ports)
	s.Mounts = slices.Clone(s.Mounts)
	if s.HealthCheck != nil {
		hc := *s.HealthCheck
		hc.Test = slices.Clone(hc.Test)
		s.HealthCheck = &hc
	}
	return s
}
