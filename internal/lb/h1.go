package lb

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The HTTP/1.1 fast path. ALB listeners serve HTTP/1.1 requests on their
// own loop: one goroutine per client connection parses the request, routes
// it, and relays it over a pooled keep-alive connection to the target,
// with no goroutine per backend connection and few allocations. It costs
// about what nginx costs per request; net/http's server and Transport cost
// more than twice that (bench/lb/README.md).
//
// Whatever the fast path does not handle goes, with its connection, to the
// listener's net/http server, replaying the bytes already read: HTTP/2
// with prior knowledge (h2c), HTTP/1.0, protocol upgrades (WebSocket),
// request targets that are not paths, unusual Expect and Transfer-Encoding
// values, and target groups that speak HTTPS or HTTP/2 to their targets.

// Connection states, for graceful shutdown.
const (
	connIdle int32 = iota
	connActive
	connClosed
)

// h1conn is one client connection on the fast path.
type h1conn struct {
	hl    *httpListener
	c     net.Conn
	br    *bufio.Reader
	bw    *bufio.Writer
	state atomic.Int32
	ip    string // the client's address, for X-Forwarded-For
	addr  string // the same with its port
	// The client's address for source-ip conditions, parsed once.
	ipAddr   netip.Addr
	ipParsed bool
	req      h1Request
	resp     h1Response
	watch    *clientWatch
	wdl      time.Time // the client write deadline last set
	out      bool      // the connection went to net/http
}

// serveConn is the fast path's loop over one client connection.
func (hl *httpListener) serveConn(c net.Conn) {
	remote := c.RemoteAddr().String()
	hc := &h1conn{hl: hl, c: c, br: bufio.NewReaderSize(c, 4<<10), ip: clientIP(remote), addr: remote}
	if !hl.track(hc) {
		_ = c.Close()
		return
	}
	defer func() {
		hl.untrack(hc)
		if hc.watch != nil {
			hc.watch.timer.Stop()
		}
		if !hc.out {
			hc.state.Store(connClosed)
			_ = c.Close()
		}
		if hc.bw != nil {
			hc.bw.Reset(nil)
			writers.Put(hc.bw)
		}
	}()
	headerTimeout := hl.p.cfg.ReadHeaderTimeout
	first := true
	for {
		// A new connection has the header timeout from its accept; a
		// kept-alive one may idle for the idle timeout, then its next
		// request's head must arrive within the header timeout.
		if first {
			_ = c.SetReadDeadline(time.Now().Add(headerTimeout))
		} else {
			_ = c.SetReadDeadline(time.Now().Add(hl.cfg.Load().idle))
		}
		if _, err := hc.br.Peek(1); err != nil {
			return
		}
		cfg := hl.cfg.Load() // the configuration when the request came
		if !hc.state.CompareAndSwap(connIdle, connActive) {
			return // the listener is closing
		}
		if !first && !headBuffered(hc.br) {
			_ = c.SetReadDeadline(time.Now().Add(headerTimeout))
		}
		first = false
		err := hc.req.read(hc.br, maxLine, maxHead)
		if err == nil {
			err = hc.req.parse()
		}
		switch {
		case err == nil:
		case errors.Is(err, errHeadTooLarge), errors.Is(err, errMalformed):
			hl.stats.requests.Add(1)
			_ = hc.writeError(http.StatusBadRequest, true)
			return
		default:
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && len(hc.req.raw) > 0 {
				// The head began but did not finish in time (slowloris).
				hl.stats.elb408.Add(1)
				_ = c.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = c.Write(rawResponse(http.StatusRequestTimeout))
			}
			return
		}
		if hc.req.fallback {
			hc.handoff()
			return
		}
		if !hc.serve(cfg) {
			return
		}
		hc.state.Store(connIdle)
		if hl.isClosed() {
			return
		}
	}
}

