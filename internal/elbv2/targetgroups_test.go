package elbv2_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

var tgARNPattern = regexp.MustCompile(`^arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/[a-z0-9-]+/[0-9a-f]{16}$`)

func TestCreateTargetGroupDefaults(t *testing.T) {
	e := start(t)
	type hc struct {
		proto                                 types.ProtocolEnum
		port, path, matcher                   string
		interval, timeout, healthy, unhealthy int32
	}
	tests := []struct {
		name string
		in   elb.CreateTargetGroupInput
		want hc
	}{
		{"http", elb.CreateTargetGroupInput{Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80)},
			hc{"HTTP", "traffic-port", "/", "200", 30, 5, 5, 2}},
		{"https", elb.CreateTargetGroupInput{Protocol: types.ProtocolEnumHttps, Port: aws.Int32(443), TargetType: types.TargetTypeEnumIp},
			hc{"HTTPS", "traffic-port", "/", "200", 30, 5, 5, 2}},
		{"tcp", elb.CreateTargetGroupInput{Protocol: types.ProtocolEnumTcp, Port: aws.Int32(5432)},
			hc{"TCP", "traffic-port", "", "", 30, 10, 5, 2}},
		{"tcp-http-check", elb.CreateTargetGroupInput{Protocol: types.ProtocolEnumTcp, Port: aws.Int32(80), HealthCheckProtocol: types.ProtocolEnumHttp},
			hc{"HTTP", "traffic-port", "/", "200-399", 30, 6, 5, 2}},
		{"custom", elb.CreateTargetGroupInput{Protocol: types.ProtocolEnumHttp, Port: aws.Int32(8080), HealthCheckPath: aws.String("/healthz"),
			HealthCheckPort: aws.String("9000"), HealthCheckIntervalSeconds: aws.Int32(10), HealthCheckTimeoutSeconds: aws.Int32(3),
			HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(3), Matcher: &types.Matcher{HttpCode: aws.String("200-299")}},
			hc{"HTTP", "9000", "/healthz", "200-299", 10, 3, 2, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Name = aws.String(tc.name)
			out, err := e.elb.CreateTargetGroup(ctx, &tc.in)
			if err != nil {
				t.Fatalf("CreateTargetGroup(%s) = %v", tc.name, err)
			}
			g := out.TargetGroups[0]
			if !tgARNPattern.MatchString(aws.ToString(g.TargetGroupArn)) {
				t.Errorf("TargetGroupArn = %q; want %v", aws.ToString(g.TargetGroupArn), tgARNPattern)
			}
			matcher := ""
			if g.Matcher != nil {
				matcher = aws.ToString(g.Matcher.HttpCode)
			}
			got := hc{g.HealthCheckProtocol, aws.ToString(g.HealthCheckPort), aws.ToString(g.HealthCheckPath), matcher,
				aws.ToInt32(g.HealthCheckIntervalSeconds), aws.ToInt32(g.HealthCheckTimeoutSeconds),
				aws.ToInt32(g.HealthyThresholdCount), aws.ToInt32(g.UnhealthyThresholdCount)}
			if got != tc.want {
				t.Errorf("health check = %+v; want %+v", got, tc.want)
			}
			if !aws.ToBool(g.HealthCheckEnabled) {
				t.Errorf("HealthCheckEnabled = false; want true")
			}
			wantType := tc.in.TargetType
			if wantType == "" {
				wantType = types.TargetTypeEnumInstance
			}
			if g.TargetType != wantType || g.IpAddressType != types.TargetGroupIpAddressTypeEnumIpv4 {
				t.Errorf("TargetType, IpAddressType = %s, %s; want %s, ipv4", g.TargetType, g.IpAddressType, wantType)
			}
		})
	}
}

