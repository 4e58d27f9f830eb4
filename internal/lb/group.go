package lb

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Algorithms.
const (
	AlgorithmRoundRobin               = "round_robin"
	AlgorithmLeastOutstandingRequests = "least_outstanding_requests"
)

// group is the runtime of one target group. Its object lives as long as the
// plane knows its ARN, so compiled listener rules hold it directly; a group
// that listeners name before SetTargetGroup (or after RemoveTargetGroup) has
// no configuration and answers 503.
type group struct {
	p   *Plane
	arn string
	id  [8]byte // names the group inside stickiness cookies

	// view is what the request path reads: settings and the targets that
	// may take new requests, rebuilt under mu on every change.
	view atomic.Pointer[groupView]
	rr   atomic.Uint64

	mu      sync.Mutex
	cfg     *groupConfig // nil: not configured
	targets map[string]*target
	seq     uint64
	refs    int  // listeners that reference the group (guarded by p.mu)
	inUse   bool // some listener rule forwards to it
	counts  map[string]*atomic.Uint64
}

// groupView is an immutable snapshot for the request path.
type groupView struct {
	cfg        *groupConfig
	routable   []*target          // where new requests and connections may go
	byKey      map[string]*target // routable by "id:port", for stickiness
	registered int                // registered targets that are not draining
}

// groupConfig is a target group's settings with defaults applied.
type groupConfig struct {
	protocol      string // HTTP, HTTPS, TCP
	h2            bool   // ProtocolVersion HTTP2
	algorithm     string
	sticky        bool // lb_cookie stickiness (ALB)
	stickySource  bool // source_ip stickiness (NLB)
	stickyDur     time.Duration
	delay         time.Duration
	slowStart     time.Duration
	hc            healthConfig
	transportSpec string // targets need new transports when this changes
}

type healthConfig struct {
	enabled            bool
	protocol           string // HTTP, HTTPS, TCP
	port               int    // 0: the traffic port
	path               string
	interval, timeout  time.Duration
	healthy, unhealthy int
	matcher            matcher
	h2                 bool
}

// target is one registered (or draining) target of a group.
type target struct {
	g     *group
	t     Target
	key   string // "id:port"
	addr  string // host:port to dial
	seq   uint64 // registration order
	count *atomic.Uint64

	outstanding atomic.Int64
	released    atomic.Bool
	retiring    atomic.Bool // draining or released: pooled connections are not kept
	pool        *h1pool     // the fast path's connections
	tr          atomic.Pointer[http.Transport]
	slowFrom    atomic.Int64 // unix ns; slow start runs from slowFrom to slowUntil
	slowUntil   atomic.Int64

	// Guarded by g.mu.
	health     healthState
	draining   bool
	drainGen   int
	drainTimer *time.Timer
	stop       context.CancelFunc // the health checker, while one runs
	checkGen   int                // results of older checkers are ignored
}

func targetKey(t Target) string { return t.ID + ":" + strconv.Itoa(t.Port) }

func newGroup(p *Plane, arn string) *group {
	g := &group{p: p, arn: arn, targets: map[string]*target{}, counts: map[string]*atomic.Uint64{}}
	sum := sha256.Sum256([]byte(arn))
	copy(g.id[:], sum[:8])
	g.view.Store(&groupView{})
	return g
}

