package runtask

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/berthhq/berth/bench/internal/benchkit"
	"github.com/berthhq/berth/internal/agent"
	"github.com/berthhq/berth/internal/berthproc"
	"github.com/berthhq/berth/internal/testapp/testimage"
)

// The workload: one container of the test image serving HTTP on 8080, bridge
// network, one dynamic host port, memory 64 MiB; cpu 256 for single starts
// and 64 for the burst, so 20 tasks fit on two cores (20 × 64 = 1,280 of
// 2,048 units).
const (
	singleFamily  = "bench-runtask"
	burstFamily   = "bench-runtask-burst"
	containerPort = 8080
	memoryMiB     = 64
	singleCPU     = 256
	burstCPU      = 64
	burstSize     = 20 // two RunTask calls of count 10 (the ECS maximum per call)
	pollEvery     = 10 * time.Millisecond
)

var appCommand = []string{"-listen", ":" + strconv.Itoa(containerPort)}

// config is read from the environment; see README.md.
type config struct {
	reps      int           // single-start rounds after the warm-up
	burstReps int           // burst rounds after the warm-up
	traceReps int           // traced single starts (0: no trace pass)
	pulls     []string      // agent pull behaviours, one Berth arm each
	settle    time.Duration // quiet time after each arm's cleanup
	out       string        // JSON output file
}

func loadConfig(t *testing.T) config {
	t.Helper()
	c := config{reps: 50, burstReps: 10, traceReps: 5, pulls: []string{"default", "prefer-cached"},
		settle: 300 * time.Millisecond, out: os.Getenv("BERTH_BENCH_OUT")}
	for _, v := range []struct {
		env string
		dst *int
		min int
	}{{"BERTH_BENCH_REPS", &c.reps, 1}, {"BERTH_BENCH_BURST_REPS", &c.burstReps, 1}, {"BERTH_BENCH_TRACE_REPS", &c.traceReps, 0}} {
		if s := os.Getenv(v.env); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < v.min {
				t.Fatalf("%s=%q: want an integer ≥ %d", v.env, s, v.min)
			}
			*v.dst = n
		}
	}
	if s := os.Getenv("BERTH_BENCH_PULL"); s != "" {
		c.pulls = strings.Split(s, ",")
	}
	if s := os.Getenv("BERTH_BENCH_SETTLE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("BERTH_BENCH_SETTLE=%q: %v", s, err)
		}
		c.settle = d
	}
	return c
}

// sample is one timed start (or burst) of one arm. Marks are ms after t0,
// the moment just before the first call (RunTask, or ContainerCreate).
type sample struct {
	Phase    string             `json:"phase"` // "single" or "burst"
	Arm      string             `json:"arm"`
	Round    int                `json:"round"`    // 0 is the warm-up
	Position int                `json:"position"` // 0: went first in its round
	Marks    map[string]float64 `json:"marks_ms"`
	// QuietBusyPct is the machine's CPU use in the pause after the arm,
	// when the benchmark itself is idle: other work on the box.
	QuietBusyPct float64      `json:"quiet_busy_pct"`
	Calls        []tracedCall `json:"engine_calls,omitempty"` // trace pass only
}

// tracedCall is an engine call of the traced agent, relative to t0.
type tracedCall struct {
	Op       string  `json:"op"`
	StartMS  float64 `json:"start_ms"`
	DurMS    float64 `json:"duration_ms"`
	HTTPCode int     `json:"status"`
}

func ms(t0, t time.Time) float64 { return float64(t.Sub(t0).Microseconds()) / 1000 }

// bench holds what every arm shares.
type bench struct {
	t      *testing.T
	cfg    config
	cli    *client.Client
	image  string
	labels map[string]string
	events *benchkit.EventLog

	seq       benchkit.Counter
	inspected *benchkit.Inspections // by phase/arm: the first container of each

	mu      sync.Mutex
	lastARN map[*benchkit.Berth]string // a task each berth ran, for the poll control
}

func byTask(ev benchkit.Event) string { return ev.Attrs[agent.LabelTaskARN] }

