package elbv2

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/lb"
)

// maxTargets is how many targets one target group has at most (AWS's
// default quota).
const maxTargets = 1000

// Target health states and the reasons this package reports itself; the
// others come from the data plane.
const (
	healthInitial  = "initial"
	healthHealthy  = "healthy"
	healthUnused   = "unused"
	healthDraining = "draining"
)

// regTarget is a target named by a request; a nil Port means the target
// group's port.
type regTarget struct {
	ID   string
	Port *int32
	AZ   string
}

func targetsIn(ts []targetDescription, member string) ([]regTarget, *awsapi.Error) {
	if ts == nil {
		return nil, required(member)
	}
	out := make([]regTarget, 0, len(ts))
	for i, t := range ts {
		if t.ID == nil {
			return nil, required(fmt.Sprintf("%s.%d.member.id", member, i+1))
		}
		if t.Port != nil {
			if err := checkPort(*t.Port, fmt.Sprintf("%s.%d.member.port", member, i+1)); err != nil {
				return nil, err
			}
		}
		out = append(out, regTarget{ID: *t.ID, Port: t.Port, AZ: deref(t.AvailabilityZone)})
	}
	return out, nil
}

// resolveTarget returns the address the data plane dials for a target of
// t, and its availability zone; ok is false for an instance Berth does not
// know.
func (a *API) resolveTarget(t *tgDoc, id string) (addr, az string, ok bool) {
	if t.TargetType == "ip" {
		return id, "", true
	}
	if a.resolve == nil {
		return "", "", false
	}
	return a.resolve(t.Account, t.Region, id)
}

func invalidTarget(id string) *awsapi.Error {
	return apiError("InvalidTarget", "The specified target '%s' does not exist, is not in the same VPC as the target group, or has an unsupported instance type.", id)
}

// checkTarget checks that target r can be registered with t.
func (a *API) checkTarget(t *tgDoc, r regTarget) *awsapi.Error {
	if t.TargetType == "ip" {
		ip, err := netip.ParseAddr(r.ID)
		switch {
		case err != nil || ip.Zone() != "":
			return apiError("InvalidTarget", "The IP address '%s' is not a valid IP address", clip(r.ID, 64))
		case t.IPAddressType == "ipv4" && !ip.Is4():
			return apiError("InvalidTarget", "The IP address '%s' is not a valid IPv4 address", r.ID)
		case t.IPAddressType == "ipv6" && !ip.Is6():
			return apiError("InvalidTarget", "The IP address '%s' is not a valid IPv6 address", r.ID)
		}
		return nil
	}
	if r.AZ != "" {
		return validationError("An Availability Zone can be specified only for targets of target groups with target type 'ip'")
	}
	if _, _, ok := a.resolveTarget(t, r.ID); !ok {
		return invalidTarget(r.ID)
	}
	return nil
}

func port(t *tgDoc, p *int32) int32 {
	if p != nil {
		return *p
	}
	return t.Port
}

// changeTargets registers or deregisters targets of the target group arn
// in one write, then brings the data plane up to date.
func (a *API) changeTargets(ctx context.Context, account, region, arn string, targets []regTarget, register bool) error {
	_, err := retryConflicts(ctx, func() (struct{}, error) {
		t := a.view(account, region).tgByARN(arn)
		if t == nil {
			return struct{}{}, tgNotFound()
		}
		changed := false
		for _, r := range targets {
			td := targetDoc{ID: r.ID, Port: port(t, r.Port), AZ: r.AZ}
			i := slices.IndexFunc(t.Targets, func(x targetDoc) bool { return x.ID == td.ID && x.Port == td.Port })
			if register {
				if err := a.checkTarget(t, r); err != nil {
					return struct{}{}, err
				}
				if i >= 0 {
					continue // already registered: registering again changes nothing
				}
				t.Targets = append(t.Targets, td)
				changed = true
				continue
			}
			if i < 0 {
				if _, _, ok := a.resolveTarget(t, r.ID); !ok {
					return struct{}{}, invalidTarget(r.ID)
				}
				continue // not registered: nothing to do
			}
			t.Targets = slices.Delete(t.Targets, i, i+1)
			changed = true
		}
		if len(t.Targets) > maxTargets {
			return struct{}{}, apiError("TooManyTargets", "You have reached the limit on the number of targets per target group (%d)", maxTargets)
		}
		if !changed {
			return struct{}{}, nil
		}
		var o ops
		o.put(t.key(), t.index, t)
		return struct{}{}, a.commit(ctx, o)
	})
	if err != nil {
		return err
	}
	a.sync()
	return nil
}