// headBuffered reports whether a whole request head is already buffered,
// so reading it cannot block (and needs no header deadline).
func headBuffered(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Buffered())
	return bytes.Contains(b, []byte("\r\n\r\n"))
}

// handoff gives the connection to the listener's net/http server, with
// the head already read replayed ahead of the rest.
func (hc *h1conn) handoff() {
	replay := bytes.Clone(hc.req.raw)
	_ = hc.c.SetReadDeadline(time.Time{})
	rc := &replayConn{Conn: hc.c, r: io.MultiReader(bytes.NewReader(replay), hc.br)}
	hc.hl.untrack(hc)
	if hc.hl.toServer(&clientConn{Conn: rc, l: hc.hl}) {
		hc.out = true
	}
}

// replayConn reads bytes already consumed before the connection itself.
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}

func (hc *h1conn) writer() *bufio.Writer {
	if hc.bw == nil {
		hc.bw = writers.Get().(*bufio.Writer)
		hc.bw.Reset(hc.c)
	}
	return hc.bw
}

// flush sends what is buffered for the client, which must take it within
// about the idle timeout: the write deadline is renewed once half of it is
// used, not on every flush (each renewal is a timer update).
func (hc *h1conn) flush(idle time.Duration) error {
	if hc.bw == nil || hc.bw.Buffered() == 0 {
		return nil
	}
	if now := time.Now(); hc.wdl.Sub(now) < idle/2 {
		hc.wdl = now.Add(idle)
		_ = hc.c.SetWriteDeadline(hc.wdl)
	}
	return hc.bw.Flush()
}

// serve answers one request; false closes the connection.
func (hc *h1conn) serve(cfg *httpConfig) bool {
	hl := hc.hl
	req := &hc.req
	ri := reqInfo{method: req.method, host: req.host, path: req.path, rawQuery: req.rawQuery, h: req}
	if cfg.needIP {
		if !hc.ipParsed {
			hc.ipAddr, _ = netipAddrPort(hc.addr)
			hc.ipParsed = true
		}
		ri.clientAddr = hc.ipAddr
	}
	rule := matchRule(cfg.rules, &ri)
	if rule != nil && rule.act.kind == actForward && !rule.act.fwd.fastPath() {
		hc.handoff()
		return false
	}
	hl.stats.requests.Add(1)
	if rule == nil { // compileRules guarantees a default rule
		return hc.writeError(http.StatusServiceUnavailable, !req.bodyless)
	}
	// A body the answer does not need is not read: the connection closes
	// after the answer instead.
	keep := req.bodyless && !req.close
	switch act := rule.act; act.kind {
	case actFixed:
		hl.stats.fixed.Add(1)
		fx := act.fixed
		hc.writeGenerated(fx.status, http.StatusText(fx.status), fx.contentType, "", fx.body, !keep)
		// Flushed even when the connection closes after it.
		err := hc.flush(cfg.idle)
		return keep && err == nil
	case actRedirect:
		hl.stats.redirects.Add(1)
		loc := act.redir.location(&ri, cfg.proto, cfg.port, cfg.offset)
		hc.writeGenerated(act.redir.status, http.StatusText(act.redir.status), "text/html", loc, errorBody(act.redir.status), !keep)
		err := hc.flush(cfg.idle)
		return keep && err == nil
	}
	return hc.forward(cfg, &ri, rule.act.fwd)
}

// fastPath reports whether every group of the action speaks plain
// HTTP/1.1 to its targets.
func (f *forwardAction) fastPath() bool {
	for _, g := range f.groups {
		if c := g.view.Load().cfg; c != nil && (c.protocol != "HTTP" || c.h2) {
			return false
		}
	}
	return true
}

// errRetry: a reused target connection failed before any answer; an
// idempotent bodyless request may go again on a fresh one.
var errRetry = errors.New("stale target connection")

// sideError says on which side a relay failed.
type sideError struct {
	client bool
	err    error
}

func (e *sideError) Error() string { return e.err.Error() }
func (e *sideError) Unwrap() error { return e.err }

