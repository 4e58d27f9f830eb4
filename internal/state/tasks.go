package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"slices"
	"time"

	"github.com/berthhq/berth/internal/errdefs"
)

// Task statuses (lastStatus and desiredStatus).
const (
	TaskProvisioning   = "PROVISIONING"
	TaskPending        = "PENDING"
	TaskActivating     = "ACTIVATING"
	TaskRunning        = "RUNNING"
	TaskDeactivating   = "DEACTIVATING"
	TaskStopping       = "STOPPING"
	TaskDeprovisioning = "DEPROVISIONING"
	TaskStopped        = "STOPPED"
)

// statusRank orders task statuses: a task's lastStatus only moves forward.
var statusRank = map[string]int{
	TaskProvisioning: 1, TaskPending: 2, TaskActivating: 3, TaskRunning: 4,
	TaskDeactivating: 5, TaskStopping: 6, TaskDeprovisioning: 7, TaskStopped: 8,
}

// StatusRank returns the order of a task status (0 for unknown).
func StatusRank(s string) int { return statusRank[s] }

// NetworkBinding maps a container port to a host port.
type NetworkBinding struct {
	BindIP        string `json:"bindIP"`
	ContainerPort int32  `json:"containerPort"`
	HostPort      int32  `json:"hostPort"`
	Protocol      string `json:"protocol"`
}

// TaskContainer is the state of one container of a task.
type TaskContainer struct {
	Name              string
	ContainerARN      string
	Image             string
	ImageDigest       string `json:",omitempty"`
	RuntimeID         string `json:",omitempty"`
	LastStatus        string
	ExitCode          *int32 `json:",omitempty"`
	Reason            string `json:",omitempty"`
	HealthStatus      string `json:",omitempty"`
	NetworkBindings   []NetworkBinding
	CPU               string `json:",omitempty"`
	Memory            string `json:",omitempty"`
	MemoryReservation string `json:",omitempty"`
	Essential         bool
}

// Task is one run of a task definition on a container instance.
type Task struct {
	ID          string // Key(account, region, cluster, task id)
	Account     string
	Region      string
	Cluster     string
	TaskID      string
	ARN         string
	ClusterARN  string
	InstanceKey string // ID of the ContainerInstance it is placed on
	InstanceARN string

	TaskDefinitionARN string
	Family            string
	Revision          int32
	// Overrides is the TaskOverride the task was started with, as JSON.
	Overrides []byte `json:",omitempty"`

	LastStatus    string
	DesiredStatus string
	HealthStatus  string
	Containers    []TaskContainer

	// CPU and Memory are the task-level amounts reported (units, MiB), and
	// what the task reserves on its instance.
	CPU        int64
	Memory     int64
	PortsTCP   []int32 // static host ports reserved
	PortsUDP   []int32
	LaunchType string
	Group      string
	StartedBy  string `json:",omitempty"`
	// ServiceKey is the ID of the service that started the task, and
	// DeploymentID the deployment (ecs-svc/...) it belongs to.
	ServiceKey   string `json:",omitempty"`
	DeploymentID string `json:",omitempty"`
	// Accounted is set once the service controller has counted the task's
	// failure to start or stay healthy, so that it counts once.
	Accounted     bool `json:",omitempty"`
	Tags          []Tag
	StopCode      string `json:",omitempty"`
	StoppedReason string `json:",omitempty"`

	CreatedAt          time.Time
	PullStartedAt      time.Time `json:",omitzero"`
	PullStoppedAt      time.Time `json:",omitzero"`
	StartedAt          time.Time `json:",omitzero"`
	ConnectivityAt     time.Time `json:",omitzero"`
	StoppingAt         time.Time `json:",omitzero"`
	StoppedAt          time.Time `json:",omitzero"`
	ExecutionStoppedAt time.Time `json:",omitzero"`

	// Version counts the task's changes, as ECS reports it.
	Version int64
	// ReportSeq is the sequence number of the last agent report applied.
	ReportSeq uint64

	CreateIndex uint64
	ModifyIndex uint64
}

