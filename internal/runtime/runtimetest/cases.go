package runtimetest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/runtime"
)

func groups() []group {
	return []group{
		single("Info", testInfo),
		single("Lifecycle", testLifecycle),
		{name: "ExitCode", cases: exitCodeCases()},
		{name: "StopHandled", cases: stopHandledCases()},
		{name: "StopTimeout", cases: stopTimeoutCases()},
		{name: "Init", cases: initCases()},
		single("OOM", testOOM),
		single("Labels", testLabels),
		single("NameConflict", testNameConflict),
		single("UnknownImage", testUnknownImage),
		single("PortBinding", testPortBinding),
		single("PortConflict", testPortConflict),
		{name: "Health", cases: []testCase{{"HealthyThenUnhealthy", testHealth}, {"None", testNoHealth}}},
		single("Events", testEvents),
		single("EnvAndCommand", testEnvAndCommand),
		single("Stats", testStats),
		{name: "Logs", cases: []testCase{{"Exited", testLogsExited}, {"Follow", testLogsFollow}, {"LongLine", testLogsLongLine}}},
		single("Volumes", testVolumes),
		{name: "Mounts", cases: mountCases()},
	}
}

func testInfo(t *testing.T, e Env) {
	ctx := t.Context()
	if err := e.Runtime.Ping(ctx); err != nil {
		t.Fatalf("Ping() = %v; want nil", err)
	}
	info, err := e.Runtime.Info(ctx)
	if err != nil {
		t.Fatalf("Info() = %v; want nil", err)
	}
	if info.CPUs < 1 || info.MemoryBytes <= 0 || info.OSType != "linux" || info.Architecture == "" ||
		info.EngineVersion == "" || info.APIVersion == "" || info.Hostname == "" {
		t.Errorf("Info() = %+v; want CPUs, memory, OS linux, architecture, versions and hostname", info)
	}
}

func testLifecycle(t *testing.T, e Env) {
	ctx := t.Context()
	rt := e.Runtime
	spec := listening(e.spec())
	id := create(t, e, spec)

	c := inspect(t, e, id)
	if c.ID != id || c.Name != spec.Name || c.Image != e.Image || !strings.HasPrefix(c.ImageID, "sha256:") {
		t.Errorf("InspectContainer(created) = id %.12s name %q image %q image id %q; want %.12s %q %q sha256:...",
			c.ID, c.Name, c.Image, c.ImageID, id, spec.Name, e.Image)
	}
	if c.State != runtime.StateCreated || c.Running() || c.CreatedAt.IsZero() || !c.StartedAt.IsZero() || !c.FinishedAt.IsZero() {
		t.Errorf("InspectContainer(created) = state %s created %v started %v finished %v; want created, only CreatedAt set",
			c.State, c.CreatedAt, c.StartedAt, c.FinishedAt)
	}
	if err := rt.StopContainer(ctx, id, time.Second); err != nil {
		t.Errorf("StopContainer(created) = %v; want nil", err)
	}

	start(t, e, id)
	c = inspect(t, e, id)
	// A SIGTERM before testapp has installed its handler would end it with
	// Go's default exit 2; wait until it serves.
	waitHTTP(t, e, hostPort(c, 8080, "tcp"), "/", http.StatusOK)
	if !c.Running() || c.State != runtime.StateRunning || c.StartedAt.IsZero() || !c.FinishedAt.IsZero() || c.IPAddress == "" {
		t.Errorf("InspectContainer(started) = state %s started %v finished %v ip %q; want running, StartedAt set, an IP",
			c.State, c.StartedAt, c.FinishedAt, c.IPAddress)
	}

	stop(t, e, id, 10*time.Second)
	c = inspect(t, e, id)
	if c.State != runtime.StateExited || c.ExitCode != 143 || c.OOMKilled || c.FinishedAt.Before(c.StartedAt) {
		t.Errorf("InspectContainer(stopped) = state %s exit %d oom %v started %v finished %v; want exited 143, finished after start",
			c.State, c.ExitCode, c.OOMKilled, c.StartedAt, c.FinishedAt)
	}
	if c.IPAddress != "" || len(c.Ports) != 0 {
		t.Errorf("InspectContainer(stopped) = ip %q ports %v; want none", c.IPAddress, c.Ports)
	}
	if err := rt.StopContainer(ctx, id, time.Second); err != nil {
		t.Errorf("StopContainer(stopped) = %v; want nil", err)
	}

	// A stopped container starts again; removing it while it runs kills it.
	start(t, e, id)
	waitFor(t, e, id, "running", runtime.Container.Running)
	if err := rt.RemoveContainer(ctx, id); err != nil {
		t.Fatalf("RemoveContainer(running) = %v; want nil", err)
	}
	_, err := rt.InspectContainer(ctx, id)
	wantErr(t, "InspectContainer(removed)", err, errdefs.ErrNotFound)
	wantErr(t, "RemoveContainer(removed)", rt.RemoveContainer(ctx, id), errdefs.ErrNotFound)
	wantErr(t, "StartContainer(removed)", rt.StartContainer(ctx, id), errdefs.ErrNotFound)
	wantErr(t, "StopContainer(removed)", rt.StopContainer(ctx, id, time.Second), errdefs.ErrNotFound)
}

