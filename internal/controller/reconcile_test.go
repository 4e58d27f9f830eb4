package controller

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/state"
	"github.com/berthhq/berth/internal/taskdef"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

var testTiming = Timing{
	HealthyAfter: 40 * time.Second, AgentGrace: 30 * time.Second, InstanceLostAfter: 2 * time.Minute,
	ThrottleBase: 5 * time.Second, ThrottleMax: 15 * time.Minute, SteadyRepeat: 6 * time.Hour,
}

// world is a small fake cluster for Reconcile.
type world struct {
	w      *World
	n      int
	silent map[string]bool // instances whose agents stopped heartbeating
	others []*state.Task   // other services' tasks
}

// tick lets time pass; agents not marked silent keep heartbeating.
func (w *world) tick(d time.Duration) {
	w.w.Now = w.w.Now.Add(d)
	for _, iv := range w.w.Instances {
		if !w.silent[iv.Inst.ID] {
			iv.Inst.LastHeartbeat = w.w.Now
		}
	}
	w.refresh()
}

func newWorld(desired int32, minPct, maxPct int32, instances int) *world {
	cl := &state.Cluster{Account: "000000000000", Region: "us-east-1", Name: "default",
		ARN: "arn:aws:ecs:us-east-1:000000000000:cluster/default"}
	svc := &state.Service{
		ID: state.Key(cl.Account, cl.Region, cl.Name, "web"), Account: cl.Account, Region: cl.Region, Cluster: cl.Name,
		Name: "web", Status: state.ServiceActive, DesiredCount: desired, SchedulingStrategy: state.SchedulingReplica,
		DeploymentConfiguration: state.DeploymentConfiguration{MaximumPercent: maxPct, MinimumHealthyPercent: minPct},
	}
	w := &world{w: &World{Now: t0, Service: svc, Cluster: cl, Defs: map[string]*state.TaskDefinition{}, Timing: testTiming},
		silent: map[string]bool{}}
	for i := range instances {
		w.addInstance(fmt.Sprintf("us-east-1%c", 'a'+i%3))
	}
	w.deploy(w.def(1, false))
	return w
}

func (w *world) def(rev int32, healthCheck bool) string {
	cpu := int32(256)
	mem := int32(256)
	cd := taskdef.ContainerDefinition{Name: "app", Image: "testapp:latest", CPU: cpu, Memory: &mem}
	if healthCheck {
		cd.HealthCheck = &taskdef.HealthCheck{Command: []string{"CMD", "true"}}
	}
	arn := fmt.Sprintf("arn:aws:ecs:us-east-1:000000000000:task-definition/app:%d", rev)
	d := &state.TaskDefinition{Family: "app", Revision: rev, ARN: arn, Status: state.TaskDefActive,
		Body: &taskdef.TaskDefinition{Family: "app", ContainerDefinitions: []taskdef.ContainerDefinition{cd}}}
	w.w.Defs[arn] = d
	return arn
}

// deploy starts a new PRIMARY deployment of arn, as UpdateService does.
func (w *world) deploy(arn string) *state.Deployment {
	s := w.w.Service
	for i := range s.Deployments {
		s.Deployments[i].Status = state.DeploymentActive
	}
	w.n++
	d := state.Deployment{ID: fmt.Sprintf("ecs-svc/%019d", w.n), Status: state.DeploymentPrimary, TaskDefinition: arn,
		DesiredCount: s.DesiredCount, RolloutState: state.RolloutInProgress, CreatedAt: w.w.Now}
	s.Deployments = append([]state.Deployment{d}, s.Deployments...)
	s.TaskDefinition = arn
	return &s.Deployments[0]
}

func (w *world) addInstance(az string) *InstanceView {
	n := len(w.w.Instances)
	inst := &state.ContainerInstance{
		ID: fmt.Sprintf("i%02d", n), InstanceID: fmt.Sprintf("inst%02d", n),
		ARN:    fmt.Sprintf("arn:aws:ecs:us-east-1:000000000000:container-instance/default/inst%02d", n),
		Status: state.InstanceActive, LastHeartbeat: w.w.Now,
		RegisteredResources: []state.Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: 2048}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 4096}},
		Attributes:          []state.Attribute{{Name: "ecs.availability-zone", Value: az}},
	}
	iv := &InstanceView{Inst: inst}
	w.w.Instances = append(w.w.Instances, iv)
	w.refresh()
	return iv
}

