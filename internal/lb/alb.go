package lb

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berthhq/berth/internal/errdefs"
)

// httpConfig is an ALB listener's compiled configuration; a new one is
// swapped in whole on every Bind.
type httpConfig struct {
	spec    Listener
	rules   []compiledRule
	idle    time.Duration
	port    int    // the bound port: X-Forwarded-Port and #{port}
	portStr string // the same, formatted once
	proto   string // "http": X-Forwarded-Proto and #{protocol}
	offset  int
	needIP  bool // some rule has a source-ip condition
	xff     int  // xffAppend, xffPreserve or xffRemove
	xffPort bool // append the client's address with its port
}

// X-Forwarded-For processing modes.
const (
	xffAppend = iota
	xffPreserve
	xffRemove
)

func (p *Plane) compileHTTP(l Listener) (*httpConfig, error) {
	rules, err := compileRules(l.Rules, p.groupLocked)
	if err != nil {
		return nil, err
	}
	c := &httpConfig{spec: l, rules: rules, idle: l.IdleTimeout, proto: "http", offset: p.cfg.PortOffset, xffPort: l.XFFClientPort}
	switch l.XFFMode {
	case "", "append":
	case "preserve":
		c.xff = xffPreserve
	case "remove":
		c.xff = xffRemove
	default:
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "listener", "X-Forwarded-For mode %q is not append, preserve or remove", l.XFFMode)
	}
	if c.idle <= 0 {
		c.idle = 60 * time.Second
	}
	for _, r := range rules {
		for _, cd := range r.conds {
			if cd.kind == condSourceIP {
				c.needIP = true
			}
		}
	}
	return c, nil
}

// httpListener serves one ALB listener. Its accept loop serves each
// connection on the HTTP/1.1 fast path (h1.go), which hands what it does
// not handle to the listener's net/http server; when the idle timeout
// changes, a new server takes such connections while the old one finishes
// its own.
type httpListener struct {
	p     *Plane
	cfg   atomic.Pointer[httpConfig]
	ln    net.Listener
	stats listenerCounters

	mu     sync.Mutex
	feed   *connFeed
	srv    *http.Server
	idle   time.Duration
	closed bool
	conns  map[*h1conn]struct{} // fast-path connections
	empty  chan struct{}        // after retire: closed when conns empties
}

var _ boundListener = (*httpListener)(nil)

func (p *Plane) serveHTTP(l Listener, cfg *httpConfig, ln net.Listener) *httpListener {
	hl := &httpListener{p: p, ln: ln, conns: map[*h1conn]struct{}{}}
	hl.cfg.Store(cfg)
	hl.mu.Lock()
	hl.startServerLocked(cfg.idle)
	hl.mu.Unlock()
	p.wg.Go(hl.acceptLoop)
	p.log.Info("listener bound", "listener", l.ARN, "addr", ln.Addr().String(), "type", l.Type)
	return hl
}

func (hl *httpListener) spec() Listener       { return hl.cfg.Load().spec }
func (hl *httpListener) boundAddr() net.Addr  { return hl.ln.Addr() }
func (hl *httpListener) referenced() []*group { return referencedGroups(hl.cfg.Load().rules) }

func referencedGroups(rules []compiledRule) []*group {
	var out []*group
	for _, r := range rules {
		if r.act.kind == actForward {
			out = append(out, r.act.fwd.groups...)
		}
	}
	return out
}

// startServerLocked starts a server fed by a fresh feed. Needs hl.mu and p.mu.
func (hl *httpListener) startServerLocked(idle time.Duration) {
	var ps http.Protocols
	ps.SetHTTP1(true)
	ps.SetUnencryptedHTTP2(true) // h2c with prior knowledge
	srv := &http.Server{
		Handler:           hl,
		ReadHeaderTimeout: hl.p.cfg.ReadHeaderTimeout,
		IdleTimeout:       idle,
		MaxHeaderBytes:    64 << 10, // ALB: 64 KB of request headers
		Protocols:         &ps,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: 128},
		ErrorLog:          slog.NewLogLogger(hl.p.log.Handler(), slog.LevelDebug),
	}
	feed := &connFeed{ch: make(chan net.Conn), done: make(chan struct{}), addr: hl.ln.Addr()}
	hl.feed, hl.srv, hl.idle = feed, srv, idle
	hl.p.wg.Go(func() { _ = srv.Serve(feed) })
}

// update swaps in a new configuration on the same socket.
func (hl *httpListener) update(l Listener, cfg *httpConfig) {
	cur := hl.cfg.Load()
	cfg.port, cfg.portStr = cur.port, cur.portStr
	hl.cfg.Store(cfg)
	hl.mu.Lock()
	defer hl.mu.Unlock()
	if hl.closed || cfg.idle == hl.idle {
		return
	}
	old := hl.srv
	oldFeed := hl.feed
	hl.startServerLocked(cfg.idle)
	oldFeed.Close()
	hl.p.retireServer(old, hl.p.cfg.ShutdownGrace)
	hl.p.log.Debug("listener idle timeout changed", "listener", l.ARN, "idle_timeout", cfg.idle)
}

