package state

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

func TestCandidatesFollowChanges(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	defer s.Close()
	inst := setupInstance(t, s)
	var cache Candidates
	check := func(step string, connected bool) {
		t.Helper()
		snap := s.Snapshot()
		i := snap.ContainerInstance(inst.ID)
		want := PlacementCandidate(i, snap.TasksOnInstance(nil, i.ID), connected)
		if got := cache.Candidate(snap, i, connected); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Candidate = %+v (query %+v); want %+v (query %+v)", step, got, got.Query, want, want.Query)
		}
	}
	check("first", true)
	check("again, from the cache", true)
	check("agent disconnected", false)
	check("connected again", true)

	if _, err := s.Apply(ctx, &RunTasks{Tasks: []*Task{newTask(inst, "a", 512, 128, 80)}}); err != nil {
		t.Fatal(err)
	}
	check("a task placed", true)
	if _, err := s.Apply(ctx, &StopTask{TaskKey: Key(inst.Account, inst.Region, inst.Cluster, "a")}); err != nil {
		t.Fatal(err)
	}
	check("the task stopping", true)

	i := s.Snapshot().ContainerInstance(inst.ID).Copy()
	i.Attributes = append(i.Attributes, Attribute{Name: "rack", Value: "r1"})
	if _, err := s.Apply(ctx, &PutContainerInstance{Instance: i, ModifyIndex: i.ModifyIndex}); err != nil {
		t.Fatal(err)
	}
	check("an attribute added", true)
}

// TestCandidatesConcurrent: placement calls share the cache while tasks are
// placed; run with -race.
func TestCandidatesConcurrent(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	defer s.Close()
	inst := setupInstance(t, s)
	var cache Candidates
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for n := range 20 {
				snap := s.Snapshot()
				c := cache.Candidate(snap, snap.ContainerInstance(inst.ID), n%2 == 0)
				if c.UsedMemory < 0 || c.Query == nil {
					t.Errorf("candidate %+v", c)
				}
				if g == 0 {
					if _, err := s.Apply(ctx, &RunTasks{Tasks: []*Task{newTask(inst, "t"+string(rune('a'+n)), 1, 1)}}); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	snap := s.Snapshot()
	i := snap.ContainerInstance(inst.ID)
	if got, want := cache.Candidate(snap, i, true).UsedMemory, PlacementCandidate(i, snap.TasksOnInstance(nil, i.ID), true).UsedMemory; got != want {
		t.Errorf("after concurrent placements: cached UsedMemory %d; want %d", got, want)
	}
}

// BenchmarkCandidates: the candidates of a 5,000-instance cluster for one
// placement call, when one instance changed since the last call (as after a
// RunTask that placed on it).
func BenchmarkCandidates(b *testing.B) {
	ctx := context.Background()
	s := openTest(b, "")
	defer s.Close()
	if _, err := s.Apply(ctx, &CreateCluster{Cluster: newCluster("c")}); err != nil {
		b.Fatal(err)
	}
	const n = 5000
	var insts []*ContainerInstance
	for i := range n {
		inst, err := Do[*ContainerInstance](ctx, s, &RegisterContainerInstance{Instance: &ContainerInstance{
			Account: "000000000000", Region: "us-east-1", Cluster: "c", InstanceID: fmt.Sprintf("i%05d", i), Status: InstanceActive,
			RegisteredResources: []Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: 4096}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 8192}},
			Attributes:          []Attribute{{Name: "ecs.availability-zone", Value: fmt.Sprintf("us-east-1%c", 'a'+i%3)}},
		}})
		if err != nil {
			b.Fatal(err)
		}
		insts = append(insts, inst)
	}
	// Half the instances run tasks, the others none yet.
	var tasks []*Task
	for i := range n {
		tasks = append(tasks, newTask(insts[(i%(n/2))*2], fmt.Sprintf("t%05d", i), 10, 10))
	}
	if _, err := s.Apply(ctx, &RunTasks{Tasks: tasks}); err != nil {
		b.Fatal(err)
	}
	var cache Candidates
	build := func() int {
		snap := s.Snapshot()
		k := 0
		for i := range snap.ContainerInstances("000000000000", "us-east-1", "c", "") {
			_ = cache.Candidate(snap, i, true)
			k++
		}
		return k
	}
	build()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		if _, err := s.Apply(ctx, &RunTasks{Tasks: []*Task{newTask(insts[(i%(n/2))*2], fmt.Sprintf("x%07d", i), 1, 1)}}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if k := build(); k != n {
			b.Fatalf("%d candidates; want %d", k, n)
		}
	}
}

