package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/berthhq/berth/internal/berthproc"
)

// machine describes where the figures were taken.
type machine struct {
	CPUModel string  `json:"cpu_model"`
	NumCPU   int     `json:"num_cpu"`
	Kernel   string  `json:"kernel"`
	Go       string  `json:"go"`
	Nginx    string  `json:"nginx"`
	Build    string  `json:"build"`
	Pin      pinPlan `json:"pin"`
	Workers  int     `json:"nginx_workers"`
	Conns    int     `json:"open_loop_conns"`
	Peak     int     `json:"peak_conns"`
	LoadAvg  string  `json:"loadavg_at_start"`
}

func (m machine) String() string {
	pin := "not pinned"
	if m.Pin.Pinned {
		pin = fmt.Sprintf("proxy (Berth or nginx) on CPU %d, generator on CPU %d, backends on both", m.Pin.ServerCPU, m.Pin.GenCPU)
	}
	return fmt.Sprintf("machine: %s, %d CPUs, kernel %s, %s, %s (%d worker), build %s; %s; load average at start %s",
		m.CPUModel, m.NumCPU, m.Kernel, m.Go, m.Nginx, m.Workers, m.Build, pin, m.LoadAvg)
}

func describeMachine(ctx context.Context, o options, plan pinPlan, workers int) machine {
	m := machine{NumCPU: runtime.NumCPU(), Go: runtime.Version(), Pin: plan, Workers: workers, Conns: o.conns, Peak: o.peakConns}
	if n, err := strconv.Atoi(os.Getenv(envNproc)); err == nil {
		m.NumCPU = n // the pinned stage sees one CPU
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.CommandContext(ctx, o.nginx, "-v").CombinedOutput(); err == nil {
		m.Nginx = strings.TrimSpace(strings.TrimPrefix(string(out), "nginx version: "))
	}
	if root, err := berthproc.ModuleRoot(ctx); err == nil {
		m.Build = berthproc.SourceVersion(ctx, root)
	}
	return m
}

// summary is the median over repetitions of one arm at one step.
type summary struct {
	rps, p50, p99, cpuUS, cpu, other float64
	errors                           int
	n, disturbed                     int
}

func summarize(rs []stepResult) summary {
	med := func(f func(stepResult) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if len(v) == 0 {
			return 0
		}
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	s := summary{n: len(rs)}
	s.rps = med(func(r stepResult) float64 { return r.AchievedRPS })
	s.p50 = med(func(r stepResult) float64 { return r.Latency.P50 })
	s.p99 = med(func(r stepResult) float64 { return r.Latency.P99 })
	s.cpuUS = med(func(r stepResult) float64 { return r.ServerCPUus })
	s.cpu = med(func(r stepResult) float64 { return r.ServerCPU })
	s.other = med(func(r stepResult) float64 { return r.OtherCPU })
	for _, r := range rs {
		s.errors += r.Errors
		if r.Disturbed {
			s.disturbed++
		}
	}
	return s
}

// report prints the Markdown tables and the verdict on the targets:
// Berth's throughput at least 0.9 × nginx's, and under 1 ms added p99
// over direct at rates every arm sustains.
func report(w io.Writer, m machine, o options, results []stepResult) {
	pick := func(mode, armName string, rate float64) []stepResult {
		var out []stepResult
		for _, r := range results {
			if !r.Discarded && r.Mode == mode && r.Arm == armName && r.TargetRPS == rate {
				out = append(out, r)
			}
		}
		return out
	}
	fmt.Fprintf(w, "\n%s\n\n", m)
	var under, over, nginxUnder []string
	if !o.onlyPeak {
		fmt.Fprintf(w, "Open loop, %d keep-alive connections, median of %d repetitions (latency from the scheduled send time):\n\n", o.conns, o.reps)
		fmt.Fprintln(w, "| rate (req/s) | Berth req/s | Berth p50 / p99 (ms) | nginx req/s | nginx p50 / p99 (ms) | direct req/s | direct p50 / p99 (ms) | Berth − direct p99 | nginx − direct p99 | errors B/n/d |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, rate := range o.rates {
			b, n, d := summarize(pick("rate", "berth", rate)), summarize(pick("rate", "nginx", rate)), summarize(pick("rate", "direct", rate))
			fmt.Fprintf(w, "| %.0f | %.0f | %.3f / %.3f | %.0f | %.3f / %.3f | %.0f | %.3f / %.3f | %+.3f ms | %+.3f ms | %d/%d/%d |\n",
				rate, b.rps, b.p50, b.p99, n.rps, n.p50, n.p99, d.rps, d.p50, d.p99, b.p99-d.p99, n.p99-d.p99, b.errors, n.errors, d.errors)
			// The latency target applies where every arm keeps up with the
			// offered rate (past saturation, latency is queueing).
			if sustained(b, rate) && sustained(n, rate) && sustained(d, rate) {
				r := strconv.FormatFloat(rate, 'f', 0, 64)
				if b.p99-d.p99 < 1 {
					under = append(under, r)
				} else {
					over = append(over, r)
				}
				if n.p99-d.p99 < 1 {
					nginxUnder = append(nginxUnder, r)
				}
			}
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| rate (req/s) | Berth CPU (cores) | Berth CPU µs/req | nginx CPU (cores) | nginx CPU µs/req | other work B/n/d (cores) | disturbed steps B/n/d |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|")
		for _, rate := range o.rates {
			b, n, d := summarize(pick("rate", "berth", rate)), summarize(pick("rate", "nginx", rate)), summarize(pick("rate", "direct", rate))
			fmt.Fprintf(w, "| %.0f | %.2f | %.1f | %.2f | %.1f | %.2f / %.2f / %.2f | %d/%d/%d of %d |\n", rate, b.cpu, b.cpuUS, n.cpu, n.cpuUS, b.other, n.other, d.other, b.disturbed, n.disturbed, d.disturbed, b.n)
		}
		fmt.Fprintln(w)
	}
	verdictThroughput, throughputChecked := true, false
	if !o.noPeak {
		b, n, d := summarize(pick("peak", "berth", 0)), summarize(pick("peak", "nginx", 0)), summarize(pick("peak", "direct", 0))
		fmt.Fprintf(w, "Peak, closed loop, %d connections, median of %d repetitions:\n\n", o.peakConns, o.reps)
		fmt.Fprintln(w, "| arm | req/s | p50 / p99 (ms) | proxy CPU µs/req | other work (cores) | disturbed steps | errors |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
		fmt.Fprintf(w, "| Berth | %.0f | %.3f / %.3f | %.1f | %.2f | %d of %d | %d |\n", b.rps, b.p50, b.p99, b.cpuUS, b.other, b.disturbed, b.n, b.errors)
		fmt.Fprintf(w, "| nginx | %.0f | %.3f / %.3f | %.1f | %.2f | %d of %d | %d |\n", n.rps, n.p50, n.p99, n.cpuUS, n.other, n.disturbed, n.n, n.errors)
		fmt.Fprintf(w, "| direct | %.0f | %.3f / %.3f | | %.2f | %d of %d | %d |\n", d.rps, d.p50, d.p99, d.other, d.disturbed, d.n, d.errors)
		fmt.Fprintln(w)
		if n.rps > 0 {
			throughputChecked = true
			ratio := b.rps / n.rps
			verdictThroughput = ratio >= 0.9
			fmt.Fprintf(w, "Berth / nginx peak throughput: %.2f; Berth / direct: %.2f\n", ratio, b.rps/max(d.rps, 1))
		}
	}
	yes := func(ok, checked bool) string {
		switch {
		case !checked:
			return "not measured"
		case ok:
			return "yes"
		}
		return "no"
	}
	fmt.Fprintf(w, "Target ≥ 0.9 × nginx throughput: %s\n", yes(verdictThroughput, throughputChecked))
	list := func(rs []string) string {
		if len(rs) == 0 {
			return "none"
		}
		return strings.Join(rs, ", ") + " req/s"
	}
	if !o.onlyPeak {
		fmt.Fprintf(w, "Target < 1 ms added p99 over direct, at rates every arm sustains: met at %s; missed at %s (nginx meets it at %s)\n",
			list(under), list(over), list(nginxUnder))
	}
}

// sustained: the arm delivered the offered rate (within 2 %) without errors.
func sustained(s summary, rate float64) bool {
	return s.errors == 0 && s.rps >= 0.98*rate
}
