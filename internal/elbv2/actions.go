package elbv2

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
)

// Limits of rule actions and conditions.
const (
	maxForwardTargetGroups = 5
	maxConditionValues     = 5 // per rule
	maxWildcards           = 5 // per rule
	maxPriority            = 50000
)

var actionTypes = []string{"forward", "authenticate-oidc", "authenticate-cognito", "redirect", "fixed-response", "jwt-validation"}

// actionCtx is what checking actions needs to know about where they go.
type actionCtx struct {
	v      *view
	lb     *lbDoc // the listener's load balancer
	member string // "defaultActions" or "actions", for messages
}

var fixedStatus = regexp.MustCompile(`^(2|4|5)\d\d$`)

var contentTypes = []string{"text/plain", "text/css", "text/html", "application/javascript", "application/json"}

// actionsIn checks the actions of a listener or rule and returns them as
// stored, with the target groups they forward to.
func actionsIn(ac actionCtx, acts []action) ([]actionDoc, []*tgDoc, *awsapi.Error) {
	if acts == nil {
		return nil, nil, required(ac.member)
	}
	if len(acts) == 0 {
		return nil, nil, validationError("1 validation error detected: Value '[]' at '%s' failed to satisfy constraint: Member must have length greater than or equal to 1", ac.member)
	}
	var out []actionDoc
	var tgs []*tgDoc
	terminal := 0
	orders := map[int32]bool{}
	for i, in := range acts {
		m := fmt.Sprintf("%s.%d.member", ac.member, i+1)
		if in.Type == nil {
			return nil, nil, required(m + ".type")
		}
		typ := *in.Type
		if !slices.Contains(actionTypes, typ) {
			return nil, nil, validationError("1 validation error detected: Value '%s' at '%s.type' failed to satisfy constraint: Member must satisfy enum value set: [%s]", clip(typ, 64), m, strings.Join(actionTypes, ", "))
		}
		d := actionDoc{Type: typ, Order: int32(i + 1)}
		if in.Order != nil {
			if err := outOfRange(*in.Order, m+".order", 1, maxPriority); err != nil {
				return nil, nil, err
			}
			d.Order = *in.Order
		} else if len(acts) > 1 {
			return nil, nil, apiError("InvalidLoadBalancerAction", "An action order must be specified for every action when a rule has more than one action")
		}
		if orders[d.Order] {
			return nil, nil, apiError("InvalidLoadBalancerAction", "Action order '%d' is specified more than once", d.Order)
		}
		orders[d.Order] = true
		for _, cfg := range []struct {
			set  bool
			name string
			typ  string
		}{
			{in.ForwardConfig != nil, "ForwardConfig", "forward"},
			{in.TargetGroupARN != nil, "TargetGroupArn", "forward"},
			{in.RedirectConfig != nil, "RedirectConfig", "redirect"},
			{in.FixedResponseConfig != nil, "FixedResponseConfig", "fixed-response"},
		} {
			if cfg.set && cfg.typ != typ {
				return nil, nil, validationError("%s can be specified only for actions of type '%s'", cfg.name, cfg.typ)
			}
		}
		switch typ {
		case "authenticate-oidc", "authenticate-cognito", "jwt-validation":
			return nil, nil, apiError("InvalidLoadBalancerAction", "Berth's load balancers do not support '%s' actions: they need an HTTPS listener, which Berth cannot create until it has certificates", typ)
		case "forward":
			groups, err := ac.forward(in, m, &d)
			if err != nil {
				return nil, nil, err
			}
			tgs = append(tgs, groups...)
		case "redirect":
			if ac.lb.Type != typeApplication {
				return nil, nil, apiError("InvalidLoadBalancerAction", "Redirect actions are supported only by application load balancers")
			}
			r, err := redirectIn(in.RedirectConfig, m)
			if err != nil {
				return nil, nil, err
			}
			d.Redirect = r
		case "fixed-response":
			if ac.lb.Type != typeApplication {
				return nil, nil, apiError("InvalidLoadBalancerAction", "Fixed-response actions are supported only by application load balancers")
			}
			f, err := fixedIn(in.FixedResponseConfig, m)
			if err != nil {
				return nil, nil, err
			}
			d.Fixed = f
		}
		terminal++
		out = append(out, d)
	}
	if terminal != 1 {
		return nil, nil, apiError("InvalidLoadBalancerAction", "A rule must have exactly one forward, redirect or fixed-response action")
	}
	slices.SortFunc(out, func(x, y actionDoc) int { return int(x.Order) - int(y.Order) })
	return out, tgs, nil
}

