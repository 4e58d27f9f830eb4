package lb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/berthhq/berth/internal/errdefs"
)

// Config configures the data plane.
type Config struct {
	Address    string // where listeners bind; default "127.0.0.1"
	PortOffset int    // added to every listener port (so an unprivileged user maps 80 to 8080 with 8000)
	Logger     *slog.Logger
	Now        func() time.Time
	// Test knobs: zero means the AWS values from each target group's health check.
	MinHealthInterval time.Duration

	// ReadHeaderTimeout cuts off clients that send request headers too
	// slowly (slowloris); default 10 s.
	ReadHeaderTimeout time.Duration
	// ShutdownGrace bounds how long Unbind, a rebind and the end of Run
	// wait for requests and connections in flight; default 5 s.
	ShutdownGrace time.Duration
	// DialTimeout bounds connecting to a target (ALB: 10 s); past it a
	// request gets 504.
	DialTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.Address == "" {
		c.Address = "127.0.0.1"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = 10 * time.Second
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = 5 * time.Second
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 10 * time.Second
	}
}

// Validate reports a configuration the plane cannot run with.
func (c *Config) Validate() error {
	if c.PortOffset < 0 || c.PortOffset > 65535 {
		return fmt.Errorf("lb: port offset %d is out of range 0-65535", c.PortOffset)
	}
	if c.MinHealthInterval < 0 || c.ReadHeaderTimeout < 0 || c.ShutdownGrace < 0 || c.DialTimeout < 0 {
		return errors.New("lb: durations must not be negative")
	}
	return nil
}

// Plane is the load balancers' data plane: the listeners it serves, the
// target groups it routes to, their health checks and draining.
type Plane struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	cookies *cookieCodec
	dialer  *net.Dialer
	health  healthClients

	mu        sync.Mutex
	listeners map[string]boundListener
	groups    map[string]*group
	runCtx    context.Context // set while Run runs
	running   bool
	stopped   bool
	wg        sync.WaitGroup // every goroutine the plane starts
}

// boundListener is an ALB or NLB listener with its socket.
type boundListener interface {
	spec() Listener
	boundAddr() net.Addr
	referenced() []*group
	// retire stops accepting at once (the port is free on return) and lets
	// what is in flight finish within the grace.
	retire(grace time.Duration)
}

// New validates cfg and allocates a plane. It starts nothing.
func New(cfg Config) (*Plane, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cookies, err := newCookieCodec()
	if err != nil {
		return nil, fmt.Errorf("lb: cookie key: %w", err)
	}
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	return &Plane{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "lb"),
		now:       cfg.Now,
		cookies:   cookies,
		dialer:    dialer,
		health:    newHealthClients(dialer),
		listeners: map[string]boundListener{},
		groups:    map[string]*group{},
	}, nil
}

// Run runs the health checkers and owns every goroutine of the plane until
// ctx ends; then it closes every listener, lets what is in flight finish
// within the shutdown grace, and returns nil. Listeners bound before Run
// serve at once; health checks start with Run.
func (p *Plane) Run(ctx context.Context) error {
	p.mu.Lock()
	if p.running || p.stopped {
		p.mu.Unlock()
		return errors.New("lb: Run called twice")
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.running = true
	p.runCtx = runCtx
	for _, g := range p.groups {
		g.mu.Lock()
		g.startChecksLocked()
		g.mu.Unlock()
	}
	p.mu.Unlock()

	<-ctx.Done()

	p.mu.Lock()
	p.stopped = true
	for arn, l := range p.listeners {
		l.retire(p.cfg.ShutdownGrace)
		delete(p.listeners, arn)
	}
	for _, g := range p.groups {
		g.mu.Lock()
		for _, t := range g.targets {
			g.stopCheckLocked(t)
			if t.drainTimer != nil {
				t.drainTimer.Stop()
			}
		}
		g.mu.Unlock()
	}
	p.mu.Unlock()
	cancel()
	p.wg.Wait()
	p.mu.Lock()
	for _, g := range p.groups {
		g.mu.Lock()
		for _, t := range g.targets {
			t.closeIdle()
		}
		g.mu.Unlock()
	}
	p.mu.Unlock()
	return nil
}

// Bind serves l: it listens on Config.Address at l.Port+PortOffset before
// returning, so that CreateListener can fail with a clear error when the
// port cannot be bound. Binding an ARN again replaces its configuration;
// a new port is listened on before the old one is closed, and connections
// already established are not dropped (requests in flight on a listener
// that moved finish within the shutdown grace).
func (p *Plane) Bind(l Listener) error {
	if err := validateListener(l); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return errdefs.New(errdefs.ErrUnavailable, "listener", "the load balancer data plane has stopped").WithReason(ReasonStopped)
	}
	err := p.bindLocked(l)
	p.refsLocked()
	return err
}

