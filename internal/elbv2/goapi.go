package elbv2

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/lb"
)

// The Go API, for the ECS service controller: it registers a service's
// tasks with the service's target groups (instance targets at their host
// ports, or ip targets) and watches their health.

// TargetDescription names a target: an EC2 instance id (instance target
// groups; ECS registers the container instance's ec2InstanceId) or an IP
// address (ip target groups), and the port it receives traffic on.
type TargetDescription struct {
	ID string
	// Port is the port the target receives traffic on; 0 means the target
	// group's port.
	Port int32
	// AvailabilityZone is for ip targets only; usually empty.
	AvailabilityZone string
}

// TargetGroupInfo is what CreateService needs to know of a target group.
type TargetGroupInfo struct {
	ARN        string
	Name       string
	Protocol   string // HTTP, HTTPS or TCP
	Port       int32
	TargetType string // instance or ip
	// LoadBalancerARNs are the load balancers whose listeners forward to
	// the group; empty when none does, which CreateService refuses ("The
	// target group with targetGroupArn ... does not have an associated load
	// balancer.").
	LoadBalancerARNs []string
	// DeregistrationDelay is deregistration_delay.timeout_seconds: how long
	// a deregistered target keeps draining.
	DeregistrationDelay time.Duration
}

func regTargets(ts []TargetDescription) []regTarget {
	out := make([]regTarget, 0, len(ts))
	for _, t := range ts {
		r := regTarget{ID: t.ID, AZ: t.AvailabilityZone}
		if t.Port != 0 {
			r.Port = &t.Port
		}
		out = append(out, r)
	}
	return out
}

// checkGoTargets applies the checks the API applies to a request's targets.
func checkGoTargets(ts []TargetDescription) error {
	for i, t := range ts {
		if t.ID == "" {
			return goError(required("targets." + strconv.Itoa(i+1) + ".member.id"))
		}
		if t.Port != 0 {
			if err := checkPort(t.Port, "targets."+strconv.Itoa(i+1)+".member.port"); err != nil {
				return goError(err)
			}
		}
	}
	return nil
}

// RegisterTargets registers targets with the target group tgARN of the
// tenancy (account, region), as the RegisterTargets operation does, and
// brings the data plane up to date before it returns. Registering a
// registered target again changes nothing. Errors are classed with
// errdefs: ErrNotFound (no such target group), ErrInvalidArgument (a target
// that cannot be registered), ErrLimitExceeded (too many targets).
func (a *API) RegisterTargets(ctx context.Context, account, region, tgARN string, targets []TargetDescription) error {
	if err := checkGoTargets(targets); err != nil {
		return err
	}
	if _, aerr := tgRef(&tgARN, "targetGroupArn"); aerr != nil {
		return goError(aerr)
	}
	return goError(a.changeTargets(ctx, account, region, tgARN, regTargets(targets), true))
}

// DeregisterTargets deregisters targets from the target group tgARN, as the
// DeregisterTargets operation does: they drain for the group's
// deregistration delay. Deregistering a target that is not registered
// changes nothing.
func (a *API) DeregisterTargets(ctx context.Context, account, region, tgARN string, targets []TargetDescription) error {
	if err := checkGoTargets(targets); err != nil {
		return err
	}
	if _, aerr := tgRef(&tgARN, "targetGroupArn"); aerr != nil {
		return goError(aerr)
	}
	return goError(a.changeTargets(ctx, account, region, tgARN, regTargets(targets), false))
}

// TargetHealth returns the health of every target of the target group
// tgARN, registered or still draining, as DescribeTargetHealth reports it.
// Each Target carries the id it was registered with (an instance id or an
// IP), not the address the data plane dials.
func (a *API) TargetHealth(ctx context.Context, account, region, tgARN string) ([]lb.TargetHealth, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v := a.view(account, region)
	t := v.tgByARN(tgARN)
	if t == nil {
		return nil, goError(tgNotFound())
	}
	var out []lb.TargetHealth
	for _, e := range a.targetsHealth(v, t) {
		h := e.health
		h.Target = lb.Target{ID: e.target.ID, Port: int(e.target.Port), AvailabilityZone: e.target.AZ}
		out = append(out, h)
	}
	return out, nil
}

// TargetGroupInfo returns what CreateService needs to know of the target
// group tgARN; ok is false when the tenancy has no such group.
func (a *API) TargetGroupInfo(account, region, tgARN string) (info TargetGroupInfo, ok bool) {
	v := a.view(account, region)
	t := v.tgByARN(tgARN)
	if t == nil {
		return TargetGroupInfo{}, false
	}
	delay, _ := strconv.Atoi(withDefaults(tgAttrSpecs(t), t.Attributes)["deregistration_delay.timeout_seconds"])
	return TargetGroupInfo{
		ARN:                 t.arn(),
		Name:                t.Name,
		Protocol:            t.Protocol,
		Port:                t.Port,
		TargetType:          t.TargetType,
		LoadBalancerARNs:    v.tgLoadBalancers(t.arn()),
		DeregistrationDelay: time.Duration(delay) * time.Second,
	}, true
}

// goError turns the API's errors into errdefs classes for Go callers.
func goError(err error) error {
	var ae *awsapi.Error
	if err == nil || !errors.As(err, &ae) {
		return err
	}
	if ae == nil {
		return nil
	}
	class := errdefs.ErrInvalidArgument
	switch ae.Code {
	case "TargetGroupNotFound":
		class = errdefs.ErrNotFound
	case "TooManyTargets":
		class = errdefs.ErrLimitExceeded
	case "PriorRequestNotComplete":
		class = errdefs.ErrConflict
	}
	return &errdefs.Error{Class: class, Kind: "target-group", Reason: ae.Code, Message: ae.Message}
}
