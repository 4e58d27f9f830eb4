package servicescale

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// traceProxy is a Docker Engine API proxy on a unix socket that records
// every request's start and end. With BERTH_BENCH_TRACE=1 Berth's agent
// talks to the engine through it, so the benchmark can say which engine
// calls the agent makes during a ramp. It adds latency to every call of the
// Berth arm: a traced run is diagnostics, not a figure to compare.
type traceProxy struct {
	sock string
	srv  *http.Server

	mu    sync.Mutex
	calls []apiCall
}

type apiCall struct {
	Op         string
	Start, End time.Time
}

func startTraceProxy(dir, upstream string) (*traceProxy, error) {
	p := &traceProxy{sock: filepath.Join(dir, "docker.sock")}
	ln, err := net.Listen("unix", p.sock)
	if err != nil {
		return nil, err
	}
	target, _ := url.Parse("http://docker")
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1 // event streams pass through as they come
	rp.Transport = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", upstream)
		},
		MaxIdleConnsPerHost: 128,
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rp.ServeHTTP(w, r)
		if strings.HasSuffix(r.URL.Path, "/events") {
			return
		}
		p.mu.Lock()
		p.calls = append(p.calls, apiCall{Op: normalizeOp(r.Method, r.URL.Path), Start: start, End: time.Now()})
		p.mu.Unlock()
	})}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *traceProxy) host() string { return "unix://" + p.sock }
func (p *traceProxy) close()       { _ = p.srv.Close() }

var (
	versionPrefix = regexp.MustCompile(`^/v[0-9.]+`)
	hexID         = regexp.MustCompile(`/[0-9a-f]{64}`)
)

// normalizeOp turns "POST /v1.41/containers/<id>/start" into
// "POST /containers/{id}/start" and image references into {ref}.
func normalizeOp(method, path string) string {
	path = versionPrefix.ReplaceAllString(path, "")
	path = hexID.ReplaceAllString(path, "/{id}")
	if rest, ok := strings.CutPrefix(path, "/images/"); ok && rest != "create" && rest != "json" {
		if i := strings.LastIndex(rest, "/"); i >= 0 {
			path = "/images/{ref}" + rest[i:]
		}
	}
	return method + " " + path
}

// summary counts the calls that started within [from, to] by operation,
// with their median and maximum duration.
func (p *traceProxy) summary(from, to time.Time) string {
	p.mu.Lock()
	byOp := map[string][]float64{}
	for _, c := range p.calls {
		if !c.Start.Before(from) && !c.Start.After(to) {
			byOp[c.Op] = append(byOp[c.Op], ms(c.Start, c.End))
		}
	}
	p.mu.Unlock()
	var parts []string
	for _, op := range slices.Sorted(func(yield func(string) bool) {
		for k := range byOp {
			if !yield(k) {
				return
			}
		}
	}) {
		d := byOp[op]
		parts = append(parts, fmt.Sprintf("%s ×%d (median %.0f ms, max %.0f ms)", op, len(d), median(d), slices.Max(d)))
	}
	return strings.Join(parts, "; ")
}
