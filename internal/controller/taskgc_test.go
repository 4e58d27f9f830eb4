package controller

import (
	"context"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/state"
)

func TestExpired(t *testing.T) {
	ctx := context.Background()
	s, err := state.Open(state.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, &state.CreateCluster{Cluster: &state.Cluster{Account: "1", Region: "r", Name: "c"}}); err != nil {
		t.Fatal(err)
	}
	inst, err := state.Do[*state.ContainerInstance](ctx, s, &state.RegisterContainerInstance{Instance: &state.ContainerInstance{
		Account: "1", Region: "r", Cluster: "c", InstanceID: "i", Status: state.InstanceActive,
		RegisteredResources: []state.Resource{{Name: "CPU", IntegerValue: 1024}, {Name: "MEMORY", IntegerValue: 1024}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var tasks []*state.Task
	for _, id := range []string{"old", "recent", "running"} {
		tasks = append(tasks, &state.Task{Account: "1", Region: "r", Cluster: "c", TaskID: id, InstanceKey: inst.ID, LastStatus: state.TaskPending})
	}
	if _, err := s.Apply(ctx, &state.RunTasks{Tasks: tasks}); err != nil {
		t.Fatal(err)
	}
	for seq, stop := range map[string]time.Time{"old": now.Add(-2 * time.Hour), "recent": now.Add(-10 * time.Minute)} {
		tk := s.Snapshot().Task(state.Key("1", "r", "c", seq)).Copy()
		tk.LastStatus, tk.StoppedAt = state.TaskStopped, stop
		if _, err := s.Apply(ctx, &state.ReportTask{InstanceKey: inst.ID, Seq: uint64(stop.Unix()), Task: tk}); err != nil {
			t.Fatal(err)
		}
	}
	got := Expired(s.Snapshot(), now, time.Hour)
	if len(got) != 1 || got[0] != state.Key("1", "r", "c", "old") {
		t.Fatalf("Expired(retention 1h) = %q; want only the task stopped 2h ago", got)
	}
	for name, at := range map[string]time.Time{"gone": now.Add(-2 * time.Hour), "recent": now.Add(-time.Minute)} {
		svc, err := state.Do[*state.Service](ctx, s, &state.CreateService{Service: &state.Service{Account: "1", Region: "r", Cluster: "c", Name: name}})
		if err != nil {
			t.Fatal(err)
		}
		n := svc.Copy()
		n.Status, n.InactiveAt = state.ServiceInactive, at
		if _, err := s.Apply(ctx, &state.PutService{Service: n, ModifyIndex: svc.ModifyIndex}); err != nil {
			t.Fatal(err)
		}
	}
	gc := &TaskGC{Store: s, Retention: time.Hour, Interval: time.Hour, Now: func() time.Time { return now }}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- gc.Run(cctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for (s.Snapshot().Task(state.Key("1", "r", "c", "old")) != nil || s.Snapshot().Service(state.Key("1", "r", "c", "gone")) != nil) &&
		time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if s.Snapshot().Task(state.Key("1", "r", "c", "old")) != nil || s.Snapshot().Task(state.Key("1", "r", "c", "recent")) == nil {
		t.Errorf("after GC: old task still there, or recent task gone")
	}
	if s.Snapshot().Service(state.Key("1", "r", "c", "gone")) != nil || s.Snapshot().Service(state.Key("1", "r", "c", "recent")) == nil {
		t.Errorf("after GC: service deleted 2h ago still there, or the one deleted a minute ago gone")
	}
}
