package state

import (
	"context"
	"reflect"
	"sync"
	"testing"
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
