package elbv2

import (
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/lb"
)

func TestTranslateListener(t *testing.T) {
	alb := &lbDoc{Account: "000000000000", Region: "us-east-1", Name: "web", ID: "0123456789abcdef", Type: typeApplication,
		Attributes: map[string]string{"idle_timeout.timeout_seconds": "120",
			"routing.http.xff_header_processing.mode": "preserve", "routing.http.xff_client_port.enabled": "true"}}
	tg := tgARN("us-east-1", "000000000000", "tg", "00000000000000aa")
	l := &listenerDoc{Account: "000000000000", Region: "us-east-1", ID: "1111111111111111", LBName: "web", LBID: alb.ID, LBType: typeApplication,
		Protocol: "HTTP", Port: 80, DefaultRuleID: "2222222222222222",
		DefaultActions: []actionDoc{{Type: "fixed-response", Order: 1, Fixed: &fixedDoc{StatusCode: "404"}}},
		Rules: []ruleDoc{{ID: "3333333333333333", Priority: 5,
			Conditions: []conditionDoc{{Field: "query-string", QueryStrings: []kvDoc{{Value: "v"}}}, {Field: "http-header", HeaderName: "X-A", Values: []string{"b"}}},
			Actions:    []actionDoc{{Type: "forward", Order: 1, TargetGroups: []weightedDoc{{ARN: tg, Weight: 2}}, Stickiness: &stickinessDoc{Enabled: true, Duration: 30}}}}},
	}
	got := translateListener(alb, l)
	want := lb.Listener{
		ARN: l.arn(), LoadBalancerARN: alb.arn(), Type: "application", Protocol: "HTTP", Port: 80, IdleTimeout: 120 * time.Second,
		XFFMode: "preserve", XFFClientPort: true,
		Rules: []lb.Rule{
			{ARN: l.ruleARN("3333333333333333"), Priority: 5,
				Conditions: []lb.Condition{{Field: "query-string", QueryStrings: []lb.KeyValue{{Value: "v"}}}, {Field: "http-header", HTTPHeaderName: "X-A", Values: []string{"b"}}},
				Actions:    []lb.Action{{Type: "forward", Order: 1, TargetGroups: []lb.WeightedTargetGroup{{ARN: tg, Weight: 2}}, Stickiness: &lb.Stickiness{Enabled: true, Duration: 30 * time.Second}}}},
			{ARN: l.ruleARN("2222222222222222"), IsDefault: true, Actions: []lb.Action{{Type: "fixed-response", Order: 1, FixedResponse: &lb.FixedResponse{StatusCode: "404"}}}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("translateListener =\n%+v\nwant\n%+v", got, want)
	}

	nlb := &lbDoc{Account: "000000000000", Region: "us-east-1", Name: "tcp", ID: "0123456789abcdef", Type: typeNetwork}
	nl := &listenerDoc{Account: "000000000000", Region: "us-east-1", ID: "1111111111111111", LBName: "tcp", LBID: nlb.ID, LBType: typeNetwork,
		Protocol: "TCP", Port: 5432, DefaultRuleID: "2222222222222222", DefaultActions: []actionDoc{{Type: "forward", Order: 1, TargetGroups: []weightedDoc{{ARN: tg, Weight: 1}}}}}
	if got := translateListener(nlb, nl); got.IdleTimeout != 350*time.Second || got.Type != "network" || len(got.Rules) != 1 || !got.Rules[0].IsDefault {
		t.Errorf("translateListener(NLB) = %+v; want idle timeout 350 s, one default rule", got)
	}
}

func TestTranslateTargetGroup(t *testing.T) {
	a := New(Config{ResolveInstance: func(_, _, id string) (string, string, bool) {
		switch id {
		case "i-1", "i-2":
			return "10.0.0.1", "us-east-1b", true
		}
		return "", "", false
	}}, nil, nil)
	tg := &tgDoc{Account: "000000000000", Region: "us-east-1", Name: "tg", ID: "00000000000000aa", Protocol: "HTTP", ProtocolVersion: "HTTP1",
		Port: 80, TargetType: "instance", HealthCheck: defaultHealthCheck("HTTP", "HTTP"),
		Attributes: map[string]string{"deregistration_delay.timeout_seconds": "5", "stickiness.enabled": "true", "slow_start.duration_seconds": "30"},
		Targets:    []targetDoc{{ID: "i-1", Port: 8080}, {ID: "i-2", Port: 8080}, {ID: "i-2", Port: 8081}, {ID: "i-gone", Port: 8080}},
	}
	got, addrs := a.translateTG(tg)
	if got.DeregistrationDelay != 5*time.Second || !got.Stickiness.Enabled || got.Stickiness.Type != "lb_cookie" ||
		got.Stickiness.Duration != 24*time.Hour || got.SlowStart != 30*time.Second || got.Algorithm != "round_robin" {
		t.Errorf("translateTG settings = %+v; want delay 5 s, lb_cookie stickiness for a day, slow start 30 s, round robin", got)
	}
	if hc := got.HealthCheck; hc.Interval != 30*time.Second || hc.Timeout != 5*time.Second || hc.Path != "/" || hc.Matcher != "200" || !hc.Enabled {
		t.Errorf("translateTG health check = %+v; want AWS's HTTP defaults", hc)
	}
	wantTargets := []lb.Target{{ID: "10.0.0.1", Port: 8080, AvailabilityZone: "us-east-1b"}, {ID: "10.0.0.1", Port: 8081, AvailabilityZone: "us-east-1b"}}
	if !reflect.DeepEqual(got.Targets, wantTargets) {
		t.Errorf("translateTG targets = %+v; want %+v (one per address, unknown instances left out)", got.Targets, wantTargets)
	}
	if ids := addrs["10.0.0.1:8080"]; len(ids) != 2 || ids[0].ID != "i-1" || ids[1].ID != "i-2" {
		t.Errorf("targets behind 10.0.0.1:8080 = %+v; want i-1, i-2", ids)
	}

	a.hcInterval = 50 * time.Millisecond
	if got, _ := a.translateTG(tg); got.HealthCheck.Interval != 50*time.Millisecond || got.HealthCheck.Timeout != 50*time.Millisecond {
		t.Errorf("translateTG with HealthCheckInterval = %+v; want interval and timeout 50 ms", got.HealthCheck)
	}
}

// fakePlane records what it is given; Bind fails for the ports in refuse.
type fakePlane struct {
	refuse  map[int]bool
	bound   map[string]lb.Listener
	groups  map[string]lb.TargetGroup
	binds   int
	unbinds []string
}

func (p *fakePlane) Bind(l lb.Listener) error {
	p.binds++
	if p.refuse[l.Port] {
		return errors.New("address already in use")
	}
	p.bound[l.ARN] = l
	return nil
}
func (p *fakePlane) Unbind(arn string)                     { delete(p.bound, arn); p.unbinds = append(p.unbinds, arn) }
func (p *fakePlane) SetTargetGroup(tg lb.TargetGroup)      { p.groups[tg.ARN] = tg }
func (p *fakePlane) RemoveTargetGroup(arn string)          { delete(p.groups, arn) }
func (p *fakePlane) TargetHealth(string) []lb.TargetHealth { return nil }

func TestSyncRetriesFailedBinds(t *testing.T) {
	fp := &fakePlane{refuse: map[int]bool{80: true}, bound: map[string]lb.Listener{}, groups: map[string]lb.TargetGroup{}}
	a := New(Config{Logger: slog.New(slog.DiscardHandler)}, nil, nil)
	a.plane = fp
	l80 := lb.Listener{ARN: "l80", Type: "application", Protocol: "HTTP", Port: 80}
	l81 := lb.Listener{ARN: "l81", Type: "application", Protocol: "HTTP", Port: 81}
	d := desiredPlane{listeners: map[string]lb.Listener{"l80": l80, "l81": l81}, tgs: map[string]lb.TargetGroup{"tg": {ARN: "tg"}}, targets: map[string]map[string][]targetDoc{}}
	a.syncLocked(d)
	if _, ok := fp.bound["l81"]; !ok || len(fp.bound) != 1 || len(fp.groups) != 1 {
		t.Fatalf("after the first sync bound %v, groups %v; want l81 and tg", fp.bound, fp.groups)
	}
	// Unchanged and bound: not bound again; refused: tried again.
	binds := fp.binds
	a.syncLocked(d)
	if fp.binds != binds+1 {
		t.Errorf("second sync made %d Bind calls; want 1 (the refused listener again)", fp.binds-binds)
	}
	// The port frees up.
	delete(fp.refuse, 80)
	a.syncLocked(d)
	if _, ok := fp.bound["l80"]; !ok {
		t.Errorf("listener on a freed port not bound on resync")
	}
	// Gone from the documents: unbound, group removed.
	a.syncLocked(desiredPlane{listeners: map[string]lb.Listener{}, tgs: map[string]lb.TargetGroup{}})
	slices.Sort(fp.unbinds)
	if len(fp.bound) != 0 || len(fp.groups) != 0 || !slices.Equal(fp.unbinds, []string{"l80", "l81"}) {
		t.Errorf("after everything is deleted: bound %v, groups %v, unbinds %v; want none, none, [l80 l81]", fp.bound, fp.groups, fp.unbinds)
	}
}
