package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berthhq/berth/internal/berthproc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	interrupted := ctx.Err() != nil
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp), errors.Is(err, errStageReported):
		os.Exit(1)
	case interrupted:
		fmt.Fprintln(os.Stderr, "apilatency: interrupted; servers stopped")
		os.Exit(130)
	default:
		fmt.Fprintln(os.Stderr, "apilatency:", err)
		os.Exit(1)
	}
}

// errStageReported: the generator stage failed and has said why.
var errStageReported = errors.New("generator stage failed")

// Limits that keep a mistyped flag from running for hours or opening the
// floodgates; the defaults are far inside them.
const (
	maxRate     = 100_000
	maxDuration = 10 * time.Minute
	maxReps     = 50
	maxTotal    = 4 * time.Hour  // on a quiet machine
	maxWorst    = 12 * time.Hour // waiting for quiet in vain before every pair
)

type options struct {
	rates       []float64
	duration    time.Duration
	warmup      time.Duration
	reps        int
	jsonOut     string
	conns       int
	timeout     time.Duration
	maxInFlight int64
	pin         bool
	cpuProfile  string

	maxOtherLoad float64
	quietWait    time.Duration
	retries      int
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("apilatency", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./bench/apilatency [flags]\n\n"+
			"Open-loop latency of signed ECS DescribeClusters against Berth and a\n"+
			"plain net/http baseline, interleaved. See bench/apilatency/README.md.\n\n")
		fs.PrintDefaults()
	}
	var (
		o     options
		rates = fs.String("rates", "2000,5000,10000,15000", "comma-separated request rates (req/s) of the ladder")
	)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per step")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "unrecorded time at the step's rate before each measurement")
	fs.IntVar(&o.reps, "reps", 1, "repetitions of the interleaved ladder (publish with >= 10)")
	fs.StringVar(&o.jsonOut, "json", "", "write raw results to this file")
	fs.IntVar(&o.conns, "conns", 128, "keep-alive connections per system (HTTP/1.1)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "per-request timeout; a timed-out request is an error")
	fs.Int64Var(&o.maxInFlight, "max-inflight", 20_000, "requests in flight beyond which new ones are dropped and counted as errors")
	fs.BoolVar(&o.pin, "pin", true, "pin servers and generator to separate CPUs with taskset when possible")
	fs.Float64Var(&o.maxOtherLoad, "max-other-load", 0.25, "cores of other work tolerated on the machine: wait for it to drop before each pair and rerun a pair it disturbed (0: don't check)")
	fs.DurationVar(&o.quietWait, "quiet-wait", 2*time.Minute, "longest wait for a quiet machine before each pair")
	fs.IntVar(&o.retries, "retries", 3, "reruns of a pair disturbed by other load")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the load generator to this file")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for s := range strings.SplitSeq(*rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || r <= 0 || r > maxRate {
			return o, fmt.Errorf("-rates: %q is not a rate in (0, %d]", s, maxRate)
		}
		o.rates = append(o.rates, r)
	}
	switch {
	case o.duration < time.Second || o.duration > maxDuration:
		return o, fmt.Errorf("-duration %v: want 1s to %v", o.duration, maxDuration)
	case o.warmup < 0 || o.warmup > maxDuration:
		return o, fmt.Errorf("-warmup %v: want 0 to %v", o.warmup, maxDuration)
	case o.reps < 1 || o.reps > maxReps:
		return o, fmt.Errorf("-reps %d: want 1 to %d", o.reps, maxReps)
	case o.conns < 1 || o.conns > 4096:
		return o, fmt.Errorf("-conns %d: want 1 to 4096", o.conns)
	case o.timeout <= 0 || o.timeout > time.Minute:
		return o, fmt.Errorf("-timeout %v: want up to 1m", o.timeout)
	case o.maxOtherLoad < 0:
		return o, fmt.Errorf("-max-other-load %g: want >= 0", o.maxOtherLoad)
	case o.quietWait < 0 || o.quietWait > 10*time.Minute:
		return o, fmt.Errorf("-quiet-wait %v: want 0 to 10m", o.quietWait)
	case o.retries < 0 || o.retries > 10:
		return o, fmt.Errorf("-retries %d: want 0 to 10", o.retries)
	case o.maxInFlight < 1 || o.maxInFlight > 100_000:
		return o, fmt.Errorf("-max-inflight %d: want 1 to 100000", o.maxInFlight)
	}
	if quiet, worst := o.planned(); quiet > maxTotal || worst > maxWorst {
		return o, fmt.Errorf("the run would take about %v and at most %v, more than the caps of %v and %v",
			quiet.Round(time.Minute), worst.Round(time.Minute), maxTotal, maxWorst)
	}
	return o, nil
}

