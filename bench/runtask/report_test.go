package runtask

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/berthhq/berth/bench/internal/benchkit"
)

// What each arm is judged on. Targets are the issue's.
const (
	targetSingle = 1.15
	targetBurst  = 1.3
)

// measures are the headline marks of a phase's arms: the engine's start
// event (the neutral observer) and, for Berth, RUNNING in DescribeTasks.
var measures = []string{"start_event", "running_visible"}

// armSummary is one measure of one arm.
type armSummary struct {
	Phase   string  `json:"phase"`
	Arm     string  `json:"arm"`
	Measure string  `json:"measure"`
	Stats   summary `json:"stats"`
}

// ratio compares a Berth measure with the direct start event of the phase.
type ratio struct {
	Phase        string  `json:"phase"`
	Arm          string  `json:"arm"`
	Measure      string  `json:"measure"`
	BerthMedian  float64 `json:"berth_median_ms"`
	DirectMedian float64 `json:"direct_median_ms"`
	Ratio        float64 `json:"ratio"` // median / median
	CILow        float64 `json:"ci95_low"`
	CIHigh       float64 `json:"ci95_high"`
	OverheadMS   float64 `json:"overhead_ms"` // median difference
	// PairedRatio is the median over rounds of this arm's time / the
	// direct arm's time in the same round: robust to slow drift in how
	// busy the machine is.
	PairedRatio float64 `json:"paired_median_ratio"`
	Target      float64 `json:"target,omitempty"`
	Met         *bool   `json:"met,omitempty"`
}

// timelineRow is one point of an arm's median timeline.
type timelineRow struct {
	Mark     string  `json:"mark"`
	MedianMS float64 `json:"median_ms"` // after t0
	StepMS   float64 `json:"step_ms"`   // median per-run difference from the previous row
}

type armTimeline struct {
	Phase string        `json:"phase"`
	Arm   string        `json:"arm"`
	Rows  []timelineRow `json:"rows"`
}

// traceRow is a median engine call (or mark) of the traced single starts.
type traceRow struct {
	What    string  `json:"what"` // "GET /containers/json #1", or a mark
	StartMS float64 `json:"start_ms"`
	DurMS   float64 `json:"duration_ms,omitempty"`
	Seen    int     `json:"seen_in_runs"`
	IsCall  bool    `json:"is_call"`
}

// burstOp sums one engine operation over a traced burst.
type burstOp struct {
	Op          string  `json:"op"`
	Count       float64 `json:"count"` // median per burst
	MedianDurMS float64 `json:"median_duration_ms"`
	P90DurMS    float64 `json:"p90_duration_ms"`
	FirstMS     float64 `json:"first_start_ms"`
	LastEndMS   float64 `json:"last_end_ms"`
	MaxParallel float64 `json:"max_parallel"`
}

type report struct {
	Host            benchkit.Machine `json:"host"`
	QuietBusy       summary          `json:"quiet_busy_pct"` // machine CPU % in the pauses between arms
	Config          any              `json:"config"`
	Summaries       []armSummary     `json:"summaries"`
	Ratios          []ratio          `json:"ratios"`
	Timelines       []armTimeline    `json:"timelines"`
	HostConfigDiffs []armDiff        `json:"hostconfig_diffs"`
	ConfigDiffs     []armDiff        `json:"config_diffs"`
	TraceSingle     []traceRow       `json:"trace_single,omitempty"`
	TraceDirect     armTimeline      `json:"trace_direct"` // direct starts alternating with the traced ones
	TraceBurst      []burstOp        `json:"trace_burst,omitempty"`
	Fsync           summary          `json:"fsync_4k"`
	Samples         []sample         `json:"samples"`
	Traced          []sample         `json:"traced_samples,omitempty"`
}

// values returns mark of every measured (non-warm-up) sample of phase/arm.
func values(samples []sample, phase, arm, mark string) []float64 {
	var xs []float64
	for _, s := range samples {
		if v, ok := s.Marks[mark]; ok && s.Phase == phase && s.Arm == arm && s.Round > 0 {
			xs = append(xs, v)
		}
	}
	return xs
}

// arms lists the arms of a phase in order of first appearance, direct last.
func arms(samples []sample, phase string) []string {
	var out []string
	for _, s := range samples {
		if s.Phase == phase && s.Arm != "direct" && !slices.Contains(out, s.Arm) {
			out = append(out, s.Arm)
		}
	}
	return append(out, "direct")
}

func isBerth(arm string) bool { return !strings.HasPrefix(arm, "direct") }