func TestRunTaskOverhead(t *testing.T) {
	if os.Getenv("BERTH_BENCH") != "1" {
		t.Skip("benchmark: set BERTH_BENCH=1 to run it (see bench/runtask/README.md)")
	}
	cfg := loadConfig(t)
	ctx := t.Context()

	image := testimage.Build(ctx, t)
	cli := testimage.Client(ctx, t)
	labels := testimage.Labels(t) // removes what carries them when the test ends
	root, err := berthproc.ModuleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := benchkit.BuildBerth(ctx, root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{t: t, cfg: cfg, cli: cli, image: image, labels: labels, inspected: benchkit.NewInspections(cli), lastARN: map[*benchkit.Berth]string{},
		events: benchkit.WatchEvents(ctx, cli, testimage.LabelCase, labels[testimage.LabelCase], events.ActionCreate, events.ActionStart)}
	host := benchkit.DescribeMachine(ctx, cli, root)

	// One berth dev per pull behaviour, all up for the whole run so their
	// arms interleave with the direct arm and with each other.
	var berths []*benchkit.Berth
	for _, pull := range cfg.pulls {
		br := startBerth(ctx, t, bin, "berth/"+pull, pull)
		b.register(ctx, br)
		berths = append(berths, br)
	}

	var single, burst []arm
	for _, br := range berths {
		single = append(single, arm{br.Name, func(ctx context.Context) (sample, error) { return b.berthStart(ctx, br, singleFamily, 1) }})
		burst = append(burst, arm{br.Name, func(ctx context.Context) (sample, error) { return b.berthStart(ctx, br, burstFamily, burstSize) }})
	}
	single = append(single, arm{"direct", func(ctx context.Context) (sample, error) { return b.directStart(ctx, singleCPU, 1, nil) }})
	// The control: direct again, while the benchmark polls DescribeTasks
	// every 10 ms as it does during a Berth arm. It shows what the poll
	// itself costs the engine on a shared 2-core host.
	single = append(single, arm{controlArm, func(ctx context.Context) (sample, error) { return b.directStart(ctx, singleCPU, 1, berths[0]) }})
	burst = append(burst, arm{"direct", func(ctx context.Context) (sample, error) { return b.directStart(ctx, burstCPU, burstSize, nil) }})

	var samples []sample
	samples = append(samples, b.rounds(ctx, "single", single, cfg.reps, berths)...)
	samples = append(samples, b.rounds(ctx, "burst", burst, cfg.burstReps, berths)...)
	for _, br := range berths {
		br.Stop()
	}

	var traced []sample
	if cfg.traceReps > 0 {
		traced = b.tracePass(ctx, bin)
	}
	fsync := measureFsync(t)

	rep := buildReport(host, cfg, samples, traced, b.diffs, fsync)
	fmt.Print(rep.text())
	if cfg.out != "" {
		if err := rep.writeJSON(cfg.out); err != nil {
			t.Errorf("write %s: %v", cfg.out, err)
		}
	}
	for _, d := range rep.HostConfigDiffs {
		for _, f := range d.Fields {
			if f.Explanation == "" {
				t.Errorf("HostConfig of %s differs from the direct container in %s (%s vs %s) for no known reason: the comparison is not like for like",
					d.Arm, f.Path, f.Berth, f.Direct)
			}
		}
	}
}

// startBerth starts `berth dev` whose agent pulls with pull behaviour and
// logs at debug level, and keeps a stopped task's container for an hour
// (the benchmark removes them itself).
func startBerth(ctx context.Context, t *testing.T, bin, name, pull string, extra ...string) *benchkit.Berth {
	t.Helper()
	flags := []string{"--image-pull-behavior", pull, "--task-cleanup-wait", "1h", "--log-level", "debug"}
	return benchkit.StartBerth(ctx, t, bin, name, append(flags, extra...)...)
}

// register creates the two task definitions on br.
func (b *bench) register(ctx context.Context, br *benchkit.Berth) {
	b.t.Helper()
	for _, td := range []struct {
		family string
		cpu    int32
	}{{singleFamily, singleCPU}, {burstFamily, burstCPU}} {
		_, err := br.ECS.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family:      aws.String(td.family),
			NetworkMode: types.NetworkModeBridge,
			ContainerDefinitions: []types.ContainerDefinition{{
				Name: aws.String("app"), Image: aws.String(b.image), Command: appCommand,
				Memory: aws.Int32(memoryMiB), Cpu: td.cpu, Essential: aws.Bool(true),
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(containerPort), HostPort: aws.Int32(0), Protocol: types.TransportProtocolTcp}},
				DockerLabels: b.labels,
			}},
		})
		if err != nil {
			b.t.Fatalf("%s: RegisterTaskDefinition(%s): %v", br.Name, td.family, err)
		}
	}
}

