package state

import (
	"iter"
	"strings"

	memdb "github.com/hashicorp/go-memdb"
)

// Snapshot is a read-only, consistent view of the tables. It never blocks
// writers and writers never change what it sees.
type Snapshot struct {
	tx      *memdb.Txn
	abandon <-chan struct{}
}

// Index returns the last raft index that changed table (0 if none), adding it
// to ws when ws is not nil.
func (s *Snapshot) Index(ws memdb.WatchSet, table string) uint64 {
	ch, raw, err := s.tx.FirstWatch(tableIndex, "id", table)
	if ws != nil {
		ws.Add(ch)
	}
	if err != nil || raw == nil {
		return 0
	}
	return raw.(*tableIndexEntry).Index
}

// scan yields the objects of table whose ID starts with prefix, in ID order,
// starting after the ID after (when non-empty).
func scan[T any](s *Snapshot, ws memdb.WatchSet, table, prefix, after string) iter.Seq[*T] {
	return func(yield func(*T) bool) {
		var (
			it  memdb.ResultIterator
			err error
		)
		if after != "" && strings.HasPrefix(after, prefix) {
			it, err = s.tx.LowerBound(table, "id", after)
		} else {
			it, err = s.tx.Get(table, "id_prefix", prefix)
		}
		if err != nil {
			return
		}
		if ws != nil {
			ws.Add(it.WatchCh())
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			obj := raw.(*T)
			id := idOf(obj)
			if !strings.HasPrefix(id, prefix) {
				return
			}
			if after != "" && id <= after {
				continue
			}
			if !yield(obj) {
				return
			}
		}
	}
}

func idOf(obj any) string {
	switch o := obj.(type) {
	case *Cluster:
		return o.ID
	case *TaskDefinition:
		return o.ID
	case *Family:
		return o.ID
	case *AccessKey:
		return o.ID
	case *Meta:
		return o.ID
	case *ContainerInstance:
		return o.ID
	case *Task:
		return o.ID
	case *ClientTokenRecord:
		return o.ID
	case *Service:
		return o.ID
	case *Doc:
		return o.ID
	}
	panic("state: idOf: unknown type")
}

func get[T any](s *Snapshot, ws memdb.WatchSet, table, id string) *T {
	ch, raw, err := s.tx.FirstWatch(table, "id", id)
	if ws != nil {
		ws.Add(ch)
	}
	if err != nil || raw == nil {
		return nil
	}
	return raw.(*T)
}

// Cluster returns the named cluster (ACTIVE or INACTIVE), or nil.
func (s *Snapshot) Cluster(account, region, name string) *Cluster {
	return get[Cluster](s, nil, tableClusters, Key(account, region, name))
}

// Clusters yields the tenancy's clusters in name order, starting after the
// cluster ID after.
func (s *Snapshot) Clusters(account, region, after string) iter.Seq[*Cluster] {
	return scan[Cluster](s, nil, tableClusters, tenantPrefix(account, region), after)
}

// TaskDefinition returns one revision, or nil.
func (s *Snapshot) TaskDefinition(account, region, family string, revision int32) *TaskDefinition {
	return get[TaskDefinition](s, nil, tableTaskDefs, Key(account, region, family, revisionKey(revision)))
}

// LatestActiveTaskDefinition returns the highest ACTIVE revision of family, or nil.
func (s *Snapshot) LatestActiveTaskDefinition(account, region, family string) *TaskDefinition {
	var latest *TaskDefinition
	for d := range scan[TaskDefinition](s, nil, tableTaskDefs, Key(account, region, family, ""), "") {
		if d.Status == TaskDefActive {
			latest = d
		}
	}
	return latest
}

// TaskDefinitions yields the tenancy's task definitions whose family starts
// with familyPrefix, ordered by family then revision, starting after the ID
// after.
func (s *Snapshot) TaskDefinitions(account, region, familyPrefix, after string) iter.Seq[*TaskDefinition] {
	return scan[TaskDefinition](s, nil, tableTaskDefs, tenantPrefix(account, region)+familyPrefix, after)
}

// Families yields the tenancy's task definition families whose name starts
// with prefix, in name order, starting after the ID after.
func (s *Snapshot) Families(account, region, prefix, after string) iter.Seq[*Family] {
	return scan[Family](s, nil, tableFamilies, tenantPrefix(account, region)+prefix, after)
}

// AccessKey returns the access key with id, or nil.
func (s *Snapshot) AccessKey(id string) *AccessKey {
	return get[AccessKey](s, nil, tableAccessKeys, id)
}

// Meta returns the named meta value, or nil.
func (s *Snapshot) Meta(id string) *Meta {
	return get[Meta](s, nil, tableMeta, id)
}