type registerTargetsInput struct {
	TargetGroupARN *string             `query:"TargetGroupArn"`
	Targets        []targetDescription `query:"Targets"`
}

type registerTargetsOutput struct{}

func (a *API) registerTargets(ctx context.Context, in *registerTargetsInput) (*registerTargetsOutput, error) {
	c := awsapi.CallerFrom(ctx)
	arn, aerr := tgRef(in.TargetGroupARN, "targetGroupArn")
	if aerr != nil {
		return nil, aerr
	}
	targets, aerr := targetsIn(in.Targets, "targets")
	if aerr != nil {
		return nil, aerr
	}
	if err := a.changeTargets(ctx, c.Account, c.Region, arn, targets, true); err != nil {
		return nil, err
	}
	return &registerTargetsOutput{}, nil
}

type deregisterTargetsInput struct {
	TargetGroupARN *string             `query:"TargetGroupArn"`
	Targets        []targetDescription `query:"Targets"`
}

type deregisterTargetsOutput struct{}

func (a *API) deregisterTargets(ctx context.Context, in *deregisterTargetsInput) (*deregisterTargetsOutput, error) {
	c := awsapi.CallerFrom(ctx)
	arn, aerr := tgRef(in.TargetGroupARN, "targetGroupArn")
	if aerr != nil {
		return nil, aerr
	}
	targets, aerr := targetsIn(in.Targets, "targets")
	if aerr != nil {
		return nil, aerr
	}
	if err := a.changeTargets(ctx, c.Account, c.Region, arn, targets, false); err != nil {
		return nil, err
	}
	return &deregisterTargetsOutput{}, nil
}

// healthEntry is one target of a target group with its health.
type healthEntry struct {
	target targetDoc
	health lb.TargetHealth // State, Reason, Description
}

func hostPort(addr string, port int32) string { return net.JoinHostPort(addr, strconv.Itoa(int(port))) }

// targetsHealth returns the health of every registered target of t, then
// of the targets still draining after their deregistration: the data
// plane's view, with what only the documents know added (targets it does
// not have yet, instances that are gone, groups no listener uses).
func (a *API) targetsHealth(v *view, t *tgDoc) []healthEntry {
	arn := t.arn()
	reported := map[string]lb.TargetHealth{}
	for _, th := range a.plane.TargetHealth(arn) {
		reported[hostPort(th.Target.ID, int32(th.Target.Port))] = th
	}
	inUse := len(v.tgUsers(arn)) > 0
	var out []healthEntry
	seen := map[string]bool{}
	for _, td := range t.Targets {
		e := healthEntry{target: td}
		addr, _, ok := a.resolveTarget(t, td.ID)
		switch {
		case !ok:
			e.health = lb.TargetHealth{State: healthUnused, Reason: "Target.InvalidState", Description: "Target is in the stopped or terminated state"}
		default:
			hp := hostPort(addr, td.Port)
			seen[hp] = true
			th, found := reported[hp]
			if !found {
				th = lb.TargetHealth{State: healthInitial, Reason: "Elb.RegistrationInProgress", Description: "Target registration is in progress"}
			}
			if th.State == healthDraining {
				// Registered again while it drained: the plane catches up on
				// its next update.
				th = lb.TargetHealth{State: healthInitial, Reason: "Elb.RegistrationInProgress", Description: "Target registration is in progress"}
			}
			e.health = th
		}
		if !inUse && e.health.State != healthDraining && e.health.Reason != "Target.InvalidState" {
			e.health = lb.TargetHealth{State: healthUnused, Reason: "Target.NotInUse", Description: "Target group is not configured to receive traffic from the load balancer"}
		}
		out = append(out, e)
	}
	known := a.knownTargets(arn)
	for hp, th := range reported {
		if seen[hp] || th.State != healthDraining {
			continue
		}
		ids := known[hp]
		if len(ids) == 0 && t.TargetType == "ip" {
			ids = []targetDoc{{ID: th.Target.ID, Port: int32(th.Target.Port), AZ: th.Target.AvailabilityZone}}
		}
		for _, td := range ids {
			out = append(out, healthEntry{target: td, health: th})
		}
	}
	// Draining targets in a stable order after the registered ones.
	reg := len(t.Targets)
	slices.SortFunc(out[reg:], func(x, y healthEntry) int {
		if x.target.ID != y.target.ID {
			if x.target.ID < y.target.ID {
				return -1
			}
			return 1
		}
		return int(x.target.Port) - int(y.target.Port)
	})
	return out
}

