package controller

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/state"
	"github.com/berthhq/berth/internal/taskdef"
)

// Stop codes and reasons the service scheduler gives the tasks it stops.
const (
	stopScheduler = "ServiceSchedulerInitiated"

	reasonDeployment     = "Scaling activity initiated by (deployment %s)" // scale-in and rollouts alike, as ECS says
	reasonDraining       = "Container instance %s is draining"
	reasonUnhealthy      = "Task failed container health checks"
	reasonInstanceLost   = "Container instance %s stopped reporting; task replaced elsewhere"
	reasonInstanceGone   = "Container instance %s was deregistered"
	reasonNotEligible    = "Container instance %s no longer satisfies the service's placement constraints"
	reasonServiceDeleted = "Service %s was deleted"
)

// Timing the reconcile logic needs; see ServicesConfig.
type Timing struct {
	// HealthyAfter is how long a task without container health checks must
	// be RUNNING to count healthy (ECS uses 40 s).
	HealthyAfter time.Duration
	// AgentGrace is how long after its last heartbeat an agent counts as
	// connected; InstanceLostAfter how long before its service tasks are
	// replaced elsewhere.
	AgentGrace        time.Duration
	InstanceLostAfter time.Duration
	// ThrottleBase and ThrottleMax bound the back-off between launches of a
	// service whose tasks keep failing to start.
	ThrottleBase time.Duration
	ThrottleMax  time.Duration
	// SteadyRepeat is how often a steady service says so again.
	SteadyRepeat time.Duration
}

// InstanceView is an instance of the service's cluster as the controller
// sees it.
type InstanceView struct {
	Inst *state.ContainerInstance
	// Cand is what placement sees: Eligible when ACTIVE and connected.
	Cand placement.Candidate
	// Lost is true when the agent has been silent beyond InstanceLostAfter.
	Lost bool
	// Heard is when the agent was last heard from; SilentSince is when its
	// silence counts from for Lost (no earlier than the server's start).
	Heard, SilentSince time.Time
}

// World is everything one reconcile of one service looks at.
type World struct {
	Now       time.Time
	Service   *state.Service
	Cluster   *state.Cluster
	Tasks     []*state.Task // every task the service started, any status
	Instances []*InstanceView
	// Defs are the task definitions of the service's deployments by ARN.
	Defs   map[string]*state.TaskDefinition
	Timing Timing
	// Rand breaks placement ties and makes deployment ids; nil means
	// deterministic choices (tests).
	Rand *rand.Rand
	// Health is the target health of each target group the service's
	// loadBalancers name, by target group ARN; a group missing from the map
	// does not exist (any more).
	Health map[string][]TargetHealth
}

// Target is a load balancer target: an EC2 instance id and a port.
type Target struct {
	ID   string
	Port int32
}

// TargetHealth is a target's state in its target group: initial, healthy,
// unhealthy, unused, draining or unavailable, with ELB's reason.
type TargetHealth struct {
	Target
	State, Reason, Description string
}

// TargetOp is a target to register with or deregister from a group.
type TargetOp struct {
	TargetGroup string
	Target
}

