package elbv2_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func hostIs(values ...string) []types.RuleCondition {
	return []types.RuleCondition{{Field: aws.String("host-header"), HostHeaderConfig: &types.HostHeaderConditionConfig{Values: values}}}
}

func pathIs(values ...string) []types.RuleCondition {
	return []types.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{Values: values}}}
}

// priorities returns "priority:default?" of DescribeRules(listener).
func (e *env) priorities(t *testing.T, listener *string) string {
	t.Helper()
	out, err := e.elb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: listener})
	if err != nil {
		t.Fatalf("DescribeRules = %v", err)
	}
	var s []string
	for _, r := range out.Rules {
		s = append(s, aws.ToString(r.Priority))
	}
	return strings.Join(s, ",")
}

func TestRules(t *testing.T) {
	e := start(t)
	l := e.createLB(t, "web", "")
	lis := e.createListener(t, *l.LoadBalancerArn, types.ProtocolEnumHttp, freePort(t), fixed("404", "none"))

	// The default rule is there from the start.
	out, err := e.elb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: lis.ListenerArn})
	if err != nil || len(out.Rules) != 1 {
		t.Fatalf("DescribeRules(new listener) = %+v, %v; want the default rule", out, err)
	}
	def := out.Rules[0]
	if !aws.ToBool(def.IsDefault) || aws.ToString(def.Priority) != "default" || len(def.Conditions) != 0 ||
		!strings.HasPrefix(aws.ToString(def.RuleArn), strings.Replace(*lis.ListenerArn, ":listener/", ":listener-rule/", 1)+"/") {
		t.Errorf("default rule = %+v; want IsDefault, priority default, no conditions, an ARN under the listener", def)
	}

	created, err := e.elb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: lis.ListenerArn, Priority: aws.Int32(10),
		Conditions: pathIs("/api/*"), Actions: fixed("200", "api"),
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if err != nil {
		t.Fatalf("CreateRule(10) = %v", err)
	}
	r10 := created.Rules[0]
	if aws.ToString(r10.Priority) != "10" || aws.ToBool(r10.IsDefault) || len(r10.Conditions) != 1 ||
		r10.Conditions[0].PathPatternConfig.Values[0] != "/api/*" || r10.Conditions[0].Values[0] != "/api/*" {
		t.Errorf("CreateRule(10) = %+v; want priority 10, path-pattern /api/*", r10)
	}
	if _, err := e.elb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: lis.ListenerArn, Priority: aws.Int32(5),
		Conditions: []types.RuleCondition{{Field: aws.String("host-header"), Values: []string{"*.example.com"}}},
		Actions:    fixed("200", "host")}); err != nil {
		t.Fatalf("CreateRule(5, legacy Values) = %v", err)
	}
	if got := e.priorities(t, lis.ListenerArn); got != "5,10,default" {
		t.Errorf("priorities = %s; want 5,10,default", got)
	}
	_, err = e.elb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: lis.ListenerArn, Priority: aws.Int32(10),
		Conditions: pathIs("/x"), Actions: fixed("200", "x")})
	wantError(t, "CreateRule(priority 10 again)", err, "PriorityInUse", "Priority '10' is currently in use")

	// Swap priorities in one call.
	sw, err := e.elb.SetRulePriorities(ctx, &elb.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{
		{RuleArn: r10.RuleArn, Priority: aws.Int32(5)},
		{RuleArn: aws.String(e.ruleAt(t, lis.ListenerArn, "5")), Priority: aws.Int32(10)},
	}})
	if err != nil || len(sw.Rules) != 2 {
		t.Fatalf("SetRulePriorities(swap) = %+v, %v", sw, err)
	}
	if got := e.ruleAt(t, lis.ListenerArn, "5"); got != *r10.RuleArn {
		t.Errorf("rule at 5 after the swap = %s; want %s", got, *r10.RuleArn)
	}
	_, err = e.elb.SetRulePriorities(ctx, &elb.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{{RuleArn: r10.RuleArn, Priority: aws.Int32(10)}}})
	wantError(t, "SetRulePriorities(onto a used priority)", err, "PriorityInUse", "")
	_, err = e.elb.SetRulePriorities(ctx, &elb.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{{RuleArn: def.RuleArn, Priority: aws.Int32(1)}}})
	wantError(t, "SetRulePriorities(default rule)", err, "OperationNotPermitted", "")
	if got := e.priorities(t, lis.ListenerArn); got != "5,10,default" {
		t.Errorf("priorities after refused changes = %s; want 5,10,default", got)
	}

	// Modify: new conditions, same actions.
	mod, err := e.elb.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: r10.RuleArn, Conditions: pathIs("/v2/*")})
	if err != nil || mod.Rules[0].Conditions[0].PathPatternConfig.Values[0] != "/v2/*" || mod.Rules[0].Actions[0].Type != types.ActionTypeEnumFixedResponse {
		t.Errorf("ModifyRule(conditions) = %+v, %v; want path /v2/* and the old action", mod, err)
	}
	// The default rule's actions can change, not its conditions.
	if _, err := e.elb.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: def.RuleArn, Actions: fixed("503", "down")}); err != nil {
		t.Errorf("ModifyRule(default, actions) = %v", err)
	}
	ls, _ := e.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{*lis.ListenerArn}})
	if got := aws.ToString(ls.Listeners[0].DefaultActions[0].FixedResponseConfig.StatusCode); got != "503" {
		t.Errorf("listener default action after ModifyRule(default) = %s; want 503", got)
	}
	_, err = e.elb.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: def.RuleArn, Conditions: pathIs("/")})
	wantError(t, "ModifyRule(default, conditions)", err, "OperationNotPermitted", "")

	// Describe by ARN; delete; the default rule stays.
	byARN, err := e.elb.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{*def.RuleArn, *r10.RuleArn}})
	if err != nil || len(byARN.Rules) != 2 || aws.ToString(byARN.Rules[1].Priority) != "default" {
		t.Errorf("DescribeRules(RuleArns) = %+v, %v; want the rule, then the default", byARN, err)
	}
	_, err = e.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: def.RuleArn})
	wantError(t, "DeleteRule(default)", err, "OperationNotPermitted", "Default rule '"+*def.RuleArn+"' cannot be deleted")
	if _, err := e.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: r10.RuleArn}); err != nil {
		t.Fatalf("DeleteRule = %v", err)
	}
	_, err = e.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: r10.RuleArn})
	wantError(t, "DeleteRule(deleted)", err, "RuleNotFound", "One or more rules not found")
	_, err = e.elb.DescribeRules(ctx, &elb.DescribeRulesInput{})
	wantError(t, "DescribeRules()", err, "ValidationError", "You must specify either listener rule ARNs or a listener ARN")
	if got := e.priorities(t, lis.ListenerArn); got != "10,default" {
		t.Errorf("priorities after DeleteRule = %s; want 10,default", got)
	}
}

