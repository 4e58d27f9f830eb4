package elbv2

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/lb"
	"github.com/berthhq/berth/internal/state"
)

// applied is what the data plane was last given. Guarded by API.mu.
type applied struct {
	listeners map[string]lb.Listener
	// failed holds listeners whose Bind failed, with the configuration that
	// failed, so that the failure is logged once and retried on resync.
	failed map[string]lb.Listener
	tgs    map[string]lb.TargetGroup
	// targets maps, per target group, the host:port the plane dials to the
	// registered targets behind it, so that targets the plane still drains
	// after their registration is gone can be named by their ids.
	targets map[string]map[string][]targetDoc
}

func newApplied() applied {
	return applied{
		listeners: map[string]lb.Listener{},
		failed:    map[string]lb.Listener{},
		tgs:       map[string]lb.TargetGroup{},
		targets:   map[string]map[string][]targetDoc{},
	}
}

// desiredPlane is the data plane's configuration as the documents describe
// it.
type desiredPlane struct {
	listeners map[string]lb.Listener
	tgs       map[string]lb.TargetGroup
	targets   map[string]map[string][]targetDoc
	// provisioning holds the load balancers still to be made active.
	provisioning []*lbDoc
}

// desired reads every document of the package (all tenancies) from snap
// and translates them for the data plane.
func (a *API) desired(snap *state.Snapshot, ws memdb.WatchSet) desiredPlane {
	d := desiredPlane{
		listeners: map[string]lb.Listener{},
		tgs:       map[string]lb.TargetGroup{},
		targets:   map[string]map[string][]targetDoc{},
	}
	lbs := map[string]*lbDoc{} // by ARN
	var listeners []*listenerDoc
	for doc := range snap.Docs(ws, state.KeyPrefix(ns), "") {
		parts := state.KeyParts(doc.ID)
		if len(parts) < 4 {
			continue
		}
		switch parts[3] {
		case "lb":
			if l := lbFrom(a, doc); l != nil {
				lbs[l.arn()] = l
				if l.State == stateProvisioning {
					d.provisioning = append(d.provisioning, l)
				}
			}
		case "tg":
			if t := tgFrom(a, doc); t != nil {
				tg, addrs := a.translateTG(t)
				d.tgs[tg.ARN] = tg
				d.targets[tg.ARN] = addrs
			}
		case "listener":
			if l := listenerFrom(a, doc); l != nil {
				listeners = append(listeners, l)
			}
		}
	}
	for _, l := range listeners {
		owner := lbs[l.lbARN()]
		if owner == nil || owner.ID != l.LBID {
			continue
		}
		d.listeners[l.arn()] = translateListener(owner, l)
	}
	return d
}

// translateTG returns the data plane's target group for t, and the
// registered targets behind each host:port it dials. Instance targets are
// dialled at their instance's address; instances Berth no longer knows are
// left out.
func (a *API) translateTG(t *tgDoc) (lb.TargetGroup, map[string][]targetDoc) {
	attrs := withDefaults(tgAttrSpecs(t), t.Attributes)
	seconds := func(k string) time.Duration {
		n, _ := strconv.Atoi(attrs[k])
		return time.Duration(n) * time.Second
	}
	hc := t.HealthCheck
	tg := lb.TargetGroup{
		ARN:             t.arn(),
		Name:            t.Name,
		Protocol:        t.Protocol,
		ProtocolVersion: t.ProtocolVersion,
		TargetType:      t.TargetType,
		HealthCheck: lb.HealthCheck{
			Enabled:            hc.Enabled,
			Protocol:           hc.Protocol,
			Port:               hc.Port,
			Path:               hc.Path,
			Interval:           time.Duration(hc.Interval) * time.Second,
			Timeout:            time.Duration(hc.Timeout) * time.Second,
			HealthyThreshold:   int(hc.Healthy),
			UnhealthyThreshold: int(hc.Unhealthy),
			Matcher:            hc.Matcher,
		},
		DeregistrationDelay: seconds("deregistration_delay.timeout_seconds"),
		Stickiness: lb.TGStickiness{
			Enabled:  attrs["stickiness.enabled"] == "true",
			Type:     attrs["stickiness.type"],
			Duration: seconds("stickiness.lb_cookie.duration_seconds"),
		},
		Algorithm: attrs["load_balancing.algorithm.type"],
		SlowStart: seconds("slow_start.duration_seconds"),
		Targets:   []lb.Target{},
	}
	if tg.Algorithm == "" {
		tg.Algorithm = "round_robin"
	}
	if a.hcInterval > 0 {
		tg.HealthCheck.Interval = a.hcInterval
		tg.HealthCheck.Timeout = min(tg.HealthCheck.Timeout, a.hcInterval)
	}
	addrs := map[string][]targetDoc{}
	for _, td := range t.Targets {
		addr, az, ok := a.resolveTarget(t, td.ID)
		if !ok {
			continue
		}
		if td.AZ != "" {
			az = td.AZ
		}
		hp := hostPort(addr, td.Port)
		if _, dup := addrs[hp]; !dup {
			tg.Targets = append(tg.Targets, lb.Target{ID: addr, Port: int(td.Port), AvailabilityZone: az})
		}
		addrs[hp] = append(addrs[hp], td)
	}
	return tg, addrs
}

