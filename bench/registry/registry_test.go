package registry

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// config is read from the environment; see README.md.
type config struct {
	warmup, rounds int
	largeLayers    int
	largeLayerSize int
	midLayers      int
	midLayerSize   int
	pullers        int
	smallImages    int
	smallConc      []int
	profileDir     string // CPU profiles of Berth's arms
	// maxOther is how much of the machine other work may take during a
	// pair of arms (%) before the pair is run again, up to retries times.
	maxOther float64
	retries  int
	// quiet is how idle the machine must be before a pair starts (other
	// work ≤ quiet %, waiting at most quietWait).
	quiet     float64
	quietWait time.Duration
}

func defaultConfig() config {
	return config{warmup: 1, rounds: 5, largeLayers: 4, largeLayerSize: 64 << 20, midLayers: 2, midLayerSize: 32 << 20,
		pullers: 8, smallImages: 1000, smallConc: []int{1, 8}, maxOther: 25, retries: 2, quiet: 10, quietWait: 30 * time.Second}
}

func loadConfig(t *testing.T) config {
	t.Helper()
	c := defaultConfig()
	for _, v := range []struct {
		env string
		dst *int
		min int
	}{
		{"BERTH_BENCH_WARMUP", &c.warmup, 0},
		{"BERTH_BENCH_ROUNDS", &c.rounds, 1},
		{"BERTH_BENCH_SMALL", &c.smallImages, 1},
		{"BERTH_BENCH_PULLERS", &c.pullers, 1},
		{"BERTH_BENCH_RETRIES", &c.retries, 0},
	} {
		if s := os.Getenv(v.env); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < v.min {
				t.Fatalf("%s=%q: want an integer ≥ %d", v.env, s, v.min)
			}
			*v.dst = n
		}
	}
	if s := os.Getenv("BERTH_BENCH_SMALL_CONC"); s != "" {
		c.smallConc = nil
		for f := range strings.SplitSeq(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				t.Fatalf("BERTH_BENCH_SMALL_CONC=%q: want a comma-separated list of integers ≥ 1", s)
			}
			c.smallConc = append(c.smallConc, n)
		}
	}
	if s := os.Getenv("BERTH_BENCH_MAX_OTHER"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f <= 0 {
			t.Fatalf("BERTH_BENCH_MAX_OTHER=%q: want a percentage > 0", s)
		}
		c.maxOther = f
	}
	c.profileDir = os.Getenv("BERTH_BENCH_CPUPROFILE")
	return c
}

// sample is one arm of one workload in one round.
type sample struct {
	workload string
	arm      string
	round    int // 0 … warmup-1 are warm-up rounds
	position int // 0: went first in its round
	// disturbed: other work took more than maxOther during its pair on
	// every try.
	disturbed bool
	tries     int
	result
	cpu cpuUse
}

