package lb

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
)

// BenchmarkProxy measures the request path of an ALB listener: keep-alive
// clients, two loopback backends, round robin. For profiling:
//
//	go test ./internal/lb -run '^$' -bench Proxy -cpuprofile cpu.prof
func BenchmarkProxy(b *testing.B) {
	body := []byte(`{"message":"hello"}`)
	var backends []Target
	for range 2 {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = []string{"application/json"}
			_, _ = w.Write(body)
		}))
		b.Cleanup(srv.Close)
		host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		n, _ := strconv.Atoi(port)
		backends = append(backends, Target{ID: host, Port: n})
	}
	p, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	tg := TargetGroup{ARN: "tg/bench", Protocol: "HTTP", HealthCheck: HealthCheck{Enabled: false}, Targets: backends}
	p.SetTargetGroup(tg)
	l := albListener("listener/bench", defaultRule(forwardTo(tg.ARN)))
	if err := p.Bind(l); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Unbind(l.ARN) })
	addr, _ := p.ListenerAddr(l.ARN)

	req := []byte("GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\n\r\n")
	b.ReportAllocs()
	b.ResetTimer()
	var mu sync.Mutex
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for pb.Next() {
			if _, err := c.Write(req); err != nil {
				b.Error(err)
				return
			}
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				b.Error(err)
				return
			}
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				mu.Lock()
				b.Errorf("status %d", resp.StatusCode)
				mu.Unlock()
				return
			}
		}
	})
}