type describeTargetHealthInput struct {
	TargetGroupARN *string             `query:"TargetGroupArn"`
	Targets        []targetDescription `query:"Targets"`
	Include        []string            `query:"Include"`
}

type describeTargetHealthOutput struct {
	TargetHealthDescriptions []targetHealthDescription `query:"TargetHealthDescriptions"`
}

func (a *API) describeTargetHealth(ctx context.Context, in *describeTargetHealthInput) (*describeTargetHealthOutput, error) {
	c := awsapi.CallerFrom(ctx)
	arn, aerr := tgRef(in.TargetGroupARN, "targetGroupArn")
	if aerr != nil {
		return nil, aerr
	}
	var filter []regTarget
	if len(in.Targets) > 0 {
		if filter, aerr = targetsIn(in.Targets, "targets"); aerr != nil {
			return nil, aerr
		}
	}
	v := a.view(c.Account, c.Region)
	t := v.tgByARN(arn)
	if t == nil {
		return nil, tgNotFound()
	}
	all := a.targetsHealth(v, t)
	entries := all
	if filter != nil {
		entries = nil
		for _, r := range filter {
			matched := false
			for _, e := range all {
				if e.target.ID == r.ID && (r.Port == nil || e.target.Port == *r.Port) {
					entries = append(entries, e)
					matched = true
				}
			}
			if matched {
				continue
			}
			if _, _, ok := a.resolveTarget(t, r.ID); !ok {
				return nil, invalidTarget(r.ID)
			}
			entries = append(entries, healthEntry{
				target: targetDoc{ID: r.ID, Port: port(t, r.Port), AZ: r.AZ},
				health: lb.TargetHealth{State: healthUnused, Reason: "Target.NotRegistered", Description: "Target is not registered to the target group"},
			})
		}
	}
	out := &describeTargetHealthOutput{TargetHealthDescriptions: []targetHealthDescription{}}
	for _, e := range entries {
		d := targetHealthDescription{
			Target:          targetDescription{ID: ptr(e.target.ID), Port: ptr(e.target.Port)},
			HealthCheckPort: t.HealthCheck.Port,
			TargetHealth:    targetHealthOut{State: e.health.State},
		}
		if e.target.AZ != "" {
			d.Target.AvailabilityZone = ptr(e.target.AZ)
		}
		if d.HealthCheckPort == "traffic-port" {
			d.HealthCheckPort = strconv.Itoa(int(e.target.Port))
		}
		if e.health.State != healthHealthy {
			d.TargetHealth.Reason, d.TargetHealth.Description = e.health.Reason, e.health.Description
		}
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, d)
	}
	return out, nil
}
