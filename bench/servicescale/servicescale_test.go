package servicescale

import (
	"context"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/berthhq/berth/bench/internal/benchkit"
	"github.com/berthhq/berth/internal/berthproc"
	"github.com/berthhq/berth/internal/testapp/testimage"
)

// The workload, the same on every side: the test image (a static Go HTTP
// server FROM scratch, local, never pulled) listening on 8080 inside the
// container, no published port, memory limit 64 MiB with a 32 MiB
// reservation, no health check, a 10 s stop grace period.
const (
	memoryMiB     = 64
	reserveMiB    = 32
	stopGrace     = 10 * time.Second
	family        = "bench-servicescale"
	containerName = "app"
	// LabelArm marks which arm made a container, next to testimage's labels.
	LabelArm = "berth.bench.arm"
)

var appCommand = []string{"-listen", ":8080"}

// config is read from the environment; see README.md.
type config struct {
	rounds       int           // measured rounds after the warm-up
	tasks        int           // the scale-out target
	floors       []int         // concurrencies of the direct create+start floor
	poll         time.Duration // how often each system's own state is polled
	settle       time.Duration // quiet time after each arm's cleanup
	pull         string        // the agent's --image-pull-behavior
	healthyAfter string        // berth dev --task-healthy-after
	out          string        // JSON output file
	trace        bool          // Berth's agent reaches the engine through a recording proxy
}

func loadConfig(t *testing.T) config {
	t.Helper()
	c := config{rounds: 3, tasks: 50, floors: []int{1, 4, 8}, poll: 100 * time.Millisecond, settle: 2 * time.Second,
		pull: "prefer-cached", healthyAfter: "1ms", out: os.Getenv("BERTH_BENCH_OUT")}
	for _, v := range []struct {
		env string
		dst *int
		min int
	}{{"BERTH_BENCH_ROUNDS", &c.rounds, 1}, {"BERTH_BENCH_TASKS", &c.tasks, 2}} {
		if s := os.Getenv(v.env); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < v.min {
				t.Fatalf("%s=%q: want an integer ≥ %d", v.env, s, v.min)
			}
			*v.dst = n
		}
	}
	if s, ok := os.LookupEnv("BERTH_BENCH_FLOOR"); ok {
		c.floors = nil
		for f := range strings.SplitSeq(s, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			n, err := strconv.Atoi(f)
			if err != nil || n < 1 {
				t.Fatalf("BERTH_BENCH_FLOOR=%q: want concurrencies ≥ 1, comma-separated", s)
			}
			c.floors = append(c.floors, n)
		}
	}
	for _, v := range []struct {
		env string
		dst *time.Duration
	}{{"BERTH_BENCH_POLL", &c.poll}, {"BERTH_BENCH_SETTLE", &c.settle}} {
		if s := os.Getenv(v.env); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d < 0 {
				t.Fatalf("%s=%q: want a duration", v.env, s)
			}
			*v.dst = d
		}
	}
	if c.poll <= 0 {
		c.poll = 100 * time.Millisecond
	}
	if s := os.Getenv("BERTH_BENCH_PULL"); s != "" {
		c.pull = s
	}
	c.trace = os.Getenv("BERTH_BENCH_TRACE") == "1"
	if s := os.Getenv("BERTH_BENCH_HEALTHY_AFTER"); s != "" {
		c.healthyAfter = s
	}
	return c
}

// sample is one run of one arm: 0 -> N, then N -> 0. Up marks are ms after
// t0, the moment just before the scaling call (UpdateService, the Swarm
// service update, or the floor's first create); Down marks are ms after the
// scale-in call (or the floor's first stop).
type sample struct {
	Arm      string             `json:"arm"`
	Round    int                `json:"round"`    // 0 is the warm-up
	Position int                `json:"position"` // order within the round
	Up       map[string]float64 `json:"up_ms"`
	Down     map[string]float64 `json:"down_ms"`
	// QuietBusyPct is the machine's CPU use in the pause after the arm,
	// when the benchmark itself is idle: other work on the box.
	QuietBusyPct float64 `json:"quiet_busy_pct"`
}

