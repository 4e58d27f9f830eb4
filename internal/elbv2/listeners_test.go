package elbv2_test

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

var listenerARNPattern = regexp.MustCompile(`^arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/web/[0-9a-f]{16}/[0-9a-f]{16}$`)

func TestCreateListener(t *testing.T) {
	e := start(t)
	l := e.createLB(t, "web", "")
	tg := e.createTG(t, "tg", types.ProtocolEnumHttp, "")
	port := freePort(t)
	lis := e.createListener(t, *l.LoadBalancerArn, types.ProtocolEnumHttp, port, forward(*tg.TargetGroupArn))
	if !listenerARNPattern.MatchString(aws.ToString(lis.ListenerArn)) {
		t.Errorf("ListenerArn = %q; want %v", aws.ToString(lis.ListenerArn), listenerARNPattern)
	}
	if !strings.HasPrefix(*lis.ListenerArn, strings.Replace(*l.LoadBalancerArn, ":loadbalancer/", ":listener/", 1)+"/") {
		t.Errorf("ListenerArn %s is not under its load balancer %s", *lis.ListenerArn, *l.LoadBalancerArn)
	}
	if aws.ToInt32(lis.Port) != port || lis.Protocol != types.ProtocolEnumHttp || aws.ToString(lis.LoadBalancerArn) != *l.LoadBalancerArn {
		t.Errorf("listener = %+v; want HTTP:%d on %s", lis, port, *l.LoadBalancerArn)
	}
	act := lis.DefaultActions[0]
	if act.Type != types.ActionTypeEnumForward || aws.ToString(act.TargetGroupArn) != *tg.TargetGroupArn || act.ForwardConfig == nil ||
		len(act.ForwardConfig.TargetGroups) != 1 || aws.ToInt32(act.ForwardConfig.TargetGroups[0].Weight) != 1 || aws.ToInt32(act.Order) != 1 {
		t.Errorf("DefaultActions[0] = %+v; want forward to %s with its ForwardConfig, weight 1, order 1", act, *tg.TargetGroupArn)
	}
	if !listening(port) {
		t.Errorf("nothing listens on port %d after CreateListener", port)
	}

	// The same settings again: the same listener. Another on the port: a
	// duplicate.
	again, err := e.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: l.LoadBalancerArn, Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(port), DefaultActions: forward(*tg.TargetGroupArn)})
	if err != nil || aws.ToString(again.Listeners[0].ListenerArn) != *lis.ListenerArn {
		t.Errorf("CreateListener again = %v; want %s", err, *lis.ListenerArn)
	}
	_, err = e.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: l.LoadBalancerArn, Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(port), DefaultActions: fixed("200", "x")})
	wantError(t, "CreateListener(same port, other actions)", err, "DuplicateListener", "")

	// Describe by load balancer and by ARN.
	byLB, err := e.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: l.LoadBalancerArn})
	if err != nil || len(byLB.Listeners) != 1 {
		t.Fatalf("DescribeListeners(LoadBalancerArn) = %+v, %v; want 1", byLB, err)
	}
	_, err = e.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{})
	wantError(t, "DescribeListeners()", err, "ValidationError", "You must specify either listener ARNs or a load balancer ARN")
	_, err = e.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{*lis.ListenerArn + "x"}})
	wantError(t, "DescribeListeners(bad ARN)", err, "ValidationError", "")
	_, err = e.other.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{*lis.ListenerArn}})
	wantError(t, "DescribeListeners as another account", err, "ListenerNotFound", "One or more listeners not found")
}

