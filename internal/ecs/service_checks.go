package ecs

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/placement"
	"github.com/berthhq/berth/internal/state"
	"github.com/berthhq/berth/internal/taskdef"
)

// The checks CreateService and UpdateService make on their members.

// given reports whether an optional member was sent with content: not
// absent, null, an empty list or an empty structure.
func given(r json.RawMessage) bool {
	r = bytes.TrimSpace(r)
	return !isNull(r) && string(r) != "[]" && string(r) != "{}"
}

// checkUnsupported refuses the members of features Berth does not have.
func checkUnsupported(u *unsupportedService) error {
	switch {
	case len(u.CapacityProviderStrategy) > 0:
		return invalidParam("Capacity provider strategies are not supported by Berth yet; use launchType EC2.")
	case u.PlatformVersion != nil && *u.PlatformVersion != "":
		return invalidParam(msgPlatformVersionEC2)
	case given(u.NetworkConfiguration):
		return invalidParam("Network mode awsvpc is not supported by Berth yet; use bridge, host or none.")
	case u.EnableExecuteCommand != nil && *u.EnableExecuteCommand:
		return invalidParam("ECS Exec (enableExecuteCommand) is not supported by Berth.")
	case given(u.VolumeConfigurations):
		return invalidParam("volumeConfigurations (EBS volumes) are not supported by Berth.")
	case given(u.VpcLatticeConfigurations):
		return invalidParam("VPC Lattice configurations are not supported by Berth.")
	case given(u.GatewayConnectors):
		return invalidParam("Gateway connectors are not supported by Berth.")
	case given(u.Monitoring):
		return invalidParam("Service monitoring configuration is not supported by Berth.")
	}
	if given(u.ServiceConnectConfiguration) {
		var sc struct {
			Enabled *bool `json:"enabled"`
		}
		if err := json.Unmarshal(u.ServiceConnectConfiguration, &sc); err != nil || sc.Enabled == nil || *sc.Enabled {
			return invalidParam("Service Connect is not supported by Berth.")
		}
	}
	if r := u.AvailabilityZoneRebalancing; r != nil && *r != "" {
		switch *r {
		case "DISABLED":
		case "ENABLED":
			return invalidParam("Availability Zone rebalancing is not supported by Berth; use DISABLED.")
		default:
			return invalidParam("Invalid availabilityZoneRebalancing %q. Valid values: ENABLED, DISABLED.", *r)
		}
	}
	if dc := u.DeploymentController; dc != nil && dc.Type != nil {
		switch *dc.Type {
		case "ECS":
		case "CODE_DEPLOY", "EXTERNAL":
			return invalidParam("The %s deployment controller is not supported by Berth; use ECS.", *dc.Type)
		default:
			return invalidParam("Invalid deploymentController type %q. Valid values: ECS, CODE_DEPLOY, EXTERNAL.", *dc.Type)
		}
	}
	return nil
}

// serviceTaskDefinition resolves the task definition a service deploys: it
// must exist, be ACTIVE and run on EC2 instances in a network mode Berth has.
func (a *API) serviceTaskDefinition(snap *state.Snapshot, c *awsapi.Caller, ref string) (*state.TaskDefinition, error) {
	fam, rev, ok := parseTaskDefRef(ref, c)
	if !ok {
		return nil, clientErr(msgTaskDefNotFound)
	}
	var d *state.TaskDefinition
	if rev == 0 {
		d = snap.LatestActiveTaskDefinition(c.Account, c.Region, fam)
	} else {
		d = snap.TaskDefinition(c.Account, c.Region, fam, rev)
	}
	if d == nil {
		return nil, clientErr(msgTaskDefNotFound)
	}
	if d.Status != state.TaskDefActive {
		return nil, clientErr(msgTaskDefInactive)
	}
	if rc := d.Body.RequiresCompatibilities; len(rc) > 0 && !slices.Contains(rc, "EC2") {
		return nil, invalidParam("Task definition does not support launch_type EC2.")
	}
	if d.Body.NetworkMode == "awsvpc" {
		return nil, invalidParam("Network mode awsvpc is not supported by Berth yet; use bridge, host or none.")
	}
	return d, nil
}

