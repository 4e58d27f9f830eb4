package controller

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/state"
)

// ServicesConfig configures the service controller.
type ServicesConfig struct {
	Store  *state.Store
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	Timing
	// Resync bounds how long the controller waits without a change.
	Resync time.Duration
	// LoadBalancing registers service tasks with their target groups; nil
	// when the server has no load balancers (services with loadBalancers
	// then never count healthy).
	LoadBalancing LoadBalancing
}

// LoadBalancing is the part of ELBv2 the controller uses. Errors carry
// errdefs classes; ErrNotFound from Health means the group does not exist.
type LoadBalancing interface {
	Register(ctx context.Context, account, region, targetGroup string, targets []Target) error
	Deregister(ctx context.Context, account, region, targetGroup string, targets []Target) error
	Health(ctx context.Context, account, region, targetGroup string) ([]TargetHealth, error)
}

func (c *ServicesConfig) setDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.HealthyAfter == 0 {
		c.HealthyAfter = 40 * time.Second
	}
	if c.AgentGrace == 0 {
		c.AgentGrace = 30 * time.Second
	}
	if c.InstanceLostAfter == 0 {
		c.InstanceLostAfter = 2 * time.Minute
	}
	if c.ThrottleBase == 0 {
		c.ThrottleBase = 5 * time.Second
	}
	if c.ThrottleMax == 0 {
		c.ThrottleMax = 15 * time.Minute
	}
	if c.SteadyRepeat == 0 {
		c.SteadyRepeat = 6 * time.Hour
	}
	if c.Resync == 0 {
		c.Resync = 30 * time.Second
	}
}

// Services keeps every service's tasks running as its deployments ask, and
// stops the tasks of instances that were deregistered. It runs on the
// leader: each pass reconciles every service on a fresh snapshot and writes
// one command per service that needs a change; then it waits for a change
// to services, tasks or instances, or for the earliest time-based event.
type Services struct {
	cfg   ServicesConfig
	log   *slog.Logger
	rnd   *rand.Rand
	cands state.Candidates
}