func TestCreateTargetGroupInvalid(t *testing.T) {
	e := start(t)
	http := func(mod func(*elb.CreateTargetGroupInput)) elb.CreateTargetGroupInput {
		in := elb.CreateTargetGroupInput{Name: aws.String("g"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80)}
		mod(&in)
		return in
	}
	tests := []struct {
		name string
		in   elb.CreateTargetGroupInput
		code string
		msg  string
	}{
		{"long name", http(func(in *elb.CreateTargetGroupInput) { in.Name = aws.String(strings.Repeat("g", 33)) }), "ValidationError",
			"Target group name '" + strings.Repeat("g", 33) + "' cannot be longer than '32' characters"},
		{"bad name", http(func(in *elb.CreateTargetGroupInput) { in.Name = aws.String("a.b") }), "ValidationError",
			"Target group name 'a.b' can only contain characters that are alphanumeric characters or hyphens(-)"},
		{"double hyphen", http(func(in *elb.CreateTargetGroupInput) { in.Name = aws.String("a--b") }), "ValidationError", ""},
		{"lambda", http(func(in *elb.CreateTargetGroupInput) { in.TargetType = types.TargetTypeEnumLambda }), "InvalidConfigurationRequest", ""},
		{"alb", http(func(in *elb.CreateTargetGroupInput) { in.TargetType = types.TargetTypeEnumAlb }), "InvalidConfigurationRequest", ""},
		{"udp", http(func(in *elb.CreateTargetGroupInput) { in.Protocol = types.ProtocolEnumUdp }), "InvalidConfigurationRequest", ""},
		{"no protocol", http(func(in *elb.CreateTargetGroupInput) { in.Protocol = "" }), "ValidationError", ""},
		{"no port", http(func(in *elb.CreateTargetGroupInput) { in.Port = nil }), "ValidationError", ""},
		{"port 0", http(func(in *elb.CreateTargetGroupInput) { in.Port = aws.Int32(0) }), "ValidationError", ""},
		{"interval not above timeout", http(func(in *elb.CreateTargetGroupInput) {
			in.HealthCheckIntervalSeconds, in.HealthCheckTimeoutSeconds = aws.Int32(10), aws.Int32(10)
		}), "ValidationError", "Health check interval must be greater than the timeout."},
		{"interval too short", http(func(in *elb.CreateTargetGroupInput) { in.HealthCheckIntervalSeconds = aws.Int32(4) }), "ValidationError",
			"1 validation error detected: Value '4' at 'healthCheckIntervalSeconds' failed to satisfy constraint: Member must have value greater than or equal to 5"},
		{"healthy 11", http(func(in *elb.CreateTargetGroupInput) { in.HealthyThresholdCount = aws.Int32(11) }), "ValidationError", ""},
		{"tcp check on http", http(func(in *elb.CreateTargetGroupInput) { in.HealthCheckProtocol = types.ProtocolEnumTcp }), "ValidationError", ""},
		{"path without slash", http(func(in *elb.CreateTargetGroupInput) { in.HealthCheckPath = aws.String("health") }), "ValidationError", ""},
		{"matcher 600", http(func(in *elb.CreateTargetGroupInput) { in.Matcher = &types.Matcher{HttpCode: aws.String("200,600")} }), "ValidationError", ""},
		{"matcher junk", http(func(in *elb.CreateTargetGroupInput) { in.Matcher = &types.Matcher{HttpCode: aws.String("2xx")} }), "ValidationError", ""},
		{"grpc matcher", http(func(in *elb.CreateTargetGroupInput) { in.Matcher = &types.Matcher{GrpcCode: aws.String("0")} }), "InvalidConfigurationRequest", ""},
		{"bad check port", http(func(in *elb.CreateTargetGroupInput) { in.HealthCheckPort = aws.String("70000") }), "ValidationError", ""},
		{"checks off", http(func(in *elb.CreateTargetGroupInput) { in.HealthCheckEnabled = aws.Bool(false) }), "ValidationError", ""},
		{"grpc", http(func(in *elb.CreateTargetGroupInput) { in.ProtocolVersion = aws.String("GRPC") }), "InvalidConfigurationRequest", ""},
		{"path on tcp check", elb.CreateTargetGroupInput{Name: aws.String("g"), Protocol: types.ProtocolEnumTcp, Port: aws.Int32(80), HealthCheckPath: aws.String("/")}, "ValidationError", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.elb.CreateTargetGroup(ctx, &tc.in)
			wantError(t, "CreateTargetGroup("+tc.name+")", err, tc.code, tc.msg)
		})
	}
	out, err := e.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil || len(out.TargetGroups) != 0 {
		t.Fatalf("DescribeTargetGroups() after failed creates = %d groups, %v; want none", len(out.TargetGroups), err)
	}
}

