package elbv2_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

var (
	albARN = regexp.MustCompile(`^arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/[0-9a-f]{16}$`)
	nlbARN = regexp.MustCompile(`^arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/net/tcp/[0-9a-f]{16}$`)
)

func TestCreateLoadBalancer(t *testing.T) {
	e := start(t)
	before := time.Now().Add(-time.Second)
	out, err := e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		Name:           aws.String("web"),
		Subnets:        []string{"subnet-1", "subnet-2"},
		SecurityGroups: []string{"sg-1"},
		Tags:           []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	})
	if err != nil {
		t.Fatalf("CreateLoadBalancer(web) = %v", err)
	}
	l := out.LoadBalancers[0]
	arn := aws.ToString(l.LoadBalancerArn)
	if !albARN.MatchString(arn) {
		t.Errorf("LoadBalancerArn = %q; want %v", arn, albARN)
	}
	id := arn[strings.LastIndex(arn, "/")+1:]
	if got, want := aws.ToString(l.DNSName), "web-"+id+".us-east-1.elb.amazonaws.com"; got != want {
		t.Errorf("DNSName = %q; want %q", got, want)
	}
	if l.Type != types.LoadBalancerTypeEnumApplication || l.Scheme != types.LoadBalancerSchemeEnumInternetFacing || l.IpAddressType != types.IpAddressTypeIpv4 {
		t.Errorf("Type, Scheme, IpAddressType = %s, %s, %s; want application, internet-facing, ipv4", l.Type, l.Scheme, l.IpAddressType)
	}
	if l.State == nil || l.State.Code != types.LoadBalancerStateEnumProvisioning {
		t.Errorf("State = %+v; want provisioning", l.State)
	}
	if len(l.AvailabilityZones) != 2 || aws.ToString(l.AvailabilityZones[0].ZoneName) != "us-east-1a" ||
		aws.ToString(l.AvailabilityZones[1].SubnetId) != "subnet-2" {
		t.Errorf("AvailabilityZones = %+v; want us-east-1a/subnet-1, us-east-1b/subnet-2", l.AvailabilityZones)
	}
	if !strings.HasPrefix(aws.ToString(l.VpcId), "vpc-") || len(l.SecurityGroups) != 1 || aws.ToString(l.CanonicalHostedZoneId) == "" {
		t.Errorf("VpcId, SecurityGroups, CanonicalHostedZoneId = %q, %v, %q; want a VPC, [sg-1], a zone", aws.ToString(l.VpcId), l.SecurityGroups, aws.ToString(l.CanonicalHostedZoneId))
	}
	if l.CreatedTime == nil || l.CreatedTime.Before(before) {
		t.Errorf("CreatedTime = %v; want about now", l.CreatedTime)
	}

	// The same settings again: the same load balancer.
	again, err := e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		Name: aws.String("web"), Subnets: []string{"subnet-1", "subnet-2"}, SecurityGroups: []string{"sg-1"},
	})
	if err != nil || aws.ToString(again.LoadBalancers[0].LoadBalancerArn) != arn {
		t.Errorf("CreateLoadBalancer(web) again = %v, %v; want %s", again, err, arn)
	}
	// Other settings: a duplicate.
	_, err = e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Scheme: types.LoadBalancerSchemeEnumInternal})
	wantError(t, "CreateLoadBalancer(web, internal)", err, "DuplicateLoadBalancerName", "A load balancer with the same name 'web' exists, but with different settings")

	// Network load balancers, internal: one zone by default, the internal-
	// DNS prefix.
	nout, err := e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("tcp"), Type: types.LoadBalancerTypeEnumNetwork, Scheme: types.LoadBalancerSchemeEnumInternal})
	if err != nil {
		t.Fatalf("CreateLoadBalancer(tcp) = %v", err)
	}
	n := nout.LoadBalancers[0]
	if !nlbARN.MatchString(aws.ToString(n.LoadBalancerArn)) || !strings.HasPrefix(aws.ToString(n.DNSName), "internal-tcp-") || len(n.AvailabilityZones) != 1 {
		t.Errorf("network load balancer = %s, %s, %d zones; want a net ARN, internal-tcp-..., 1 zone", aws.ToString(n.LoadBalancerArn), aws.ToString(n.DNSName), len(n.AvailabilityZones))
	}
}

