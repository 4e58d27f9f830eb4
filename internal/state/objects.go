package state

import (
	"encoding/json"
	"time"

	"github.com/berthhq/berth/internal/taskdef"
)

// Tag is an ECS-style resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Setting is a name/value pair such as a cluster setting.
type Setting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// CapacityProviderStrategyItem is one entry of a capacity provider strategy.
type CapacityProviderStrategyItem struct {
	CapacityProvider string `json:"capacityProvider"`
	Weight           int32  `json:"weight"`
	Base             int32  `json:"base"`
}

// Cluster is an ECS cluster.
type Cluster struct {
	ID      string
	Account string
	Region  string
	Name    string
	ARN     string
	Status  string // ACTIVE or INACTIVE

	Settings                        []Setting
	Configuration                   json.RawMessage `json:",omitempty"`
	ServiceConnectDefaults          json.RawMessage `json:",omitempty"`
	CapacityProviders               []string
	DefaultCapacityProviderStrategy []CapacityProviderStrategyItem
	Tags                            []Tag
	CreatedAt                       time.Time

	CreateIndex uint64
	ModifyIndex uint64
}

func (c *Cluster) copy() *Cluster {
	n := *c
	n.Settings = append([]Setting(nil), c.Settings...)
	n.CapacityProviders = append([]string(nil), c.CapacityProviders...)
	n.DefaultCapacityProviderStrategy = append([]CapacityProviderStrategyItem(nil), c.DefaultCapacityProviderStrategy...)
	n.Tags = append([]Tag(nil), c.Tags...)
	return &n
}

// Copy returns a copy of c that the caller may modify and write back.
func (c *Cluster) Copy() *Cluster { return c.copy() }

// Task definition statuses.
const (
	TaskDefActive           = "ACTIVE"
	TaskDefInactive         = "INACTIVE"
	TaskDefDeleteInProgress = "DELETE_IN_PROGRESS"
)

// TaskDefinition is one revision of a task definition family. Body is the
// definition as registered (normalised); its identity fields (ARN, revision,
// status, timestamps) are the ones on this record.
type TaskDefinition struct {
	ID             string
	Account        string
	Region         string
	Family         string
	Revision       int32
	ARN            string
	Status         string
	Body           *taskdef.TaskDefinition
	Tags           []Tag
	RegisteredAt   time.Time
	RegisteredBy   string
	DeregisteredAt time.Time `json:",omitzero"`

	CreateIndex uint64
	ModifyIndex uint64
}

// Copy returns a shallow copy of d that the caller may modify and write back;
// Body is shared and must not be modified.
func (d *TaskDefinition) Copy() *TaskDefinition {
	n := *d
	n.Tags = append([]Tag(nil), d.Tags...)
	return &n
}

// Family remembers the last revision ever registered in a family, so that
// revisions are never reused after a deletion.
type Family struct {
	ID           string
	Account      string
	Region       string
	Name         string
	LastRevision int32

	CreateIndex uint64
	ModifyIndex uint64
}

// AccessKey is an access key and the principal it authenticates.
type AccessKey struct {
	ID string // the access key id
	// SecretAccessKey is the secret in plain text; only keys written
	// before secrets were sealed have it, until the server seals them.
	SecretAccessKey string `json:",omitempty"`
	// SealedSecret is the secret sealed by the server's keyring (a
	// keyring.Envelope as JSON).
	SealedSecret json.RawMessage `json:",omitempty"`
	Account      string
	PrincipalARN string
	UserID       string
	Status       string // Active or Inactive
	CreatedAt    time.Time

	CreateIndex uint64
	ModifyIndex uint64
}

// Meta is a small named value the server keeps about itself, such as the hash
// of the agent join token.
type Meta struct {
	ID    string
	Value string

	CreateIndex uint64
	ModifyIndex uint64
}