// forward relays one request to a target and its answer back.
func (hc *h1conn) forward(cfg *httpConfig, ri *reqInfo, f *forwardAction) bool {
	hl := hc.hl
	req := &hc.req
	ch, code := hl.choose(ri, f)
	if code != 0 {
		return hc.writeError(code, !req.bodyless)
	}
	t := ch.t
	t.count.Add(1)
	t.outstanding.Add(1)
	defer t.done()

	sent100 := false
	for {
		bc, reused, err := hl.p.backend(t)
		if err != nil {
			var ne net.Error
			code := http.StatusBadGateway
			if errors.As(err, &ne) && ne.Timeout() {
				code = http.StatusGatewayTimeout
			}
			hl.p.log.Debug("target connection failed", "target", t.key, "err", err)
			return hc.writeError(code, !req.bodyless)
		}
		if req.expect100 && !sent100 {
			sent100 = true
			w := hc.writer()
			_, _ = w.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if hc.flush(cfg.idle) != nil {
				bc.close()
				hl.stats.elb460.Add(1)
				return false
			}
		}
		// A stale pooled connection fails at once; the pool empties of
		// them, then a new connection is dialed and not retried.
		keep, err := hc.exchange(cfg, ch, bc, reused)
		if errors.Is(err, errRetry) {
			continue
		}
		return keep
	}
}

// exchange sends the request on bc and relays the answer. It returns
// errRetry when a reused connection failed before answering a request
// that may be sent again.
func (hc *h1conn) exchange(cfg *httpConfig, ch choice, bc *backendConn, mayRetry bool) (bool, error) {
	hl := hc.hl
	req := &hc.req
	t := ch.t
	idle := cfg.idle
	bw := bc.bw
	client := hc.ip
	if cfg.xffPort {
		client = hc.addr
	}
	writeRequestHead(bw, req, cfg, client)
	var err error
	if !req.bodyless {
		// A body may fill the target's window: its writes get the idle
		// timeout. A bare head to an idle pooled connection cannot block.
		up := relay{dst: bw, dstConn: bc.c, src: hc.br, srcConn: hc.c, idle: idle}
		if req.chunked {
			err = up.chunked()
		} else {
			err = up.n(req.contentLength)
		}
		_ = bc.c.SetWriteDeadline(time.Now().Add(idle))
	}
	if err == nil {
		if ferr := bw.Flush(); ferr != nil {
			err = &sideError{err: ferr}
		}
	}
	if err != nil {
		bc.close()
		var se *sideError
		if errors.As(err, &se) && se.client {
			hl.stats.elb460.Add(1) // the client went away while sending
			return false, nil
		}
		if mayRetry && req.idempotentForRetrying {
			return false, errRetry
		}
		hl.p.log.Debug("sending to the target failed", "target", t.key, "err", err)
		return hc.writeError(http.StatusBadGateway, false), nil
	}

	// The answer: 1xx interim responses are passed on; then the final one.
	// While it takes long, watch the client: one that leaves is counted
	// (460) and the wait ends.
	watch := hc.watchClient(bc)
	defer watch.stop()
	resp := &hc.resp
	for {
		_ = bc.c.SetReadDeadline(time.Now().Add(idle))
		err = resp.read(bc.br, maxLine, maxHead)
		if err == nil {
			err = resp.parse(req.method)
		}
		if err != nil {
			bc.close()
			var ne net.Error
			switch {
			case watch.stop():
				hl.stats.elb460.Add(1)
				hl.p.log.Debug("client closed the connection before the response", "target", t.key)
				return false, nil
			case errors.As(err, &ne) && ne.Timeout():
				hl.p.log.Debug("target did not answer within the idle timeout", "target", t.key)
				return hc.writeError(http.StatusGatewayTimeout, false), nil
			case mayRetry && req.idempotentForRetrying && len(resp.raw) == 0:
				return false, errRetry
			default:
				hl.p.log.Debug("target answer failed", "target", t.key, "err", err)
				return hc.writeError(http.StatusBadGateway, false), nil
			}
		}
		if resp.code >= 200 {
			if watch.stop() {
				bc.close()
				hl.stats.elb460.Add(1)
				return false, nil
			}
			break
		}
		if resp.code == http.StatusSwitchingProtocols {
			bc.close()
			return hc.writeError(http.StatusBadGateway, false), nil // no upgrade was asked for
		}
		w := hc.writer()
		writeResponseHead(w, resp, nil, false)
		if hc.flush(idle) != nil {
			bc.close()
			hl.stats.elb460.Add(1)
			return false, nil
		}
	}
	hl.stats.countTarget(resp.code)

	keep := !req.close && !hl.isClosed()
	w := hc.writer()
	writeResponseHead(w, resp, ch.cookies, !keep)
	down := relay{dst: w, src: bc.br, srcConn: bc.c, idle: idle, client: hc}
	switch {
	case resp.noBody:
	case resp.chunked:
		err = down.chunked()
	case resp.untilClose:
		err = down.untilClose()
	case resp.contentLength > 0:
		err = down.n(resp.contentLength)
	}
	if err == nil {
		err = down.flush()
	}
	if err != nil {
		bc.close()
		var se *sideError
		if errors.As(err, &se) && se.client {
			hl.stats.elb460.Add(1)
		} else {
			// The headers are gone: all that is left is to cut the client
			// off so it sees a truncated answer.
			hl.p.log.Debug("target answer body failed", "target", t.key, "err", err)
		}
		return false, nil
	}
	if resp.close || bc.br.Buffered() > 0 {
		bc.close()
	} else {
		t.pool.put(bc)
	}
	return keep, nil
}