func exitCodeCases() []testCase {
	tests := []struct {
		name       string
		entrypoint []string
		command    []string
		want       int
		minRun     time.Duration
	}{
		{name: "Exit3", command: []string{"-exit", "3"}, want: 3},
		{name: "SleepThenExit", command: []string{"-sleep", "300ms", "-exit", "4"}, want: 4, minRun: 300 * time.Millisecond},
		{name: "Sleep", command: []string{"-sleep", "200ms"}, want: 0, minRun: 200 * time.Millisecond},
		{name: "EntrypointAndCommand", entrypoint: []string{"/testapp", "-sleep", "100ms"}, command: []string{"-exit", "6"}, want: 6},
		{name: "BadFlag", command: []string{"-no-such-flag"}, want: 2},
	}
	var cases []testCase
	for _, tt := range tests {
		cases = append(cases, testCase{tt.name, func(t *testing.T, e Env) {
			spec := e.spec(tt.command...)
			spec.Entrypoint = tt.entrypoint
			id := run(t, e, spec)
			c := waitExited(t, e, id)
			if c.ExitCode != tt.want || c.OOMKilled {
				t.Errorf("exit of %q %q = %d (oom %v); want %d", tt.entrypoint, tt.command, c.ExitCode, c.OOMKilled, tt.want)
			}
			// Docker stamps StartedAt after the process has started, so a
			// process that exits at once may even finish "before" it
			// started (measured: -1ms on 20.10); allow half the run time.
			if ran := c.FinishedAt.Sub(c.StartedAt); tt.minRun > 0 && ran < tt.minRun/2 {
				t.Errorf("run time of %q = %v; want about %v", tt.command, ran, tt.minRun)
			}
		}})
	}
	return cases
}

func stopHandledCases() []testCase {
	tests := []struct {
		name       string
		command    []string
		stopSignal string
		want       int
		minTime    time.Duration
	}{
		{name: "SIGTERM", want: 143},
		{name: "TermExit0", command: []string{"-term-exit", "0"}, want: 0},
		{name: "TermDelay", command: []string{"-term-delay", "500ms"}, want: 143, minTime: 500 * time.Millisecond},
		{name: "StopSignalSIGINT", command: []string{"-ignore-sigterm"}, stopSignal: "SIGINT", want: 130},
	}
	var cases []testCase
	for _, tt := range tests {
		cases = append(cases, testCase{tt.name, func(t *testing.T, e Env) {
			spec := listening(e.spec(tt.command...))
			spec.StopSignal = tt.stopSignal
			id, _ := runReady(t, e, spec)
			took := stop(t, e, id, 10*time.Second)
			c := inspect(t, e, id)
			if c.State != runtime.StateExited || c.ExitCode != tt.want || c.OOMKilled {
				t.Errorf("StopContainer(%q, 10s) left state %s exit %d oom %v; want exited %d", tt.command, c.State, c.ExitCode, c.OOMKilled, tt.want)
			}
			if took < tt.minTime || took > tt.minTime+prompt {
				t.Errorf("StopContainer(%q, 10s) took %v; want %v to %v", tt.command, took, tt.minTime, tt.minTime+prompt)
			}
		}})
	}
	return cases
}

