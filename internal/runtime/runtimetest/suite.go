package runtimetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/runtime"
)

// Harness adapts one Runtime implementation to the suite.
type Harness struct {
	// Setup returns the environment of one subtest and registers (with
	// t.Cleanup) the removal of everything that carries Env.Labels.
	Setup func(t *testing.T) Env
	// Bubble, when not nil, runs the body of every subtest, Setup included.
	// The fake passes synctest.Test so its clocks are virtual and a 1 s stop
	// timeout takes no real time.
	Bubble func(t *testing.T, body func(t *testing.T))
	// Groups, when not empty, names the only groups of behaviours to run
	// (such as "Logs"), for a second configuration of one implementation.
	Groups []string
}

// Env is what one subtest works with.
type Env struct {
	Runtime runtime.Runtime
	// Image is a local image of internal/testapp (ENTRYPOINT ["/testapp"]).
	Image string
	// Labels are unique to the subtest; the suite puts them on every
	// container and volume it creates, so Setup's cleanup finds them.
	Labels map[string]string
	// HTTPGet GETs target (path and query) from 127.0.0.1:hostPort, as a
	// client on the host would. HostHTTPGet does it for real engines.
	HTTPGet func(ctx context.Context, hostPort int, target string) (status int, body []byte, err error)
	// FreePort returns a host port that is free for both TCP and UDP.
	// HostFreePort does it for real engines.
	FreePort func(t *testing.T) int
}

// Timeouts of the suite's bounded waits.
const (
	waitTimeout  = 30 * time.Second
	pollInterval = 50 * time.Millisecond
	// prompt bounds what should happen at once on a real engine (a handled
	// SIGTERM); generous because the suite runs subtests in parallel.
	prompt = 5 * time.Second
)

// Run runs every behaviour of the suite as a parallel subtest.
func Run(t *testing.T, h Harness) {
	for _, g := range groups() {
		if len(h.Groups) > 0 && !slices.Contains(h.Groups, g.name) {
			continue
		}
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			if len(g.cases) == 1 && g.cases[0].name == "" {
				h.run(t, g.cases[0].fn)
				return
			}
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					h.run(t, c.fn)
				})
			}
		})
	}
}

func (h Harness) run(t *testing.T, fn func(t *testing.T, e Env)) {
	body := func(t *testing.T) { fn(t, h.Setup(t)) }
	if h.Bubble != nil {
		h.Bubble(t, body)
		return
	}
	body(t)
}

type group struct {
	name  string
	cases []testCase
}

type testCase struct {
	name string // empty for a group's only case
	fn   func(t *testing.T, e Env)
}

func single(name string, fn func(t *testing.T, e Env)) group {
	return group{name: name, cases: []testCase{{fn: fn}}}
}

// HostHTTPGet GETs http://127.0.0.1:hostPort/target with a 5 s timeout.
func HostHTTPGet(ctx context.Context, hostPort int, target string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", hostPort, target), nil)
	if err != nil {
		return 0, nil, err
	}
	// A fresh transport: Docker's proxy may accept a connection before the
	// container listens and then close it; never reuse such a connection.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// HostFreePort returns a port on which nothing listens now, for TCP and UDP.
func HostFreePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf(":%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no port free for both tcp and udp")
	return 0
}

// spec returns a container spec for e's image with a unique name and e's
// labels.
func (e Env) spec(command ...string) runtime.ContainerSpec {
	return runtime.ContainerSpec{
		Name:    "berthtest-" + randomHex(6),
		Image:   e.Image,
		Labels:  maps.Clone(e.Labels),
		Command: command,
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func create(t *testing.T, e Env, spec runtime.ContainerSpec) string {
	t.Helper()
	id, err := e.Runtime.CreateContainer(t.Context(), spec)
	if err != nil {
		t.Fatalf("CreateContainer(%s %q) = %v; want nil", spec.Name, spec.Command, err)
	}
	return id
}

func start(t *testing.T, e Env, id string) {
	t.Helper()
	if err := e.Runtime.StartContainer(t.Context(), id); err != nil {
		t.Fatalf("StartContainer(%.12s) = %v; want nil", id, err)
	}
}

func run(t *testing.T, e Env, spec runtime.ContainerSpec) string {
	t.Helper()
	id := create(t, e, spec)
	start(t, e, id)
	return id
}

func inspect(t *testing.T, e Env, id string) runtime.Container {
	t.Helper()
	c, err := e.Runtime.InspectContainer(t.Context(), id)
	if err != nil {
		t.Fatalf("InspectContainer(%.12s) = %v; want nil", id, err)
	}
	return c
}

// waitFor polls id until cond holds, failing after waitTimeout.
func waitFor(t *testing.T, e Env, id, what string, cond func(runtime.Container) bool) runtime.Container {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		c := inspect(t, e, id)
		if cond(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %.12s not %s after %v: state %s, exit code %d, health %q, error %q",
				id, what, waitTimeout, c.State, c.ExitCode, c.Health, c.Error)
		}
		<-tick.C
	}
}

