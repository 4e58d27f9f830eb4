package lb

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testPlane starts a plane with Run and stops it when the test ends.
func testPlane(t *testing.T, cfg Config) *Plane {
	t.Helper()
	if cfg.MinHealthInterval == 0 {
		cfg.MinHealthInterval = 10 * time.Millisecond
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = 2 * time.Second
	}
	if cfg.Logger == nil && os.Getenv("LB_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v) = %v", cfg, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run() = %v; want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return 10 s after its context ended")
		}
	})
	return p
}

// backend is a target: a loopback HTTP server that answers with its name
// and counts requests and health checks.
type backend struct {
	name    string
	srv     *httptest.Server
	target  Target
	status  atomic.Int32 // health check status; 0 means 200
	checks  atomic.Int64
	served  atomic.Int64
	handler http.Handler // optional, for paths other than /health
}

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			b.checks.Add(1)
			code := int(b.status.Load())
			if code == 0 {
				code = http.StatusOK
			}
			w.WriteHeader(code)
			return
		}
		b.served.Add(1)
		if b.handler != nil {
			b.handler.ServeHTTP(w, r)
			return
		}
		w.Header().Set("X-Backend", b.name)
		_, _ = io.WriteString(w, b.name)
	}))
	t.Cleanup(b.srv.Close)
	b.target = addrTarget(t, b.srv.Listener.Addr().String())
	return b
}

func addrTarget(t *testing.T, addr string) Target {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	return Target{ID: host, Port: n}
}

// fastHealth is a health check that settles in tens of milliseconds; its
// timeout is long so that a loaded machine does not fail checks.
func fastHealth() HealthCheck {
	return HealthCheck{
		Enabled: true, Protocol: "HTTP", Port: "traffic-port", Path: "/health",
		Interval: 20 * time.Millisecond, Timeout: 2 * time.Second,
		HealthyThreshold: 2, UnhealthyThreshold: 2, Matcher: "200",
	}
}

func httpGroup(arn string, backends ...*backend) TargetGroup {
	tg := TargetGroup{ARN: arn, Name: arn, Protocol: "HTTP", ProtocolVersion: "HTTP1", TargetType: "ip",
		HealthCheck: fastHealth(), DeregistrationDelay: 300 * time.Millisecond, Algorithm: AlgorithmRoundRobin}
	for _, b := range backends {
		tg.Targets = append(tg.Targets, b.target)
	}
	return tg
}

func forwardTo(arns ...string) Action {
	a := Action{Type: ActionForward, Order: 1}
	for _, arn := range arns {
		a.TargetGroups = append(a.TargetGroups, WeightedTargetGroup{ARN: arn, Weight: 1})
	}
	return a
}

func defaultRule(a Action) Rule {
	return Rule{ARN: "rule/default", IsDefault: true, Actions: []Action{a}}
}

func albListener(arn string, rules ...Rule) Listener {
	return Listener{ARN: arn, LoadBalancerARN: "lb/app", Type: "application", Protocol: "HTTP", Port: 0, Rules: rules}
}

// bind binds l and returns its base URL.
func bind(t *testing.T, p *Plane, l Listener) string {
	t.Helper()
	if err := p.Bind(l); err != nil {
		t.Fatalf("Bind(%s) = %v", l.ARN, err)
	}
	a, ok := p.ListenerAddr(l.ARN)
	if !ok {
		t.Fatalf("ListenerAddr(%s) = false after Bind", l.ARN)
	}
	return "http://" + a.String()
}

// eventually polls cond until it holds or the timeout passes: waiting for
// a state, not for time.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// states returns "id:port" -> state of a group's targets.
func states(p *Plane, arn string) map[string]string {
	out := map[string]string{}
	for _, th := range p.TargetHealth(arn) {
		out[targetKey(th.Target)] = th.State
	}
	return out
}

func healthOf(p *Plane, arn string, tg Target) (TargetHealth, bool) {
	for _, th := range p.TargetHealth(arn) {
		if th.Target.ID == tg.ID && th.Target.Port == tg.Port {
			return th, true
		}
	}
	return TargetHealth{}, false
}

func waitState(t *testing.T, p *Plane, arn string, tg Target, state string) {
	t.Helper()
	eventually(t, 5*time.Second, targetKey(tg)+" "+state, func() bool {
		th, ok := healthOf(p, arn, tg)
		return ok && th.State == state
	})
}

// client is a plain HTTP/1.1 client without connection reuse surprises.
func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16},
		Timeout:   10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// get returns the status and body of GET url.
func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// gate blocks handlers until opened.
type gate struct {
	once    sync.Once
	ch      chan struct{}
	entered chan struct{}
}

func newGate() *gate  { return &gate{ch: make(chan struct{}), entered: make(chan struct{}, 100)} }
func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }
func (g *gate) wait() {
	g.entered <- struct{}{}
	<-g.ch
}

var traceRoot = regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
