package lb

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

var (
	// errIdle cancels a request whose target sent nothing for the idle
	// timeout.
	errIdle = errors.New("target idle past the listener's idle timeout")
)

// forward sends r to a target of one of f's groups.
func (hl *httpListener) forward(w http.ResponseWriter, r *http.Request, ri *reqInfo, cfg *httpConfig, f *forwardAction) {
	ch, code := hl.choose(ri, f)
	if code != 0 {
		hl.elbError(w, code)
		return
	}
	for _, c := range ch.cookies {
		w.Header().Add("Set-Cookie", c)
	}
	hl.proxy(w, r, cfg, ch.v.cfg, ch.t)
}

// choice is where a forward action sends one request.
type choice struct {
	v       *groupView
	t       *target
	cookies []string // Set-Cookie values for stickiness
}

// choose picks the target group and the target of a forward action, by
// stickiness cookies, weights and the group's algorithm. A status code
// other than 0 is the error to answer with (503: nowhere to send it).
func (hl *httpListener) choose(ri *reqInfo, f *forwardAction) (choice, int) {
	p := hl.p
	var now time.Time
	if f.sticky {
		now = p.now()
	}
	gi := f.pickGroup(ri, now, p.cookies)
	if gi < 0 {
		return choice{}, http.StatusServiceUnavailable
	}
	g := f.groups[gi]
	v := g.view.Load()
	if len(v.routable) == 0 {
		return choice{}, http.StatusServiceUnavailable
	}
	var sticky string
	if v.cfg.sticky {
		if now.IsZero() {
			now = p.now()
		}
		if sv, ok := p.cookies.read(ri, cookieTarget, stickyTarget, now); ok && sv.group == g.id {
			sticky = sv.target
		}
	}
	t := g.pick(v, sticky, p.now)
	if t == nil {
		return choice{}, http.StatusServiceUnavailable
	}
	ch := choice{v: v, t: t}
	if f.sticky {
		ch.cookies = append(ch.cookies, p.cookies.setCookies(cookieGroup, cookieGroupCORS, stickyValue{kind: stickyGroup, group: g.id, expires: now.Add(f.stickyD)})...)
	}
	if v.cfg.sticky {
		ch.cookies = append(ch.cookies, p.cookies.setCookies(cookieTarget, cookieTargetCORS, stickyValue{kind: stickyTarget, group: g.id, expires: now.Add(v.cfg.stickyDur), target: t.key})...)
	}
	return ch, 0
}

// pickGroup chooses one of the action's target groups: the one the
// client's AWSALBTG cookie names, when stickiness is on and the group
// still has weight, else by weight. -1 when every weight is zero.
func (f *forwardAction) pickGroup(ri *reqInfo, now time.Time, cc *cookieCodec) int {
	if len(f.groups) == 1 {
		return 0
	}
	if f.total == 0 {
		return -1
	}
	if f.sticky {
		if sv, ok := cc.read(ri, cookieGroup, stickyGroup, now); ok {
			for i, g := range f.groups {
				if g.id == sv.group && f.weights[i] > 0 {
					return i
				}
			}
		}
	}
	x := int((f.rr.Add(1) - 1) % uint64(f.total))
	for i, w := range f.weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(f.groups) - 1
}

// hopHeaders are the connection-level headers a proxy must not forward.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func isHop(k string) bool {
	for _, h := range hopHeaders {
		if h == k {
			return true
		}
	}
	return false
}

// outboundHeader copies r's end-to-end headers and adds ALB's
// X-Forwarded-* (X-Forwarded-For as the listener's mode says) and
// X-Amzn-Trace-Id.
func outboundHeader(r *http.Request, cfg *httpConfig) (http.Header, string) {
	h := make(http.Header, len(r.Header)+4)
	for k, vv := range r.Header {
		if !isHop(k) {
			h[k] = vv
		}
	}
	for _, c := range r.Header["Connection"] {
		for f := range strings.SplitSeq(c, ",") {
			if f = strings.TrimSpace(f); f != "" {
				delete(h, http.CanonicalHeaderKey(f))
			}
		}
	}
	upgrade := ""
	if hasToken(r.Header["Connection"], "upgrade") {
		upgrade = r.Header.Get("Upgrade")
	}
	if upgrade != "" {
		h["Connection"] = []string{"Upgrade"}
		h["Upgrade"] = []string{upgrade}
	}
	if hasToken(r.Header["Te"], "trailers") {
		h["Te"] = []string{"trailers"}
	}
	prior := r.Header["X-Forwarded-For"]
	switch {
	case cfg.xff == xffAppend:
		client := r.RemoteAddr
		if !cfg.xffPort {
			client = clientIP(client)
		}
		if len(prior) > 0 {
			client = strings.Join(prior, ", ") + ", " + client
		}
		h["X-Forwarded-For"] = []string{client}
	case cfg.xff == xffPreserve && len(prior) > 0:
		h["X-Forwarded-For"] = []string{strings.Join(prior, ", ")}
	default:
		delete(h, "X-Forwarded-For")
	}
	h["X-Forwarded-Proto"] = []string{cfg.proto}
	h["X-Forwarded-Port"] = []string{cfg.portStr}
	h["X-Amzn-Trace-Id"] = []string{traceID(r.Header.Get("X-Amzn-Trace-Id"), time.Now())}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""} // no Go-http-client default
	}
	return h, upgrade
}

