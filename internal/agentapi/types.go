// Package agentapi is the protocol between Berth's control plane and its
// node agents, served under /agent/v1/ on the API port: registration with the
// cluster join token, a blocking watch of the tasks assigned to an instance,
// sequenced task state reports, and heartbeats.
//
// The server side (Handler) works on the state store; the agent side uses
// Client. Both share the message types below, JSON on the wire.
package agentapi

import (
	"encoding/json"
	"time"

	"github.com/berthhq/berth/internal/taskdef"
)

// RegisterRequest registers a host as a container instance.
type RegisterRequest struct {
	JoinToken string `json:"joinToken"`
	Cluster   string `json:"cluster"`
	Region    string `json:"region"`
	// InstanceID and AgentToken re-register an instance the agent registered
	// before; both empty registers a new one.
	InstanceID string `json:"instanceId,omitempty"`
	AgentToken string `json:"agentToken,omitempty"`

	EC2InstanceID string      `json:"ec2InstanceId"`
	Address       string      `json:"address"`
	CPU           int64       `json:"cpu"`       // CPU units (cores × 1024)
	MemoryMiB     int64       `json:"memoryMiB"` // after the reservation
	ReservedPorts []int       `json:"reservedPorts"`
	Attributes    []Attribute `json:"attributes"`
	AgentVersion  string      `json:"agentVersion"`
	DockerVersion string      `json:"dockerVersion"`
}

// Attribute is an instance attribute.
type Attribute struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// RegisterResponse tells the agent who it is now.
type RegisterResponse struct {
	InstanceID           string `json:"instanceId"`
	ContainerInstanceARN string `json:"containerInstanceArn"`
	AgentToken           string `json:"agentToken"`
	Account              string `json:"account"`
	Region               string `json:"region"`
	Cluster              string `json:"cluster"`
	ClusterARN           string `json:"clusterArn"`
	HeartbeatSeconds     int    `json:"heartbeatSeconds"`
	// HeartbeatMillis is the same interval in milliseconds, for intervals
	// under a second (tests); agents prefer it when set.
	HeartbeatMillis int64 `json:"heartbeatMillis,omitempty"`
	// RegistryHost is the host[:port] of the server's image registry, to
	// which task images naming it (or an ECR host of the task's account)
	// are pulled from with a token from /agent/v1/registry-auth.
	RegistryHost string `json:"registryHost,omitempty"`
}

// Interval is how often the server asks the agent to heartbeat.
func (r *RegisterResponse) Interval() time.Duration {
	switch {
	case r.HeartbeatMillis > 0:
		return time.Duration(r.HeartbeatMillis) * time.Millisecond
	case r.HeartbeatSeconds > 0:
		return time.Duration(r.HeartbeatSeconds) * time.Second
	}
	return 10 * time.Second
}

// TasksResponse is the set of tasks assigned to an instance at Index.
type TasksResponse struct {
	Index uint64 `json:"index"`
	Tasks []Task `json:"tasks"`
	// InstanceStatus is the instance's status (ACTIVE, DRAINING, INACTIVE).
	InstanceStatus string `json:"instanceStatus"`
}

// Task is an assignment: what the agent must make true on its host.
type Task struct {
	TaskARN           string                  `json:"taskArn"`
	TaskID            string                  `json:"taskId"`
	ClusterARN        string                  `json:"clusterArn"`
	Cluster           string                  `json:"cluster"`
	DesiredStatus     string                  `json:"desiredStatus"`
	LastStatus        string                  `json:"lastStatus"`
	StopCode          string                  `json:"stopCode,omitempty"`
	StoppedReason     string                  `json:"stoppedReason,omitempty"`
	TaskDefinitionARN string                  `json:"taskDefinitionArn"`
	TaskDefinition    *taskdef.TaskDefinition `json:"taskDefinition"`
	Overrides         json.RawMessage         `json:"overrides,omitempty"`
	Containers        []ContainerRef          `json:"containers"`
	CPU               int64                   `json:"cpu"`
	Memory            int64                   `json:"memory"`
	CreatedAt         time.Time               `json:"createdAt"`
	Group             string                  `json:"group,omitempty"`
	StartedBy         string                  `json:"startedBy,omitempty"`
	Account           string                  `json:"account"`
	Region            string                  `json:"region"`
}