// Copy returns a copy of t that the caller may modify and write back.
func (t *Task) Copy() *Task {
	n := *t
	n.Containers = make([]TaskContainer, len(t.Containers))
	for i, c := range t.Containers {
		c.NetworkBindings = append([]NetworkBinding(nil), c.NetworkBindings...)
		n.Containers[i] = c
	}
	n.PortsTCP = append([]int32(nil), t.PortsTCP...)
	n.PortsUDP = append([]int32(nil), t.PortsUDP...)
	n.Tags = append([]Tag(nil), t.Tags...)
	return &n
}

// Active reports whether the task still holds resources on its instance.
func (t *Task) Active() bool { return t.LastStatus != TaskStopped }

// ClientTokenRecord remembers which tasks a RunTask client token started.
type ClientTokenRecord struct {
	ID          string // Key(account, region, operation, token)
	RequestHash string
	TaskIDs     []string
	CreatedAt   time.Time

	CreateIndex uint64
	ModifyIndex uint64
}

func init() {
	register(func() Command { return new(RunTasks) })
	register(func() Command { return new(StopTask) })
	register(func() Command { return new(ReportTask) })
	register(func() Command { return new(DeleteTask) })
	register(func() Command { return new(TagTask) })
	register(func() Command { return new(DeleteClientToken) })
}

// DeleteClientToken forgets a client token once its idempotency window has
// passed.
type DeleteClientToken struct{ ID string }

func (*DeleteClientToken) commandName() string { return "DeleteClientToken" }

func (c *DeleteClientToken) apply(tx *txn) (any, error) {
	old, err := first[ClientTokenRecord](tx.Txn, tableClientTokens, c.ID)
	if err != nil || old == nil {
		return nil, err
	}
	return nil, tx.remove(tableClientTokens, old)
}

// Usage is what the active tasks on an instance reserve.
type Usage struct {
	CPU, Memory        int64
	PortsTCP, PortsUDP map[int32]bool
	Tasks              int
	Running, Pending   int
}

// Plus returns u with t's reservations added; u itself is not changed.
func (u Usage) Plus(t *Task) Usage {
	n := Usage{CPU: u.CPU + t.CPU, Memory: u.Memory + t.Memory, Tasks: u.Tasks + 1, Running: u.Running, Pending: u.Pending,
		PortsTCP: map[int32]bool{}, PortsUDP: map[int32]bool{}}
	if t.LastStatus == TaskRunning {
		n.Running++
	} else {
		n.Pending++
	}
	for _, set := range []struct {
		dst, src map[int32]bool
		add      []int32
	}{{n.PortsTCP, u.PortsTCP, t.PortsTCP}, {n.PortsUDP, u.PortsUDP, t.PortsUDP}} {
		for p := range set.src {
			set.dst[p] = true
		}
		for _, p := range set.add {
			set.dst[p] = true
		}
	}
	return n
}

// usageOf sums what the active tasks placed on instanceKey reserve.
func usageOf(tasks []*Task) Usage {
	u := Usage{PortsTCP: map[int32]bool{}, PortsUDP: map[int32]bool{}}
	for _, t := range tasks {
		if !t.Active() {
			continue
		}
		u.Tasks++
		if t.LastStatus == TaskRunning {
			u.Running++
		} else {
			u.Pending++
		}
		u.CPU += t.CPU
		u.Memory += t.Memory
		for _, p := range t.PortsTCP {
			u.PortsTCP[p] = true
		}
		for _, p := range t.PortsUDP {
			u.PortsUDP[p] = true
		}
	}
	return u
}

// Fits reports why task t does not fit on instance i with usage u: "" when it
// fits, else RESOURCE:CPU, RESOURCE:MEMORY or RESOURCE:PORTS as ECS names it.
func Fits(i *ContainerInstance, u Usage, t *Task) string {
	if u.CPU+t.CPU > i.Integer("CPU") {
		return "RESOURCE:CPU"
	}
	if u.Memory+t.Memory > i.Integer("MEMORY") {
		return "RESOURCE:MEMORY"
	}
	reserved := func(name string) []string {
		for _, r := range i.RegisteredResources {
			if r.Name == name {
				return r.StringSetValue
			}
		}
		return nil
	}
	for _, p := range t.PortsTCP {
		if u.PortsTCP[p] || slices.Contains(reserved("PORTS"), fmt.Sprint(p)) {
			return "RESOURCE:PORTS"
		}
	}
	for _, p := range t.PortsUDP {
		if u.PortsUDP[p] || slices.Contains(reserved("PORTS_UDP"), fmt.Sprint(p)) {
			return "RESOURCE:PORTS"
		}
	}
	return ""
}

