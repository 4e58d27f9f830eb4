package lb

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// tcpListener serves one NLB TCP listener: each accepted connection is
// joined to a new connection to one target, bytes copied both ways
// (spliced by the kernel on Linux), half-closes passed on.
type tcpListener struct {
	p     *Plane
	lspec atomic.Pointer[Listener]
	g     atomic.Pointer[group]
	ln    net.Listener
	stats listenerCounters

	mu     sync.Mutex
	flows  map[*flow]struct{}
	closed bool
	empty  chan struct{} // after retire: closed when the last flow ends
}

var _ boundListener = (*tcpListener)(nil)

// flow is one proxied connection.
type flow struct {
	client, back net.Conn
}

func (f *flow) kill() {
	_ = f.client.Close()
	if f.back != nil {
		_ = f.back.Close()
	}
}

func (p *Plane) serveTCP(l Listener, g *group, ln net.Listener) *tcpListener {
	tl := &tcpListener{p: p, ln: ln, flows: map[*flow]struct{}{}}
	tl.lspec.Store(&l)
	tl.g.Store(g)
	p.wg.Go(tl.acceptLoop)
	p.log.Info("listener bound", "listener", l.ARN, "addr", ln.Addr().String(), "type", l.Type)
	return tl
}

func (tl *tcpListener) spec() Listener       { return *tl.lspec.Load() }
func (tl *tcpListener) boundAddr() net.Addr  { return tl.ln.Addr() }
func (tl *tcpListener) referenced() []*group { return []*group{tl.g.Load()} }

func (tl *tcpListener) update(l Listener, g *group) {
	tl.lspec.Store(&l)
	tl.g.Store(g)
}

// retire stops accepting; flows in progress get the grace, then are cut.
func (tl *tcpListener) retire(grace time.Duration) {
	empty := make(chan struct{})
	tl.mu.Lock()
	tl.closed = true
	if len(tl.flows) == 0 {
		close(empty)
	} else {
		tl.empty = empty
	}
	tl.mu.Unlock()
	_ = tl.ln.Close()
	tl.p.wg.Go(func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-empty:
		case <-t.C:
			tl.mu.Lock()
			for f := range tl.flows {
				f.kill()
			}
			tl.mu.Unlock()
		}
	})
	tl.p.log.Info("listener closed", "listener", tl.spec().ARN, "addr", tl.ln.Addr().String())
}

func (tl *tcpListener) acceptLoop() {
	var backoff time.Duration
	for {
		c, err := tl.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			tl.p.log.Warn("accept failed", "listener", tl.spec().ARN, "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		tl.stats.connections.Add(1)
		f := &flow{client: c}
		tl.mu.Lock()
		if tl.closed {
			tl.mu.Unlock()
			_ = c.Close()
			continue
		}
		tl.flows[f] = struct{}{}
		tl.mu.Unlock()
		// This goroutine is counted in p.wg, so adding to it here cannot
		// race with Run's Wait.
		tl.p.wg.Go(func() {
			defer func() {
				f.kill()
				tl.mu.Lock()
				delete(tl.flows, f)
				if tl.empty != nil && len(tl.flows) == 0 {
					close(tl.empty)
					tl.empty = nil
				}
				tl.mu.Unlock()
			}()
			tl.handle(f)
		})
	}
}

// reset closes c with an RST, as NLB answers a flow it cannot route.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (tl *tcpListener) handle(f *flow) {
	g := tl.g.Load()
	v := g.view.Load()
	t := g.pickFlow(v, f.client.RemoteAddr().String(), f.client.LocalAddr().String())
	if t == nil {
		reset(f.client)
		return
	}
	t.count.Add(1)
	t.outstanding.Add(1)
	defer t.done()
	tl.stats.requests.Add(1)

	ctx, cancel := context.WithTimeout(context.Background(), tl.p.cfg.DialTimeout)
	back, err := tl.p.dialer.DialContext(ctx, "tcp", t.addr)
	cancel()
	if err != nil {
		tl.p.log.Debug("target connection failed", "listener", tl.spec().ARN, "target", t.key, "err", err)
		reset(f.client)
		return
	}
	tl.mu.Lock()
	f.back = back
	tl.mu.Unlock()
	splice(f.client, back)
}

// splice copies both directions until both have ended. A clean end of one
// direction is passed on as a half-close (FIN) while the other direction
// goes on; an error in either tears both down.
func splice(a, b net.Conn) {
	var wg sync.WaitGroup
	wg.Go(func() { copyHalf(b, a) })
	copyHalf(a, b)
	wg.Wait()
}

func copyHalf(dst, src net.Conn) {
	_, err := io.Copy(dst, src)
	if err != nil {
		reset(dst)
		reset(src)
		return
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	_ = dst.Close()
}