func TestCreateLoadBalancerInvalid(t *testing.T) {
	e := start(t)
	tests := []struct {
		name string
		in   elb.CreateLoadBalancerInput
		code string
		msg  string
	}{
		{"too long", elb.CreateLoadBalancerInput{Name: aws.String(strings.Repeat("a", 33))}, "ValidationError",
			"The load balancer name '" + strings.Repeat("a", 33) + "' cannot be longer than '32' characters"},
		{"bad characters", elb.CreateLoadBalancerInput{Name: aws.String("a_b")}, "ValidationError",
			"The load balancer name 'a_b' can only contain characters that are alphanumeric characters or hyphens(-)"},
		{"leading hyphen", elb.CreateLoadBalancerInput{Name: aws.String("-ab")}, "ValidationError", ""},
		{"internal prefix", elb.CreateLoadBalancerInput{Name: aws.String("internal-ab")}, "ValidationError", ""},
		{"gateway", elb.CreateLoadBalancerInput{Name: aws.String("gw"), Type: types.LoadBalancerTypeEnumGateway}, "InvalidConfigurationRequest", ""},
		{"bad type", elb.CreateLoadBalancerInput{Name: aws.String("x"), Type: "classic"}, "ValidationError", ""},
		{"bad scheme", elb.CreateLoadBalancerInput{Name: aws.String("x"), Scheme: "public"}, "ValidationError", ""},
		{"one subnet", elb.CreateLoadBalancerInput{Name: aws.String("x"), Subnets: []string{"subnet-1"}}, "ValidationError",
			"At least two subnets in two different Availability Zones must be specified"},
		{"bad security group", elb.CreateLoadBalancerInput{Name: aws.String("x"), SecurityGroups: []string{"default"}}, "InvalidSecurityGroup", ""},
		{"reserved tag", elb.CreateLoadBalancerInput{Name: aws.String("x"), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("")}}}, "ValidationError", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.elb.CreateLoadBalancer(ctx, &tc.in)
			wantError(t, "CreateLoadBalancer("+tc.name+")", err, tc.code, tc.msg)
		})
	}
	out, err := e.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	if err != nil || len(out.LoadBalancers) != 0 {
		t.Fatalf("DescribeLoadBalancers() after failed creates = %v, %v; want none", out, err)
	}
}

func TestDescribeLoadBalancers(t *testing.T) {
	e := start(t)
	var arns []string
	for _, name := range []string{"c", "a", "b"} {
		arns = append(arns, aws.ToString(e.createLB(t, name, "").LoadBalancerArn))
	}
	names := func(lbs []types.LoadBalancer) string {
		var s []string
		for _, l := range lbs {
			s = append(s, aws.ToString(l.LoadBalancerName))
		}
		return strings.Join(s, ",")
	}
	out, err := e.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	if err != nil || names(out.LoadBalancers) != "a,b,c" || out.NextMarker != nil {
		t.Fatalf("DescribeLoadBalancers() = %s, %v; want a,b,c", names(out.LoadBalancers), err)
	}
	// Pages of one.
	var seen []string
	var marker *string
	for {
		page, err := e.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{PageSize: aws.Int32(1), Marker: marker})
		if err != nil {
			t.Fatalf("DescribeLoadBalancers(PageSize 1) = %v", err)
		}
		seen = append(seen, names(page.LoadBalancers))
		if marker = page.NextMarker; marker == nil {
			break
		}
	}
	if strings.Join(seen, ",") != "a,b,c" {
		t.Errorf("pages = %v; want a, b, c", seen)
	}
	out, err = e.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"b", "a"}})
	if err != nil || names(out.LoadBalancers) != "a,b" {
		t.Errorf("DescribeLoadBalancers(Names b,a) = %s, %v; want a,b", names(out.LoadBalancers), err)
	}
	out, err = e.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: arns[:1]})
	if err != nil || names(out.LoadBalancers) != "c" {
		t.Errorf("DescribeLoadBalancers(arn of c) = %s, %v; want c", names(out.LoadBalancers), err)
	}

	errs := []struct {
		name string
		in   elb.DescribeLoadBalancersInput
		code string
		msg  string
	}{
		{"missing name", elb.DescribeLoadBalancersInput{Names: []string{"a", "zz"}}, "LoadBalancerNotFound", "One or more load balancers not found"},
		{"missing arn", elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{strings.Replace(arns[0], "/c/", "/zz/", 1)}}, "LoadBalancerNotFound", ""},
		{"bad arn", elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{"arn:aws:ecs:us-east-1:000000000000:cluster/x"}}, "ValidationError", ""},
		{"both", elb.DescribeLoadBalancersInput{Names: []string{"a"}, LoadBalancerArns: arns[:1]}, "ValidationError", ""},
		{"page size 0", elb.DescribeLoadBalancersInput{PageSize: aws.Int32(0)}, "ValidationError", ""},
		{"bad marker", elb.DescribeLoadBalancersInput{Marker: aws.String("!!")}, "ValidationError", ""},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.elb.DescribeLoadBalancers(ctx, &tc.in)
			wantError(t, "DescribeLoadBalancers("+tc.name+")", err, tc.code, tc.msg)
		})
	}

	// Another account sees none of them.
	other, err := e.other.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	if err != nil || len(other.LoadBalancers) != 0 {
		t.Errorf("DescribeLoadBalancers() as another account = %s, %v; want none", names(other.LoadBalancers), err)
	}
	_, err = e.other.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: arns[:1]})
	wantError(t, "DescribeLoadBalancers(arn) as another account", err, "LoadBalancerNotFound", "")
}

