package lb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// healthState is one target's health as the checks have found it.
type healthState struct {
	state, reason, desc string
	ok, fail            int // consecutive results
	checked             bool
}

func newHealth() healthState {
	return healthState{state: StateInitial, reason: ReasonRegistrationInProgress, desc: descRegistrationInProgress}
}

// probeResult is the outcome of one health check.
type probeResult struct {
	ok           bool
	reason, desc string // why it failed
}

// next applies one check result. As ALB documents, a newly registered
// target needs one passing check to become healthy; afterwards
// UnhealthyThreshold consecutive failures take a target out of service and
// HealthyThreshold consecutive successes put it back. An initial target
// that fails UnhealthyThreshold checks in a row becomes unhealthy.
func (h healthState) next(r probeResult, healthyN, unhealthyN int) healthState {
	h.checked = true
	if r.ok {
		h.ok++
		h.fail = 0
		switch h.state {
		case StateInitial:
			h.state, h.reason, h.desc = StateHealthy, "", ""
		case StateUnhealthy:
			if h.ok >= healthyN {
				h.state, h.reason, h.desc = StateHealthy, "", ""
			}
		}
		return h
	}
	h.fail++
	h.ok = 0
	switch h.state {
	case StateInitial:
		if h.fail >= unhealthyN {
			h.state, h.reason, h.desc = StateUnhealthy, r.reason, r.desc
		} else {
			h.reason, h.desc = ReasonInitialHealthChecking, descInitialHealthChecking
		}
	case StateHealthy:
		if h.fail >= unhealthyN {
			h.state, h.reason, h.desc = StateUnhealthy, r.reason, r.desc
		}
	case StateUnhealthy:
		h.reason, h.desc = r.reason, r.desc
	}
	return h
}

// matcher is a health check's success codes: "200", "200-299",
// "200,202", or a mix.
type matcher []codeRange

type codeRange struct{ lo, hi int }

// parseMatcher parses ALB's HttpCode syntax. Codes are 100 to 599.
func parseMatcher(s string) (matcher, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("matcher is empty")
	}
	var m matcher
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := parseCode(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = parseCode(hi); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("matcher range %q runs backwards", part)
			}
		}
		m = append(m, codeRange{a, b})
	}
	return m, nil
}

func parseCode(s string) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if err != nil || len(s) != 3 || n < 100 || n > 599 {
		return 0, fmt.Errorf("matcher code %q is not an HTTP status code", s)
	}
	return n, nil
}

func (m matcher) match(code int) bool {
	for _, r := range m {
		if r.lo <= code && code <= r.hi {
			return true
		}
	}
	return false
}

// healthClients are the plane's health-check HTTP clients: no pooled
// connections (ALB closes each check's connection), no proxy, no redirects.
type healthClients struct {
	h1, h2c, h2 *http.Client
}

func newHealthClients(dialer *net.Dialer) healthClients {
	mk := func(ps func(*http.Protocols)) *http.Client {
		tr := &http.Transport{
			Proxy:              nil,
			DialContext:        dialer.DialContext,
			DisableKeepAlives:  true,
			DisableCompression: true,
			TLSClientConfig:    insecureTLS(),
		}
		if ps != nil {
			var p http.Protocols
			ps(&p)
			tr.Protocols = &p
		}
		return &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return healthClients{
		h1:  mk(nil),
		h2c: mk(func(p *http.Protocols) { p.SetUnencryptedHTTP2(true) }),
		h2:  mk(func(p *http.Protocols) { p.SetHTTP2(true) }),
	}
}

// probe runs one health check of t.
func (p *Plane) probe(ctx context.Context, hc healthConfig, t *target) probeResult {
	port := t.t.Port
	if hc.port != 0 {
		port = hc.port
	}
	addr := net.JoinHostPort(t.t.ID, strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(ctx, hc.timeout)
	defer cancel()
	failed := probeResult{reason: ReasonFailedHealthChecks, desc: descFailedHealthChecks}

	if hc.protocol == "TCP" {
		c, err := p.dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			return failed
		}
		c.Close()
		return probeResult{ok: true}
	}

	scheme, client := "http", p.health.h1
	switch {
	case hc.protocol == "HTTPS" && hc.h2:
		scheme, client = "https", p.health.h2
	case hc.protocol == "HTTPS":
		scheme = "https"
	case hc.h2:
		client = p.health.h2c
	}
	path := hc.path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+path, nil)
	if err != nil {
		return probeResult{reason: ReasonInternalError, desc: descInternalError}
	}
	req.Header.Set("User-Agent", "ELB-HealthChecker/2.0")
	resp, err := client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return probeResult{reason: ReasonTimeout, desc: descTimeout}
		}
		return failed
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if !hc.matcher.match(resp.StatusCode) {
		return probeResult{reason: ReasonResponseCodeMismatch, desc: fmt.Sprintf("Health checks failed with these codes: [%d]", resp.StatusCode)}
	}
	return probeResult{ok: true}
}

