package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
)

func printMeta(w io.Writer, m meta) {
	fmt.Fprintf(w, "date %s  nproc %d  %s  kernel %s  %s  berth %s\n", m.Date, m.Nproc, m.CPUModel, m.Kernel, m.GoVersion, m.BerthBuild)
	if m.Pin.Pinned {
		fmt.Fprintf(w, "pinned: servers on CPU %d (taskset; berth CPUs %s, baseline CPUs %s), generator on CPU %d (taskset re-exec; CPUs %s)\n",
			m.Pin.ServerCPU, m.BerthCPUs, m.BaselineCPUs, m.Pin.GenCPU, m.GeneratorCPUs)
		fmt.Fprintln(w, "        generator and servers share one machine; only the CPUs are separated")
	} else {
		fmt.Fprintf(w, "NOT pinned (%s): generator and servers compete for the same CPUs\n", m.Pin.Reason)
	}
	fmt.Fprintf(w, "GOMAXPROCS: generator %d, berth %s; generator GOGC %d\n", m.GeneratorGOMAXPROCS, m.BerthGOMAXPROCS, m.GeneratorGOGC)
	fmt.Fprintf(w, "machine load before the run, servers idle: %.2f cores busy", m.IdleMachineCPU)
	if m.IdleMachineCPU > 0.1 {
		fmt.Fprint(w, "  WARNING: other work is running; figures are not representative")
	}
	fmt.Fprintln(w)
	if m.MaxOtherLoad > 0 {
		fmt.Fprintf(w, "other-load gate: before each pair wait up to %gs for < %.2f busy cores; rerun a pair with more than that beside it (up to %d times)\n",
			m.QuietWaitS, m.MaxOtherLoad, m.Retries)
	} else {
		fmt.Fprintln(w, "other-load gate: off")
	}
	fmt.Fprintf(w, "load: open loop, signed DescribeClusters (3 of %d clusters), %d keep-alive HTTP/1.1 connections, %gs warm-up + %gs per step, %d rep(s), ABAB interleaved\n",
		nClusters, m.Conns, m.WarmupS, m.DurationS, m.Reps)
	if m.Reps < 10 {
		fmt.Fprintln(w, "note: fewer than 10 repetitions; the fairness rule for published latency figures is -reps 10 or more")
	}
	fmt.Fprintln(w, "latency is measured from each request's scheduled send time (coordinated omission counted)")
	fmt.Fprintln(w)
}

// restCPU is the machine's busy time not charged to the server or the
// generator: other tenants' processes, and kernel work such as loopback
// softirqs that is not charged to a process.
func (r stepResult) restCPU() float64 { return max(0, r.MachineCPU-r.ServerCPU-r.GenCPU) }

// serverMicrosPerReq is the server's CPU time per answered request. Other
// load on the machine disturbs it far less than latency, and 1e6 divided by
// it bounds what one core could serve.
func (r stepResult) serverMicrosPerReq() float64 {
	if r.AchievedRPS == 0 {
		return 0
	}
	return r.ServerCPU / r.AchievedRPS * 1e6
}

func perCPU(busy map[int]float64) string {
	var b strings.Builder
	for _, n := range slices.Sorted(maps.Keys(busy)) {
		fmt.Fprintf(&b, " cpu%d %.2f", n, busy[n])
	}
	return b.String()
}

func printStep(w io.Writer, o options, r stepResult) {
	fmt.Fprintf(w, "rep %d/%d %6.0f/s %-8s got %8.1f/s err %-5d p50 %6.3f p90 %6.3f p99 %7.3f p99.9 %7.3f max %8.3f ms | lag p99 pacer %.3f send %.3f ms | cores server %.2f (%.0f µs/req) gen %.2f rest %.2f%s | %dB/resp\n",
		r.Rep, o.reps, r.TargetRPS, r.System, r.AchievedRPS, r.Errors,
		r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.P999, r.Latency.Max,
		r.PacerLag.P99, r.SendLag.P99,
		r.ServerCPU, r.serverMicrosPerReq(), r.GenCPU, r.restCPU(), perCPU(r.CPUBusy), r.RespBytes)
	if r.Errors > 0 {
		fmt.Fprintf(w, "        errors %v, e.g. %s\n", r.ErrorKinds, r.ErrorSample)
	}
}