// stopTimeoutCases: a process still running when the stop timeout expires
// is killed with SIGKILL (137), which is not an OOM kill.
func stopTimeoutCases() []testCase {
	tests := []struct {
		name    string
		command []string
	}{
		{name: "IgnoreSigterm", command: []string{"-ignore-sigterm"}},
		{name: "TermDelayBeyondTimeout", command: []string{"-term-delay", "20s"}},
	}
	var cases []testCase
	for _, tt := range tests {
		cases = append(cases, testCase{tt.name, func(t *testing.T, e Env) {
			id, _ := runReady(t, e, listening(e.spec(tt.command...)))
			took := stop(t, e, id, time.Second)
			checkKilled(t, e, id, tt.command, took)
		}})
	}
	return cases
}

func checkKilled(t *testing.T, e Env, id string, command []string, took time.Duration) {
	t.Helper()
	c := inspect(t, e, id)
	if c.State != runtime.StateExited || c.ExitCode != 137 || c.OOMKilled {
		t.Errorf("StopContainer(%q, 1s) left state %s exit %d oom %v; want exited 137, not OOM", command, c.State, c.ExitCode, c.OOMKilled)
	}
	if took < time.Second || took > time.Second+prompt {
		t.Errorf("StopContainer(%q, 1s) took %v; want the 1s timeout, then the kill", command, took)
	}
}

// initCases: with Init, docker-init (tini 0.19.0) is PID 1 and forwards
// SIGTERM. A process that handles SIGTERM exits 143 at once. One that
// explicitly ignores it (SIG_IGN, as -ignore-sigterm does) ignores the
// forwarded signal too, so it is killed at the timeout with 137 (measured on
// Docker 20.10). The reference's "TERM-ignoring PID 1 stops with 143 at once
// behind init" holds for a program with no handler at all, which ignores
// SIGTERM only because it is PID 1 (e.g. C's sleep). A Go program with no
// handler is different again: as PID 1 it exits 2 at once on docker stop
// (the runtime re-raises, the kernel drops it, the runtime exits 2); behind
// init it exits 143 (both measured).
func initCases() []testCase {
	return []testCase{
		{"Handled", func(t *testing.T, e Env) {
			spec := listening(e.spec())
			spec.Init = true
			id, _ := runReady(t, e, spec)
			took := stop(t, e, id, 10*time.Second)
			c := inspect(t, e, id)
			if c.ExitCode != 143 || took > prompt {
				t.Errorf("StopContainer(Init, 10s) = exit %d after %v; want 143 within %v", c.ExitCode, took, prompt)
			}
		}},
		{"Ignored", func(t *testing.T, e Env) {
			spec := listening(e.spec("-ignore-sigterm"))
			spec.Init = true
			id, _ := runReady(t, e, spec)
			took := stop(t, e, id, time.Second)
			checkKilled(t, e, id, spec.Command, took)
		}},
	}
}

// testOOM: a process that outgrows its memory limit is killed with 137 and
// reported as OOM-killed. Docker 20.10 reports it unreliably under load:
// measured over 40 concurrent OOM kills, 2 had an oom event but
// State.OOMKilled stayed false, one had two oom events, and in another run
// a container got no oom event within 30 s; the oom event may also follow
// the die event. Either signal, with exit 137, means OOM; so that is what is
// asserted, and consumers must wait briefly for both after a die 137.
func testOOM(t *testing.T, e Env) {
	spec := e.spec("-alloc-mib", "64")
	spec.MemoryBytes = 32 << 20
	evs := subscribe(t, e, e.Labels)
	id := run(t, e, spec)
	if die := evs.next(t, "die event", action(id, runtime.EventDie)); die.ExitCode != 137 {
		t.Errorf("die event exit code = %d; want 137", die.ExitCode)
	}
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		evs.drain()
		oomEvent := slices.ContainsFunc(evs.seen, action(id, runtime.EventOOM))
		c := inspect(t, e, id)
		if c.State != runtime.StateExited || c.ExitCode != 137 {
			t.Fatalf("-alloc-mib 64 under 32 MiB = state %s exit %d; want exited 137", c.State, c.ExitCode)
		}
		if oomEvent || c.OOMKilled {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("-alloc-mib 64 under 32 MiB: no oom event and OOMKilled false after %v; saw %s", waitTimeout, describe(evs.seen))
		}
		<-tick.C
	}
}

