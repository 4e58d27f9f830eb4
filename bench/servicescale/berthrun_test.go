package servicescale

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthhq/berth/bench/internal/benchkit"
	"github.com/berthhq/berth/internal/agent"
	"github.com/berthhq/berth/internal/testapp/testimage"
)

const steadyMessage = "has reached a steady state"

// registerTaskDefinition registers the benchmark's task definition: one
// container of the test image, memory 64 / memoryReservation 32, cpu 0, no
// ports, no health check, stopTimeout 10 s (Swarm's grace period), bridge.
func (b *bench) registerTaskDefinition(ctx context.Context, br *benchkit.Berth) {
	b.t.Helper()
	_, err := br.ECS.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:      aws.String(family),
		NetworkMode: types.NetworkModeBridge,
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String(containerName), Image: aws.String(b.image), Command: appCommand,
			Memory: aws.Int32(memoryMiB), MemoryReservation: aws.Int32(reserveMiB), Essential: aws.Bool(true),
			StopTimeout:  aws.Int32(int32(stopGrace / time.Second)),
			DockerLabels: b.armLabels("berth"),
		}},
	})
	if err != nil {
		b.t.Fatalf("RegisterTaskDefinition: %v", err)
	}
}

func berthServiceName(round int) string { return fmt.Sprintf("bench-%s-%d", testimage.RunID(), round) }

// berthRun creates a service with desiredCount 0, waits for its steady
// state, then times UpdateService(desiredCount=N) and, after the ramp,
// UpdateService(desiredCount=0). The service is deleted and its containers
// removed afterwards, unmeasured.
func (b *bench) berthRun(ctx context.Context, br *benchkit.Berth, round int) (s sample, err error) {
	name := berthServiceName(round)
	n := b.cfg.tasks
	_, err = br.ECS.CreateService(ctx, &ecs.CreateServiceInput{
		ServiceName: aws.String(name), TaskDefinition: aws.String(family), DesiredCount: aws.Int32(0),
		LaunchType:         types.LaunchTypeEc2,
		PlacementStrategy:  []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("instanceId")}},
		SchedulingStrategy: types.SchedulingStrategyReplica,
	})
	if err != nil {
		return s, fmt.Errorf("CreateService: %w", err)
	}
	defer func() {
		cctx := context.WithoutCancel(ctx)
		if _, derr := br.ECS.DeleteService(cctx, &ecs.DeleteServiceInput{Service: aws.String(name), Force: aws.Bool(true)}); derr != nil {
			err = errors.Join(err, fmt.Errorf("DeleteService: %w", derr))
		}
		b.removeByLabels(cctx, b.armLabels("berth"))
	}()
	// The service at 0 is steady once the controller has seen it.
	if _, _, err := b.berthWaitStable(ctx, br, name, time.Time{}, 0); err != nil {
		return s, fmt.Errorf("service at 0: %w", err)
	}

	// 0 -> N.
	s.Up, s.Down = map[string]float64{}, map[string]float64{}
	t0 := time.Now()
	if _, err := br.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String(name), DesiredCount: aws.Int32(int32(n))}); err != nil {
		return s, fmt.Errorf("UpdateService(%d): %w", n, err)
	}
	s.Up["call_returned"] = ms(t0, time.Now())
	stable, steady, err := b.berthWaitStable(ctx, br, name, t0, int32(n))
	if err != nil {
		return s, fmt.Errorf("0 -> %d: %w", n, err)
	}
	s.Up["steady_seen"] = ms(t0, stable)
	if !steady.IsZero() {
		s.Up["steady_reported"] = ms(t0, steady)
	}
	isBerth := benchkit.HasAttr(agent.LabelManaged, "true")
	starts, err := b.events.WaitN(ctx, "start", t0, n, isBerth)
	if err != nil {
		return s, err
	}
	markRamp(s.Up, t0, "start", starts)
	ids := benchkit.IDs(starts)
	markRamp(s.Up, t0, "create", b.events.Collect("create", t0, benchkit.IDIn(ids)))
	b.inspectOnce(ctx, "berth", starts[0].ID)
	if err := b.berthTimeline(ctx, br, name, t0, s.Up); err != nil {
		return s, err
	}
	if b.trace != nil {
		b.t.Logf("round %d, berth: the agent's engine calls from UpdateService to the %dth start event: %s",
			round, n, traceSummary(b.trace, t0, starts[len(starts)-1].Time))
	}

	// N -> 0.
	t1 := time.Now()
	if _, err := br.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String(name), DesiredCount: aws.Int32(0)}); err != nil {
		return s, fmt.Errorf("UpdateService(0): %w", err)
	}
	s.Down["call_returned"] = ms(t1, time.Now())
	dies, err := b.events.WaitN(ctx, "die", t1, n, benchkit.IDIn(ids))
	if err != nil {
		return s, err
	}
	markRamp(s.Down, t1, "die", dies)
	stable, steady, err = b.berthWaitStable(ctx, br, name, t1, 0)
	if err != nil {
		return s, fmt.Errorf("%d -> 0: %w", n, err)
	}
	s.Down["steady_seen"] = ms(t1, stable)
	if !steady.IsZero() {
		s.Down["steady_reported"] = ms(t1, steady)
	}
	return s, nil
}