// forward checks a forward action and fills d; it returns the target
// groups it forwards to.
func (ac actionCtx) forward(in action, m string, d *actionDoc) ([]*tgDoc, *awsapi.Error) {
	var arns []weightedDoc
	switch {
	case in.ForwardConfig != nil:
		fc := in.ForwardConfig
		if len(fc.TargetGroups) == 0 {
			return nil, required(m + ".forwardConfig.targetGroups")
		}
		if len(fc.TargetGroups) > maxForwardTargetGroups {
			return nil, validationError("A forward action can have at most %d target groups", maxForwardTargetGroups)
		}
		for j, t := range fc.TargetGroups {
			if t.TargetGroupARN == nil {
				return nil, required(fmt.Sprintf("%s.forwardConfig.targetGroups.%d.member.targetGroupArn", m, j+1))
			}
			w := int32(1)
			if t.Weight != nil {
				if err := outOfRange(*t.Weight, fmt.Sprintf("%s.forwardConfig.targetGroups.%d.member.weight", m, j+1), 0, 999); err != nil {
					return nil, err
				}
				w = *t.Weight
			}
			if slices.ContainsFunc(arns, func(x weightedDoc) bool { return x.ARN == *t.TargetGroupARN }) {
				return nil, validationError("Target group '%s' is specified more than once in the forward action", *t.TargetGroupARN)
			}
			arns = append(arns, weightedDoc{ARN: *t.TargetGroupARN, Weight: w})
		}
		if in.TargetGroupARN != nil && (len(arns) != 1 || arns[0].ARN != *in.TargetGroupARN) {
			return nil, validationError("You cannot specify both a target group ARN and a forward config with other target groups")
		}
		if s := fc.TargetGroupStickinessConfig; s != nil {
			st := &stickinessDoc{Enabled: deref(s.Enabled)}
			if s.DurationSeconds != nil {
				if err := outOfRange(*s.DurationSeconds, m+".forwardConfig.targetGroupStickinessConfig.durationSeconds", 1, 604800); err != nil {
					return nil, err
				}
				st.Duration = *s.DurationSeconds
			}
			if st.Enabled && st.Duration == 0 {
				return nil, validationError("A duration must be specified when target group stickiness is enabled")
			}
			d.Stickiness = st
		}
	case in.TargetGroupARN != nil:
		arns = []weightedDoc{{ARN: *in.TargetGroupARN, Weight: 1}}
		d.SingleARN = true
	default:
		return nil, validationError("A target group ARN must be specified for forward actions")
	}
	if ac.lb.Type == typeNetwork && len(arns) > 1 {
		return nil, apiError("InvalidLoadBalancerAction", "Forward actions of network load balancers can have only one target group")
	}
	var tgs []*tgDoc
	for _, w := range arns {
		if r, ok := parseARN(w.ARN); !ok || r.Kind != kindTG {
			return nil, validationError("'%s' is not a valid target group ARN", clip(w.ARN, 256))
		}
		t := ac.v.tgByARN(w.ARN)
		if t == nil {
			return nil, apiError("TargetGroupNotFound", "Target groups '%s' not found", w.ARN)
		}
		switch {
		case ac.lb.Type == typeApplication && !httpCheck(t.Protocol):
			return nil, apiError("IncompatibleProtocols", "Target group '%s' uses the %s protocol, which application load balancers cannot forward to; use an HTTP or HTTPS target group", w.ARN, t.Protocol)
		case ac.lb.Type == typeNetwork && t.Protocol != "TCP":
			return nil, apiError("IncompatibleProtocols", "Target group '%s' uses the %s protocol, which a TCP listener cannot forward to; use a TCP target group", w.ARN, t.Protocol)
		}
		for _, other := range ac.v.tgLoadBalancers(w.ARN) {
			if other != ac.lb.arn() {
				return nil, apiError("TargetGroupAssociationLimit", "The following target groups cannot be associated with more than one load balancer: %s", w.ARN)
			}
		}
		tgs = append(tgs, t)
	}
	d.TargetGroups = arns
	return tgs, nil
}