// retire stops accepting; idle connections close at once, the others
// after their current response or when the grace ends.
func (hl *httpListener) retire(grace time.Duration) {
	empty := make(chan struct{})
	hl.mu.Lock()
	hl.closed = true
	srv := hl.srv
	conns := make([]*h1conn, 0, len(hl.conns))
	for hc := range hl.conns {
		conns = append(conns, hc)
	}
	if len(hl.conns) == 0 {
		close(empty)
	} else {
		hl.empty = empty
	}
	hl.mu.Unlock()
	_ = hl.ln.Close()
	for _, hc := range conns {
		if hc.state.CompareAndSwap(connIdle, connClosed) {
			_ = hc.c.Close()
		}
	}
	hl.p.retireServer(srv, grace)
	hl.p.wg.Go(func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-empty:
		case <-t.C:
			hl.mu.Lock()
			for hc := range hl.conns {
				_ = hc.c.Close()
			}
			hl.mu.Unlock()
		}
	})
	hl.p.log.Info("listener closed", "listener", hl.spec().ARN, "addr", hl.ln.Addr().String())
}

// retireServer lets srv finish its requests in flight within grace, then
// closes what is left. Needs p.mu.
func (p *Plane) retireServer(srv *http.Server, grace time.Duration) {
	p.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
	})
}

func (hl *httpListener) acceptLoop() {
	var backoff time.Duration
	for {
		c, err := hl.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			hl.p.log.Warn("accept failed", "listener", hl.spec().ARN, "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		hl.stats.connections.Add(1)
		// This goroutine is counted in p.wg, so adding to it here cannot
		// race with Run's Wait.
		hl.p.wg.Go(func() { hl.serveConn(c) })
	}
}

// connFeed is the net.Listener one http.Server takes its connections from.
type connFeed struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

func (f *connFeed) Accept() (net.Conn, error) {
	select {
	case c := <-f.ch:
		return c, nil
	case <-f.done:
		return nil, net.ErrClosed
	}
}

func (f *connFeed) Close() error {
	f.once.Do(func() { close(f.done) })
	return nil
}

func (f *connFeed) Addr() net.Addr { return f.addr }

func (f *connFeed) put(c net.Conn) bool {
	select {
	case <-f.done:
		return false
	default:
	}
	select {
	case f.ch <- c:
		return true
	case <-f.done:
		return false
	}
}

// clientConn is a client connection of an ALB listener. It answers 408
// when a request's headers stop arriving before ReadHeaderTimeout, as ALB
// does, instead of closing silently.
type clientConn struct {
	net.Conn
	l        *httpListener
	pending  atomic.Bool  // request bytes arrived that no response answered yet
	deadline atomic.Int64 // the last read deadline, unix ns; 0 none
	started  bool         // the first bytes have been seen
	h2       bool         // the connection speaks HTTP/2
}

var h2Preface = []byte("PRI * HTTP/2.0")

func (c *clientConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		if !c.started {
			c.started = true
			c.h2 = bytes.HasPrefix(h2Preface, b[:min(n, len(h2Preface))])
		}
		c.pending.Store(true)
	}
	if err != nil && !c.h2 && c.pending.Load() {
		var ne net.Error
		// A deadline far in the past is net/http aborting its own read,
		// not a slow client.
		if errors.As(err, &ne) && ne.Timeout() && c.deadline.Load() > time.Now().Add(-time.Minute).UnixNano() {
			c.pending.Store(false)
			c.l.stats.elb408.Add(1)
			_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Conn.Write(rawResponse(http.StatusRequestTimeout))
		}
	}
	return n, err
}

func (c *clientConn) Write(b []byte) (int, error) {
	c.pending.Store(false)
	return c.Conn.Write(b)
}

func (c *clientConn) SetReadDeadline(t time.Time) error {
	c.noteDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *clientConn) SetDeadline(t time.Time) error {
	c.noteDeadline(t)
	return c.Conn.SetDeadline(t)
}

func (c *clientConn) noteDeadline(t time.Time) {
	if t.IsZero() {
		c.deadline.Store(0)
	} else {
		c.deadline.Store(t.UnixNano())
	}
}