func testLabels(t *testing.T, e Env) {
	ctx := t.Context()
	web := e.spec()
	web.Labels["berth.test.role"] = "web"
	web.Labels["berth.test.note"] = "spaces, = and ünïcode"
	job := e.spec("-exit", "0")
	job.Labels["berth.test.role"] = "job"
	webID := create(t, e, web)
	jobID := run(t, e, job)
	waitExited(t, e, jobID)

	c := inspect(t, e, webID)
	for k, v := range web.Labels {
		if c.Labels[k] != v {
			t.Errorf("InspectContainer().Labels[%q] = %q; want %q", k, c.Labels[k], v)
		}
	}

	tests := []struct {
		name   string
		labels map[string]string
		want   []string
	}{
		{"AllOfTheTest", e.Labels, []string{webID, jobID}},
		{"RoleWeb", withLabels(e.Labels, "berth.test.role", "web"), []string{webID}},
		{"RoleJob", withLabels(e.Labels, "berth.test.role", "job"), []string{jobID}},
		{"NoMatch", withLabels(e.Labels, "berth.test.role", "none"), nil},
	}
	for _, tt := range tests {
		list, err := e.Runtime.ListContainers(ctx, tt.labels)
		if err != nil {
			t.Fatalf("ListContainers(%s) = %v; want nil", tt.name, err)
		}
		var got []string
		for _, c := range list {
			got = append(got, c.ID)
			if c.ID == jobID && (c.State != runtime.StateExited || c.Labels["berth.test.role"] != "job") {
				t.Errorf("ListContainers(%s) lists job as state %s labels %v; want exited, role job", tt.name, c.State, c.Labels)
			}
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(tt.want))
		if !slices.Equal(got, want) {
			t.Errorf("ListContainers(%s) = %.12q; want %.12q", tt.name, got, want)
		}
	}
}

func testNameConflict(t *testing.T, e Env) {
	spec := e.spec()
	create(t, e, spec)
	_, err := e.Runtime.CreateContainer(t.Context(), spec)
	wantErr(t, "CreateContainer(name in use)", err, errdefs.ErrAlreadyExists)
	list, err := e.Runtime.ListContainers(t.Context(), e.Labels)
	if err != nil || len(list) != 1 {
		t.Errorf("ListContainers() = %d containers, %v; want 1", len(list), err)
	}
}

func testUnknownImage(t *testing.T, e Env) {
	ctx := t.Context()
	absent := "berth-test-absent-" + randomHex(4) + ":v1"
	spec := e.spec()
	spec.Image = absent
	_, err := e.Runtime.CreateContainer(ctx, spec)
	wantErr(t, "CreateContainer(unknown image)", err, errdefs.ErrNotFound)
	_, err = e.Runtime.InspectImage(ctx, absent)
	wantErr(t, "InspectImage(unknown image)", err, errdefs.ErrNotFound)

	img, err := e.Runtime.InspectImage(ctx, e.Image)
	if err != nil || !strings.HasPrefix(img.ID, "sha256:") {
		t.Errorf("InspectImage(%s) = %+v, %v; want a sha256 id", e.Image, img, err)
	}
	// Nothing answers on port 1: the pull fails and leaves no image.
	remote := "127.0.0.1:1/berth-test/absent:v1"
	if _, err := e.Runtime.PullImage(ctx, remote, nil); err == nil {
		t.Errorf("PullImage(%s) = nil; want an error", remote)
	}
	_, err = e.Runtime.InspectImage(ctx, remote)
	wantErr(t, "InspectImage(failed pull)", err, errdefs.ErrNotFound)
	_, err = e.Runtime.PullImage(ctx, "Not A Reference", nil)
	wantErr(t, "PullImage(bad reference)", err, errdefs.ErrInvalidArgument)
}

