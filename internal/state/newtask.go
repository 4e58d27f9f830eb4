package state

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/berthhq/berth/internal/taskdef"
)

// TaskSpec is what a new task is built from: the definition, where it is
// placed and who started it.
type TaskSpec struct {
	Cluster   *Cluster
	Def       *TaskDefinition
	Overrides []byte // TaskOverride as JSON, or nil
	Req       taskdef.Requirements
	Group     string
	StartedBy string
	Tags      []Tag
	// Service and Deployment are set for the tasks of a service.
	ServiceKey   string
	DeploymentID string
	CreatedAt    time.Time
}

// NewTask builds the record of a task of spec placed on inst, with a fresh
// task id and container ARNs. It is not stored until a RunTasks or
// ReconcileService command adds it.
func NewTask(spec *TaskSpec, inst *ContainerInstance) *Task {
	cl := spec.Cluster
	id := randomHex(16)
	prefix := "arn:aws:ecs:" + cl.Region + ":" + cl.Account + ":"
	t := &Task{
		Account: cl.Account, Region: cl.Region, Cluster: cl.Name, TaskID: id,
		ARN: prefix + "task/" + cl.Name + "/" + id, ClusterARN: cl.ARN,
		InstanceKey: inst.ID, InstanceARN: inst.ARN,
		TaskDefinitionARN: spec.Def.ARN, Family: spec.Def.Family, Revision: spec.Def.Revision, Overrides: spec.Overrides,
		LastStatus: TaskProvisioning, DesiredStatus: TaskRunning, HealthStatus: "UNKNOWN",
		CPU: spec.Req.CPU, Memory: spec.Req.Memory,
		PortsTCP: append([]int32(nil), spec.Req.PortsTCP...), PortsUDP: append([]int32(nil), spec.Req.PortsUDP...),
		LaunchType: "EC2", Group: spec.Group, StartedBy: spec.StartedBy, Tags: append([]Tag(nil), spec.Tags...),
		ServiceKey: spec.ServiceKey, DeploymentID: spec.DeploymentID,
		CreatedAt: spec.CreatedAt,
	}
	t.ID = Key(t.Account, t.Region, t.Cluster, t.TaskID)
	for _, cd := range spec.Def.Body.ContainerDefinitions {
		tc := TaskContainer{
			Name: cd.Name, ContainerARN: prefix + "container/" + cl.Name + "/" + id + "/" + newUUID(),
			Image: cd.Image, LastStatus: TaskPending, CPU: strconv.Itoa(int(cd.CPU)), Essential: cd.Essential == nil || *cd.Essential,
		}
		if cd.Memory != nil {
			tc.Memory = strconv.Itoa(int(*cd.Memory))
		}
		if cd.MemoryReservation != nil {
			tc.MemoryReservation = strconv.Itoa(int(*cd.MemoryReservation))
		}
		t.Containers = append(t.Containers, tc)
	}
	return t
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