func TestDeleteLoadBalancer(t *testing.T) {
	e := start(t)
	l := e.createLB(t, "web", "")
	arn := l.LoadBalancerArn
	tg := e.createTG(t, "tg", types.ProtocolEnumHttp, "")
	port := freePort(t)
	lis := e.createListener(t, *arn, types.ProtocolEnumHttp, port, forward(*tg.TargetGroupArn))
	if !listening(port) {
		t.Fatalf("listener port %d not listening after CreateListener", port)
	}

	// Deletion protection holds it.
	if _, err := e.elb.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: arn,
		Attributes: []types.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("true")}}}); err != nil {
		t.Fatalf("ModifyLoadBalancerAttributes(deletion protection) = %v", err)
	}
	_, err := e.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: arn})
	wantError(t, "DeleteLoadBalancer(protected)", err, "OperationNotPermitted",
		"Load balancer '"+*arn+"' cannot be deleted because deletion protection is enabled")
	if _, err := e.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{*lis.ListenerArn}}); err != nil {
		t.Fatalf("DescribeListeners after a refused delete = %v; want the listener", err)
	}
	if _, err := e.elb.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: arn,
		Attributes: []types.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("false")}}}); err != nil {
		t.Fatalf("ModifyLoadBalancerAttributes(no deletion protection) = %v", err)
	}

	if _, err := e.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: arn}); err != nil {
		t.Fatalf("DeleteLoadBalancer = %v", err)
	}
	_, err = e.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{*arn}})
	wantError(t, "DescribeLoadBalancers(deleted)", err, "LoadBalancerNotFound", "")
	_, err = e.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{*lis.ListenerArn}})
	wantError(t, "DescribeListeners(listener of deleted load balancer)", err, "ListenerNotFound", "")
	if listening(port) {
		t.Errorf("port %d still listening after DeleteLoadBalancer", port)
	}
	// The target group stays, no longer used.
	tgs, err := e.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{*tg.TargetGroupArn}})
	if err != nil || len(tgs.TargetGroups[0].LoadBalancerArns) != 0 {
		t.Errorf("DescribeTargetGroups after DeleteLoadBalancer = %+v, %v; want the group, without load balancers", tgs, err)
	}
	// Idempotent.
	if _, err := e.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: arn}); err != nil {
		t.Errorf("DeleteLoadBalancer(deleted) = %v; want nil", err)
	}
	_, err = e.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String("web")})
	wantError(t, "DeleteLoadBalancer(not an ARN)", err, "ValidationError", "'web' is not a valid load balancer ARN")
}