func buildReport(h benchkit.Machine, cfg config, samples, traced []sample, diffs func() ([]armDiff, []armDiff), fsync summary) *report {
	r := &report{Host: h, Samples: samples, Traced: traced, Fsync: fsync, Config: map[string]any{
		"reps": cfg.reps, "burst_reps": cfg.burstReps, "trace_reps": cfg.traceReps, "pull_behaviours": cfg.pulls,
		"settle_ms": cfg.settle.Milliseconds(), "burst_size": burstSize, "poll_ms": pollEvery.Milliseconds(),
		"memory_mib": memoryMiB, "cpu_single": singleCPU, "cpu_burst": burstCPU, "command": appCommand,
	}}
	r.HostConfigDiffs, r.ConfigDiffs = diffs()
	for _, phase := range []string{"single", "burst"} {
		direct := values(samples, phase, "direct", "start_event")
		for _, arm := range arms(samples, phase) {
			for _, m := range measures {
				xs := values(samples, phase, arm, m)
				if len(xs) == 0 {
					continue
				}
				r.Summaries = append(r.Summaries, armSummary{phase, arm, m, summarize(xs)})
				if arm == "direct" {
					continue
				}
				// The control arm is compared with direct, without a target.
				lo, hi := benchkit.RatioCI(xs, direct)
				rt := ratio{Phase: phase, Arm: arm, Measure: m, BerthMedian: benchkit.Median(xs), DirectMedian: benchkit.Median(direct),
					Ratio: benchkit.Median(xs) / benchkit.Median(direct), CILow: lo, CIHigh: hi, OverheadMS: benchkit.Median(xs) - benchkit.Median(direct),
					PairedRatio: pairedRatio(samples, phase, arm, m)}
				if m == "start_event" && isBerth(arm) {
					rt.Target = targetSingle
					if phase == "burst" {
						rt.Target = targetBurst
					}
					met := rt.Ratio <= rt.Target
					rt.Met = &met
				}
				r.Ratios = append(r.Ratios, rt)
			}
			r.Timelines = append(r.Timelines, timeline(samples, phase, arm))
		}
	}
	var quiet []float64
	for _, s := range slices.Concat(samples, traced) {
		if s.QuietBusyPct >= 0 {
			quiet = append(quiet, s.QuietBusyPct)
		}
	}
	r.QuietBusy = summarize(quiet)
	if len(quiet) == 0 {
		r.QuietBusy = summary{}
	}
	r.TraceSingle = traceSingle(traced)
	r.TraceDirect = timeline(traced, "single", traceDirectArm)
	r.TraceBurst = traceBurst(traced)
	return r
}

// pairedRatio is the median over measured rounds of arm's mark / direct's
// start event in the same round.
func pairedRatio(samples []sample, phase, arm, mark string) float64 {
	direct := map[int]float64{}
	for _, s := range samples {
		if s.Phase == phase && s.Arm == "direct" && s.Round > 0 {
			direct[s.Round] = s.Marks["start_event"]
		}
	}
	var rs []float64
	for _, s := range samples {
		v, ok := s.Marks[mark]
		if d := direct[s.Round]; ok && d > 0 && s.Phase == phase && s.Arm == arm && s.Round > 0 {
			rs = append(rs, v/d)
		}
	}
	return finite(benchkit.Median(rs))
}

// finite maps NaN (a median of nothing) to 0, which JSON can carry.
func finite(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return x
}