// berthWaitStable polls DescribeServices until the service is stable as
// `aws ecs wait services-stable` defines it (one deployment, runningCount =
// desiredCount = want, and no task pending). It returns when the poll saw
// that, and the time of a "has reached a steady state" event created after
// since, if one appears within 2 s of stable (zero if none: Berth drops a
// steady-state event that repeats the latest event, and a change of
// desiredCount alone emits no other event in between).
func (b *bench) berthWaitStable(ctx context.Context, br *benchkit.Berth, name string, since time.Time, want int32) (seen, event time.Time, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var last *types.Service
	err = poll(ctx, b.cfg.poll, func(now time.Time) (bool, error) {
		out, err := br.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{name}})
		if err != nil {
			return false, fmt.Errorf("DescribeServices: %w", err)
		}
		if len(out.Services) != 1 {
			return false, fmt.Errorf("DescribeServices(%s): %d services, failures %v", name, len(out.Services), out.Failures)
		}
		svc := &out.Services[0]
		last = svc
		if seen.IsZero() && len(svc.Deployments) == 1 && svc.DesiredCount == want && svc.RunningCount == want && svc.PendingCount == 0 {
			seen = now
		}
		for _, e := range svc.Events {
			// Berth's event times have ms precision.
			if strings.Contains(aws.ToString(e.Message), steadyMessage) && !aws.ToTime(e.CreatedAt).Before(since.Truncate(time.Millisecond)) {
				event = aws.ToTime(e.CreatedAt)
				break
			}
		}
		return !seen.IsZero() && (!event.IsZero() || now.Sub(seen) >= 2*time.Second), nil
	})
	if err != nil && last != nil {
		var evs []string
		for _, e := range last.Events[:min(5, len(last.Events))] {
			evs = append(evs, aws.ToTime(e.CreatedAt).Format(time.RFC3339Nano)+" "+aws.ToString(e.Message))
		}
		err = fmt.Errorf("%w (last: running %d pending %d desired %d deployments %d; events %q)", err,
			last.RunningCount, last.PendingCount, last.DesiredCount, len(last.Deployments), evs)
	}
	return seen, event, err
}

// berthTimeline describes the service's running tasks (after the ramp,
// unmeasured) and marks when the controller created them (placement),
// when the agent's image step ended and when the agent saw them start.
func (b *bench) berthTimeline(ctx context.Context, br *benchkit.Berth, name string, t0 time.Time, m map[string]float64) error {
	lt, err := br.ECS.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String(name), DesiredStatus: types.DesiredStatusRunning, MaxResults: aws.Int32(100)})
	if err != nil {
		return fmt.Errorf("ListTasks: %w", err)
	}
	var created, pulled, started []time.Time
	for chunk := range slices.Chunk(lt.TaskArns, 100) {
		out, err := br.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: chunk})
		if err != nil {
			return fmt.Errorf("DescribeTasks: %w", err)
		}
		for _, tk := range out.Tasks {
			created = append(created, aws.ToTime(tk.CreatedAt))
			pulled = append(pulled, aws.ToTime(tk.PullStoppedAt))
			started = append(started, aws.ToTime(tk.StartedAt))
		}
	}
	markTimes(m, t0, "placed", created)
	markTimes(m, t0, "image_ready", pulled)
	markTimes(m, t0, "agent_started", started)
	return nil
}

// markTimes records the first and last of ts (zero times skipped) as
// prefix_first and prefix_last.
func markTimes(m map[string]float64, t0 time.Time, prefix string, ts []time.Time) {
	ts = slices.DeleteFunc(slices.Clone(ts), time.Time.IsZero)
	if len(ts) == 0 {
		return
	}
	slices.SortFunc(ts, time.Time.Compare)
	m[prefix+"_first"] = ms(t0, ts[0])
	m[prefix+"_last"] = ms(t0, ts[len(ts)-1])
}

// removeBerthServices deletes every service the benchmark made (on failure;
// after a clean run there are none left).
func (b *bench) removeBerthServices(ctx context.Context, br *benchkit.Berth) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := br.ECS.ListServices(ctx, &ecs.ListServicesInput{})
	if err != nil {
		return // berth is gone: its containers go with the test's labels
	}
	for _, arn := range out.ServiceArns {
		_, _ = br.ECS.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String(arn), Force: aws.Bool(true)})
	}
}
