package registry

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/bench/internal/benchkit"
)

// CPU accounting from /proc: the machine's busy time, the benchmark
// process's own (client, and Berth when it is the arm) and docker-registry's.
// What is left is other work on the machine, which makes a figure suspect.

// clockTick is Linux's USER_HZ, the unit of /proc/stat and /proc/<pid>/stat.
const clockTick = 100.0

type cpuSnapshot struct {
	busy, self, peer float64 // CPU seconds since boot / process start
	ok               bool
}

func readCPU(peerPID int) cpuSnapshot {
	var s cpuSnapshot
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	busy, ok := parseProcStat(string(b))
	if !ok {
		return s
	}
	self, ok1 := readProcCPU("self")
	peer, ok2 := readProcCPU(strconv.Itoa(peerPID))
	return cpuSnapshot{busy: busy, self: self, peer: peer, ok: ok1 && ok2}
}

func readProcCPU(pid string) (float64, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, false
	}
	return parseProcPIDStat(string(b))
}

// parseProcStat returns the machine's busy CPU seconds from /proc/stat's
// "cpu" line: user, nice, system, irq, softirq and steal (guest time is
// part of user already).
func parseProcStat(s string) (float64, bool) {
	line, _, _ := strings.Cut(s, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, false
	}
	var busy float64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system _idle _iowait irq softirq steal
		n, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return 0, false
		}
		busy += float64(n)
	}
	return busy / clockTick, true
}

// parseProcPIDStat returns a process's user + system CPU seconds from
// /proc/<pid>/stat. The command name may hold spaces and parentheses, so
// fields are counted from the last ')'.
func parseProcPIDStat(s string) (float64, bool) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 { // f[0] is field 3 (state); utime, stime are fields 14, 15
		return 0, false
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return float64(u+st) / clockTick, true
}

// cpuUse is the CPU an arm took, in seconds.
type cpuUse struct {
	self, peer, other float64
	otherPct          float64 // other work, in % of the machine's capacity
	ok                bool
}

func (a cpuSnapshot) since(b cpuSnapshot, elapsed time.Duration) cpuUse {
	if !a.ok || !b.ok {
		return cpuUse{}
	}
	u := cpuUse{self: a.self - b.self, peer: a.peer - b.peer, ok: true}
	u.other = max(0, (a.busy-b.busy)-u.self-u.peer)
	if elapsed > 0 {
		u.otherPct = 100 * u.other / (elapsed.Seconds() * float64(runtime.NumCPU()))
	}
	return u
}

// Statistics.

// quantile and median are benchkit's.
var (
	quantile = benchkit.Quantile
	median   = benchkit.Median
)

// throughput is the sample's figure in its unit: MB/s (10^6 bytes) or
// operations per second.
func (r result) throughput(unit string) float64 {
	if unit == "MB/s" {
		return float64(r.bytes) / 1e6 / r.elapsed.Seconds()
	}
	return float64(r.ops) / r.elapsed.Seconds()
}

func (s sample) line(unit string) string {
	l := fmt.Sprintf("%8.3f s  %8.1f %s", s.elapsed.Seconds(), s.throughput(unit), unit)
	if s.tries > 1 {
		l += fmt.Sprintf("  (try %d)", s.tries)
	}
	switch {
	case s.cpu.ok && s.arm == peerArm:
		l += fmt.Sprintf("  cpu: client %.2f s, server %.2f s; other work %.0f %%", s.cpu.self, s.cpu.peer, s.cpu.otherPct)
	case s.cpu.ok:
		l += fmt.Sprintf("  cpu: client + server %.2f s; other work %.0f %%", s.cpu.self+s.cpu.peer, s.cpu.otherPct)
	}
	return l
}

// armStats summarises one arm of one workload over the measured rounds.
type armStats struct {
	n                    int
	elapsed              float64 // median, s
	tput, tputLo, tputHi float64 // median, min, max
	p50, p99             float64 // per-operation latency, ms, pooled over rounds
	cpu                  float64 // median client+server CPU s
	otherPct             float64 // median
}

