package lb

import (
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// slowBackend answers /slow only when its gate opens.
func slowBackend(t *testing.T, name string) (*backend, *gate) {
	b := newBackend(t, name)
	g := newGate()
	t.Cleanup(g.open) // before the backend's Close, which waits for handlers
	b.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			g.wait()
		}
		_, _ = w.Write([]byte(name))
	})
	return b, g
}

// parkOn sends GET /slow until one request is held by gate g, and returns
// a channel with that request's status and body.
func parkOn(t *testing.T, base string, g *gate, wg *sync.WaitGroup) chan [2]any {
	t.Helper()
	out := make(chan [2]any, 1)
	wg.Go(func() {
		code, body := get(t, newClient(), base+"/slow")
		out <- [2]any{code, body}
	})
	select {
	case <-g.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the slow request did not reach the slow target")
	}
	return out
}

func TestDrainingLetsInFlightFinish(t *testing.T) {
	p := testPlane(t, Config{})
	a, gateA := slowBackend(t, "a")
	b := newBackend(t, "b")
	tg := httpGroup("tg/drain", a, b)
	tg.DeregistrationDelay = 500 * time.Millisecond
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/drain", defaultRule(forwardTo(tg.ARN))))
	waitState(t, p, tg.ARN, a.target, StateHealthy)
	waitState(t, p, tg.ARN, b.target, StateHealthy)

	var wg sync.WaitGroup
	defer wg.Wait()
	inflight := parkOn(t, base, gateA, &wg) // round robin starts with a, the first registered

	deregistered := time.Now()
	p.SetTargetGroup(httpGroupWith(tg, b))
	th, _ := healthOf(p, tg.ARN, a.target)
	if th.State != StateDraining || th.Reason != ReasonDeregistrationInProgress || th.Description != "Target deregistration is in progress" {
		t.Fatalf("TargetHealth(a) after deregistration = %+v; want draining / %s", th, ReasonDeregistrationInProgress)
	}
	c := newClient()
	for range 6 {
		if code, body := get(t, c, base+"/"); code != 200 || body != "b" {
			t.Fatalf("new request while a drains = %d %q; want 200 from b", code, body)
		}
	}

	gateA.open()
	got := <-inflight
	if got[0] != 200 || got[1] != "a" {
		t.Errorf("the request in flight on draining a = %v %v; want 200 \"a\"", got[0], got[1])
	}
	eventually(t, 5*time.Second, "a released", func() bool {
		_, ok := healthOf(p, tg.ARN, a.target)
		return !ok
	})
	if d := time.Since(deregistered); d < 500*time.Millisecond {
		t.Errorf("a released %v after deregistration; want after the 500ms delay", d)
	}
}

func TestDrainingDelayZero(t *testing.T) {
	p := testPlane(t, Config{})
	a, gateA := slowBackend(t, "a")
	b := newBackend(t, "b")
	tg := httpGroup("tg/drain0", a, b)
	tg.DeregistrationDelay = 0
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/drain0", defaultRule(forwardTo(tg.ARN))))
	waitState(t, p, tg.ARN, a.target, StateHealthy)
	waitState(t, p, tg.ARN, b.target, StateHealthy)

	var wg sync.WaitGroup
	defer wg.Wait()
	inflight := parkOn(t, base, gateA, &wg)
	p.SetTargetGroup(httpGroupWith(tg, b))
	if th, ok := healthOf(p, tg.ARN, a.target); ok {
		t.Errorf("TargetHealth(a) right after deregistration with delay 0 = %+v; want it gone", th)
	}
	gateA.open()
	if got := <-inflight; got[0] != 200 || got[1] != "a" {
		t.Errorf("the request in flight on released a = %v %v; want 200 \"a\"", got[0], got[1])
	}
	if counts := p.RequestCounts(tg.ARN); counts[targetKey(a.target)] != 1 {
		t.Errorf("RequestCounts = %v; want a's request still counted", counts)
	}
}