func schedulingStrategy(s *string) (string, error) {
	if s == nil || *s == "" {
		return state.SchedulingReplica, nil
	}
	if *s != state.SchedulingReplica && *s != state.SchedulingDaemon {
		return "", invalidParam("Invalid schedulingStrategy %q. Valid values: REPLICA, DAEMON.", *s)
	}
	return *s, nil
}

func propagateTags(p *string, dflt string) (string, error) {
	if p == nil || *p == "" {
		return dflt, nil
	}
	switch *p {
	case "TASK_DEFINITION", "SERVICE", "NONE":
		return *p, nil
	}
	return "", invalidParam("Invalid propagateTags %q. Valid values: TASK_DEFINITION, SERVICE, NONE.", *p)
}

func checkGracePeriod(v *int32) error {
	if v != nil && *v < 0 {
		return invalidParam("healthCheckGracePeriodSeconds must be between 0 and 2147483647.")
	}
	return nil
}

// defaultDeploymentConfiguration is what a service gets when it names none.
func defaultDeploymentConfiguration(scheduling string) state.DeploymentConfiguration {
	if scheduling == state.SchedulingDaemon {
		return state.DeploymentConfiguration{MaximumPercent: 100, MinimumHealthyPercent: 0}
	}
	return state.DeploymentConfiguration{MaximumPercent: 200, MinimumHealthyPercent: 100}
}

// mergeDeploymentConfiguration lays the members given in in over base and
// checks the result for the scheduling strategy.
func mergeDeploymentConfiguration(in *DeploymentConfiguration, base state.DeploymentConfiguration, scheduling string) (state.DeploymentConfiguration, error) {
	out := base
	if base.CircuitBreaker != nil {
		cb := *base.CircuitBreaker
		out.CircuitBreaker = &cb
	}
	if in != nil {
		if in.Strategy != nil && *in.Strategy != "" && *in.Strategy != "ROLLING" {
			switch *in.Strategy {
			case "BLUE_GREEN", "LINEAR", "CANARY":
				return out, invalidParam("The %s deployment strategy is not supported by Berth; use ROLLING.", *in.Strategy)
			}
			return out, invalidParam("Invalid deployment strategy %q. Valid values: ROLLING, BLUE_GREEN, LINEAR, CANARY.", *in.Strategy)
		}
		if given(in.LifecycleHooks) || given(in.LinearConfiguration) || given(in.CanaryConfiguration) {
			return out, invalidParam("Deployment lifecycle hooks and linear or canary configurations belong to deployment strategies Berth does not support; use ROLLING.")
		}
		if in.MaximumPercent != nil {
			out.MaximumPercent = *in.MaximumPercent
		}
		if in.MinimumHealthyPercent != nil {
			out.MinimumHealthyPercent = *in.MinimumHealthyPercent
		}
		if cb := in.DeploymentCircuitBreaker; cb != nil {
			if given(cb.ThresholdConfiguration) {
				return out, invalidParam("deploymentCircuitBreaker.thresholdConfiguration is not supported by Berth; the threshold is half the desired count, at least 3 and at most 200.")
			}
			out.CircuitBreaker = &state.CircuitBreaker{Enable: cb.Enable != nil && *cb.Enable, Rollback: cb.Rollback != nil && *cb.Rollback}
		}
		if !isNull(in.Alarms) {
			var al DeploymentAlarms
			if err := json.Unmarshal(in.Alarms, &al); err != nil {
				return out, invalidParam("deploymentConfiguration.alarms must be an object with alarmNames, enable and rollback.")
			}
			if len(al.AlarmNames) > 10 {
				return out, invalidParam("deploymentConfiguration.alarms can name at most 10 alarms.")
			}
			for _, n := range al.AlarmNames {
				if n == "" || len(n) > 255 {
					return out, invalidParam("Alarm names must be between 1 and 255 characters.")
				}
			}
			if al.AlarmNames == nil {
				al.AlarmNames = []string{}
			}
			out.Alarms, _ = json.Marshal(al)
		}
	}
	switch {
	case out.MinimumHealthyPercent < 0 || out.MinimumHealthyPercent > 100:
		return out, invalidParam("minimumHealthyPercent must be between 0 and 100.")
	case scheduling == state.SchedulingDaemon && out.MaximumPercent > 100:
		return out, invalidParam(msgDaemonMaxPercent)
	case scheduling == state.SchedulingReplica && out.MaximumPercent < 100:
		return out, invalidParam("maximumPercent must be at least 100 for the REPLICA scheduling strategy.")
	case out.MaximumPercent < out.MinimumHealthyPercent:
		return out, invalidParam("maximumPercent must be greater than or equal to minimumHealthyPercent.")
	}
	return out, nil
}