type arm struct {
	name string
	run  func(context.Context) (sample, error)
}

// rounds runs 1 warm-up round plus reps rounds. Within a round every arm
// runs once; the order rotates each round (ABAB, BABA, ... for two arms), so
// each arm goes first equally often.
func (b *bench) rounds(ctx context.Context, phase string, arms []arm, reps int, berths []*benchkit.Berth) []sample {
	b.t.Helper()
	var out []sample
	for r := 0; r <= reps; r++ {
		var line []string
		for i := range arms {
			a := arms[(i+r)%len(arms)]
			actx, cancel := context.WithTimeout(ctx, 3*time.Minute)
			s, err := a.run(actx)
			cancel()
			if err != nil {
				msg := fmt.Sprintf("%s round %d, %s: %v", phase, r, a.name, err)
				for _, br := range berths {
					if br.Name == a.name {
						msg += "\n" + br.Name + " stderr (tail):\n" + br.StderrTail(4000)
					}
				}
				b.t.Fatal(msg)
			}
			s.Phase, s.Arm, s.Round, s.Position = phase, a.name, r, i
			s.QuietBusyPct = b.settle()
			out = append(out, s)
			line = append(line, fmt.Sprintf("%s %.0f ms", a.name, s.Marks["start_event"]))
		}
		tag := fmt.Sprintf("round %d/%d", r, reps)
		if r == 0 {
			tag = "warm-up"
		}
		b.t.Logf("%s %s: %s", phase, tag, strings.Join(line, ", "))
	}
	return out
}

// berthStart runs n tasks of family (as concurrent RunTask calls of at most
// 10) and times them up to the engine's start events and up to DescribeTasks
// reporting all RUNNING. The tasks are then stopped and their containers
// removed, unmeasured.
func (b *bench) berthStart(ctx context.Context, br *benchkit.Berth, family string, n int) (sample, error) {
	calls := (n + 9) / 10
	arns := make([][]string, calls)
	errs := make([]error, calls)
	var returned [2]time.Time // first and last RunTask response
	var mu sync.Mutex
	var wg sync.WaitGroup

	t0 := time.Now()
	for i := range calls {
		wg.Go(func() {
			count := min(10, n-10*i)
			out, err := br.ECS.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String(family), Count: aws.Int32(int32(count))})
			now := time.Now()
			mu.Lock()
			if returned[0].IsZero() || now.Before(returned[0]) {
				returned[0] = now
			}
			if now.After(returned[1]) {
				returned[1] = now
			}
			mu.Unlock()
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("RunTask: %w", err)
			case len(out.Failures) > 0:
				errs[i] = fmt.Errorf("RunTask failures: %s %s", aws.ToString(out.Failures[0].Reason), aws.ToString(out.Failures[0].Detail))
			default:
				for _, tk := range out.Tasks {
					arns[i] = append(arns[i], aws.ToString(tk.TaskArn))
				}
			}
		})
	}
	wg.Wait()
	all := slices.Concat(arns...)
	if err := errors.Join(errs...); err != nil {
		b.stopTasks(context.WithoutCancel(ctx), br, all)
		return sample{}, err
	}
	tasks, running, err := waitRunning(ctx, br, all)
	if err != nil {
		b.stopTasks(context.WithoutCancel(ctx), br, all)
		return sample{}, err
	}
	starts, err := b.events.WaitKeys(ctx, "start", all, byTask)
	if err != nil {
		b.stopTasks(context.WithoutCancel(ctx), br, all)
		return sample{}, err
	}

	s := sample{Marks: map[string]float64{
		"runtask_returned": ms(t0, returned[1]),
		"running_visible":  ms(t0, running),
	}}
	var created, pullStart, pullStop, startedAt, createEv, startEv []time.Time
	for _, tk := range tasks {
		arn := aws.ToString(tk.TaskArn)
		created = append(created, aws.ToTime(tk.CreatedAt))
		pullStart = append(pullStart, aws.ToTime(tk.PullStartedAt))
		pullStop = append(pullStop, aws.ToTime(tk.PullStoppedAt))
		startedAt = append(startedAt, aws.ToTime(tk.StartedAt))
		startEv = append(startEv, starts[arn].Time)
		if ev, ok := b.events.Lookup("create", arn, byTask); ok {
			createEv = append(createEv, ev.Time)
		}
	}
	markSpan(s.Marks, t0, "task_created", created)
	markSpan(s.Marks, t0, "pull_started", pullStart)
	markSpan(s.Marks, t0, "pull_stopped", pullStop)
	markSpan(s.Marks, t0, "create_event", createEv)
	markSpan(s.Marks, t0, "start_event", startEv)
	markSpan(s.Marks, t0, "agent_started_at", startedAt)
	if n > 1 {
		s.Marks["runtask_first_returned"] = ms(t0, returned[0])
	}

	b.inspectOnce(ctx, phaseOf(n)+"/"+br.Name, starts[all[0]].ID)
	b.mu.Lock()
	b.lastARN[br] = all[0]
	b.mu.Unlock()
	b.stopTasks(context.WithoutCancel(ctx), br, all)
	return s, nil
}