func TestCreateListenerInvalid(t *testing.T) {
	e := start(t)
	alb := e.createLB(t, "web", "")
	nlb := e.createLB(t, "tcp", types.LoadBalancerTypeEnumNetwork)
	h := e.createTG(t, "h", types.ProtocolEnumHttp, "")
	tcp := e.createTG(t, "t", types.ProtocolEnumTcp, "")
	other := e.createLB(t, "other", "")
	e.createListener(t, *other.LoadBalancerArn, types.ProtocolEnumHttp, freePort(t), forward(*h.TargetGroupArn))

	// A port something else holds.
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	heldPort := int32(held.Addr().(*net.TCPAddr).Port)

	missingLB := strings.Replace(*alb.LoadBalancerArn, "/web/", "/nope/", 1)
	tests := []struct {
		name string
		in   elb.CreateListenerInput
		code string
		msg  string
	}{
		{"port in use", elb.CreateListenerInput{LoadBalancerArn: alb.LoadBalancerArn, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(heldPort),
			DefaultActions: fixed("200", "x")}, "InvalidConfigurationRequest", ""},
		{"no load balancer", elb.CreateListenerInput{LoadBalancerArn: aws.String(missingLB), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
			DefaultActions: fixed("200", "x")}, "LoadBalancerNotFound", ""},
		{"https without certificate", elb.CreateListenerInput{LoadBalancerArn: alb.LoadBalancerArn, Protocol: types.ProtocolEnumHttps, Port: aws.Int32(443),
			DefaultActions: fixed("200", "x")}, "ValidationError", "A certificate must be specified for HTTPS listeners"},
		{"https", elb.CreateListenerInput{LoadBalancerArn: alb.LoadBalancerArn, Protocol: types.ProtocolEnumHttps, Port: aws.Int32(443),
			Certificates:   []types.Certificate{{CertificateArn: aws.String("arn:aws:acm:us-east-1:000000000000:certificate/x")}},
			DefaultActions: fixed("200", "x")}, "CertificateNotFound", ""},
		{"tcp on alb", elb.CreateListenerInput{LoadBalancerArn: alb.LoadBalancerArn, Protocol: types.ProtocolEnumTcp, Port: aws.Int32(80),
			DefaultActions: forward(*tcp.TargetGroupArn)}, "UnsupportedProtocol", ""},
		{"udp on nlb", elb.CreateListenerInput{LoadBalancerArn: nlb.LoadBalancerArn, Protocol: types.ProtocolEnumUdp, Port: aws.Int32(53),
			DefaultActions: forward(*tcp.TargetGroupArn)}, "UnsupportedProtocol", ""},
		{"http group on nlb", elb.CreateListenerInput{LoadBalancerArn: nlb.LoadBalancerArn, Protocol: types.ProtocolEnumTcp, Port: aws.Int32(80),
			DefaultActions: forward(*h.TargetGroupArn)}, "IncompatibleProtocols", ""},
		{"tcp group on alb", elb.CreateListenerInput{LoadBalancerArn: alb.LoadBalancerArn, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
			DefaultActions: forward(*tcp.TargetGroupArn)}, "IncompatibleProtocols", ""},
		{"group of another load balancer", elb.CreateListenerInput{LoadBalancerArn: alb.LoadBalancerArn, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
			DefaultActions: forward(*h.TargetGroupArn)}, "TargetGroupAssociationLimit",
			"The following target groups cannot be associated with more than one load balancer: " + *h.TargetGroupArn},
		{"missing group", elb.CreateListenerInput{LoadBalancerArn: alb.LoadBalancerArn, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
			DefaultActions: forward(strings.Replace(*h.TargetGroupArn, "/h/", "/zz/", 1))}, "TargetGroupNotFound", ""},
		{"fixed response on nlb", elb.CreateListenerInput{LoadBalancerArn: nlb.LoadBalancerArn, Protocol: types.ProtocolEnumTcp, Port: aws.Int32(80),
			DefaultActions: fixed("200", "x")}, "InvalidLoadBalancerAction", ""},
		{"no actions", elb.CreateListenerInput{LoadBalancerArn: alb.LoadBalancerArn, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
			DefaultActions: []types.Action{}}, "ValidationError", ""},
		{"port 0", elb.CreateListenerInput{LoadBalancerArn: alb.LoadBalancerArn, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(0),
			DefaultActions: fixed("200", "x")}, "ValidationError", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.elb.CreateListener(ctx, &tc.in)
			wantError(t, "CreateListener("+tc.name+")", err, tc.code, tc.msg)
		})
	}
	t.Run("port in use message", func(t *testing.T) {
		_, err := e.elb.CreateListener(ctx, &tests[0].in)
		if !strings.Contains(message(err), "Port "+strconv.Itoa(int(heldPort))+" is not available") {
			t.Errorf("CreateListener(port in use) message = %q; want it to name port %d", message(err), heldPort)
		}
	})
	for _, l := range []*string{alb.LoadBalancerArn, nlb.LoadBalancerArn} {
		out, err := e.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: l})
		if err != nil || len(out.Listeners) != 0 {
			t.Errorf("DescribeListeners(%s) after failed creates = %d, %v; want none", *l, len(out.Listeners), err)
		}
	}
}