func ms(t0, t time.Time) float64 { return float64(t.Sub(t0).Microseconds()) / 1000 }

// markStarts records the 1st, 25th (half-way) and last event times of a
// ramp, sorted by time, as prefix_first, prefix_half and prefix_last.
func markRamp(m map[string]float64, t0 time.Time, prefix string, evs []benchkit.Event) {
	if len(evs) == 0 {
		return
	}
	m[prefix+"_first"] = ms(t0, evs[0].Time)
	m[prefix+"_half"] = ms(t0, evs[(len(evs)+1)/2-1].Time)
	m[prefix+"_last"] = ms(t0, evs[len(evs)-1].Time)
}

// The actions the benchmark times: create and start on the way up, die on
// the way down (the container's process has exited), destroy for cleanup.
var watchedActions = []events.Action{events.ActionCreate, events.ActionStart, events.ActionDie, events.ActionDestroy}

// bench holds what every arm shares.
type bench struct {
	t       *testing.T
	cfg     config
	cli     *client.Client
	image   string // the test image's tag (Berth and the floor)
	imageID string // its ID, sha256:… (Swarm: no registry lookup)
	labels  map[string]string
	events  *benchkit.EventLog

	seq       benchkit.Counter
	inspected *benchkit.Inspections // arm -> the engine's view of its first container
	trace     *benchkit.TraceProxy  // nil unless BERTH_BENCH_TRACE=1
}

// startTrace starts the recording proxy in front of the engine's socket.
func (b *bench) startTrace() *benchkit.TraceProxy {
	b.t.Helper()
	host := b.cli.DaemonHost()
	if !strings.HasPrefix(host, "unix://") {
		b.t.Fatalf("BERTH_BENCH_TRACE needs the engine on a unix socket, not %s", host)
	}
	p, err := benchkit.StartTraceProxy(b.t, host)
	if err != nil {
		b.t.Fatalf("trace proxy: %v", err)
	}
	return p
}

// armLabels are the test's labels plus the arm's name.
func (b *bench) armLabels(arm string) map[string]string {
	l := maps.Clone(b.labels)
	l[LabelArm] = arm
	return l
}

type arm struct {
	name string
	run  func(ctx context.Context, round int) (sample, error)
}