// CloseWrite lets net/http close gracefully (FIN, then drain).
func (c *clientConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ServeHTTP routes one request by the listener's rules.
func (hl *httpListener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cfg := hl.cfg.Load()
	hl.stats.requests.Add(1)
	ri := newReqInfo(r)
	if cfg.needIP {
		if ap, err := netipAddrPort(r.RemoteAddr); err == nil {
			ri.clientAddr = ap
		}
	}
	rule := matchRule(cfg.rules, &ri)
	if rule == nil { // compileRules guarantees a default rule
		hl.elbError(w, http.StatusServiceUnavailable)
		return
	}
	switch act := rule.act; act.kind {
	case actFixed:
		hl.stats.fixed.Add(1)
		h := w.Header()
		h.Set("Server", "awselb/2.0")
		h.Set("Content-Type", act.fixed.contentType)
		h.Set("Content-Length", strconv.Itoa(len(act.fixed.body)))
		w.WriteHeader(act.fixed.status)
		_, _ = w.Write(act.fixed.body)
	case actRedirect:
		hl.stats.redirects.Add(1)
		h := w.Header()
		h.Set("Server", "awselb/2.0")
		h.Set("Location", act.redir.location(&ri, cfg.proto, cfg.port, cfg.offset))
		h.Set("Content-Type", "text/html")
		body := errorBody(act.redir.status)
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(act.redir.status)
		_, _ = w.Write(body)
	case actForward:
		hl.forward(w, r, &ri, cfg, act.fwd)
	}
}

// elbError answers with a response the load balancer generated itself, in
// ALB's format.
func (hl *httpListener) elbError(w http.ResponseWriter, code int) {
	hl.stats.countELB(code)
	h := w.Header()
	clear(h)
	body := errorBody(code)
	h.Set("Server", "awselb/2.0")
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

var statusTitles = map[int]string{
	http.StatusMovedPermanently:    "301 Moved Permanently",
	http.StatusFound:               "302 Found",
	http.StatusBadRequest:          "400 Bad Request",
	http.StatusRequestTimeout:      "408 Request Time-out",
	http.StatusInternalServerError: "500 Internal Server Error",
	http.StatusBadGateway:          "502 Bad Gateway",
	http.StatusServiceUnavailable:  "503 Service Temporarily Unavailable",
	http.StatusGatewayTimeout:      "504 Gateway Time-out",
}

var errorBodies = func() map[int][]byte {
	m := map[int][]byte{}
	for code, title := range statusTitles {
		m[code] = []byte("<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title + "</h1></center>\r\n</body>\r\n</html>\r\n")
	}
	return m
}()

func errorBody(code int) []byte {
	if b, ok := errorBodies[code]; ok {
		return b
	}
	return []byte(strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n")
}

// rawResponse is a whole HTTP/1.1 error response that closes the
// connection, for writing below net/http.
func rawResponse(code int) []byte {
	body := errorBody(code)
	return []byte("HTTP/1.1 " + statusTitles[code] + "\r\nServer: awselb/2.0\r\nContent-Type: text/html\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + string(body))
}

// listenerCounters count what a listener did; ListenerStats reads them.
type listenerCounters struct {
	connections, requests                  atomic.Uint64
	elb408, elb460, elb502, elb503, elb504 atomic.Uint64
	elb500                                 atomic.Uint64
	redirects, fixed                       atomic.Uint64
	target2xx, target3xx, target4xx        atomic.Uint64
	target5xx                              atomic.Uint64
}

func (c *listenerCounters) countELB(code int) {
	switch code {
	case http.StatusRequestTimeout:
		c.elb408.Add(1)
	case 460:
		c.elb460.Add(1)
	case http.StatusBadGateway:
		c.elb502.Add(1)
	case http.StatusServiceUnavailable:
		c.elb503.Add(1)
	case http.StatusGatewayTimeout:
		c.elb504.Add(1)
	default:
		c.elb500.Add(1)
	}
}

func (c *listenerCounters) countTarget(code int) {
	switch code / 100 {
	case 2:
		c.target2xx.Add(1)
	case 3:
		c.target3xx.Add(1)
	case 4:
		c.target4xx.Add(1)
	case 5:
		c.target5xx.Add(1)
	}
}

// ListenerStats counts what a listener did since it was bound, in the
// terms of ALB's CloudWatch metrics.
type ListenerStats struct {
	Connections uint64 // NewConnectionCount (NLB: NewFlowCount)
	Requests    uint64 // RequestCount
	// Responses the load balancer generated itself (HTTPCode_ELB_*).
	// ELB460 counts clients that closed their connection before the
	// response; nothing is sent to them.
	ELB408, ELB460, ELB500, ELB502, ELB503, ELB504 uint64
	Redirects, FixedResponses                      uint64 // HTTP_Redirect_Count, HTTP_Fixed_Response_Count
	Target2XX, Target3XX, Target4XX, Target5XX     uint64 // HTTPCode_Target_*_Count
}

func (c *listenerCounters) snapshot() ListenerStats {
	return ListenerStats{
		Connections: c.connections.Load(), Requests: c.requests.Load(),
		ELB408: c.elb408.Load(), ELB460: c.elb460.Load(), ELB500: c.elb500.Load(),
		ELB502: c.elb502.Load(), ELB503: c.elb503.Load(), ELB504: c.elb504.Load(),
		Redirects: c.redirects.Load(), FixedResponses: c.fixed.Load(),
		Target2XX: c.target2xx.Load(), Target3XX: c.target3xx.Load(),
		Target4XX: c.target4xx.Load(), Target5XX: c.target5xx.Load(),
	}
}

// ListenerStats returns a listener's counters; false for an unknown ARN.
func (p *Plane) ListenerStats(listenerARN string) (ListenerStats, bool) {
	p.mu.Lock()
	l := p.listeners[listenerARN]
	p.mu.Unlock()
	switch l := l.(type) {
	case *httpListener:
		return l.stats.snapshot(), true
	case *tcpListener:
		return l.stats.snapshot(), true
	}
	return ListenerStats{}, false
}
