package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// build compiles the berth binary and the baseline server into binDir.
func build(ctx context.Context, root, binDir string) error {
	for _, b := range []struct{ out, pkg string }{
		{"berth", "./cmd/berth"},
		{"baseline", "./bench/apilatency/baseline"},
	} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(binDir, b.out), b.pkg)
		cmd.Dir = root
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", b.pkg, err)
		}
	}
	return nil
}

// pinPlan says where the servers and the generator run. Pinned is false when
// the machine has fewer than two usable CPUs or no taskset.
type pinPlan struct {
	Pinned    bool   `json:"pinned"`
	ServerCPU int    `json:"server_cpu"`
	GenCPU    int    `json:"generator_cpu"`
	Reason    string `json:"reason,omitempty"`
}

func planPinning(want bool) pinPlan {
	if !want {
		return pinPlan{Reason: "disabled with -pin=false"}
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return pinPlan{Reason: "taskset not found"}
	}
	cpus, err := allowedCPUs("self")
	if err != nil {
		return pinPlan{Reason: err.Error()}
	}
	if len(cpus) < 2 {
		return pinPlan{Reason: fmt.Sprintf("only %d usable CPU", len(cpus))}
	}
	return pinPlan{Pinned: true, ServerCPU: cpus[0], GenCPU: cpus[1]}
}

// allowedCPUs parses Cpus_allowed_list of /proc/<pid>/status ("0-1,4").
func allowedCPUs(pid string) ([]int, error) {
	list, err := cpusAllowedList(pid)
	if err != nil {
		return nil, err
	}
	var cpus []int
	for part := range strings.SplitSeq(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("parse cpus allowed list %q: %w", list, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				return nil, fmt.Errorf("parse cpus allowed list %q: %w", list, err)
			}
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

func cpusAllowedList(pid string) (string, error) {
	f, err := os.Open(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("/proc/%s/status has no Cpus_allowed_list", pid)
}

// cpuTime is the user+system CPU time a process has used so far.
func cpuTime(pid string) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return 0, err
	}
	// The command name may contain spaces; the fields after it do not.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	// USER_HZ is 100 on every Linux architecture Go supports.
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// child is a server process the benchmark started and must stop.
type child struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// startChild starts bin under taskset -c cpu (cpu < 0: unpinned). The child
// gets its own process group, so a Ctrl-C reaches only the benchmark, which
// stops it in order; Pdeathsig kills it if the benchmark dies abruptly.
func startChild(name string, cpu int, logPath, bin string, args ...string) (*child, error) {
	argv := append([]string{bin}, args...)
	if cpu >= 0 {
		argv = append([]string{"taskset", "-c", strconv.Itoa(cpu)}, argv...)
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// pid is the server's pid: taskset execs the server in place.
func (c *child) pid() string { return strconv.Itoa(c.cmd.Process.Pid) }

// stop asks the child to shut down and kills it if it takes too long.
func (c *child) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// logTail returns the end of the child's log for error messages.
func (c *child) logTail() string {
	b, _ := os.ReadFile(c.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// waitReady polls GET url until it answers 200, the child exits or the
// timeout passes.
func (c *child) waitReady(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-c.done:
			return fmt.Errorf("%s exited before it was ready (%v); log:\n%s", c.name, c.err, c.logTail())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %w; log:\n%s", c.name, url, ctx.Err(), c.logTail())
		case <-tick.C:
		}
	}
}

// freeLoopbackAddr returns a 127.0.0.1 address no one listens on right now.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// cpuSample is a reading of the CPU time used by the server, the generator,
// the whole machine and each CPU, to tell a saturated server from a
// saturated generator or a machine busy with other work.
type cpuSample struct {
	at          time.Time
	server, gen time.Duration
	machine     time.Duration
	perCPU      map[int]time.Duration
}

func sampleCPU(serverPID, genPID string) cpuSample {
	s := cpuSample{at: time.Now(), perCPU: map[int]time.Duration{}}
	s.server, _ = cpuTime(serverPID)
	s.gen, _ = cpuTime(genPID)
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		// user nice system idle iowait irq softirq steal: busy is all but
		// idle and iowait.
		var busy int64
		for _, k := range []int{1, 2, 3, 6, 7, 8} {
			v, _ := strconv.ParseInt(f[k], 10, 64)
			busy += v
		}
		d := time.Duration(busy) * 10 * time.Millisecond
		if f[0] == "cpu" {
			s.machine = d
		} else if n, err := strconv.Atoi(f[0][3:]); err == nil {
			s.perCPU[n] = d
		}
	}
	return s
}

// since returns the cores used between a and s: by the server, the
// generator, the whole machine, and per CPU.
func (s cpuSample) since(a cpuSample) (server, gen, machine float64, perCPU map[int]float64) {
	wall := s.at.Sub(a.at).Seconds()
	if wall <= 0 {
		return 0, 0, 0, nil
	}
	perCPU = map[int]float64{}
	for n, d := range s.perCPU {
		perCPU[n] = (d - a.perCPU[n]).Seconds() / wall
	}
	return (s.server - a.server).Seconds() / wall, (s.gen - a.gen).Seconds() / wall,
		(s.machine - a.machine).Seconds() / wall, perCPU
}