// normalize applies ALB's and NLB's defaults to a target group's settings.
func (p *Plane) normalize(tg TargetGroup) *groupConfig {
	c := &groupConfig{
		protocol:  cmp.Or(strings.ToUpper(tg.Protocol), "HTTP"),
		h2:        strings.EqualFold(tg.ProtocolVersion, "HTTP2"),
		algorithm: tg.Algorithm,
		delay:     max(tg.DeregistrationDelay, 0),
		slowStart: max(tg.SlowStart, 0),
	}
	tcp := c.protocol == "TCP"
	if c.algorithm == "" && !tcp {
		c.algorithm = AlgorithmRoundRobin
	}
	if tg.Stickiness.Enabled {
		switch {
		case strings.EqualFold(tg.Stickiness.Type, "source_ip"):
			c.stickySource = true
		case !tcp:
			c.sticky = true
		}
		c.stickyDur = tg.Stickiness.Duration
		if c.stickyDur <= 0 {
			c.stickyDur = 24 * time.Hour // stickiness.lb_cookie.duration_seconds default
		}
	}
	hc := tg.HealthCheck
	h := healthConfig{
		enabled:   hc.Enabled,
		protocol:  strings.ToUpper(hc.Protocol),
		path:      cmp.Or(hc.Path, "/"),
		interval:  hc.Interval,
		timeout:   hc.Timeout,
		healthy:   hc.HealthyThreshold,
		unhealthy: hc.UnhealthyThreshold,
		h2:        c.h2 && !tcp,
	}
	if h.protocol == "" {
		h.protocol = c.protocol
	}
	if h.interval <= 0 {
		h.interval = 30 * time.Second
	}
	floor := 5 * time.Second // HealthCheckIntervalSeconds minimum
	if p.cfg.MinHealthInterval > 0 {
		floor = p.cfg.MinHealthInterval
	}
	h.interval = max(h.interval, floor)
	if h.timeout <= 0 {
		switch {
		case tcp && h.protocol == "TCP":
			h.timeout = 10 * time.Second
		case tcp:
			h.timeout = 6 * time.Second
		default:
			h.timeout = 5 * time.Second
		}
	}
	if h.healthy <= 0 {
		h.healthy = 5
	}
	if h.unhealthy <= 0 {
		h.unhealthy = 2
	}
	if hc.Port != "" && hc.Port != "traffic-port" {
		n, err := strconv.Atoi(hc.Port)
		if err != nil || n < 1 || n > 65535 {
			p.log.Warn("health check port is not a port number; using the traffic port", "target_group", tg.ARN, "port", hc.Port)
		} else {
			h.port = n
		}
	}
	defMatcher := "200"
	if tcp {
		defMatcher = "200-399"
	}
	m, err := parseMatcher(cmp.Or(hc.Matcher, defMatcher))
	if err != nil {
		p.log.Warn("health check matcher does not parse; using the default", "target_group", tg.ARN, "matcher", hc.Matcher, "err", err)
		m, _ = parseMatcher(defMatcher)
	}
	h.matcher = m
	c.hc = h
	c.transportSpec = c.protocol + "/" + strconv.FormatBool(c.h2)
	return c
}

// newTransport is the connection pool to one target: keep-alive, enough
// idle connections for bursts, no proxy from the environment, responses
// passed through untouched.
func (p *Plane) newTransport(c *groupConfig) *http.Transport {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           p.dialer.DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       55 * time.Second,
		DisableCompression:    true,
		ExpectContinueTimeout: time.Second,
		ReadBufferSize:        16 << 10,
		WriteBufferSize:       16 << 10,
		TLSClientConfig:       insecureTLS(),
	}
	if c.h2 {
		var ps http.Protocols
		if c.protocol == "HTTPS" {
			ps.SetHTTP2(true)
		} else {
			ps.SetUnencryptedHTTP2(true)
		}
		tr.Protocols = &ps
	}
	return tr
}

// insecureTLS is the TLS configuration toward targets: ALB does not verify
// target certificates.
func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }

// setConfig replaces the group's settings and target set. Targets that
// leave the set start draining. Called with p.mu held.
func (g *group) setConfig(tg TargetGroup) {
	cfg := g.p.normalize(tg)
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.cfg
	g.cfg = cfg
	newTransports := old == nil || old.transportSpec != cfg.transportSpec

	want := make(map[string]Target, len(tg.Targets))
	var order []string
	for _, t := range tg.Targets {
		k := targetKey(t)
		if _, dup := want[k]; !dup {
			order = append(order, k)
		}
		want[k] = t
	}
	for k, t := range g.targets {
		if _, ok := want[k]; !ok && !t.draining {
			g.drainLocked(t)
		}
	}
	for _, k := range order {
		spec := want[k]
		t, ok := g.targets[k]
		if !ok {
			g.seq++
			cnt := g.counts[k]
			if cnt == nil {
				cnt = new(atomic.Uint64)
				g.counts[k] = cnt
			}
			t = &target{g: g, t: spec, key: k, addr: net.JoinHostPort(spec.ID, strconv.Itoa(spec.Port)), seq: g.seq, count: cnt, health: newHealth()}
			t.pool = &h1pool{t: t}
			t.tr.Store(g.p.newTransport(cfg))
			g.targets[k] = t
		} else {
			t.t.AvailabilityZone = spec.AvailabilityZone
			if t.draining {
				g.undrainLocked(t)
			}
			if newTransports {
				if oldTr := t.tr.Swap(g.p.newTransport(cfg)); oldTr != nil {
					oldTr.CloseIdleConnections()
				}
				t.pool.closeIdle()
			}
		}
	}
	if !cfg.hc.enabled {
		for _, t := range g.targets {
			g.stopCheckLocked(t)
		}
	}
	g.startChecksLocked()
	g.rebuildLocked()
}