func TestServiceScale(t *testing.T) {
	if os.Getenv("BERTH_BENCH") != "1" {
		t.Skip("benchmark: set BERTH_BENCH=1 to run it (see bench/servicescale/README.md)")
	}
	cfg := loadConfig(t)
	ctx := t.Context()

	image := testimage.Build(ctx, t)
	cli := testimage.Client(ctx, t)
	labels := testimage.Labels(t) // removes the containers that carry them when the test ends
	ii, err := cli.ImageInspect(ctx, image)
	if err != nil {
		t.Fatal(err)
	}
	root, err := berthproc.ModuleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := benchkit.BuildBerth(ctx, root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{t: t, cfg: cfg, cli: cli, image: image, imageID: ii.ID, labels: labels, inspected: benchkit.NewInspections(cli),
		events: benchkit.WatchEvents(ctx, cli, testimage.LabelCase, labels[testimage.LabelCase], watchedActions...)}
	host := describeHost(ctx, cli, root)

	sw := b.joinSwarm(ctx) // leaves again at the end if it initialised the swarm
	t.Cleanup(func() { b.removeSwarmServices(context.WithoutCancel(ctx)) })

	berthArgs := []string{"--image-pull-behavior", cfg.pull, "--task-healthy-after", cfg.healthyAfter,
		"--task-cleanup-wait", "1h", "--log-level", "debug"}
	if cfg.trace {
		b.trace = b.startTrace()
		berthArgs = append(berthArgs, "--docker-host", b.trace.Host())
	}
	br := benchkit.StartBerth(ctx, t, bin, "berth", berthArgs...)
	b.registerTaskDefinition(ctx, br)
	t.Cleanup(func() { b.removeBerthServices(context.WithoutCancel(ctx), br) })

	berthArm := arm{"berth", func(ctx context.Context, r int) (sample, error) { return b.berthRun(ctx, br, r) }}
	swarmArm := arm{"swarm", func(ctx context.Context, r int) (sample, error) { return b.swarmRun(ctx, r) }}
	var floorArms []arm
	for _, c := range cfg.floors {
		floorArms = append(floorArms, arm{floorName(c), func(ctx context.Context, r int) (sample, error) { return b.floorRun(ctx, c) }})
	}

	var samples []sample
	for r := 0; r <= cfg.rounds; r++ {
		// Berth and Swarm alternate which goes first (ABAB, BABA); the
		// floors follow, their order rotating too.
		order := []arm{berthArm, swarmArm}
		if r%2 == 0 && r > 0 {
			order = []arm{swarmArm, berthArm}
		}
		if r > 0 { // the warm-up round runs Berth and Swarm only
			for i := range floorArms {
				order = append(order, floorArms[(i+r)%len(floorArms)])
			}
		}
		var line []string
		for i, a := range order {
			actx, cancel := context.WithTimeout(ctx, 8*time.Minute)
			s, err := a.run(actx, r)
			cancel()
			if err != nil {
				msg := fmt.Sprintf("round %d, %s: %v", r, a.name, err)
				if a.name == "berth" {
					msg += "\nberth stderr (tail):\n" + br.StderrTail(6000)
				}
				t.Fatal(msg)
			}
			s.Arm, s.Round, s.Position = a.name, r, i
			s.QuietBusyPct = b.settle()
			samples = append(samples, s)
			line = append(line, fmt.Sprintf("%s %.0f ms up / %.0f ms down", a.name, s.Up["start_last"], s.Down["die_last"]))
		}
		tag := fmt.Sprintf("round %d/%d", r, cfg.rounds)
		if r == 0 {
			tag = "warm-up"
		}
		t.Logf("%s: %s", tag, strings.Join(line, ", "))
	}
	br.Stop()

	rep := buildReport(host, cfg, sw, samples, b.hostConfigDiffs())
	fmt.Print(rep.text())
	if cfg.out != "" {
		if err := rep.writeJSON(cfg.out); err != nil {
			t.Errorf("write %s: %v", cfg.out, err)
		}
	}
}

// poll calls fn every interval until it reports done or fails.
func poll(ctx context.Context, every time.Duration, fn func(now time.Time) (bool, error)) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		done, err := fn(time.Now())
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// inspectOnce keeps the engine's HostConfig of the first container of each
// arm, for the "same options" diff.
func (b *bench) inspectOnce(ctx context.Context, arm, id string) {
	if err := b.inspected.Once(ctx, arm, id); err != nil {
		b.t.Errorf("inspect %s (%s): %v", id, arm, err)
	}
}

// hostConfigDiffs compares Swarm's and the floor's containers with Berth's.
func (b *bench) hostConfigDiffs() []armDiff {
	ref, ok := b.inspected.Get("berth")
	if !ok {
		return nil
	}
	var out []armDiff
	for _, name := range b.inspected.Keys() {
		if name == "berth" {
			continue
		}
		other, _ := b.inspected.Get(name)
		out = append(out, armDiff{Arm: name, Fields: diffFields(ref.Host, other.Host)})
	}
	return out
}

// removeContainers force-removes containers, in parallel.
func (b *bench) removeContainers(ctx context.Context, ids []string) {
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			if _, err := b.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
				b.t.Errorf("remove container %s: %v", id, err)
			}
		})
	}
	wg.Wait()
}

// removeByLabels force-removes every container carrying all of labels
// (which always include this test's own).
func (b *bench) removeByLabels(ctx context.Context, labels map[string]string) {
	f := client.Filters{}
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	res, err := b.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		b.t.Errorf("list containers: %v", err)
		return
	}
	var ids []string
	for _, c := range res.Items {
		ids = append(ids, c.ID)
	}
	b.removeContainers(ctx, ids)
}

// settle waits for the engine to finish tearing down what the last arm
// made, and returns how busy the machine's CPUs were meanwhile (see
// benchkit.Settle).
func (b *bench) settle() float64 { return benchkit.Settle(b.cfg.settle) }