func redirectIn(rc *redirectConfig, m string) (*redirectDoc, *awsapi.Error) {
	if rc == nil {
		return nil, validationError("A redirect configuration must be specified for redirect actions")
	}
	r := &redirectDoc{Protocol: "#{protocol}", Port: "#{port}", Host: "#{host}", Path: "/#{path}", Query: "#{query}"}
	if rc.StatusCode == nil {
		return nil, required(m + ".redirectConfig.statusCode")
	}
	r.StatusCode = *rc.StatusCode
	if r.StatusCode != "HTTP_301" && r.StatusCode != "HTTP_302" {
		return nil, validationError("1 validation error detected: Value '%s' at '%s.redirectConfig.statusCode' failed to satisfy constraint: Member must satisfy enum value set: [HTTP_301, HTTP_302]", clip(r.StatusCode, 64), m)
	}
	if rc.Protocol != nil {
		switch p := *rc.Protocol; p {
		case "HTTP", "HTTPS", "#{protocol}":
			r.Protocol = p
		default:
			return nil, apiError("InvalidLoadBalancerAction", "The redirect protocol '%s' is not valid: it must be HTTP, HTTPS or #{protocol}", clip(p, 64))
		}
	}
	if rc.Port != nil {
		p := *rc.Port
		if p != "#{port}" {
			var n int
			if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n < 1 || n > 65535 || fmt.Sprint(n) != p {
				return nil, apiError("InvalidLoadBalancerAction", "The redirect port '%s' is not valid: it must be a port from 1 to 65535 or #{port}", clip(p, 64))
			}
		}
		r.Port = p
	}
	for _, f := range []struct {
		in   *string
		dst  *string
		name string
	}{{rc.Host, &r.Host, "host"}, {rc.Path, &r.Path, "path"}, {rc.Query, &r.Query, "query"}} {
		if f.in == nil {
			continue
		}
		if len(*f.in) > 128 {
			return nil, validationError("1 validation error detected: Value at '%s.redirectConfig.%s' failed to satisfy constraint: Member must have length less than or equal to 128", m, f.name)
		}
		*f.dst = *f.in
	}
	if r.Host == "" {
		return nil, apiError("InvalidLoadBalancerAction", "The redirect host cannot be empty")
	}
	if !strings.HasPrefix(r.Path, "/") {
		return nil, apiError("InvalidLoadBalancerAction", "The redirect path must begin with '/'")
	}
	if strings.HasPrefix(r.Query, "?") {
		return nil, apiError("InvalidLoadBalancerAction", "The redirect query must not begin with '?'")
	}
	if r.Protocol == "#{protocol}" && r.Port == "#{port}" && r.Host == "#{host}" && r.Path == "/#{path}" && r.Query == "#{query}" {
		return nil, apiError("InvalidLoadBalancerAction", "The redirect configuration is not valid because it creates a loop.")
	}
	return r, nil
}

func fixedIn(fc *fixedResponseConfig, m string) (*fixedDoc, *awsapi.Error) {
	if fc == nil {
		return nil, validationError("A fixed-response configuration must be specified for fixed-response actions")
	}
	if fc.StatusCode == nil {
		return nil, required(m + ".fixedResponseConfig.statusCode")
	}
	f := &fixedDoc{StatusCode: *fc.StatusCode, ContentType: deref(fc.ContentType), MessageBody: deref(fc.MessageBody)}
	if !fixedStatus.MatchString(f.StatusCode) {
		return nil, validationError("1 validation error detected: Value '%s' at '%s.fixedResponseConfig.statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(2|4|5)\\d\\d$", clip(f.StatusCode, 64), m)
	}
	if f.ContentType != "" && !slices.Contains(contentTypes, f.ContentType) {
		return nil, apiError("InvalidLoadBalancerAction", "The ContentType must be one of:'text/html', 'application/json', 'application/javascript', 'text/css', 'text/plain'")
	}
	if len(f.MessageBody) > 1024 {
		return nil, validationError("1 validation error detected: Value at '%s.fixedResponseConfig.messageBody' failed to satisfy constraint: Member must have length less than or equal to 1024", m)
	}
	return f, nil
}