func summarize(samples []sample, unit string) armStats {
	var el, tp, lat, cpu, other []float64
	for _, s := range samples {
		el = append(el, s.elapsed.Seconds())
		tp = append(tp, s.throughput(unit))
		for _, l := range s.latencies {
			lat = append(lat, float64(l.Microseconds())/1000)
		}
		if s.cpu.ok {
			cpu = append(cpu, s.cpu.self+s.cpu.peer)
			other = append(other, s.cpu.otherPct)
		}
	}
	st := armStats{n: len(samples), elapsed: median(el), tput: median(tp), p50: quantile(lat, 0.5), p99: quantile(lat, 0.99),
		cpu: median(cpu), otherPct: median(other)}
	if len(tp) > 0 {
		st.tputLo, st.tputHi = slices.Min(tp), slices.Max(tp)
	}
	return st
}

// roundRatios pairs the arms' samples by round: Berth's throughput over
// the peer's, one figure per round both ran.
func roundRatios(berth, peer []sample, unit string) []float64 {
	var out []float64
	for _, a := range berth {
		for _, p := range peer {
			if a.round == p.round {
				out = append(out, a.throughput(unit)/p.throughput(unit))
			}
		}
	}
	return out
}

func (a armStats) cell(unit string) string {
	c := fmt.Sprintf("%.2f s · **%.1f %s** (%.1f–%.1f)", a.elapsed, a.tput, unit, a.tputLo, a.tputHi)
	if !math.IsNaN(a.p50) {
		c += fmt.Sprintf(" · p50 %.1f ms, p99 %.1f ms", a.p50, a.p99)
	}
	return c
}