func phaseOf(n int) string {
	if n > 1 {
		return "burst"
	}
	return "single"
}

// markSpan sets name to the last of ts (the time all n got there) and, for
// more than one, name_first to the first. Zero times are skipped.
func markSpan(m map[string]float64, t0 time.Time, name string, ts []time.Time) {
	var ok []time.Time
	for _, t := range ts {
		if !t.IsZero() {
			ok = append(ok, t)
		}
	}
	if len(ok) == 0 {
		return
	}
	first := slices.MinFunc(ok, func(a, b time.Time) int { return a.Compare(b) })
	last := slices.MaxFunc(ok, func(a, b time.Time) int { return a.Compare(b) })
	m[name] = ms(t0, last)
	if len(ts) > 1 {
		m[name+"_first"] = ms(t0, first)
	}
}

// waitRunning polls DescribeTasks every 10 ms until every task is RUNNING,
// and returns them with the time of the response that first showed it.
func waitRunning(ctx context.Context, br *benchkit.Berth, arns []string) ([]types.Task, time.Time, error) {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		out, err := br.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: arns})
		now := time.Now()
		if err != nil {
			return nil, now, fmt.Errorf("DescribeTasks: %w", err)
		}
		running := 0
		for _, tk := range out.Tasks {
			switch aws.ToString(tk.LastStatus) {
			case "RUNNING":
				running++
			case "STOPPED", "DEPROVISIONING":
				return nil, now, fmt.Errorf("task %s stopped before RUNNING: %s %s", aws.ToString(tk.TaskArn), tk.StopCode, aws.ToString(tk.StoppedReason))
			}
		}
		if running == len(arns) {
			return out.Tasks, now, nil
		}
		select {
		case <-ctx.Done():
			return nil, now, fmt.Errorf("%d of %d tasks RUNNING: %w", running, len(arns), ctx.Err())
		case <-tick.C:
		}
	}
}

// stopTasks stops the tasks, waits for STOPPED and removes their containers
// (the agent would keep them for --task-cleanup-wait).
func (b *bench) stopTasks(ctx context.Context, br *benchkit.Berth, arns []string) {
	b.t.Helper()
	if len(arns) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for _, arn := range arns {
		if _, err := br.ECS.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(arn), Reason: aws.String("benchmark")}); err != nil {
			b.t.Errorf("%s: StopTask(%s): %v", br.Name, arn, err)
		}
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		out, err := br.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: arns})
		if err != nil {
			b.t.Errorf("%s: DescribeTasks: %v", br.Name, err)
			return
		}
		stopped := 0
		var ids []string
		for _, tk := range out.Tasks {
			if aws.ToString(tk.LastStatus) == "STOPPED" {
				stopped++
			}
			for _, c := range tk.Containers {
				if id := aws.ToString(c.RuntimeId); id != "" {
					ids = append(ids, id)
				}
			}
		}
		if stopped == len(arns) {
			b.removeContainers(ctx, ids)
			return
		}
		select {
		case <-ctx.Done():
			b.t.Errorf("%s: %d of %d tasks STOPPED: %v", br.Name, stopped, len(arns), ctx.Err())
			return
		case <-tick.C:
		}
	}
}