// armSummary is one system at one step over all repetitions: medians of the
// per-repetition figures, with a bootstrap 95 % CI of the median p99 when
// there are at least three repetitions.
type armSummary struct {
	Reps        int     `json:"reps"`
	AchievedRPS float64 `json:"achieved_rps"`
	P50         float64 `json:"p50_ms"`
	P90         float64 `json:"p90_ms"`
	P99         float64 `json:"p99_ms"`
	P99CILow    float64 `json:"p99_ci95_low_ms,omitempty"`
	P99CIHigh   float64 `json:"p99_ci95_high_ms,omitempty"`
	P999        float64 `json:"p99_9_ms"`
	Max         float64 `json:"max_ms"`
	Scheduled   int     `json:"scheduled"`
	Errors      int     `json:"errors"`
	ServerCPU   float64 `json:"server_cpu_cores"`
	ServerUsReq float64 `json:"server_cpu_us_per_request"`
	PacerLagP99 float64 `json:"pacer_lag_p99_ms"`
	RestCPU     float64 `json:"rest_cpu_cores"`
}

type summaryRow struct {
	TargetRPS float64    `json:"target_rps"`
	Berth     armSummary `json:"berth"`
	Baseline  armSummary `json:"baseline"`
}

func summarize(rates []float64, results []stepResult) []summaryRow {
	var rows []summaryRow
	for _, rate := range rates {
		row := summaryRow{TargetRPS: rate}
		for _, arm := range []struct {
			name string
			dst  *armSummary
		}{{"berth", &row.Berth}, {"baseline", &row.Baseline}} {
			var rs []stepResult
			for _, r := range results {
				if r.System == arm.name && r.TargetRPS == rate && !r.Discarded {
					rs = append(rs, r)
				}
			}
			*arm.dst = summarizeArm(rs)
		}
		rows = append(rows, row)
	}
	return rows
}

func summarizeArm(rs []stepResult) armSummary {
	s := armSummary{Reps: len(rs)}
	if len(rs) == 0 {
		return s
	}
	col := func(f func(stepResult) float64) []float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return v
	}
	p99s := col(func(r stepResult) float64 { return r.Latency.P99 })
	s.AchievedRPS = median(col(func(r stepResult) float64 { return r.AchievedRPS }))
	s.P50 = median(col(func(r stepResult) float64 { return r.Latency.P50 }))
	s.P90 = median(col(func(r stepResult) float64 { return r.Latency.P90 }))
	s.P99 = median(p99s)
	s.P999 = median(col(func(r stepResult) float64 { return r.Latency.P999 }))
	s.ServerCPU = median(col(func(r stepResult) float64 { return r.ServerCPU }))
	s.RestCPU = median(col(stepResult.restCPU))
	s.ServerUsReq = median(col(stepResult.serverMicrosPerReq))
	s.PacerLagP99 = median(col(func(r stepResult) float64 { return r.PacerLag.P99 }))
	for _, r := range rs {
		s.Max = max(s.Max, r.Latency.Max)
		s.Scheduled += r.Scheduled
		s.Errors += r.Errors
	}
	if len(rs) >= 3 {
		s.P99CILow, s.P99CIHigh = bootstrapMedianCI(p99s)
	}
	return s
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// bootstrapMedianCI is the percentile bootstrap 95 % interval of the median
// of v, with a fixed seed so that a report can be reproduced from its JSON.
func bootstrapMedianCI(v []float64) (lo, hi float64) {
	const rounds = 4000
	rng := rand.New(rand.NewPCG(1, 2))
	meds := make([]float64, rounds)
	sample := make([]float64, len(v))
	for b := range meds {
		for i := range sample {
			sample[i] = v[rng.IntN(len(v))]
		}
		meds[b] = median(sample)
	}
	slices.Sort(meds)
	return meds[int(0.025*rounds)], meds[int(math.Ceil(0.975*rounds))-1]
}