// refresh recomputes the instances' placement view from the tasks.
func (w *world) refresh() {
	for _, iv := range w.w.Instances {
		c := placement.Candidate{Key: iv.Inst.ID, ARN: iv.Inst.ARN,
			Eligible: iv.Inst.Status == state.InstanceActive && w.w.Now.Sub(iv.Inst.LastHeartbeat) < testTiming.AgentGrace,
			CPU:      iv.Inst.Integer("CPU"), Memory: iv.Inst.Integer("MEMORY"),
			PortsTCP: map[int32]bool{}, PortsUDP: map[int32]bool{}, Groups: map[string]int{},
			Query: &placement.Instance{Attributes: map[string]string{}}}
		for _, a := range iv.Inst.Attributes {
			c.Query.Attributes[a.Name] = a.Value
		}
		for _, t := range append(append([]*state.Task(nil), w.w.Tasks...), w.others...) {
			if t.InstanceKey == iv.Inst.ID && t.Active() {
				c.UsedCPU += t.CPU
				c.UsedMemory += t.Memory
				c.Groups[t.Group]++
			}
		}
		iv.Cand = c
		iv.Heard, iv.SilentSince = iv.Inst.LastHeartbeat, iv.Inst.LastHeartbeat
		iv.Lost = w.w.Now.Sub(iv.Inst.LastHeartbeat) > testTiming.InstanceLostAfter
	}
}

// task adds a task of deployment d on instance i in status st; running
// tasks started `age` ago.
func (w *world) task(d *state.Deployment, inst int, st string, age time.Duration) *state.Task {
	w.n++
	iv := w.w.Instances[inst]
	t := &state.Task{ID: fmt.Sprintf("t%03d", w.n), TaskID: fmt.Sprintf("t%03d", w.n), InstanceKey: iv.Inst.ID, InstanceARN: iv.Inst.ARN,
		TaskDefinitionARN: d.TaskDefinition, LastStatus: st, DesiredStatus: state.TaskRunning, CPU: 256, Memory: 256,
		Group: "service:web", ServiceKey: w.w.Service.ID, DeploymentID: d.ID, CreatedAt: w.w.Now.Add(-age)}
	if st == state.TaskRunning {
		t.StartedAt = w.w.Now.Add(-age)
	}
	w.w.Tasks = append(w.w.Tasks, t)
	w.refresh()
	return t
}

// apply applies a plan to the world as the store would, and lets time pass.
func (w *world) apply(p Plan, advance time.Duration) {
	if p.Service != nil {
		w.w.Service = p.Service
	}
	for _, s := range p.Stop {
		for _, t := range w.w.Tasks {
			if t.ID == s.TaskKey {
				t.DesiredStatus = state.TaskStopped
				t.StopCode, t.StoppedReason = s.StopCode, s.Reason
				if s.Now {
					t.LastStatus = state.TaskStopped
				}
			}
		}
	}
	for _, key := range p.Accounted {
		for _, t := range w.w.Tasks {
			if t.ID == key {
				t.Accounted = true
			}
		}
	}
	w.w.Tasks = append(w.w.Tasks, p.Start...)
	w.tick(advance)
}

// settle plays the agent: stopping tasks stop, new tasks start running.
func (w *world) settle() {
	for _, t := range w.w.Tasks {
		switch {
		case t.LastStatus == state.TaskStopped:
		case t.DesiredStatus == state.TaskStopped:
			t.LastStatus = state.TaskStopped
		case t.LastStatus != state.TaskRunning:
			t.LastStatus, t.StartedAt = state.TaskRunning, w.w.Now
		}
	}
	w.refresh()
}

func (w *world) count(dep string, pred func(*state.Task) bool) int {
	n := 0
	for _, t := range w.w.Tasks {
		if (dep == "" || t.DeploymentID == dep) && pred(t) {
			n++
		}
	}
	return n
}

func live(t *state.Task) bool {
	return t.LastStatus != state.TaskStopped && t.DesiredStatus != state.TaskStopped
}

func lastEvent(s *state.Service) string {
	if len(s.Events) == 0 {
		return ""
	}
	return s.Events[0].Message
}

func TestReconcileNewServiceSpreadsAcrossZones(t *testing.T) {
	w := newWorld(3, 100, 200, 3)
	w.addInstance("us-east-1a") // zone a has two instances
	p := Reconcile(w.w)
	if len(p.Start) != 3 {
		t.Fatalf("Reconcile started %d tasks; want 3", len(p.Start))
	}
	zones := map[string]int{}
	for _, task := range p.Start {
		for _, iv := range w.w.Instances {
			if iv.Inst.ID == task.InstanceKey {
				zones[iv.Cand.Query.Attributes["ecs.availability-zone"]]++
			}
		}
		if task.Group != "service:web" || task.StartedBy != w.w.Service.Deployments[0].ID || task.ServiceKey != w.w.Service.ID {
			t.Errorf("task group %q startedBy %q service %q; want service:web, the deployment id, the service", task.Group, task.StartedBy, task.ServiceKey)
		}
	}
	if len(zones) != 3 {
		t.Errorf("tasks by zone = %v; want one in each of 3 zones", zones)
	}
}