var conditionFields = []string{"http-header", "http-request-method", "host-header", "path-pattern", "query-string", "source-ip"}

// singleConditions are the fields a rule may have at most one condition
// of.
var singleConditions = []string{"host-header", "http-request-method", "path-pattern", "source-ip"}

var (
	hostValue = regexp.MustCompile(`^[A-Za-z0-9\-.*?]+$`)
	// hostTLD is AWS's documented rule for host names: at least one '.',
	// and letters only after the last (wildcards stand for letters).
	hostTLD     = regexp.MustCompile(`\.[A-Za-z*?]+$`)
	methodValue = regexp.MustCompile(`^[A-Z_\-]+$`)
	headerName  = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$")
)

// conditionsIn checks the conditions of a rule and returns them as stored.
func conditionsIn(conds []ruleCondition) ([]conditionDoc, *awsapi.Error) {
	if len(conds) == 0 {
		// Only the default rule matches every request.
		return nil, validationError("A rule must have at least one condition")
	}
	var out []conditionDoc
	values, wildcards := 0, 0
	count := func(vals ...string) {
		for _, v := range vals {
			wildcards += strings.Count(v, "*") + strings.Count(v, "?")
		}
	}
	for i, c := range conds {
		m := fmt.Sprintf("conditions.%d.member", i+1)
		d, err := conditionIn(c, m)
		if err != nil {
			return nil, err
		}
		if slices.Contains(singleConditions, d.Field) && slices.ContainsFunc(out, func(x conditionDoc) bool { return x.Field == d.Field }) {
			return nil, validationError("A rule can only have one '%s' condition", d.Field)
		}
		switch d.Field {
		case "query-string":
			values += len(d.QueryStrings)
			for _, kv := range d.QueryStrings {
				count(kv.Key, kv.Value)
			}
		case "host-header", "path-pattern", "http-header":
			values += len(d.Values)
			count(d.Values...)
		default:
			values += len(d.Values)
		}
		out = append(out, d)
	}
	if values > maxConditionValues {
		return nil, validationError("A rule can only have '%d' condition values", maxConditionValues)
	}
	if wildcards > maxWildcards {
		return nil, validationError("A rule can only have '%d' wildcards", maxWildcards)
	}
	return out, nil
}