// planned estimates the run time on a quiet machine (two systems, each step
// warm-up plus measurement plus a little drain) and the worst case, when
// every pair waits for a quiet machine in vain and is rerun.
func (o options) planned() (quiet, worst time.Duration) {
	pair := 2 * (o.warmup + o.duration + 500*time.Millisecond)
	worstPair := pair
	if o.maxOtherLoad > 0 {
		worstPair = time.Duration(1+o.retries) * (pair + o.quietWait)
	}
	n := time.Duration(o.reps * len(o.rates))
	return n * pair, n * worstPair
}

// The launcher builds the binaries and, when it can pin, re-runs this
// program under taskset as the "stage" that drives the load, so every thread
// of the generator inherits the CPU mask from the start.
const (
	envStage = "BERTH_APILATENCY_STAGE" // work directory; set only in the stage
	envPin   = "BERTH_APILATENCY_PIN"   // "serverCPU,genCPU"
	envNproc = "BERTH_APILATENCY_NPROC" // CPUs the launcher could use
	envBuild = "BERTH_APILATENCY_BUILD" // source version of the binaries
)

func run(ctx context.Context, args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	if work := os.Getenv(envStage); work != "" {
		return runStage(ctx, o, stageEnv(work))
	}
	return launch(ctx, o, args)
}

func launch(ctx context.Context, o options, args []string) error {
	root, err := berthproc.ModuleRoot(ctx)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "berth-apilatency-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	quiet, worst := o.planned()
	fmt.Fprintf(os.Stderr, "planned: about %v on a quiet machine, at most %v if it stays busy\n", quiet.Round(time.Second), worst.Round(time.Second))
	fmt.Fprintf(os.Stderr, "building berth and the baseline into %s ...\n", work)
	if err := build(ctx, root, filepath.Join(work, "bin")); err != nil {
		return err
	}
	plan := planPinning(o.pin)
	st := stage{work: work, plan: plan, nproc: runtime.NumCPU(), build: berthproc.SourceVersion(ctx, root)}
	if !plan.Pinned {
		return runStage(ctx, o, st)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "taskset", append([]string{"-c", strconv.Itoa(plan.GenCPU), exe}, args...)...)
	cmd.Env = append(os.Environ(),
		envStage+"="+work,
		fmt.Sprintf("%s=%d,%d", envPin, plan.ServerCPU, plan.GenCPU),
		envNproc+"="+strconv.Itoa(st.nproc),
		envBuild+"="+st.build,
	)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// A Ctrl-C reaches the stage too (same process group); SIGTERM covers a
	// kill of the launcher alone, SIGKILL a crash of it.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.Exited() {
			return errStageReported
		}
		return fmt.Errorf("generator stage: %w", err)
	}
	return nil
}

// stage is what the process that drives the load knows from the launcher.
type stage struct {
	work  string
	plan  pinPlan
	nproc int
	build string
}

func stageEnv(work string) stage {
	st := stage{work: work}
	if a, b, ok := strings.Cut(os.Getenv(envPin), ","); ok {
		s, err1 := strconv.Atoi(a)
		g, err2 := strconv.Atoi(b)
		if err1 == nil && err2 == nil {
			st.plan = pinPlan{Pinned: true, ServerCPU: s, GenCPU: g}
		}
	}
	st.nproc, _ = strconv.Atoi(os.Getenv(envNproc))
	st.build = os.Getenv(envBuild)
	return st
}
