package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/berthhq/berth/internal/berthproc"
)

const (
	nClusters     = 10
	generatorGOGC = 400
)

// runStage starts both servers, prepares Berth's state and runs the
// interleaved ladder. It stops the servers before it returns.
func runStage(ctx context.Context, o options, st stage) error {
	bin := filepath.Join(st.work, "bin")
	serverCPU := -1
	if st.plan.Pinned {
		serverCPU = st.plan.ServerCPU
	}

	berthAddr, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	dataDir := filepath.Join(st.work, "berth-data")
	berth, err := startChild("berth", serverCPU, filepath.Join(st.work, "berth.log"),
		filepath.Join(bin, "berth"), "server", "--listen", berthAddr, "--data-dir", dataDir)
	if err != nil {
		return err
	}
	defer berth.stop()
	if err := berth.waitReady(ctx, "http://"+berthAddr+"/readyz", time.Minute); err != nil {
		return err
	}
	creds, err := berthproc.ReadCredentials(filepath.Join(dataDir, "credentials"))
	if err != nil {
		return err
	}
	if err := createClusters(ctx, "http://"+berthAddr, creds); err != nil {
		return err
	}

	baseAddr, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	base, err := startChild("baseline", serverCPU, filepath.Join(st.work, "baseline.log"),
		filepath.Join(bin, "baseline"), "-listen", baseAddr)
	if err != nil {
		return err
	}
	defer base.stop()
	if err := base.waitReady(ctx, "http://"+baseAddr+"/readyz", time.Minute); err != nil {
		return err
	}

	// The generator allocates per request by design (a real client does);
	// with a small live heap the default GOGC would collect hundreds of
	// times a second and steal its single CPU. Servers keep their defaults.
	debug.SetGCPercent(generatorGOGC)

	m := collectMeta(ctx, o, st, berth, base, berthAddr)
	// Other work on the machine skews every figure; measure it with both
	// servers idle so the report can say so.
	self := strconv.Itoa(os.Getpid())
	a := sampleCPU(self, self)
	if err := pause(ctx, 2*time.Second); err != nil {
		return err
	}
	_, _, m.IdleMachineCPU, _ = sampleCPU(self, self).since(a)
	printMeta(os.Stdout, m)

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	lc := loadConfig{creds: creds, bodies: requestBodies(), conns: o.conns, timeout: o.timeout, maxInFlight: o.maxInFlight}
	eps := [2]endpoint{
		{name: "berth", url: "http://" + berthAddr + "/", pid: berth.pid()},
		{name: "baseline", url: "http://" + baseAddr + "/", pid: base.pid()},
	}
	var results []stepResult
	for rep := range o.reps {
		for si, rate := range o.rates {
			// ABAB with the first of each pair alternating, so drift over
			// the run (heat, page cache, other tenants) hits both alike.
			pair := eps
			if (rep+si)%2 == 1 {
				pair[0], pair[1] = pair[1], pair[0]
			}
			rs, err := runPair(ctx, o, lc, pair, rep+1, rate, []*child{berth, base})
			if err != nil {
				return err
			}
			results = append(results, rs...)
		}
	}
	rows := summarize(o.rates, results)
	printSummary(os.Stdout, o, rows)
	v := judge(rows)
	fmt.Println()
	fmt.Println(v.Line)
	fmt.Println(v.Detail)
	if o.jsonOut != "" {
		if err := writeJSON(o.jsonOut, m, results, rows, v); err != nil {
			return err
		}
		fmt.Println("raw results written to", o.jsonOut)
	}
	return nil
}

// runPair measures one step on both systems. When other work on the machine
// is gated (-max-other-load), it first waits for the machine to be quiet and
// runs the pair again, up to -retries times, if either half was disturbed.
// It keeps the first undisturbed attempt, or else the least disturbed one;
// the others stay in the raw results, marked discarded.
func runPair(ctx context.Context, o options, lc loadConfig, pair [2]endpoint, rep int, rate float64, servers []*child) ([]stepResult, error) {
	var attempts [][]stepResult
	for attempt := 0; ; attempt++ {
		if o.maxOtherLoad > 0 {
			load, err := waitQuiet(ctx, o.maxOtherLoad, o.quietWait)
			if err != nil {
				return nil, err
			}
			if load > o.maxOtherLoad {
				fmt.Printf("        machine still busy (%.2f cores) after waiting %v; running anyway\n", load, o.quietWait)
			}
		}
		var got []stepResult
		for k, ep := range pair {
			for _, c := range servers {
				select {
				case <-c.done:
					return nil, fmt.Errorf("%s exited during the run (%v); log:\n%s", c.name, c.err, c.logTail())
				default:
				}
			}
			r, err := runStep(ctx, lc, ep, rate, o.warmup, o.duration)
			if err != nil {
				return nil, err
			}
			r.Rep, r.Order = rep, k
			r.Disturbed = o.maxOtherLoad > 0 && r.restCPU() > o.maxOtherLoad
			printStep(os.Stdout, o, r)
			got = append(got, r)
			if err := pause(ctx, 250*time.Millisecond); err != nil {
				return nil, err
			}
		}
		attempts = append(attempts, got)
		if disturbance(got) <= o.maxOtherLoad || o.maxOtherLoad == 0 || attempt >= o.retries {
			break
		}
		fmt.Printf("        other load above %.2f cores during this pair: running it again\n", o.maxOtherLoad)
	}
	keep := 0
	for i, a := range attempts {
		if disturbance(a) < disturbance(attempts[keep]) {
			keep = i
		}
	}
	if len(attempts) > 1 {
		fmt.Printf("        keeping attempt %d of %d (other load %.2f cores)\n", keep+1, len(attempts), disturbance(attempts[keep]))
	}
	var out []stepResult
	for i, a := range attempts {
		for _, r := range a {
			r.Discarded = i != keep
			out = append(out, r)
		}
	}
	return out, nil
}

