package lb

import (
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRoundRobinOverHealthyTargets(t *testing.T) {
	p := testPlane(t, Config{})
	a, b := newBackend(t, "a"), newBackend(t, "b")
	tg := httpGroup("tg/rr", a, b)
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/rr", defaultRule(forwardTo(tg.ARN))))
	waitState(t, p, tg.ARN, a.target, StateHealthy)
	waitState(t, p, tg.ARN, b.target, StateHealthy)

	c := newClient()
	got := map[string]int{}
	for range 10 {
		code, body := get(t, c, base+"/")
		if code != http.StatusOK {
			t.Fatalf("GET / = %d; want 200", code)
		}
		got[body]++
	}
	// Round robin alternates exactly while both targets stay healthy; a
	// health check failing on a loaded machine may move one request over;
	// anything more is not round robin.
	if got["a"]+got["b"] != 10 || got["a"] < 4 || got["b"] < 4 {
		t.Errorf("10 requests went %v; want 5 (±1) to a and to b", got)
	}
	counts := p.RequestCounts(tg.ARN)
	if ca, cb := counts[targetKey(a.target)], counts[targetKey(b.target)]; ca+cb < 10 || ca < 4 || cb < 4 {
		t.Errorf("RequestCounts(%s) = %v; want 5 (±1) each", tg.ARN, counts)
	}
}

func TestLeastOutstandingRequests(t *testing.T) {
	p := testPlane(t, Config{})
	a, b := newBackend(t, "a"), newBackend(t, "b")
	g := newGate()
	t.Cleanup(g.open) // before the backends' Close, which waits for handlers
	a.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			g.wait()
		}
		_, _ = w.Write([]byte("a"))
	})
	tg := httpGroup("tg/lor", a, b)
	tg.Algorithm = AlgorithmLeastOutstandingRequests
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/lor", defaultRule(forwardTo(tg.ARN))))
	waitState(t, p, tg.ARN, a.target, StateHealthy)
	waitState(t, p, tg.ARN, b.target, StateHealthy)

	// With nothing outstanding the scan starts at the first registered
	// target, a, where the slow request parks.
	c := newClient()
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	wg.Go(func() { _, _ = get(t, c, base+"/slow") })
	select {
	case <-g.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the slow request did not reach a")
	}
	before := b.served.Load()
	for range 6 {
		if code, body := get(t, c, base+"/"); code != 200 || body == "a" {
			t.Fatalf("GET / = %d %q while a has a request outstanding; want 200 from b", code, body)
		}
	}
	if n := b.served.Load() - before; n != 6 {
		t.Errorf("b served %d of 6 requests; want all 6", n)
	}
	g.open()
}

func TestWeightedTargetGroups(t *testing.T) {
	p := testPlane(t, Config{})
	a, b := newBackend(t, "a"), newBackend(t, "b")
	tga, tgb := httpGroup("tg/w1", a), httpGroup("tg/w3", b)
	p.SetTargetGroup(tga)
	p.SetTargetGroup(tgb)
	act := Action{Type: ActionForward, TargetGroups: []WeightedTargetGroup{{ARN: tga.ARN, Weight: 1}, {ARN: tgb.ARN, Weight: 3}}}
	base := bind(t, p, albListener("listener/w", defaultRule(act)))
	c := newClient()
	got := map[string]int{}
	for range 20 {
		_, body := get(t, c, base+"/")
		got[body]++
	}
	if got["a"] != 5 || got["b"] != 15 {
		t.Errorf("20 requests with weights 1:3 went %v; want a 5, b 15", got)
	}
}

func TestZeroWeightsAnswer503(t *testing.T) {
	p := testPlane(t, Config{})
	a, b := newBackend(t, "a"), newBackend(t, "b")
	tga, tgb := httpGroup("tg/z1", a), httpGroup("tg/z2", b)
	p.SetTargetGroup(tga)
	p.SetTargetGroup(tgb)
	act := Action{Type: ActionForward, TargetGroups: []WeightedTargetGroup{{ARN: tga.ARN, Weight: 0}, {ARN: tgb.ARN, Weight: 0}}}
	base := bind(t, p, albListener("listener/z", defaultRule(act)))
	if code, _ := get(t, newClient(), base+"/"); code != http.StatusServiceUnavailable {
		t.Errorf("GET / with all weights 0 = %d; want 503", code)
	}
}