// ContainerRef names a container of a task and its ARN.
type ContainerRef struct {
	Name         string `json:"name"`
	ContainerARN string `json:"containerArn"`
}

// NetworkBinding maps a container port to a host port.
type NetworkBinding struct {
	BindIP        string `json:"bindIP"`
	ContainerPort int32  `json:"containerPort"`
	HostPort      int32  `json:"hostPort"`
	Protocol      string `json:"protocol"`
}

// ContainerState is what the agent reports of one container.
type ContainerState struct {
	Name            string           `json:"name"`
	RuntimeID       string           `json:"runtimeId,omitempty"`
	ImageDigest     string           `json:"imageDigest,omitempty"`
	LastStatus      string           `json:"lastStatus"`
	ExitCode        *int32           `json:"exitCode,omitempty"`
	Reason          string           `json:"reason,omitempty"`
	HealthStatus    string           `json:"healthStatus,omitempty"`
	NetworkBindings []NetworkBinding `json:"networkBindings,omitempty"`
}

// TaskState is what the agent reports of a task.
type TaskState struct {
	TaskARN            string           `json:"taskArn"`
	LastStatus         string           `json:"lastStatus"`
	HealthStatus       string           `json:"healthStatus,omitempty"`
	Containers         []ContainerState `json:"containers"`
	StopCode           string           `json:"stopCode,omitempty"`
	StoppedReason      string           `json:"stoppedReason,omitempty"`
	PullStartedAt      time.Time        `json:"pullStartedAt,omitzero"`
	PullStoppedAt      time.Time        `json:"pullStoppedAt,omitzero"`
	StartedAt          time.Time        `json:"startedAt,omitzero"`
	ConnectivityAt     time.Time        `json:"connectivityAt,omitzero"`
	StoppingAt         time.Time        `json:"stoppingAt,omitzero"`
	StoppedAt          time.Time        `json:"stoppedAt,omitzero"`
	ExecutionStoppedAt time.Time        `json:"executionStoppedAt,omitzero"`
}

// ReportRequest carries one task state with the instance's next sequence
// number. The server applies each sequence number at most once.
type ReportRequest struct {
	Seq  uint64    `json:"seq"`
	Task TaskState `json:"task"`
}

// ErrorResponse is the body of every non-2xx answer.
type ErrorResponse struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes.
const (
	CodeUnauthorized = "Unauthorized"
	CodeInvalid      = "InvalidRequest"
	CodeNotFound     = "NotFound"
	CodeUnavailable  = "Unavailable"
	CodeInternal     = "InternalError"
)

// LogEvent is one line of container output for CloudWatch Logs.
type LogEvent struct {
	Timestamp int64  `json:"timestamp"` // milliseconds since the epoch
	Message   string `json:"message"`
}

// LogsRequest ships container output into a log stream of the instance's
// account: the agent's awslogs driver. With no events it only makes sure
// the stream (and, with CreateGroup, the group) exists.
type LogsRequest struct {
	TaskARN     string     `json:"taskArn"`
	Region      string     `json:"region"`
	Group       string     `json:"group"`
	Stream      string     `json:"stream"`
	CreateGroup bool       `json:"createGroup"`
	Events      []LogEvent `json:"events"`
}

// MaxLogsBody bounds a LogsRequest: a full PutLogEvents batch (1 MiB of
// messages) with its JSON escaping.
const MaxLogsBody = 8 << 20

// SecretsRequest asks for the values of secrets a task's definition
// references (container secrets, log configuration secretOptions,
// repositoryCredentials), by their valueFrom.
type SecretsRequest struct {
	TaskARN string   `json:"taskArn"`
	Refs    []string `json:"refs"`
}

// SecretsResponse holds the values by reference. It is sent only to the
// agent of the instance the task runs on.
type SecretsResponse struct {
	Values map[string]string `json:"values"`
}

// RegistryAuthRequest asks for pull credentials for the server's registry,
// for a task's account and the region its image names.
type RegistryAuthRequest struct {
	TaskARN string `json:"taskArn"`
	Region  string `json:"region"`
}

// RegistryAuthResponse is a registry login: user AWS and a token.
type RegistryAuthResponse struct {
	Host     string    `json:"host"`
	Username string    `json:"username"`
	Password string    `json:"password"`
	Expires  time.Time `json:"expires"`
}