func TestTargetGroupLifecycle(t *testing.T) {
	e := start(t)
	g := e.createTG(t, "api", types.ProtocolEnumHttp, "")
	arn := g.TargetGroupArn

	// Idempotent create; a different one is a duplicate.
	again, err := e.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("api"), Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(80), VpcId: aws.String("vpc-0123456789abcdef0")})
	if err != nil || aws.ToString(again.TargetGroups[0].TargetGroupArn) != *arn {
		t.Errorf("CreateTargetGroup(api) again = %v; want %s", err, *arn)
	}
	_, err = e.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("api"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(81)})
	wantError(t, "CreateTargetGroup(api, port 81)", err, "DuplicateTargetGroupName", "A target group with the same name 'api' exists, but with different settings")

	// Modify the health check.
	mod, err := e.elb.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: arn, HealthCheckPath: aws.String("/ready"),
		HealthCheckIntervalSeconds: aws.Int32(15), Matcher: &types.Matcher{HttpCode: aws.String("200,204")}})
	if err != nil {
		t.Fatalf("ModifyTargetGroup = %v", err)
	}
	if m := mod.TargetGroups[0]; aws.ToString(m.HealthCheckPath) != "/ready" || aws.ToInt32(m.HealthCheckIntervalSeconds) != 15 ||
		aws.ToString(m.Matcher.HttpCode) != "200,204" || aws.ToInt32(m.HealthCheckTimeoutSeconds) != 5 {
		t.Errorf("ModifyTargetGroup = %+v; want path /ready, interval 15, matcher 200,204, timeout 5", m)
	}
	_, err = e.elb.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: arn, HealthCheckTimeoutSeconds: aws.Int32(20)})
	wantError(t, "ModifyTargetGroup(timeout 20 > interval 15)", err, "ValidationError", "Health check interval must be greater than the timeout.")

	// Describe by name, by ARN, by load balancer.
	l := e.createLB(t, "web", "")
	e.createTG(t, "other", types.ProtocolEnumHttp, "")
	port := freePort(t)
	e.createListener(t, *l.LoadBalancerArn, types.ProtocolEnumHttp, port, forward(*arn))
	byLB, err := e.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{LoadBalancerArn: l.LoadBalancerArn})
	if err != nil || len(byLB.TargetGroups) != 1 || aws.ToString(byLB.TargetGroups[0].TargetGroupArn) != *arn {
		t.Fatalf("DescribeTargetGroups(LoadBalancerArn) = %+v, %v; want api", byLB, err)
	}
	if lbs := byLB.TargetGroups[0].LoadBalancerArns; len(lbs) != 1 || lbs[0] != *l.LoadBalancerArn {
		t.Errorf("LoadBalancerArns = %v; want [%s]", lbs, *l.LoadBalancerArn)
	}
	byName, err := e.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{"other", "api"}})
	if err != nil || len(byName.TargetGroups) != 2 || aws.ToString(byName.TargetGroups[0].TargetGroupName) != "api" {
		t.Errorf("DescribeTargetGroups(Names other, api) = %+v, %v; want api, other", byName, err)
	}
	_, err = e.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{"nope"}})
	wantError(t, "DescribeTargetGroups(Names nope)", err, "TargetGroupNotFound", "One or more target groups not found")
	_, err = e.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{"api"}, TargetGroupArns: []string{*arn}})
	wantError(t, "DescribeTargetGroups(Names and ARNs)", err, "ValidationError", "")

	// In use: cannot be deleted.
	_, err = e.elb.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: arn})
	wantError(t, "DeleteTargetGroup(in use)", err, "ResourceInUse", "Target group '"+*arn+"' is currently in use by a listener or a rule")
	if _, err := e.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{*arn}}); err != nil {
		t.Fatalf("DescribeTargetGroups after a refused delete = %v", err)
	}
	if _, err := e.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: l.LoadBalancerArn}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.elb.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: arn}); err != nil {
		t.Fatalf("DeleteTargetGroup(unused) = %v", err)
	}
	_, err = e.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{*arn}})
	wantError(t, "DescribeTargetGroups(deleted)", err, "TargetGroupNotFound", "")
	if _, err := e.elb.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: arn}); err != nil {
		t.Errorf("DeleteTargetGroup(deleted) = %v; want nil", err)
	}
}