func printSummary(w io.Writer, o options, rows []summaryRow) {
	fmt.Fprintln(w)
	if o.reps > 1 {
		fmt.Fprintf(w, "Summary: medians over %d repetitions", o.reps)
		if o.reps >= 3 {
			fmt.Fprint(w, "; p99 with bootstrap 95 % CI of the median")
		}
		fmt.Fprintln(w, "; errors summed.")
	} else {
		fmt.Fprintln(w, "Summary (one repetition):")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target req/s | Berth req/s | Berth p50 ms | Berth p99 ms | Berth errors | Berth CPU | Berth µs/req | baseline req/s | baseline p50 ms | baseline p99 ms | baseline errors | baseline CPU | baseline µs/req |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %.0f | %s | %s |\n", r.TargetRPS, armCells(r.Berth), armCells(r.Baseline))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "req/s = achieved rate; CPU = server CPU time per wall second (1.00 = one core busy); µs/req = server CPU time per answered request.")
	for _, r := range rows {
		for _, a := range []struct {
			name string
			s    armSummary
		}{{"Berth", r.Berth}, {"baseline", r.Baseline}} {
			if a.s.RestCPU > 0.2 {
				fmt.Fprintf(w, "warning: at %.0f req/s, %.2f cores were busy with work other than the %s server and the generator: that cell is contaminated (part may be loopback softirq time, which no process is charged for)\n",
					r.TargetRPS, a.s.RestCPU, a.name)
			}
			// Go's timers wake an idle process with 1 ms resolution, so a
			// p99 pacer lag of about 1 ms is the quantum, not overload.
			if a.s.PacerLagP99 > 2 {
				fmt.Fprintf(w, "warning: at %.0f req/s the generator queued %s requests up to %.1f ms late (p99): the generator, not only the server, limits that cell\n",
					r.TargetRPS, a.name, a.s.PacerLagP99)
			}
		}
	}
}

func armCells(s armSummary) string {
	p99 := fmt.Sprintf("%.3f", s.P99)
	if s.P99CIHigh > 0 {
		p99 = fmt.Sprintf("%.3f [%.3f, %.3f]", s.P99, s.P99CILow, s.P99CIHigh)
	}
	return strings.Join([]string{
		fmt.Sprintf("%.0f", s.AchievedRPS),
		fmt.Sprintf("%.3f", s.P50),
		p99,
		fmt.Sprintf("%d", s.Errors),
		fmt.Sprintf("%.2f", s.ServerCPU),
		fmt.Sprintf("%.0f", s.ServerUsReq),
	}, " | ")
}

// The target, and what "sustains" means here.
const (
	targetRPS      = 10_000
	targetP99ms    = 5.0
	rateTolerance  = 0.99  // achieved >= 99 % of the step's target rate
	errorTolerance = 0.001 // at most 0.1 % errors (performance.md saturation rule)
)

type verdict struct {
	Pass   bool   `json:"pass"`
	Line   string `json:"line"`
	Detail string `json:"detail"`
}

func sustains(rate float64, s armSummary) bool {
	return s.Scheduled > 0 &&
		s.AchievedRPS >= rateTolerance*rate &&
		float64(s.Errors) <= errorTolerance*float64(s.Scheduled) &&
		s.P99 < targetP99ms
}

func judge(rows []summaryRow) verdict {
	const question = "Berth sustains ≥ 10,000 signed DescribeClusters/s with p99 < 5 ms: "
	rule := fmt.Sprintf("(rule: a step at ≥ %d req/s where Berth's median achieved rate ≥ %.0f %% of target, errors ≤ %.1f %%, median p99 < %g ms)",
		targetRPS, 100*rateTolerance, 100*errorTolerance, targetP99ms)
	var best, first *summaryRow
	for i := range rows {
		r := &rows[i]
		if r.TargetRPS < targetRPS {
			continue
		}
		if first == nil || r.TargetRPS < first.TargetRPS {
			first = r
		}
		if sustains(r.TargetRPS, r.Berth) && (best == nil || r.TargetRPS > best.TargetRPS) {
			best = r
		}
	}
	describe := func(r *summaryRow) string {
		d := fmt.Sprintf("at %.0f req/s Berth achieved %.0f/s, p99 %.3f ms, %d errors of %d; baseline %.0f/s, p99 %.3f ms, %d errors",
			r.TargetRPS, r.Berth.AchievedRPS, r.Berth.P99, r.Berth.Errors, r.Berth.Scheduled,
			r.Baseline.AchievedRPS, r.Baseline.P99, r.Baseline.Errors)
		if r.Berth.ServerUsReq > 0 && r.Baseline.ServerUsReq > 0 {
			d += fmt.Sprintf("; server CPU per request: Berth %.0f µs (≤ %.0f req/s per core), baseline %.0f µs (≤ %.0f req/s per core)",
				r.Berth.ServerUsReq, 1e6/r.Berth.ServerUsReq, r.Baseline.ServerUsReq, 1e6/r.Baseline.ServerUsReq)
		}
		if r.Berth.RestCPU > 0.2 || r.Baseline.RestCPU > 0.2 {
			d += "; WARNING: other load on the machine during these steps"
		}
		return d
	}
	switch {
	case first == nil:
		return verdict{Line: question + "not measured", Detail: "no step of the ladder is at 10,000 req/s or more " + rule}
	case best != nil:
		return verdict{Pass: true, Line: question + "yes", Detail: describe(best) + " " + rule}
	}
	d := describe(first)
	if !sustains(first.TargetRPS, first.Baseline) {
		d += "; the baseline misses the same bar, so this machine and generator cannot show the target at all"
	}
	return verdict{Line: question + "no", Detail: d + " " + rule}
}

func writeJSON(path string, m meta, results []stepResult, rows []summaryRow, v verdict) error {
	b, err := json.MarshalIndent(struct {
		Meta    meta         `json:"meta"`
		Results []stepResult `json:"results"`
		Summary []summaryRow `json:"summary"`
		Verdict verdict      `json:"verdict"`
	}{m, results, rows, v}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
