package lb

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func TestHealthStateMachine(t *testing.T) {
	ok := probeResult{ok: true}
	mismatch := probeResult{reason: ReasonResponseCodeMismatch, desc: "Health checks failed with these codes: [500]"}
	timeout := probeResult{reason: ReasonTimeout, desc: descTimeout}
	type step struct {
		r           probeResult
		state, why  string
		description string
	}
	tests := []struct {
		name               string
		healthy, unhealthy int
		steps              []step
	}{
		{"one pass makes a new target healthy", 5, 2, []step{
			{ok, StateHealthy, "", ""},
		}},
		{"initial failures keep it initial until the unhealthy threshold", 5, 3, []step{
			{mismatch, StateInitial, ReasonInitialHealthChecking, descInitialHealthChecking},
			{mismatch, StateInitial, ReasonInitialHealthChecking, descInitialHealthChecking},
			{timeout, StateUnhealthy, ReasonTimeout, descTimeout},
		}},
		{"initial failure then pass", 5, 2, []step{
			{mismatch, StateInitial, ReasonInitialHealthChecking, descInitialHealthChecking},
			{ok, StateHealthy, "", ""},
		}},
		{"healthy needs the unhealthy threshold in a row", 5, 3, []step{
			{ok, StateHealthy, "", ""},
			{mismatch, StateHealthy, "", ""},
			{mismatch, StateHealthy, "", ""},
			{ok, StateHealthy, "", ""}, // the run is broken
			{mismatch, StateHealthy, "", ""},
			{mismatch, StateHealthy, "", ""},
			{mismatch, StateUnhealthy, ReasonResponseCodeMismatch, "Health checks failed with these codes: [500]"},
		}},
		{"unhealthy needs the healthy threshold in a row", 3, 2, []step{
			{ok, StateHealthy, "", ""},
			{mismatch, StateHealthy, "", ""},
			{mismatch, StateUnhealthy, ReasonResponseCodeMismatch, "Health checks failed with these codes: [500]"},
			{ok, StateUnhealthy, ReasonResponseCodeMismatch, "Health checks failed with these codes: [500]"},
			{ok, StateUnhealthy, ReasonResponseCodeMismatch, "Health checks failed with these codes: [500]"},
			{timeout, StateUnhealthy, ReasonTimeout, descTimeout}, // the run is broken, the reason follows the latest failure
			{ok, StateUnhealthy, ReasonTimeout, descTimeout},
			{ok, StateUnhealthy, ReasonTimeout, descTimeout},
			{ok, StateHealthy, "", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHealth()
			if h.state != StateInitial || h.reason != ReasonRegistrationInProgress || h.desc != descRegistrationInProgress {
				t.Fatalf("newHealth() = %+v; want initial / %s", h, ReasonRegistrationInProgress)
			}
			for i, s := range tt.steps {
				h = h.next(s.r, tt.healthy, tt.unhealthy)
				if h.state != s.state || h.reason != s.why || h.desc != s.description {
					t.Fatalf("after step %d (%+v): %s / %s / %q; want %s / %s / %q", i, s.r, h.state, h.reason, h.desc, s.state, s.why, s.description)
				}
			}
		})
	}
}

func TestParseMatcher(t *testing.T) {
	tests := []struct {
		in      string
		ok, bad []int
		err     bool
	}{
		{in: "200", ok: []int{200}, bad: []int{201, 199, 404}},
		{in: "200-299", ok: []int{200, 204, 299}, bad: []int{199, 300, 500}},
		{in: "200,202", ok: []int{200, 202}, bad: []int{201}},
		{in: "200, 301-302 ,404", ok: []int{200, 301, 302, 404}, bad: []int{303, 500}},
		{in: "", err: true},
		{in: "2xx", err: true},
		{in: "299-200", err: true},
		{in: "600", err: true},
		{in: "200,", err: true},
		{in: "0200", err: true},
	}
	for _, tt := range tests {
		m, err := parseMatcher(tt.in)
		if tt.err {
			if err == nil {
				t.Errorf("parseMatcher(%q) = %v; want an error", tt.in, m)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseMatcher(%q) = %v", tt.in, err)
			continue
		}
		for _, c := range tt.ok {
			if !m.match(c) {
				t.Errorf("parseMatcher(%q).match(%d) = false; want true", tt.in, c)
			}
		}
		for _, c := range tt.bad {
			if m.match(c) {
				t.Errorf("parseMatcher(%q).match(%d) = true; want false", tt.in, c)
			}
		}
	}
}

func TestHealthThresholdsUpAndDown(t *testing.T) {
	p := testPlane(t, Config{})
	a := newBackend(t, "a")
	tg := httpGroup("tg/thresholds", a)
	tg.HealthCheck.HealthyThreshold = 3
	tg.HealthCheck.UnhealthyThreshold = 4
	p.SetTargetGroup(tg)
	bind(t, p, albListener("listener/thresholds", defaultRule(forwardTo(tg.ARN))))

	waitState(t, p, tg.ARN, a.target, StateHealthy)
	if n := a.checks.Load(); n < 1 {
		t.Fatalf("healthy after %d checks; want at least one", n)
	}

	// Going down takes UnhealthyThreshold failures in a row.
	a.status.Store(http.StatusInternalServerError)
	before := a.checks.Load()
	waitState(t, p, tg.ARN, a.target, StateUnhealthy)
	if n := a.checks.Load() - before; n < 4 {
		t.Errorf("unhealthy after %d failed checks; want at least the threshold 4", n)
	}
	th, _ := healthOf(p, tg.ARN, a.target)
	if th.Reason != ReasonResponseCodeMismatch || th.Description != "Health checks failed with these codes: [500]" {
		t.Errorf("TargetHealth = %+v; want %s with the codes", th, ReasonResponseCodeMismatch)
	}

	// Coming back takes HealthyThreshold successes in a row.
	a.status.Store(http.StatusOK)
	before = a.checks.Load()
	waitState(t, p, tg.ARN, a.target, StateHealthy)
	if n := a.checks.Load() - before; n < 3 {
		t.Errorf("healthy again after %d passing checks; want at least the threshold 3", n)
	}
}

func TestHealthCheckFailures(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	closed := freeTarget(t)
	redirect := httptest.NewServer(http.RedirectHandler("/elsewhere", http.StatusFound))
	t.Cleanup(redirect.Close)
	noContent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(noContent.Close)

	tests := []struct {
		name    string
		target  Target
		matcher string
		state   string
		reason  string
		desc    string
	}{
		{"timeout", addrTarget(t, slow.Listener.Addr().String()), "200", StateUnhealthy, ReasonTimeout, "Request timed out"},
		{"connection refused", closed, "200", StateUnhealthy, ReasonFailedHealthChecks, "Health checks failed"},
		{"redirect is not followed", addrTarget(t, redirect.Listener.Addr().String()), "200", StateUnhealthy, ReasonResponseCodeMismatch, "Health checks failed with these codes: [302]"},
		{"204 outside 200", addrTarget(t, noContent.Listener.Addr().String()), "200", StateUnhealthy, ReasonResponseCodeMismatch, "Health checks failed with these codes: [204]"},
		{"204 inside 200-299", addrTarget(t, noContent.Listener.Addr().String()), "200-299", StateHealthy, "", ""},
		{"302 in a list", addrTarget(t, redirect.Listener.Addr().String()), "200,302", StateHealthy, "", ""},
	}
	p := testPlane(t, Config{})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arn := "tg/failures/" + strconv.Itoa(i)
			tg := TargetGroup{ARN: arn, Protocol: "HTTP", Targets: []Target{tt.target}, HealthCheck: fastHealth()}
			tg.HealthCheck.Timeout = 50 * time.Millisecond
			tg.HealthCheck.Interval = 60 * time.Millisecond
			tg.HealthCheck.Matcher = tt.matcher
			p.SetTargetGroup(tg)
			bind(t, p, albListener("listener/failures/"+strconv.Itoa(i), defaultRule(forwardTo(arn))))
			waitState(t, p, arn, tt.target, tt.state)
			th, _ := healthOf(p, arn, tt.target)
			if th.Reason != tt.reason || th.Description != tt.desc {
				t.Errorf("TargetHealth = %s / %s / %q; want %s / %s / %q", th.State, th.Reason, th.Description, tt.state, tt.reason, tt.desc)
			}
		})
	}
}

