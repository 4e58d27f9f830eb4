package elbv2

import (
	"maps"
	"slices"
	"strconv"
	"time"
)

// The shapes of the botocore model that requests and responses share.
// Optional members are pointers (nil: absent); lists are written as
// Foo.member.N.

type tag struct {
	Key   *string `query:"Key"`
	Value *string `query:"Value"`
}

type attribute struct {
	Key   *string `query:"Key"`
	Value *string `query:"Value"`
}

type targetDescription struct {
	ID               *string `query:"Id"`
	Port             *int32  `query:"Port"`
	AvailabilityZone *string `query:"AvailabilityZone"`
	QuicServerID     *string `query:"QuicServerId"`
}

type action struct {
	Type                *string              `query:"Type"`
	TargetGroupARN      *string              `query:"TargetGroupArn"`
	Order               *int32               `query:"Order"`
	ForwardConfig       *forwardConfig       `query:"ForwardConfig"`
	RedirectConfig      *redirectConfig      `query:"RedirectConfig"`
	FixedResponseConfig *fixedResponseConfig `query:"FixedResponseConfig"`
	// Accepted on the wire and refused: Berth has no HTTPS listeners, which
	// these actions need.
	AuthenticateOidcConfig    *opaque `query:"AuthenticateOidcConfig"`
	AuthenticateCognitoConfig *opaque `query:"AuthenticateCognitoConfig"`
	JwtValidationConfig       *opaque `query:"JwtValidationConfig"`
}

// opaque is a structure whose content is ignored; only its presence
// matters.
type opaque struct{}

type forwardConfig struct {
	TargetGroups                []targetGroupTuple `query:"TargetGroups"`
	TargetGroupStickinessConfig *stickinessConfig  `query:"TargetGroupStickinessConfig"`
}

type targetGroupTuple struct {
	TargetGroupARN *string `query:"TargetGroupArn"`
	Weight         *int32  `query:"Weight"`
}

type stickinessConfig struct {
	Enabled         *bool  `query:"Enabled"`
	DurationSeconds *int32 `query:"DurationSeconds"`
}

type redirectConfig struct {
	Protocol   *string `query:"Protocol"`
	Port       *string `query:"Port"`
	Host       *string `query:"Host"`
	Path       *string `query:"Path"`
	Query      *string `query:"Query"`
	StatusCode *string `query:"StatusCode"`
}

type fixedResponseConfig struct {
	StatusCode  *string `query:"StatusCode"`
	ContentType *string `query:"ContentType"`
	MessageBody *string `query:"MessageBody"`
}

type ruleCondition struct {
	Field                   *string            `query:"Field"`
	Values                  []string           `query:"Values"`
	RegexValues             []string           `query:"RegexValues"`
	HostHeaderConfig        *valuesConfig      `query:"HostHeaderConfig"`
	PathPatternConfig       *valuesConfig      `query:"PathPatternConfig"`
	HTTPHeaderConfig        *httpHeaderConfig  `query:"HttpHeaderConfig"`
	HTTPRequestMethodConfig *valuesConfig      `query:"HttpRequestMethodConfig"`
	QueryStringConfig       *queryStringConfig `query:"QueryStringConfig"`
	SourceIPConfig          *sourceIPConfig    `query:"SourceIpConfig"`
}

type valuesConfig struct {
	Values      []string `query:"Values"`
	RegexValues []string `query:"RegexValues"`
}

type sourceIPConfig struct {
	Values        []string `query:"Values"`
	IPAddressType *string  `query:"IpAddressType"`
}

type httpHeaderConfig struct {
	HTTPHeaderName *string  `query:"HttpHeaderName"`
	Values         []string `query:"Values"`
	RegexValues    []string `query:"RegexValues"`
}

type queryStringConfig struct {
	Values []queryStringKV `query:"Values"`
}

type queryStringKV struct {
	Key   *string `query:"Key"`
	Value *string `query:"Value"`
}

type ruleTransform struct {
	Type *string `query:"Type"`
}

type certificate struct {
	CertificateARN *string `query:"CertificateArn"`
	IsDefault      *bool   `query:"IsDefault"`
}

type subnetMapping struct {
	SubnetID           *string `query:"SubnetId"`
	AllocationID       *string `query:"AllocationId"`
	PrivateIPv4Address *string `query:"PrivateIPv4Address"`
	IPv6Address        *string `query:"IPv6Address"`
}

type matcher struct {
	HTTPCode *string `query:"HttpCode"`
	GrpcCode *string `query:"GrpcCode"`
}

// Output-only shapes.