func hasToken(values []string, token string) bool {
	for _, v := range values {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return true
			}
		}
	}
	return false
}

// traceID returns the X-Amzn-Trace-Id to send: a new Root when the request
// has none, else the request's fields with a Self field inserted first.
func traceID(in string, now time.Time) string {
	var b [40]byte
	root := appendTraceRoot(b[:0], now) // "Root=1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx"
	if in == "" {
		return string(root)
	}
	id := string(root[len("Root="):])
	hasRoot := false
	var kept []string
	for f := range strings.SplitSeq(in, ";") {
		f = strings.TrimSpace(f)
		if f == "" || strings.HasPrefix(f, "Self=") {
			continue
		}
		if strings.HasPrefix(f, "Root=") {
			hasRoot = true
		}
		kept = append(kept, f)
	}
	if !hasRoot {
		return strings.Join(append([]string{"Root=" + id}, kept...), ";")
	}
	return strings.Join(append([]string{"Self=" + id}, kept...), ";")
}

// appendTraceID appends what traceID returns for in, without allocating.
func appendTraceID(b []byte, in []byte, now time.Time) []byte {
	start := len(b)
	b = appendTraceRoot(b, now)
	if len(in) == 0 {
		return b
	}
	hasRoot := false
	for f := range bytes.SplitSeq(in, []byte(";")) {
		if bytes.HasPrefix(bytes.TrimSpace(f), []byte("Root=")) {
			hasRoot = true
			break
		}
	}
	if hasRoot {
		// "Root=" becomes "Self=", the id after it stays.
		copy(b[start:], "Self=")
	}
	for f := range bytes.SplitSeq(in, []byte(";")) {
		f = bytes.TrimSpace(f)
		if len(f) == 0 || bytes.HasPrefix(f, []byte("Self=")) {
			continue
		}
		b = append(b, ';')
		b = append(b, f...)
	}
	return b
}