func (p *Plane) bindLocked(l Listener) error {
	old := p.listeners[l.ARN]
	port := p.bindPort(l.Port)
	samePlace := old != nil && old.spec().Type == l.Type && old.spec().Port == l.Port

	switch l.Type {
	case "application":
		cfg, err := p.compileHTTP(l)
		if err != nil {
			return err
		}
		if samePlace {
			old.(*httpListener).update(l, cfg)
			return nil
		}
		ln, err := p.listen(l.Port, port)
		if err != nil {
			return err
		}
		cfg.port = tcpPort(ln.Addr())
		cfg.portStr = strconv.Itoa(cfg.port)
		p.listeners[l.ARN] = p.serveHTTP(l, cfg, ln)
	case "network":
		g, err := networkTarget(l, p.groupLocked)
		if err != nil {
			return err
		}
		if samePlace {
			old.(*tcpListener).update(l, g)
			return nil
		}
		ln, err := p.listen(l.Port, port)
		if err != nil {
			return err
		}
		p.listeners[l.ARN] = p.serveTCP(l, g, ln)
	}
	if old != nil {
		old.retire(p.cfg.ShutdownGrace)
	}
	return nil
}

func (p *Plane) bindPort(port int) int {
	if port == 0 {
		return 0 // tests: any free port
	}
	return port + p.cfg.PortOffset
}

// listen binds the listener's socket; its error names the address and the
// operating system's reason.
func (p *Plane) listen(port, bindPort int) (net.Listener, error) {
	addr := net.JoinHostPort(p.cfg.Address, strconv.Itoa(bindPort))
	if bindPort > 65535 {
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "listener",
			"cannot listen on %s for listener port %d: port %d + offset %d is above 65535", addr, port, port, p.cfg.PortOffset).WithReason(ReasonPortUnavailable)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		reason := err.Error()
		var se *net.OpError
		if errors.As(err, &se) && se.Err != nil {
			reason = se.Err.Error()
		}
		hint := ""
		if errors.Is(err, syscall.EACCES) && bindPort < 1024 {
			hint = " (ports below 1024 need privileges; set a port offset)"
		}
		msg := fmt.Sprintf("cannot listen on %s for listener port %d: %s%s", addr, port, reason, hint)
		if bindPort != port {
			msg = fmt.Sprintf("cannot listen on %s for listener port %d (+ offset %d): %s%s", addr, port, p.cfg.PortOffset, reason, hint)
		}
		return nil, errdefs.New(errdefs.ErrInvalidArgument, "listener", "%s", msg).WithReason(ReasonPortUnavailable)
	}
	return ln, nil
}

func tcpPort(a net.Addr) int {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.Port
	}
	return 0
}

// Unbind stops serving a listener: it stops accepting at once (the port is
// free when Unbind returns) and lets requests in flight finish within the
// shutdown grace.
func (p *Plane) Unbind(listenerARN string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.listeners[listenerARN]
	if l == nil {
		return
	}
	delete(p.listeners, listenerARN)
	l.retire(p.cfg.ShutdownGrace)
	p.refsLocked()
}

// SetTargetGroup adds or replaces a target group's settings and target
// set. Targets removed from the set start draining.
func (p *Plane) SetTargetGroup(tg TargetGroup) {
	if tg.ARN == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.groupLocked(tg.ARN).setConfig(tg)
}

// RemoveTargetGroup forgets a target group. Requests in flight to its
// targets finish; listeners that still forward to it answer 503.
func (p *Plane) RemoveTargetGroup(arn string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.groups[arn]
	if g == nil {
		return
	}
	g.clear()
	if g.refs == 0 {
		delete(p.groups, arn)
	}
}

// TargetHealth returns every registered or draining target of a group with
// its state, in registration order; nil for an unknown group.
func (p *Plane) TargetHealth(tgARN string) []TargetHealth {
	p.mu.Lock()
	g := p.groups[tgARN]
	p.mu.Unlock()
	if g == nil {
		return nil
	}
	return g.health()
}

// RequestCounts returns, per target "id:port", the requests (NLB: the
// connections) routed to it since the plane started or the group was last
// created.
func (p *Plane) RequestCounts(tgARN string) map[string]uint64 {
	p.mu.Lock()
	g := p.groups[tgARN]
	p.mu.Unlock()
	if g == nil {
		return nil
	}
	return g.requestCounts()
}

// ListenerAddr returns the address a listener is bound to.
func (p *Plane) ListenerAddr(listenerARN string) (net.Addr, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.listeners[listenerARN]
	if l == nil {
		return nil, false
	}
	return l.boundAddr(), true
}

// groupLocked returns the group of arn, creating an unconfigured one.
func (p *Plane) groupLocked(arn string) *group {
	g := p.groups[arn]
	if g == nil {
		g = newGroup(p, arn)
		p.groups[arn] = g
	}
	return g
}

// refsLocked recounts which groups the listeners forward to, updates each
// group's in-use state, and forgets unconfigured groups nobody names.
func (p *Plane) refsLocked() {
	refs := map[*group]int{}
	for _, l := range p.listeners {
		for _, g := range l.referenced() {
			refs[g]++
		}
	}
	for arn, g := range p.groups {
		g.refs = refs[g]
		g.setInUse(g.refs > 0)
		if g.refs == 0 {
			g.mu.Lock()
			empty := g.cfg == nil
			g.mu.Unlock()
			if empty {
				delete(p.groups, arn)
			}
		}
	}
}