type loadBalancerOut struct {
	LoadBalancerARN       string             `query:"LoadBalancerArn"`
	DNSName               string             `query:"DNSName"`
	CanonicalHostedZoneID string             `query:"CanonicalHostedZoneId"`
	CreatedTime           time.Time          `query:"CreatedTime"`
	LoadBalancerName      string             `query:"LoadBalancerName"`
	Scheme                string             `query:"Scheme"`
	VPCID                 string             `query:"VpcId"`
	State                 lbStateOut         `query:"State"`
	Type                  string             `query:"Type"`
	AvailabilityZones     []availabilityZone `query:"AvailabilityZones"`
	SecurityGroups        []string           `query:"SecurityGroups"`
	IPAddressType         string             `query:"IpAddressType"`
}

type lbStateOut struct {
	Code   string `query:"Code"`
	Reason string `query:"Reason,omitempty"`
}

type availabilityZone struct {
	ZoneName              string      `query:"ZoneName"`
	SubnetID              string      `query:"SubnetId,omitempty"`
	LoadBalancerAddresses []lbAddress `query:"LoadBalancerAddresses"`
}

type lbAddress struct {
	AllocationID       string `query:"AllocationId,omitempty"`
	PrivateIPv4Address string `query:"PrivateIPv4Address,omitempty"`
	IPv6Address        string `query:"IPv6Address,omitempty"`
}

type targetGroupOut struct {
	TargetGroupARN             string   `query:"TargetGroupArn"`
	TargetGroupName            string   `query:"TargetGroupName"`
	Protocol                   string   `query:"Protocol,omitempty"`
	Port                       *int32   `query:"Port"`
	VPCID                      string   `query:"VpcId,omitempty"`
	HealthCheckProtocol        string   `query:"HealthCheckProtocol,omitempty"`
	HealthCheckPort            string   `query:"HealthCheckPort,omitempty"`
	HealthCheckEnabled         bool     `query:"HealthCheckEnabled"`
	HealthCheckIntervalSeconds int32    `query:"HealthCheckIntervalSeconds"`
	HealthCheckTimeoutSeconds  int32    `query:"HealthCheckTimeoutSeconds"`
	HealthyThresholdCount      int32    `query:"HealthyThresholdCount"`
	UnhealthyThresholdCount    int32    `query:"UnhealthyThresholdCount"`
	HealthCheckPath            string   `query:"HealthCheckPath,omitempty"`
	Matcher                    *matcher `query:"Matcher"`
	LoadBalancerARNs           []string `query:"LoadBalancerArns"`
	TargetType                 string   `query:"TargetType"`
	ProtocolVersion            string   `query:"ProtocolVersion,omitempty"`
	IPAddressType              string   `query:"IpAddressType"`
}

type listenerOut struct {
	ListenerARN     string        `query:"ListenerArn"`
	LoadBalancerARN string        `query:"LoadBalancerArn"`
	Port            int32         `query:"Port"`
	Protocol        string        `query:"Protocol"`
	Certificates    []certificate `query:"Certificates"`
	SSLPolicy       string        `query:"SslPolicy,omitempty"`
	DefaultActions  []action      `query:"DefaultActions"`
	ALPNPolicy      []string      `query:"AlpnPolicy"`
}

type ruleOut struct {
	RuleARN    string          `query:"RuleArn"`
	Priority   string          `query:"Priority"`
	Conditions []ruleCondition `query:"Conditions"`
	Actions    []action        `query:"Actions"`
	IsDefault  bool            `query:"IsDefault"`
}

type targetHealthDescription struct {
	Target          targetDescription `query:"Target"`
	HealthCheckPort string            `query:"HealthCheckPort,omitempty"`
	TargetHealth    targetHealthOut   `query:"TargetHealth"`
}

type targetHealthOut struct {
	State       string `query:"State"`
	Reason      string `query:"Reason,omitempty"`
	Description string `query:"Description,omitempty"`
}

type tagDescription struct {
	ResourceARN string `query:"ResourceArn"`
	Tags        []tag  `query:"Tags"`
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// tagsOut renders stored tags in key order; an empty set is an empty list.
func tagsOut(m map[string]string) []tag {
	out := []tag{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, tag{Key: ptr(k), Value: ptr(m[k])})
	}
	return out
}

// attributesOut renders attributes in key order.
func attributesOut(m map[string]string) []attribute {
	out := []attribute{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, attribute{Key: ptr(k), Value: ptr(m[k])})
	}
	return out
}