func waitExited(t *testing.T, e Env, id string) runtime.Container {
	t.Helper()
	return waitFor(t, e, id, "exited", func(c runtime.Container) bool { return c.State == runtime.StateExited })
}

// listening makes spec serve testapp's HTTP on container port 8080 bound to
// an engine-chosen host port.
func listening(spec runtime.ContainerSpec) runtime.ContainerSpec {
	spec.Command = append([]string{"-listen", ":8080"}, spec.Command...)
	spec.Ports = append(spec.Ports, runtime.PortBinding{ContainerPort: 8080, Protocol: "tcp"})
	return spec
}

// runReady runs a listening spec and waits until its server answers, so the
// process has its signal handlers installed. It returns the id and host port.
func runReady(t *testing.T, e Env, spec runtime.ContainerSpec) (string, int) {
	t.Helper()
	id := run(t, e, spec)
	c := waitFor(t, e, id, "running with a host port", func(c runtime.Container) bool {
		if c.State == runtime.StateExited {
			t.Fatalf("container %.12s exited with %d before it served: %q", id, c.ExitCode, c.Error)
		}
		return c.Running() && hostPort(c, 8080, "tcp") > 0
	})
	port := hostPort(c, 8080, "tcp")
	waitHTTP(t, e, port, "/", http.StatusOK)
	return id, port
}

// waitHTTP polls GET target on port until it answers status.
func waitHTTP(t *testing.T, e Env, port int, target string, status int) []byte {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		got, body, err := e.HTTPGet(t.Context(), port, target)
		if err == nil && got == status {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET 127.0.0.1:%d%s = %d, %q, %v; want %d", port, target, got, body, err, status)
		}
		<-tick.C
	}
}

func hostPort(c runtime.Container, containerPort int, proto string) int {
	for _, p := range c.Ports {
		if p.ContainerPort == containerPort && p.Protocol == proto {
			return p.HostPort
		}
	}
	return 0
}

// stop stops id and returns how long it took.
func stop(t *testing.T, e Env, id string, timeout time.Duration) time.Duration {
	t.Helper()
	begin := time.Now()
	if err := e.Runtime.StopContainer(t.Context(), id, timeout); err != nil {
		t.Fatalf("StopContainer(%.12s, %v) = %v; want nil", id, timeout, err)
	}
	return time.Since(begin)
}

// events is a subscription that remembers what it has read.
type events struct {
	evs  <-chan runtime.Event
	errs <-chan error
	seen []runtime.Event
}

func subscribe(t *testing.T, e Env, labels map[string]string) *events {
	t.Helper()
	evs, errs := e.Runtime.Events(t.Context(), labels)
	return &events{evs: evs, errs: errs}
}

// next reads events until one matches, failing after waitTimeout.
func (s *events) next(t *testing.T, what string, match func(runtime.Event) bool) runtime.Event {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-s.evs:
			if !ok {
				t.Fatalf("event stream closed before %s; saw %s", what, describe(s.seen))
			}
			s.seen = append(s.seen, ev)
			if match(ev) {
				return ev
			}
		case err := <-s.errs:
			if err != nil {
				t.Fatalf("event stream failed before %s: %v", what, err)
			}
		case <-timer.C:
			t.Fatalf("no %s within %v; saw %s", what, waitTimeout, describe(s.seen))
		}
	}
}

// drain records the events that have already arrived, without waiting.
func (s *events) drain() {
	for {
		select {
		case ev, ok := <-s.evs:
			if !ok {
				return
			}
			s.seen = append(s.seen, ev)
		default:
			return
		}
	}
}

func action(id, act string) func(runtime.Event) bool {
	return func(ev runtime.Event) bool { return ev.ContainerID == id && ev.Action == act }
}

func health(id, status string) func(runtime.Event) bool {
	return func(ev runtime.Event) bool {
		return ev.ContainerID == id && ev.Action == runtime.EventHealth && ev.Health == status
	}
}

func describe(evs []runtime.Event) string {
	s := "["
	for i, ev := range evs {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%.12s:%s", ev.ContainerID, ev.Action)
		switch ev.Action {
		case runtime.EventDie:
			s += fmt.Sprintf("(%d)", ev.ExitCode)
		case runtime.EventHealth:
			s += "(" + ev.Health + ")"
		}
	}
	return s + "]"
}

func withLabels(base map[string]string, kv ...string) map[string]string {
	m := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func wantErr(t *testing.T, call string, err, class error) {
	t.Helper()
	if !errors.Is(err, class) {
		t.Errorf("%s = %v; want %v", call, err, class)
	}
}