// servicePlacement checks a service's placement constraints and strategies.
func servicePlacement(cons []PlacementConstraint, strats []PlacementStrategy, scheduling string) ([]state.PlacementConstraint, []state.PlacementStrategy, error) {
	pc, ps, err := requestPlacement(cons, strats)
	if err != nil {
		return nil, nil, err
	}
	if scheduling == state.SchedulingDaemon && len(ps) > 0 {
		return nil, nil, invalidParam(msgDaemonStrategies)
	}
	outC := make([]state.PlacementConstraint, 0, len(pc))
	for _, c := range pc {
		outC = append(outC, state.PlacementConstraint{Type: c.Type, Expression: c.Expression})
	}
	outS := make([]state.PlacementStrategy, 0, len(ps))
	for _, s := range ps {
		outS = append(outS, state.PlacementStrategy{Type: s.Type, Field: s.Field})
	}
	return outC, outS, nil
}

// requestPlacement converts and checks the placement members of a request
// (RunTask, CreateService, UpdateService).
func requestPlacement(cons []PlacementConstraint, strats []PlacementStrategy) ([]placement.Constraint, []placement.Strategy, error) {
	pc := make([]placement.Constraint, 0, len(cons))
	for _, c := range cons {
		pc = append(pc, placement.Constraint{Type: deref(c.Type), Expression: deref(c.Expression)})
	}
	if err := placement.ValidateConstraints(pc); err != nil {
		return nil, nil, invalidParam("%s", err.Error())
	}
	ps := make([]placement.Strategy, 0, len(strats))
	for _, s := range strats {
		ps = append(ps, placement.Strategy{Type: deref(s.Type), Field: deref(s.Field)})
	}
	if err := placement.ValidateStrategies(ps); err != nil {
		return nil, nil, invalidParam("%s", err.Error())
	}
	return pc, ps, nil
}

// containerPorts finds a container of a task definition and says whether
// one of its port mappings has the container port.
func containerPort(def *taskdef.TaskDefinition, name string, port int32) (found, hasPort bool) {
	for i := range def.ContainerDefinitions {
		cd := &def.ContainerDefinitions[i]
		if cd.Name != name {
			continue
		}
		for _, pm := range cd.PortMappings {
			if pm.ContainerPort != nil && *pm.ContainerPort == port {
				return true, true
			}
		}
		return true, false
	}
	return false, false
}

const (
	maxServiceLoadBalancers = 5
	maxServiceRegistries    = 1
)