// actionsOut renders stored actions as AWS describes them: a forward
// action carries both its ForwardConfig and, when it has one target group,
// TargetGroupArn; a redirect carries every component, defaults included.
func actionsOut(acts []actionDoc) []action {
	out := []action{}
	for _, d := range acts {
		a := action{Type: ptr(d.Type), Order: ptr(d.Order)}
		switch d.Type {
		case "forward":
			fc := &forwardConfig{TargetGroups: []targetGroupTuple{}}
			for _, w := range d.TargetGroups {
				fc.TargetGroups = append(fc.TargetGroups, targetGroupTuple{TargetGroupARN: ptr(w.ARN), Weight: ptr(w.Weight)})
			}
			st := &stickinessConfig{Enabled: ptr(false)}
			if d.Stickiness != nil {
				st.Enabled = ptr(d.Stickiness.Enabled)
				if d.Stickiness.Duration != 0 {
					st.DurationSeconds = ptr(d.Stickiness.Duration)
				}
			}
			fc.TargetGroupStickinessConfig = st
			a.ForwardConfig = fc
			if len(d.TargetGroups) == 1 {
				a.TargetGroupARN = ptr(d.TargetGroups[0].ARN)
			}
		case "redirect":
			r := d.Redirect
			a.RedirectConfig = &redirectConfig{Protocol: ptr(r.Protocol), Port: ptr(r.Port), Host: ptr(r.Host),
				Path: ptr(r.Path), Query: ptr(r.Query), StatusCode: ptr(r.StatusCode)}
		case "fixed-response":
			f := d.Fixed
			fr := &fixedResponseConfig{StatusCode: ptr(f.StatusCode)}
			if f.ContentType != "" {
				fr.ContentType = ptr(f.ContentType)
			}
			if f.MessageBody != "" {
				fr.MessageBody = ptr(f.MessageBody)
			}
			a.FixedResponseConfig = fr
		}
		out = append(out, a)
	}
	return out
}

// conditionsOut renders stored conditions with their typed configuration;
// host-header and path-pattern also carry the legacy Values, as AWS
// returns them.
func conditionsOut(conds []conditionDoc) []ruleCondition {
	out := []ruleCondition{}
	for _, c := range conds {
		rc := ruleCondition{Field: ptr(c.Field)}
		vals := slices.Clone(c.Values)
		switch c.Field {
		case "host-header":
			rc.Values = vals
			rc.HostHeaderConfig = &valuesConfig{Values: slices.Clone(vals)}
		case "path-pattern":
			rc.Values = vals
			rc.PathPatternConfig = &valuesConfig{Values: slices.Clone(vals)}
		case "http-header":
			rc.HTTPHeaderConfig = &httpHeaderConfig{HTTPHeaderName: ptr(c.HeaderName), Values: vals}
		case "http-request-method":
			rc.HTTPRequestMethodConfig = &valuesConfig{Values: vals}
		case "source-ip":
			rc.SourceIPConfig = &sourceIPConfig{Values: vals}
		case "query-string":
			qs := &queryStringConfig{Values: []queryStringKV{}}
			for _, kv := range c.QueryStrings {
				q := queryStringKV{Value: ptr(kv.Value)}
				if kv.Key != "" {
					q.Key = ptr(kv.Key)
				}
				qs.Values = append(qs.Values, q)
			}
			rc.QueryStringConfig = qs
		}
		out = append(out, rc)
	}
	return out
}

func (l *listenerDoc) out() listenerOut {
	o := listenerOut{
		ListenerARN:     l.arn(),
		LoadBalancerARN: l.lbARN(),
		Port:            l.Port,
		Protocol:        l.Protocol,
		SSLPolicy:       l.SSLPolicy,
		DefaultActions:  actionsOut(l.DefaultActions),
	}
	for _, c := range l.Certificates {
		o.Certificates = append(o.Certificates, certificate{CertificateARN: ptr(c)})
	}
	if len(l.ALPNPolicy) > 0 {
		o.ALPNPolicy = slices.Clone(l.ALPNPolicy)
	}
	return o
}

// rulesOut renders a listener's rules in priority order, the default rule
// last.
func (l *listenerDoc) rulesOut() []ruleOut {
	var out []ruleOut
	for _, r := range l.Rules {
		out = append(out, l.ruleOut(r))
	}
	return append(out, l.defaultRuleOut())
}

func (l *listenerDoc) ruleOut(r ruleDoc) ruleOut {
	return ruleOut{
		RuleARN:    l.ruleARN(r.ID),
		Priority:   strconv.Itoa(int(r.Priority)),
		Conditions: conditionsOut(r.Conditions),
		Actions:    actionsOut(r.Actions),
	}
}

func (l *listenerDoc) defaultRuleOut() ruleOut {
	return ruleOut{
		RuleARN:    l.ruleARN(l.DefaultRuleID),
		Priority:   "default",
		Conditions: []ruleCondition{},
		Actions:    actionsOut(l.DefaultActions),
		IsDefault:  true,
	}
}