// timeline orders an arm's marks by median offset and gives each the median
// per-run step from the mark before it.
func timeline(samples []sample, phase, arm string) armTimeline {
	tl := armTimeline{Phase: phase, Arm: arm}
	var runs []sample
	names := map[string]bool{}
	for _, s := range samples {
		if s.Phase == phase && s.Arm == arm && s.Round > 0 {
			runs = append(runs, s)
			for k := range s.Marks {
				names[k] = true
			}
		}
	}
	type mk struct {
		name string
		med  float64
	}
	var marks []mk
	for n := range names {
		marks = append(marks, mk{n, benchkit.Median(values(samples, phase, arm, n))})
	}
	slices.SortFunc(marks, func(a, b mk) int {
		if a.med != b.med {
			return cmpFloat(a.med, b.med)
		}
		return strings.Compare(a.name, b.name)
	})
	prev := ""
	for _, m := range marks {
		row := timelineRow{Mark: m.name, MedianMS: m.med}
		var steps []float64
		for _, s := range runs {
			v, ok := s.Marks[m.name]
			if !ok {
				continue
			}
			p := 0.0
			if prev != "" {
				if p, ok = s.Marks[prev]; !ok {
					continue
				}
			}
			steps = append(steps, v-p)
		}
		row.StepMS = finite(benchkit.Median(steps))
		tl.Rows = append(tl.Rows, row)
		prev = m.name
	}
	return tl
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// traceSingle merges the traced single starts into one median timeline of
// engine calls (numbered by occurrence within a run) and marks.
func traceSingle(traced []sample) []traceRow {
	starts, durs := map[string][]float64{}, map[string][]float64{}
	runs := 0
	for _, s := range traced {
		if s.Phase != "single" || s.Round == 0 || !isBerth(s.Arm) {
			continue
		}
		runs++
		seen := map[string]int{}
		for _, c := range s.Calls {
			seen[c.Op]++
			key := fmt.Sprintf("%s #%d", c.Op, seen[c.Op])
			starts[key] = append(starts[key], c.StartMS)
			durs[key] = append(durs[key], c.DurMS)
		}
		for m, v := range s.Marks {
			starts["mark "+m] = append(starts["mark "+m], v)
		}
	}
	if runs == 0 {
		return nil
	}
	var rows []traceRow
	for k, xs := range starts {
		row := traceRow{What: k, StartMS: benchkit.Median(xs), Seen: len(xs)}
		if d, ok := durs[k]; ok {
			row.DurMS, row.IsCall = benchkit.Median(d), true
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b traceRow) int {
		if c := cmpFloat(a.StartMS, b.StartMS); c != 0 {
			return c
		}
		return strings.Compare(a.What, b.What)
	})
	return rows
}

// traceBurst sums the engine calls of the traced bursts per operation.
func traceBurst(traced []sample) []burstOp {
	type acc struct{ count, first, lastEnd, par, durs []float64 }
	by := map[string]*acc{}
	for _, s := range traced {
		if s.Phase != "burst" || s.Round == 0 {
			continue
		}
		per := map[string][]tracedCall{}
		for _, c := range s.Calls {
			per[c.Op] = append(per[c.Op], c)
		}
		for op, cs := range per {
			a := by[op]
			if a == nil {
				a = &acc{}
				by[op] = a
			}
			first, lastEnd := math.Inf(1), math.Inf(-1)
			for _, c := range cs {
				first = min(first, c.StartMS)
				lastEnd = max(lastEnd, c.StartMS+c.DurMS)
				a.durs = append(a.durs, c.DurMS)
			}
			a.count = append(a.count, float64(len(cs)))
			a.first = append(a.first, first)
			a.lastEnd = append(a.lastEnd, lastEnd)
			a.par = append(a.par, float64(maxParallel(cs)))
		}
	}
	var out []burstOp
	for op, a := range by {
		out = append(out, burstOp{Op: op, Count: benchkit.Median(a.count), MedianDurMS: benchkit.Median(a.durs), P90DurMS: benchkit.Quantile(a.durs, 0.9),
			FirstMS: benchkit.Median(a.first), LastEndMS: benchkit.Median(a.lastEnd), MaxParallel: benchkit.Median(a.par)})
	}
	slices.SortFunc(out, func(a, b burstOp) int { return cmpFloat(a.FirstMS, b.FirstMS) })
	return out
}

// maxParallel is the largest number of calls in flight at once.
func maxParallel(cs []tracedCall) int {
	type edge struct {
		at    float64
		delta int
	}
	var es []edge
	for _, c := range cs {
		es = append(es, edge{c.StartMS, 1}, edge{c.StartMS + c.DurMS, -1})
	}
	slices.SortFunc(es, func(a, b edge) int {
		if c := cmpFloat(a.at, b.at); c != 0 {
			return c
		}
		return a.delta - b.delta // ends before starts at the same instant
	})
	cur, best := 0, 0
	for _, e := range es {
		cur += e.delta
		best = max(best, cur)
	}
	return best
}

func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// text renders the report for the terminal and for README.md.
func (r *report) text() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	h := r.Host
	p("\n=== RunTask -> RUNNING overhead vs direct Engine create+start ===\n")
	p("%s  nproc %d  GOMAXPROCS %d  %s  kernel %s  %s\n", h.Date, h.NumCPU, h.GOMAXPROCS, h.GoVersion, h.Kernel, h.OS)
	p("Docker %s (API %s), storage %s, cgroup %s v%s, log driver %s; berth %s\n",
		h.Docker, h.DockerAPI, h.StorageDriver, h.CgroupDriver, h.CgroupVersion, h.LogDriver, h.BerthSource)
	if c, ok := r.Config.(map[string]any); ok && (c["reps"].(int) < 10 || c["burst_reps"].(int) < 3) {
		p("NOT PUBLISHABLE: fewer repetitions than performance.md §1 asks (≥ 10 single, ≥ 3 burst)\n")
	}
	if q := r.QuietBusy; q.N > 0 {
		p("machine CPU busy in the %d pauses between arms (the benchmark idle): median %.0f%%, p90 %.0f%%, max %.0f%%\n", q.N, q.Median, q.P90, q.Max)
		if q.Median > 15 {
			p("WARNING: other work kept the machine busy during the run; the figures carry that noise (rerun on an idle machine to publish)\n")
		}
	}
	p("fsync (4 KiB write+fsync, 200×): median %.2f ms, p90 %.2f ms, max %.2f ms\n", r.Fsync.Median, r.Fsync.P90, r.Fsync.Max)

	for _, phase := range []string{"single", "burst"} {
		title := "Single task (1 RunTask vs 1 create+start), ms from the first call"
		if phase == "burst" {
			title = fmt.Sprintf("Burst (%d tasks: 2 concurrent RunTask count=10 vs %d concurrent create+start), ms from the first call to the last", burstSize, burstSize)
		}
		p("\n%s\n", title)
		p("  %-22s %-30s %4s %9s %9s %9s %9s %9s\n", "arm", "measure", "n", "median", "p90", "p99", "min", "max")
		for _, s := range r.Summaries {
			if s.Phase != phase {
				continue
			}
			m := "RunTask → RUNNING (DescribeTasks)"
			switch {
			case !isBerth(s.Arm):
				m = "create+start → engine start event"
			case s.Measure == "start_event":
				m = "RunTask → engine start event"
			}
			st := s.Stats
			p("  %-22s %-30s %4d %9.1f %9.1f %9.1f %9.1f %9.1f\n", s.Arm, m, st.N, st.Median, st.P90, st.P99, st.Min, st.Max)
		}
		p("  ratios (median Berth / median direct start event, bootstrap 95%% CI):\n")
		for _, rt := range r.Ratios {
			if rt.Phase != phase {
				continue
			}
			p("    %-22s %-32s %6.2f×  [%4.2f, %4.2f]  %+8.1f ms   paired per round %.2f×\n", rt.Arm, measureLabel(rt.Measure), rt.Ratio, rt.CILow, rt.CIHigh, rt.OverheadMS, rt.PairedRatio)
		}
	}

	p("\nVerdicts\n")
	for _, rt := range r.Ratios {
		switch {
		case !isBerth(rt.Arm):
			p("  Control: direct create+start while DescribeTasks is polled every 10 ms: %.0f ms vs direct %.0f ms = %.2f× [%.2f, %.2f] (what the poll costs the engine)\n",
				rt.BerthMedian, rt.DirectMedian, rt.Ratio, rt.CILow, rt.CIHigh)
		case rt.Phase == "single" && rt.Measure == "start_event":
			p("  RunTask -> start event [%s]: %.0f ms vs direct %.0f ms = %.2f× (target ≤ %.2f×): %s\n",
				rt.Arm, rt.BerthMedian, rt.DirectMedian, rt.Ratio, rt.Target, verdict(rt.Met))
		case rt.Phase == "single":
			p("  RunTask -> RUNNING in DescribeTasks [%s]: %.0f ms vs direct start event %.0f ms = %.2f× (Berth's own report; informational)\n",
				rt.Arm, rt.BerthMedian, rt.DirectMedian, rt.Ratio)
		case rt.Measure == "start_event":
			p("  20 at once, last start event [%s]: %.0f ms vs 20 direct %.0f ms = %.2f× (target ≤ %.2f×): %s\n",
				rt.Arm, rt.BerthMedian, rt.DirectMedian, rt.Ratio, rt.Target, verdict(rt.Met))
		default:
			p("  20 at once, all RUNNING in DescribeTasks [%s]: %.0f ms vs 20 direct %.0f ms = %.2f× (informational)\n",
				rt.Arm, rt.BerthMedian, rt.DirectMedian, rt.Ratio)
		}
	}

	p("\nWhere the time goes: median timeline per arm (ms after the first call; step = median per-run gap from the row above)\n")
	for _, tl := range r.Timelines {
		p("  [%s] %s\n", tl.Phase, tl.Arm)
		for _, row := range tl.Rows {
			p("    %8.1f  %+8.1f  %-26s %s\n", row.MedianMS, row.StepMS, row.Mark, markDoc[strings.TrimSuffix(row.Mark, "_first")])
		}
	}

	if len(r.TraceSingle) > 0 {
		p("\nTraced agent (berth/default through a recording Docker API proxy; single starts; medians; diagnostics only)\n")
		p("  %8s %8s  %s\n", "start", "took", "engine call or mark")
		for _, row := range r.TraceSingle {
			if row.IsCall {
				p("  %8.1f %8.1f  %s (in %d runs)\n", row.StartMS, row.DurMS, row.What, row.Seen)
			} else {
				p("  %8.1f %8s  %s\n", row.StartMS, "", row.What)
			}
		}
		p("  direct starts alternating with the traced ones (same window), medians:")
		for _, row := range r.TraceDirect.Rows {
			p("  %s %.1f", row.Mark, row.MedianMS)
		}
		p("\n")
	}
	if len(r.TraceBurst) > 0 {
		p("\nTraced agent, bursts of %d: engine calls per operation (medians over the traced bursts)\n", burstSize)
		p("  %-34s %6s %9s %9s %9s %9s %8s\n", "operation", "count", "med dur", "p90 dur", "first", "last end", "max ||")
		for _, o := range r.TraceBurst {
			p("  %-34s %6.0f %9.1f %9.1f %9.1f %9.1f %8.0f\n", o.Op, o.Count, o.MedianDurMS, o.P90DurMS, o.FirstMS, o.LastEndMS, o.MaxParallel)
		}
	}

	p("\nSame options? docker inspect HostConfig, each Berth arm vs the direct container of the same phase\n")
	writeDiffs(&b, r.HostConfigDiffs, "UNEXPLAINED: the comparison is not like for like")
	p("Config (informational)\n")
	writeDiffs(&b, r.ConfigDiffs, "unexplained")
	return b.String()
}