func TestTargetStickiness(t *testing.T) {
	// The cookie jar expires cookies by the real clock: start the plane's
	// clock at the real time.
	clock := &fakeClock{t: time.Now().UTC().Truncate(time.Second)}
	wantExpires := clock.Now().Add(time.Hour).Format(http.TimeFormat)
	p := testPlane(t, Config{Now: clock.Now})
	a, b := newBackend(t, "a"), newBackend(t, "b")
	tg := httpGroup("tg/sticky", a, b)
	tg.Stickiness = TGStickiness{Enabled: true, Type: "lb_cookie", Duration: time.Hour}
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/sticky", defaultRule(forwardTo(tg.ARN))))
	waitState(t, p, tg.ARN, a.target, StateHealthy)
	waitState(t, p, tg.ARN, b.target, StateHealthy)

	jar, _ := cookiejar.New(nil)
	c := newClient()
	c.Jar = jar
	resp, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	first := resp.Header.Get("X-Backend")
	var sawALB, sawCORS bool
	for _, sc := range resp.Header.Values("Set-Cookie") {
		switch {
		case strings.HasPrefix(sc, "AWSALB="):
			sawALB = strings.Contains(sc, "Expires="+wantExpires) && strings.Contains(sc, "Path=/")
		case strings.HasPrefix(sc, "AWSALBCORS="):
			sawCORS = strings.Contains(sc, "SameSite=None") && strings.Contains(sc, "Secure")
		}
	}
	if !sawALB || !sawCORS {
		t.Errorf("Set-Cookie = %q; want AWSALB expiring in the stickiness duration and AWSALBCORS with SameSite=None; Secure", resp.Header.Values("Set-Cookie"))
	}
	for i := range 6 {
		if _, body := get(t, c, base+"/"); body != first {
			t.Fatalf("request %d with the AWSALB cookie went to %q; want %q", i, body, first)
		}
	}

	// Past the duration the cookie is stale and routing starts over.
	clock.Add(2 * time.Hour)
	seen := map[string]bool{}
	for range 4 {
		// Drop the cookie the plane renews, to see several fresh picks.
		c.Jar, _ = cookiejar.New(nil)
		_, body := get(t, c, base+"/")
		seen[body] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Errorf("requests without a valid cookie went to %v; want both targets", seen)
	}

	// A cookie naming a target that left the group picks a new target.
	c.Jar, _ = cookiejar.New(nil)
	_, stuck := get(t, c, base+"/")
	other := a
	if stuck == "a" {
		other = b
	}
	p.SetTargetGroup(httpGroup("tg/sticky", other))
	tg2 := httpGroup("tg/sticky", other)
	tg2.Stickiness = tg.Stickiness
	p.SetTargetGroup(tg2)
	if _, body := get(t, c, base+"/"); body != other.name {
		t.Errorf("request stuck to deregistered %q went to %q; want %q", stuck, body, other.name)
	}
}

func TestTargetGroupStickiness(t *testing.T) {
	p := testPlane(t, Config{})
	a, b := newBackend(t, "a"), newBackend(t, "b")
	tga, tgb := httpGroup("tg/s1", a), httpGroup("tg/s2", b)
	p.SetTargetGroup(tga)
	p.SetTargetGroup(tgb)
	act := Action{Type: ActionForward,
		TargetGroups: []WeightedTargetGroup{{ARN: tga.ARN, Weight: 1}, {ARN: tgb.ARN, Weight: 1}},
		Stickiness:   &Stickiness{Enabled: true, Duration: time.Minute}}
	base := bind(t, p, albListener("listener/tgs", defaultRule(act)))
	jar, _ := cookiejar.New(nil)
	c := newClient()
	c.Jar = jar
	_, first := get(t, c, base+"/")
	for i := range 6 {
		if _, body := get(t, c, base+"/"); body != first {
			t.Fatalf("request %d with AWSALBTG went to %q; want %q", i, body, first)
		}
	}
	// Without the cookie the weights apply again.
	plain := newClient()
	seen := map[string]bool{}
	for range 4 {
		_, body := get(t, plain, base+"/")
		seen[body] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Errorf("requests without AWSALBTG went to %v; want both groups", seen)
	}
}

