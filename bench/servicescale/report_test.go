package servicescale

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/client"

	"github.com/berthhq/berth/bench/internal/benchkit"
)

// hostInfo describes the machine and versions of a run (benchkit.Machine
// under this benchmark's JSON names).
type hostInfo struct {
	Date          string `json:"date"`
	NumCPU        int    `json:"num_cpu"`
	GOMAXPROCS    int    `json:"gomaxprocs"`
	GoVersion     string `json:"go_version"`
	Kernel        string `json:"kernel"`
	OS            string `json:"os"`
	MemTotalMiB   int64  `json:"mem_total_mib"`
	Docker        string `json:"docker"`
	DockerAPI     string `json:"docker_api"`
	StorageDriver string `json:"storage_driver"`
	CgroupDriver  string `json:"cgroup_driver"`
	CgroupVersion string `json:"cgroup_version"`
	LogDriver     string `json:"log_driver"`
	BerthSource   string `json:"berth_source"`
}

func describeHost(ctx context.Context, cli *client.Client, root string) hostInfo {
	return hostInfo(benchkit.DescribeMachine(ctx, cli, root))
}

// summary is the distribution of one measure of one arm, in ms.
type summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median_ms"`
	P90    float64 `json:"p90_ms"`
	Min    float64 `json:"min_ms"`
	Max    float64 `json:"max_ms"`
}

// MarshalJSON writes the figures of a summary of nothing as null: JSON has
// no NaN.
func (s summary) MarshalJSON() ([]byte, error) {
	type plain summary
	if s.N > 0 {
		return json.Marshal(plain(s))
	}
	return []byte(`{"n":0,"median_ms":null,"p90_ms":null,"min_ms":null,"max_ms":null}`), nil
}

