package elbv2

import (
	"context"
	"regexp"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
)

// maxTargetGroups is how many target groups a tenancy has at most (AWS's
// default quota).
const maxTargetGroups = 3000

func (v *view) tgOut(t *tgDoc) targetGroupOut {
	o := targetGroupOut{
		TargetGroupARN:             t.arn(),
		TargetGroupName:            t.Name,
		Protocol:                   t.Protocol,
		Port:                       ptr(t.Port),
		VPCID:                      t.VPCID,
		HealthCheckProtocol:        t.HealthCheck.Protocol,
		HealthCheckPort:            t.HealthCheck.Port,
		HealthCheckEnabled:         t.HealthCheck.Enabled,
		HealthCheckIntervalSeconds: t.HealthCheck.Interval,
		HealthCheckTimeoutSeconds:  t.HealthCheck.Timeout,
		HealthyThresholdCount:      t.HealthCheck.Healthy,
		UnhealthyThresholdCount:    t.HealthCheck.Unhealthy,
		HealthCheckPath:            t.HealthCheck.Path,
		LoadBalancerARNs:           v.tgLoadBalancers(t.arn()),
		TargetType:                 t.TargetType,
		ProtocolVersion:            t.ProtocolVersion,
		IPAddressType:              t.IPAddressType,
	}
	if t.HealthCheck.Matcher != "" {
		o.Matcher = &matcher{HTTPCode: ptr(t.HealthCheck.Matcher)}
	}
	return o
}

type createTargetGroupInput struct {
	Name                       *string  `query:"Name"`
	Protocol                   *string  `query:"Protocol"`
	ProtocolVersion            *string  `query:"ProtocolVersion"`
	Port                       *int32   `query:"Port"`
	VPCID                      *string  `query:"VpcId"`
	TargetType                 *string  `query:"TargetType"`
	IPAddressType              *string  `query:"IpAddressType"`
	HealthCheckEnabled         *bool    `query:"HealthCheckEnabled"`
	HealthCheckProtocol        *string  `query:"HealthCheckProtocol"`
	HealthCheckPort            *string  `query:"HealthCheckPort"`
	HealthCheckPath            *string  `query:"HealthCheckPath"`
	HealthCheckIntervalSeconds *int32   `query:"HealthCheckIntervalSeconds"`
	HealthCheckTimeoutSeconds  *int32   `query:"HealthCheckTimeoutSeconds"`
	HealthyThresholdCount      *int32   `query:"HealthyThresholdCount"`
	UnhealthyThresholdCount    *int32   `query:"UnhealthyThresholdCount"`
	Matcher                    *matcher `query:"Matcher"`
	Tags                       []tag    `query:"Tags"`
}

type targetGroupsOutput struct {
	TargetGroups []targetGroupOut `query:"TargetGroups"`
}

var tgNamePattern = regexp.MustCompile(`^[A-Za-z0-9-]+$`)

// checkTGName applies AWS's rules for target group names.
func checkTGName(name string) *awsapi.Error {
	switch {
	case len(name) > 32:
		return validationError("Target group name '%s' cannot be longer than '32' characters", clip(name, 64))
	case !tgNamePattern.MatchString(name):
		return validationError("Target group name '%s' can only contain characters that are alphanumeric characters or hyphens(-)", name)
	case name[0] == '-' || name[len(name)-1] == '-' || strings.Contains(name, "--"):
		return validationError("1 validation error detected: Value '%s' at 'targetGroup.targetGroupArn.targetGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!.*--)(?!^-)(?!.*-$)^[A-Za-z0-9-]+$", name)
	}
	return nil
}

func checkPort(p int32, member string) *awsapi.Error {
	if p < 1 {
		return validationError("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to 1", p, member)
	}
	if p > 65535 {
		return validationError("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value less than or equal to 65535", p, member)
	}
	return nil
}

