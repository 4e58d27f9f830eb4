package lb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/errdefs"
)

func fixedRule(body string) Rule {
	return Rule{ARN: "rule/default", IsDefault: true, Actions: []Action{{Type: ActionFixedResponse, FixedResponse: &FixedResponse{StatusCode: "200", MessageBody: body}}}}
}

func TestBindErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	p := testPlane(t, Config{})
	ok := albListener("listener/x", fixedRule("x"))
	with := func(mod func(*Listener)) Listener {
		l := ok
		mod(&l)
		return l
	}
	tests := []struct {
		name   string
		l      Listener
		reason string
		want   string
	}{
		{"port in use", with(func(l *Listener) { l.Port = busyPort }), ReasonPortUnavailable,
			fmt.Sprintf("cannot listen on 127.0.0.1:%d for listener port %d: bind: address already in use", busyPort, busyPort)},
		{"https", with(func(l *Listener) { l.Protocol = "HTTPS" }), ReasonUnsupportedProtocol, "HTTPS listeners are not supported"},
		{"udp", with(func(l *Listener) { l.Type, l.Protocol = "network", "UDP" }), ReasonUnsupportedProtocol, "protocol UDP is not supported"},
		{"tls", with(func(l *Listener) { l.Type, l.Protocol = "network", "TLS" }), ReasonUnsupportedProtocol, "protocol TLS is not supported"},
		{"tcp on alb", with(func(l *Listener) { l.Protocol = "TCP" }), ReasonUnsupportedProtocol, `protocol "TCP" is not supported by application`},
		{"gateway", with(func(l *Listener) { l.Type = "gateway" }), ReasonUnsupportedProtocol, `type "gateway" is not supported`},
		{"bad rules", with(func(l *Listener) { l.Rules = nil }), ReasonInvalidRule, "no default rule"},
		{"nlb with rules", with(func(l *Listener) {
			l.Type, l.Protocol = "network", "TCP"
			l.Rules = []Rule{defaultRule(forwardTo("tg")), {Priority: 1, Actions: []Action{forwardTo("tg")}}}
		}), ReasonInvalidRule, "network listeners have only a default rule"},
		{"nlb fixed response", with(func(l *Listener) { l.Type, l.Protocol = "network", "TCP" }), ReasonInvalidRule, "must forward to one target group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Bind(tt.l)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Bind(%s) = %v; want an error containing %q", tt.name, err, tt.want)
			}
			e, ok := errdefs.As(err)
			if !ok || !errors.Is(err, errdefs.ErrInvalidArgument) || e.Reason != tt.reason {
				t.Errorf("Bind(%s) error = %#v; want ErrInvalidArgument with reason %s", tt.name, err, tt.reason)
			}
			if _, bound := p.ListenerAddr(tt.l.ARN); bound {
				t.Errorf("ListenerAddr(%s) after a failed Bind = bound; want nothing", tt.l.ARN)
			}
		})
	}
}

func TestPortOffset(t *testing.T) {
	free := freeTarget(t).Port
	if free <= 80 {
		t.Skip("the free port is too low for an offset from 80")
	}
	p := testPlane(t, Config{PortOffset: free - 80})
	l := albListener("listener/offset", fixedRule("ok"))
	l.Port = 80
	base := bind(t, p, l)
	if want := "http://127.0.0.1:" + strconv.Itoa(free); base != want {
		t.Errorf("listener port 80 with offset %d bound at %s; want %s", free-80, base, want)
	}
	if code, body := get(t, newClient(), base+"/"); code != 200 || body != "ok" {
		t.Errorf("GET = %d %q; want 200 ok", code, body)
	}

	// The offset shows in the error of a port that cannot be bound.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	bp := busy.Addr().(*net.TCPAddr).Port
	l2 := albListener("listener/offset2", fixedRule("x"))
	l2.Port = bp - (free - 80)
	if l2.Port < 1 {
		t.Skip("busy port below the offset")
	}
	err = p.Bind(l2)
	want := fmt.Sprintf("cannot listen on 127.0.0.1:%d for listener port %d (+ offset %d): bind: address already in use", bp, l2.Port, free-80)
	if err == nil || err.Error() != want {
		t.Errorf("Bind(port %d) = %v; want %q", l2.Port, err, want)
	}
}