func TestReconcileRollingDeployment(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		desired, minPct, maxPct int32
		wantFirstStarts         int
		wantFirstStops          int
	}{
		{"max 200 starts all new first", 4, 100, 200, 4, 0},
		{"min 50 max 100 stops half first", 4, 50, 100, 0, 2},
		{"min 75 max 125", 4, 75, 125, 1, 1},
		{"min 0 max 100 stops all first", 3, 0, 100, 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(tc.desired, tc.minPct, tc.maxPct, 3)
			old := w.w.Service.Deployments[0]
			for i := range int(tc.desired) {
				w.task(&old, i%3, state.TaskRunning, time.Hour)
			}
			w.w.Service.Deployments[0].RolloutState = state.RolloutCompleted
			nd := w.deploy(w.def(2, false)).ID
			p := Reconcile(w.w)
			if len(p.Start) != tc.wantFirstStarts || len(p.Stop) != tc.wantFirstStops {
				t.Fatalf("first step: %d starts, %d stops; want %d, %d", len(p.Start), len(p.Stop), tc.wantFirstStarts, tc.wantFirstStops)
			}
			// Play it out: each round the agent settles and tasks turn healthy.
			for round := 0; round < 30; round++ {
				w.apply(p, 0)
				w.settle()
				w.tick(time.Minute)
				p = Reconcile(w.w)
				if p.Empty() {
					break
				}
			}
			if got := w.count(nd, live); got != int(tc.desired) {
				t.Errorf("new deployment has %d live tasks; want %d", got, tc.desired)
			}
			if got := w.count(old.ID, live); got != 0 {
				t.Errorf("old deployment has %d live tasks; want 0", got)
			}
			s := w.w.Service
			if len(s.Deployments) != 1 || s.Deployments[0].RolloutState != state.RolloutCompleted {
				t.Fatalf("deployments = %+v; want one COMPLETED", s.Deployments)
			}
			if want := fmt.Sprintf("ECS deployment %s completed.", nd); s.Deployments[0].RolloutStateReason != want {
				t.Errorf("rolloutStateReason = %q; want %q", s.Deployments[0].RolloutStateReason, want)
			}
			if lastEvent(s) != "service (web) has reached a steady state." {
				t.Errorf("last event = %q; want the steady state", lastEvent(s))
			}
			if len(s.Past) != 1 || s.Past[0].ID != old.ID || s.Past[0].Status != state.DeploymentInactive {
				t.Errorf("past = %+v; want the old deployment INACTIVE", s.Past)
			}
		})
	}
}

func TestReconcileMinMaxHundredIsStuck(t *testing.T) {
	w := newWorld(2, 100, 100, 2)
	old := w.w.Service.Deployments[0]
	w.task(&old, 0, state.TaskRunning, time.Hour)
	w.task(&old, 1, state.TaskRunning, time.Hour)
	w.deploy(w.def(2, false))
	p := Reconcile(w.w)
	if len(p.Start) != 0 || len(p.Stop) != 0 {
		t.Fatalf("%d starts, %d stops; want none", len(p.Start), len(p.Stop))
	}
	want := "service web was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."
	if p.Service == nil || lastEvent(p.Service) != want {
		t.Fatalf("event = %q; want %q", lastEvent(p.Service), want)
	}
	w.apply(p, time.Second)
	if p := Reconcile(w.w); !p.Empty() {
		t.Errorf("second reconcile of a stuck service = %+v; want no change (no spinning)", p)
	}
}

func TestReconcileUnplaceableSaysWhyOnce(t *testing.T) {
	w := newWorld(3, 100, 200, 1)
	w.w.Instances[0].Inst.RegisteredResources[0].IntegerValue = 300 // room for one 256-unit task
	w.refresh()
	p := Reconcile(w.w)
	if len(p.Start) != 1 {
		t.Fatalf("started %d; want 1", len(p.Start))
	}
	want := "service web was unable to place a task because no container instance met all of its requirements. The closest matching container-instance inst00 has insufficient CPU units available."
	if p.Service == nil || lastEvent(p.Service) != want {
		t.Fatalf("event = %q; want %q", lastEvent(p.Service), want)
	}
	w.apply(p, time.Second)
	p = Reconcile(w.w)
	if len(p.Start) != 0 || p.Service != nil {
		t.Errorf("second reconcile = %d starts, service changed %v; want nothing (no spinning)", len(p.Start), p.Service != nil)
	}
}

func TestReconcileNoInstances(t *testing.T) {
	w := newWorld(1, 100, 200, 0)
	p := Reconcile(w.w)
	want := "service web was unable to place a task because no container instance met all of its requirements."
	if len(p.Start) != 0 || p.Service == nil || lastEvent(p.Service) != want {
		t.Fatalf("plan: %d starts, event %q; want none and %q", len(p.Start), lastEvent(p.Service), want)
	}
}