func (a *API) createTargetGroup(ctx context.Context, in *createTargetGroupInput) (*targetGroupsOutput, error) {
	c := awsapi.CallerFrom(ctx)
	if in.Name == nil {
		return nil, required("name")
	}
	name := *in.Name
	if err := checkTGName(name); err != nil {
		return nil, err
	}
	targetType := "instance"
	if in.TargetType != nil {
		targetType = *in.TargetType
	}
	switch targetType {
	case "instance", "ip":
	case "lambda", "alb":
		return nil, apiError("InvalidConfigurationRequest", "Berth does not support target groups with target type '%s'; use 'instance' or 'ip'", targetType)
	default:
		return nil, validationError("1 validation error detected: Value '%s' at 'targetType' failed to satisfy constraint: Member must satisfy enum value set: [instance, ip, lambda, alb]", targetType)
	}
	if in.Protocol == nil {
		return nil, validationError("A protocol must be specified for target groups with target type '%s'", targetType)
	}
	protocol := *in.Protocol
	switch protocol {
	case "HTTP", "HTTPS", "TCP":
	case "TLS", "UDP", "TCP_UDP", "GENEVE", "QUIC", "TCP_QUIC":
		return nil, apiError("InvalidConfigurationRequest", "Berth's load balancers do not support target groups with the '%s' protocol yet; use HTTP, HTTPS or TCP", protocol)
	default:
		return nil, validationError("1 validation error detected: Value '%s' at 'protocol' failed to satisfy constraint: Member must satisfy enum value set: [HTTP, HTTPS, TCP, TLS, UDP, TCP_UDP, GENEVE, QUIC, TCP_QUIC]", protocol)
	}
	if in.Port == nil {
		return nil, validationError("A port must be specified for target groups with target type '%s'", targetType)
	}
	if err := checkPort(*in.Port, "port"); err != nil {
		return nil, err
	}
	version := ""
	if httpCheck(protocol) {
		version = "HTTP1"
	}
	if in.ProtocolVersion != nil {
		switch pv := *in.ProtocolVersion; {
		case !httpCheck(protocol):
			return nil, validationError("A protocol version can be specified only for target groups with the HTTP or HTTPS protocol")
		case pv == "HTTP1" || pv == "HTTP2":
			version = pv
		case pv == "GRPC":
			return nil, apiError("InvalidConfigurationRequest", "Berth's load balancers do not support the GRPC protocol version yet; use HTTP1 or HTTP2")
		default:
			return nil, validationError("Protocol version '%s' is not valid: it must be one of GRPC, HTTP1, HTTP2", clip(pv, 64))
		}
	}
	ipType := "ipv4"
	if in.IPAddressType != nil {
		ipType = *in.IPAddressType
		if ipType != "ipv4" && ipType != "ipv6" {
			return nil, validationError("1 validation error detected: Value '%s' at 'ipAddressType' failed to satisfy constraint: Member must satisfy enum value set: [ipv4, ipv6]", ipType)
		}
		if ipType == "ipv6" && targetType != "ip" {
			return nil, validationError("Target groups with the 'ipv6' IP address type must have the 'ip' target type")
		}
	}
	hc, aerr := healthCheck(hcDoc{}, protocol, targetType, hcInput{
		Enabled: in.HealthCheckEnabled, Protocol: in.HealthCheckProtocol, Port: in.HealthCheckPort, Path: in.HealthCheckPath,
		Interval: in.HealthCheckIntervalSeconds, Timeout: in.HealthCheckTimeoutSeconds,
		Healthy: in.HealthyThresholdCount, Unhealthy: in.UnhealthyThresholdCount, Matcher: in.Matcher,
	})
	if aerr != nil {
		return nil, aerr
	}
	tags, aerr := tagsIn(in.Tags)
	if aerr != nil {
		return nil, aerr
	}
	vpc := defaultVPC(c.Account, c.Region)
	if in.VPCID != nil && *in.VPCID != "" {
		vpc = *in.VPCID
	}
	doc := &tgDoc{
		Account: c.Account, Region: c.Region, Name: name, ID: newID(), Protocol: protocol, ProtocolVersion: version,
		Port: *in.Port, VPCID: vpc, TargetType: targetType, IPAddressType: ipType, HealthCheck: hc, Tags: tags,
	}
	got, err := retryConflicts(ctx, func() (*tgDoc, error) {
		v := a.view(c.Account, c.Region)
		if old := v.tgByName(name); old != nil {
			// Creating is idempotent: the same settings return the existing
			// target group.
			if old.Protocol == doc.Protocol && old.ProtocolVersion == doc.ProtocolVersion && old.Port == doc.Port &&
				old.VPCID == doc.VPCID && old.TargetType == doc.TargetType && old.IPAddressType == doc.IPAddressType &&
				old.HealthCheck == doc.HealthCheck {
				return old, nil
			}
			return nil, apiError("DuplicateTargetGroupName", "A target group with the same name '%s' exists, but with different settings", name)
		}
		if len(v.tgs()) >= maxTargetGroups {
			return nil, apiError("TooManyTargetGroups", "The quota for the number of target groups has been reached (%d)", maxTargetGroups)
		}
		var o ops
		o.put(doc.key(), 0, doc)
		return doc, a.commit(ctx, o)
	})
	if err != nil {
		return nil, err
	}
	a.sync()
	v := a.view(c.Account, c.Region)
	return &targetGroupsOutput{TargetGroups: []targetGroupOut{v.tgOut(got)}}, nil
}