// NewServices returns a service controller.
func NewServices(cfg ServicesConfig) *Services {
	cfg.setDefaults()
	return &Services{cfg: cfg, log: cfg.Logger.With("component", "services"),
		rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// Run reconciles until ctx ends.
func (s *Services) Run(ctx context.Context) error {
	backoff := time.Duration(0)
	for {
		if ctx.Err() != nil {
			return nil
		}
		ws := memdb.NewWatchSet()
		wake, conflicted := s.pass(ctx, ws)
		wait := s.cfg.Resync
		if !wake.IsZero() {
			wait = min(wait, max(wake.Sub(s.cfg.Now()), time.Millisecond))
		}
		if conflicted {
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			wait = min(wait, backoff+rand.N(backoff))
		} else {
			backoff = 0
		}
		wctx, cancel := context.WithTimeout(ctx, wait)
		_ = ws.WatchCtx(wctx) // a change, the timeout or the end: all mean look again
		cancel()
	}
}

// pass reconciles everything once. It returns the earliest time something
// is due and whether a write lost a race (to be retried soon).
func (s *Services) pass(ctx context.Context, ws memdb.WatchSet) (wake time.Time, conflicted bool) {
	snap := s.cfg.Store.Snapshot()
	snap.ServicesIndex(ws)
	snap.TasksIndex(ws)
	snap.InstancesIndex(ws)
	if !s.cfg.Store.IsLeader() {
		return s.cfg.Now().Add(time.Second), false
	}
	now := s.cfg.Now()
	note := func(at time.Time) {
		if !at.IsZero() && (wake.IsZero() || at.Before(wake)) {
			wake = at
		}
	}
	if err := s.reapGone(ctx, snap, now); err != nil && ctx.Err() == nil {
		s.log.Warn("stop tasks of deregistered instances", "err", err)
	}
	views := map[string][]*InstanceView{} // cluster key -> instances
	for svc := range snap.AllServices(nil) {
		if svc.Status == state.ServiceInactive {
			continue
		}
		clKey := state.Key(svc.Account, svc.Region, svc.Cluster)
		cluster := snap.Cluster(svc.Account, svc.Region, svc.Cluster)
		if cluster == nil {
			continue
		}
		insts, ok := views[clKey]
		if !ok {
			insts = s.instances(snap, svc.Account, svc.Region, svc.Cluster, now)
			views[clKey] = insts
		}
		w := &World{
			Now: now, Service: svc, Cluster: cluster, Tasks: snap.ServiceTasks(svc.ID), Instances: insts,
			Defs: map[string]*state.TaskDefinition{}, Timing: s.cfg.Timing, Rand: s.rnd,
		}
		for _, d := range append(append([]state.Deployment(nil), svc.Deployments...), svc.Past...) {
			if def := taskDefByARN(snap, svc.Account, svc.Region, d.TaskDefinition); def != nil {
				w.Defs[d.TaskDefinition] = def
			}
		}
		for _, t := range w.Tasks {
			if _, ok := w.Defs[t.TaskDefinitionARN]; !ok {
				if def := taskDefByARN(snap, svc.Account, svc.Region, t.TaskDefinitionARN); def != nil {
					w.Defs[t.TaskDefinitionARN] = def
				}
			}
		}
		if lbs := s.cfg.LoadBalancing; lbs != nil {
			for _, l := range svc.LoadBalancers {
				if l.TargetGroupARN == "" {
					continue
				}
				if w.Health == nil {
					w.Health = map[string][]TargetHealth{}
				}
				h, err := lbs.Health(ctx, svc.Account, svc.Region, l.TargetGroupARN)
				if err != nil {
					continue // gone: the service's tasks cannot pass its checks
				}
				w.Health[l.TargetGroupARN] = h
			}
		}
		plan := Reconcile(w)
		note(plan.Wake)
		if plan.Empty() {
			continue
		}
		if err := s.changeTargets(ctx, svc, plan); err != nil {
			s.log.Warn("load balancer targets", "service", svc.Name, "cluster", svc.Cluster, "err", err)
			conflicted = true
			continue
		}
		if plan.Service == nil && len(plan.Start) == 0 && len(plan.Stop) == 0 && len(plan.Accounted) == 0 {
			continue
		}
		cmd := &state.ReconcileService{Service: plan.Service, Start: plan.Start, Stop: plan.Stop, Accounted: plan.Accounted, At: now}
		cmd.ModifyIndex = svc.ModifyIndex
		if plan.Service == nil {
			cmd.ServiceKey = svc.ID
		}
		if _, err := s.cfg.Store.Apply(ctx, cmd); err != nil {
			if errors.Is(err, errdefs.ErrConflict) {
				conflicted = true
				continue
			}
			if ctx.Err() == nil {
				s.log.Warn("reconcile service", "service", svc.Name, "cluster", svc.Cluster, "err", err)
				conflicted = true
			}
			continue
		}
		// Later services of the cluster place against what this one took.
		if len(plan.Start) > 0 || len(plan.Stop) > 0 {
			delete(views, clKey)
			snap = s.cfg.Store.Snapshot()
		}
	}
	return wake, conflicted
}

// reapGone marks STOPPED the tasks of instances that were deregistered (or
// no longer exist): no agent will ever report them.
func (s *Services) reapGone(ctx context.Context, snap *state.Snapshot, now time.Time) error {
	var stops []state.TaskStop
	for inst := range snap.AllInstances() {
		if inst.Status != state.InstanceInactive {
			continue
		}
		for _, t := range snap.TasksOnInstance(nil, inst.ID) {
			if t.LastStatus != state.TaskStopped {
				stops = append(stops, state.TaskStop{TaskKey: t.ID, StopCode: stopScheduler,
					Reason: "Container instance " + inst.InstanceID + " was deregistered", Now: true})
			}
		}
	}
	if len(stops) == 0 {
		return nil
	}
	_, err := s.cfg.Store.Apply(ctx, &state.ReconcileService{Stop: stops, At: now})
	return err
}

// instances builds the views of a cluster's instances.
func (s *Services) instances(snap *state.Snapshot, account, region, cluster string, now time.Time) []*InstanceView {
	var out []*InstanceView
	for _, i := range s.cands.Instances(snap, account, region, cluster) {
		heard, silentSince := s.cfg.Store.Heard(i), s.cfg.Store.SilentSince(i)
		connected := now.Sub(heard) < s.cfg.AgentGrace
		out = append(out, &InstanceView{
			Inst: i, Heard: heard, SilentSince: silentSince,
			Lost: now.Sub(silentSince) > s.cfg.InstanceLostAfter,
			Cand: s.cands.Candidate(snap, i, connected),
		})
	}
	return out
}

// taskDefByARN finds a task definition by its ARN (…:task-definition/family:rev).
func taskDefByARN(snap *state.Snapshot, account, region, arn string) *state.TaskDefinition {
	i := strings.Index(arn, ":task-definition/")
	if i < 0 {
		return nil
	}
	family, rev, ok := strings.Cut(arn[i+len(":task-definition/"):], ":")
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(rev)
	if err != nil {
		return nil
	}
	return snap.TaskDefinition(account, region, family, int32(n))
}

// changeTargets makes a plan's target registrations, grouped by target
// group. Both calls are idempotent, so a plan that fails later is simply
// made again.
func (s *Services) changeTargets(ctx context.Context, svc *state.Service, plan Plan) error {
	lbs := s.cfg.LoadBalancing
	if lbs == nil {
		return nil
	}
	for _, batch := range []struct {
		ops []TargetOp
		fn  func(context.Context, string, string, string, []Target) error
	}{{plan.Register, lbs.Register}, {plan.Deregister, lbs.Deregister}} {
		byGroup := map[string][]Target{}
		var order []string
		for _, op := range batch.ops {
			if _, ok := byGroup[op.TargetGroup]; !ok {
				order = append(order, op.TargetGroup)
			}
			byGroup[op.TargetGroup] = append(byGroup[op.TargetGroup], op.Target)
		}
		for _, tg := range order {
			if err := batch.fn(ctx, svc.Account, svc.Region, tg, byGroup[tg]); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
				return err
			}
		}
	}
	return nil
}