func TestReconcileThrottleAndCircuitBreakerRollback(t *testing.T) {
	w := newWorld(1, 100, 200, 2)
	w.w.Service.DeploymentConfiguration.CircuitBreaker = &state.CircuitBreaker{Enable: true, Rollback: true}
	good := w.w.Service.Deployments[0]
	w.task(&good, 0, state.TaskRunning, time.Hour)
	w.w.Service.Deployments[0].RolloutState = state.RolloutCompleted
	bad := w.deploy(w.def(2, false)).ID
	var failures int
	for round := 0; round < 40 && failures < 3; round++ {
		p := Reconcile(w.w)
		w.apply(p, 0)
		// Every new task fails to start.
		for _, task := range w.w.Tasks {
			if task.DeploymentID == bad && task.LastStatus != state.TaskStopped {
				task.LastStatus, task.DesiredStatus = state.TaskStopped, state.TaskStopped
				task.StopCode, task.StoppedReason = "TaskFailedToStart", "CannotPullContainerError: no such image"
				failures++
			}
		}
		w.refresh()
		p = Reconcile(w.w)
		if failures > 0 && failures < 3 && p.Service != nil && !p.Service.NextLaunchAt.After(w.w.Now) {
			t.Fatalf("after %d failures NextLaunchAt = %v; want a back-off after now %v", failures, p.Service.NextLaunchAt, w.w.Now)
		}
		w.apply(p, 0)
		if len(p.Start) > 0 {
			t.Fatalf("a launch right after a failure (round %d); want the back-off to hold it", round)
		}
		w.tick(time.Minute)
	}
	p := Reconcile(w.w)
	w.apply(p, 0)
	s := w.w.Service
	var failed state.Deployment
	for _, d := range append(append([]state.Deployment(nil), s.Deployments...), s.Past...) {
		if d.ID == bad {
			failed = d
		}
	}
	rb := s.Deployments[0]
	if failed.ID != bad || failed.RolloutState != state.RolloutFailed || failed.RolloutStateReason != "ECS deployment circuit breaker: task failed to start." || failed.FailedTasks != 3 {
		t.Errorf("failed deployment = %+v; want FAILED after 3 failed tasks", failed)
	}
	if rb.Status != state.DeploymentPrimary || rb.TaskDefinition != good.TaskDefinition ||
		rb.RolloutStateReason != fmt.Sprintf("ECS deployment circuit breaker: rolling back to deploymentId %s.", good.ID) {
		t.Errorf("rollback deployment = %+v; want PRIMARY of %s", rb, good.TaskDefinition)
	}
	if !strings.Contains(eventsText(s), "service (web) is unable to consistently start tasks successfully.") {
		t.Errorf("events = %s; want the start-impaired event", eventsText(s))
	}
}

func eventsText(s *state.Service) string {
	var b strings.Builder
	for _, e := range s.Events {
		b.WriteString(e.Message + "\n")
	}
	return b.String()
}

func TestBreakerThreshold(t *testing.T) {
	for _, tc := range []struct{ desired, want int32 }{{1, 3}, {5, 3}, {6, 3}, {7, 4}, {25, 13}, {400, 200}, {1000, 200}} {
		if got := breakerThreshold(tc.desired); got != tc.want {
			t.Errorf("breakerThreshold(%d) = %d; want %d", tc.desired, got, tc.want)
		}
	}
}

func TestReconcileDrainingInstance(t *testing.T) {
	w := newWorld(2, 50, 100, 3)
	d := w.w.Service.Deployments[0]
	w.task(&d, 0, state.TaskRunning, time.Hour)
	w.task(&d, 1, state.TaskRunning, time.Hour)
	w.w.Service.Deployments[0].RolloutState = state.RolloutCompleted
	w.w.Instances[0].Inst.Status = state.InstanceDraining
	w.refresh()
	for range 10 {
		p := Reconcile(w.w)
		if p.Empty() {
			break
		}
		for _, s := range p.Stop {
			if !strings.Contains(s.Reason, "draining") {
				t.Errorf("stop reason %q; want it to name draining", s.Reason)
			}
		}
		for _, task := range p.Start {
			if task.InstanceKey == w.w.Instances[0].Inst.ID {
				t.Errorf("a task placed on the draining instance")
			}
		}
		w.apply(p, 0)
		w.settle()
		w.tick(time.Minute)
	}
	if n := w.count("", func(t *state.Task) bool { return live(t) && t.InstanceKey == "i00" }); n != 0 {
		t.Errorf("%d tasks left on the draining instance; want 0", n)
	}
	if n := w.count("", live); n != 2 {
		t.Errorf("%d live tasks; want 2", n)
	}
}