// ruleAt returns the ARN of the rule with priority p.
func (e *env) ruleAt(t *testing.T, listener *string, p string) string {
	t.Helper()
	out, err := e.elb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: listener})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out.Rules {
		if aws.ToString(r.Priority) == p {
			return aws.ToString(r.RuleArn)
		}
	}
	t.Fatalf("no rule at priority %s", p)
	return ""
}

func TestCreateRuleInvalid(t *testing.T) {
	e := start(t)
	l := e.createLB(t, "web", "")
	lis := e.createListener(t, *l.LoadBalancerArn, types.ProtocolEnumHttp, freePort(t), fixed("404", "none"))
	nlb := e.createLB(t, "tcp", types.LoadBalancerTypeEnumNetwork)
	tcp := e.createTG(t, "t", types.ProtocolEnumTcp, "")
	nlis := e.createListener(t, *nlb.LoadBalancerArn, types.ProtocolEnumTcp, freePort(t), forward(*tcp.TargetGroupArn))
	tg1 := e.createTG(t, "a", types.ProtocolEnumHttp, "")

	ok := fixed("200", "x")
	tests := []struct {
		name       string
		listener   *string
		priority   int32
		conditions []types.RuleCondition
		actions    []types.Action
		code, msg  string
	}{
		{"priority 0", lis.ListenerArn, 0, pathIs("/"), ok, "ValidationError",
			"1 validation error detected: Value '0' at 'priority' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"priority 50001", lis.ListenerArn, 50001, pathIs("/"), ok, "ValidationError",
			"1 validation error detected: Value '50001' at 'priority' failed to satisfy constraint: Member must have value less than or equal to 50000"},
		{"no conditions", lis.ListenerArn, 1, []types.RuleCondition{}, ok, "ValidationError", "A rule must have at least one condition"},
		{"host without a dot", lis.ListenerArn, 1, hostIs("example"), ok, "ValidationError", ""},
		{"host ending in a dot", lis.ListenerArn, 1, hostIs("example."), ok, "ValidationError", ""},
		{"host with a digit after the last dot", lis.ListenerArn, 1, hostIs("example.c0m"), ok, "ValidationError", ""},
		{"one of the hosts invalid", lis.ListenerArn, 1, hostIs("*.example.com", "localhost"), ok, "ValidationError", ""},
		{"six values", lis.ListenerArn, 1, pathIs("/1", "/2", "/3", "/4", "/5", "/6"), ok, "ValidationError", "A rule can only have '5' condition values"},
		{"six values over conditions", lis.ListenerArn, 1, append(pathIs("/1", "/2", "/3"),
			types.RuleCondition{Field: aws.String("http-request-method"), HttpRequestMethodConfig: &types.HttpRequestMethodConditionConfig{Values: []string{"GET", "PUT", "POST"}}}),
			ok, "ValidationError", "A rule can only have '5' condition values"},
		{"six wildcards", lis.ListenerArn, 1, pathIs("/*/*/*", "/*/*/*"), ok, "ValidationError", "A rule can only have '5' wildcards"},
		{"two path conditions", lis.ListenerArn, 1, append(pathIs("/a"), pathIs("/b")...), ok, "ValidationError", "A rule can only have one 'path-pattern' condition"},
		{"unknown field", lis.ListenerArn, 1, []types.RuleCondition{{Field: aws.String("cookie"), Values: []string{"x"}}}, ok, "ValidationError", ""},
		{"no value", lis.ListenerArn, 1, pathIs(), ok, "ValidationError", "A condition value must be specified"},
		{"bad cidr", lis.ListenerArn, 1, []types.RuleCondition{{Field: aws.String("source-ip"), SourceIpConfig: &types.SourceIpConditionConfig{Values: []string{"10.0.0.0/33"}}}}, ok, "ValidationError", ""},
		{"host header via http-header", lis.ListenerArn, 1, []types.RuleCondition{{Field: aws.String("http-header"),
			HttpHeaderConfig: &types.HttpHeaderConditionConfig{HttpHeaderName: aws.String("Host"), Values: []string{"x"}}}}, ok, "ValidationError", ""},
		{"regex", lis.ListenerArn, 1, []types.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{RegexValues: []string{"^/a"}}}}, ok, "InvalidConfigurationRequest", ""},
		{"redirect loop", lis.ListenerArn, 1, pathIs("/"), []types.Action{{Type: types.ActionTypeEnumRedirect,
			RedirectConfig: &types.RedirectActionConfig{StatusCode: types.RedirectActionStatusCodeEnumHttp301}}},
			"InvalidLoadBalancerAction", "The redirect configuration is not valid because it creates a loop."},
		{"fixed status 302", lis.ListenerArn, 1, pathIs("/"), fixed("302", "x"), "ValidationError", ""},
		{"fixed content type", lis.ListenerArn, 1, pathIs("/"), []types.Action{{Type: types.ActionTypeEnumFixedResponse,
			FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("200"), ContentType: aws.String("image/png")}}},
			"InvalidLoadBalancerAction", "The ContentType must be one of:'text/html', 'application/json', 'application/javascript', 'text/css', 'text/plain'"},
		{"authenticate", lis.ListenerArn, 1, pathIs("/"), []types.Action{{Type: types.ActionTypeEnumAuthenticateOidc, Order: aws.Int32(1),
			AuthenticateOidcConfig: &types.AuthenticateOidcActionConfig{ClientId: aws.String("c"), Issuer: aws.String("https://i"),
				AuthorizationEndpoint: aws.String("https://a"), TokenEndpoint: aws.String("https://t"), UserInfoEndpoint: aws.String("https://u")}},
			{Type: types.ActionTypeEnumFixedResponse, Order: aws.Int32(2), FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("200")}}},
			"InvalidLoadBalancerAction", ""},
		{"two terminal actions", lis.ListenerArn, 1, pathIs("/"), []types.Action{
			{Type: types.ActionTypeEnumFixedResponse, Order: aws.Int32(1), FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("200")}},
			{Type: types.ActionTypeEnumFixedResponse, Order: aws.Int32(2), FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("201")}}},
			"InvalidLoadBalancerAction", ""},
		{"weight 1000", lis.ListenerArn, 1, pathIs("/"), []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
			TargetGroups: []types.TargetGroupTuple{{TargetGroupArn: tg1.TargetGroupArn, Weight: aws.Int32(1000)}}}}}, "ValidationError",
			"1 validation error detected: Value '1000' at 'actions.1.member.forwardConfig.targetGroups.1.member.weight' failed to satisfy constraint: Member must have value less than or equal to 999"},
		{"stickiness without duration", lis.ListenerArn, 1, pathIs("/"), []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
			TargetGroups:                []types.TargetGroupTuple{{TargetGroupArn: tg1.TargetGroupArn}},
			TargetGroupStickinessConfig: &types.TargetGroupStickinessConfig{Enabled: aws.Bool(true)}}}}, "ValidationError", ""},
		{"rule on nlb", nlis.ListenerArn, 1, pathIs("/"), forward(*tcp.TargetGroupArn), "InvalidConfigurationRequest", ""},
		{"transform", lis.ListenerArn, 1, pathIs("/"), ok, "InvalidConfigurationRequest", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &elb.CreateRuleInput{ListenerArn: tc.listener, Priority: aws.Int32(tc.priority), Conditions: tc.conditions, Actions: tc.actions}
			if tc.name == "transform" {
				in.Transforms = []types.RuleTransform{{Type: types.TransformTypeEnumUrlRewrite,
					UrlRewriteConfig: &types.UrlRewriteConfig{Rewrites: []types.RewriteConfig{{Regex: aws.String("^/a"), Replace: aws.String("/b")}}}}}
			}
			_, err := e.elb.CreateRule(ctx, in)
			wantError(t, "CreateRule("+tc.name+")", err, tc.code, tc.msg)
		})
	}
	if got := e.priorities(t, lis.ListenerArn); got != "default" {
		t.Errorf("rules after refused creates = %s; want only the default", got)
	}
	// A valid weighted forward with stickiness round-trips.
	tg2 := e.createTG(t, "b", types.ProtocolEnumHttp, "")
	out, err := e.elb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: lis.ListenerArn, Priority: aws.Int32(1), Conditions: pathIs("/w"),
		Actions: []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
			TargetGroups:                []types.TargetGroupTuple{{TargetGroupArn: tg1.TargetGroupArn, Weight: aws.Int32(3)}, {TargetGroupArn: tg2.TargetGroupArn, Weight: aws.Int32(1)}},
			TargetGroupStickinessConfig: &types.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(60)}}}}})
	if err != nil {
		t.Fatalf("CreateRule(weighted) = %v", err)
	}
	fc := out.Rules[0].Actions[0].ForwardConfig
	if out.Rules[0].Actions[0].TargetGroupArn != nil || len(fc.TargetGroups) != 2 || aws.ToInt32(fc.TargetGroups[0].Weight) != 3 ||
		!aws.ToBool(fc.TargetGroupStickinessConfig.Enabled) || aws.ToInt32(fc.TargetGroupStickinessConfig.DurationSeconds) != 60 {
		t.Errorf("weighted forward = %+v; want two groups 3:1, sticky 60 s, no TargetGroupArn", out.Rules[0].Actions[0])
	}
	// Host names with wildcards, as AWS documents them, are accepted.
	if _, err := e.elb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: lis.ListenerArn, Priority: aws.Int32(2),
		Conditions: hostIs("*.example.com", "api-?.Example.ORG"), Actions: ok}); err != nil {
		t.Errorf("CreateRule(wildcard hosts) = %v", err)
	}
	// Emptying a rule's conditions is refused and changes nothing.
	_, err = e.elb.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: out.Rules[0].RuleArn, Conditions: []types.RuleCondition{}})
	wantError(t, "ModifyRule(no conditions)", err, "ValidationError", "A rule must have at least one condition")
	got, err := e.elb.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{*out.Rules[0].RuleArn}})
	if err != nil || len(got.Rules[0].Conditions) != 1 {
		t.Errorf("DescribeRules after the refused ModifyRule = %+v, %v; want the one path-pattern condition", got, err)
	}
}