func conditionIn(c ruleCondition, m string) (conditionDoc, *awsapi.Error) {
	if c.Field == nil {
		return conditionDoc{}, required(m + ".field")
	}
	field := *c.Field
	if !slices.Contains(conditionFields, field) {
		return conditionDoc{}, validationError("Condition field '%s' must be one of '[%s]'", clip(field, 64), strings.Join(conditionFields, ", "))
	}
	configs := map[string]bool{
		"host-header":         c.HostHeaderConfig != nil,
		"path-pattern":        c.PathPatternConfig != nil,
		"http-header":         c.HTTPHeaderConfig != nil,
		"http-request-method": c.HTTPRequestMethodConfig != nil,
		"query-string":        c.QueryStringConfig != nil,
		"source-ip":           c.SourceIPConfig != nil,
	}
	for f, set := range configs {
		if set && f != field {
			return conditionDoc{}, validationError("A condition with field '%s' cannot have the configuration of a '%s' condition", field, f)
		}
	}
	regex := len(c.RegexValues) > 0 ||
		c.HostHeaderConfig != nil && len(c.HostHeaderConfig.RegexValues) > 0 ||
		c.PathPatternConfig != nil && len(c.PathPatternConfig.RegexValues) > 0 ||
		c.HTTPHeaderConfig != nil && len(c.HTTPHeaderConfig.RegexValues) > 0
	if regex {
		return conditionDoc{}, apiError("InvalidConfigurationRequest", "Berth's load balancers do not support regular expression conditions yet; use Values")
	}
	if len(c.Values) > 0 && configs[field] {
		return conditionDoc{}, validationError("A condition can have Values or a configuration, not both")
	}
	d := conditionDoc{Field: field}
	noValue := validationError("A condition value must be specified")
	switch field {
	case "host-header", "path-pattern":
		if len(c.Values) > 0 {
			if len(c.Values) > 1 {
				return conditionDoc{}, validationError("The '%s' field contains too many values; the limit is '1'", field)
			}
			d.Values = c.Values
		} else if cfg := c.HostHeaderConfig; cfg != nil {
			d.Values = cfg.Values
		} else if cfg := c.PathPatternConfig; cfg != nil {
			d.Values = cfg.Values
		}
		for _, v := range d.Values {
			if v == "" || len(v) > 128 {
				return conditionDoc{}, validationError("A '%s' condition value must be 1 to 128 characters", field)
			}
			if field == "host-header" && !hostValue.MatchString(v) {
				return conditionDoc{}, validationError("The host-header condition value '%s' is not valid: it can contain only A-Z, a-z, 0-9, '-', '.', '*' and '?'", clip(v, 64))
			}
			if field == "host-header" && !hostTLD.MatchString(v) {
				return conditionDoc{}, validationError("The host-header condition value '%s' is not valid: it must include at least one '.' and only alphabetical characters after the final '.'", clip(v, 64))
			}
			if field == "path-pattern" && strings.IndexFunc(v, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
				return conditionDoc{}, validationError("The path-pattern condition value '%s' is not valid: it can contain only visible ASCII characters", clip(v, 64))
			}
		}
	case "http-header":
		cfg := c.HTTPHeaderConfig
		if len(c.Values) > 0 || cfg == nil {
			return conditionDoc{}, validationError("An http-header condition must be specified with HttpHeaderConfig")
		}
		if cfg.HTTPHeaderName == nil {
			return conditionDoc{}, required(m + ".httpHeaderConfig.httpHeaderName")
		}
		name := *cfg.HTTPHeaderName
		if len(name) > 40 || !headerName.MatchString(name) {
			return conditionDoc{}, validationError("The HTTP header name '%s' is not valid", clip(name, 64))
		}
		if strings.EqualFold(name, "host") {
			return conditionDoc{}, validationError("An http-header condition cannot match the Host header; use a host-header condition")
		}
		d.HeaderName, d.Values = name, cfg.Values
		for _, v := range d.Values {
			if v == "" || len(v) > 128 {
				return conditionDoc{}, validationError("An http-header condition value must be 1 to 128 characters")
			}
		}
	case "http-request-method":
		if len(c.Values) > 0 || c.HTTPRequestMethodConfig == nil {
			return conditionDoc{}, validationError("An http-request-method condition must be specified with HttpRequestMethodConfig")
		}
		d.Values = c.HTTPRequestMethodConfig.Values
		for _, v := range d.Values {
			if len(v) > 40 || !methodValue.MatchString(v) {
				return conditionDoc{}, validationError("The HTTP request method '%s' is not valid: it can contain only A-Z, '-' and '_', up to 40 characters", clip(v, 64))
			}
		}
	case "source-ip":
		if len(c.Values) > 0 || c.SourceIPConfig == nil {
			return conditionDoc{}, validationError("A source-ip condition must be specified with SourceIpConfig")
		}
		d.Values = c.SourceIPConfig.Values
		for _, v := range d.Values {
			if _, err := netip.ParsePrefix(v); err != nil {
				return conditionDoc{}, validationError("The source IP '%s' is not a valid CIDR block", clip(v, 64))
			}
		}
	case "query-string":
		if len(c.Values) > 0 || c.QueryStringConfig == nil {
			return conditionDoc{}, validationError("A query-string condition must be specified with QueryStringConfig")
		}
		for j, kv := range c.QueryStringConfig.Values {
			if kv.Value == nil || *kv.Value == "" {
				return conditionDoc{}, required(fmt.Sprintf("%s.queryStringConfig.values.%d.member.value", m, j+1))
			}
			if len(*kv.Value) > 128 || len(deref(kv.Key)) > 128 {
				return conditionDoc{}, validationError("A query-string condition key or value can be at most 128 characters")
			}
			d.QueryStrings = append(d.QueryStrings, kvDoc{Key: deref(kv.Key), Value: *kv.Value})
		}
		if len(d.QueryStrings) == 0 {
			return conditionDoc{}, noValue
		}
		return d, nil
	}
	if len(d.Values) == 0 {
		return conditionDoc{}, noValue
	}
	return d, nil
}