// removeContainers stops (SIGTERM, 10 s) and removes containers, in
// parallel.
func (b *bench) removeContainers(ctx context.Context, ids []string) {
	b.t.Helper()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			timeout := 10
			_, _ = b.cli.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &timeout})
			if _, err := b.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
				b.t.Errorf("remove container %s: %v", id, err)
			}
		})
	}
	wg.Wait()
}

// controlArm is the direct arm run under the DescribeTasks poll.
const controlArm = "direct+poll"

// directStart creates and starts n containers through the Engine API, all
// at once, and times them up to their start events. With poll set, it
// polls DescribeTasks on poll every 10 ms meanwhile, as a Berth arm does.
// The containers are then stopped and removed, unmeasured.
func (b *bench) directStart(ctx context.Context, cpu int64, n int, poll *benchkit.Berth) (sample, error) {
	ports, err := freePorts(n)
	if err != nil {
		return sample{}, err
	}
	first := b.seq.Take(n)
	ids := make([]string, n)
	errs := make([]error, n)
	createdAt := make([]time.Time, n)
	startedAt := make([]time.Time, n)
	var wg sync.WaitGroup

	if poll != nil {
		stopPoll := b.pollDescribe(ctx, poll)
		defer stopPoll()
	}
	t0 := time.Now()
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("berth-bench-direct-%s-%d", testimage.RunID(), first+i)
			ids[i], createdAt[i], errs[i] = benchkit.CreateStart(ctx, b.cli, b.direct(name, cpu, ports[i]).Options())
			startedAt[i] = time.Now()
		})
	}
	wg.Wait()
	var made []string
	for _, id := range ids {
		if id != "" {
			made = append(made, id)
		}
	}
	defer b.removeContainers(context.WithoutCancel(ctx), made)
	if err := errors.Join(errs...); err != nil {
		return sample{}, err
	}
	starts, err := b.events.WaitKeys(ctx, "start", ids, benchkit.ByID)
	if err != nil {
		return sample{}, err
	}
	s := sample{Marks: map[string]float64{}}
	var createEv, startEv []time.Time
	for _, id := range ids {
		startEv = append(startEv, starts[id].Time)
		if ev, ok := b.events.Lookup("create", id, benchkit.ByID); ok {
			createEv = append(createEv, ev.Time)
		}
	}
	markSpan(s.Marks, t0, "create_returned", createdAt)
	markSpan(s.Marks, t0, "create_event", createEv)
	markSpan(s.Marks, t0, "start_event", startEv)
	markSpan(s.Marks, t0, "start_returned", startedAt)
	b.inspectOnce(ctx, phaseOf(n)+"/direct", ids[0])
	return s, nil
}

// direct is the container the agent would create for the benchmark's task
// definition of cpu units, with hostPort for the dynamic host port: the
// same image, command, memory limit with no swap on top, CPU shares,
// bridge network, one published port, the default log driver and no
// restart policy.
func (b *bench) direct(name string, cpu int64, hostPort int) benchkit.Direct {
	return benchkit.Direct{Name: name, Image: b.image, Cmd: appCommand, Labels: b.labels,
		MemoryMiB: memoryMiB, CPUShares: cpu, ContainerPort: containerPort, HostPort: hostPort}
}

// pollDescribe calls DescribeTasks on br every 10 ms, for a task br ran
// (now stopped), until the returned function is called.
func (b *bench) pollDescribe(ctx context.Context, br *benchkit.Berth) (stop func()) {
	b.mu.Lock()
	arn := b.lastARN[br]
	b.mu.Unlock()
	if arn == "" {
		arn = "arn:aws:ecs:us-east-1:000000000000:task/default/00000000000000000000000000000000"
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(pollEvery)
		defer tick.Stop()
		for {
			_, _ = br.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}})
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// inspectOnce keeps the engine's view of the first container of each arm,
// for the "same options" diff.
func (b *bench) inspectOnce(ctx context.Context, key, id string) {
	if err := b.inspected.Once(ctx, key, id); err != nil {
		b.t.Errorf("inspect %s (%s): %v", id, key, err)
	}
}

