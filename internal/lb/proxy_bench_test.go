package lb

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
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

// BenchmarkProxyH1 is BenchmarkProxy with the harness taken out of the
// figures: backends and clients speak HTTP/1.1 over raw connections and
// allocate nothing per request, so allocs/op and B/op are the proxy's own
// (BenchmarkProxy's are mostly net/http's in its backends and client). The
// request is bench/lb's.
func BenchmarkProxyH1(b *testing.B) {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Length: 19\r\n\r\n{\"message\":\"hello\"}")
	var backends []Target
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		b.Cleanup(func() { _ = ln.Close(); wg.Wait() })
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				b.Cleanup(func() { _ = c.Close() })
				wg.Go(func() { rawServe(c, resp) })
			}
		})
		backends = append(backends, Target{ID: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port})
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

	req := []byte("GET / HTTP/1.1\r\nHost: " + addr.String() + "\r\nUser-Agent: berth-lb-bench\r\nAccept: */*\r\n\r\n")
	b.ReportAllocs()
	b.ResetTimer()
	// ns/op is mostly the loopback round trip of two clients; the CPU the
	// process (mostly the proxy) spends per request says more, and other
	// load on the machine changes it less.
	cpu0 := processCPU()
	defer func() { b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op") }()
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
			if err := rawResponse200(r); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// rawServe answers every bodyless request on c with resp.
func rawServe(c net.Conn, resp []byte) {
	r := bufio.NewReader(c)
	for {
		for {
			line, err := r.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 {
				break
			}
		}
		if _, err := c.Write(resp); err != nil {
			return
		}
	}
}

// rawResponse200 reads a 200 response with a Content-Length.
func rawResponse200(r *bufio.Reader) error {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return errors.New("not a 200: " + string(line))
	}
	n := -1
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if n < 0 {
		return errors.New("no Content-Length")
	}
	_, err = r.Discard(n)
	return err
}

// processCPU is the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