// ContainerInstance returns an instance by its table key, or nil.
func (s *Snapshot) ContainerInstance(key string) *ContainerInstance {
	return get[ContainerInstance](s, nil, tableInstances, key)
}

// ContainerInstances yields a cluster's instances in ID order, after the ID after.
func (s *Snapshot) ContainerInstances(account, region, cluster, after string) iter.Seq[*ContainerInstance] {
	return scan[ContainerInstance](s, nil, tableInstances, Key(account, region, cluster, ""), after)
}

// Task returns a task by its table key, or nil.
func (s *Snapshot) Task(key string) *Task {
	return get[Task](s, nil, tableTasks, key)
}

// Tasks yields a cluster's tasks in ID order, after the ID after.
func (s *Snapshot) Tasks(account, region, cluster, after string) iter.Seq[*Task] {
	return scan[Task](s, nil, tableTasks, Key(account, region, cluster, ""), after)
}

// TasksOnInstance returns the tasks placed on an instance, adding the
// lookup to ws (when not nil) so that an agent's blocking query wakes when
// its assignments change.
func (s *Snapshot) TasksOnInstance(ws memdb.WatchSet, instanceKey string) []*Task {
	it, err := s.tx.Get(tableTasks, "instance", instanceKey)
	if err != nil {
		return nil
	}
	if ws != nil {
		ws.Add(it.WatchCh())
	}
	var out []*Task
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*Task))
	}
	return out
}

// InstanceUsage sums what the active tasks on an instance reserve.
func (s *Snapshot) InstanceUsage(instanceKey string) Usage {
	return usageOf(s.TasksOnInstance(nil, instanceKey))
}

// ContainerInstanceByID returns an instance by its globally unique instance
// id, or nil.
func (s *Snapshot) ContainerInstanceByID(instanceID string) *ContainerInstance {
	raw, err := s.tx.First(tableInstances, "instanceid", instanceID)
	if err != nil || raw == nil {
		return nil
	}
	return raw.(*ContainerInstance)
}

// TasksIndex is the last raft index that changed any task.
func (s *Snapshot) TasksIndex(ws memdb.WatchSet) uint64 { return s.Index(ws, tableTasks) }

// AllTasks yields every task of every tenancy.
func (s *Snapshot) AllTasks() iter.Seq[*Task] {
	return scan[Task](s, nil, tableTasks, "", "")
}

// ClientTokens yields every remembered client token.
func (s *Snapshot) ClientTokens() iter.Seq[*ClientTokenRecord] {
	return scan[ClientTokenRecord](s, nil, tableClientTokens, "", "")
}

// Service returns a service by its table key, or nil.
func (s *Snapshot) Service(key string) *Service {
	return get[Service](s, nil, tableServices, key)
}

// Services yields a cluster's services in name order, after the ID after.
func (s *Snapshot) Services(account, region, cluster, after string) iter.Seq[*Service] {
	return scan[Service](s, nil, tableServices, Key(account, region, cluster, ""), after)
}

// AllServices yields every service of every tenancy, adding the table to ws
// (when not nil) so that a controller wakes when any service changes.
func (s *Snapshot) AllServices(ws memdb.WatchSet) iter.Seq[*Service] {
	return scan[Service](s, ws, tableServices, "", "")
}

// ServiceTasks returns the tasks a service started (in any status).
func (s *Snapshot) ServiceTasks(serviceKey string) []*Task {
	it, err := s.tx.Get(tableTasks, "service", serviceKey)
	if err != nil {
		return nil
	}
	var out []*Task
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*Task))
	}
	return out
}

// InstancesByEC2ID yields the container instances (of any tenancy and
// status) that carry an EC2 instance id, as a load balancer's instance
// targets name them.
func (s *Snapshot) InstancesByEC2ID(ec2InstanceID string) iter.Seq[*ContainerInstance] {
	return func(yield func(*ContainerInstance) bool) {
		if ec2InstanceID == "" {
			return
		}
		it, err := s.tx.Get(tableInstances, "ec2", ec2InstanceID)
		if err != nil {
			return
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			if !yield(raw.(*ContainerInstance)) {
				return
			}
		}
	}
}

// AllInstances yields every container instance of every tenancy.
func (s *Snapshot) AllInstances() iter.Seq[*ContainerInstance] {
	return scan[ContainerInstance](s, nil, tableInstances, "", "")
}

// ServicesIndex and InstancesIndex are the last raft indexes that changed
// any service or instance, added to ws when not nil.
func (s *Snapshot) ServicesIndex(ws memdb.WatchSet) uint64  { return s.Index(ws, tableServices) }
func (s *Snapshot) InstancesIndex(ws memdb.WatchSet) uint64 { return s.Index(ws, tableInstances) }