type describeTargetGroupsInput struct {
	LoadBalancerARN *string  `query:"LoadBalancerArn"`
	TargetGroupARNs []string `query:"TargetGroupArns"`
	Names           []string `query:"Names"`
	Marker          *string  `query:"Marker"`
	PageSize        *int32   `query:"PageSize"`
}

type describeTargetGroupsOutput struct {
	TargetGroups []targetGroupOut `query:"TargetGroups"`
	NextMarker   *string          `query:"NextMarker"`
}

// tgRef checks a TargetGroupArn member.
func tgRef(arn *string, member string) (string, *awsapi.Error) {
	if arn == nil {
		return "", required(member)
	}
	if r, ok := parseARN(*arn); !ok || r.Kind != kindTG {
		return "", validationError("'%s' is not a valid target group ARN", clip(*arn, 256))
	}
	return *arn, nil
}

func (a *API) describeTargetGroups(ctx context.Context, in *describeTargetGroupsInput) (*describeTargetGroupsOutput, error) {
	c := awsapi.CallerFrom(ctx)
	given := 0
	for _, set := range []bool{in.LoadBalancerARN != nil, len(in.TargetGroupARNs) > 0, len(in.Names) > 0} {
		if set {
			given++
		}
	}
	if given > 1 {
		return nil, validationError("Only one of load balancer ARN, target group ARNs and names can be specified")
	}
	n, after, err := pageArgs(in.PageSize, in.Marker)
	if err != nil {
		return nil, err
	}
	v := a.view(c.Account, c.Region)
	var tgs []*tgDoc
	switch {
	case in.LoadBalancerARN != nil:
		arn, aerr := lbRef(in.LoadBalancerARN)
		if aerr != nil {
			return nil, aerr
		}
		l := v.lbByARN(arn)
		if l == nil {
			return nil, lbNotFound()
		}
		for _, ld := range v.listenersOf(l) {
			for _, ta := range ld.targetGroups() {
				if t := v.tgByARN(ta); t != nil {
					tgs = append(tgs, t)
				}
			}
		}
	case len(in.TargetGroupARNs) > 0:
		for _, arn := range in.TargetGroupARNs {
			if _, aerr := tgRef(&arn, "targetGroupArns"); aerr != nil {
				return nil, aerr
			}
			t := v.tgByARN(arn)
			if t == nil {
				return nil, tgNotFound()
			}
			tgs = append(tgs, t)
		}
	case len(in.Names) > 0:
		for _, name := range in.Names {
			t := v.tgByName(name)
			if t == nil {
				return nil, tgNotFound()
			}
			tgs = append(tgs, t)
		}
	default:
		tgs = v.tgs()
	}
	slices.SortFunc(tgs, func(x, y *tgDoc) int { return strings.Compare(x.Name, y.Name) })
	tgs = slices.CompactFunc(tgs, func(x, y *tgDoc) bool { return x.Name == y.Name })
	page, next := paginate(tgs, n, after, func(t *tgDoc) string { return t.Name })
	out := &describeTargetGroupsOutput{TargetGroups: []targetGroupOut{}, NextMarker: next}
	for _, t := range page {
		out.TargetGroups = append(out.TargetGroups, v.tgOut(t))
	}
	return out, nil
}

type modifyTargetGroupInput struct {
	TargetGroupARN             *string  `query:"TargetGroupArn"`
	HealthCheckEnabled         *bool    `query:"HealthCheckEnabled"`
	HealthCheckProtocol        *string  `query:"HealthCheckProtocol"`
	HealthCheckPort            *string  `query:"HealthCheckPort"`
	HealthCheckPath            *string  `query:"HealthCheckPath"`
	HealthCheckIntervalSeconds *int32   `query:"HealthCheckIntervalSeconds"`
	HealthCheckTimeoutSeconds  *int32   `query:"HealthCheckTimeoutSeconds"`
	HealthyThresholdCount      *int32   `query:"HealthyThresholdCount"`
	UnhealthyThresholdCount    *int32   `query:"UnhealthyThresholdCount"`
	Matcher                    *matcher `query:"Matcher"`
}

