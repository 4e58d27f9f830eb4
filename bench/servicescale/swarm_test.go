package servicescale

import (
	"context"
	"errors"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/berthhq/berth/bench/internal/benchkit"
	"github.com/berthhq/berth/internal/testapp/testimage"
)

// swarmLabelService is the label Swarm's executor puts on a task's container.
const swarmLabelService = "com.docker.swarm.service.id"

// swarmState says how the benchmark found the engine's swarm mode.
type swarmState struct {
	Initialised bool   `json:"initialised_by_benchmark"` // the benchmark ran swarm init (and leaves at the end)
	NodeID      string `json:"node_id"`
}

// joinSwarm makes the engine a swarm manager if it is not in a swarm yet
// (`docker swarm init --advertise-addr 127.0.0.1`, listening on loopback
// only) and registers `docker swarm leave --force` for the end of the test,
// only then. An engine already in a swarm is used as it is, and left in it.
func (b *bench) joinSwarm(ctx context.Context) swarmState {
	b.t.Helper()
	info, err := b.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		b.t.Fatalf("docker info: %v", err)
	}
	sw := info.Info.Swarm
	switch sw.LocalNodeState {
	case swarm.LocalNodeStateActive:
		if !sw.ControlAvailable {
			b.t.Fatalf("the engine is a swarm worker, not a manager: the benchmark cannot create services on it")
		}
		b.t.Logf("the engine is already a swarm manager (node %s): using it as it is, and leaving it in the swarm", sw.NodeID)
		return swarmState{NodeID: sw.NodeID}
	case swarm.LocalNodeStateInactive:
	default:
		b.t.Fatalf("the engine's swarm state is %q: refusing to touch it", sw.LocalNodeState)
	}
	res, err := b.cli.SwarmInit(ctx, client.SwarmInitOptions{ListenAddr: "127.0.0.1:2377", AdvertiseAddr: "127.0.0.1"})
	if err != nil {
		b.t.Fatalf("swarm init: %v", err)
	}
	b.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := b.cli.SwarmLeave(ctx, client.SwarmLeaveOptions{Force: true}); err != nil {
			b.t.Errorf("swarm leave --force: %v", err)
		}
	})
	b.t.Logf("swarm initialised for the benchmark (node %s); it leaves the swarm when the test ends", res.NodeID)
	return swarmState{Initialised: true, NodeID: res.NodeID}
}

// swarmSpec is the service the Swarm arm runs: the same image (by ID, so no
// node ever asks a registry: Swarm's executor skips the pull for an image
// ID, and a locally built image has no registry digest to pin), command and
// labels, `--limit-memory 64m --reserve-memory 32m`, restart condition any
// (an ECS service replaces any task that stops), a 10 s stop grace period,
// no published ports, no networks (the default bridge), no health check.
func (b *bench) swarmSpec(name string, replicas uint64) swarm.ServiceSpec {
	grace := stopGrace
	return swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name, Labels: b.armLabels("swarm")},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image: b.imageID, Args: appCommand, Labels: b.armLabels("swarm"), StopGracePeriod: &grace,
			},
			Resources: &swarm.ResourceRequirements{
				Limits:       &swarm.Limit{MemoryBytes: memoryMiB << 20},
				Reservations: &swarm.Resources{MemoryBytes: reserveMiB << 20},
			},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}
}

