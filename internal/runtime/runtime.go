// Package runtime defines the one interface through which Berth talks to a
// container engine. runtime/docker implements it on the Docker Engine API,
// runtime/fake in memory for fast tests; runtime/runtimetest is the behaviour
// suite both must pass.
//
// Errors are classified with errdefs: ErrNotFound (no such image or
// container), ErrAlreadyExists (a container name in use), ErrInvalidArgument
// (the engine refused the spec), ErrUnavailable (the engine cannot be
// reached). Callers never match engine error strings.
package runtime

import (
	"context"
	"time"
)

// Runtime is a container engine on one host.
type Runtime interface {
	// Ping checks that the engine answers.
	Ping(ctx context.Context) error
	// Info describes the host the engine runs on.
	Info(ctx context.Context) (HostInfo, error)

	// PullImage fetches ref (with auth when not nil) and describes it.
	PullImage(ctx context.Context, ref string, auth *RegistryAuth) (Image, error)
	// InspectImage describes a local image; ErrNotFound when absent.
	InspectImage(ctx context.Context, ref string) (Image, error)

	// CreateContainer creates (does not start) a container. A name in use
	// is ErrAlreadyExists; an image that is not local is ErrNotFound.
	CreateContainer(ctx context.Context, spec ContainerSpec) (id string, err error)
	// StartContainer starts a created container.
	StartContainer(ctx context.Context, id string) error
	// StopContainer sends the stop signal (SIGTERM unless the spec named
	// another), then SIGKILL after timeout. Stopping a stopped container is
	// not an error.
	StopContainer(ctx context.Context, id string, timeout time.Duration) error
	// RemoveContainer removes a container (forcibly, with its anonymous
	// volumes). Removing an absent container is ErrNotFound.
	RemoveContainer(ctx context.Context, id string) error
	// InspectContainer returns a container's current state.
	InspectContainer(ctx context.Context, id string) (Container, error)
	// ListContainers lists the containers (running or not) that carry every
	// label in labels.
	ListContainers(ctx context.Context, labels map[string]string) ([]Container, error)
	// Events streams container events of containers carrying every label in
	// labels, from now until ctx ends. The error channel yields at most one
	// error, after which both channels are closed.
	Events(ctx context.Context, labels map[string]string) (<-chan Event, <-chan error)
	// Stats returns one sample of a running container's resource usage.
	Stats(ctx context.Context, id string) (Stats, error)
	// Logs calls fn, in order, for each line the container wrote to stdout
	// or stderr at or after since (from the start when since is zero).
	// With follow it keeps reading until the container has stopped and its
	// output is exhausted, or ctx ends (then it returns ctx's error). An
	// error from fn ends the read and is returned.
	Logs(ctx context.Context, id string, since time.Time, follow bool, fn func(LogLine) error) error

	// CreateVolume creates a named local volume with labels; an existing
	// volume of that name is returned as is.
	CreateVolume(ctx context.Context, name string, labels map[string]string) error
	// RemoveVolume removes a named volume; an absent one is ErrNotFound.
	RemoveVolume(ctx context.Context, name string) error
	// ListVolumes lists the names of volumes carrying every label in labels.
	ListVolumes(ctx context.Context, labels map[string]string) ([]string, error)
}

// HostInfo describes the host.
type HostInfo struct {
	CPUs          int    // logical CPUs
	MemoryBytes   int64  // total memory
	OSType        string // "linux"
	Architecture  string // "x86_64", "arm64" (as Docker reports it)
	EngineVersion string // e.g. "20.10.24"
	APIVersion    string // negotiated API version, e.g. "1.41"
	Hostname      string
	// BridgeGateway is the host's address on the engine's default bridge
	// network (e.g. 172.17.0.1): where containers reach services of the
	// host. Empty when the engine has no bridge network.
	BridgeGateway string
}

// RegistryAuth are credentials for one pull.
type RegistryAuth struct {
	Username, Password, ServerAddress string
}

// Image describes a local image.
type Image struct {
	ID     string // sha256:... image id
	Digest string // repo digest (sha256:...), when the image came from a registry
}

// Mount types.
const (
	MountBind   = "bind"
	MountVolume = "volume"
	MountTmpfs  = "tmpfs"
)

// Mount is one filesystem mount of a container.
type Mount struct {
	Type     string // MountBind, MountVolume, MountTmpfs
	Source   string // host path or volume name; empty for tmpfs
	Target   string
	ReadOnly bool
	// TmpfsSizeBytes and TmpfsOptions apply to tmpfs mounts.
	TmpfsSizeBytes int64
	TmpfsOptions   []string
}

