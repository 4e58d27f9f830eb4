package state

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/errdefs"
)

func setupInstance(t *testing.T, s *Store) *ContainerInstance {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Apply(ctx, &CreateCluster{Cluster: newCluster("c")}); err != nil {
		t.Fatal(err)
	}
	inst, err := Do[*ContainerInstance](ctx, s, &RegisterContainerInstance{Instance: &ContainerInstance{
		Account: "000000000000", Region: "us-east-1", Cluster: "c", InstanceID: "i1", Status: InstanceActive,
		RegisteredResources: []Resource{
			{Name: "CPU", Type: "INTEGER", IntegerValue: 1024},
			{Name: "MEMORY", Type: "INTEGER", IntegerValue: 512},
			{Name: "PORTS", Type: "STRINGSET", StringSetValue: []string{"22"}},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func newTask(inst *ContainerInstance, id string, cpu, mem int64, ports ...int32) *Task {
	return &Task{Account: inst.Account, Region: inst.Region, Cluster: inst.Cluster, TaskID: id, InstanceKey: inst.ID,
		CPU: cpu, Memory: mem, PortsTCP: ports, LastStatus: TaskProvisioning, DesiredStatus: TaskRunning}
}

func TestRunTasksAccounting(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	defer s.Close()
	inst := setupInstance(t, s)

	if _, err := s.Apply(ctx, &RunTasks{Tasks: []*Task{newTask(inst, "a", 512, 256, 80), newTask(inst, "b", 512, 128)}}); err != nil {
		t.Fatalf("RunTasks within capacity: %v", err)
	}
	for _, tc := range []struct {
		name   string
		task   *Task
		reason string
	}{
		{"cpu", newTask(inst, "x", 1, 1), "RESOURCE:CPU"},
		{"port in use", newTask(inst, "y", 0, 1, 80), "RESOURCE:PORTS"},
		{"reserved port", newTask(inst, "z", 0, 1, 22), "RESOURCE:PORTS"},
		{"memory", newTask(inst, "m", 0, 200), "RESOURCE:MEMORY"},
	} {
		_, err := s.Apply(ctx, &RunTasks{Tasks: []*Task{tc.task}})
		e, ok := errdefs.As(err)
		if !ok || !errors.Is(err, errdefs.ErrConflict) || e.Reason != tc.reason {
			t.Errorf("RunTasks(%s) = %v; want conflict %s", tc.name, err, tc.reason)
		}
	}
	if u := s.Snapshot().InstanceUsage(inst.ID); u.CPU != 1024 || u.Memory != 384 || u.Tasks != 2 {
		t.Errorf("usage = %+v; want cpu 1024, memory 384, 2 tasks", u)
	}

	// A stopped task releases what it held.
	rep := s.Snapshot().Task(Key(inst.Account, inst.Region, "c", "a")).Copy()
	rep.LastStatus = TaskStopped
	if _, err := s.Apply(ctx, &ReportTask{InstanceKey: inst.ID, Seq: 1, Task: rep}); err != nil {
		t.Fatal(err)
	}
	if u := s.Snapshot().InstanceUsage(inst.ID); u.CPU != 512 || u.Tasks != 1 {
		t.Errorf("usage after stop = %+v; want cpu 512, 1 task", u)
	}
}

func TestRunTasksClientToken(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	defer s.Close()
	inst := setupInstance(t, s)
	tok := Key(inst.Account, inst.Region, "RunTask", "tok")
	first, err := Do[[]*Task](ctx, s, &RunTasks{Tasks: []*Task{newTask(inst, "a", 1, 1)}, TokenKey: tok, RequestHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := Do[[]*Task](ctx, s, &RunTasks{Tasks: []*Task{newTask(inst, "b", 1, 1)}, TokenKey: tok, RequestHash: "h"})
	if err != nil || len(again) != 1 || again[0].TaskID != first[0].TaskID {
		t.Fatalf("repeat with token = %v, %v; want the first task back", again, err)
	}
	if s.Snapshot().Task(Key(inst.Account, inst.Region, "c", "b")) != nil {
		t.Error("repeat with token started a second task")
	}
	if _, err := s.Apply(ctx, &RunTasks{Tasks: []*Task{newTask(inst, "c", 1, 1)}, TokenKey: tok, RequestHash: "other"}); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("token reused with other parameters = %v; want ErrInvalidArgument", err)
	}
}

func TestReportTaskOrdering(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	defer s.Close()
	inst := setupInstance(t, s)
	if _, err := s.Apply(ctx, &RunTasks{Tasks: []*Task{newTask(inst, "a", 1, 1)}}); err != nil {
		t.Fatal(err)
	}
	key := Key(inst.Account, inst.Region, "c", "a")
	report := func(seq uint64, status string) *Task {
		r := s.Snapshot().Task(key).Copy()
		r.LastStatus = status
		got, err := Do[*Task](ctx, s, &ReportTask{InstanceKey: inst.ID, Seq: seq, Task: r})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := report(2, TaskRunning); got.LastStatus != TaskRunning {
		t.Fatalf("report RUNNING = %s", got.LastStatus)
	}
	if got := report(1, TaskStopped); got.LastStatus != TaskRunning {
		t.Errorf("a stale report (seq 1 after 2) changed the task to %s", got.LastStatus)
	}
	if got := report(3, TaskPending); got.LastStatus != TaskRunning {
		t.Errorf("a report moved the task backwards to %s", got.LastStatus)
	}
	got := report(4, TaskStopped)
	if got.LastStatus != TaskStopped || got.DesiredStatus != TaskStopped {
		t.Errorf("report STOPPED = %s/%s; want STOPPED/STOPPED", got.LastStatus, got.DesiredStatus)
	}
	if _, err := s.Apply(ctx, &ReportTask{InstanceKey: "other", Seq: 9, Task: got}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("report from another instance = %v; want ErrNotFound", err)
	}
}

func TestDeleteClusterRefusesWhileInUse(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	defer s.Close()
	inst := setupInstance(t, s)
	_, err := s.Apply(ctx, &DeleteCluster{Account: inst.Account, Region: inst.Region, Name: "c"})
	if e, ok := errdefs.As(err); !ok || e.Reason != ReasonContainsInstances {
		t.Fatalf("DeleteCluster with an instance = %v; want %s", err, ReasonContainsInstances)
	}
	n := inst.Copy()
	n.Status = InstanceInactive
	if _, err := s.Apply(ctx, &PutContainerInstance{Instance: n, ModifyIndex: inst.ModifyIndex}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, &StopTask{TaskKey: "nope", At: time.Now()}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("StopTask(unknown) = %v; want ErrNotFound", err)
	}
	if _, err := s.Apply(ctx, &DeleteCluster{Account: inst.Account, Region: inst.Region, Name: "c"}); err != nil {
		t.Errorf("DeleteCluster after the instance is INACTIVE = %v", err)
	}
}

func TestInstancesByEC2ID(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	defer s.Close()
	setupInstance(t, s) // no EC2 instance id
	for _, in := range []struct{ id, ec2 string }{{"i2", "i-0abc"}, {"i3", "i-0def"}, {"i4", "i-0abc"}} {
		if _, err := s.Apply(ctx, &RegisterContainerInstance{Instance: &ContainerInstance{
			Account: "000000000000", Region: "us-east-1", Cluster: "c", InstanceID: in.id, EC2InstanceID: in.ec2, Status: InstanceActive,
		}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		ec2  string
		want []string
	}{{"i-0abc", []string{"i2", "i4"}}, {"i-0def", []string{"i3"}}, {"i-0zzz", nil}, {"", nil}} {
		var got []string
		for i := range s.Snapshot().InstancesByEC2ID(tc.ec2) {
			got = append(got, i.InstanceID)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("InstancesByEC2ID(%q) = %v; want %v", tc.ec2, got, tc.want)
		}
	}
}