// swarmRun creates a service with 0 replicas, then times the update to N
// replicas and, after the ramp, back to 0. The service is removed and its
// containers with it afterwards, unmeasured.
func (b *bench) swarmRun(ctx context.Context, round int) (s sample, err error) {
	n := b.cfg.tasks
	name := fmt.Sprintf("bench-%s-%d", testimage.RunID(), round)
	res, err := b.cli.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: b.swarmSpec(name, 0)}) // QueryRegistry false: --no-resolve-image
	if err != nil {
		return s, fmt.Errorf("service create: %w", err)
	}
	id := res.ID
	defer func() { err = errors.Join(err, b.swarmRemove(context.WithoutCancel(ctx), id)) }()

	// 0 -> N. t0 is just before the update call; the inspect that gets the
	// service's version is not timed (the CLI makes it too).
	s.Up, s.Down = map[string]float64{}, map[string]float64{}
	res2, err := b.cli.ServiceInspect(ctx, id, client.ServiceInspectOptions{})
	if err != nil {
		return s, err
	}
	spec := res2.Service.Spec
	replicas := uint64(n)
	spec.Mode.Replicated.Replicas = &replicas
	t0 := time.Now()
	if _, err := b.cli.ServiceUpdate(ctx, id, client.ServiceUpdateOptions{Version: res2.Service.Version, Spec: spec}); err != nil {
		return s, fmt.Errorf("service update replicas=%d: %w", n, err)
	}
	s.Up["call_returned"] = ms(t0, time.Now())
	var tasks []swarm.Task
	pctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	err = poll(pctx, b.cfg.poll, func(now time.Time) (bool, error) {
		running := 0
		var err error
		tasks, err = b.swarmTasks(pctx, id)
		if err != nil {
			return false, err
		}
		var last time.Time
		for _, tk := range tasks {
			if tk.DesiredState == swarm.TaskStateRunning && tk.Status.State == swarm.TaskStateRunning {
				running++
				if tk.Status.Timestamp.After(last) {
					last = tk.Status.Timestamp
				}
			}
		}
		if running == n {
			s.Up["steady_seen"] = ms(t0, now)
			s.Up["steady_reported"] = ms(t0, last)
			return true, nil
		}
		return false, nil
	})
	cancel()
	if err != nil {
		return s, fmt.Errorf("0 -> %d: all tasks running: %w", n, err)
	}
	starts, err := b.events.WaitN(ctx, "start", t0, n, benchkit.HasAttr(swarmLabelService, id))
	if err != nil {
		return s, err
	}
	markRamp(s.Up, t0, "start", starts)
	ids := benchkit.IDs(starts)
	markRamp(s.Up, t0, "create", b.events.Collect("create", t0, benchkit.IDIn(ids)))
	var created []time.Time
	for _, tk := range tasks {
		created = append(created, tk.CreatedAt)
	}
	markTimes(s.Up, t0, "placed", created)
	b.inspectOnce(ctx, "swarm", starts[0].ID)

	// N -> 0.
	res3, err := b.cli.ServiceInspect(ctx, id, client.ServiceInspectOptions{})
	if err != nil {
		return s, err
	}
	spec = res3.Service.Spec
	zero := uint64(0)
	spec.Mode.Replicated.Replicas = &zero
	t1 := time.Now()
	if _, err := b.cli.ServiceUpdate(ctx, id, client.ServiceUpdateOptions{Version: res3.Service.Version, Spec: spec}); err != nil {
		return s, fmt.Errorf("service update replicas=0: %w", err)
	}
	s.Down["call_returned"] = ms(t1, time.Now())
	dies, err := b.events.WaitN(ctx, "die", t1, n, benchkit.IDIn(ids))
	if err != nil {
		return s, err
	}
	markRamp(s.Down, t1, "die", dies)
	pctx, cancel = context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	err = poll(pctx, b.cfg.poll, func(now time.Time) (bool, error) {
		tasks, err := b.swarmTasks(pctx, id)
		if err != nil {
			return false, err
		}
		var last time.Time
		for _, tk := range tasks {
			switch tk.Status.State {
			case swarm.TaskStateRunning, swarm.TaskStateStarting:
				return false, nil
			}
			if tk.Status.Timestamp.After(last) {
				last = tk.Status.Timestamp
			}
		}
		s.Down["steady_seen"] = ms(t1, now)
		if !last.IsZero() { // zero when Swarm has already removed every task
			s.Down["steady_reported"] = ms(t1, last)
		}
		return true, nil
	})
	if err != nil {
		return s, fmt.Errorf("%d -> 0: no task running: %w", n, err)
	}
	return s, nil
}

// swarmTasks lists the service's tasks (GET /tasks?filters=service).
func (b *bench) swarmTasks(ctx context.Context, id string) ([]swarm.Task, error) {
	f := client.Filters{}
	f.Add("service", id)
	res, err := b.cli.TaskList(ctx, client.TaskListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("task list: %w", err)
	}
	return res.Items, nil
}

// swarmRemove removes the service, waits (bounded) for Swarm to remove its
// containers, and force-removes any that are left.
func (b *bench) swarmRemove(ctx context.Context, id string) error {
	if _, err := b.cli.ServiceRemove(ctx, id, client.ServiceRemoveOptions{}); err != nil && !isNotFound(err) {
		return fmt.Errorf("service rm: %w", err)
	}
	labels := b.armLabels("swarm")
	labels[swarmLabelService] = id
	f := client.Filters{}
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	ctx2, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_ = poll(ctx2, 200*time.Millisecond, func(time.Time) (bool, error) {
		res, err := b.cli.ContainerList(ctx2, client.ContainerListOptions{All: true, Filters: f})
		return err == nil && len(res.Items) == 0, nil
	})
	b.removeByLabels(ctx, labels)
	return nil
}

// removeSwarmServices removes every service carrying this test's labels
// (on failure; after a clean run there are none left).
func (b *bench) removeSwarmServices(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	f := client.Filters{}
	for k, v := range b.labels {
		f.Add("label", k+"="+v)
	}
	res, err := b.cli.ServiceList(ctx, client.ServiceListOptions{Filters: f})
	if err != nil {
		return // not a manager (any more): nothing of ours can exist
	}
	for _, svc := range res.Items {
		if err := b.swarmRemove(ctx, svc.ID); err != nil {
			b.t.Errorf("cleanup: %v", err)
		}
	}
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
