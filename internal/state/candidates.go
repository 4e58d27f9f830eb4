package state

import (
	"strings"
	"sync"

	"github.com/berthhq/berth/internal/placement"
)

// Candidates builds placement candidates and keeps them until their
// instance or the instance's tasks change, so that each placement call
// (RunTask, a service's step) does not rebuild every instance of a large
// cluster. It is safe for concurrent use. The candidates it returns share
// their maps with the cache: callers must not change them (package
// placement does not).
type Candidates struct {
	mu       sync.Mutex
	m        map[string]cachedCandidate
	clusters map[string]cachedInstances
}

// cachedInstances are a cluster's registered instances as of the instances
// table's index (which heartbeats do not change; see Store.Beat).
type cachedInstances struct {
	index   uint64
	abandon <-chan struct{}
	insts   []*ContainerInstance
}

// Instances returns the cluster's instances that are not INACTIVE, in key
// order, listing them again only when an instance changed. The slice is
// shared: callers must not change it.
func (c *Candidates) Instances(snap *Snapshot, account, region, cluster string) []*ContainerInstance {
	key := Key(account, region, cluster, "")
	index := snap.InstancesIndex(nil)
	c.mu.Lock()
	e, ok := c.clusters[key]
	c.mu.Unlock()
	if ok && e.index == index && !closed(e.abandon) {
		return e.insts
	}
	e = cachedInstances{index: index, abandon: snap.abandon}
	for i := range snap.ContainerInstances(account, region, cluster, "") {
		if i.Status != InstanceInactive {
			e.insts = append(e.insts, i)
		}
	}
	live := make(map[string]bool, len(e.insts))
	for _, i := range e.insts {
		live[i.ID] = true
	}
	c.mu.Lock()
	if c.clusters == nil {
		c.clusters = map[string]cachedInstances{}
	}
	c.clusters[key] = e
	// Candidates of the cluster's deregistered instances go with them.
	for id := range c.m {
		if strings.HasPrefix(id, key) && !live[id] {
			delete(c.m, id)
		}
	}
	c.mu.Unlock()
	return e.insts
}

type cachedCandidate struct {
	inst *ContainerInstance  // the record it was built from; records are never changed in place
	base placement.Candidate // what inst alone makes of it
	// changed closes when a task on the instance changes. For an instance
	// without tasks it is the channel of a wider part of the tasks index
	// (memdb has no node to watch), which closes on other changes too: the
	// rebuild is then only a look for tasks, and base.
	changed <-chan struct{}
	abandon <-chan struct{}     // closes when the tables are replaced
	cand    placement.Candidate // base with the tasks
	query   placement.Instance  // a copy of *cand.Query
}

// Candidate is PlacementCandidate(i, the tasks on i in snap, connected).
func (c *Candidates) Candidate(snap *Snapshot, i *ContainerInstance, connected bool) placement.Candidate {
	c.mu.Lock()
	e, ok := c.m[i.ID]
	c.mu.Unlock()
	if !ok || e.inst != i || closed(e.changed) || closed(e.abandon) {
		it, err := snap.tx.Get(tableTasks, "instance", i.ID)
		if err != nil {
			return PlacementCandidate(i, snap.TasksOnInstance(nil, i.ID), connected)
		}
		var tasks []*Task
		for raw := it.Next(); raw != nil; raw = it.Next() {
			tasks = append(tasks, raw.(*Task))
		}
		base := e.base
		if !ok || e.inst != i || closed(e.abandon) {
			base = instanceCandidate(i, connected)
		}
		e = cachedCandidate{inst: i, base: base, changed: it.WatchCh(), abandon: snap.abandon, cand: withTasks(base, tasks)}
		e.query = *e.cand.Query
		c.mu.Lock()
		if c.m == nil {
			c.m = map[string]cachedCandidate{}
		}
		c.m[i.ID] = e
		c.mu.Unlock()
	}
	cand := e.cand
	if cand.Query.AgentConnected != connected {
		// Connected follows the clock, not the tables.
		q := e.query
		q.AgentConnected = connected
		cand.Query = &q
		cand.Eligible = i.Status == InstanceActive && connected
	}
	return cand
}

func closed(ch <-chan struct{}) bool {
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