// PortBinding maps a container port to a host port.
type PortBinding struct {
	ContainerPort int
	HostPort      int    // 0 lets the engine choose (Berth's agent always chooses itself)
	Protocol      string // "tcp" or "udp"
	HostIP        string // empty means all addresses
}

// HealthCheck is a container health check run by the engine.
type HealthCheck struct {
	Test        []string // ["CMD", ...] or ["CMD-SHELL", "..."]
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	Retries     int
}

// Ulimit is one resource limit.
type Ulimit struct {
	Name       string
	Soft, Hard int64
}

// ContainerSpec is everything needed to create a container.
type ContainerSpec struct {
	Name       string // the engine's container name; unique on the host
	Image      string
	Labels     map[string]string
	Entrypoint []string
	Command    []string
	Env        []string // "KEY=value"
	WorkingDir string
	User       string
	Hostname   string

	CPUShares         int64 // relative weight; 0 = engine default
	NanoCPUs          int64 // hard CPU limit in 1e-9 CPUs; 0 = none
	MemoryBytes       int64 // hard limit; 0 = none
	MemoryReservation int64 // soft limit; 0 = none
	PidsLimit         int64 // 0 = none

	NetworkMode string // "bridge", "host", "none", "container:<id>", or a network name
	Ports       []PortBinding
	ExtraHosts  []string // "host:ip"
	DNSServers  []string
	DNSSearch   []string

	Mounts      []Mount
	VolumesFrom []string // container ids or names, optionally ":ro"

	Ulimits        []Ulimit
	ReadonlyRootfs bool
	Privileged     bool
	Init           bool // run an init process as PID 1 that forwards signals
	CapAdd         []string
	CapDrop        []string
	ShmSizeBytes   int64
	Sysctls        map[string]string
	SecurityOpt    []string

	HealthCheck *HealthCheck
	StopSignal  string // default SIGTERM

	LogDriver  string // empty = engine default
	LogOptions map[string]string
}

// Container states, as Docker names them.
const (
	StateCreated    = "created"
	StateRunning    = "running"
	StatePaused     = "paused"
	StateRestarting = "restarting"
	StateRemoving   = "removing"
	StateExited     = "exited"
	StateDead       = "dead"
)

// Health states.
const (
	HealthNone      = ""
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// Container is a container's identity and current state.
type Container struct {
	ID         string
	Name       string // without a leading slash
	Image      string // as requested in the spec
	ImageID    string // sha256:...
	Labels     map[string]string
	State      string // one of the State* constants
	ExitCode   int
	OOMKilled  bool
	Error      string // the engine's error for a container that failed to start
	CreatedAt  time.Time
	StartedAt  time.Time // zero if never started
	FinishedAt time.Time // zero if never stopped
	Health     string    // one of the Health* constants
	Ports      []PortBinding
	// IPAddress is the container's address on its network (bridge), if any.
	IPAddress string
}

// Running reports whether the container's process is alive.
func (c Container) Running() bool {
	return c.State == StateRunning || c.State == StatePaused || c.State == StateRestarting
}

// Event actions Berth acts on.
const (
	EventCreate  = "create"
	EventStart   = "start"
	EventDie     = "die"
	EventOOM     = "oom"
	EventHealth  = "health_status" // Health carries the new status
	EventDestroy = "destroy"
)

// Event is a change to a container.
type Event struct {
	ContainerID string
	Action      string
	Health      string // for EventHealth
	ExitCode    int    // for EventDie
	Labels      map[string]string
	Time        time.Time
}

// Stats is one sample of a container's resource usage.
type Stats struct {
	Time             time.Time
	CPUTotalNanos    uint64 // cumulative CPU time of the container
	SystemCPUNanos   uint64 // cumulative CPU time of the host
	OnlineCPUs       int
	MemoryUsageBytes uint64
	MemoryLimitBytes uint64
	NetworkRxBytes   uint64
	NetworkTxBytes   uint64
	BlockReadBytes   uint64
	BlockWriteBytes  uint64
	PIDs             uint64
}

// LogLine is one line a container wrote.
type LogLine struct {
	Time   time.Time // when the engine received it
	Stream string    // "stdout" or "stderr"
	// Text is the line without its newline. The engine may split a very
	// long line into parts; Partial is set on every part but the last.
	Text    []byte
	Partial bool
}