func TestReconcileLostInstance(t *testing.T) {
	w := newWorld(2, 100, 200, 3)
	d := w.w.Service.Deployments[0]
	lostTask := w.task(&d, 0, state.TaskRunning, time.Hour)
	w.task(&d, 1, state.TaskRunning, time.Hour)
	w.silent["i00"] = true
	w.tick(time.Minute) // silent, not yet lost
	p := Reconcile(w.w)
	if len(p.Start) != 0 || len(p.Stop) != 0 {
		t.Fatalf("a disconnected instance's tasks were touched before it was lost: %+v", p)
	}
	// It looks again when the silent agent counts as lost, or sooner when a
	// connected one would fall silent (heartbeats are not in the store).
	want := w.w.Instances[0].Inst.LastHeartbeat.Add(testTiming.InstanceLostAfter)
	if fallsSilent := w.w.Instances[1].Heard.Add(testTiming.AgentGrace); fallsSilent.Before(want) {
		want = fallsSilent
	}
	if p.Wake.Before(want) || p.Wake.After(want.Add(time.Second)) {
		t.Errorf("Wake = %v; want about %v", p.Wake, want)
	}
	w.tick(2 * time.Minute)
	p = Reconcile(w.w)
	if len(p.Stop) != 1 || p.Stop[0].TaskKey != lostTask.ID || p.Stop[0].Now {
		t.Fatalf("stops = %+v; want the lost task asked to stop (not marked stopped)", p.Stop)
	}
	if len(p.Start) != 1 || p.Start[0].InstanceKey == "i00" {
		t.Fatalf("starts = %d; want one replacement on another instance", len(p.Start))
	}
	w.apply(p, time.Second)
	// The agent comes back: the superseded task is still stopping, nothing more starts.
	delete(w.silent, "i00")
	w.tick(time.Second)
	if p := Reconcile(w.w); len(p.Start) != 0 {
		t.Errorf("after the agent returned: %d starts; want 0", len(p.Start))
	}
}

func TestReconcileDeregisteredInstance(t *testing.T) {
	w := newWorld(1, 100, 200, 2)
	d := w.w.Service.Deployments[0]
	gone := w.task(&d, 0, state.TaskRunning, time.Hour)
	w.w.Instances[0].Inst.Status = state.InstanceInactive
	w.refresh()
	p := Reconcile(w.w)
	if len(p.Stop) != 1 || p.Stop[0].TaskKey != gone.ID || !p.Stop[0].Now {
		t.Fatalf("stops = %+v; want the task marked STOPPED now", p.Stop)
	}
	if len(p.Start) != 1 || p.Start[0].InstanceKey != "i01" {
		t.Fatalf("starts = %+v; want a replacement on i01", p.Start)
	}
}

func TestReconcileUnhealthyTaskReplacedAfterGrace(t *testing.T) {
	w := newWorld(1, 100, 200, 2)
	w.w.Service.HealthCheckGracePeriodSeconds = 60
	arn := w.def(2, true)
	d := w.deploy(arn)
	task := w.task(d, 0, state.TaskRunning, 30*time.Second)
	task.HealthStatus = "UNHEALTHY"
	p := Reconcile(w.w)
	if len(p.Stop) != 0 {
		t.Fatalf("stopped during the grace period: %+v", p.Stop)
	}
	if want := task.StartedAt.Add(time.Minute); !p.Wake.Equal(want) {
		t.Errorf("Wake = %v; want end of grace %v", p.Wake, want)
	}
	w.tick(31 * time.Second)
	p = Reconcile(w.w)
	if len(p.Stop) != 1 || p.Stop[0].Reason != "Task failed container health checks" {
		t.Fatalf("stops = %+v; want the unhealthy task stopped", p.Stop)
	}
	if len(p.Start) != 1 {
		t.Errorf("starts = %d; want a replacement", len(p.Start))
	}
}

func TestReconcileDeleteDrainsThenInactive(t *testing.T) {
	w := newWorld(2, 100, 200, 2)
	d := w.w.Service.Deployments[0]
	w.task(&d, 0, state.TaskRunning, time.Hour)
	w.task(&d, 1, state.TaskRunning, time.Hour)
	w.w.Service.Status = state.ServiceDraining
	w.w.Service.DesiredCount = 0
	p := Reconcile(w.w)
	if len(p.Stop) != 2 {
		t.Fatalf("stops = %d; want 2", len(p.Stop))
	}
	w.apply(p, time.Second)
	if p := Reconcile(w.w); p.Service != nil && p.Service.Status == state.ServiceInactive {
		t.Fatalf("INACTIVE while tasks are still stopping")
	}
	w.settle()
	p = Reconcile(w.w)
	if p.Service == nil || p.Service.Status != state.ServiceInactive {
		t.Fatalf("status after the tasks stopped = %v; want INACTIVE", p.Service)
	}
}