// translateListener returns the data plane's listener for l of load
// balancer owner.
func translateListener(owner *lbDoc, l *listenerDoc) lb.Listener {
	out := lb.Listener{
		ARN:             l.arn(),
		LoadBalancerARN: owner.arn(),
		Type:            owner.Type,
		Protocol:        l.Protocol,
		Port:            int(l.Port),
	}
	if owner.Type == typeNetwork {
		n, _ := strconv.Atoi(withDefaults(listenerAttrSpecs(typeNetwork), l.Attributes)["tcp.idle_timeout.seconds"])
		out.IdleTimeout = time.Duration(n) * time.Second
	} else {
		attrs := withDefaults(lbAttrSpecs(typeApplication), owner.Attributes)
		n, _ := strconv.Atoi(attrs["idle_timeout.timeout_seconds"])
		out.IdleTimeout = time.Duration(n) * time.Second
		out.XFFMode = attrs["routing.http.xff_header_processing.mode"]
		out.XFFClientPort = attrs["routing.http.xff_client_port.enabled"] == "true"
	}
	for _, r := range l.Rules {
		out.Rules = append(out.Rules, lb.Rule{
			ARN:        l.ruleARN(r.ID),
			Priority:   int(r.Priority),
			Conditions: translateConditions(r.Conditions),
			Actions:    translateActions(r.Actions),
		})
	}
	out.Rules = append(out.Rules, lb.Rule{
		ARN:       l.ruleARN(l.DefaultRuleID),
		IsDefault: true,
		Actions:   translateActions(l.DefaultActions),
	})
	return out
}

func translateConditions(cs []conditionDoc) []lb.Condition {
	var out []lb.Condition
	for _, c := range cs {
		lc := lb.Condition{Field: c.Field, Values: append([]string(nil), c.Values...), HTTPHeaderName: c.HeaderName}
		for _, kv := range c.QueryStrings {
			lc.QueryStrings = append(lc.QueryStrings, lb.KeyValue{Key: kv.Key, Value: kv.Value})
		}
		out = append(out, lc)
	}
	return out
}

func translateActions(as []actionDoc) []lb.Action {
	var out []lb.Action
	for _, d := range as {
		la := lb.Action{Type: d.Type, Order: int(d.Order)}
		for _, w := range d.TargetGroups {
			la.TargetGroups = append(la.TargetGroups, lb.WeightedTargetGroup{ARN: w.ARN, Weight: int(w.Weight)})
		}
		if s := d.Stickiness; s != nil && s.Enabled {
			la.Stickiness = &lb.Stickiness{Enabled: true, Duration: time.Duration(s.Duration) * time.Second}
		}
		if r := d.Redirect; r != nil {
			la.Redirect = &lb.Redirect{Protocol: r.Protocol, Port: r.Port, Host: r.Host, Path: r.Path, Query: r.Query, StatusCode: r.StatusCode}
		}
		if f := d.Fixed; f != nil {
			la.FixedResponse = &lb.FixedResponse{StatusCode: f.StatusCode, ContentType: f.ContentType, MessageBody: f.MessageBody}
		}
		out = append(out, la)
	}
	return out
}

// sync brings the data plane up to date with the documents.
func (a *API) sync() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.syncLocked(a.desired(a.store.Snapshot(), nil))
}