// disturbance is the most other load beside either half of a pair.
func disturbance(pair []stepResult) float64 {
	var d float64
	for _, r := range pair {
		d = max(d, r.restCPU())
	}
	return d
}

// waitQuiet waits, up to max, for a second in which the machine has fewer
// than limit cores busy; the servers and the generator are idle meanwhile,
// so that is other tenants' load. It returns the last load seen.
func waitQuiet(ctx context.Context, limit float64, max time.Duration) (float64, error) {
	deadline := time.Now().Add(max)
	self := strconv.Itoa(os.Getpid())
	for {
		a := sampleCPU(self, self)
		if err := pause(ctx, time.Second); err != nil {
			return 0, err
		}
		_, _, load, _ := sampleCPU(self, self).since(a)
		if load <= limit || time.Now().After(deadline) {
			return load, nil
		}
	}
}

func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func clusterName(i int) string { return fmt.Sprintf("bench-%02d", i) }

// requestBodies are DescribeClusters inputs naming three of the clusters,
// rotating so that consecutive requests differ as a real client's would.
func requestBodies() [][]byte {
	var out [][]byte
	for i := range nClusters {
		out = append(out, fmt.Appendf(nil, `{"clusters":[%q,%q,%q]}`,
			clusterName(i), clusterName((i+1)%nClusters), clusterName((i+2)%nClusters)))
	}
	return out
}

// createClusters creates the clusters the load describes, through the AWS
// SDK, and checks that a DescribeClusters like the load's finds them all.
func createClusters(ctx context.Context, baseURL string, c aws.Credentials) error {
	client := ecs.New(ecs.Options{
		Region:       region,
		BaseEndpoint: aws.String(baseURL),
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, ""),
	})
	for i := range nClusters {
		if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(clusterName(i))}); err != nil {
			return fmt.Errorf("create cluster %s: %w", clusterName(i), err)
		}
	}
	names := []string{clusterName(0), clusterName(1), clusterName(2)}
	out, err := client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: names})
	if err != nil {
		return fmt.Errorf("describe clusters: %w", err)
	}
	if len(out.Clusters) != len(names) || len(out.Failures) != 0 {
		return fmt.Errorf("describe clusters %v: %d clusters and %d failures; want %d and 0",
			names, len(out.Clusters), len(out.Failures), len(names))
	}
	return nil
}

// meta records the machine and setup a run is only valid for.
type meta struct {
	Date                string    `json:"date"`
	Nproc               int       `json:"nproc"`
	CPUModel            string    `json:"cpu_model"`
	Kernel              string    `json:"kernel"`
	GoVersion           string    `json:"go_version"`
	GeneratorGOMAXPROCS int       `json:"generator_gomaxprocs"`
	BerthGOMAXPROCS     string    `json:"berth_gomaxprocs"`
	BerthBuild          string    `json:"berth_build"`
	Pin                 pinPlan   `json:"pin"`
	GeneratorCPUs       string    `json:"generator_cpus"`
	BerthCPUs           string    `json:"berth_cpus"`
	BaselineCPUs        string    `json:"baseline_cpus"`
	Rates               []float64 `json:"rates"`
	DurationS           float64   `json:"duration_s"`
	WarmupS             float64   `json:"warmup_s"`
	Reps                int       `json:"reps"`
	Conns               int       `json:"conns"`
	TimeoutS            float64   `json:"timeout_s"`
	GeneratorGOGC       int       `json:"generator_gogc"`
	MaxOtherLoad        float64   `json:"max_other_load_cores"`
	QuietWaitS          float64   `json:"quiet_wait_s"`
	Retries             int       `json:"retries"`
	// IdleMachineCPU is the machine's busy cores over 2 s before the run,
	// with both servers idle: other tenants' load.
	IdleMachineCPU float64 `json:"idle_machine_cpu_cores"`
}

func collectMeta(ctx context.Context, o options, st stage, berth, base *child, berthAddr string) meta {
	m := meta{
		Date:                time.Now().UTC().Format(time.RFC3339),
		Nproc:               st.nproc,
		CPUModel:            cpuModel(),
		Kernel:              readTrim("/proc/sys/kernel/osrelease"),
		GoVersion:           runtime.Version(),
		GeneratorGOMAXPROCS: runtime.GOMAXPROCS(0),
		BerthGOMAXPROCS:     berthGOMAXPROCS(ctx, berthAddr),
		Pin:                 st.plan,
		Rates:               o.rates,
		DurationS:           o.duration.Seconds(),
		WarmupS:             o.warmup.Seconds(),
		Reps:                o.reps,
		Conns:               o.conns,
		TimeoutS:            o.timeout.Seconds(),
		GeneratorGOGC:       generatorGOGC,
		MaxOtherLoad:        o.maxOtherLoad,
		QuietWaitS:          o.quietWait.Seconds(),
		Retries:             o.retries,
	}
	m.BerthBuild = st.build
	m.GeneratorCPUs, _ = cpusAllowedList("self")
	m.BerthCPUs, _ = cpusAllowedList(berth.pid())
	m.BaselineCPUs, _ = cpusAllowedList(base.pid())
	return m
}

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

func cpuModel() string {
	for line := range strings.SplitSeq(readTrim("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// berthGOMAXPROCS reads the Go runtime's own gauge from Berth's metrics, to
// show that the CPU mask reached the server's scheduler.
func berthGOMAXPROCS(ctx context.Context, addr string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return "unknown"
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return "unknown"
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && !errors.Is(err, io.EOF) {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "go_sched_gomaxprocs_threads "); ok {
			return v
		}
	}
	return "unknown"
}