func TestRebindPortChange(t *testing.T) {
	p := testPlane(t, Config{})
	a, gateA := slowBackend(t, "a")
	tg := httpGroup("tg/rebind", a)
	p.SetTargetGroup(tg)
	l := albListener("listener/rebind", defaultRule(forwardTo(tg.ARN)))
	l.Port = freeTarget(t).Port
	oldBase := bind(t, p, l)
	var wg sync.WaitGroup
	defer wg.Wait()
	inflight := parkOn(t, oldBase, gateA, &wg)

	// A port that cannot be bound leaves the listener where it was.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	bad := l
	bad.Port = busy.Addr().(*net.TCPAddr).Port
	if err := p.Bind(bad); err == nil {
		t.Fatalf("Bind to busy port %d = nil; want an error", bad.Port)
	}
	if code, _ := get(t, newClient(), oldBase+"/"); code != 200 {
		t.Fatalf("GET on the old port after a failed rebind = %d; want 200", code)
	}

	moved := l
	moved.Port = freeTarget(t).Port
	newBase := bind(t, p, moved)
	if newBase == oldBase {
		t.Fatalf("rebind kept %s; want port %d", newBase, moved.Port)
	}
	if code, body := get(t, newClient(), newBase+"/"); code != 200 || body != "a" {
		t.Errorf("GET on the new port = %d %q; want 200 a", code, body)
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(oldBase, "http://"), time.Second); err == nil {
		t.Errorf("the old port %s still accepts connections after the rebind", oldBase)
	}
	gateA.open()
	if got := <-inflight; got[0] != 200 || got[1] != "a" {
		t.Errorf("the request in flight on the old port = %v %v; want 200 a", got[0], got[1])
	}
}

func TestRebindSamePortKeepsConnections(t *testing.T) {
	p := testPlane(t, Config{})
	l := albListener("listener/same", fixedRule("one"))
	l.Port = freeTarget(t).Port
	base := bind(t, p, l)
	c := newClient()
	reused := func() (string, bool) {
		var r bool
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { r = i.Reused }})
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), r
	}
	if body, _ := reused(); body != "one" {
		t.Fatalf("GET = %q; want one", body)
	}
	l.Rules = []Rule{fixedRule("two")}
	bind(t, p, l)
	body, wasReused := reused()
	if body != "two" || !wasReused {
		t.Errorf("GET after new rules on the same port = %q (connection reused %v); want two on the same connection", body, wasReused)
	}
	// A new idle timeout needs a new server on the same socket: requests
	// keep working.
	l.IdleTimeout = 30 * time.Second
	bind(t, p, l)
	for range 3 {
		if body, _ := reused(); body != "two" {
			t.Errorf("GET after a new idle timeout = %q; want two", body)
		}
	}
}

func TestUnbind(t *testing.T) {
	p := testPlane(t, Config{})
	a, gateA := slowBackend(t, "a")
	tg := httpGroup("tg/unbind", a)
	p.SetTargetGroup(tg)
	l := albListener("listener/unbind", defaultRule(forwardTo(tg.ARN)))
	l.Port = freeTarget(t).Port
	base := bind(t, p, l)
	var wg sync.WaitGroup
	defer wg.Wait()
	inflight := parkOn(t, base, gateA, &wg)

	p.Unbind(l.ARN)
	addr := strings.TrimPrefix(base, "http://")
	// The port is free at once: CreateListener may take it again.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s right after Unbind: %v", addr, err)
	}
	ln.Close()
	gateA.open()
	if got := <-inflight; got[0] != 200 || got[1] != "a" {
		t.Errorf("the request in flight at Unbind = %v %v; want 200 a", got[0], got[1])
	}
	if _, ok := p.ListenerAddr(l.ARN); ok {
		t.Errorf("ListenerAddr after Unbind = bound; want nothing")
	}
	p.Unbind(l.ARN) // twice is harmless
}