// watchDelay is how long a target may take before the client's connection
// is watched for its end.
const watchDelay = 50 * time.Millisecond

// clientWatch watches a client connection while its request waits for
// the target: a timer started per request runs the watch after
// watchDelay, peeking at the client; an end of connection aborts the wait
// by closing the target connection. One per client connection, reused.
type clientWatch struct {
	hc    *h1conn
	timer *time.Timer
	state atomic.Int32 // watchIdle, watchArmed, watchRunning
	bc    atomic.Pointer[backendConn]
	gone  atomic.Bool
	done  chan struct{} // the running watch ended
	mu    sync.Mutex    // orders the watch's and stop's read deadlines
	halt  bool
}

const (
	watchIdle int32 = iota
	watchArmed
	watchRunning
)

func (hc *h1conn) watchClient(bc *backendConn) *clientWatch {
	w := hc.watch
	if w == nil {
		w = &clientWatch{hc: hc, done: make(chan struct{}, 1)}
		w.timer = time.AfterFunc(time.Hour, w.run)
		w.timer.Stop()
		hc.watch = w
	}
	w.bc.Store(bc)
	w.gone.Store(false)
	w.state.Store(watchArmed)
	w.timer.Reset(watchDelay)
	return w
}

func (w *clientWatch) run() {
	if !w.state.CompareAndSwap(watchArmed, watchRunning) {
		return // stopped before it ran
	}
	defer func() { w.done <- struct{}{} }()
	w.mu.Lock()
	if w.halt {
		w.mu.Unlock()
		return
	}
	_ = w.hc.c.SetReadDeadline(time.Time{})
	w.mu.Unlock()
	if _, err := w.hc.br.Peek(1); err != nil {
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			w.gone.Store(true)
			w.bc.Load().close()
		}
	}
}

// stop ends the watch (waiting for it if it runs) and reports whether the
// client left. It may be called more than once.
func (w *clientWatch) stop() bool {
	switch {
	case w.state.CompareAndSwap(watchArmed, watchIdle):
		w.timer.Stop()
	case w.state.Load() == watchRunning:
		// Interrupt the watch's read, then wait for it.
		w.mu.Lock()
		w.halt = true
		_ = w.hc.c.SetReadDeadline(time.Unix(1, 0))
		w.mu.Unlock()
		<-w.done
		w.halt = false
		w.state.Store(watchIdle)
	}
	return w.gone.Load()
}