// writeDiffs prints unexplained differences one by one and explained ones
// grouped by explanation, with the first one's values as an example.
func writeDiffs(b *strings.Builder, diffs []armDiff, unexplained string) {
	for _, d := range diffs {
		if len(d.Fields) == 0 {
			fmt.Fprintf(b, "  %s: identical\n", d.Arm)
			continue
		}
		fmt.Fprintf(b, "  %s:\n", d.Arm)
		groups := map[string][]fieldDiff{}
		var order []string
		for _, f := range d.Fields {
			if f.Explanation == "" {
				fmt.Fprintf(b, "    %s: %s vs %s — %s\n", f.Path, shorten(f.Berth), shorten(f.Direct), unexplained)
				continue
			}
			if _, ok := groups[f.Explanation]; !ok {
				order = append(order, f.Explanation)
			}
			groups[f.Explanation] = append(groups[f.Explanation], f)
		}
		for _, why := range order {
			fs := groups[why]
			if len(fs) == 1 {
				fmt.Fprintf(b, "    %s: %s vs %s — %s\n", fs[0].Path, shorten(fs[0].Berth), shorten(fs[0].Direct), why)
				continue
			}
			var paths []string
			for _, f := range fs {
				paths = append(paths, f.Path)
			}
			list := strings.Join(paths, ", ")
			if len(list) > 110 {
				list = list[:107] + "..."
			}
			fmt.Fprintf(b, "    %d paths (%s) — %s\n", len(fs), list, why)
		}
	}
}

func shorten(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

func measureLabel(m string) string {
	if m == "start_event" {
		return "start event vs direct"
	}
	return "RUNNING visible vs direct"
}

func verdict(met *bool) string {
	if met == nil {
		return "n/a"
	}
	if *met {
		return "MET"
	}
	return "MISSED"
}

// markDoc says what each mark is and whose clock it is on. All clocks are
// the same host's wall clock.
var markDoc = map[string]string{
	"task_created":           "task record created (server, ms precision)",
	"runtask_returned":       "RunTask response received (client)",
	"runtask_first_returned": "first RunTask response received (client)",
	"pull_started":           "agent starts the image step: pullStartedAt (agent)",
	"pull_stopped":           "image step done: pullStoppedAt (agent)",
	"create_event":           "engine create event (create finished)",
	"create_returned":        "ContainerCreate returned (client)",
	"start_event":            "engine start event (neutral observer)",
	"start_returned":         "ContainerStart returned (client)",
	"agent_started_at":       "agent saw it running: startedAt (agent)",
	"running_visible":        "DescribeTasks first shows RUNNING (client, 10 ms poll)",
}