func buildReport(cfg config, ws []workload, samples []sample, machine string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nRegistry push/pull, Berth vs docker-registry (%s)\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "%s\n", machine)
	fmt.Fprintf(&b, "%d measured rounds after %d warm-up, arms interleaved (ABAB, alternating which goes first); median (min–max over rounds)\n\n",
		cfg.rounds, cfg.warmup)
	fmt.Fprintf(&b, "| workload | Berth | docker-registry | Berth/peer throughput | same, per round: median (min–max) |\n|---|---|---|---|---|\n")
	var verdicts []string
	var cpuRows []string
	for _, w := range ws {
		byArm := map[string][]sample{}
		for _, s := range samples {
			if s.workload == w.name && s.round >= cfg.warmup {
				byArm[s.arm] = append(byArm[s.arm], s)
			}
		}
		a, p := summarize(byArm[berthArm], w.unit), summarize(byArm[peerArm], w.unit)
		ratio := a.tput / p.tput
		rr := roundRatios(byArm[berthArm], byArm[peerArm], w.unit)
		lo, hi := math.NaN(), math.NaN()
		if len(rr) > 0 {
			lo, hi = slices.Min(rr), slices.Max(rr)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | **%.2f×** | %.2f× (%.2f–%.2f) |\n", w.name, a.cell(w.unit), p.cell(w.unit), ratio, median(rr), lo, hi)
		verdict := "MET"
		if ratio < 1 {
			verdict = "NOT MET"
		}
		verdicts = append(verdicts, fmt.Sprintf("%s: Berth %.2f× the peer's throughput (target ≥ 1.00×): %s", w.name, ratio, verdict))
		cpuRows = append(cpuRows, fmt.Sprintf("| %s | %.2f | %.2f | %.0f %% / %.0f %% |", w.name, a.cpu, p.cpu, a.otherPct, p.otherPct))
	}
	fmt.Fprintf(&b, "\n| workload | CPU s, client + server (Berth) | CPU s, client + server (peer) | other work on the machine (Berth / peer arms) |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "%s\n\n", strings.Join(cpuRows, "\n"))
	reruns, disturbed := 0, 0
	for _, s := range samples {
		if s.round >= cfg.warmup && s.position == 0 {
			reruns += s.tries - 1
			if s.disturbed {
				disturbed++
			}
		}
	}
	fmt.Fprintf(&b, "pairs run again because other work took > %.0f %% of the machine: %d; measured pairs kept although disturbed on every try: %d\n\n",
		cfg.maxOther, reruns, disturbed)
	fmt.Fprintf(&b, "%s\n", strings.Join(verdicts, "\n"))
	return b.String()
}

// describeMachine is the line the report starts with.
func describeMachine(peer string) string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	load, _ := os.ReadFile("/proc/loadavg")
	return fmt.Sprintf("%d CPUs (%s), GOMAXPROCS %d, %s, Linux %s, load average %s; peer: %s",
		runtime.NumCPU(), model, runtime.GOMAXPROCS(0), runtime.Version(), strings.TrimSpace(string(kernel)),
		strings.Join(strings.Fields(string(load))[:3], " "), peer)
}

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		in     string
		want   float64
		wantOK bool
	}{
		{"cpu  100 5 50 9000 40 1 4 0 0 0\ncpu0 50 2 25 4500 20 0 2 0 0 0\n", 1.60, true},
		{"cpu  100 5 50 9000 40 1 4 7 0 0\n", 1.67, true},
		{"cpu0 100 5 50 9000 40 1 4 0 0 0\n", 0, false},
		{"cpu  100 5\n", 0, false},
		{"cpu  x 5 50 9000 40 1 4 0 0 0\n", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseProcStat(tt.in)
		if ok != tt.wantOK || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("parseProcStat(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestParseProcPIDStat(t *testing.T) {
	tests := []struct {
		in     string
		want   float64
		wantOK bool
	}{
		{"1234 (docker-registry) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 50 0 0 20 0 9 0 100 0 0", 3.0, true},
		// A command name with spaces and a parenthesis.
		{"99 (a (b) c) R 1 99 99 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 0 0", 0.1, true},
		{"99 (x) R 1 2 3", 0, false},
		{"no parenthesis", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseProcPIDStat(tt.in)
		if ok != tt.wantOK || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("parseProcPIDStat(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func FuzzParseProcPIDStat(f *testing.F) {
	f.Add("1234 (docker-registry) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 50 0 0 20 0 9 0 100 0 0")
	f.Add("99 (a (b) c) R 1 99 99 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 0 0")
	f.Add(")")
	f.Fuzz(func(t *testing.T, s string) {
		if v, ok := parseProcPIDStat(s); ok && (v < 0 || math.IsNaN(v)) {
			t.Errorf("parseProcPIDStat(%q) = %v, true; want a non-negative time", s, v)
		}
	})
}

func TestSummarizeAndReport(t *testing.T) {
	cfg := defaultConfig()
	cfg.warmup, cfg.rounds, cfg.smallConc = 1, 2, []int{1}
	ws := workloads(cfg)
	mb := int64(100e6)
	var samples []sample
	for round := range 3 {
		for _, arm := range []string{berthArm, peerArm} {
			for _, w := range ws {
				// Berth moves 100 MB in 1 s, the peer in 2 s; the warm-up
				// round is ten times slower and must not count.
				el := time.Second
				if arm == peerArm {
					el = 2 * time.Second
				}
				if round == 0 {
					el *= 10
				}
				samples = append(samples, sample{workload: w.name, arm: arm, round: round,
					result: result{elapsed: el, bytes: mb, ops: 100}})
			}
		}
	}
	rep := buildReport(cfg, ws, samples, "test machine")
	for _, want := range []string{"**100.0 MB/s**", "**50.0 MB/s**", "**100.0 images/s**", "**2.00×** | 2.00× (2.00–2.00) |", "(target ≥ 1.00×): MET",
		"kept although disturbed on every try: 0"} {
		if !strings.Contains(rep, want) {
			t.Errorf("buildReport() lacks %q:\n%s", want, rep)
		}
	}
	if strings.Contains(rep, "NOT MET") {
		t.Errorf("buildReport() says NOT MET for a faster Berth:\n%s", rep)
	}
}