// Plan is what one reconcile decided.
type Plan struct {
	// Service is the service's new record, or nil when unchanged.
	Service   *state.Service
	Start     []*state.Task
	Stop      []state.TaskStop
	Accounted []string
	// Register and Deregister are load balancer target changes, made before
	// the rest of the plan is written.
	Register, Deregister []TargetOp
	// Wake is when time alone would change the decision (a task turning
	// healthy, a back-off ending, an agent becoming lost); zero for never.
	Wake time.Time
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool {
	return p.Service == nil && len(p.Start) == 0 && len(p.Stop) == 0 && len(p.Accounted) == 0 &&
		len(p.Register) == 0 && len(p.Deregister) == 0
}

// liveTask is a task of the service that is meant to keep running.
type liveTask struct {
	t        *state.Task
	inst     *InstanceView
	dep      *state.Deployment // nil: a deployment that is gone
	running  bool
	healthy  bool
	draining bool // on a DRAINING instance
	// lbHealthy: every target of the task passes its group's health check.
	lbHealthy bool
}

type reconciler struct {
	w       *World
	svc     *state.Service
	changed bool
	plan    Plan
	insts   map[string]*InstanceView
	stopped map[string]bool // tasks this plan stops
	events  []string
	// The running tasks this plan stops, and those it first drains from
	// their target groups, by task id: for the service's events.
	stoppedRunning, draining []string
}

// Reconcile decides one step for one service. It is pure: everything it
// needs is in w, and it changes nothing in w.
func Reconcile(w *World) Plan {
	r := &reconciler{w: w, svc: w.Service.Copy(), insts: map[string]*InstanceView{}, stopped: map[string]bool{}}
	for _, iv := range w.Instances {
		r.insts[iv.Inst.ID] = iv
	}
	r.account()
	live, stopping := r.classify()
	if r.svc.SchedulingStrategy == state.SchedulingDaemon {
		r.daemon(live, stopping)
	} else {
		r.replica(live, stopping)
	}
	r.finish(live, stopping)
	if r.changed {
		r.plan.Service = r.svc
	}
	return r.plan
}

func (r *reconciler) wake(at time.Time) {
	if at.After(r.w.Now) && (r.plan.Wake.IsZero() || at.Before(r.plan.Wake)) {
		r.plan.Wake = at
	}
}

func (r *reconciler) deployment(id string) *state.Deployment {
	for i := range r.svc.Deployments {
		if r.svc.Deployments[i].ID == id {
			return &r.svc.Deployments[i]
		}
	}
	return nil
}

// failed reports whether a STOPPED task failed on its own (not stopped by
// the scheduler or a user) and whether it never reached RUNNING.
func failed(t *state.Task) (failure, neverRan bool) {
	switch t.StopCode {
	case "EssentialContainerExited", "TaskFailedToStart":
		return true, t.StartedAt.IsZero()
	}
	return false, false
}

// account counts, once each, the tasks that stopped by failing: toward their
// deployment's failedTasks (the circuit breaker) and, when they never ran,
// toward the start-failure back-off.
func (r *reconciler) account() {
	now := r.w.Now
	for _, t := range r.w.Tasks {
		if t.LastStatus == state.TaskRunning && r.svc.StartFailures > 0 && t.StartedAt.After(r.svc.FailureAt) {
			// A task started after the last failure: the streak is over.
			r.svc.StartFailures, r.svc.NextLaunchAt, r.svc.FailureAt = 0, time.Time{}, time.Time{}
			r.changed = true
		}
	}
	for _, t := range r.w.Tasks {
		if t.LastStatus != state.TaskStopped || t.Accounted {
			continue
		}
		failure, neverRan := failed(t)
		if !failure {
			continue
		}
		r.plan.Accounted = append(r.plan.Accounted, t.ID)
		r.changed = true
		if d := r.deployment(t.DeploymentID); d != nil {
			d.FailedTasks++
			d.UpdatedAt = now
		}
		if neverRan {
			r.svc.StartFailures++
			r.svc.FailureAt = now
			backoff := r.w.Timing.ThrottleBase << min(r.svc.StartFailures-1, 20)
			if backoff <= 0 || backoff > r.w.Timing.ThrottleMax {
				backoff = r.w.Timing.ThrottleMax
			}
			r.svc.NextLaunchAt = now.Add(backoff)
			if r.svc.StartFailures >= 3 {
				r.event("service (%s) is unable to consistently start tasks successfully.", r.svc.Name)
			}
		}
	}
}

// hasHealthCheck reports whether any essential container of the task's
// definition has a health check.
func (r *reconciler) hasHealthCheck(t *state.Task) bool {
	d := r.w.Defs[t.TaskDefinitionARN]
	if d == nil {
		return false
	}
	for _, cd := range d.Body.ContainerDefinitions {
		if cd.HealthCheck != nil && (cd.Essential == nil || *cd.Essential) {
			return true
		}
	}
	return false
}

func (r *reconciler) stop(t *state.Task, reason string, now bool) {
	if r.stopped[t.ID] {
		return
	}
	r.stopped[t.ID] = true
	if !now && t.LastStatus == state.TaskRunning {
		// A task behind a load balancer first leaves its target groups and
		// drains there (DEACTIVATING); it stops once they have released it.
		if regs := r.registered(t); len(regs) > 0 {
			r.plan.Deregister = append(r.plan.Deregister, regs...)
			r.plan.Stop = append(r.plan.Stop, state.TaskStop{TaskKey: t.ID, StopCode: stopScheduler, Reason: reason, Deactivate: true})
			r.draining = append(r.draining, t.TaskID)
			return
		}
	}
	if t.LastStatus == state.TaskRunning {
		r.stoppedRunning = append(r.stoppedRunning, t.TaskID)
	}
	r.plan.Stop = append(r.plan.Stop, state.TaskStop{TaskKey: t.ID, StopCode: stopScheduler, Reason: reason, Now: now})
}

// targets are the load balancer targets a task should be: for each of the
// service's target groups, its instance at the host port of the named
// container port. ok is false while a binding is not known yet.
func (r *reconciler) targets(t *state.Task) (ops []TargetOp, ok bool) {
	iv := r.insts[t.InstanceKey]
	if iv == nil {
		return nil, false
	}
	for _, lb := range r.svc.LoadBalancers {
		if lb.TargetGroupARN == "" {
			continue
		}
		port := int32(0)
		for _, c := range t.Containers {
			if c.Name != lb.ContainerName {
				continue
			}
			for _, b := range c.NetworkBindings {
				if b.ContainerPort == lb.ContainerPort && (b.Protocol == "" || b.Protocol == "tcp") {
					port = b.HostPort
				}
			}
		}
		if port == 0 {
			return nil, false
		}
		ops = append(ops, TargetOp{TargetGroup: lb.TargetGroupARN, Target: Target{ID: iv.Inst.EC2InstanceID, Port: port}})
	}
	return ops, true
}

// health is a target's entry in its group, or nil when not registered.
func (r *reconciler) health(op TargetOp) *TargetHealth {
	for i, h := range r.w.Health[op.TargetGroup] {
		if h.Target == op.Target {
			return &r.w.Health[op.TargetGroup][i]
		}
	}
	return nil
}

// registered are the targets of t its groups still hold (draining or not).
func (r *reconciler) registered(t *state.Task) []TargetOp {
	ops, _ := r.targets(t)
	var out []TargetOp
	for _, op := range ops {
		if h := r.health(op); h != nil && h.State != "draining" {
			out = append(out, op)
		}
	}
	return out
}

// held reports whether any group still holds one of t's targets, draining
// included.
func (r *reconciler) held(t *state.Task) bool {
	ops, _ := r.targets(t)
	for _, op := range ops {
		if r.health(op) != nil {
			return true
		}
	}
	return false
}

func (r *reconciler) hasLB() bool {
	for _, lb := range r.svc.LoadBalancers {
		if lb.TargetGroupARN != "" {
			return true
		}
	}
	return false
}

// classify sorts the service's tasks: live ones (meant to run, on an
// instance that is still there) and the number still stopping. Tasks on
// deregistered or lost instances are stopped here and count for nothing.
func (r *reconciler) classify() (live []*liveTask, stopping map[string]int) {
	w, tm := r.w, r.w.Timing
	stopping = map[string]int{} // instance key -> tasks stopping there
	grace := time.Duration(r.svc.HealthCheckGracePeriodSeconds) * time.Second
	lbs := r.hasLB()
	if lbs {
		// Target health changes outside the store: look again soon.
		r.wake(w.Now.Add(time.Second))
	}
	for _, t := range w.Tasks {
		if t.LastStatus == state.TaskStopped {
			if lbs {
				r.plan.Deregister = append(r.plan.Deregister, r.registered(t)...)
			}
			continue
		}
		if t.LastStatus == state.TaskDeactivating && t.DesiredStatus != state.TaskStopped {
			// Draining from its target groups: it stops once released.
			if !r.held(t) {
				r.stopped[t.ID] = true
				r.plan.Stop = append(r.plan.Stop, state.TaskStop{TaskKey: t.ID, StopCode: cmpOr(t.StopCode, stopScheduler), Reason: t.StoppedReason})
				r.stoppedRunning = append(r.stoppedRunning, t.TaskID)
			}
			stopping[t.InstanceKey]++
			continue
		}
		iv := r.insts[t.InstanceKey]
		if iv == nil || iv.Inst.Status == state.InstanceInactive {
			r.stop(t, fmt.Sprintf(reasonInstanceGone, instanceID(t.InstanceARN)), true)
			continue
		}
		if iv.Lost {
			if t.DesiredStatus != state.TaskStopped {
				r.stop(t, fmt.Sprintf(reasonInstanceLost, iv.Inst.InstanceID), false)
			}
			continue
		}
		if t.DesiredStatus == state.TaskStopped {
			stopping[t.InstanceKey]++
			continue
		}
		switch {
		case !iv.Cand.Eligible && iv.Inst.Status == state.InstanceActive:
			// Disconnected but not yet lost: its tasks may well be running.
			r.wake(iv.SilentSince.Add(tm.InstanceLostAfter + time.Millisecond))
		case iv.Cand.Eligible:
			// Heartbeats are not written to the store (only an agent's
			// return is): look again when this one would fall silent.
			r.wake(iv.Heard.Add(tm.AgentGrace + time.Millisecond))
		}
		lt := &liveTask{t: t, inst: iv, dep: r.deployment(t.DeploymentID), running: t.LastStatus == state.TaskRunning,
			draining: iv.Inst.Status == state.InstanceDraining}
		if lt.running && lbs && !r.lbHealth(lt, grace, stopping) {
			continue
		}
		if lt.running {
			if r.hasHealthCheck(t) {
				switch t.HealthStatus {
				case "HEALTHY":
					lt.healthy = true
				case "UNHEALTHY":
					if w.Now.Sub(t.StartedAt) >= grace {
						r.stop(t, reasonUnhealthy, false)
						if lt.dep != nil {
							lt.dep.FailedTasks++
							lt.dep.UpdatedAt = w.Now
							r.changed = true
						}
						stopping[t.InstanceKey]++
						continue
					}
					r.wake(t.StartedAt.Add(grace))
				}
			} else if lbs {
				lt.healthy = true // the target groups' checks decide (lbHealth)
			} else {
				at := t.StartedAt.Add(tm.HealthyAfter)
				lt.healthy = !w.Now.Before(at)
				r.wake(at)
			}
			lt.healthy = lt.healthy && (!lbs || lt.lbHealthy)
		}
		live = append(live, lt)
	}
	return live, stopping
}

// bounds returns the most tasks that may exist and the fewest that must be
// healthy for a desired count: floor(desired × max%) and ceil(desired × min%).
func bounds(desired int, cfg state.DeploymentConfiguration) (maxTotal, minHealthy int) {
	maxTotal = desired * int(cfg.MaximumPercent) / 100
	minHealthy = (desired*int(cfg.MinimumHealthyPercent) + 99) / 100
	return maxTotal, minHealthy
}

// breakerThreshold is how many failed tasks trip the deployment circuit
// breaker: min(200, max(3, ceil(desired / 2))).
func breakerThreshold(desired int32) int32 {
	return min(200, max(3, (desired+1)/2))
}

// canLaunch reports whether the back-off and the circuit breaker allow new
// tasks now.
func (r *reconciler) canLaunch(primary *state.Deployment) bool {
	if primary == nil || primary.RolloutState == state.RolloutFailed {
		return false
	}
	if r.svc.StartFailures > 0 && r.w.Now.Before(r.svc.NextLaunchAt) {
		r.wake(r.svc.NextLaunchAt)
		return false
	}
	return true
}

func (r *reconciler) replica(live []*liveTask, stopping map[string]int) {
	desired := int(r.svc.DesiredCount)
	if r.svc.Status != state.ServiceActive {
		desired = 0
	}
	maxTotal, minHealthy := bounds(desired, r.svc.DeploymentConfiguration)
	primary := r.svc.Primary()
	total, healthy := 0, 0
	for _, n := range stopping {
		total += n
	}
	var keepers, leavers []*liveTask
	for _, lt := range live {
		total++
		if lt.healthy {
			healthy++
		}
		if primary != nil && lt.dep == primary && !lt.draining {
			keepers = append(keepers, lt)
		} else {
			leavers = append(leavers, lt)
		}
	}
	stopHealthy := func(lt *liveTask, reason string) bool {
		if lt.healthy {
			if healthy-1 < minHealthy {
				return false
			}
			healthy--
		}
		r.stop(lt.t, reason, false)
		return true
	}
	depID := ""
	if primary != nil {
		depID = primary.ID
	}
	// Tasks that are leaving and not serving anyone go at once.
	for _, lt := range leavers {
		if !lt.healthy {
			r.stop(lt.t, r.leaveReason(lt, depID), false)
		}
	}
	// Scale-in: stop the primary's surplus, the ones not yet healthy first.
	if extra := len(keepers) - desired; extra > 0 {
		for _, lt := range r.selectStop(keepers, extra) {
			stopHealthy(lt, fmt.Sprintf(reasonDeployment, depID))
		}
		keepers = slices.DeleteFunc(keepers, func(lt *liveTask) bool { return r.stopped[lt.t.ID] })
	}
	// Launch what the primary lacks, within maximumPercent.
	need := desired - len(keepers)
	room := maxTotal - total
	if need > 0 && room > 0 && r.canLaunch(primary) {
		r.launch(primary, min(need, room), nil)
	}
	// Retire the old, healthy ones while minimumHealthyPercent allows,
	// oldest deployment first.
	sort.SliceStable(leavers, func(i, j int) bool { return r.age(leavers[i]) > r.age(leavers[j]) })
	blocked := false
	for _, lt := range leavers {
		if r.stopped[lt.t.ID] {
			continue
		}
		if !stopHealthy(lt, r.leaveReason(lt, depID)) {
			blocked = true
		}
	}
	if blocked && need > 0 && room <= 0 && len(stopping) == 0 && !r.anyStopPlanned() {
		r.event("service %s was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again.", r.svc.Name)
	}
}

func (r *reconciler) anyStopPlanned() bool {
	for _, s := range r.plan.Stop {
		if !s.Now {
			return true
		}
	}
	return false
}

// age orders deployments: higher for older ones (further down the list),
// highest for tasks of a deployment that is gone.
func (r *reconciler) age(lt *liveTask) int {
	if lt.dep == nil {
		return len(r.svc.Deployments)
	}
	for i := range r.svc.Deployments {
		if &r.svc.Deployments[i] == lt.dep {
			return i
		}
	}
	return 0
}

func (r *reconciler) leaveReason(lt *liveTask, depID string) string {
	if lt.draining && lt.dep != nil && lt.dep.Status == state.DeploymentPrimary {
		return fmt.Sprintf(reasonDraining, lt.inst.Inst.InstanceID)
	}
	if r.svc.Status != state.ServiceActive {
		return fmt.Sprintf(reasonServiceDeleted, r.svc.Name)
	}
	return fmt.Sprintf(reasonDeployment, depID)
}

// selectStop picks n of tasks to stop: those not yet healthy first, then as
// the placement strategies balance.
func (r *reconciler) selectStop(tasks []*liveTask, n int) []*liveTask {
	var out []*liveTask
	var healthy []*liveTask
	for _, lt := range tasks {
		if !lt.healthy && len(out) < n {
			out = append(out, lt)
		} else if lt.healthy {
			healthy = append(healthy, lt)
		}
	}
	if rest := n - len(out); rest > 0 && len(healthy) > 0 {
		var cands []placement.Candidate
		for _, iv := range r.w.Instances {
			cands = append(cands, iv.Cand)
		}
		refs := make([]placement.TaskRef, len(healthy))
		byKey := map[string]*liveTask{}
		for i, lt := range healthy {
			refs[i] = placement.TaskRef{Key: lt.t.ID, Instance: lt.t.InstanceKey}
			byKey[lt.t.ID] = lt
		}
		for _, key := range placement.SelectStop(cands, refs, rest, r.strategies(), r.w.Rand) {
			out = append(out, byKey[key])
		}
	}
	return out
}

func (r *reconciler) strategies() []placement.Strategy {
	if len(r.svc.PlacementStrategy) == 0 {
		return placement.DefaultStrategies
	}
	out := make([]placement.Strategy, len(r.svc.PlacementStrategy))
	for i, s := range r.svc.PlacementStrategy {
		out[i] = placement.Strategy{Type: s.Type, Field: s.Field}
	}
	return out
}

// request is the placement request for n tasks of a deployment.
func (r *reconciler) request(def *state.TaskDefinition, n int) (placement.Request, taskdef.Requirements) {
	req, _ := def.Body.Requirements(nil)
	pr := placement.Request{
		CPU: req.CPU, Memory: req.Memory, PortsTCP: req.PortsTCP, PortsUDP: req.PortsUDP,
		Group: r.svc.Group(), Count: n, Strategies: r.strategies(),
	}
	for _, c := range r.svc.PlacementConstraints {
		pr.Constraints = append(pr.Constraints, placement.Constraint{Type: c.Type, Expression: c.Expression})
	}
	for _, c := range def.Body.PlacementConstraints {
		expr := ""
		if c.Expression != nil {
			expr = *c.Expression
		}
		pr.Constraints = append(pr.Constraints, placement.Constraint{Type: c.Type, Expression: expr})
	}
	return pr, req
}

// launch places n tasks of dep, on the given candidates only when only is
// not nil (daemons), and records a placement failure event for the rest.
func (r *reconciler) launch(dep *state.Deployment, n int, only []placement.Candidate) int {
	def := r.w.Defs[dep.TaskDefinition]
	if def == nil {
		return 0
	}
	pr, req := r.request(def, n)
	cands := only
	if cands == nil {
		for _, iv := range r.w.Instances {
			cands = append(cands, iv.Cand)
		}
	}
	if len(cands) == 0 {
		r.event("service %s was unable to place a task because no container instance met all of its requirements.", r.svc.Name)
		return 0
	}
	placed, failures := placement.Place(cands, pr, r.w.Rand)
	spec := &state.TaskSpec{
		Cluster: r.w.Cluster, Def: def, Req: req, Group: r.svc.Group(), StartedBy: dep.ID,
		Tags: r.taskTags(def), ServiceKey: r.svc.ID, DeploymentID: dep.ID, CreatedAt: r.w.Now,
	}
	for _, p := range placed {
		iv := r.insts[p.Key]
		r.plan.Start = append(r.plan.Start, state.NewTask(spec, iv.Inst))
	}
	if len(failures) > 0 {
		r.placementFailure(failures[0])
	}
	return len(placed)
}

// placementFailure records ECS's event for a task that fit nowhere, naming
// the closest instance and what it lacked.
func (r *reconciler) placementFailure(f placement.Failure) {
	msg := fmt.Sprintf("service %s was unable to place a task because no container instance met all of its requirements.", r.svc.Name)
	id := instanceID(f.ARN)
	switch {
	case id == "":
	case f.Reason == "RESOURCE:CPU":
		msg += fmt.Sprintf(" The closest matching container-instance %s has insufficient CPU units available.", id)
	case f.Reason == "RESOURCE:MEMORY":
		msg += fmt.Sprintf(" The closest matching container-instance %s has insufficient memory available.", id)
	case f.Reason == "RESOURCE:PORTS":
		msg += fmt.Sprintf(" The closest matching container-instance %s is already using a port required by your task.", id)
	case f.Reason == "ATTRIBUTE":
		msg += fmt.Sprintf(" The closest matching container-instance %s is missing an attribute required by your task.", id)
	default:
		msg += fmt.Sprintf(" The closest matching container-instance %s encountered error \"AGENT\".", id)
	}
	r.event("%s", msg)
}

// taskTags are the tags a service task starts with.
func (r *reconciler) taskTags(def *state.TaskDefinition) []state.Tag {
	var tags []state.Tag
	switch r.svc.PropagateTags {
	case "SERVICE":
		tags = append(tags, r.svc.Tags...)
	case "TASK_DEFINITION":
		tags = append(tags, def.Tags...)
	}
	if r.svc.EnableECSManagedTags {
		tags = append(tags, state.Tag{Key: "aws:ecs:serviceName", Value: r.svc.Name}, state.Tag{Key: "aws:ecs:clusterName", Value: r.svc.Cluster})
	}
	return tags
}

func (r *reconciler) daemon(live []*liveTask, stopping map[string]int) {
	primary := r.svc.Primary()
	if primary == nil {
		return
	}
	byInst := map[string][]*liveTask{}
	for _, lt := range live {
		byInst[lt.t.InstanceKey] = append(byInst[lt.t.InstanceKey], lt)
	}
	var pr placement.Request
	if def := r.w.Defs[primary.TaskDefinition]; def != nil {
		pr, _ = r.request(def, 1)
	}
	desired := 0
	launchOK := r.svc.Status == state.ServiceActive && r.canLaunch(primary)
	for _, iv := range r.w.Instances {
		tasks := byInst[iv.Inst.ID]
		active := r.svc.Status == state.ServiceActive && iv.Inst.Status == state.InstanceActive && !iv.Lost
		if active && !constraintsHold(&iv.Cand, &pr) {
			active = false
			for _, lt := range tasks {
				r.stop(lt.t, fmt.Sprintf(reasonNotEligible, iv.Inst.InstanceID), false)
			}
			continue
		}
		if iv.Inst.Status == state.InstanceDraining {
			// Daemons stop last: once no other service task remains.
			others := 0
			for g, n := range iv.Cand.Groups {
				if strings.HasPrefix(g, "service:") && g != r.svc.Group() {
					others += n
				}
			}
			if others == 0 {
				for _, lt := range tasks {
					r.stop(lt.t, fmt.Sprintf(reasonDraining, iv.Inst.InstanceID), false)
				}
			}
			continue
		}
		if !active {
			if r.svc.Status != state.ServiceActive {
				for _, lt := range tasks {
					r.stop(lt.t, fmt.Sprintf(reasonServiceDeleted, r.svc.Name), false)
				}
			}
			continue
		}
		desired++
		hasPrimary := false
		for _, lt := range tasks {
			if lt.dep == primary && !hasPrimary {
				hasPrimary = true
				continue
			}
			// An old deployment's task, or a duplicate: replace it.
			r.stop(lt.t, fmt.Sprintf(reasonDeployment, primary.ID), false)
		}
		if !hasPrimary && len(tasks) == 0 && stopping[iv.Inst.ID] == 0 && launchOK && iv.Cand.Eligible {
			r.launch(primary, 1, []placement.Candidate{iv.Cand})
		}
	}
	if r.svc.Status == state.ServiceActive && int32(desired) != r.svc.DesiredCount {
		r.svc.DesiredCount = int32(desired)
		primary.DesiredCount = int32(desired)
		r.changed = true
	}
}

// constraintsHold reports whether an instance satisfies the request's
// constraints, whatever its free resources.
func constraintsHold(c *placement.Candidate, req *placement.Request) bool {
	probe := *c
	probe.Eligible = true
	probe.UsedCPU, probe.UsedMemory = 0, 0
	probe.PortsTCP, probe.PortsUDP = nil, nil
	// A daemon's own task must not trip distinctInstance.
	probe.Groups = nil
	r := *req
	r.CPU, r.Memory, r.PortsTCP, r.PortsUDP = 0, 0, nil, nil
	return placement.Fit(&probe, &r) == ""
}

// activityEvents says what the plan starts, drains, stops, registers and
// deregisters, as ECS's service events do. They come before the step's
// other events (a placement failure, say), which stay the latest.
func (r *reconciler) activityEvents() {
	name := r.svc.Name
	var act []string
	event := func(format string, args ...any) { act = append(act, fmt.Sprintf(format, args...)) }
	tasks := func(ids []string) string {
		var b strings.Builder
		for i, id := range ids {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString("(task " + id + ")")
		}
		return b.String()
	}
	if len(r.stoppedRunning) > 0 {
		event("service (%s) has stopped %d running tasks: %s.", name, len(r.stoppedRunning), tasks(r.stoppedRunning))
	}
	if len(r.draining) > 0 {
		event("service (%s) has begun draining connections on %d tasks.", name, len(r.draining))
	}
	targets := func(verb string, ops []TargetOp) {
		n := map[string]int{}
		var groups []string
		for _, op := range ops {
			if n[op.TargetGroup] == 0 {
				groups = append(groups, op.TargetGroup)
			}
			n[op.TargetGroup]++
		}
		for _, g := range groups {
			event("service (%s) %s %d targets in (target-group %s)", name, verb, n[g], g)
		}
	}
	targets("deregistered", r.plan.Deregister)
	if len(r.plan.Start) > 0 {
		ids := make([]string, len(r.plan.Start))
		for i, t := range r.plan.Start {
			ids[i] = t.TaskID
		}
		event("service (%s) has started %d tasks: %s.", name, len(ids), tasks(ids))
	}
	targets("registered", r.plan.Register)
	r.events = append(act, r.events...)
}

// finish updates the deployments' rollout states, retires empty old
// deployments, trips the circuit breaker, finishes a deleted service and
// records the steady state.
func (r *reconciler) finish(live []*liveTask, stopping map[string]int) {
	r.activityEvents()
	now := r.w.Now
	primary := r.svc.Primary()
	alive := map[string]int{} // deployment id -> tasks live or stopping
	healthyPrimary := 0
	for _, lt := range live {
		if r.stopped[lt.t.ID] {
			if lt.dep != nil {
				alive[lt.dep.ID]++
			}
			continue
		}
		if lt.dep != nil {
			alive[lt.dep.ID]++
		}
		if lt.dep == primary && lt.healthy && !lt.draining {
			healthyPrimary++
		}
	}
	for _, t := range r.w.Tasks {
		iv := r.insts[t.InstanceKey]
		leaving := t.DesiredStatus == state.TaskStopped || t.LastStatus == state.TaskDeactivating
		if t.LastStatus != state.TaskStopped && leaving && iv != nil && !iv.Lost &&
			iv.Inst.Status != state.InstanceInactive {
			alive[t.DeploymentID]++
		}
	}
	// Retire ACTIVE deployments that have no task left.
	kept := r.svc.Deployments[:0:0]
	for _, d := range r.svc.Deployments {
		if d.Status != state.DeploymentPrimary && alive[d.ID] == 0 {
			d.Status = state.DeploymentInactive
			if d.RolloutState == state.RolloutInProgress {
				d.StoppedAt = now
			}
			d.UpdatedAt = now
			r.svc.Past = append([]state.Deployment{d}, r.svc.Past...)
			r.changed = true
			continue
		}
		kept = append(kept, d)
	}
	if len(r.svc.Past) > state.MaxPastDeployments {
		r.svc.Past = r.svc.Past[:state.MaxPastDeployments]
	}
	r.svc.Deployments = kept
	primary = r.svc.Primary()
	if primary != nil && primary.RolloutState == state.RolloutInProgress {
		cb := r.svc.DeploymentConfiguration.CircuitBreaker
		switch {
		case cb != nil && cb.Enable && primary.FailedTasks >= breakerThreshold(r.svc.DesiredCount):
			r.trip(primary)
		case len(r.svc.Deployments) == 1 && healthyPrimary == int(r.svc.DesiredCount) && r.svc.Status == state.ServiceActive &&
			len(stopping) == 0 && len(r.plan.Start) == 0 && !r.anyStopPlanned():
			primary.RolloutState = state.RolloutCompleted
			primary.RolloutStateReason = fmt.Sprintf("ECS deployment %s completed.", primary.ID)
			primary.FinishedAt, primary.UpdatedAt = now, now
			r.changed = true
		}
	}
	if r.svc.Status == state.ServiceDraining && len(live) == 0 && len(stopping) == 0 && len(r.plan.Start) == 0 {
		r.svc.Status = state.ServiceInactive
		r.svc.InactiveAt = now
		r.changed = true
	}
	primary = r.svc.Primary()
	steady := r.svc.Status == state.ServiceActive && len(r.svc.Deployments) == 1 && primary != nil &&
		primary.RolloutState != state.RolloutInProgress && healthyPrimary == int(r.svc.DesiredCount) &&
		len(r.plan.Start) == 0 && !r.anyStopPlanned() && len(stopping) == 0 && len(r.events) == 0
	switch {
	case steady && (!r.svc.Steady || now.Sub(r.svc.SteadyAt) >= r.w.Timing.SteadyRepeat):
		r.svc.Steady, r.svc.SteadyAt = true, now
		r.event("service (%s) has reached a steady state.", r.svc.Name)
	case !steady && r.svc.Steady:
		r.svc.Steady = false
		r.changed = true
	}
	if r.svc.Steady {
		r.wake(r.svc.SteadyAt.Add(r.w.Timing.SteadyRepeat))
	}
	r.flushEvents()
}

// trip fails the primary deployment and, when the breaker rolls back,
// starts a deployment of the last one that completed.
func (r *reconciler) trip(primary *state.Deployment) {
	now := r.w.Now
	primary.RolloutState = state.RolloutFailed
	primary.RolloutStateReason = "ECS deployment circuit breaker: task failed to start."
	primary.FinishedAt, primary.UpdatedAt = now, now
	r.changed = true
	cb := r.svc.DeploymentConfiguration.CircuitBreaker
	if !cb.Rollback {
		return
	}
	var target *state.Deployment
	for i := range r.svc.Deployments {
		if d := &r.svc.Deployments[i]; d.RolloutState == state.RolloutCompleted {
			target = d
			break
		}
	}
	if target == nil {
		for i := range r.svc.Past {
			if d := &r.svc.Past[i]; d.RolloutState == state.RolloutCompleted {
				target = d
				break
			}
		}
	}
	if target == nil {
		return
	}
	primary.Status = state.DeploymentActive
	id := newDeploymentID(r.w.Rand)
	d := state.Deployment{
		ID: id, ServiceDeployment: primary.ServiceDeployment, Status: state.DeploymentPrimary,
		TaskDefinition: target.TaskDefinition, LaunchType: target.LaunchType, DesiredCount: r.svc.DesiredCount,
		RolloutState:       state.RolloutInProgress,
		RolloutStateReason: fmt.Sprintf("ECS deployment circuit breaker: rolling back to deploymentId %s.", target.ID),
		CreatedAt:          now, UpdatedAt: now, Rollback: true, RollbackTo: target.ID, RollbackOf: primary.ID, Source: primary.TaskDefinition,
		Config: r.svc.DeploymentConfiguration,
	}
	r.svc.Deployments = append([]state.Deployment{d}, r.svc.Deployments...)
	r.svc.TaskDefinition = target.TaskDefinition
	r.svc.StartFailures, r.svc.NextLaunchAt, r.svc.FailureAt = 0, time.Time{}, time.Time{}
}

// event queues a service event. An event that repeats the latest one is
// dropped unless that one is older than SteadyRepeat (ECS de-duplicates
// events for six hours).
func (r *reconciler) event(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if slices.Contains(r.events, msg) {
		return
	}
	r.events = append(r.events, msg)
}

func (r *reconciler) flushEvents() {
	for _, msg := range r.events {
		if len(r.svc.Events) > 0 && r.svc.Events[0].Message == msg && r.w.Now.Sub(r.svc.Events[0].CreatedAt) < r.w.Timing.SteadyRepeat {
			continue
		}
		ev := state.ServiceEvent{ID: newUUID(r.w.Rand), CreatedAt: r.w.Now, Message: msg}
		r.svc.Events = append([]state.ServiceEvent{ev}, r.svc.Events...)
		if len(r.svc.Events) > state.MaxServiceEvents {
			r.svc.Events = r.svc.Events[:state.MaxServiceEvents]
		}
		r.changed = true
	}
}

// instanceID is the last part of a container instance ARN.
func instanceID(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

func rnd(r *rand.Rand) *rand.Rand {
	if r != nil {
		return r
	}
	return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
}

// newDeploymentID returns an ECS deployment id: ecs-svc/ and 19 digits.
func newDeploymentID(r *rand.Rand) string {
	r = rnd(r)
	var b strings.Builder
	b.WriteString("ecs-svc/")
	b.WriteByte(byte('1' + r.IntN(9)))
	for range 18 {
		b.WriteByte(byte('0' + r.IntN(10)))
	}
	return b.String()
}

func newUUID(r *rand.Rand) string {
	const hex = "0123456789abcdef"
	r = rnd(r)
	b := make([]byte, 36)
	for i := range b {
		switch i {
		case 8, 13, 18, 23:
			b[i] = '-'
		default:
			b[i] = hex[r.IntN(16)]
		}
	}
	b[14] = '4'
	return string(b)
}

// lbHealth registers a running task's targets and reads their health. It
// returns false when the task failed its groups' health checks past the
// grace period and is being replaced.
func (r *reconciler) lbHealth(lt *liveTask, grace time.Duration, stopping map[string]int) bool {
	t := lt.t
	ops, ok := r.targets(t)
	if !ok {
		return true // no host port reported yet: not healthy, not failing
	}
	healthy := true
	for _, op := range ops {
		if _, exists := r.w.Health[op.TargetGroup]; !exists {
			healthy = false // the group is gone: the task cannot pass
			continue
		}
		h := r.health(op)
		if h == nil || h.State == "draining" {
			r.plan.Register = append(r.plan.Register, op)
			healthy = false
			continue
		}
		switch h.State {
		case "healthy":
		case "unhealthy":
			healthy = false
			if r.w.Now.Sub(t.StartedAt) < grace {
				r.wake(t.StartedAt.Add(grace))
				continue
			}
			why := cmpOr(h.Description, h.Reason)
			r.event("service (%s) (instance %s) (port %d) is unhealthy in (target-group %s) due to (reason %s).", r.svc.Name, op.ID, op.Port, op.TargetGroup, why)
			r.stop(t, fmt.Sprintf("Task failed ELB health checks in (target-group %s)", op.TargetGroup), false)
			if lt.dep != nil {
				lt.dep.FailedTasks++
				lt.dep.UpdatedAt = r.w.Now
				r.changed = true
			}
			stopping[t.InstanceKey]++
			return false
		default:
			healthy = false
		}
	}
	lt.lbHealthy = healthy
	return true
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
