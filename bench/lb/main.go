package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	interrupted := ctx.Err() != nil
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case interrupted:
		fmt.Fprintln(os.Stderr, "lb bench: interrupted; children stopped")
		os.Exit(130)
	default:
		fmt.Fprintln(os.Stderr, "lb bench:", err)
		os.Exit(1)
	}
}

type options struct {
	role       string
	backends   string
	rates      []float64
	duration   time.Duration
	warmup     time.Duration
	reps       int
	conns      int
	peakConns  int
	peakDur    time.Duration
	timeout    time.Duration
	pin        bool
	nginx      string
	jsonOut    string
	noPeak     bool
	onlyPeak   bool
	nginxProcs int
	lbProfile  string

	maxOtherLoad float64
	quietWait    time.Duration
	retries      int
}

// Limits that keep a mistyped flag from running for hours.
const (
	maxRate     = 200_000
	maxDuration = 5 * time.Minute
	maxReps     = 30
)

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("lb", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./bench/lb [flags]\n\n"+
			"Throughput and latency of Berth's ALB data plane (internal/lb) against nginx\n"+
			"and against a backend directly, interleaved. See bench/lb/README.md.\n\n")
		fs.PrintDefaults()
	}
	var o options
	rates := fs.String("rates", "1000,5000,10000,15000", "comma-separated request rates (req/s) of the open-loop ladder")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured time per step")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unrecorded time before each measurement")
	fs.IntVar(&o.reps, "reps", 3, "repetitions of the interleaved ladder")
	fs.IntVar(&o.conns, "conns", 64, "keep-alive connections of the open-loop generator")
	fs.IntVar(&o.peakConns, "peak-conns", 50, "connections of the closed-loop peak step (wrk -c50)")
	fs.DurationVar(&o.peakDur, "peak-duration", 5*time.Second, "measured time of each peak step")
	fs.BoolVar(&o.noPeak, "no-peak", false, "skip the closed-loop peak steps")
	fs.BoolVar(&o.onlyPeak, "only-peak", false, "run only the closed-loop peak steps")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "per-request timeout")
	fs.BoolVar(&o.pin, "pin", true, "pin the proxy (Berth or nginx) and the generator to separate CPUs with taskset")
	fs.StringVar(&o.nginx, "nginx", "nginx", "the nginx binary (Debian: apt-get install nginx)")
	fs.IntVar(&o.nginxProcs, "nginx-workers", 0, "nginx worker_processes; 0: as many CPUs as the Berth process may use")
	fs.StringVar(&o.jsonOut, "json", "", "write every step's raw figures to this file")
	fs.Float64Var(&o.maxOtherLoad, "max-other-load", 0.25, "cores of other work tolerated on the machine: wait for it to drop before each interleaved round and rerun a round it disturbed (0: don't check)")
	fs.DurationVar(&o.quietWait, "quiet-wait", 2*time.Minute, "longest wait for a quiet machine before each round")
	fs.IntVar(&o.retries, "retries", 2, "reruns of a round disturbed by other load")
	fs.StringVar(&o.role, "role", "", "internal: run as a child ("+roleBackends+" or "+roleLB+")")
	fs.StringVar(&o.backends, "backends", "", "internal: backend addresses for -role lb")
	fs.StringVar(&o.lbProfile, "lb-cpuprofile", "", "write a CPU profile of Berth's load balancer process to this file")
	if err := fs.Parse(args); err != nil {
		return o, err
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
	case o.peakDur < time.Second || o.peakDur > maxDuration:
		return o, fmt.Errorf("-peak-duration %v: want 1s to %v", o.peakDur, maxDuration)
	case o.reps < 1 || o.reps > maxReps:
		return o, fmt.Errorf("-reps %d: want 1 to %d", o.reps, maxReps)
	case o.conns < 1 || o.conns > 1024 || o.peakConns < 1 || o.peakConns > 1024:
		return o, errors.New("-conns and -peak-conns: want 1 to 1024")
	case o.timeout <= 0 || o.timeout > time.Minute:
		return o, fmt.Errorf("-timeout %v: want up to 1m", o.timeout)
	case o.maxOtherLoad < 0:
		return o, fmt.Errorf("-max-other-load %g: want >= 0", o.maxOtherLoad)
	case o.quietWait < 0 || o.quietWait > 10*time.Minute:
		return o, fmt.Errorf("-quiet-wait %v: want 0 to 10m", o.quietWait)
	case o.retries < 0 || o.retries > 10:
		return o, fmt.Errorf("-retries %d: want 0 to 10", o.retries)
	}
	return o, nil
}