func testPortBinding(t *testing.T, e Env) {
	tcpPort, udpPort := e.FreePort(t), e.FreePort(t)
	spec := e.spec("-listen", ":8080")
	spec.Ports = []runtime.PortBinding{
		{ContainerPort: 8080, HostPort: tcpPort, Protocol: "tcp"},
		{ContainerPort: 9090, HostPort: udpPort, Protocol: "udp"},
		{ContainerPort: 8081, Protocol: "tcp"}, // the engine picks
	}
	id := run(t, e, spec)
	c := waitFor(t, e, id, "running", runtime.Container.Running)
	want := []runtime.PortBinding{spec.Ports[0], spec.Ports[1]}
	for _, w := range want {
		if !slices.Contains(c.Ports, w) {
			t.Errorf("InspectContainer().Ports = %+v; want it to hold %+v", c.Ports, w)
		}
	}
	if p := hostPort(c, 8081, "tcp"); p <= 0 {
		t.Errorf("InspectContainer().Ports = %+v; want 8081/tcp on an engine-chosen host port", c.Ports)
	}
	body := waitHTTP(t, e, tcpPort, "/", http.StatusOK)
	if !strings.HasPrefix(string(body), "ok ") {
		t.Errorf("GET 127.0.0.1:%d/ = %q; want ok <hostname>", tcpPort, body)
	}
}

func testPortConflict(t *testing.T, e Env) {
	ctx := t.Context()
	port := e.FreePort(t)
	spec := func() runtime.ContainerSpec {
		s := e.spec("-listen", ":8080")
		s.Ports = []runtime.PortBinding{{ContainerPort: 8080, HostPort: port, Protocol: "tcp"}}
		return s
	}
	first := run(t, e, spec())
	waitHTTP(t, e, port, "/", http.StatusOK)

	second := create(t, e, spec())
	err := e.Runtime.StartContainer(ctx, second)
	wantErr(t, "StartContainer(host port in use)", err, errdefs.ErrInvalidArgument)
	c := inspect(t, e, second)
	if c.Running() || c.Error == "" {
		t.Errorf("InspectContainer(failed start) = state %s error %q; want not running with the engine's error", c.State, c.Error)
	}
	list, err := e.Runtime.ListContainers(ctx, e.Labels)
	if err != nil {
		t.Fatalf("ListContainers() = %v; want nil", err)
	}
	for _, c := range list {
		if c.Running() != (c.ID == first) {
			t.Errorf("ListContainers() has %.12s running=%v; want only the first running", c.ID, c.Running())
		}
	}

	// Once the port is free the same container starts.
	stop(t, e, first, 10*time.Second)
	start(t, e, second)
	waitHTTP(t, e, port, "/", http.StatusOK)
}

func healthSpec(e Env, unhealthyAfter string) runtime.ContainerSpec {
	spec := e.spec("-listen", ":8080", "-unhealthy-after", unhealthyAfter)
	spec.HealthCheck = &runtime.HealthCheck{
		Test:     []string{"CMD", "/testapp", "-check", "http://127.0.0.1:8080/health"},
		Interval: 500 * time.Millisecond,
		Timeout:  2 * time.Second,
		Retries:  1,
	}
	return spec
}

func testHealth(t *testing.T, e Env) {
	evs := subscribe(t, e, e.Labels)
	id := run(t, e, healthSpec(e, "3s"))
	if c := inspect(t, e, id); c.Health != runtime.HealthStarting && c.Health != runtime.HealthHealthy {
		t.Errorf("Health right after start = %q; want starting", c.Health)
	}
	evs.next(t, "health_status healthy", health(id, runtime.HealthHealthy))
	if c := inspect(t, e, id); c.Health != runtime.HealthHealthy {
		t.Errorf("Health after the healthy event = %q; want healthy", c.Health)
	}
	evs.next(t, "health_status unhealthy", health(id, runtime.HealthUnhealthy))
	if c := inspect(t, e, id); c.Health != runtime.HealthUnhealthy || !c.Running() {
		t.Errorf("Health after -unhealthy-after = %q running=%v; want unhealthy, still running", c.Health, c.Running())
	}
}