// skipRequestHeader reports the headers a proxy does not forward (hop by
// hop, and those the client's Connection header names) or rewrites.
func skipRequestHeader(n []byte, connTokens [][]byte) bool {
	if isOneOf(n, requestSkips) {
		return true
	}
	for _, tok := range connTokens {
		if bytes.EqualFold(n, tok) {
			return true
		}
	}
	return false
}

var requestSkips = []string{
	"te", "expect", "upgrade", "trailer", "connection", "keep-alive", "content-length",
	"x-amzn-trace-id", "x-forwarded-for", "proxy-connection", "x-forwarded-port",
	"transfer-encoding", "x-forwarded-proto", "proxy-authenticate", "proxy-authorization",
}

var responseSkips = []string{"te", "upgrade", "connection", "keep-alive", "proxy-connection", "transfer-encoding"}

// isOneOf reports whether n equals one of the lower-case names, ignoring
// case; the length check keeps it cheap.
func isOneOf(n []byte, names []string) bool {
	for _, s := range names {
		if len(s) == len(n) && equalFoldBytes(n, s) {
			return true
		}
	}
	return false
}

// writeRequestHead writes the request to the target: the client's
// end-to-end headers and ALB's X-Forwarded-For (client appended, as the
// listener's mode says), -Proto, -Port and X-Amzn-Trace-Id.
func writeRequestHead(w *bufio.Writer, req *h1Request, cfg *httpConfig, client string) {
	_, _ = w.WriteString(req.method)
	_ = w.WriteByte(' ')
	_, _ = w.WriteString(req.target)
	_, _ = w.WriteString(" HTTP/1.1\r\n")
	var xff, trace []byte
	joined := false
	for i := range req.hdrs {
		n, v := req.name(i), req.value(i)
		if skipRequestHeader(n, req.connTokens) {
			switch {
			case equalFoldBytes(n, "x-forwarded-for"):
				// One header is used in place; several are joined in
				// the request's reused buffer.
				if len(xff) == 0 {
					xff = v
					break
				}
				if !joined {
					req.xffBuf = append(req.xffBuf[:0], xff...)
					joined = true
				}
				req.xffBuf = append(append(req.xffBuf, ", "...), v...)
				xff = req.xffBuf
			case equalFoldBytes(n, "x-amzn-trace-id"):
				trace = v
			case equalFoldBytes(n, "te") && hasTokenBytes(v, "trailers"):
				_, _ = w.WriteString("Te: trailers\r\n")
			}
			continue
		}
		_, _ = w.Write(n)
		_, _ = w.WriteString(": ")
		_, _ = w.Write(v)
		_, _ = w.WriteString("\r\n")
	}
	switch {
	case cfg.xff == xffAppend:
		_, _ = w.WriteString("X-Forwarded-For: ")
		if len(xff) > 0 {
			_, _ = w.Write(xff)
			_, _ = w.WriteString(", ")
		}
		_, _ = w.WriteString(client)
		_, _ = w.WriteString("\r\n")
	case cfg.xff == xffPreserve && len(xff) > 0:
		_, _ = w.WriteString("X-Forwarded-For: ")
		_, _ = w.Write(xff)
		_, _ = w.WriteString("\r\n")
	}
	_, _ = w.WriteString("X-Forwarded-Proto: ")
	_, _ = w.WriteString(cfg.proto)
	_, _ = w.WriteString("\r\nX-Forwarded-Port: ")
	_, _ = w.WriteString(cfg.portStr)
	_, _ = w.WriteString("\r\nX-Amzn-Trace-Id: ")
	// Small values are formatted into the writer's free space, not into
	// strings.
	_, _ = w.Write(appendTraceID(w.AvailableBuffer(), trace, time.Now()))
	_, _ = w.WriteString("\r\n")
	switch {
	case req.chunked:
		_, _ = w.WriteString("Transfer-Encoding: chunked\r\n")
	case req.contentLength >= 0:
		_, _ = w.WriteString("Content-Length: ")
		_, _ = w.Write(strconv.AppendInt(w.AvailableBuffer(), req.contentLength, 10))
		_, _ = w.WriteString("\r\n")
	}
	_, _ = w.WriteString("\r\n")
}