// appendTraceRoot appends "Root=1-<epoch seconds, 8 hex>-<24 random hex>".
func appendTraceRoot(b []byte, now time.Time) []byte {
	b = append(b, "Root=1-"...)
	var ts [4]byte
	binary.BigEndian.PutUint32(ts[:], uint32(now.Unix()))
	b = hex.AppendEncode(b, ts[:])
	b = append(b, '-')
	var rnd [12]byte
	binary.LittleEndian.PutUint64(rnd[:8], rand.Uint64())
	binary.LittleEndian.PutUint32(rnd[8:], rand.Uint32())
	return hex.AppendEncode(b, rnd[:])
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// proxy sends r to t and copies the answer back. The listener's idle
// timeout bounds every wait on the target: no answer, or no body byte
// either way, within it is a 504 (or an aborted response once headers have
// gone out).
func (hl *httpListener) proxy(w http.ResponseWriter, r *http.Request, cfg *httpConfig, gc *groupConfig, t *target) {
	t.count.Add(1)
	t.outstanding.Add(1)
	defer t.done()

	hdr, upgrade := outboundHeader(r, cfg)
	scheme := "http"
	if gc.protocol == "HTTPS" {
		scheme = "https"
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	timer := time.AfterFunc(cfg.idle, func() { cancel(errIdle) })
	defer timer.Stop()

	out := &http.Request{
		Method:        r.Method,
		URL:           &url.URL{Scheme: scheme, Host: t.addr, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        hdr,
		Host:          r.Host,
		ContentLength: r.ContentLength,
		Trailer:       r.Trailer,
	}
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		out.Body = &idleBody{rc: noClose{r.Body}, timer: timer, idle: cfg.idle}
	}
	out = out.WithContext(ctx)

	res, err := t.tr.Load().RoundTrip(out)
	if err != nil {
		hl.proxyError(w, r, ctx, t, err)
		return
	}
	hl.stats.countTarget(res.StatusCode)
	if res.StatusCode == http.StatusSwitchingProtocols && upgrade != "" {
		timer.Stop()
		hl.upgrade(w, res)
		return
	}
	body := &idleBody{rc: res.Body, timer: timer, idle: cfg.idle}
	defer body.Close()

	dst := w.Header()
	for k, vv := range res.Header {
		if isHop(k) {
			continue
		}
		dst[k] = append(dst[k], vv...)
	}
	for _, c := range res.Header["Connection"] {
		for f := range strings.SplitSeq(c, ",") {
			if f = strings.TrimSpace(f); f != "" {
				delete(dst, http.CanonicalHeaderKey(f))
			}
		}
	}
	if len(res.Trailer) > 0 {
		names := make([]string, 0, len(res.Trailer))
		for k := range res.Trailer {
			names = append(names, k)
		}
		dst["Trailer"] = []string{strings.Join(names, ", ")}
		// Trailers need a chunked HTTP/1.1 response.
		delete(dst, "Content-Length")
	}
	w.WriteHeader(res.StatusCode)

	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	rc := http.NewResponseController(w)
	for {
		n, rerr := body.Read(*buf)
		if n > 0 {
			if _, werr := w.Write((*buf)[:n]); werr != nil {
				hl.stats.elb460.Add(1)
				panic(http.ErrAbortHandler) // the client went away
			}
			if rerr == nil {
				// More may come, maybe slowly: pass on what arrived (as
				// ALB streams). A body read whole in one go is written
				// once when the handler returns.
				_ = rc.Flush()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			// Headers are gone; all that is left is to cut the client off
			// so it sees a truncated response.
			hl.p.log.Debug("target response body failed", "listener", cfg.spec.ARN, "target", t.key, "err", rerr)
			panic(http.ErrAbortHandler)
		}
	}
	for k, vv := range res.Trailer {
		k = http.TrailerPrefix + k
		for _, v := range vv {
			dst.Add(k, v)
		}
	}
}

// proxyError turns a failed round trip into ALB's answer: 460 (counted,
// not sent) when the client left, 504 when the target did not answer in
// time or could not be connected to in time, else 502.
func (hl *httpListener) proxyError(w http.ResponseWriter, r *http.Request, ctx context.Context, t *target, err error) {
	log := hl.p.log
	if r.Context().Err() != nil {
		hl.stats.elb460.Add(1)
		log.Debug("client closed the connection before the response", "target", t.key)
		return
	}
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.Is(context.Cause(ctx), errIdle):
		log.Debug("target did not answer within the idle timeout", "target", t.key)
		hl.elbError(w, http.StatusGatewayTimeout)
	case errors.As(err, &oe) && oe.Op == "dial" && oe.Timeout():
		log.Debug("target connection timed out", "target", t.key, "err", err)
		hl.elbError(w, http.StatusGatewayTimeout)
	case errors.As(err, &ne) && ne.Timeout():
		log.Debug("target timed out", "target", t.key, "err", err)
		hl.elbError(w, http.StatusGatewayTimeout)
	default:
		log.Debug("target failed", "target", t.key, "err", err)
		hl.elbError(w, http.StatusBadGateway)
	}
}

// upgrade finishes a protocol switch (WebSocket): the client connection
// and the target's become one byte stream.
func (hl *httpListener) upgrade(w http.ResponseWriter, res *http.Response) {
	back, ok := res.Body.(io.ReadWriteCloser)
	if !ok {
		hl.elbError(w, http.StatusBadGateway)
		return
	}
	defer back.Close()
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		hl.elbError(w, http.StatusBadGateway)
		return
	}
	defer conn.Close()
	res.Body = nil
	for _, k := range []string{"Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Trailer"} {
		res.Header.Del(k)
	}
	if err := res.Write(brw); err != nil {
		return
	}
	if err := brw.Flush(); err != nil {
		return
	}
	_ = conn.SetDeadline(time.Time{})
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(back, brw)
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(conn, back)
		done <- struct{}{}
	}()
	<-done
	// One side ended: end both, so the other copy returns too.
	_ = conn.Close()
	_ = back.Close()
	<-done
}

// idleBody resets the idle timer on every read, so a body that keeps
// moving is never cut, and one that stalls is.
type idleBody struct {
	rc    io.ReadCloser
	timer *time.Timer
	idle  time.Duration
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.timer.Reset(b.idle)
	}
	return n, err
}

func (b *idleBody) Close() error { return b.rc.Close() }

// noClose keeps the transport from closing the client's request body (it
// would otherwise close it on a failed connect, which can hang on an
// unread 100-continue body).
type noClose struct{ io.Reader }

func (noClose) Close() error { return nil }

// netipAddrPort parses a RemoteAddr into its address, IPv4-mapped
// addresses as IPv4.
func netipAddrPort(remote string) (netip.Addr, error) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		a, err2 := netip.ParseAddr(remote)
		if err2 != nil {
			return netip.Addr{}, err
		}
		return a.Unmap(), nil
	}
	return ap.Addr().Unmap(), nil
}