func testNoHealth(t *testing.T, e Env) {
	id := run(t, e, e.spec())
	if c := inspect(t, e, id); c.Health != runtime.HealthNone {
		t.Errorf("Health without a check = %q; want none (\"\")", c.Health)
	}
}

func testEvents(t *testing.T, e Env) {
	watched := withLabels(e.Labels, "berth.test.events", "watched")
	evs := subscribe(t, e, watched)

	// Same test labels (so cleanup finds it) but not the watched one.
	other := run(t, e, e.spec("-exit", "0"))
	waitExited(t, e, other)

	spec := healthSpec(e, "1h")
	spec.Labels = watched
	id := run(t, e, spec)
	evs.next(t, "health_status healthy", health(id, runtime.HealthHealthy))
	stop(t, e, id, 10*time.Second)
	if err := e.Runtime.RemoveContainer(t.Context(), id); err != nil {
		t.Fatalf("RemoveContainer() = %v; want nil", err)
	}
	evs.next(t, "destroy", action(id, runtime.EventDestroy))

	var got []string
	for _, ev := range evs.seen {
		if ev.ContainerID != id {
			t.Errorf("event %s of container %.12s; want only %.12s (the labelled one)", ev.Action, ev.ContainerID, id)
			continue
		}
		if ev.Labels["berth.test.events"] != "watched" || ev.Time.IsZero() {
			t.Errorf("event %s labels %v time %v; want the container's labels and a time", ev.Action, ev.Labels, ev.Time)
		}
		got = append(got, ev.Action)
		if ev.Action == runtime.EventDie && ev.ExitCode != 143 {
			t.Errorf("die event exit code = %d; want 143", ev.ExitCode)
		}
	}
	want := []string{runtime.EventCreate, runtime.EventStart, runtime.EventHealth, runtime.EventDie, runtime.EventDestroy}
	if !slices.Equal(got, want) {
		t.Errorf("events = %q; want %q", got, want)
	}
}

func testEnvAndCommand(t *testing.T, e Env) {
	spec := listening(e.spec())
	spec.Env = []string{"BERTH_FOO=bar", "BERTH_SPACED=a b  c", "BERTH_EMPTY="}
	spec.Hostname = "berth-suite"
	_, port := runReady(t, e, spec)

	var env map[string]string
	body := waitHTTP(t, e, port, "/env", http.StatusOK)
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("GET /env = %q: %v", body, err)
	}
	want := map[string]string{"BERTH_FOO": "bar", "BERTH_SPACED": "a b  c", "BERTH_EMPTY": "", "HOSTNAME": "berth-suite"}
	for k, v := range want {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("process env %s = %q (set %v); want %q", k, got, ok, v)
		}
	}
	if body := waitHTTP(t, e, port, "/", http.StatusOK); string(body) != "ok berth-suite\n" {
		t.Errorf("GET / = %q; want %q", body, "ok berth-suite\n")
	}
}

func testStats(t *testing.T, e Env) {
	spec := listening(e.spec("-alloc-mib", "16"))
	spec.MemoryBytes = 256 << 20
	id, _ := runReady(t, e, spec)
	s, err := e.Runtime.Stats(t.Context(), id)
	if err != nil {
		t.Fatalf("Stats() = %v; want nil", err)
	}
	if s.Time.IsZero() || s.CPUTotalNanos == 0 || s.MemoryUsageBytes < 16<<20 || s.MemoryLimitBytes != 256<<20 || s.PIDs == 0 || s.OnlineCPUs < 1 {
		t.Errorf("Stats() = %+v; want a time, CPU time, memory >= 16 MiB, limit 256 MiB, PIDs and CPUs", s)
	}
	_, err = e.Runtime.Stats(t.Context(), "berthtest-absent-"+randomHex(4))
	wantErr(t, "Stats(absent)", err, errdefs.ErrNotFound)
}