func TestReconcileDaemon(t *testing.T) {
	w := newWorld(0, 0, 100, 3)
	w.w.Service.SchedulingStrategy = state.SchedulingDaemon
	p := Reconcile(w.w)
	if len(p.Start) != 3 {
		t.Fatalf("daemon starts = %d; want one per instance (3)", len(p.Start))
	}
	if p.Service == nil || p.Service.DesiredCount != 3 {
		t.Fatalf("daemon desiredCount not 3")
	}
	w.apply(p, 0)
	w.settle()
	// Another service's task on instance 0, which then drains: the daemon stops last.
	w.others = append(w.others, &state.Task{ID: "other", InstanceKey: "i00", Group: "service:other", LastStatus: state.TaskRunning, DesiredStatus: state.TaskRunning, CPU: 256, Memory: 256})
	w.w.Instances[0].Inst.Status = state.InstanceDraining
	w.refresh()
	p = Reconcile(w.w)
	if len(p.Stop) != 0 || len(p.Start) != 0 {
		t.Fatalf("daemon on a draining instance with other service tasks: %d stops %d starts; want none", len(p.Stop), len(p.Start))
	}
	if p.Service == nil || p.Service.DesiredCount != 2 {
		t.Errorf("desiredCount with one instance draining not 2")
	}
	w.apply(p, 0)
	w.others[0].LastStatus = state.TaskStopped // the other service's task left
	w.refresh()
	p = Reconcile(w.w)
	if len(p.Stop) != 1 {
		t.Fatalf("daemon stops = %d; want 1 once the draining instance is otherwise empty", len(p.Stop))
	}
	// A new instance gets a daemon task.
	w.apply(p, 0)
	w.settle()
	w.addInstance("us-east-1b")
	p = Reconcile(w.w)
	if len(p.Start) != 1 || p.Start[0].InstanceKey != "i03" {
		t.Fatalf("starts = %+v; want one on the new instance", p.Start)
	}
	// A new deployment replaces each daemon task in place: stop first (min 0, max 100).
	w.apply(p, 0)
	w.settle()
	w.deploy(w.def(2, false))
	p = Reconcile(w.w)
	if len(p.Stop) != 3 || len(p.Start) != 0 {
		t.Fatalf("new daemon deployment: %d stops %d starts; want 3 stops first", len(p.Stop), len(p.Start))
	}
	w.apply(p, 0)
	w.settle()
	p = Reconcile(w.w)
	if len(p.Start) != 3 {
		t.Fatalf("after the old daemon tasks stopped: %d starts; want 3", len(p.Start))
	}
}

func TestReconcileSteadyStateOnce(t *testing.T) {
	w := newWorld(1, 100, 200, 1)
	d := w.w.Service.Deployments[0]
	w.task(&d, 0, state.TaskRunning, time.Hour)
	p := Reconcile(w.w)
	w.apply(p, time.Minute)
	if lastEvent(w.w.Service) != "service (web) has reached a steady state." {
		t.Fatalf("event = %q; want the steady state", lastEvent(w.w.Service))
	}
	if p := Reconcile(w.w); !p.Empty() {
		t.Errorf("steady service reconciled again = %+v; want nothing", p)
	}
	w.tick(7 * time.Hour)
	if p := Reconcile(w.w); p.Service == nil || len(p.Service.Events) != 2 {
		t.Errorf("after 7h no repeated steady-state event")
	}
}