// startChecksLocked starts a checker for every target that needs one. It
// needs p.mu and g.mu held: checkers belong to Run.
func (g *group) startChecksLocked() {
	p := g.p
	if p.runCtx == nil || p.stopped || !g.inUse || g.cfg == nil || !g.cfg.hc.enabled {
		return
	}
	for _, t := range g.targets {
		if t.draining || t.stop != nil {
			continue
		}
		ctx, cancel := context.WithCancel(p.runCtx)
		t.stop = cancel
		t.checkGen++
		gen := t.checkGen
		p.wg.Go(func() { g.check(ctx, t, gen) })
	}
}

func (g *group) stopCheckLocked(t *target) {
	if t.stop != nil {
		t.stop()
		t.stop = nil
		t.checkGen++
	}
}

// check runs t's health checks every interval until ctx ends. Each check
// stands for the whole interval: the next starts an interval after the
// previous one started, however long that one took.
func (g *group) check(ctx context.Context, t *target, gen int) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		start := time.Now()
		v := g.view.Load()
		if v.cfg == nil {
			return
		}
		hc := v.cfg.hc
		r := g.p.probe(ctx, hc, t)
		if ctx.Err() != nil {
			return
		}
		g.observe(t, gen, r, hc)
		timer.Reset(max(hc.interval-time.Since(start), 0))
	}
}

// observe applies one check result to t and republishes the view when
// t's routability may have changed.
func (g *group) observe(t *target, gen int, r probeResult, hc healthConfig) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t.draining || t.checkGen != gen || g.targets[t.key] != t {
		return
	}
	before := t.health
	t.health = before.next(r, hc.healthy, hc.unhealthy)
	if before.state == t.health.state {
		if before.reason != t.health.reason {
			g.p.log.Debug("target health", "target_group", g.arn, "target", t.key, "state", t.health.state, "reason", t.health.reason)
		}
		return
	}
	g.p.log.Info("target health changed", "target_group", g.arn, "target", t.key,
		"from", before.state, "to", t.health.state, "reason", t.health.reason, "description", t.health.desc)
	if t.health.state == StateHealthy {
		g.maybeSlowStartLocked(t)
	} else {
		t.slowFrom.Store(0)
		t.slowUntil.Store(0)
	}
	g.rebuildLocked()
}

// maybeSlowStartLocked puts a target that just became healthy into slow
// start, when the group has slow start and another healthy target that is
// not in slow start (ALB's rule: the first targets take full traffic).
func (g *group) maybeSlowStartLocked(t *target) {
	if g.cfg == nil || g.cfg.slowStart <= 0 {
		return
	}
	now := g.p.now()
	for _, o := range g.targets {
		if o == t || o.draining || o.health.state != StateHealthy {
			continue
		}
		if u := o.slowUntil.Load(); u == 0 || now.UnixNano() >= u {
			t.slowFrom.Store(now.UnixNano())
			t.slowUntil.Store(now.Add(g.cfg.slowStart).UnixNano())
			return
		}
	}
}