func summarize(xs []float64) summary {
	if len(xs) == 0 {
		return summary{Median: math.NaN(), P90: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	return summary{N: len(xs), Median: benchkit.Median(xs), P90: benchkit.Quantile(xs, 0.9), Min: slices.Min(xs), Max: slices.Max(xs)}
}

// report is everything a run found.
type report struct {
	Host     hostInfo              `json:"host"`
	Config   map[string]any        `json:"config"`
	Swarm    swarmState            `json:"swarm"`
	Samples  []sample              `json:"samples"`
	Summary  map[string]summary    `json:"summary"` // "arm/up|down/mark" over the measured rounds
	Ceiling  string                `json:"ceiling_arm"`
	Verdict  verdict               `json:"verdict"`
	Diffs    []armDiff             `json:"hostconfig_diffs_vs_berth"`
	Quiet    summary               `json:"quiet_busy_pct"`
	Paired   map[string]float64    `json:"paired_median_ratio_berth_over_swarm"`
	Fraction map[string]float64    `json:"fraction_of_ceiling"` // ceiling's 50th start / the arm's
	Timeline map[string][]timeMark `json:"median_timeline"`
}

type verdict struct {
	Berth  float64 `json:"berth_median_ms"`
	Swarm  float64 `json:"swarm_median_ms"`
	Ratio  float64 `json:"ratio"`
	CILow  float64 `json:"ci95_low"`
	CIHigh float64 `json:"ci95_high"`
	Met    bool    `json:"met"` // Berth no slower than Swarm: ratio ≤ 1
}

type timeMark struct {
	Mark     string  `json:"mark"`
	MedianMS float64 `json:"median_ms"`
}

// values is one mark of one arm over the measured rounds (round 0 is the
// warm-up and never counts).
func values(samples []sample, arm, dir, mark string) []float64 {
	var xs []float64
	for _, s := range samples {
		if s.Arm != arm || s.Round == 0 {
			continue
		}
		m := s.Up
		if dir == "down" {
			m = s.Down
		}
		if v, ok := m[mark]; ok {
			xs = append(xs, v)
		}
	}
	return xs
}

func buildReport(host hostInfo, cfg config, sw swarmState, samples []sample, diffs []armDiff) *report {
	r := &report{Host: host, Swarm: sw, Samples: samples, Diffs: diffs, Summary: map[string]summary{},
		Paired: map[string]float64{}, Fraction: map[string]float64{}, Timeline: map[string][]timeMark{},
		Config: map[string]any{"rounds": cfg.rounds, "tasks": cfg.tasks, "floor_concurrency": cfg.floors, "poll": cfg.poll.String(),
			"settle": cfg.settle.String(), "pull": cfg.pull, "task_healthy_after": cfg.healthyAfter, "trace": cfg.trace}}
	arms := []string{"berth", "swarm"}
	for _, c := range cfg.floors {
		arms = append(arms, floorName(c))
	}
	var quiet []float64
	for _, s := range samples {
		for dir, m := range map[string]map[string]float64{"up": s.Up, "down": s.Down} {
			for k := range m {
				key := s.Arm + "/" + dir + "/" + k
				if _, ok := r.Summary[key]; !ok {
					r.Summary[key] = summarize(values(samples, s.Arm, dir, k))
				}
			}
		}
		if s.QuietBusyPct >= 0 && s.Round > 0 {
			quiet = append(quiet, s.QuietBusyPct)
		}
	}
	r.Quiet = summarize(quiet)
	best := math.Inf(1)
	for _, a := range arms[2:] {
		if v := r.Summary[a+"/up/start_last"].Median; v < best {
			best, r.Ceiling = v, a
		}
	}
	for _, a := range arms[:2] {
		r.Fraction[a] = best / r.Summary[a+"/up/start_last"].Median
	}
	b, s := values(samples, "berth", "up", "start_last"), values(samples, "swarm", "up", "start_last")
	r.Verdict = verdict{Berth: benchkit.Median(b), Swarm: benchkit.Median(s)}
	r.Verdict.Ratio = r.Verdict.Berth / r.Verdict.Swarm
	r.Verdict.CILow, r.Verdict.CIHigh = benchkit.RatioCI(b, s)
	r.Verdict.Met = r.Verdict.Ratio <= 1
	for _, k := range []string{"up/start_last", "up/steady_seen", "down/die_last", "down/steady_seen"} {
		dir, mark, _ := strings.Cut(k, "/")
		r.Paired[k] = pairedRatio(samples, dir, mark)
	}
	for _, a := range arms[:2] {
		for _, m := range timelineMarks {
			if v := r.Summary[a+"/up/"+m].Median; !math.IsNaN(v) && r.Summary[a+"/up/"+m].N > 0 {
				r.Timeline[a] = append(r.Timeline[a], timeMark{m, v})
			}
		}
		slices.SortStableFunc(r.Timeline[a], func(x, y timeMark) int {
			if x.MedianMS < y.MedianMS {
				return -1
			} else if x.MedianMS > y.MedianMS {
				return 1
			}
			return 0
		})
	}
	return r
}

var timelineMarks = []string{"call_returned", "placed_first", "placed_last", "image_ready_first", "image_ready_last",
	"create_first", "create_half", "create_last", "start_first", "start_half", "start_last",
	"agent_started_first", "agent_started_last", "running_count_seen", "steady_reported", "steady_seen"}

// pairedRatio is the median over rounds of Berth's mark / Swarm's mark in
// the same round.
func pairedRatio(samples []sample, dir, mark string) float64 {
	by := map[int]map[string]float64{}
	for _, s := range samples {
		if s.Round == 0 || (s.Arm != "berth" && s.Arm != "swarm") {
			continue
		}
		m := s.Up
		if dir == "down" {
			m = s.Down
		}
		if v, ok := m[mark]; ok {
			if by[s.Round] == nil {
				by[s.Round] = map[string]float64{}
			}
			by[s.Round][s.Arm] = v
		}
	}
	var rs []float64
	for _, m := range by {
		if bv, ok := m["berth"]; ok {
			if sv, ok := m["swarm"]; ok && sv > 0 {
				rs = append(rs, bv/sv)
			}
		}
	}
	return benchkit.Median(rs)
}

func (r *report) cell(arm, key string) string {
	s, ok := r.Summary[arm+"/"+key]
	if !ok || s.N == 0 {
		return "—"
	}
	if s.N == 1 {
		return fmt.Sprintf("%.0f", s.Median)
	}
	return fmt.Sprintf("%.0f (%.0f–%.0f)", s.Median, s.Min, s.Max)
}

func (r *report) ratioCell(key string) string {
	b, s := r.Summary["berth/"+key], r.Summary["swarm/"+key]
	if b.N == 0 || s.N == 0 || s.Median == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", b.Median/s.Median)
}

func (r *report) text() string {
	var w strings.Builder
	cfg := r.Config
	n := cfg["tasks"]
	h := r.Host
	fmt.Fprintf(&w, "\nService scale 0 -> %v -> 0: Berth vs Docker Swarm on the same engine (performance.md §3(d))\n", n)
	fmt.Fprintf(&w, "%s, berth %s, %d CPUs (GOMAXPROCS %d), %d MiB, kernel %s, %s; %s; Docker %s (API %s), %s, cgroup %s v%s, %s logging\n",
		h.Date, h.BerthSource, h.NumCPU, h.GOMAXPROCS, h.MemTotalMiB, h.Kernel, h.OS, h.GoVersion, h.Docker, h.DockerAPI,
		h.StorageDriver, h.CgroupDriver, h.CgroupVersion, h.LogDriver)
	fmt.Fprintf(&w, "rounds %v (+1 warm-up, discarded), Berth and Swarm alternating which goes first; poll %v; agent pull %v; --task-healthy-after %v; swarm initialised by the benchmark: %v\n",
		cfg["rounds"], cfg["poll"], cfg["pull"], cfg["task_healthy_after"], r.Swarm.Initialised)
	if cfg["trace"] == true {
		fmt.Fprintf(&w, "TRACED: Berth's agent reached the engine through a recording proxy; its figures include the proxy and are diagnostics only\n")
	}
	fmt.Fprintf(&w, "CPU busy in the pauses between arms (other work on the box): median %.0f %%, max %.0f %%\n\n", r.Quiet.Median, r.Quiet.Max)

	floor := r.Ceiling
	fmt.Fprintf(&w, "0 -> %v, ms after the scaling call: median (min–max)\n\n", n)
	fmt.Fprintf(&w, "| measure | Berth | Swarm | Berth/Swarm | floor (%s) |\n|---|---:|---:|---:|---:|\n", floor)
	rows := []struct{ label, key string }{
		{"scaling call returned (floor: every create + start call returned)", "up/call_returned"},
		{"tasks created by the control plane: first", "up/placed_first"},
		{"tasks created by the control plane: last", "up/placed_last"},
		{"1st container create event", "up/create_first"},
		{fmt.Sprintf("%vth container create event", n), "up/create_last"},
		{"**1st container start event**", "up/start_first"},
		{fmt.Sprintf("**%vth container start event**", halfOf(n)), "up/start_half"},
		{fmt.Sprintf("**%vth container start event**", n), "up/start_last"},
		{"own signal, self-reported time (Berth: a new steady-state event, if any; Swarm: the last task's RUNNING timestamp)", "up/steady_reported"},
		{"**own signal seen by the poll** (Berth: services-stable, runningCount = desiredCount and none pending; Swarm: all tasks RUNNING in GET /tasks)", "up/steady_seen"},
	}
	for _, row := range rows {
		fl := "—"
		if strings.Contains(row.key, "create") || strings.Contains(row.key, "start") || row.key == "up/call_returned" {
			fl = r.cell(floor, row.key)
		}
		fmt.Fprintf(&w, "| %s | %s | %s | %s | %s |\n", row.label, r.cell("berth", row.key), r.cell("swarm", row.key), r.ratioCell(row.key), fl)
	}
	rate := func(arm string) string {
		f, l := r.Summary[arm+"/up/start_first"].Median, r.Summary[arm+"/up/start_last"].Median
		if math.IsNaN(f) || l <= f {
			return "—"
		}
		return fmt.Sprintf("%.1f", float64(toInt(n)-1)/((l-f)/1000))
	}
	fmt.Fprintf(&w, "| containers/s during the ramp (1st to last start, medians) | %s | %s | | %s |\n", rate("berth"), rate("swarm"), rate(floor))
	fmt.Fprintf(&w, "| share of the ceiling (floor's last start / arm's) | %.0f %% | %.0f %% | | 100 %% |\n\n",
		100*r.Fraction["berth"], 100*r.Fraction["swarm"])

	fmt.Fprintf(&w, "%v -> 0, ms after the scale-in call (floor: after the first stop call): median (min–max)\n\n", n)
	fmt.Fprintf(&w, "| measure | Berth | Swarm | Berth/Swarm | floor (%s) |\n|---|---:|---:|---:|---:|\n", floor)
	for _, row := range []struct{ label, key string }{
		{"1st container die event", "down/die_first"},
		{fmt.Sprintf("%vth container die event", halfOf(n)), "down/die_half"},
		{fmt.Sprintf("**%vth container die event**", n), "down/die_last"},
		{"own signal, self-reported time (Berth: a new steady-state event, if any; Swarm: the last task state change)", "down/steady_reported"},
		{"own signal seen by the poll (Berth: services-stable at 0; Swarm: no task running or starting)", "down/steady_seen"},
	} {
		fl := "—"
		if strings.Contains(row.key, "die") {
			fl = r.cell(floor, row.key)
		}
		fmt.Fprintf(&w, "| %s | %s | %s | %s | %s |\n", row.label, r.cell("berth", row.key), r.cell("swarm", row.key), r.ratioCell(row.key), fl)
	}

	fmt.Fprintf(&w, "\nFloor: %v direct Engine API create + start (then stop), ms: median (min–max)\n\n", n)
	fmt.Fprintf(&w, "| concurrency | last start event | 1st start event | last die event |\n|---|---:|---:|---:|\n")
	for _, c := range r.Config["floor_concurrency"].([]int) {
		a := floorName(c)
		mark := ""
		if a == floor {
			mark = " (ceiling)"
		}
		fmt.Fprintf(&w, "| %d%s | %s | %s | %s |\n", c, mark, r.cell(a, "up/start_last"), r.cell(a, "up/start_first"), r.cell(a, "down/die_last"))
	}

	fmt.Fprintf(&w, "\nMedian timelines (ms after the scaling call):\n")
	for _, a := range []string{"berth", "swarm"} {
		var parts []string
		for _, m := range r.Timeline[a] {
			parts = append(parts, fmt.Sprintf("%s %.0f", m.Mark, m.MedianMS))
		}
		fmt.Fprintf(&w, "  %s: %s\n", a, strings.Join(parts, ", "))
	}

	if len(r.Diffs) > 0 {
		fmt.Fprintf(&w, "\nHostConfig differences from Berth's container (docker inspect):\n")
		for _, d := range r.Diffs {
			if len(d.Fields) == 0 {
				fmt.Fprintf(&w, "  %s: none\n", d.Arm)
			}
			for _, f := range d.Fields {
				fmt.Fprintf(&w, "  %s: %s = %s (Berth %s)\n", d.Arm, f.Path, f.Other, f.Berth)
			}
		}
	}

	v := r.Verdict
	met := "MISSED"
	if v.Met {
		met = "MET"
	}
	fmt.Fprintf(&w, "\nVerdict:\n")
	fmt.Fprintf(&w, "  0 -> %v, %vth start event: Berth %.0f ms vs Swarm %.0f ms = %.2f× [%.2f, %.2f] (per-round %.2f×) (target ≤ 1.00×, no slower than Swarm): %s\n",
		n, n, v.Berth, v.Swarm, v.Ratio, v.CILow, v.CIHigh, r.Paired["up/start_last"], met)
	fmt.Fprintf(&w, "  0 -> %v, own steady signal seen: Berth %.0f ms vs Swarm %.0f ms = %s (per-round %.2f×) (informational)\n",
		n, r.Summary["berth/up/steady_seen"].Median, r.Summary["swarm/up/steady_seen"].Median, r.ratioCell("up/steady_seen"), r.Paired["up/steady_seen"])
	fmt.Fprintf(&w, "  %v -> 0, %vth die event: Berth %.0f ms vs Swarm %.0f ms = %s (per-round %.2f×) (informational)\n",
		n, n, r.Summary["berth/down/die_last"].Median, r.Summary["swarm/down/die_last"].Median, r.ratioCell("down/die_last"), r.Paired["down/die_last"])
	if floor != "" {
		fmt.Fprintf(&w, "  ceiling (%s, %.0f ms to the %vth start): Berth reaches %.0f %% of it, Swarm %.0f %%\n",
			floor, r.Summary[floor+"/up/start_last"].Median, n, 100*r.Fraction["berth"], 100*r.Fraction["swarm"])
	}
	for _, dir := range []string{"up", "down"} {
		total, with := 0, 0
		for _, s := range r.Samples {
			if s.Arm == "berth" && s.Round > 0 {
				total++
				m := s.Up
				if dir == "down" {
					m = s.Down
				}
				if _, ok := m["steady_reported"]; ok {
					with++
				}
			}
		}
		if with < total {
			fmt.Fprintf(&w, "  Berth emitted a new \"has reached a steady state\" event after %d of %d scale-%ss (%s): it drops an event that repeats the latest one, and a change of desiredCount emits no other event in between\n",
				with, total, map[string]string{"up": "out", "down": "in"}[dir], dir)
		}
	}
	if toInt(r.Config["rounds"]) < 10 {
		fmt.Fprintf(&w, "  (fewer than the 10 rounds performance.md §1 asks for: set BERTH_BENCH_ROUNDS=10 before quoting these)\n")
	}
	return w.String()
}

func halfOf(n any) int { return (toInt(n) + 1) / 2 }

func toInt(v any) int {
	if i, ok := v.(int); ok {
		return i
	}
	return 0
}

func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func TestSummaryJSON(t *testing.T) {
	b, err := json.Marshal(map[string]summary{"none": summarize(nil), "some": summarize([]float64{1, 2, 3})})
	if err != nil {
		t.Fatalf("json.Marshal(summaries) = %v; want the empty one written with nulls", err)
	}
	want := `{"none":{"n":0,"median_ms":null,"p90_ms":null,"min_ms":null,"max_ms":null},"some":{"n":3,"median_ms":2,"p90_ms":`
	if !strings.HasPrefix(string(b), want) {
		t.Errorf("json.Marshal(summaries) = %s; want it to start %s", b, want)
	}
}
