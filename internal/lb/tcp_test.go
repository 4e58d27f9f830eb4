package lb

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// tcpBackend reads everything a client sends until the client's
// half-close, then answers "<name> got <n> bytes" and closes; a line
// "echo ..." is answered at once, for interactive flows.
func tcpBackend(t *testing.T, name string) Target {
	t.Helper()
	addr := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		n := 0
		for {
			line, err := br.ReadString('\n')
			n += len(line)
			if strings.HasPrefix(line, "echo ") {
				fmt.Fprintf(c, "%s: %s", name, line[5:])
				continue
			}
			if err != nil {
				break
			}
		}
		fmt.Fprintf(c, "%s got %d bytes", name, n)
	})
	return addrTarget(t, addr)
}

func tcpGroup(arn string, targets ...Target) TargetGroup {
	return TargetGroup{ARN: arn, Protocol: "TCP", TargetType: "ip", Targets: targets, DeregistrationDelay: 300 * time.Millisecond,
		HealthCheck: HealthCheck{Enabled: true, Protocol: "TCP", Interval: 20 * time.Millisecond, Timeout: 2 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 2}}
}

func nlbListener(arn, tgARN string) Listener {
	return Listener{ARN: arn, Type: "network", Protocol: "TCP", Rules: []Rule{defaultRule(forwardTo(tgARN))}}
}

func bindTCP(t *testing.T, p *Plane, l Listener) string {
	t.Helper()
	return strings.TrimPrefix(bind(t, p, l), "http://")
}

func TestNLBProxyHalfClose(t *testing.T) {
	p := testPlane(t, Config{})
	tg := tcpGroup("tg/nlb", tcpBackend(t, "a"))
	p.SetTargetGroup(tg)
	addr := bindTCP(t, p, nlbListener("listener/nlb", tg.ARN))

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	payload := bytes.Repeat([]byte("0123456789abcdef\n"), 10000) // 170,000 bytes
	if _, err := c.Write(payload); err != nil {
		t.Fatal(err)
	}
	// The client's half-close must reach the target, which answers only
	// then; the answer must still come back.
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	if want := fmt.Sprintf("a got %d bytes", len(payload)); string(got) != want {
		t.Errorf("answer = %q; want %q", got, want)
	}
	eventually(t, 5*time.Second, "the flow counted", func() bool {
		return p.RequestCounts(tg.ARN)[targetKey(tg.Targets[0])] == 1
	})
}

func TestNLBHealthAndDistribution(t *testing.T) {
	p := testPlane(t, Config{})
	a, b, dead := tcpBackend(t, "a"), tcpBackend(t, "b"), freeTarget(t)
	tg := tcpGroup("tg/nlb-health", a, b, dead)
	p.SetTargetGroup(tg)
	addr := bindTCP(t, p, nlbListener("listener/nlb-health", tg.ARN))
	waitState(t, p, tg.ARN, a, StateHealthy)
	waitState(t, p, tg.ARN, b, StateHealthy)
	waitState(t, p, tg.ARN, dead, StateUnhealthy)

	seen := map[string]int{}
	for range 40 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.(*net.TCPConn).CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatalf("flow: %v", err)
		}
		name, _, _ := strings.Cut(string(got), " ")
		seen[name]++
	}
	if seen["a"] == 0 || seen["b"] == 0 || seen["a"]+seen["b"] != 40 {
		t.Errorf("40 flows went %v; want all on a and b (the flow hash spreads them), none lost to the dead target", seen)
	}
}

func TestNLBDraining(t *testing.T) {
	p := testPlane(t, Config{})
	a, b := tcpBackend(t, "a"), tcpBackend(t, "b")
	tg := tcpGroup("tg/nlb-drain", a)
	p.SetTargetGroup(tg)
	addr := bindTCP(t, p, nlbListener("listener/nlb-drain", tg.ARN))

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	echo := func(msg string) string {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "echo %s\n", msg)
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("echo %s: %v", msg, err)
		}
		return strings.TrimSpace(line)
	}
	if got := echo("one"); got != "a: one" {
		t.Fatalf("echo = %q; want a: one", got)
	}
	tg.Targets = []Target{b}
	p.SetTargetGroup(tg)
	waitState(t, p, tg.ARN, a, StateDraining)
	if got := echo("two"); got != "a: two" {
		t.Errorf("echo on the established flow after deregistration = %q; want a: two (the flow goes on)", got)
	}
	for range 5 {
		c2, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c2.(*net.TCPConn).CloseWrite()
		_ = c2.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(c2)
		c2.Close()
		if !strings.HasPrefix(string(got), "b ") {
			t.Errorf("new flow while a drains answered %q; want b", got)
		}
	}
}

func TestNLBNoTargetsResets(t *testing.T) {
	p := testPlane(t, Config{})
	tg := tcpGroup("tg/nlb-empty")
	p.SetTargetGroup(tg)
	addr := bindTCP(t, p, nlbListener("listener/nlb-empty", tg.ARN))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		// The reset can beat the end of connect on loopback.
		if !strings.Contains(err.Error(), "reset") {
			t.Fatalf("dial = %v; want success or a reset", err)
		}
		return
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || err == nil || isTimeout(err) {
		t.Errorf("read from a flow with no target = %d, %v; want the connection reset or closed at once", n, err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func TestNLBHTTPHealthCheck(t *testing.T) {
	p := testPlane(t, Config{})
	redirecting := newBackend(t, "r")
	redirecting.status.Store(302) // inside NLB's default matcher 200-399
	failing := newBackend(t, "f")
	failing.status.Store(500)
	tg := tcpGroup("tg/nlb-http", redirecting.target, failing.target)
	tg.HealthCheck.Protocol = "HTTP"
	tg.HealthCheck.Path = "/health"
	p.SetTargetGroup(tg)
	bindTCP(t, p, nlbListener("listener/nlb-http", tg.ARN))
	waitState(t, p, tg.ARN, redirecting.target, StateHealthy)
	waitState(t, p, tg.ARN, failing.target, StateUnhealthy)
	th, _ := healthOf(p, tg.ARN, failing.target)
	if th.Reason != ReasonResponseCodeMismatch {
		t.Errorf("TargetHealth(failing) = %+v; want %s", th, ReasonResponseCodeMismatch)
	}
}