func TestFailOpenWhenAllUnhealthy(t *testing.T) {
	p := testPlane(t, Config{})
	a, b := newBackend(t, "a"), newBackend(t, "b")
	a.status.Store(http.StatusInternalServerError)
	b.status.Store(http.StatusInternalServerError)
	tg := httpGroup("tg/failopen", a, b)
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/failopen", defaultRule(forwardTo(tg.ARN))))
	waitState(t, p, tg.ARN, a.target, StateUnhealthy)
	waitState(t, p, tg.ARN, b.target, StateUnhealthy)
	c := newClient()
	got := map[string]int{}
	for range 4 {
		code, body := get(t, c, base+"/")
		if code != http.StatusOK {
			t.Fatalf("GET / with every target unhealthy = %d; want 200 (fail open)", code)
		}
		got[body]++
	}
	if got["a"] != 2 || got["b"] != 2 {
		t.Errorf("fail-open requests went %v; want 2 to each", got)
	}

	// One healthy target takes everything.
	b.status.Store(http.StatusOK)
	waitState(t, p, tg.ARN, b.target, StateHealthy)
	for range 4 {
		if _, body := get(t, c, base+"/"); body != "b" {
			t.Fatalf("request went to %q with only b healthy; want b", body)
		}
	}
}

func TestInitialTargetNotRoutedWhileAnotherIsHealthy(t *testing.T) {
	p := testPlane(t, Config{})
	a, b := newBackend(t, "a"), newBackend(t, "b")
	tg := httpGroup("tg/initial", a)
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/initial", defaultRule(forwardTo(tg.ARN))))
	waitState(t, p, tg.ARN, a.target, StateHealthy)

	b.status.Store(http.StatusServiceUnavailable) // b never passes
	tg.HealthCheck.UnhealthyThreshold = 1000      // so it stays initial
	p.SetTargetGroup(httpGroupWith(tg, a, b))
	eventually(t, 5*time.Second, "b checked", func() bool {
		th, _ := healthOf(p, tg.ARN, b.target)
		return th.Reason == ReasonInitialHealthChecking
	})
	c := newClient()
	for range 6 {
		if _, body := get(t, c, base+"/"); body != "a" {
			t.Fatalf("request went to %q while b is initial; want a", body)
		}
	}
}

func TestNoRegisteredTargets503(t *testing.T) {
	p := testPlane(t, Config{})
	tg := httpGroup("tg/empty")
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/empty", defaultRule(forwardTo(tg.ARN))))
	resp, err := newClient().Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Server") != "awselb/2.0" {
		t.Errorf("GET / with no targets = %d Server %q; want 503 from awselb/2.0", resp.StatusCode, resp.Header.Get("Server"))
	}
	// A target group the plane was never told about answers the same.
	base2 := bind(t, p, albListener("listener/unknown", defaultRule(forwardTo("tg/never-set"))))
	if code, _ := get(t, newClient(), base2+"/"); code != http.StatusServiceUnavailable {
		t.Errorf("GET / to an unknown target group = %d; want 503", code)
	}
}

func TestSlowStart(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := testPlane(t, Config{Now: clock.Now})
	a, b := newBackend(t, "a"), newBackend(t, "b")
	tg := httpGroup("tg/slow", a)
	tg.SlowStart = time.Minute
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/slow", defaultRule(forwardTo(tg.ARN))))
	waitState(t, p, tg.ARN, a.target, StateHealthy)
	p.SetTargetGroup(httpGroupWith(tg, a, b))
	waitState(t, p, tg.ARN, b.target, StateHealthy)

	c := newClient()
	for range 10 {
		if _, body := get(t, c, base+"/"); body != "a" {
			t.Fatalf("request went to %q at the start of b's slow start; want a", body)
		}
	}
	clock.Add(time.Minute)
	got := map[string]int{}
	for range 10 {
		_, body := get(t, c, base+"/")
		got[body]++
	}
	if got["a"] != 5 || got["b"] != 5 {
		t.Errorf("after slow start requests went %v; want 5 each", got)
	}
}

// httpGroupWith returns tg's settings with the given targets.
func httpGroupWith(tg TargetGroup, backends ...*backend) TargetGroup {
	tg.Targets = nil
	for _, b := range backends {
		tg.Targets = append(tg.Targets, b.target)
	}
	return tg
}

// fakeClock is an injectable Config.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