const (
	envStage = "BERTH_LBBENCH_STAGE" // "genCPU,serverCPU" in the pinned generator stage
	envNproc = "BERTH_LBBENCH_NPROC" // CPUs the launcher could use
)

func run(ctx context.Context, args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	switch o.role {
	case roleBackends:
		return runBackends()
	case roleLB:
		return runLB(strings.Split(o.backends, ","), o.lbProfile)
	case "":
	default:
		return fmt.Errorf("unknown -role %q", o.role)
	}
	if _, err := exec.LookPath(o.nginx); err != nil {
		return fmt.Errorf("nginx not found (%v): install it with apt-get install -y nginx, or pass -nginx", err)
	}
	plan := pinPlan{}
	if st := os.Getenv(envStage); st != "" {
		a, b, _ := strings.Cut(st, ",")
		plan.GenCPU, _ = strconv.Atoi(a)
		plan.ServerCPU, _ = strconv.Atoi(b)
		plan.Pinned = true
	} else if o.pin {
		plan = planPinning()
		if plan.Pinned {
			// Re-run under taskset so every thread of the generator is
			// pinned from the start.
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			cmd := exec.CommandContext(ctx, "taskset", append([]string{"-c", strconv.Itoa(plan.GenCPU), exe}, args...)...)
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d,%d", envStage, plan.GenCPU, plan.ServerCPU),
				fmt.Sprintf("%s=%d", envNproc, runtime.NumCPU()))
			cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
			cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
			cmd.WaitDelay = 30 * time.Second
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			return cmd.Run()
		}
		fmt.Fprintln(os.Stderr, "not pinning:", plan.Reason)
	}
	return bench(ctx, o, plan)
}

// pinPlan says where the proxy and the generator run.
type pinPlan struct {
	Pinned    bool   `json:"pinned"`
	ServerCPU int    `json:"server_cpu"`
	GenCPU    int    `json:"generator_cpu"`
	Reason    string `json:"reason,omitempty"`
}

func planPinning() pinPlan {
	if _, err := exec.LookPath("taskset"); err != nil {
		return pinPlan{Reason: "taskset not found"}
	}
	if runtime.NumCPU() < 2 {
		return pinPlan{Reason: "fewer than 2 CPUs"}
	}
	return pinPlan{Pinned: true, ServerCPU: 0, GenCPU: 1}
}

// child is a process the benchmark started.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin interface{ Close() error }
	addrs []string
}

func (c *child) stop() {
	if c == nil || c.cmd.Process == nil {
		return
	}
	if c.stdin != nil {
		_ = c.stdin.Close()
	}
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// startRole runs this binary in a role (optionally under taskset) and
// waits for its "ADDR ..." line.
func startRole(ctx context.Context, name string, cpus string, args ...string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	argv := append([]string{exe}, args...)
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), envStage+"=")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, stdin: stdin}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ADDR ") {
				line <- sc.Text()
			}
		}
		close(line)
	}()
	select {
	case l, ok := <-line:
		if !ok {
			c.stop()
			return nil, fmt.Errorf("%s exited before reporting its address", name)
		}
		c.addrs = strings.Fields(strings.TrimPrefix(l, "ADDR "))
	case <-time.After(60 * time.Second):
		c.stop()
		return nil, fmt.Errorf("%s did not report its address within 60 s", name)
	}
	return c, nil
}

// arm is one way to the backends.
type arm struct {
	name string
	addr string
	pids func() []int // the processes of the system under test, for CPU accounting
}