func TestTargetGroupAttributes(t *testing.T) {
	e := start(t)
	h := e.createTG(t, "h", types.ProtocolEnumHttp, "")
	tcp := e.createTG(t, "t", types.ProtocolEnumTcp, "")
	describe := func(arn *string) map[string]string {
		t.Helper()
		out, err := e.elb.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: arn})
		if err != nil {
			t.Fatalf("DescribeTargetGroupAttributes = %v", err)
		}
		return attrMap(out.Attributes)
	}
	hm, tm := describe(h.TargetGroupArn), describe(tcp.TargetGroupArn)
	for k, v := range map[string]string{
		"deregistration_delay.timeout_seconds": "300", "stickiness.enabled": "false", "stickiness.type": "lb_cookie",
		"stickiness.lb_cookie.duration_seconds": "86400", "load_balancing.algorithm.type": "round_robin", "slow_start.duration_seconds": "0",
	} {
		if hm[k] != v {
			t.Errorf("HTTP group attribute %s = %q; want %q", k, hm[k], v)
		}
	}
	for k, v := range map[string]string{
		"deregistration_delay.timeout_seconds": "300", "stickiness.type": "source_ip", "preserve_client_ip.enabled": "true",
		"proxy_protocol_v2.enabled": "false",
	} {
		if tm[k] != v {
			t.Errorf("TCP group attribute %s = %q; want %q", k, tm[k], v)
		}
	}
	out, err := e.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: h.TargetGroupArn,
		Attributes: []types.TargetGroupAttribute{
			{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("5")},
			{Key: aws.String("stickiness.enabled"), Value: aws.String("true")},
			{Key: aws.String("load_balancing.algorithm.type"), Value: aws.String("least_outstanding_requests")},
			{Key: aws.String("slow_start.duration_seconds"), Value: aws.String("30")},
		}})
	if err != nil {
		t.Fatalf("ModifyTargetGroupAttributes = %v", err)
	}
	if m := attrMap(out.Attributes); m["deregistration_delay.timeout_seconds"] != "5" || m["stickiness.enabled"] != "true" {
		t.Errorf("ModifyTargetGroupAttributes returned %v; want the new values", m)
	}
	bad := []struct {
		name     string
		arn      *string
		key, val string
		msg      string
	}{
		{"unknown", h.TargetGroupArn, "nope", "1", "Target group attribute key 'nope' is not recognized"},
		{"delay too long", h.TargetGroupArn, "deregistration_delay.timeout_seconds", "3601", ""},
		{"slow start 10", h.TargetGroupArn, "slow_start.duration_seconds", "10", ""},
		{"app cookie", h.TargetGroupArn, "stickiness.type", "app_cookie", ""},
		{"weighted random", h.TargetGroupArn, "load_balancing.algorithm.type", "weighted_random", ""},
		{"tcp key on http", h.TargetGroupArn, "proxy_protocol_v2.enabled", "false",
			"Target group attribute key 'proxy_protocol_v2.enabled' is not supported on target groups with the HTTP protocol"},
		{"proxy protocol", tcp.TargetGroupArn, "proxy_protocol_v2.enabled", "true", ""},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: tc.arn,
				Attributes: []types.TargetGroupAttribute{{Key: aws.String(tc.key), Value: aws.String(tc.val)}}})
			wantError(t, "ModifyTargetGroupAttributes("+tc.key+"="+tc.val+")", err, "ValidationError", tc.msg)
		})
	}
	if m := describe(h.TargetGroupArn); m["deregistration_delay.timeout_seconds"] != "5" || m["slow_start.duration_seconds"] != "30" {
		t.Errorf("attributes after refused changes = %v; want the earlier values", m)
	}
}