// armDiff is how one Berth arm's container differs from the direct one.
type armDiff struct {
	Arm    string      `json:"arm"` // phase/arm
	Fields []fieldDiff `json:"fields"`
}

// diffs compares every Berth arm's container with the direct arm's of the
// same phase: HostConfig first (must match but for explained fields), then
// Config (informational).
func (b *bench) diffs() (host, cfg []armDiff) {
	for _, key := range b.inspected.Keys() {
		phase, name, _ := strings.Cut(key, "/")
		if name == "direct" {
			continue
		}
		d, ok := b.inspected.Get(phase + "/direct")
		if !ok {
			continue
		}
		a, _ := b.inspected.Get(key)
		host = append(host, armDiff{key, diffFields(a.Host, d.Host, explainHostConfig)})
		cfg = append(cfg, armDiff{key, diffFields(a.Config, d.Config, explainConfig)})
	}
	return host, cfg
}

// tracePass runs a separate berth dev (pull behaviour default) whose agent
// reaches the engine through a recording proxy, and records which engine
// calls happen when during single starts and one burst. Diagnostics only.
func (b *bench) tracePass(ctx context.Context, bin string) []sample {
	b.t.Helper()
	if !strings.HasPrefix(b.cli.DaemonHost(), "unix://") {
		b.t.Logf("trace pass skipped: the engine is at %s, not a unix socket", b.cli.DaemonHost())
		return nil
	}
	proxy, err := benchkit.StartTraceProxy(b.t, b.cli.DaemonHost())
	if err != nil {
		b.t.Fatalf("trace proxy: %v", err)
	}
	br := startBerth(ctx, b.t, bin, "berth/default (traced)", "default", "--docker-host", proxy.Host())
	defer br.Stop()
	b.register(ctx, br)

	var out []sample
	run := func(family string, n, round int) {
		t0 := time.Now()
		s, err := b.berthStart(ctx, br, family, n)
		if err != nil {
			b.t.Fatalf("trace pass: %v\nstderr (tail):\n%s", err, br.StderrTail(4000))
		}
		end := t0.Add(time.Duration(s.Marks["running_visible"] * float64(time.Millisecond)))
		for _, c := range proxy.Between(t0, end) {
			s.Calls = append(s.Calls, tracedCall{Op: normalizeOp(c.Method, c.Path), StartMS: ms(t0, c.Start), DurMS: ms(c.Start, c.End), HTTPCode: c.Code})
		}
		s.Phase, s.Arm, s.Round = phaseOf(n), br.Name, round
		s.QuietBusyPct = b.settle()
		out = append(out, s)
	}
	// Direct starts alternate with the traced ones, so the traced engine
	// calls can be set against the engine's speed at the same time.
	direct := func(round int) {
		s, err := b.directStart(ctx, singleCPU, 1, nil)
		if err != nil {
			b.t.Fatalf("trace pass, direct: %v", err)
		}
		s.Phase, s.Arm, s.Round, s.QuietBusyPct = "single", traceDirectArm, round, b.settle()
		out = append(out, s)
	}
	for r := 0; r <= b.cfg.traceReps; r++ {
		if r%2 == 0 {
			run(singleFamily, 1, r)
			direct(r)
		} else {
			direct(r)
			run(singleFamily, 1, r)
		}
	}
	for r := 0; r <= 2; r++ {
		run(burstFamily, burstSize, r)
	}
	b.t.Logf("trace pass: %d single starts and 2 bursts traced (after a warm-up each)", b.cfg.traceReps)
	return out
}

// traceDirectArm names the direct starts of the trace pass.
const traceDirectArm = "direct (trace pass)"

// settle waits for the engine to finish tearing down what the last arm
// made, and returns how busy the machine's CPUs were meanwhile (see
// benchkit.Settle).
func (b *bench) settle() float64 { return benchkit.Settle(b.cfg.settle) }

// measureFsync times 200 4-KiB write+fsync pairs in a temporary directory on
// the disk the data directories live on: the floor under every durable
// commit (Berth's raft log and the agent's report sequence).
func measureFsync(t *testing.T) summary {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "fsync"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	var xs []float64
	for range 200 {
		start := time.Now()
		if _, err := f.Write(buf); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		xs = append(xs, ms(start, time.Now()))
	}
	return summarize(xs)
}