// TestReconcileActivityEvents: a scale-out says which tasks it started and
// a scale-in which it stopped, and the service reaches a steady state again
// after each, as ECS's events do.
func TestReconcileActivityEvents(t *testing.T) {
	w := newWorld(1, 100, 200, 2)
	d := w.w.Service.Deployments[0]
	w.task(&d, 0, state.TaskRunning, time.Hour)
	w.apply(Reconcile(w.w), time.Minute)
	if lastEvent(w.w.Service) != "service (web) has reached a steady state." {
		t.Fatalf("event = %q; want the steady state", lastEvent(w.w.Service))
	}

	w.w.Service.DesiredCount = 3
	p := Reconcile(w.w)
	if len(p.Start) != 2 {
		t.Fatalf("scale out to 3: %d starts; want 2", len(p.Start))
	}
	want := fmt.Sprintf("service (web) has started 2 tasks: (task %s) (task %s).", p.Start[0].TaskID, p.Start[1].TaskID)
	if p.Service == nil || lastEvent(p.Service) != want {
		t.Fatalf("event after scale out = %q; want %q", lastEvent(p.Service), want)
	}
	for round := 0; round < 5 && !p.Empty(); round++ {
		w.apply(p, 0)
		w.settle()
		w.tick(time.Minute)
		p = Reconcile(w.w)
	}
	if lastEvent(w.w.Service) != "service (web) has reached a steady state." {
		t.Fatalf("event after the scale out settled = %q; want the steady state again", lastEvent(w.w.Service))
	}

	w.w.Service.DesiredCount = 1
	p = Reconcile(w.w)
	if len(p.Stop) != 2 {
		t.Fatalf("scale in to 1: %d stops; want 2", len(p.Stop))
	}
	var ids []string
	for _, st := range p.Stop {
		ids = append(ids, "(task "+lastPart(st.TaskKey)+")")
	}
	want = fmt.Sprintf("service (web) has stopped 2 running tasks: %s.", strings.Join(ids, " "))
	if p.Service == nil || lastEvent(p.Service) != want {
		t.Fatalf("event after scale in = %q; want %q", lastEvent(p.Service), want)
	}
	for round := 0; round < 5 && !p.Empty(); round++ {
		w.apply(p, 0)
		w.settle()
		w.tick(time.Minute)
		p = Reconcile(w.w)
	}
	if lastEvent(w.w.Service) != "service (web) has reached a steady state." {
		t.Fatalf("event after the scale in settled = %q; want the steady state again", lastEvent(w.w.Service))
	}
}

func lastPart(key string) string {
	parts := state.KeyParts(key)
	return parts[len(parts)-1]
}

// TestReconcileBoundsProperty checks on random services and tasks that no
// step launches beyond maximumPercent or stops healthy tasks below
// minimumHealthyPercent (when the service was within them).
func TestReconcileBoundsProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for i := range 3000 {
		desired := int32(r.IntN(8))
		minPct := int32(r.IntN(101))
		maxPct := int32(100 + r.IntN(101))
		w := newWorld(desired, minPct, maxPct, 1+r.IntN(4))
		w.w.Rand = rand.New(rand.NewPCG(uint64(i), 1))
		deps := []state.Deployment{w.w.Service.Deployments[0]}
		if r.IntN(2) == 0 {
			deps = append(deps, *w.deploy(w.def(2, false)))
		}
		for range r.IntN(10) {
			d := deps[r.IntN(len(deps))]
			st := []string{state.TaskRunning, state.TaskRunning, state.TaskPending, state.TaskProvisioning}[r.IntN(4)]
			task := w.task(&d, r.IntN(len(w.w.Instances)), st, time.Duration(r.IntN(80))*time.Second)
			if r.IntN(6) == 0 {
				task.DesiredStatus = state.TaskStopped
			}
		}
		if r.IntN(4) == 0 {
			w.w.Instances[0].Inst.Status = state.InstanceDraining
			w.refresh()
		}
		maxTotal, minHealthy := bounds(int(desired), w.w.Service.DeploymentConfiguration)
		total, healthy := 0, 0
		healthyByID := map[string]bool{}
		for _, task := range w.w.Tasks {
			if task.LastStatus == state.TaskStopped {
				continue
			}
			total++
			if task.DesiredStatus != state.TaskStopped && task.LastStatus == state.TaskRunning && w.w.Now.Sub(task.StartedAt) >= testTiming.HealthyAfter {
				healthy++
				healthyByID[task.ID] = true
			}
		}
		p := Reconcile(w.w)
		if after := total + len(p.Start); len(p.Start) > 0 && after > maxTotal {
			t.Fatalf("case %d (desired %d min %d max %d): %d tasks + %d starts = %d > max %d", i, desired, minPct, maxPct, total, len(p.Start), after, maxTotal)
		}
		stoppedHealthy := 0
		for _, s := range p.Stop {
			if healthyByID[s.TaskKey] {
				stoppedHealthy++
			}
		}
		if stoppedHealthy > 0 && healthy-stoppedHealthy < minHealthy {
			t.Fatalf("case %d (desired %d min %d max %d): stopping %d of %d healthy leaves fewer than %d", i, desired, minPct, maxPct, stoppedHealthy, healthy, minHealthy)
		}
	}
}

// lbWorld is a world whose service sits behind one target group.
func lbWorld(desired int32) (*world, string) {
	w := newWorld(desired, 100, 200, 2)
	tg := "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123456789abcdef"
	w.w.Service.LoadBalancers = []state.LoadBalancer{{TargetGroupARN: tg, ContainerName: "app", ContainerPort: 8080}}
	w.w.Health = map[string][]TargetHealth{tg: nil}
	for i, iv := range w.w.Instances {
		iv.Inst.EC2InstanceID = fmt.Sprintf("i-%017d", i)
	}
	return w, tg
}

func bind(t *state.Task, port int32) {
	t.Containers = []state.TaskContainer{{Name: "app", NetworkBindings: []state.NetworkBinding{{ContainerPort: 8080, HostPort: port, Protocol: "tcp"}}}}
}