func TestSlowlorisCutOff(t *testing.T) {
	p := testPlane(t, Config{ReadHeaderTimeout: 300 * time.Millisecond})
	l := albListener("listener/slowloris", fixedRule("ok"))
	base := bind(t, p, l)
	addr := strings.TrimPrefix(base, "http://")

	const slow = 50
	type result struct {
		status string
		after  time.Duration
	}
	results := make(chan result, slow)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range slow {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		start := time.Now()
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ") // and never the rest
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			results <- result{strings.TrimSpace(line), time.Since(start)}
		}()
	}
	// Other clients are served meanwhile, promptly.
	c := newClient()
	for i := range 20 {
		start := time.Now()
		if code, body := get(t, c, base+"/"); code != 200 || body != "ok" {
			t.Fatalf("normal request %d during the attack = %d %q; want 200 ok", i, code, body)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("normal request %d took %v during the attack; want it prompt", i, d)
		}
	}
	for range slow {
		r := <-results
		if r.status != "HTTP/1.1 408 Request Time-out" {
			t.Errorf("slow client got %q; want HTTP/1.1 408 Request Time-out", r.status)
		}
		if r.after > 3*time.Second {
			t.Errorf("slow client cut off after %v; want about the 300ms header timeout", r.after)
		}
	}
	st, _ := p.ListenerStats(l.ARN)
	if st.ELB408 != slow {
		t.Errorf("ListenerStats.ELB408 = %d; want %d", st.ELB408, slow)
	}
}

func TestMalformedRequest400(t *testing.T) {
	p := testPlane(t, Config{})
	base := bind(t, p, albListener("listener/400", fixedRule("ok")))
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "NOT HTTP AT ALL\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 400") {
		t.Errorf("malformed request got %q; want HTTP/1.1 400", line)
	}
}

func TestRunStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	p, err := New(Config{MinHealthInterval: 10 * time.Millisecond, ShutdownGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	a := newBackend(t, "a")
	tg := httpGroup("tg/stop", a)
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/stop", defaultRule(forwardTo(tg.ARN))))
	tcpTG := TargetGroup{ARN: "tg/stop-tcp", Protocol: "TCP", Targets: []Target{a.target}, HealthCheck: HealthCheck{Enabled: true, Interval: 20 * time.Millisecond}}
	p.SetTargetGroup(tcpTG)
	if err := p.Bind(Listener{ARN: "listener/stop-tcp", Type: "network", Protocol: "TCP", Rules: []Rule{defaultRule(forwardTo(tcpTG.ARN))}}); err != nil {
		t.Fatal(err)
	}
	waitState(t, p, tg.ARN, a.target, StateHealthy)
	if code, _ := get(t, newClient(), base+"/"); code != 200 {
		t.Fatalf("GET = %d; want 200", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run() = %v; want nil on cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	ln, err := net.Listen("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Errorf("the listener's port is still taken after Run returned: %v", err)
	} else {
		ln.Close()
	}
	err = p.Bind(albListener("listener/late", fixedRule("x")))
	if e, ok := errdefs.As(err); !ok || e.Reason != ReasonStopped {
		t.Errorf("Bind after Run returned = %v; want reason %s", err, ReasonStopped)
	}
	if err := p.Run(context.Background()); err == nil {
		t.Errorf("Run again = nil; want an error")
	}
	// Everything the plane started has ended (the backend and the
	// client's idle connections are the test's).
	newClient().CloseIdleConnections()
	a.srv.CloseClientConnections()
	eventually(t, 5*time.Second, "the plane's goroutines to end", func() bool {
		return runtime.NumGoroutine() <= before+4
	})
}