func skipResponseHeader(n []byte, resp *h1Response) bool {
	if isOneOf(n, responseSkips) {
		return true
	}
	// The length no longer holds once the body is re-framed.
	if resp.untilClose && equalFoldBytes(n, "content-length") {
		return true
	}
	for _, tok := range resp.connTokens {
		if bytes.EqualFold(n, tok) {
			return true
		}
	}
	return false
}

// writeResponseHead writes a target's response head to the client.
func writeResponseHead(w *bufio.Writer, resp *h1Response, cookies []string, closing bool) {
	_, _ = w.WriteString("HTTP/1.1 ")
	_, _ = w.Write(strconv.AppendInt(w.AvailableBuffer(), int64(resp.code), 10))
	_ = w.WriteByte(' ')
	_, _ = w.Write(resp.reason)
	_, _ = w.WriteString("\r\n")
	for i := range resp.hdrs {
		n := resp.name(i)
		if skipResponseHeader(n, resp) {
			continue
		}
		_, _ = w.Write(n)
		_, _ = w.WriteString(": ")
		_, _ = w.Write(resp.value(i))
		_, _ = w.WriteString("\r\n")
	}
	if !resp.noBody && (resp.chunked || resp.untilClose) {
		_, _ = w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	for _, c := range cookies {
		_, _ = w.WriteString("Set-Cookie: ")
		_, _ = w.WriteString(c)
		_, _ = w.WriteString("\r\n")
	}
	if closing {
		_, _ = w.WriteString("Connection: close\r\n")
	}
	_, _ = w.WriteString("\r\n")
}

// writeGenerated writes a response the load balancer makes itself.
func (hc *h1conn) writeGenerated(code int, text, contentType, location string, body []byte, closing bool) {
	w := hc.writer()
	_, _ = w.WriteString("HTTP/1.1 ")
	_, _ = w.Write(strconv.AppendInt(w.AvailableBuffer(), int64(code), 10))
	_ = w.WriteByte(' ')
	_, _ = w.WriteString(text)
	_, _ = w.WriteString("\r\nServer: awselb/2.0\r\nDate: ")
	_, _ = w.Write(time.Now().UTC().AppendFormat(w.AvailableBuffer(), http.TimeFormat))
	_, _ = w.WriteString("\r\nContent-Type: ")
	_, _ = w.WriteString(contentType)
	_, _ = w.WriteString("\r\nContent-Length: ")
	_, _ = w.Write(strconv.AppendInt(w.AvailableBuffer(), int64(len(body)), 10))
	_, _ = w.WriteString("\r\n")
	if location != "" {
		_, _ = w.WriteString("Location: ")
		_, _ = w.WriteString(location)
		_, _ = w.WriteString("\r\n")
	}
	if closing {
		_, _ = w.WriteString("Connection: close\r\n")
	}
	_, _ = w.WriteString("\r\n")
	if hc.req.method != "HEAD" {
		_, _ = w.Write(body)
	}
}

// writeError sends one of ALB's own error responses and counts it. It
// reports whether the connection may serve another request.
func (hc *h1conn) writeError(code int, closing bool) bool {
	hc.hl.stats.countELB(code)
	title := statusTitles[code]
	text := http.StatusText(code)
	if len(title) > 4 {
		text = title[4:]
	}
	closing = closing || hc.req.close
	hc.writeGenerated(code, text, "text/html", "", errorBody(code), closing)
	return hc.flush(hc.hl.cfg.Load().idle) == nil && !closing
}

// relay copies a message body from src to dst, by its framing, under the
// idle timeout. Toward the client (client set) what is buffered is flushed
// before waiting on the target, so a slow body streams; toward the target
// the buffer fills before it is written.
type relay struct {
	dst     *bufio.Writer
	dstConn net.Conn // toward the target: its write deadline
	src     *bufio.Reader
	srcConn net.Conn
	idle    time.Duration
	client  *h1conn // set when dst is the client
}

// readErr and writeErr say which side failed.
func (r *relay) readErr(err error) error {
	var se *sideError
	if errors.As(err, &se) {
		return err
	}
	return &sideError{client: r.client == nil, err: err}
}

func (r *relay) writeErr(err error) error { return &sideError{client: r.client != nil, err: err} }

func (r *relay) flush() error {
	if r.client == nil {
		return nil
	}
	if err := r.client.flush(r.idle); err != nil {
		return r.writeErr(err)
	}
	return nil
}

// fill waits for src to have bytes.
func (r *relay) fill() error {
	if r.src.Buffered() > 0 {
		return nil
	}
	if err := r.flush(); err != nil {
		return err
	}
	now := time.Now()
	if r.dstConn != nil {
		_ = r.dstConn.SetWriteDeadline(now.Add(r.idle))
	}
	_ = r.srcConn.SetReadDeadline(now.Add(r.idle))
	if _, err := r.src.Peek(1); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return r.readErr(err)
	}
	return nil
}

