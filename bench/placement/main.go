// Command placement measures Berth's task placement (performance.md §3 (a)):
// decisions per second of internal/placement on N simulated container
// instances for M tasks of a mixed strategy workload, at GOMAXPROCS 1 and 2,
// with ns and allocations per placement; then the same workload placed and
// committed through the real state store (raft with the raft-wal log,
// fsync'd) as RunTask does, in calls of 10 tasks and of 1; and the disk's
// write+fsync latency. See README.md.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	targetDecisions = 20_000 // decisions/s on one core (issue 4)
	targetCommitted = 2_000  // committed tasks/s (issue 4)
)

type config struct {
	nodes         []int
	tasks         int
	batch         int
	group         int
	procs         []int
	reps          int
	commitBatches []int
	commitCalls   int
	clients       []int
	fsyncN        int
	seed          uint64
	dir, out      string
	cpuProfile    string
	commitProfile string
	skipCommit    bool
}

func main() {
	var c config
	var nodes, procs, batches, clients string
	flag.StringVar(&nodes, "nodes", "1000,5000", "instance counts N, comma-separated")
	flag.IntVar(&c.tasks, "tasks", 10_000, "tasks M placed per run")
	flag.IntVar(&c.batch, "batch", 10, "tasks per placement.Place call in the decision runs (RunTask's maximum count is 10)")
	flag.IntVar(&c.group, "group", 100, "tasks per task group (family); each group has one class of the mix")
	flag.StringVar(&procs, "procs", "1,2", "GOMAXPROCS values for the decision runs")
	flag.IntVar(&c.reps, "reps", 3, "timed decision runs per N and GOMAXPROCS (after one untimed run that counts allocations)")
	flag.StringVar(&batches, "commit-batches", "10,1", "tasks per RunTasks command in the committed runs")
	flag.IntVar(&c.commitCalls, "commit-calls", 2000, "at most this many RunTask calls per committed run (so batch 1 commits the first 2,000 tasks)")
	flag.StringVar(&clients, "clients", "1", "concurrent RunTask callers in the committed runs, comma-separated")
	flag.IntVar(&c.fsyncN, "fsync", 1000, "write+fsync iterations for the disk latency")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the instances, the workload and the tie-breaking")
	flag.StringVar(&c.dir, "dir", "", "directory for the store and the fsync file (default: the system temporary directory; must be on the disk you mean to measure)")
	flag.StringVar(&c.out, "json", "", "write every figure to this JSON file")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the decision runs to this file")
	flag.StringVar(&c.commitProfile, "commit-cpuprofile", "", "write a CPU profile of the committed runs to this file")
	flag.BoolVar(&c.skipCommit, "skip-commit", false, "only the decision runs (and fsync)")
	flag.Parse()
	var err error
	for _, p := range []struct {
		s   string
		dst *[]int
	}{{nodes, &c.nodes}, {procs, &c.procs}, {batches, &c.commitBatches}, {clients, &c.clients}} {
		if *p.dst, err = ints(p.s); err != nil {
			log.Fatal(err)
		}
	}
	if c.batch < 1 || c.tasks < 1 || c.group < 1 || c.reps < 1 {
		log.Fatal("-batch, -tasks, -group and -reps must be at least 1")
	}
	if err := run(c); err != nil {
		log.Fatal(err)
	}
}

func ints(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want positive integers separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}

type result struct {
	Machine    string           `json:"machine"`
	LoadBefore string           `json:"loadavg_before"`
	LoadAfter  string           `json:"loadavg_after"`
	Tasks      int              `json:"tasks"`
	Batch      int              `json:"batch"`
	Fsync      fsyncFigures     `json:"fsync"`
	Decisions  []decisionFigure `json:"decisions"`
	Committed  []commitFigure   `json:"committed"`
}

type decisionFigure struct {
	Nodes              int                `json:"nodes"`
	GOMAXPROCS         int                `json:"gomaxprocs"`
	DecisionsPerSecond float64            `json:"decisions_per_second"` // median of the timed runs
	Min                float64            `json:"decisions_per_second_min"`
	Max                float64            `json:"decisions_per_second_max"`
	NsPerPlacement     float64            `json:"ns_per_placement"`
	AllocsPerPlacement float64            `json:"allocs_per_placement"`
	BytesPerPlacement  float64            `json:"bytes_per_placement"`
	Placed             int                `json:"placed"`
	Failed             int                `json:"failed"`
	NsPerClass         map[string]float64 `json:"ns_per_placement_by_class"`
}