func TestReconcileLoadBalancer(t *testing.T) {
	w, tg := lbWorld(1)
	d := w.w.Service.Deployments[0]
	task := w.task(&d, 0, state.TaskRunning, time.Hour)
	bind(task, 32768)
	target := Target{ID: "i-00000000000000000", Port: 32768}

	p := Reconcile(w.w)
	if len(p.Register) != 1 || p.Register[0] != (TargetOp{TargetGroup: tg, Target: target}) {
		t.Fatalf("Register = %+v; want the task's instance at its host port", p.Register)
	}
	if want := "service (web) registered 1 targets in (target-group " + tg + ")"; p.Service == nil || lastEvent(p.Service) != want {
		t.Errorf("event = %q; want %q", lastEvent(p.Service), want)
	}
	if p.Service != nil && p.Service.Deployments[0].RolloutState == state.RolloutCompleted {
		t.Fatalf("the deployment completed before the target was healthy")
	}
	w.apply(p, time.Second)
	w.w.Health[tg] = []TargetHealth{{Target: target, State: "initial", Reason: "Elb.InitialHealthChecking"}}
	if p := Reconcile(w.w); len(p.Register) != 0 || (p.Service != nil && p.Service.Deployments[0].RolloutState == state.RolloutCompleted) {
		t.Fatalf("while initial: %+v; want no change", p)
	}
	w.w.Health[tg][0].State = "healthy"
	p = Reconcile(w.w)
	if p.Service == nil || p.Service.Deployments[0].RolloutState != state.RolloutCompleted {
		t.Fatalf("healthy target: deployment not COMPLETED")
	}
	w.apply(p, time.Second)

	// Scale in: the task leaves the group first and stops once released.
	w.w.Service.DesiredCount = 0
	p = Reconcile(w.w)
	if len(p.Deregister) != 1 || len(p.Stop) != 1 || !p.Stop[0].Deactivate {
		t.Fatalf("scale-in: deregister %+v stop %+v; want a deregistration and a deactivation", p.Deregister, p.Stop)
	}
	for _, want := range []string{"service (web) has begun draining connections on 1 tasks.", "service (web) deregistered 1 targets in (target-group " + tg + ")"} {
		if p.Service == nil || !strings.Contains(eventsText(p.Service), want) {
			t.Errorf("events at scale-in = %q; want %q", eventsText(p.Service), want)
		}
	}
	task.LastStatus = state.TaskDeactivating
	w.w.Health[tg][0].State = "draining"
	if p := Reconcile(w.w); len(p.Stop) != 0 {
		t.Fatalf("stopped while still draining: %+v", p.Stop)
	}
	w.w.Health[tg] = nil
	p = Reconcile(w.w)
	if len(p.Stop) != 1 || p.Stop[0].Deactivate || p.Stop[0].TaskKey != task.ID {
		t.Fatalf("after release: stops %+v; want the task stopped", p.Stop)
	}
	if want := "service (web) has stopped 1 running tasks: (task " + task.TaskID + ")."; p.Service == nil || lastEvent(p.Service) != want {
		t.Errorf("event after release = %q; want %q", lastEvent(p.Service), want)
	}
}

func TestReconcileUnhealthyTarget(t *testing.T) {
	w, tg := lbWorld(1)
	w.w.Service.HealthCheckGracePeriodSeconds = 30
	d := w.w.Service.Deployments[0]
	task := w.task(&d, 0, state.TaskRunning, 10*time.Second)
	bind(task, 32768)
	w.w.Health[tg] = []TargetHealth{{Target: Target{ID: "i-00000000000000000", Port: 32768}, State: "unhealthy",
		Reason: "Target.ResponseCodeMismatch", Description: "Health checks failed with these codes: [500]"}}
	if p := Reconcile(w.w); len(p.Stop) != 0 {
		t.Fatalf("stopped within the grace period: %+v", p.Stop)
	}
	w.tick(30 * time.Second)
	p := Reconcile(w.w)
	if len(p.Stop) != 1 || !p.Stop[0].Deactivate || !strings.HasPrefix(p.Stop[0].Reason, "Task failed ELB health checks in (target-group ") {
		t.Fatalf("stops = %+v; want the task deactivated for failing ELB checks", p.Stop)
	}
	want := "service (web) (instance i-00000000000000000) (port 32768) is unhealthy in (target-group " + tg + ") due to (reason Health checks failed with these codes: [500])."
	if p.Service == nil || !strings.Contains(eventsText(p.Service), want) {
		t.Errorf("events = %q; want %q", eventsText(p.Service), want)
	}
	if len(p.Start) != 1 {
		t.Errorf("starts = %d; want a replacement", len(p.Start))
	}
}