func testVolumes(t *testing.T, e Env) {
	ctx := t.Context()
	rt := e.Runtime
	name := "berthtest-" + randomHex(6)
	for range 2 { // the second create finds it
		if err := rt.CreateVolume(ctx, name, e.Labels); err != nil {
			t.Fatalf("CreateVolume(%s) = %v; want nil", name, err)
		}
	}
	if got, err := rt.ListVolumes(ctx, e.Labels); err != nil || !slices.Equal(got, []string{name}) {
		t.Errorf("ListVolumes() = %q, %v; want [%s]", got, err, name)
	}

	spec := e.spec("-write", "/data/hello=world", "-exit", "0")
	spec.Mounts = []runtime.Mount{{Type: runtime.MountVolume, Source: name, Target: "/data"}}
	id := run(t, e, spec)
	if c := waitExited(t, e, id); c.ExitCode != 0 {
		t.Errorf("writing to the volume: exit %d; want 0", c.ExitCode)
	}
	wantErr(t, "RemoveVolume(in use)", rt.RemoveVolume(ctx, name), errdefs.ErrConflict)

	if err := rt.RemoveContainer(ctx, id); err != nil {
		t.Fatalf("RemoveContainer() = %v; want nil", err)
	}
	if err := rt.RemoveVolume(ctx, name); err != nil {
		t.Errorf("RemoveVolume() = %v; want nil", err)
	}
	wantErr(t, "RemoveVolume(removed)", rt.RemoveVolume(ctx, name), errdefs.ErrNotFound)
	if got, err := rt.ListVolumes(ctx, e.Labels); err != nil || len(got) != 0 {
		t.Errorf("ListVolumes(after remove) = %q, %v; want none", got, err)
	}
}

// mountCases check that mounts, a read-only root filesystem and the working
// directory reach the process: -write succeeds (exit 0) or fails on a
// read-only file system (exit 1).
func mountCases() []testCase {
	tmpfs := func(target string) runtime.Mount {
		return runtime.Mount{Type: runtime.MountTmpfs, Target: target, TmpfsSizeBytes: 1 << 20, TmpfsOptions: []string{"noexec"}}
	}
	tests := []struct {
		name     string
		mounts   []runtime.Mount
		readonly bool
		workdir  string
		path     string
		want     int
	}{
		{name: "RootFS", path: "/x", want: 0},
		{name: "ReadonlyRootFS", readonly: true, path: "/x", want: 1},
		{name: "AnonymousVolume", mounts: []runtime.Mount{{Type: runtime.MountVolume, Target: "/data"}}, readonly: true, path: "/data/x", want: 0},
		// A named volume the mount creates; Docker refuses read-only anonymous ones.
		{name: "ReadOnlyVolume", mounts: []runtime.Mount{{Type: runtime.MountVolume, Source: "$VOLUME", Target: "/data", ReadOnly: true}}, path: "/data/x", want: 1},
		{name: "Tmpfs", mounts: []runtime.Mount{tmpfs("/scratch")}, readonly: true, path: "/scratch/x", want: 0},
		{name: "WorkingDir", mounts: []runtime.Mount{tmpfs("/work")}, readonly: true, workdir: "/work", path: "relative.txt", want: 0},
	}
	var cases []testCase
	for _, tt := range tests {
		cases = append(cases, testCase{tt.name, func(t *testing.T, e Env) {
			spec := e.spec("-write", tt.path+"=content", "-exit", "0")
			spec.Mounts = slices.Clone(tt.mounts)
			for i, m := range spec.Mounts {
				if m.Source == "$VOLUME" {
					spec.Mounts[i].Source = "berthtest-" + randomHex(6)
				}
			}
			spec.ReadonlyRootfs = tt.readonly
			spec.WorkingDir = tt.workdir
			id := run(t, e, spec)
			if c := waitExited(t, e, id); c.ExitCode != tt.want {
				t.Errorf("-write %s with mounts %+v, read-only root %v: exit %d; want %d", tt.path, tt.mounts, tt.readonly, c.ExitCode, tt.want)
			}
			// Volumes the mounts created carry the container's labels;
			// anonymous ones go with the container, named ones stay.
			if err := e.Runtime.RemoveContainer(t.Context(), id); err != nil {
				t.Fatalf("RemoveContainer() = %v; want nil", err)
			}
			var want []string
			for _, m := range spec.Mounts {
				if m.Type == runtime.MountVolume && m.Source != "" {
					want = append(want, m.Source)
				}
			}
			if got, err := e.Runtime.ListVolumes(t.Context(), e.Labels); err != nil || !slices.Equal(got, want) {
				t.Errorf("ListVolumes() after removing the container = %q, %v; want %q", got, err, want)
			}
		}})
	}
	return cases
}

