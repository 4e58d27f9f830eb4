package state

import (
	"time"

	"github.com/berthhq/berth/internal/errdefs"
)

// Container instance statuses.
const (
	InstanceActive   = "ACTIVE"
	InstanceDraining = "DRAINING"
	InstanceInactive = "INACTIVE"
)

// Resource is a registered amount of something on an instance: CPU and
// MEMORY as integers, PORTS and PORTS_UDP as string sets.
type Resource struct {
	Name           string   `json:"name"`
	Type           string   `json:"type"` // INTEGER or STRINGSET
	IntegerValue   int64    `json:"integerValue"`
	StringSetValue []string `json:"stringSetValue,omitempty"`
}

// Attribute is a container instance attribute.
type Attribute struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// VersionInfo describes the agent and engine on an instance.
type VersionInfo struct {
	AgentVersion  string `json:"agentVersion"`
	AgentHash     string `json:"agentHash"`
	DockerVersion string `json:"dockerVersion"`
}

// ContainerInstance is a host whose agent runs a cluster's tasks.
type ContainerInstance struct {
	ID            string // Key(account, region, cluster, instance id)
	Account       string
	Region        string
	Cluster       string
	InstanceID    string // the id in the ARN
	ARN           string
	EC2InstanceID string
	Status        string
	StatusReason  string

	// AgentTokenHash is the SHA-256 of the token the agent authenticates with.
	AgentTokenHash string
	// Address is where load balancers and clients reach the host's ports.
	Address string

	RegisteredResources []Resource
	Attributes          []Attribute
	VersionInfo         VersionInfo
	Tags                []Tag
	RegisteredAt        time.Time
	LastHeartbeat       time.Time

	CreateIndex uint64
	ModifyIndex uint64
}

// Copy returns a copy of i that the caller may modify and write back.
func (i *ContainerInstance) Copy() *ContainerInstance {
	n := *i
	n.RegisteredResources = append([]Resource(nil), i.RegisteredResources...)
	n.Attributes = append([]Attribute(nil), i.Attributes...)
	n.Tags = append([]Tag(nil), i.Tags...)
	return &n
}

// Integer returns the registered integer resource name (CPU, MEMORY).
func (i *ContainerInstance) Integer(name string) int64 {
	for _, r := range i.RegisteredResources {
		if r.Name == name {
			return r.IntegerValue
		}
	}
	return 0
}

func init() {
	register(func() Command { return new(RegisterContainerInstance) })
	register(func() Command { return new(PutContainerInstance) })
	register(func() Command { return new(Heartbeat) })
}

// RegisterContainerInstance adds an instance, or replaces the record of an
// instance that registers again (same ID) while keeping its creation index.
type RegisterContainerInstance struct{ Instance *ContainerInstance }

func (*RegisterContainerInstance) commandName() string { return "RegisterContainerInstance" }

func (c *RegisterContainerInstance) apply(tx *txn) (any, error) {
	n := c.Instance.Copy()
	n.ID = Key(n.Account, n.Region, n.Cluster, n.InstanceID)
	cl, err := first[Cluster](tx.Txn, tableClusters, Key(n.Account, n.Region, n.Cluster))
	if err != nil {
		return nil, err
	}
	if cl == nil || cl.Status != ClusterActive {
		return nil, errdefs.New(errdefs.ErrNotFound, "cluster", "Cluster not found.")
	}
	old, err := first[ContainerInstance](tx.Txn, tableInstances, n.ID)
	if err != nil {
		return nil, err
	}
	n.CreateIndex, n.ModifyIndex = tx.index, tx.index
	if old != nil {
		n.CreateIndex = old.CreateIndex
		n.Tags = old.Tags
		n.RegisteredAt = old.RegisteredAt
		if old.Status == InstanceDraining {
			n.Status = InstanceDraining
		}
	}
	return n, tx.put(tableInstances, n)
}

// PutContainerInstance replaces an instance if it has not changed since it
// was read at ModifyIndex.
type PutContainerInstance struct {
	Instance    *ContainerInstance
	ModifyIndex uint64
}

func (*PutContainerInstance) commandName() string { return "PutContainerInstance" }

func (c *PutContainerInstance) apply(tx *txn) (any, error) {
	n := c.Instance.Copy()
	n.ID = Key(n.Account, n.Region, n.Cluster, n.InstanceID)
	old, err := first[ContainerInstance](tx.Txn, tableInstances, n.ID)
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, errdefs.New(errdefs.ErrNotFound, "container-instance", "The referenced container instance %s was not found.", n.ARN)
	}
	if old.ModifyIndex != c.ModifyIndex {
		return nil, errdefs.New(errdefs.ErrConflict, "container-instance", "container instance %s changed concurrently", n.ARN)
	}
	n.CreateIndex, n.ModifyIndex = old.CreateIndex, tx.index
	return n, tx.put(tableInstances, n)
}

// Heartbeat records that an instance's agent was heard from at At.
type Heartbeat struct {
	InstanceKey string
	At          time.Time
}

func (*Heartbeat) commandName() string { return "Heartbeat" }

func (c *Heartbeat) apply(tx *txn) (any, error) {
	old, err := first[ContainerInstance](tx.Txn, tableInstances, c.InstanceKey)
	if err != nil {
		return nil, err
	}
	if old == nil || old.Status == InstanceInactive {
		return nil, errdefs.New(errdefs.ErrNotFound, "container-instance", "container instance is not registered")
	}
	n := old.Copy()
	if c.At.After(n.LastHeartbeat) {
		n.LastHeartbeat = c.At
	}
	n.ModifyIndex = tx.index
	return n, tx.put(tableInstances, n)
}