func TestReRegisterWhileDraining(t *testing.T) {
	p := testPlane(t, Config{})
	a, b := newBackend(t, "a"), newBackend(t, "b")
	tg := httpGroup("tg/rereg", a, b)
	tg.DeregistrationDelay = 300 * time.Millisecond
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/rereg", defaultRule(forwardTo(tg.ARN))))
	waitState(t, p, tg.ARN, a.target, StateHealthy)
	waitState(t, p, tg.ARN, b.target, StateHealthy)

	p.SetTargetGroup(httpGroupWith(tg, b))
	waitState(t, p, tg.ARN, a.target, StateDraining)
	p.SetTargetGroup(httpGroupWith(tg, a, b))
	if th, _ := healthOf(p, tg.ARN, a.target); th.State != StateHealthy {
		t.Errorf("TargetHealth(a) re-registered while draining = %+v; want healthy again", th)
	}
	got := map[string]int{}
	c := newClient()
	for range 4 {
		_, body := get(t, c, base+"/")
		got[body]++
	}
	if got["a"] != 2 || got["b"] != 2 {
		t.Errorf("requests went %v; want 2 each after re-registration", got)
	}
}

func TestDrainTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		a, b := Target{ID: "10.0.0.1", Port: 80}, Target{ID: "10.0.0.2", Port: 80}
		tg := TargetGroup{ARN: "tg/timer", Protocol: "HTTP", DeregistrationDelay: 300 * time.Second, Targets: []Target{a, b},
			HealthCheck: HealthCheck{Enabled: true}}
		p.SetTargetGroup(tg)
		p.mu.Lock()
		p.groups[tg.ARN].setInUse(true) // as a listener forwarding to it would
		p.mu.Unlock()

		tg.Targets = []Target{b}
		p.SetTargetGroup(tg)
		time.Sleep(300*time.Second - time.Millisecond)
		synctest.Wait()
		if th, ok := healthOf(p, tg.ARN, a); !ok || th.State != StateDraining {
			t.Fatalf("TargetHealth(a) just before the delay = %+v, %v; want draining", th, ok)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if th, ok := healthOf(p, tg.ARN, a); ok {
			t.Fatalf("TargetHealth(a) at the delay = %+v; want it released", th)
		}
		if got := states(p, tg.ARN); len(got) != 1 || got[targetKey(b)] != StateInitial {
			t.Errorf("TargetHealth = %v; want only b, initial", got)
		}

		// Re-registered while draining, a target stays: the old timer
		// must not release it.
		tg.Targets = []Target{b}
		p.SetTargetGroup(TargetGroup{ARN: tg.ARN, Protocol: "HTTP", DeregistrationDelay: 300 * time.Second, Targets: []Target{a, b}, HealthCheck: tg.HealthCheck})
		p.SetTargetGroup(tg) // a drains
		time.Sleep(100 * time.Second)
		p.SetTargetGroup(TargetGroup{ARN: tg.ARN, Protocol: "HTTP", DeregistrationDelay: 300 * time.Second, Targets: []Target{a, b}, HealthCheck: tg.HealthCheck})
		time.Sleep(time.Hour)
		synctest.Wait()
		if th, ok := healthOf(p, tg.ARN, a); !ok || th.State != StateInitial {
			t.Fatalf("TargetHealth(a) re-registered while draining, an hour later = %+v, %v; want it registered", th, ok)
		}

		// An unused group has nothing to drain: removal is at once.
		p.mu.Lock()
		p.groups[tg.ARN].setInUse(false)
		p.mu.Unlock()
		tg.Targets = nil
		p.SetTargetGroup(tg)
		if got := p.TargetHealth(tg.ARN); len(got) != 0 {
			t.Errorf("TargetHealth after deregistering from an unused group = %v; want none", got)
		}
	})
}

func TestRemoveTargetGroup(t *testing.T) {
	p := testPlane(t, Config{})
	a, gateA := slowBackend(t, "a")
	tg := httpGroup("tg/remove", a)
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/remove", defaultRule(forwardTo(tg.ARN))))
	var wg sync.WaitGroup
	defer wg.Wait()
	inflight := parkOn(t, base, gateA, &wg)
	p.RemoveTargetGroup(tg.ARN)
	if got := p.TargetHealth(tg.ARN); len(got) != 0 {
		t.Errorf("TargetHealth after RemoveTargetGroup = %v; want none", got)
	}
	if code, _ := get(t, newClient(), base+"/"); code != http.StatusServiceUnavailable {
		t.Errorf("GET / to a removed target group = %d; want 503", code)
	}
	gateA.open()
	if got := <-inflight; got[0] != 200 {
		t.Errorf("the request in flight = %v; want 200", got)
	}
}