// collectLogs reads a container's output into text lines per stream; parts
// of a split line are joined.
func collectLogs(t *testing.T, e Env, id string, since time.Time, follow bool) (stdout, stderr []string, times []time.Time) {
	t.Helper()
	var partial []byte
	err := e.Runtime.Logs(t.Context(), id, since, follow, func(l runtime.LogLine) error {
		if l.Time.IsZero() || (l.Stream != "stdout" && l.Stream != "stderr") {
			t.Errorf("Logs line %+v; want a time and stdout or stderr", l)
		}
		partial = append(partial, l.Text...)
		if l.Partial {
			return nil
		}
		if l.Stream == "stdout" {
			stdout = append(stdout, string(partial))
			times = append(times, l.Time)
		} else {
			stderr = append(stderr, string(partial))
		}
		partial = nil
		return nil
	})
	if err != nil {
		t.Fatalf("Logs(%.12s, follow %v) = %v; want nil", id, follow, err)
	}
	return stdout, stderr, times
}

func testLogsExited(t *testing.T, e Env) {
	id := run(t, e, e.spec("-print", "3", "-exit", "0"))
	waitExited(t, e, id)
	stdout, stderr, times := collectLogs(t, e, id, time.Time{}, false)
	if want := []string{"line 1", "line 2", "line 3"}; !slices.Equal(stdout, want) {
		t.Errorf("Logs stdout = %q; want %q", stdout, want)
	}
	if !slices.Contains(stderr, "testapp: ready") {
		t.Errorf("Logs stderr = %q; want it to hold %q", stderr, "testapp: ready")
	}
	if len(times) == 3 {
		later, _, _ := collectLogs(t, e, id, times[2].Add(time.Nanosecond), false)
		if len(later) != 0 {
			t.Errorf("Logs since after the last line = %q; want nothing", later)
		}
	}
	err := e.Runtime.Logs(t.Context(), "berthtest-absent-"+randomHex(4), time.Time{}, false, func(runtime.LogLine) error { return nil })
	wantErr(t, "Logs(absent)", err, errdefs.ErrNotFound)
}

func testLogsFollow(t *testing.T, e Env) {
	id := run(t, e, e.spec("-print-every", "50ms", "-sleep", "600ms"))
	start := time.Now()
	stdout, _, _ := collectLogs(t, e, id, time.Time{}, true)
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("Logs(follow) returned after %v; want it to follow until the process ends", took)
	}
	if len(stdout) < 3 || stdout[0] != "tick 1" {
		t.Errorf("Logs(follow) stdout = %q; want ticks from tick 1", stdout)
	}
}

func testLogsLongLine(t *testing.T, e Env) {
	id := run(t, e, e.spec("-print-bytes", "40000", "-exit", "0"))
	waitExited(t, e, id)
	stdout, _, _ := collectLogs(t, e, id, time.Time{}, false)
	if len(stdout) != 1 || stdout[0] != strings.Repeat("x", 40000) {
		lens := []int{}
		for _, s := range stdout {
			lens = append(lens, len(s))
		}
		t.Errorf("Logs of a 40000-byte line = lines of %v bytes; want one of 40000", lens)
	}
}