// syncLocked gives the plane what changed since it was last given d's
// predecessor: target groups first, so that listeners find the groups
// they forward to, then listeners; then it removes what is gone.
func (a *API) syncLocked(d desiredPlane) {
	for arn, tg := range d.tgs {
		if old, ok := a.applied.tgs[arn]; !ok || !reflect.DeepEqual(old, tg) {
			a.plane.SetTargetGroup(tg)
			a.applied.tgs[arn] = tg
		}
	}
	for arn, l := range d.listeners {
		if old, ok := a.applied.listeners[arn]; ok && reflect.DeepEqual(old, l) {
			continue
		}
		if err := a.plane.Bind(l); err != nil {
			if f, ok := a.applied.failed[arn]; !ok || !reflect.DeepEqual(f, l) {
				a.log.Warn("listener cannot listen", "listener", arn, "port", l.Port, "err", err)
			}
			a.applied.failed[arn] = l
			continue
		}
		delete(a.applied.failed, arn)
		a.applied.listeners[arn] = l
	}
	for arn := range a.applied.listeners {
		if _, ok := d.listeners[arn]; !ok {
			a.plane.Unbind(arn)
			delete(a.applied.listeners, arn)
		}
	}
	for arn := range a.applied.failed {
		if _, ok := d.listeners[arn]; !ok {
			delete(a.applied.failed, arn)
		}
	}
	for arn := range a.applied.tgs {
		if _, ok := d.tgs[arn]; !ok {
			a.plane.RemoveTargetGroup(arn)
			delete(a.applied.tgs, arn)
		}
	}
	// Keep the names of targets the plane still drains; forget the rest.
	for arn, addrs := range d.targets {
		known := a.applied.targets[arn]
		if known == nil {
			known = map[string][]targetDoc{}
			a.applied.targets[arn] = known
		}
		draining := map[string]bool{}
		for _, th := range a.plane.TargetHealth(arn) {
			draining[hostPort(th.Target.ID, int32(th.Target.Port))] = true
		}
		for hp := range known {
			if _, ok := addrs[hp]; !ok && !draining[hp] {
				delete(known, hp)
			}
		}
		for hp, ts := range addrs {
			known[hp] = ts
		}
	}
	for arn := range a.applied.targets {
		if _, ok := d.tgs[arn]; !ok {
			delete(a.applied.targets, arn)
		}
	}
}

// knownTargets returns the registered targets behind each host:port of the
// target group arn, including targets since deregistered that the plane
// still drains.
func (a *API) knownTargets(arn string) map[string][]targetDoc {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string][]targetDoc{}
	for hp, ts := range a.applied.targets[arn] {
		out[hp] = append([]targetDoc(nil), ts...)
	}
	return out
}

// Run keeps the data plane in step with the documents until ctx ends:
// whenever a document changes (whoever wrote it), and at least every
// Resync. It also makes new load balancers active. It returns nil when ctx
// ends.
func (a *API) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		snap := a.store.Snapshot()
		index := snap.DocsIndex(nil)
		d := a.desired(snap, nil)
		a.mu.Lock()
		a.syncLocked(d)
		a.mu.Unlock()
		wait := a.resync
		if due := a.activate(ctx, d.provisioning); due > 0 {
			wait = min(wait, due)
		}
		_, _ = a.store.BlockingQuery(ctx, index, wait, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
			return snap.DocsIndex(ws), nil
		})
	}
	return nil
}

// activate makes active the provisioning load balancers that have waited
// ProvisionDelay. It returns how long until the next one is due, or 0.
func (a *API) activate(ctx context.Context, lbs []*lbDoc) time.Duration {
	var next time.Duration
	now := a.now()
	for _, l := range lbs {
		if left := l.Created.Add(a.provisionDelay).Sub(now); left > 0 {
			if next == 0 || left < next {
				next = left
			}
			continue
		}
		if !a.store.IsLeader() {
			continue // the leader's Run does it
		}
		l.State = stateActive
		var o ops
		o.put(l.key(), l.index, l)
		if err := a.commit(ctx, o); err != nil && ctx.Err() == nil {
			// A concurrent change: the next pass (woken by it) tries again.
			a.log.Debug("activate load balancer", "load_balancer", l.arn(), "err", err)
		}
	}
	return next
}

// bindError phrases a failed Bind for the client: which port and why.
func bindError(port int, err error) string {
	if e, ok := errdefs.As(err); ok && e.Reason == lb.ReasonPortUnavailable {
		return fmt.Sprintf("Port %d is not available: %s", port, e.Message)
	}
	return "The load balancer cannot serve this listener: " + err.Error()
}