// checkLoadBalancers checks a service's load balancers against the task
// definition it runs. Target groups are stored as given: ELBv2 is not served
// yet, so their existence cannot be checked.
func (a *API) checkLoadBalancers(c *awsapi.Caller, lbs []LoadBalancer, def *taskdef.TaskDefinition) ([]state.LoadBalancer, error) {
	if len(lbs) > maxServiceLoadBalancers {
		return nil, invalidParam("A service can have at most %d load balancers.", maxServiceLoadBalancers)
	}
	out := make([]state.LoadBalancer, 0, len(lbs))
	for _, lb := range lbs {
		tg, name := deref(lb.TargetGroupArn), deref(lb.LoadBalancerName)
		switch {
		case tg == "" && name == "":
			return nil, invalidParam("Each load balancer must specify a targetGroupArn or a loadBalancerName.")
		case tg != "" && name != "":
			return nil, invalidParam("A load balancer cannot specify both a targetGroupArn and a loadBalancerName.")
		case given(lb.AdvancedConfiguration):
			return nil, invalidParam("Load balancer advancedConfiguration belongs to the BLUE_GREEN deployment strategy, which Berth does not support.")
		}
		if name != "" {
			return nil, invalidParam("Classic Load Balancers (loadBalancerName) are not supported by Berth; use the targetGroupArn of an Application or Network Load Balancer's target group.")
		}
		p, ok := ParseARN(tg)
		if !ok || p.Service != "elasticloadbalancing" || !strings.HasPrefix(p.Resource, "targetgroup/") {
			return nil, invalidParam("The target group ARN %s is not a valid target group ARN.", tg)
		}
		cn := deref(lb.ContainerName)
		if cn == "" {
			return nil, invalidParam("containerName must be specified for each load balancer.")
		}
		if lb.ContainerPort == nil {
			return nil, invalidParam("containerPort must be specified for each load balancer.")
		}
		port := *lb.ContainerPort
		found, hasPort := containerPort(def, cn, port)
		if !found {
			return nil, invalidParam("The container %s does not exist in the task definition.", cn)
		}
		if !hasPort {
			return nil, invalidParam("The container %s does not have a container port %d defined.", cn, port)
		}
		var lbARNs []string
		ok = false
		if a.targetGroup != nil {
			lbARNs, ok = a.targetGroup(c.Account, c.Region, tg)
		}
		if !ok {
			return nil, invalidParam("The target group with targetGroupArn %s does not exist.", tg)
		}
		if len(lbARNs) == 0 {
			return nil, invalidParam("The target group with targetGroupArn %s does not have an associated load balancer.", tg)
		}
		out = append(out, state.LoadBalancer{TargetGroupARN: tg, LoadBalancerName: name, ContainerName: cn, ContainerPort: port})
	}
	return out, nil
}

// checkServiceRegistries checks a service's Cloud Map registries against the
// task definition it runs; they are stored for when Cloud Map is served.
func checkServiceRegistries(regs []ServiceRegistry, def *taskdef.TaskDefinition) ([]state.ServiceRegistry, error) {
	if len(regs) > maxServiceRegistries {
		return nil, invalidParam("A service can have at most %d service registry.", maxServiceRegistries)
	}
	out := make([]state.ServiceRegistry, 0, len(regs))
	for _, r := range regs {
		arn := deref(r.RegistryArn)
		if arn == "" {
			return nil, invalidParam("registryArn must be specified for each service registry.")
		}
		p, ok := ParseARN(arn)
		if !ok || p.Service != "servicediscovery" || !strings.HasPrefix(p.Resource, "service/") {
			return nil, invalidParam("The registry ARN %s is not a valid Cloud Map service ARN.", arn)
		}
		sr := state.ServiceRegistry{RegistryARN: arn, ContainerName: deref(r.ContainerName)}
		if r.Port != nil {
			if *r.Port < 0 || *r.Port > 65535 {
				return nil, invalidParam("The service registry port must be between 0 and 65535.")
			}
			sr.Port = *r.Port
		}
		if r.ContainerPort != nil {
			if sr.ContainerName == "" {
				return nil, invalidParam("containerName must be specified with containerPort in a service registry.")
			}
			sr.ContainerPort = *r.ContainerPort
		}
		if sr.ContainerName != "" {
			found, hasPort := containerPort(def, sr.ContainerName, sr.ContainerPort)
			if !found {
				return nil, invalidParam("The container %s does not exist in the task definition.", sr.ContainerName)
			}
			if r.ContainerPort != nil && !hasPort {
				return nil, invalidParam("The container %s does not have a container port %d defined.", sr.ContainerName, sr.ContainerPort)
			}
		}
		out = append(out, sr)
	}
	return out, nil
}

// roleARN turns the role member (a name, a path/name or an ARN) into an ARN.
func roleARN(account, role string) string {
	if isARN(role) {
		return role
	}
	return "arn:aws:iam::" + account + ":role/" + strings.TrimPrefix(role, "/")
}
