package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/lb"
)

// The benchmark re-runs its own binary in these roles, so each system under
// test is a process of its own that can be pinned and measured.
const (
	roleBackends = "backends" // two hello servers
	roleLB       = "lb"       // an lb.Plane with one listener over the backends
)

// helloBody is what the backends answer: a typical tiny API response.
var helloBody = []byte(`{"message":"hello from berth's lb benchmark"}` + "\n")

// runBackends serves two hello servers on loopback, prints their addresses
// ("ADDR a b") and serves until stdin closes.
func runBackends() error {
	var addrs []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		addrs = append(addrs, ln.Addr().String())
		srv := &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h := w.Header()
				h["Content-Type"] = []string{"application/json"}
				_, _ = w.Write(helloBody)
			}),
			ReadHeaderTimeout: 10 * time.Second,
			// Longer than the proxies' idle timeouts toward backends, so a
			// pooled connection is never closed under a request.
			IdleTimeout: 5 * time.Minute,
		}
		go func() { _ = srv.Serve(ln) }()
	}
	fmt.Printf("ADDR %s\n", strings.Join(addrs, " "))
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// runLB serves one ALB listener (round robin over the backends, default
// health checks) on a loopback port, prints "ADDR <addr>" once the targets
// are healthy, and serves until stdin closes.
func runLB(backends []string, cpuProfile string) error {
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	p, err := lb.New(lb.Config{Address: "127.0.0.1"})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	tg := lb.TargetGroup{
		ARN: "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/bench/0123456789abcdef", Name: "bench",
		Protocol: "HTTP", ProtocolVersion: "HTTP1", TargetType: "ip", Algorithm: lb.AlgorithmRoundRobin,
		HealthCheck: lb.HealthCheck{Enabled: true, Protocol: "HTTP", Port: "traffic-port", Path: "/",
			Interval: 30 * time.Second, Timeout: 5 * time.Second, HealthyThreshold: 5, UnhealthyThreshold: 2, Matcher: "200"},
		DeregistrationDelay: 300 * time.Second,
	}
	for _, b := range backends {
		host, port, err := net.SplitHostPort(b)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(port)
		if err != nil {
			return err
		}
		tg.Targets = append(tg.Targets, lb.Target{ID: host, Port: n})
	}
	p.SetTargetGroup(tg)
	l := lb.Listener{
		ARN:  "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/bench/0123456789abcdef/0123456789abcdef",
		Type: "application", Protocol: "HTTP", Port: 0, IdleTimeout: 60 * time.Second,
		Rules: []lb.Rule{{IsDefault: true, Actions: []lb.Action{{Type: "forward", TargetGroups: []lb.WeightedTargetGroup{{ARN: tg.ARN, Weight: 1}}}}}},
	}
	if err := p.Bind(l); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		healthy := 0
		for _, th := range p.TargetHealth(tg.ARN) {
			if th.State == lb.StateHealthy {
				healthy++
			}
		}
		if healthy == len(backends) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("targets not healthy after 30 s: %+v", p.TargetHealth(tg.ARN))
		}
		time.Sleep(10 * time.Millisecond)
	}
	addr, _ := p.ListenerAddr(l.ARN)
	fmt.Printf("ADDR %s\n", addr)
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
	return <-done
}