func TestRegistryPushPull(t *testing.T) {
	if os.Getenv("BERTH_BENCH") != "1" {
		t.Skip("benchmark: set BERTH_BENCH=1 to run it (see bench/registry/README.md)")
	}
	cfg := loadConfig(t)
	ctx := t.Context()
	peerBin := peerBinary(ctx, t)
	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	berth := startBerth(t)
	peer := startPeer(ctx, t, peerBin)
	var clients []*client
	for _, s := range []*server{berth, peer} {
		c, err := newClient(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	ws := workloads(cfg)

	var samples []sample
	total := cfg.warmup + cfg.rounds
	for round := range total {
		in, err := newContent(uint64(time.Now().UnixNano())+uint64(round), cfg)
		if err != nil {
			t.Fatal(err)
		}
		// ABAB, alternating which goes first.
		order := slices.Clone(clients)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for wi, w := range ws {
			pair := runPair(ctx, t, cfg, w, wi, in, round, order, peer.pid)
			samples = append(samples, pair...)
		}
	}

	rep := buildReport(cfg, ws, samples, describeMachine(peerVersion(ctx, peerBin)))
	fmt.Print(rep)
}

func warm(round int, cfg config) string {
	if round < cfg.warmup {
		return " (warm-up)"
	}
	return ""
}

// runPair runs workload w on both registries, one after the other, after
// waiting for the machine to be quiet; a pair that other work disturbed
// runs again, up to cfg.retries times.
func runPair(ctx context.Context, t *testing.T, cfg config, w workload, wi int, in *content, round int, order []*client, peerPID int) []sample {
	var pair []sample
	for try := 0; ; try++ {
		if other, ok := waitQuiet(ctx, cfg, peerPID); !ok {
			t.Logf("the machine did not calm down in %v (other work %.0f %%); running anyway", cfg.quietWait, other)
		}
		pair = pair[:0]
		worst := 0.0
		for pos, c := range order {
			s, err := runArm(ctx, cfg, c, w, in, round, wi, try, peerPID)
			if err != nil {
				t.Fatalf("round %d, %s, %s: %v", round, w.name, c.srv.name, err)
			}
			s.position, s.tries = pos, try+1
			t.Logf("round %d%s %-55s %-16s %s", round, warm(round, cfg), w.name, c.srv.name, s.line(w.unit))
			worst = max(worst, s.cpu.otherPct)
			pair = append(pair, s)
		}
		if worst <= cfg.maxOther {
			return pair
		}
		if try >= cfg.retries {
			for i := range pair {
				pair[i].disturbed = true
			}
			t.Logf("round %d, %s: other work took up to %.0f %% of the machine on every try; kept, marked disturbed", round, w.name, worst)
			return pair
		}
		t.Logf("round %d, %s: other work took up to %.0f %% of the machine (> %.0f %%); running the pair again", round, w.name, worst, cfg.maxOther)
	}
}

// waitQuiet waits until other work takes at most cfg.quiet % of the
// machine over half a second, for at most cfg.quietWait. It returns the last
// figure and whether the machine became quiet.
func waitQuiet(ctx context.Context, cfg config, peerPID int) (float64, bool) {
	const window = 500 * time.Millisecond
	tick := time.NewTicker(window)
	defer tick.Stop()
	deadline := time.Now().Add(cfg.quietWait)
	prev := readCPU(peerPID)
	for {
		select {
		case <-ctx.Done():
			return 0, false
		case <-tick.C:
		}
		cur := readCPU(peerPID)
		u := cur.since(prev, window)
		prev = cur
		if !u.ok || u.otherPct <= cfg.quiet {
			return u.otherPct, true
		}
		if time.Now().After(deadline) {
			return u.otherPct, false
		}
	}
}

// runArm runs workload w against one registry on a fresh repository.
func runArm(ctx context.Context, cfg config, c *client, w workload, in *content, round, wi, try, peerPID int) (sample, error) {
	repo := fmt.Sprintf("bench/r%d-w%d-t%d", round, wi, try)
	if err := c.srv.createRepo(ctx, repo); err != nil {
		return sample{}, fmt.Errorf("create repository: %w", err)
	}
	if w.prepare != nil {
		if err := w.prepare(ctx, c, repo, in); err != nil {
			return sample{}, fmt.Errorf("prepare: %w", err)
		}
	}
	// Start each arm without the previous arm's garbage in the process.
	runtime.GC()
	var stopProfile func() error
	if cfg.profileDir != "" && c.srv.pid == 0 {
		f, err := os.Create(filepath.Join(cfg.profileDir, fmt.Sprintf("r%d-w%d-t%d.pprof", round, wi, try)))
		if err != nil {
			return sample{}, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return sample{}, err
		}
		stopProfile = func() error { pprof.StopCPUProfile(); return f.Close() }
	}
	before := readCPU(peerPID)
	res, err := w.run(ctx, c, repo, in)
	after := readCPU(peerPID)
	if stopProfile != nil {
		if perr := stopProfile(); err == nil {
			err = perr
		}
	}
	if err != nil {
		return sample{}, err
	}
	return sample{workload: w.name, arm: c.srv.name, round: round, result: res, cpu: after.since(before, res.elapsed)}, nil
}