func TestModifyAndDeleteListener(t *testing.T) {
	e := start(t)
	l := e.createLB(t, "web", "")
	p1, p2 := freePort(t), freePort(t)
	lis := e.createListener(t, *l.LoadBalancerArn, types.ProtocolEnumHttp, p1, fixed("200", "one"))
	if code, body := get(t, "http://127.0.0.1:"+strconv.Itoa(int(p1))+"/"); code != 200 || body != "one" {
		t.Fatalf("GET :%d = %d %q; want 200 one", p1, code, body)
	}

	// Move it: the new port serves, the old one is free.
	out, err := e.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: lis.ListenerArn, Port: aws.Int32(p2), DefaultActions: fixed("201", "two")})
	if err != nil {
		t.Fatalf("ModifyListener(port %d) = %v", p2, err)
	}
	if aws.ToInt32(out.Listeners[0].Port) != p2 {
		t.Errorf("ModifyListener returned port %d; want %d", aws.ToInt32(out.Listeners[0].Port), p2)
	}
	if code, body := get(t, "http://127.0.0.1:"+strconv.Itoa(int(p2))+"/"); code != 201 || body != "two" {
		t.Errorf("GET :%d = %d %q; want 201 two", p2, code, body)
	}
	if listening(p1) {
		t.Errorf("old port %d still listening after ModifyListener", p1)
	}

	// A port something else holds: refused, nothing changes.
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	hp := int32(held.Addr().(*net.TCPAddr).Port)
	_, err = e.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: lis.ListenerArn, Port: aws.Int32(hp)})
	wantError(t, "ModifyListener(port in use)", err, "InvalidConfigurationRequest", "")
	desc, err := e.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{*lis.ListenerArn}})
	if err != nil || aws.ToInt32(desc.Listeners[0].Port) != p2 {
		t.Errorf("listener after a refused move = %+v, %v; want port %d", desc, err, p2)
	}
	if code, _ := get(t, "http://127.0.0.1:"+strconv.Itoa(int(p2))+"/"); code != 201 {
		t.Errorf("GET :%d after a refused move = %d; want 201", p2, code)
	}

	// Attributes: ALB listeners have ALB's, NLB listeners tcp.idle_timeout.seconds.
	attrs, err := e.elb.DescribeListenerAttributes(ctx, &elb.DescribeListenerAttributesInput{ListenerArn: lis.ListenerArn})
	if err != nil || attrMap(attrs.Attributes)["routing.http.response.server.enabled"] != "true" {
		t.Errorf("DescribeListenerAttributes(ALB) = %v, %v; want routing.http.response.server.enabled true", attrs, err)
	}
	_, err = e.elb.ModifyListenerAttributes(ctx, &elb.ModifyListenerAttributesInput{ListenerArn: lis.ListenerArn,
		Attributes: []types.ListenerAttribute{{Key: aws.String("tcp.idle_timeout.seconds"), Value: aws.String("100")}}})
	wantError(t, "ModifyListenerAttributes(NLB key on ALB)", err, "ValidationError", "")
	nlb := e.createLB(t, "tcp", types.LoadBalancerTypeEnumNetwork)
	tcp := e.createTG(t, "t", types.ProtocolEnumTcp, "")
	nl := e.createListener(t, *nlb.LoadBalancerArn, types.ProtocolEnumTcp, freePort(t), forward(*tcp.TargetGroupArn))
	mod, err := e.elb.ModifyListenerAttributes(ctx, &elb.ModifyListenerAttributesInput{ListenerArn: nl.ListenerArn,
		Attributes: []types.ListenerAttribute{{Key: aws.String("tcp.idle_timeout.seconds"), Value: aws.String("100")}}})
	if err != nil || attrMap(mod.Attributes)["tcp.idle_timeout.seconds"] != "100" {
		t.Errorf("ModifyListenerAttributes(tcp.idle_timeout.seconds=100) = %v, %v", mod, err)
	}
	_, err = e.elb.ModifyListenerAttributes(ctx, &elb.ModifyListenerAttributesInput{ListenerArn: nl.ListenerArn,
		Attributes: []types.ListenerAttribute{{Key: aws.String("tcp.idle_timeout.seconds"), Value: aws.String("10")}}})
	wantError(t, "ModifyListenerAttributes(tcp.idle_timeout.seconds=10)", err, "ValidationError", "")

	// Delete: the port is free, the listener gone.
	if _, err := e.elb.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: lis.ListenerArn}); err != nil {
		t.Fatalf("DeleteListener = %v", err)
	}
	if listening(p2) {
		t.Errorf("port %d still listening after DeleteListener", p2)
	}
	_, err = e.elb.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: lis.ListenerArn})
	wantError(t, "DeleteListener(deleted)", err, "ListenerNotFound", "")
	_, err = e.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: lis.ListenerArn, Port: aws.Int32(p1)})
	wantError(t, "ModifyListener(deleted)", err, "ListenerNotFound", "")
}