func TestLoadBalancerAttributes(t *testing.T) {
	e := start(t)
	alb := e.createLB(t, "web", "")
	nlb := e.createLB(t, "tcp", types.LoadBalancerTypeEnumNetwork)
	describe := func(arn *string) map[string]string {
		t.Helper()
		out, err := e.elb.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerArn: arn})
		if err != nil {
			t.Fatalf("DescribeLoadBalancerAttributes = %v", err)
		}
		return attrMap(out.Attributes)
	}
	defaults := []struct {
		arn      *string
		key, val string
	}{
		{alb.LoadBalancerArn, "idle_timeout.timeout_seconds", "60"},
		{alb.LoadBalancerArn, "routing.http2.enabled", "true"},
		{alb.LoadBalancerArn, "deletion_protection.enabled", "false"},
		{alb.LoadBalancerArn, "access_logs.s3.enabled", "false"},
		{alb.LoadBalancerArn, "access_logs.s3.bucket", ""},
		{alb.LoadBalancerArn, "load_balancing.cross_zone.enabled", "true"},
		{alb.LoadBalancerArn, "routing.http.xff_header_processing.mode", "append"},
		{alb.LoadBalancerArn, "client_keep_alive.seconds", "3600"},
		{nlb.LoadBalancerArn, "load_balancing.cross_zone.enabled", "false"},
		{nlb.LoadBalancerArn, "dns_record.client_routing_policy", "any_availability_zone"},
		{nlb.LoadBalancerArn, "deletion_protection.enabled", "false"},
	}
	albAttrs, nlbAttrs := describe(alb.LoadBalancerArn), describe(nlb.LoadBalancerArn)
	for _, d := range defaults {
		m := albAttrs
		if d.arn == nlb.LoadBalancerArn {
			m = nlbAttrs
		}
		if got, ok := m[d.key]; !ok || got != d.val {
			t.Errorf("attribute %s = %q (present %v); want %q", d.key, got, ok, d.val)
		}
	}
	if _, ok := nlbAttrs["idle_timeout.timeout_seconds"]; ok {
		t.Errorf("network load balancer has idle_timeout.timeout_seconds; want only ALB")
	}

	out, err := e.elb.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: alb.LoadBalancerArn,
		Attributes: []types.LoadBalancerAttribute{
			{Key: aws.String("idle_timeout.timeout_seconds"), Value: aws.String("120")},
			{Key: aws.String("access_logs.s3.enabled"), Value: aws.String("true")},
			{Key: aws.String("access_logs.s3.bucket"), Value: aws.String("logs")},
		}})
	if err != nil {
		t.Fatalf("ModifyLoadBalancerAttributes = %v", err)
	}
	if m := attrMap(out.Attributes); m["idle_timeout.timeout_seconds"] != "120" || m["access_logs.s3.bucket"] != "logs" || m["routing.http2.enabled"] != "true" {
		t.Errorf("ModifyLoadBalancerAttributes returned %v; want every attribute, with the new values", m)
	}

	bad := []struct {
		name     string
		arn      *string
		key, val string
		code     string
		msg      string
	}{
		{"unknown key", alb.LoadBalancerArn, "nope.enabled", "true", "ValidationError", "Load balancer attribute key 'nope.enabled' is not recognized"},
		{"ALB key on NLB", nlb.LoadBalancerArn, "idle_timeout.timeout_seconds", "30", "ValidationError",
			"Load balancer attribute key 'idle_timeout.timeout_seconds' is not supported on load balancers with type 'network'"},
		{"out of range", alb.LoadBalancerArn, "idle_timeout.timeout_seconds", "0", "ValidationError", ""},
		{"not a bool", alb.LoadBalancerArn, "routing.http2.enabled", "yes", "ValidationError", ""},
		{"bad enum", alb.LoadBalancerArn, "routing.http.desync_mitigation_mode", "lax", "ValidationError", ""},
		{"logs without bucket", alb.LoadBalancerArn, "connection_logs.s3.enabled", "true", "InvalidConfigurationRequest", ""},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.elb.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: tc.arn,
				Attributes: []types.LoadBalancerAttribute{{Key: aws.String(tc.key), Value: aws.String(tc.val)}}})
			wantError(t, "ModifyLoadBalancerAttributes("+tc.key+"="+tc.val+")", err, tc.code, tc.msg)
		})
	}
	if m := describe(alb.LoadBalancerArn); m["idle_timeout.timeout_seconds"] != "120" || m["routing.http2.enabled"] != "true" {
		t.Errorf("attributes after refused changes = %v; want the earlier values", m)
	}
	_, err = e.elb.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{
		LoadBalancerArn: aws.String(strings.Replace(*alb.LoadBalancerArn, "/web/", "/gone/", 1))})
	wantError(t, "DescribeLoadBalancerAttributes(missing)", err, "LoadBalancerNotFound", "")
}

func TestLoadBalancerAvailableWaiter(t *testing.T) {
	e := start(t)
	l := e.createLB(t, "web", "")
	w := elb.NewLoadBalancerAvailableWaiter(e.elb, func(o *elb.LoadBalancerAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 50*time.Millisecond
	})
	out, err := w.WaitForOutput(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"web"}}, 10*time.Second)
	if err != nil {
		t.Fatalf("load-balancer-available waiter = %v", err)
	}
	if got := out.LoadBalancers[0]; got.State.Code != types.LoadBalancerStateEnumActive || aws.ToString(got.LoadBalancerArn) != aws.ToString(l.LoadBalancerArn) {
		t.Errorf("after waiting: %s is %s; want active", aws.ToString(got.LoadBalancerArn), got.State.Code)
	}
}
