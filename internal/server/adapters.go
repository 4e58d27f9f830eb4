package server

import (
	"context"
	"errors"
	"strings"

	"github.com/berthhq/berth/internal/agentapi"
	"github.com/berthhq/berth/internal/controller"
	"github.com/berthhq/berth/internal/elbv2"
	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/logs"
	"github.com/berthhq/berth/internal/secretsmanager"
	"github.com/berthhq/berth/internal/ssm"
	"github.com/berthhq/berth/internal/state"
)

// secretResolver resolves the valueFrom of container secrets as ECS does:
// a Secrets Manager ARN goes to Secrets Manager, anything else (a name or
// an ARN) to SSM Parameter Store.
type secretResolver struct {
	ssm *ssm.API
	sm  *secretsmanager.API
}

func (r secretResolver) Resolve(ctx context.Context, account, region, valueFrom string) (string, error) {
	if strings.HasPrefix(valueFrom, "arn:") && strings.Contains(valueFrom, ":secretsmanager:") {
		return r.sm.Resolve(ctx, account, region, valueFrom)
	}
	return r.ssm.Resolve(ctx, account, region, valueFrom)
}

// instanceResolver finds where an instance target is dialled: the address
// of the container instance with that EC2 instance id, and its zone.
func instanceResolver(store *state.Store) func(account, region, ec2InstanceID string) (string, string, bool) {
	return func(account, region, id string) (string, string, bool) {
		for i := range store.Snapshot().InstancesByEC2ID(id) {
			if i.Account != account || i.Region != region || i.EC2InstanceID != id || i.Status == state.InstanceInactive {
				continue
			}
			az := ""
			for _, a := range i.Attributes {
				if a.Name == "ecs.availability-zone" {
					az = a.Value
				}
			}
			return i.Address, az, i.Address != ""
		}
		return "", "", false
	}
}

// loadBalancing is ELBv2 as the service controller sees it.
type loadBalancing struct{ api *elbv2.API }

func (l loadBalancing) Register(ctx context.Context, account, region, tg string, targets []controller.Target) error {
	return l.api.RegisterTargets(ctx, account, region, tg, descriptions(targets))
}

func (l loadBalancing) Deregister(ctx context.Context, account, region, tg string, targets []controller.Target) error {
	return l.api.DeregisterTargets(ctx, account, region, tg, descriptions(targets))
}

func (l loadBalancing) Health(ctx context.Context, account, region, tg string) ([]controller.TargetHealth, error) {
	hs, err := l.api.TargetHealth(ctx, account, region, tg)
	if err != nil {
		return nil, err
	}
	out := make([]controller.TargetHealth, len(hs))
	for i, h := range hs {
		out[i] = controller.TargetHealth{Target: controller.Target{ID: h.Target.ID, Port: int32(h.Target.Port)},
			State: h.State, Reason: h.Reason, Description: h.Description}
	}
	return out, nil
}

func descriptions(ts []controller.Target) []elbv2.TargetDescription {
	out := make([]elbv2.TargetDescription, len(ts))
	for i, t := range ts {
		out[i] = elbv2.TargetDescription{ID: t.ID, Port: t.Port}
	}
	return out
}

// logSink stores what agents ship from awslogs containers.
type logSink struct{ api *logs.API }

func (l logSink) Ingest(ctx context.Context, account, region, group, stream string, createGroup bool, events []agentapi.LogEvent) error {
	if len(events) == 0 {
		return l.api.EnsureStream(ctx, account, region, group, stream, createGroup)
	}
	in := make([]logs.InputEvent, len(events))
	for i, e := range events {
		in[i] = logs.InputEvent{Timestamp: e.Timestamp, Message: e.Message}
	}
	err := l.api.Ingest(ctx, account, region, group, stream, in, createGroup)
	var rej *logs.RejectedError
	if errors.As(err, &rej) {
		// Outside the time window CloudWatch Logs accepts: retrying would
		// not help.
		return errdefs.New(errdefs.ErrInvalidArgument, "log-events", "%s", rej.Error())
	}
	return err
}