func TestHealthCheckPortAndPath(t *testing.T) {
	var gotPath, gotUA atomic.Value
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath.Store(r.URL.RequestURI())
		gotUA.Store(r.UserAgent())
	}))
	t.Cleanup(health.Close)
	hp := addrTarget(t, health.Listener.Addr().String()).Port
	traffic := freeTarget(t) // nothing listens on the traffic port

	p := testPlane(t, Config{})
	tg := TargetGroup{ARN: "tg/port", Protocol: "HTTP", Targets: []Target{traffic}, HealthCheck: fastHealth()}
	tg.HealthCheck.Port = strconv.Itoa(hp)
	tg.HealthCheck.Path = "/deep/check?x=1"
	p.SetTargetGroup(tg)
	bind(t, p, albListener("listener/port", defaultRule(forwardTo(tg.ARN))))
	waitState(t, p, tg.ARN, traffic, StateHealthy)
	if got := gotPath.Load(); got != "/deep/check?x=1" {
		t.Errorf("health check request URI = %v; want /deep/check?x=1", got)
	}
	if got := gotUA.Load(); got != "ELB-HealthChecker/2.0" {
		t.Errorf("health check User-Agent = %v; want ELB-HealthChecker/2.0", got)
	}

	// Back to the traffic port, where nothing listens.
	tg.HealthCheck.Port = "traffic-port"
	p.SetTargetGroup(tg)
	waitState(t, p, tg.ARN, traffic, StateUnhealthy)
}