// clear forgets the group's settings and targets (RemoveTargetGroup).
func (g *group) clear() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range g.targets {
		g.stopCheckLocked(t)
		if t.drainTimer != nil {
			t.drainTimer.Stop()
		}
		g.releaseLocked(t)
	}
	g.cfg = nil
	g.counts = map[string]*atomic.Uint64{}
	g.rebuildLocked()
}

// setInUse records whether a listener forwards to the group. A group that
// comes into use starts its targets over at initial, as ALB registers them
// with the load balancer then. Called with p.mu held.
func (g *group) setInUse(inUse bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inUse == inUse {
		return
	}
	g.inUse = inUse
	for _, t := range g.targets {
		if t.draining {
			continue
		}
		g.stopCheckLocked(t)
		t.health = newHealth()
		t.slowFrom.Store(0)
		t.slowUntil.Store(0)
	}
	g.startChecksLocked()
	g.rebuildLocked()
}

// drainLocked takes t out of service: no new requests; it is released
// after the deregistration delay (at once with a delay of 0, or when the
// group serves no listener), while requests in flight finish regardless.
func (g *group) drainLocked(t *target) {
	g.stopCheckLocked(t)
	t.draining = true
	t.drainGen++
	t.slowFrom.Store(0)
	t.slowUntil.Store(0)
	if g.cfg == nil || g.cfg.delay <= 0 || !g.inUse {
		g.releaseLocked(t)
		return
	}
	t.retiring.Store(true)
	t.closeIdle()
	gen := t.drainGen
	t.drainTimer = time.AfterFunc(g.cfg.delay, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if t.draining && t.drainGen == gen && g.targets[t.key] == t {
			g.releaseLocked(t)
			g.rebuildLocked()
			g.p.log.Debug("target deregistered", "target_group", g.arn, "target", t.key)
		}
	})
}

// undrainLocked returns a draining target to service with the health it
// had, as re-registering it does.
func (g *group) undrainLocked(t *target) {
	t.draining = false
	t.retiring.Store(false)
	t.drainGen++
	if t.drainTimer != nil {
		t.drainTimer.Stop()
		t.drainTimer = nil
	}
}

// releaseLocked forgets t. Requests still in flight keep their pointer and
// finish; the last one closes the pooled connections.
func (g *group) releaseLocked(t *target) {
	delete(g.targets, t.key)
	t.retiring.Store(true)
	t.released.Store(true)
	t.closeIdle()
}

// closeIdle closes t's idle pooled connections.
func (t *target) closeIdle() {
	t.pool.closeIdle()
	if tr := t.tr.Load(); tr != nil {
		tr.CloseIdleConnections()
	}
}

// done is called when a request or connection to t ends.
func (t *target) done() {
	if t.outstanding.Add(-1) == 0 && t.retiring.Load() {
		t.closeIdle()
	}
}

// rebuildLocked publishes a new view: healthy targets take traffic; when
// none is healthy every registered target does (fail open).
func (g *group) rebuildLocked() {
	if g.cfg == nil {
		g.view.Store(&groupView{})
		return
	}
	v := &groupView{cfg: g.cfg}
	var healthy, rest []*target
	for _, t := range g.sortedLocked() {
		if t.draining {
			continue
		}
		v.registered++
		if !g.cfg.hc.enabled || t.health.state == StateHealthy {
			healthy = append(healthy, t)
		} else {
			rest = append(rest, t)
		}
	}
	v.routable = healthy
	if len(healthy) == 0 {
		v.routable = rest
	}
	if g.cfg.sticky && len(v.routable) > 0 {
		v.byKey = make(map[string]*target, len(v.routable))
		for _, t := range v.routable {
			v.byKey[t.key] = t
		}
	}
	g.view.Store(v)
}