func TestCandidatesInvalidateOnlyChanged(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	defer s.Close()
	if _, err := s.Apply(ctx, &CreateCluster{Cluster: newCluster("c")}); err != nil {
		t.Fatal(err)
	}
	var insts []*ContainerInstance
	for i := range 500 {
		inst, err := Do[*ContainerInstance](ctx, s, &RegisterContainerInstance{Instance: &ContainerInstance{
			Account: "000000000000", Region: "us-east-1", Cluster: "c", InstanceID: fmt.Sprintf("%032x", i*7919), Status: InstanceActive,
			RegisteredResources: []Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: 4096}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 8192}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		insts = append(insts, inst)
	}
	var cache Candidates
	snap := s.Snapshot()
	for i := range snap.ContainerInstances("000000000000", "us-east-1", "c", "") {
		cache.Candidate(snap, i, true)
	}
	var tasks []*Task
	for i := range 10 {
		tasks = append(tasks, newTask(insts[i*37], fmt.Sprintf("t%d", i), 1, 1))
	}
	if _, err := s.Apply(ctx, &RunTasks{Tasks: tasks}); err != nil {
		t.Fatal(err)
	}
	// Instances without tasks have no index node of their own to watch:
	// theirs are rebuilt from the cached instance part, without allocating.
	snap = s.Snapshot()
	for i := range snap.ContainerInstances("000000000000", "us-east-1", "c", "") {
		cache.Candidate(snap, i, true)
	}
	var tasks2 []*Task
	for i := range 10 {
		tasks2 = append(tasks2, newTask(insts[i*37], fmt.Sprintf("u%d", i), 1, 1))
	}
	if _, err := s.Apply(ctx, &RunTasks{Tasks: tasks2}); err != nil {
		t.Fatal(err)
	}
	stale := 0
	for _, e := range cache.m {
		if closed(e.changed) && len(e.cand.Groups) > 0 {
			stale++
		}
	}
	if stale != 10 {
		t.Errorf("after tasks placed on 10 instances with tasks, %d cached candidates with tasks are stale; want 10", stale)
	}
	snap = s.Snapshot()
	var empty *ContainerInstance
	for i := range snap.ContainerInstances("000000000000", "us-east-1", "c", "") {
		if len(snap.TasksOnInstance(nil, i.ID)) == 0 {
			empty = i
			break
		}
	}
	cache.Candidate(snap, empty, true)
	if allocs := testing.AllocsPerRun(100, func() { cache.Candidate(snap, empty, true) }); allocs > 1 {
		t.Errorf("candidate of an instance without tasks: %.0f allocations; want at most 1 (the task lookup)", allocs)
	}
}

func TestHeard(t *testing.T) {
	s := openTest(t, "")
	defer s.Close()
	inst := setupInstance(t, s) // registered with no LastHeartbeat of its own
	start := s.heard.start
	if got := s.Heard(inst); !got.Equal(inst.LastHeartbeat) {
		t.Errorf("Heard before any heartbeat = %v; want the record's %v (a restart is no sign of life)", got, inst.LastHeartbeat)
	}
	if got := s.SilentSince(inst); !got.Equal(latest(start, inst.LastHeartbeat)) {
		t.Errorf("SilentSince before any heartbeat = %v; want no earlier than the start %v", got, start)
	}
	at := start.Add(time.Minute)
	s.Beat(inst, at)
	if got := s.Heard(inst); !got.Equal(at) {
		t.Errorf("Heard after a beat = %v; want %v", got, at)
	}
	if got := s.SilentSince(inst); !got.Equal(at) {
		t.Errorf("SilentSince after a beat = %v; want %v", got, at)
	}
	s.Beat(inst, at.Add(-time.Second)) // late, out of order
	if got := s.Heard(inst); !got.Equal(at) {
		t.Errorf("Heard after an older beat = %v; want %v still", got, at)
	}
}

func TestCandidatesInstances(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	defer s.Close()
	first := setupInstance(t, s)
	var cache Candidates
	ids := func() []string {
		var out []string
		for _, i := range cache.Instances(s.Snapshot(), first.Account, first.Region, first.Cluster) {
			out = append(out, i.InstanceID)
		}
		return out
	}
	if got := ids(); !reflect.DeepEqual(got, []string{"i1"}) {
		t.Fatalf("Instances = %v; want [i1]", got)
	}
	s.Beat(first, time.Now()) // not a change of the table
	second, err := Do[*ContainerInstance](ctx, s, &RegisterContainerInstance{Instance: &ContainerInstance{
		Account: first.Account, Region: first.Region, Cluster: first.Cluster, InstanceID: "i2", Status: InstanceActive,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(); !reflect.DeepEqual(got, []string{"i1", "i2"}) {
		t.Errorf("Instances after a registration = %v; want [i1 i2]", got)
	}
	n := second.Copy()
	n.Status = InstanceInactive
	if _, err := s.Apply(ctx, &PutContainerInstance{Instance: n, ModifyIndex: second.ModifyIndex}); err != nil {
		t.Fatal(err)
	}
	cache.Candidate(s.Snapshot(), second, true)
	if got := ids(); !reflect.DeepEqual(got, []string{"i1"}) {
		t.Errorf("Instances after i2 went INACTIVE = %v; want [i1]", got)
	}
	if _, kept := cache.m[second.ID]; kept {
		t.Error("the candidate of the INACTIVE instance is still cached")
	}
}