func bench(ctx context.Context, o options, plan pinPlan) error {
	work, err := os.MkdirTemp("", "berth-lb-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	serverCPUs, allCPUs := "", ""
	workers := o.nginxProcs
	if plan.Pinned {
		serverCPUs = strconv.Itoa(plan.ServerCPU)
		allCPUs = fmt.Sprintf("%d,%d", plan.ServerCPU, plan.GenCPU)
		if workers == 0 {
			workers = 1
		}
	} else if workers == 0 {
		workers = runtime.NumCPU()
	}

	backends, err := startRole(ctx, "backends", allCPUs, "-role", roleBackends)
	if err != nil {
		return err
	}
	defer backends.stop()
	lbArgs := []string{"-role", roleLB, "-backends", strings.Join(backends.addrs, ",")}
	if o.lbProfile != "" {
		lbArgs = append(lbArgs, "-lb-cpuprofile", o.lbProfile)
	}
	lbChild, err := startRole(ctx, "berth lb", serverCPUs, lbArgs...)
	if err != nil {
		return err
	}
	defer lbChild.stop()
	ng, err := startNginx(ctx, o.nginx, work, serverCPUs, workers, backends.addrs)
	if err != nil {
		return err
	}
	defer ng.stop()

	arms := []arm{
		{name: "berth", addr: lbChild.addrs[0], pids: func() []int { return []int{lbChild.cmd.Process.Pid} }},
		{name: "nginx", addr: ng.addr, pids: ng.pids},
		{name: "direct", addr: backends.addrs[0], pids: func() []int { return nil }},
	}
	backendPID := backends.cmd.Process.Pid
	m := describeMachine(ctx, o, plan, workers)
	fmt.Fprintf(os.Stderr, "%s\n", m)

	var results []stepResult
	self := os.Getpid()
	measure := func(rep int, a arm, step func() stepResult) stepResult {
		pids := a.pids()
		c0, b0, g0, m0 := cpuTicks(pids), cpuTicks([]int{backendPID}), cpuTicks([]int{self}), machineBusy()
		t0 := time.Now()
		r := step()
		el := time.Since(t0).Seconds()
		c1, b1, g1, m1 := cpuTicks(pids), cpuTicks([]int{backendPID}), cpuTicks([]int{self}), machineBusy()
		r.Arm, r.Rep = a.name, rep
		r.ServerCPU = (c1 - c0) / el
		r.BackendCPU = (b1 - b0) / el
		r.GenCPU = (g1 - g0) / el
		r.MachineCPU = (m1 - m0) / el
		r.OtherCPU = max(r.MachineCPU-r.ServerCPU-r.BackendCPU-r.GenCPU, 0)
		r.Disturbed = o.maxOtherLoad > 0 && r.OtherCPU > o.maxOtherLoad
		if r.AchievedRPS > 0 {
			r.ServerCPUus = r.ServerCPU / r.AchievedRPS * 1e6
		}
		fmt.Fprintf(os.Stderr, "rep %d %-5s %-6s target %6.0f  achieved %8.0f req/s  p50 %6.3f ms  p99 %7.3f ms  errors %d  proxy %.2f cores (%.1f µs/req)  backends %.2f  generator %.2f  other %.2f cores\n",
			r.Rep, r.Mode, r.Arm, r.TargetRPS, r.AchievedRPS, r.Latency.P50, r.Latency.P99, r.Errors, r.ServerCPU, r.ServerCPUus, r.BackendCPU, r.GenCPU, r.OtherCPU)
		return r
	}
	// round runs one step on every arm, interleaved, after waiting for a
	// quiet machine; a round that other work disturbed runs again, and the
	// least disturbed attempt is kept (the others stay in the raw results,
	// marked discarded).
	round := func(rep, first int, step func(a arm) stepResult) error {
		var attempts [][]stepResult
		for attempt := 0; ; attempt++ {
			if o.maxOtherLoad > 0 {
				load, err := waitQuiet(ctx, o.maxOtherLoad, o.quietWait)
				if err != nil {
					return err
				}
				if load > o.maxOtherLoad {
					fmt.Fprintf(os.Stderr, "        machine still busy (%.2f cores of other work) after waiting %v; running anyway\n", load, o.quietWait)
				}
			}
			var got []stepResult
			for k := range arms {
				a := arms[(first+k)%len(arms)] // who goes first rotates
				got = append(got, measure(rep, a, func() stepResult { return step(a) }))
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
			attempts = append(attempts, got)
			if o.maxOtherLoad == 0 || disturbance(got) <= o.maxOtherLoad || attempt >= o.retries {
				break
			}
			fmt.Fprintf(os.Stderr, "        other work above %.2f cores during this round: running it again\n", o.maxOtherLoad)
		}
		keep := 0
		for i, a := range attempts {
			if disturbance(a) < disturbance(attempts[keep]) {
				keep = i
			}
		}
		for i, a := range attempts {
			for _, r := range a {
				r.Discarded = i != keep
				results = append(results, r)
			}
		}
		return nil
	}

	for rep := range o.reps {
		if !o.onlyPeak {
			for ri, rate := range o.rates {
				err := round(rep, rep+ri, func(a arm) stepResult {
					return openLoop(ctx, a.addr, rate, o.warmup, o.duration, o.conns, o.timeout)
				})
				if err != nil {
					return err
				}
			}
		}
		if !o.noPeak {
			err := round(rep, rep, func(a arm) stepResult {
				return peak(ctx, a.addr, o.warmup, o.peakDur, o.peakConns, o.timeout)
			})
			if err != nil {
				return err
			}
		}
	}
	report(os.Stdout, m, o, results)
	if o.jsonOut != "" {
		b, err := json.MarshalIndent(map[string]any{"machine": m, "results": results}, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// nginxProc is the peer: nginx as a reverse proxy to the same backends.
type nginxProc struct {
	cmd  *exec.Cmd
	addr string
}

func (n *nginxProc) stop() {
	_ = n.cmd.Process.Signal(syscall.SIGQUIT)
	done := make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = n.cmd.Process.Kill()
		<-done
	}
}

// pids are the master and its workers.
func (n *nginxProc) pids() []int {
	master := n.cmd.Process.Pid
	out := []int{master}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		f := statFields(string(b))
		if len(f) > 1 && f[1] == strconv.Itoa(master) {
			out = append(out, pid)
		}
	}
	return out
}

// nginxConf is the peer's configuration, set up as performance.md §3(h)
// asks: HTTP/1.1 with keep-alive to the upstream, no access log, the same
// X-Forwarded-* headers the ALB adds, worker_processes = the CPUs Berth's
// process may use.
func nginxConf(dir, listen string, workers int, backends []string) string {
	var up strings.Builder
	for _, b := range backends {
		fmt.Fprintf(&up, "    server %s;\n", b)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n"
	}
	return fmt.Sprintf(`%sworker_processes %d;
pid %[3]s/nginx.pid;
error_log %[3]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[3]s/client_body;
  proxy_temp_path %[3]s/proxy;
  fastcgi_temp_path %[3]s/fastcgi;
  uwsgi_temp_path %[3]s/uwsgi;
  scgi_temp_path %[3]s/scgi;
  keepalive_timeout 60s;
  keepalive_requests 1000000;
  upstream backends {
%[4]s    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen %[5]s;
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header X-Amzn-Trace-Id "Root=1-$msec-$request_id";
    }
  }
}
`, user, workers, dir, up.String(), listen)
}

func startNginx(ctx context.Context, bin, work, cpus string, workers int, backends []string) (*nginxProc, error) {
	dir := filepath.Join(work, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(dir, addr, workers, backends)), 0o644); err != nil {
		return nil, err
	}
	argv := []string{bin, "-p", dir, "-c", conf, "-g", "daemon off;"}
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nginx: %w", err)
	}
	n := &nginxProc{cmd: cmd, addr: addr}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return n, nil
		}
		if time.Now().After(deadline) {
			n.stop()
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return nil, fmt.Errorf("nginx did not listen on %s within 10 s: %v\n%s", addr, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// statFields returns /proc/<pid>/stat fields after the command name:
// [0]=state, [1]=ppid, ..., [11]=utime, [12]=stime.
func statFields(stat string) []string {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(stat[i+1:])
}

// disturbance is the most other load beside any step of a round.
func disturbance(rs []stepResult) float64 {
	var d float64
	for _, r := range rs {
		d = max(d, r.OtherCPU)
	}
	return d
}

// waitQuiet waits, up to limit, for a second in which the machine has at
// most maxLoad cores busy; the proxies, backends and generator are idle
// meanwhile, so that is other tenants' load. It returns the last load seen.
func waitQuiet(ctx context.Context, maxLoad float64, limit time.Duration) (float64, error) {
	deadline := time.Now().Add(limit)
	for {
		a := machineBusy()
		sleepCtx(ctx, time.Second)
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		load := machineBusy() - a
		if load <= maxLoad || time.Now().After(deadline) {
			return load, nil
		}
	}
}

// machineBusy returns the CPU seconds every process and the kernel used
// (/proc/stat): with the arms' own figures it shows how much other work
// shared the machine.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return busy / 100 // USER_HZ
}

// cpuTicks returns the CPU seconds (user + system) the processes used.
func cpuTicks(pids []int) float64 {
	var total float64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := statFields(string(b))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseFloat(f[11], 64)
		s, _ := strconv.ParseFloat(f[12], 64)
		total += (u + s) / 100 // USER_HZ
	}
	return total
}