func (g *group) sortedLocked() []*target {
	ts := make([]*target, 0, len(g.targets))
	for _, t := range g.targets {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b *target) int { return cmp.Compare(a.seq, b.seq) })
	return ts
}

// health reports every registered or draining target with its state.
func (g *group) health() []TargetHealth {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]TargetHealth, 0, len(g.targets))
	for _, t := range g.sortedLocked() {
		th := TargetHealth{Target: t.t}
		switch {
		case t.draining:
			th.State, th.Reason, th.Description = StateDraining, ReasonDeregistrationInProgress, descDeregistrationInProgress
		case !g.inUse:
			th.State, th.Reason, th.Description = StateUnused, ReasonNotInUse, descNotInUse
		case g.cfg != nil && !g.cfg.hc.enabled:
			th.State, th.Reason, th.Description = StateUnavailable, ReasonHealthCheckDisabled, descHealthCheckDisabled
		default:
			th.State, th.Reason, th.Description = t.health.state, t.health.reason, t.health.desc
		}
		out = append(out, th)
	}
	return out
}

func (g *group) requestCounts() map[string]uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]uint64, len(g.counts))
	for k, c := range g.counts {
		out[k] = c.Load()
	}
	return out
}

// pick chooses a target for a new request: the sticky one when it may
// still take traffic, else by the group's algorithm.
func (g *group) pick(v *groupView, sticky string, now func() time.Time) *target {
	n := len(v.routable)
	if n == 0 {
		return nil
	}
	if sticky != "" {
		if t := v.byKey[sticky]; t != nil {
			return t
		}
	}
	if n == 1 {
		return v.routable[0]
	}
	start := g.rr.Add(1) - 1
	if v.cfg.algorithm == AlgorithmLeastOutstandingRequests {
		var best *target
		var bestN int64
		for i := range n {
			t := v.routable[(start+uint64(i))%uint64(n)]
			if o := t.outstanding.Load(); best == nil || o < bestN {
				best, bestN = t, o
			}
		}
		return best
	}
	t := v.routable[start%uint64(n)]
	if v.cfg.slowStart > 0 {
		// A target in slow start takes a share growing linearly with the
		// time it has been healthy; a refused request goes to the next.
		ts := now().UnixNano()
		for i := uint64(0); i < uint64(n); i++ {
			c := v.routable[(start+i)%uint64(n)]
			until := c.slowUntil.Load()
			if until == 0 || ts >= until {
				return c
			}
			from := c.slowFrom.Load()
			if rand.Float64()*float64(until-from) < float64(ts-from) {
				return c
			}
		}
	}
	return t
}

// pickFlow chooses a target for a new TCP connection: by a hash of the
// flow as NLB does (or of the client address with source_ip stickiness);
// round robin or least outstanding connections when the group's Algorithm
// names one (NLB has no such attribute, so an empty Algorithm is the flow
// hash).
func (g *group) pickFlow(v *groupView, remote, local string) *target {
	n := len(v.routable)
	if n == 0 {
		return nil
	}
	switch {
	case v.cfg.stickySource:
		return v.routable[fnv64(clientIP(remote), "")%uint64(n)]
	case v.cfg.algorithm == AlgorithmLeastOutstandingRequests:
		return g.pick(v, "", time.Now)
	case v.cfg.algorithm == AlgorithmRoundRobin:
		return v.routable[(g.rr.Add(1)-1)%uint64(n)]
	}
	return v.routable[fnv64(remote, local)%uint64(n)]
}

// fnv64 is FNV-1a over a and b without allocating.
func fnv64(a, b string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(a); i++ {
		h ^= uint64(a[i])
		h *= 1099511628211
	}
	h ^= '|'
	h *= 1099511628211
	for i := 0; i < len(b); i++ {
		h ^= uint64(b[i])
		h *= 1099511628211
	}
	return h
}