// n copies n bytes.
func (r *relay) n(n int64) error {
	for n > 0 {
		if err := r.fill(); err != nil {
			return err
		}
		k := int64(r.src.Buffered())
		if k > n {
			k = n
		}
		b, _ := r.src.Peek(int(k))
		if _, err := r.dst.Write(b); err != nil {
			return r.writeErr(err)
		}
		_, _ = r.src.Discard(int(k))
		n -= k
	}
	return nil
}

// line reads one line (up to the buffer's size) of a chunked body.
func (r *relay) line() ([]byte, error) {
	if err := r.fill(); err != nil {
		return nil, err
	}
	line, err := r.src.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			err = errMalformed
		}
		return nil, r.readErr(err)
	}
	return line, nil
}

// chunked copies a chunked body, chunk by chunk, as it is (sizes,
// extensions, trailers), checking its framing.
func (r *relay) chunked() error {
	for {
		line, err := r.line()
		if err != nil {
			return err
		}
		size, ok := parseChunkSize(line)
		if !ok {
			return r.readErr(errMalformed)
		}
		if _, err := r.dst.Write(line); err != nil {
			return r.writeErr(err)
		}
		if size == 0 {
			for { // trailers, then the final empty line
				line, err := r.line()
				if err != nil {
					return err
				}
				if _, err := r.dst.Write(line); err != nil {
					return r.writeErr(err)
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if err := r.n(size); err != nil {
			return err
		}
		line, err = r.line()
		if err != nil {
			return err
		}
		if len(bytes.TrimRight(line, "\r\n")) != 0 {
			return r.readErr(errMalformed)
		}
		if _, err := r.dst.Write(line); err != nil {
			return r.writeErr(err)
		}
	}
}

// parseChunkSize parses "hex[;ext]\r\n".
func parseChunkSize(line []byte) (int64, bool) {
	line = bytes.TrimRight(line, "\r\n")
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range line {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}

// untilClose copies a body that ends with the target's connection,
// chunk-encoded so the client's connection can stay open.
func (r *relay) untilClose() error {
	for {
		err := r.fill()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			if _, err := r.dst.WriteString("0\r\n\r\n"); err != nil {
				return r.writeErr(err)
			}
			return nil
		}
		if err != nil {
			return err
		}
		k := r.src.Buffered()
		b, _ := r.src.Peek(k)
		_, _ = r.dst.WriteString(strconv.FormatInt(int64(k), 16))
		_, _ = r.dst.WriteString("\r\n")
		_, _ = r.dst.Write(b)
		if _, err := r.dst.WriteString("\r\n"); err != nil {
			return r.writeErr(err)
		}
		_, _ = r.src.Discard(k)
	}
}

// toServer hands a connection to the listener's net/http server.
func (hl *httpListener) toServer(c net.Conn) bool {
	for {
		hl.mu.Lock()
		feed, closed := hl.feed, hl.closed
		hl.mu.Unlock()
		if closed {
			_ = c.Close()
			return false
		}
		if feed.put(c) {
			return true
		}
	}
}

// track registers a fast-path connection for graceful shutdown.
func (hl *httpListener) track(hc *h1conn) bool {
	hl.mu.Lock()
	defer hl.mu.Unlock()
	if hl.closed {
		return false
	}
	hl.conns[hc] = struct{}{}
	return true
}

func (hl *httpListener) untrack(hc *h1conn) {
	hl.mu.Lock()
	defer hl.mu.Unlock()
	if _, ok := hl.conns[hc]; !ok {
		return
	}
	delete(hl.conns, hc)
	if hl.empty != nil && len(hl.conns) == 0 {
		close(hl.empty)
		hl.empty = nil
	}
}

func (hl *httpListener) isClosed() bool {
	hl.mu.Lock()
	defer hl.mu.Unlock()
	return hl.closed
}

// backendConn is a pooled connection to a target.
type backendConn struct {
	c     net.Conn
	br    *bufio.Reader
	bw    *bufio.Writer
	since time.Time // idle since
}

func (bc *backendConn) close() { _ = bc.c.Close() }

// Pooled target connections are reused only while fresh: many application
// servers close idle connections after a few seconds (Node.js 5 s,
// gunicorn 2 s), and a request sent on one they are closing fails. Under
// load connections are reused within milliseconds; when idle, a new
// connection costs little.
const (
	poolIdleTimeout = time.Second
	poolMaxIdle     = 1024
)

// h1pool holds a target's idle connections, most recent first.
type h1pool struct {
	mu   sync.Mutex
	idle []*backendConn
	t    *target
}

func (pl *h1pool) get() *backendConn {
	now := time.Now()
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for len(pl.idle) > 0 {
		bc := pl.idle[len(pl.idle)-1]
		pl.idle[len(pl.idle)-1] = nil
		pl.idle = pl.idle[:len(pl.idle)-1]
		if now.Sub(bc.since) < poolIdleTimeout {
			return bc
		}
		bc.close()
	}
	return nil
}

func (pl *h1pool) put(bc *backendConn) {
	bc.since = time.Now()
	pl.mu.Lock()
	if pl.t.retiring.Load() || len(pl.idle) >= poolMaxIdle {
		pl.mu.Unlock()
		bc.close()
		return
	}
	// Drop connections that went stale at the cold end.
	n := 0
	for n < len(pl.idle) && bc.since.Sub(pl.idle[n].since) >= poolIdleTimeout {
		pl.idle[n].close()
		n++
	}
	if n > 0 {
		pl.idle = append(pl.idle[:0], pl.idle[n:]...)
	}
	pl.idle = append(pl.idle, bc)
	pl.mu.Unlock()
}

func (pl *h1pool) closeIdle() {
	pl.mu.Lock()
	idle := pl.idle
	pl.idle = nil
	pl.mu.Unlock()
	for _, bc := range idle {
		bc.close()
	}
}

// backend returns a connection to t: a pooled one (reused) or a new one.
func (p *Plane) backend(t *target) (*backendConn, bool, error) {
	if bc := t.pool.get(); bc != nil {
		return bc, true, nil
	}
	c, err := p.dialer.Dial("tcp", t.addr)
	if err != nil {
		return nil, false, err
	}
	return &backendConn{c: c, br: bufio.NewReaderSize(c, 4<<10), bw: bufio.NewWriterSize(c, 4<<10)}, false, nil
}