func TestUnusedTargetGroup(t *testing.T) {
	p := testPlane(t, Config{})
	a := newBackend(t, "a")
	tg := httpGroup("tg/unused", a)
	p.SetTargetGroup(tg)
	th, _ := healthOf(p, tg.ARN, a.target)
	if th.State != StateUnused || th.Reason != ReasonNotInUse || th.Description != descNotInUse {
		t.Errorf("TargetHealth of a group no listener uses = %+v; want unused / %s", th, ReasonNotInUse)
	}
	if n := a.checks.Load(); n != 0 {
		t.Errorf("%d health checks of a group no listener uses; want none", n)
	}
	bind(t, p, albListener("listener/unused", defaultRule(forwardTo(tg.ARN))))
	waitState(t, p, tg.ARN, a.target, StateHealthy)
	p.Unbind("listener/unused")
	th, _ = healthOf(p, tg.ARN, a.target)
	if th.State != StateUnused {
		t.Errorf("TargetHealth after Unbind = %+v; want unused", th)
	}
	if got := p.TargetHealth("tg/never"); got != nil {
		t.Errorf("TargetHealth(unknown) = %v; want nil", got)
	}
}

func TestHealthChecksDisabled(t *testing.T) {
	p := testPlane(t, Config{})
	a := newBackend(t, "a")
	a.status.Store(http.StatusInternalServerError)
	tg := httpGroup("tg/disabled", a)
	tg.HealthCheck.Enabled = false
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/disabled", defaultRule(forwardTo(tg.ARN))))
	th, _ := healthOf(p, tg.ARN, a.target)
	if th.State != StateUnavailable || th.Reason != ReasonHealthCheckDisabled {
		t.Errorf("TargetHealth with checks disabled = %+v; want unavailable / %s", th, ReasonHealthCheckDisabled)
	}
	if code, body := get(t, newClient(), base+"/"); code != 200 || body != "a" {
		t.Errorf("GET / = %d %q; want 200 from a", code, body)
	}
	if n := a.checks.Load(); n != 0 {
		t.Errorf("%d health checks while disabled; want none", n)
	}
}

func TestTCPHealthCheck(t *testing.T) {
	p := testPlane(t, Config{})
	a := newBackend(t, "a")
	closed := freeTarget(t)
	tg := TargetGroup{ARN: "tg/tcpcheck", Protocol: "HTTP", Targets: []Target{a.target, closed}, HealthCheck: fastHealth()}
	tg.HealthCheck.Protocol = "TCP"
	p.SetTargetGroup(tg)
	bind(t, p, albListener("listener/tcpcheck", defaultRule(forwardTo(tg.ARN))))
	waitState(t, p, tg.ARN, a.target, StateHealthy)
	waitState(t, p, tg.ARN, closed, StateUnhealthy)
	th, _ := healthOf(p, tg.ARN, closed)
	if th.Reason != ReasonFailedHealthChecks {
		t.Errorf("TCP check of a closed port: %+v; want %s", th, ReasonFailedHealthChecks)
	}
	if n := a.checks.Load(); n != 0 {
		t.Errorf("%d HTTP requests from a TCP health check; want none", n)
	}
}

func TestHealthIntervalFloor(t *testing.T) {
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := p.normalize(TargetGroup{HealthCheck: HealthCheck{Interval: time.Second}})
	if c.hc.interval != 5*time.Second {
		t.Errorf("interval 1s with the AWS floor = %v; want 5s", c.hc.interval)
	}
	p2, _ := New(Config{MinHealthInterval: 100 * time.Millisecond})
	c = p2.normalize(TargetGroup{HealthCheck: HealthCheck{Interval: time.Second}})
	if c.hc.interval != time.Second {
		t.Errorf("interval 1s with MinHealthInterval 100ms = %v; want 1s", c.hc.interval)
	}
	c = p2.normalize(TargetGroup{HealthCheck: HealthCheck{Interval: 10 * time.Millisecond, Timeout: time.Second}})
	if c.hc.interval != 100*time.Millisecond || c.hc.timeout != time.Second {
		t.Errorf("interval 10ms timeout 1s with MinHealthInterval 100ms = %v / %v; want 100ms / 1s (a check longer than the interval delays the next)", c.hc.interval, c.hc.timeout)
	}
	c = p.normalize(TargetGroup{})
	if c.hc.interval != 30*time.Second || c.hc.timeout != 5*time.Second || c.hc.healthy != 5 || c.hc.unhealthy != 2 || c.hc.path != "/" || !c.hc.matcher.match(200) || c.hc.matcher.match(204) {
		t.Errorf("defaults = %+v; want ALB's 30s / 5s / 5 / 2 / / / 200", c.hc)
	}
	c = p.normalize(TargetGroup{Protocol: "TCP"})
	if c.hc.protocol != "TCP" || c.hc.timeout != 10*time.Second {
		t.Errorf("TCP defaults = %+v; want TCP checks with a 10s timeout", c.hc)
	}
	c = p.normalize(TargetGroup{Protocol: "TCP", HealthCheck: HealthCheck{Protocol: "HTTP"}})
	if !c.hc.matcher.match(399) || c.hc.timeout != 6*time.Second {
		t.Errorf("NLB HTTP check defaults = %+v; want matcher 200-399 and a 6s timeout", c.hc)
	}
}

// freeTarget is a loopback port nothing listens on.
func freeTarget(t *testing.T) Target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addrTarget(t, addr)
}
