package state

import (
	"github.com/berthhq/berth/internal/errdefs"
)

// Reasons DeleteCluster refuses with, for the API edge to name.
const (
	ReasonContainsInstances = "contains-container-instances"
	ReasonContainsTasks     = "contains-tasks"
	ReasonContainsServices  = "contains-services"
)

// Cluster statuses.
const (
	ClusterActive   = "ACTIVE"
	ClusterInactive = "INACTIVE"
)

func init() {
	register(func() Command { return new(CreateCluster) })
	register(func() Command { return new(PutCluster) })
	register(func() Command { return new(DeleteCluster) })
}

// CreateCluster creates a cluster, or returns the ACTIVE cluster of that name
// unchanged, as ECS does. An INACTIVE cluster of that name is replaced.
type CreateCluster struct{ Cluster *Cluster }

func (*CreateCluster) commandName() string { return "CreateCluster" }

func (c *CreateCluster) apply(tx *txn) (any, error) {
	n := c.Cluster.copy()
	n.ID = Key(n.Account, n.Region, n.Name)
	old, err := first[Cluster](tx.Txn, tableClusters, n.ID)
	if err != nil {
		return nil, err
	}
	if old != nil && old.Status == ClusterActive {
		return old, nil
	}
	n.Status = ClusterActive
	n.CreateIndex, n.ModifyIndex = tx.index, tx.index
	return n, tx.put(tableClusters, n)
}

// PutCluster replaces an existing cluster if it has not changed since it was
// read at ModifyIndex (an optimistic update).
type PutCluster struct {
	Cluster     *Cluster
	ModifyIndex uint64
}

func (*PutCluster) commandName() string { return "PutCluster" }

func (c *PutCluster) apply(tx *txn) (any, error) {
	n := c.Cluster.copy()
	n.ID = Key(n.Account, n.Region, n.Name)
	old, err := first[Cluster](tx.Txn, tableClusters, n.ID)
	if err != nil {
		return nil, err
	}
	if old == nil {
		return nil, errdefs.New(errdefs.ErrNotFound, "cluster", "Cluster not found.")
	}
	if old.ModifyIndex != c.ModifyIndex {
		return nil, errdefs.New(errdefs.ErrConflict, "cluster", "cluster %s changed concurrently", n.Name)
	}
	n.CreateIndex, n.ModifyIndex = old.CreateIndex, tx.index
	return n, tx.put(tableClusters, n)
}

// DeleteCluster marks an ACTIVE cluster INACTIVE. The cluster stays
// describable, as ECS keeps deleted clusters visible for a while.
type DeleteCluster struct {
	Account, Region, Name string
}

func (*DeleteCluster) commandName() string { return "DeleteCluster" }

func (c *DeleteCluster) apply(tx *txn) (any, error) {
	old, err := first[Cluster](tx.Txn, tableClusters, Key(c.Account, c.Region, c.Name))
	if err != nil {
		return nil, err
	}
	if old == nil || old.Status != ClusterActive {
		return nil, errdefs.New(errdefs.ErrNotFound, "cluster", "Cluster not found.")
	}
	prefix := Key(c.Account, c.Region, c.Name, "")
	it, err := tx.Get(tableInstances, "id_prefix", prefix)
	if err != nil {
		return nil, err
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if raw.(*ContainerInstance).Status != InstanceInactive {
			return nil, errdefs.New(errdefs.ErrConflict, "cluster",
				"The Cluster cannot be deleted while Container Instances are active or draining.").WithReason(ReasonContainsInstances)
		}
	}
	it, err = tx.Get(tableTasks, "id_prefix", prefix)
	if err != nil {
		return nil, err
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if raw.(*Task).Active() {
			return nil, errdefs.New(errdefs.ErrConflict, "cluster",
				"The Cluster cannot be deleted while Tasks are active.").WithReason(ReasonContainsTasks)
		}
	}
	it, err = tx.Get(tableServices, "id_prefix", prefix)
	if err != nil {
		return nil, err
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if raw.(*Service).Status != ServiceInactive {
			return nil, errdefs.New(errdefs.ErrConflict, "cluster",
				"The Cluster cannot be deleted while Services are active.").WithReason(ReasonContainsServices)
		}
	}
	n := old.copy()
	n.Status = ClusterInactive
	n.ModifyIndex = tx.index
	return n, tx.put(tableClusters, n)
}
