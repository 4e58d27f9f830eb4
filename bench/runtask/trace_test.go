package runtask

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// traceProxy is a Docker Engine API proxy on a unix socket that records
// every request's start and end. The traced agent talks to the engine
// through it, so the benchmark sees exactly which engine calls the agent
// makes between RunTask and RUNNING, and how long each takes. It adds a
// little latency to every call, so traced runs are diagnostics only and
// never enter the measured comparison.
type traceProxy struct {
	sock string
	srv  *http.Server
	ln   net.Listener

	mu    sync.Mutex
	calls []apiCall
}

// startTraceProxy listens on dir/docker.sock and forwards to the engine's
// unix socket upstream.
func startTraceProxy(dir, upstream string) (*traceProxy, error) {
	p := &traceProxy{sock: filepath.Join(dir, "docker.sock")}
	ln, err := net.Listen("unix", p.sock)
	if err != nil {
		return nil, err
	}
	p.ln = ln
	target, _ := url.Parse("http://docker")
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1 // event and pull streams pass through as they come
	rp.Transport = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", upstream)
		},
		MaxIdleConnsPerHost: 64,
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		rp.ServeHTTP(sw, r)
		if strings.HasSuffix(r.URL.Path, "/events") {
			return // a stream that lives as long as the agent
		}
		p.mu.Lock()
		p.calls = append(p.calls, apiCall{Op: normalizeOp(r.Method, r.URL.Path), Start: start, End: time.Now(), Code: sw.code})
		p.mu.Unlock()
	})}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// host is the address to give the agent as --docker-host.
func (p *traceProxy) host() string { return "unix://" + p.sock }

func (p *traceProxy) close() { _ = p.srv.Close() }

// between returns the calls that started within [from, to], in order.
func (p *traceProxy) between(from, to time.Time) []apiCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []apiCall
	for _, c := range p.calls {
		if !c.Start.Before(from) && !c.Start.After(to) {
			out = append(out, c)
		}
	}
	sortCalls(out)
	return out
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Flush lets the reverse proxy flush streamed responses through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
