package benchkit

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TraceProxy is a Docker Engine API proxy on a unix socket that records
// every request's start and end. An agent given its Host as --docker-host
// talks to the engine through it, so a benchmark sees exactly which engine
// calls the agent makes and how long each takes. It adds a little latency
// to every call: traced runs are diagnostics, never figures to compare.
type TraceProxy struct {
	sock string
	srv  *http.Server

	mu    sync.Mutex
	calls []Call
}

// Call is one Engine API request that went through the proxy.
type Call struct {
	Method, Path string
	Start        time.Time
	End          time.Time // when the response body was fully sent
	Code         int
}

// StartTraceProxy listens on a socket in a new short temporary directory
// (unix socket paths are limited to 107 bytes) and forwards to the engine
// at daemonHost, which must be a unix:// address. The proxy and the
// directory go when the test ends.
func StartTraceProxy(t testing.TB, daemonHost string) (*TraceProxy, error) {
	upstream, ok := strings.CutPrefix(daemonHost, "unix://")
	if !ok {
		return nil, errors.New("the engine is at " + daemonHost + ", not a unix socket")
	}
	dir, err := os.MkdirTemp("", "berth-trace-")
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &TraceProxy{sock: filepath.Join(dir, "docker.sock")}
	ln, err := net.Listen("unix", p.sock)
	if err != nil {
		return nil, err
	}
	target, _ := url.Parse("http://docker")
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1 // event and pull streams pass through as they come
	rp.Transport = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", upstream)
		},
		MaxIdleConnsPerHost: 128,
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		rp.ServeHTTP(sw, r)
		if strings.HasSuffix(r.URL.Path, "/events") {
			return // a stream that lives as long as the agent
		}
		p.mu.Lock()
		p.calls = append(p.calls, Call{Method: r.Method, Path: r.URL.Path, Start: start, End: time.Now(), Code: sw.code})
		p.mu.Unlock()
	})}
	go func() { _ = p.srv.Serve(ln) }()
	t.Cleanup(func() { _ = p.srv.Close() })
	return p, nil
}

// Host is the address to give the agent as --docker-host.
func (p *TraceProxy) Host() string { return "unix://" + p.sock }

// Between returns the calls that started within [from, to], in order of
// their start.
func (p *TraceProxy) Between(from, to time.Time) []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Call
	for _, c := range p.calls {
		if !c.Start.Before(from) && !c.Start.After(to) {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b Call) int { return a.Start.Compare(b.Start) })
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