type commitFigure struct {
	Nodes             int     `json:"nodes"`
	Batch             int     `json:"batch"`
	Clients           int     `json:"clients"`
	Tasks             int     `json:"tasks"`
	Failed            int     `json:"failed"`
	Conflicts         int     `json:"conflicts"`
	Seconds           float64 `json:"seconds"`
	TasksPerSecond    float64 `json:"committed_tasks_per_second"`
	CandidatesMsCall  float64 `json:"candidates_ms_per_call"`
	PlaceUsCall       float64 `json:"place_us_per_call"`
	ApplyP50ms        float64 `json:"apply_p50_ms"`
	ApplyP99ms        float64 `json:"apply_p99_ms"`
	StoreTasksPerSec  float64 `json:"store_only_tasks_per_second"` // tasks / time inside Apply
	GOMAXPROCS        int     `json:"gomaxprocs"`
	InstancesRegister float64 `json:"register_seconds"`
}

func run(c config) error {
	dir := c.dir
	if dir == "" {
		dir = os.TempDir()
	}
	res := result{Machine: machine(), LoadBefore: loadavg(), Tasks: c.tasks, Batch: c.batch}
	fmt.Printf("%s; load average %s\n", res.Machine, res.LoadBefore)
	defaultProcs := runtime.GOMAXPROCS(0)

	var err error
	if c.fsyncN > 0 {
		if res.Fsync, err = measureFsync(dir, c.fsyncN, 4096); err != nil {
			return fmt.Errorf("fsync: %w", err)
		}
		f := res.Fsync
		fmt.Printf("fsync in %s: %d × (4 KiB write + fsync): p50 %.0f µs  p90 %.0f µs  p99 %.0f µs  max %.0f µs  mean %.0f µs\n",
			dir, f.Iterations, f.P50us, f.P90us, f.P99us, f.Maxus, f.Meanus)
	}

	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	cluster := newCluster()
	for _, n := range c.nodes {
		insts := instances(n, c.seed)
		reqs := workload(cluster, c.tasks, c.batch, c.group, c.seed)
		fmt.Printf("N=%d M=%d: %d Place calls of %d tasks\n", n, c.tasks, len(reqs), c.batch)
		runtime.GOMAXPROCS(1)
		counted := decide(insts, reqs, c.seed, true) // warm-up, counts allocations
		runs := map[int][]decisionRun{}
		for rep := range c.reps {
			order := slices.Clone(c.procs)
			if rep%2 == 1 {
				slices.Reverse(order) // alternate which goes first
			}
			for _, p := range order {
				runtime.GOMAXPROCS(p)
				runtime.GC()
				r := decide(insts, reqs, c.seed, false)
				runs[p] = append(runs[p], r)
				fmt.Printf("  GOMAXPROCS=%d rep %d: %d placed, %d failed, %.0f decisions/s (%.1f µs/placement)\n",
					p, rep+1, r.placed, r.failed, rate(r.placed+r.failed, r.placeTime), us(r.placeTime)/float64(r.placed+r.failed))
			}
		}
		runtime.GOMAXPROCS(defaultProcs)
		for _, p := range c.procs {
			res.Decisions = append(res.Decisions, decisionFigures(n, p, runs[p], counted))
		}
	}
	if c.cpuProfile != "" {
		pprof.StopCPUProfile()
	}

	if !c.skipCommit {
		if c.commitProfile != "" {
			f, err := os.Create(c.commitProfile)
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		for _, n := range c.nodes {
			insts := instances(n, c.seed)
			for _, b := range c.commitBatches {
				reqs := workload(cluster, c.tasks, b, c.group, c.seed)
				if len(reqs) > c.commitCalls {
					reqs = reqs[:c.commitCalls]
				}
				for _, cl := range c.clients {
					t0 := time.Now()
					store, cleanup, err := openStore(dir, insts)
					if err != nil {
						return err
					}
					reg := time.Since(t0)
					runtime.GC()
					r, err := commit(store, reqs, cl, c.seed)
					cleanup()
					if err != nil {
						return fmt.Errorf("committed run with %d instances, batch %d: %w", n, b, err)
					}
					f := commitFigure{
						Nodes: n, Batch: b, Clients: cl, Tasks: r.placed, Failed: r.failed, Conflicts: r.conflicts,
						Seconds: r.wall.Seconds(), TasksPerSecond: rate(r.placed, r.wall),
						CandidatesMsCall: ms(r.candTime) / float64(r.calls), PlaceUsCall: us(r.placeTime) / float64(r.calls),
						ApplyP50ms: ms(pct(r.applies, 50)), ApplyP99ms: ms(pct(r.applies, 99)),
						StoreTasksPerSec: rate(r.placed, r.applyTime) * float64(cl), GOMAXPROCS: defaultProcs,
						InstancesRegister: reg.Seconds(),
					}
					res.Committed = append(res.Committed, f)
					fmt.Printf("committed N=%d batch %d clients %d: %d tasks in %.2f s = %.0f tasks/s; per call: candidates %.2f ms, Place %.0f µs, RunTasks apply p50 %.2f ms p99 %.2f ms; %d failed, %d conflicts\n",
						n, b, cl, f.Tasks, f.Seconds, f.TasksPerSecond, f.CandidatesMsCall, f.PlaceUsCall, f.ApplyP50ms, f.ApplyP99ms, f.Failed, f.Conflicts)
				}
			}
		}
	}
	res.LoadAfter = loadavg()
	report(res)
	fmt.Printf("load average %s (other work on the machine skews the figures)\n", res.LoadAfter)
	if c.out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(c.out, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func decisionFigures(n, p int, runs []decisionRun, counted decisionRun) decisionFigure {
	rates := make([]float64, len(runs))
	for k, r := range runs {
		rates[k] = rate(r.placed+r.failed, r.placeTime)
	}
	slices.Sort(rates)
	med := rates[len(rates)/2]
	if len(rates)%2 == 0 {
		med = (rates[len(rates)/2-1] + rates[len(rates)/2]) / 2
	}
	decisions := float64(counted.placed + counted.failed)
	f := decisionFigure{
		Nodes: n, GOMAXPROCS: p, DecisionsPerSecond: med, Min: rates[0], Max: rates[len(rates)-1],
		NsPerPlacement:     1e9 / med,
		AllocsPerPlacement: float64(counted.mallocs) / decisions, BytesPerPlacement: float64(counted.bytes) / decisions,
		Placed: runs[0].placed, Failed: runs[0].failed, NsPerClass: map[string]float64{},
	}
	for k := range nClasses {
		var d time.Duration
		tasks := 0
		for _, r := range runs {
			d += r.perClass[k]
			tasks += r.perClassTasks[k]
		}
		if tasks > 0 {
			f.NsPerClass[classNames[k]] = float64(d) / float64(tasks)
		}
	}
	return f
}

func report(res result) {
	fmt.Println()
	fmt.Printf("Placement decisions (M=%d tasks, placement.Place in calls of %d, median of the timed runs):\n\n", res.Tasks, res.Batch)
	fmt.Println("| N | GOMAXPROCS | decisions/s (min–max) | ns/placement | allocs/placement | B/placement | failed | target | met |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, d := range res.Decisions {
		target, met := "20,000/s on one core", "—"
		if d.GOMAXPROCS == 1 {
			target, met = "20,000/s", yesNo(d.DecisionsPerSecond >= targetDecisions)
		}
		fmt.Printf("| %s | %d | %s (%s–%s) | %s | %s | %s | %d | %s | %s |\n", comma(d.Nodes), d.GOMAXPROCS,
			comma(int(d.DecisionsPerSecond)), comma(int(d.Min)), comma(int(d.Max)), comma(int(d.NsPerPlacement)),
			comma(int(d.AllocsPerPlacement+0.5)), comma(int(d.BytesPerPlacement)), d.Failed, target, met)
	}
	fmt.Println()
	fmt.Println("Time per placement by class of the mix (all timed runs):")
	for _, d := range res.Decisions {
		var parts []string
		for _, name := range classNames {
			parts = append(parts, fmt.Sprintf("%s %.1f µs", name, d.NsPerClass[name]/1000))
		}
		fmt.Printf("  N=%d GOMAXPROCS=%d: %s\n", d.Nodes, d.GOMAXPROCS, strings.Join(parts, "; "))
	}
	if len(res.Committed) > 0 {
		fmt.Println()
		fmt.Printf("Committed through the state store as RunTask does (snapshot → candidates → Place → RunTasks, fsync'd), GOMAXPROCS=%d:\n\n", res.Committed[0].GOMAXPROCS)
		fmt.Println("| N | tasks/call | clients | tasks | committed tasks/s | candidates ms/call | Place µs/call | apply p50 / p99 ms | store-only tasks/s | target | met |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
		for _, c := range res.Committed {
			fmt.Printf("| %s | %d | %d | %s | %s | %.2f | %s | %.2f / %.2f | %s | 2,000/s | %s |\n", comma(c.Nodes), c.Batch, c.Clients, comma(c.Tasks),
				comma(int(c.TasksPerSecond)), c.CandidatesMsCall, comma(int(c.PlaceUsCall)), c.ApplyP50ms, c.ApplyP99ms,
				comma(int(c.StoreTasksPerSec)), yesNo(c.TasksPerSecond >= targetCommitted))
		}
	}
	if f := res.Fsync; f.Iterations > 0 {
		fmt.Println()
		fmt.Printf("Disk: %d × (4 KiB write + fsync): p50 %.0f µs, p99 %.0f µs (max %.0f µs) ⇒ at most ~%s sequential fsync'd commits/s\n",
			f.Iterations, f.P50us, f.P99us, f.Maxus, comma(int(1e6/f.P50us)))
	}
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// comma writes n with thousands separators.
func comma(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + comma(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// loadavg is the 1, 5 and 15 minute load averages (Linux).
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs (GOMAXPROCS %d), %s %s/%s", cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