func (a *API) modifyTargetGroup(ctx context.Context, in *modifyTargetGroupInput) (*targetGroupsOutput, error) {
	c := awsapi.CallerFrom(ctx)
	arn, aerr := tgRef(in.TargetGroupARN, "targetGroupArn")
	if aerr != nil {
		return nil, aerr
	}
	_, err := retryConflicts(ctx, func() (*tgDoc, error) {
		t := a.view(c.Account, c.Region).tgByARN(arn)
		if t == nil {
			return nil, tgNotFound()
		}
		hc, aerr := healthCheck(t.HealthCheck, t.Protocol, t.TargetType, hcInput{
			Enabled: in.HealthCheckEnabled, Protocol: in.HealthCheckProtocol, Port: in.HealthCheckPort, Path: in.HealthCheckPath,
			Interval: in.HealthCheckIntervalSeconds, Timeout: in.HealthCheckTimeoutSeconds,
			Healthy: in.HealthyThresholdCount, Unhealthy: in.UnhealthyThresholdCount, Matcher: in.Matcher,
		})
		if aerr != nil {
			return nil, aerr
		}
		t.HealthCheck = hc
		var o ops
		o.put(t.key(), t.index, t)
		return t, a.commit(ctx, o)
	})
	if err != nil {
		return nil, err
	}
	a.sync()
	v := a.view(c.Account, c.Region)
	t := v.tgByARN(arn)
	if t == nil {
		return nil, tgNotFound() // deleted right after the change
	}
	return &targetGroupsOutput{TargetGroups: []targetGroupOut{v.tgOut(t)}}, nil
}

type deleteTargetGroupInput struct {
	TargetGroupARN *string `query:"TargetGroupArn"`
}

type deleteTargetGroupOutput struct{}

// deleteTargetGroup deletes a target group no listener or rule forwards
// to. Deleting one that does not exist succeeds, as in AWS.
func (a *API) deleteTargetGroup(ctx context.Context, in *deleteTargetGroupInput) (*deleteTargetGroupOutput, error) {
	c := awsapi.CallerFrom(ctx)
	arn, aerr := tgRef(in.TargetGroupARN, "targetGroupArn")
	if aerr != nil {
		return nil, aerr
	}
	_, err := retryConflicts(ctx, func() (struct{}, error) {
		v := a.view(c.Account, c.Region)
		t := v.tgByARN(arn)
		if t == nil {
			return struct{}{}, nil
		}
		if len(v.tgUsers(arn)) > 0 {
			return struct{}{}, apiError("ResourceInUse", "Target group '%s' is currently in use by a listener or a rule", arn)
		}
		var o ops
		o.del(t.key(), t.index)
		return struct{}{}, a.commit(ctx, o)
	})
	if err != nil {
		return nil, err
	}
	a.sync()
	return &deleteTargetGroupOutput{}, nil
}

type describeTargetGroupAttributesInput struct {
	TargetGroupARN *string `query:"TargetGroupArn"`
}

func (a *API) describeTargetGroupAttributes(ctx context.Context, in *describeTargetGroupAttributesInput) (*attributesOutput, error) {
	c := awsapi.CallerFrom(ctx)
	arn, aerr := tgRef(in.TargetGroupARN, "targetGroupArn")
	if aerr != nil {
		return nil, aerr
	}
	t := a.view(c.Account, c.Region).tgByARN(arn)
	if t == nil {
		return nil, tgNotFound()
	}
	return &attributesOutput{Attributes: attributesOut(withDefaults(tgAttrSpecs(t), t.Attributes))}, nil
}

type modifyTargetGroupAttributesInput struct {
	TargetGroupARN *string     `query:"TargetGroupArn"`
	Attributes     []attribute `query:"Attributes"`
}

func (a *API) modifyTargetGroupAttributes(ctx context.Context, in *modifyTargetGroupAttributesInput) (*attributesOutput, error) {
	c := awsapi.CallerFrom(ctx)
	arn, aerr := tgRef(in.TargetGroupARN, "targetGroupArn")
	if aerr != nil {
		return nil, aerr
	}
	got, err := retryConflicts(ctx, func() (*tgDoc, error) {
		t := a.view(c.Account, c.Region).tgByARN(arn)
		if t == nil {
			return nil, tgNotFound()
		}
		other := &tgDoc{Protocol: "TCP"}
		if t.Protocol == "TCP" {
			other.Protocol = "HTTP"
		}
		set, aerr := applyAttributes("Target group", tgAttrSpecs(t), tgAttrSpecs(other),
			"target groups with the "+t.Protocol+" protocol", t.Attributes, in.Attributes)
		if aerr != nil {
			return nil, aerr
		}
		t.Attributes = set
		var o ops
		o.put(t.key(), t.index, t)
		return t, a.commit(ctx, o)
	})
	if err != nil {
		return nil, err
	}
	a.sync()
	return &attributesOutput{Attributes: attributesOut(withDefaults(tgAttrSpecs(got), got.Attributes))}, nil
}