// RunTasks adds placed tasks. Each task's instance must still be ACTIVE and
// have room for it next to everything already placed there; otherwise
// nothing is added and the error is ErrConflict, so the caller places again
// on a fresh snapshot. With a client token, a repeat of the same request
// returns the tasks the first one started.
type RunTasks struct {
	Tasks       []*Task
	TokenKey    string // Key(account, region, "RunTask", token), or empty
	RequestHash string
}

func (*RunTasks) commandName() string { return "RunTasks" }

func (c *RunTasks) apply(tx *txn) (any, error) {
	if c.TokenKey != "" {
		rec, err := first[ClientTokenRecord](tx.Txn, tableClientTokens, c.TokenKey)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			if rec.RequestHash != c.RequestHash {
				return nil, errdefs.New(errdefs.ErrInvalidArgument, "task", "The client token has already been used with different parameters.")
			}
			var out []*Task
			for _, id := range rec.TaskIDs {
				t, err := first[Task](tx.Txn, tableTasks, id)
				if err != nil {
					return nil, err
				}
				if t != nil {
					out = append(out, t)
				}
			}
			return out, nil
		}
	}
	var out []*Task
	for _, t := range c.Tasks {
		n := t.Copy()
		n.ID = Key(n.Account, n.Region, n.Cluster, n.TaskID)
		inst, err := first[ContainerInstance](tx.Txn, tableInstances, n.InstanceKey)
		if err != nil {
			return nil, err
		}
		if inst == nil || inst.Status != InstanceActive {
			return nil, errdefs.New(errdefs.ErrConflict, "container-instance", "container instance %s is no longer ACTIVE", n.InstanceARN)
		}
		existing, err := tasksOnInstance(tx.Txn, n.InstanceKey)
		if err != nil {
			return nil, err
		}
		// The transaction sees the tasks placed earlier in this command.
		u := usageOf(existing)
		if reason := Fits(inst, u, n); reason != "" {
			return nil, errdefs.New(errdefs.ErrConflict, "container-instance", "%s on %s", reason, n.InstanceARN).WithReason(reason)
		}
		n.CreateIndex, n.ModifyIndex = tx.index, tx.index
		n.Version = 1
		if err := tx.put(tableTasks, n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if c.TokenKey != "" && len(out) > 0 {
		rec := &ClientTokenRecord{ID: c.TokenKey, RequestHash: c.RequestHash, CreatedAt: out[0].CreatedAt, CreateIndex: tx.index, ModifyIndex: tx.index}
		for _, t := range out {
			rec.TaskIDs = append(rec.TaskIDs, t.ID)
		}
		if err := tx.put(tableClientTokens, rec); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// StopTask sets a task's desired status to STOPPED. A task the agent has not
// started yet (still PROVISIONING, no instance work done) is stopped at once.
type StopTask struct {
	TaskKey  string
	StopCode string
	Reason   string
	At       time.Time
}

func (*StopTask) commandName() string { return "StopTask" }

func (c *StopTask) apply(tx *txn) (any, error) {
	old, err := first[Task](tx.Txn, tableTasks, c.TaskKey)
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, errdefs.New(errdefs.ErrNotFound, "task", "The referenced task was not found.")
	}
	if old.DesiredStatus == TaskStopped {
		return old, nil
	}
	n := old.Copy()
	n.DesiredStatus = TaskStopped
	n.StopCode, n.StoppedReason = c.StopCode, c.Reason
	n.StoppingAt = c.At
	n.Version++
	n.ModifyIndex = tx.index
	return n, tx.put(tableTasks, n)
}

// ReportTask applies the state an instance's agent reports for one of its
// tasks. Reports are sequenced per instance: one not newer than the last
// applied is a duplicate and changes nothing. Statuses only move forward.
type ReportTask struct {
	InstanceKey string
	Seq         uint64
	Task        *Task // the reported state: statuses, containers, timestamps
}

func (*ReportTask) commandName() string { return "ReportTask" }

func (c *ReportTask) apply(tx *txn) (any, error) {
	old, err := first[Task](tx.Txn, tableTasks, c.Task.ID)
	if err != nil {
		return nil, err
	}
	if old == nil || old.InstanceKey != c.InstanceKey {
		return nil, errdefs.New(errdefs.ErrNotFound, "task", "task %s is not assigned to this instance", c.Task.ARN)
	}
	if c.Seq <= old.ReportSeq {
		return old, nil
	}
	r := c.Task
	n := old.Copy()
	n.ReportSeq = c.Seq
	if StatusRank(r.LastStatus) >= StatusRank(n.LastStatus) {
		n.LastStatus = r.LastStatus
	}
	if old.LastStatus != TaskStopped {
		n.Containers = r.Containers
		n.HealthStatus = r.HealthStatus
	}
	setTime := func(dst *time.Time, v time.Time) {
		if dst.IsZero() && !v.IsZero() {
			*dst = v
		}
	}
	setTime(&n.PullStartedAt, r.PullStartedAt)
	setTime(&n.PullStoppedAt, r.PullStoppedAt)
	setTime(&n.StartedAt, r.StartedAt)
	setTime(&n.ConnectivityAt, r.ConnectivityAt)
	setTime(&n.ExecutionStoppedAt, r.ExecutionStoppedAt)
	setTime(&n.StoppingAt, r.StoppingAt)
	setTime(&n.StoppedAt, r.StoppedAt)
	if r.StopCode != "" && n.StopCode == "" {
		// The agent decided to stop (an essential container exited, the
		// task failed to start): its reason is the task's reason.
		n.StopCode, n.StoppedReason = r.StopCode, r.StoppedReason
	}
	if n.LastStatus == TaskStopped {
		n.DesiredStatus = TaskStopped
	}
	n.Version++
	n.ModifyIndex = tx.index
	return n, tx.put(tableTasks, n)
}

// TagTask replaces a task's tags (TagResource, UntagResource) if the task
// is unchanged since ModifyIndex. It is no change of the task's state: its
// version stays, and the agent has nothing to do.
type TagTask struct {
	TaskKey     string
	Tags        []Tag
	ModifyIndex uint64
}

func (*TagTask) commandName() string { return "TagTask" }

func (c *TagTask) apply(tx *txn) (any, error) {
	old, err := first[Task](tx.Txn, tableTasks, c.TaskKey)
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, errdefs.New(errdefs.ErrNotFound, "task", "The referenced task was not found.")
	}
	if old.ModifyIndex != c.ModifyIndex {
		return nil, errdefs.New(errdefs.ErrConflict, "task", "task %s changed concurrently", old.ARN)
	}
	n := old.Copy()
	n.Tags = append([]Tag(nil), c.Tags...)
	n.ModifyIndex = tx.index
	return n, tx.put(tableTasks, n)
}

// DeleteTask forgets a STOPPED task (after its retention).
type DeleteTask struct{ TaskKey string }

func (*DeleteTask) commandName() string { return "DeleteTask" }

func (c *DeleteTask) apply(tx *txn) (any, error) {
	old, err := first[Task](tx.Txn, tableTasks, c.TaskKey)
	if err != nil || old == nil {
		return nil, err
	}
	if old.LastStatus != TaskStopped {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "task", "task %s is not STOPPED", old.ARN)
	}
	return nil, tx.remove(tableTasks, old)
}

// tasksOnInstance returns every task placed on an instance.
func tasksOnInstance(tx *memdb.Txn, instanceKey string) ([]*Task, error) {
	it, err := tx.Get(tableTasks, "instance", instanceKey)
	if err != nil {
		return nil, err
	}
	var out []*Task
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*Task))
	}
	return out, nil
}
