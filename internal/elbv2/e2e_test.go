package elbv2_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsapitest"
	"github.com/berthhq/berth/internal/elbv2"
	"github.com/berthhq/berth/internal/lb"
	"github.com/berthhq/berth/internal/state"
)

// waitHealthy waits until every target of the group is healthy.
func (e *env) waitHealthy(t *testing.T, arn *string) {
	t.Helper()
	w := elb.NewTargetInServiceWaiter(e.elb, func(o *elb.TargetInServiceWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 50*time.Millisecond
	})
	if err := w.Wait(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: arn}, 10*time.Second); err != nil {
		t.Fatalf("target-in-service waiter = %v (health %v)", err, e.health(t, arn))
	}
}

// TestForwardHTTP drives an application load balancer end to end: rules
// route requests to the registered loopback targets of two target groups,
// answer fixed responses and redirect.
func TestForwardHTTP(t *testing.T) {
	e := start(t)
	ha, pa := backend(t, "api-a")
	hb, pb := backend(t, "api-b")
	hw, pw := backend(t, "web")
	e.instances.set("i-web", hw)

	api := e.createTG(t, "api", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	web := e.createTG(t, "web", types.ProtocolEnumHttp, types.TargetTypeEnumInstance)
	if _, err := e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: api.TargetGroupArn,
		Targets: []types.TargetDescription{target(ha, pa), target(hb, pb)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: web.TargetGroupArn,
		Targets: []types.TargetDescription{target("i-web", pw)}}); err != nil {
		t.Fatal(err)
	}
	l := e.createLB(t, "shop", "")
	port := freePort(t)
	lis := e.createListener(t, *l.LoadBalancerArn, types.ProtocolEnumHttp, port, forward(*web.TargetGroupArn))
	rules := []elb.CreateRuleInput{
		{Priority: aws.Int32(10), Conditions: pathIs("/api/*"), Actions: forward(*api.TargetGroupArn)},
		{Priority: aws.Int32(20), Conditions: pathIs("/teapot"), Actions: fixed("418", "short and stout")},
		{Priority: aws.Int32(30), Conditions: pathIs("/old"), Actions: []types.Action{{Type: types.ActionTypeEnumRedirect,
			RedirectConfig: &types.RedirectActionConfig{Path: aws.String("/new"), StatusCode: types.RedirectActionStatusCodeEnumHttp301}}}},
		// An empty Query drops the request's query string (the default,
		// #{query}, keeps it).
		{Priority: aws.Int32(40), Conditions: pathIs("/bare"), Actions: []types.Action{{Type: types.ActionTypeEnumRedirect,
			RedirectConfig: &types.RedirectActionConfig{Path: aws.String("/landing"), Query: aws.String(""), StatusCode: types.RedirectActionStatusCodeEnumHttp302}}}},
	}
	for _, r := range rules {
		r.ListenerArn = lis.ListenerArn
		if _, err := e.elb.CreateRule(ctx, &r); err != nil {
			t.Fatalf("CreateRule(%d) = %v", *r.Priority, err)
		}
	}
	e.waitHealthy(t, api.TargetGroupArn)
	e.waitHealthy(t, web.TargetGroupArn)

	base := "http://127.0.0.1:" + strconv.Itoa(int(port))
	seen := map[string]bool{}
	for range 20 {
		code, body := get(t, base+"/api/items")
		if code != 200 || !strings.HasPrefix(body, "api-") || !strings.HasSuffix(body, " /api/items") {
			t.Fatalf("GET /api/items = %d %q; want 200 from an api target", code, body)
		}
		seen[strings.Fields(body)[0]] = true
	}
	if !seen["api-a"] || !seen["api-b"] {
		t.Errorf("GET /api/items reached %v; want both api targets", seen)
	}
	if code, body := get(t, base+"/"); code != 200 || body != "web /" {
		t.Errorf("GET / = %d %q; want 200 %q from the instance target", code, body, "web /")
	}
	if code, body := get(t, base+"/teapot"); code != 418 || body != "short and stout" {
		t.Errorf("GET /teapot = %d %q; want the fixed response", code, body)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct{ path, want string }{
		{"/old?x=1", "http://127.0.0.1:" + strconv.Itoa(int(port)) + "/new?x=1"},
		{"/bare?x=1", "http://127.0.0.1:" + strconv.Itoa(int(port)) + "/landing"},
	} {
		resp, err := noFollow.Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || loc != tc.want {
			t.Errorf("GET %s = %d Location %q; want a redirect to %q", tc.path, resp.StatusCode, loc, tc.want)
		}
	}

	// Changing the default action through ModifyListener applies at once.
	if _, err := e.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: lis.ListenerArn, DefaultActions: fixed("503", "maintenance")}); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, base+"/"); code != 503 || body != "maintenance" {
		t.Errorf("GET / after ModifyListener = %d %q; want 503 maintenance", code, body)
	}
}

// TestForwardTCP drives a network load balancer: a TCP listener forwards
// connections to an echo target.
func TestForwardTCP(t *testing.T) {
	e := start(t)
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { echo.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { defer c.Close(); _, _ = io.Copy(c, c) })
		}
	})
	ep := int32(echo.Addr().(*net.TCPAddr).Port)
	tg := e.createTG(t, "echo", types.ProtocolEnumTcp, types.TargetTypeEnumIp)
	if _, err := e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
		Targets: []types.TargetDescription{target("127.0.0.1", ep)}}); err != nil {
		t.Fatal(err)
	}
	l := e.createLB(t, "tcp", types.LoadBalancerTypeEnumNetwork)
	port := freePort(t)
	e.createListener(t, *l.LoadBalancerArn, types.ProtocolEnumTcp, port, forward(*tg.TargetGroupArn))
	e.waitHealthy(t, tg.TargetGroupArn)

	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(int(port)), 2*time.Second)
	if err != nil {
		t.Fatalf("dial the NLB listener: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "ping\n" {
		t.Errorf("echo through the NLB = %q, %v; want ping", line, err)
	}
}

// TestRunAppliesOthersWrites checks that writes another API instance makes
// to the store (as another server would) reach this instance's data plane
// through Run.
func TestRunAppliesOthersWrites(t *testing.T) {
	plane, err := lb.New(lb.Config{ShutdownGrace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var serving *elbv2.API
	srv := awsapitest.Start(t, func(gw *awsapi.Gateway, store *state.Store, _ *http.ServeMux) {
		// The API the clients talk to has no data plane of its own.
		gw.RegisterQuery(elbv2.New(elbv2.Config{ProvisionDelay: time.Millisecond}, store, nil).Service())
		serving = elbv2.New(elbv2.Config{}, store, plane)
	})
	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = plane.Run(runCtx) })
	wg.Go(func() { _ = serving.Run(runCtx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	c := elb.NewFromConfig(srv.Config())
	l, err := c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	lis, err := c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: l.LoadBalancers[0].LoadBalancerArn,
		Protocol: types.ProtocolEnumHttp, Port: aws.Int32(port), DefaultActions: fixed("200", "from the store")})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "listener bound by Run", func() bool { return listening(port) })
	if code, body := get(t, "http://127.0.0.1:"+strconv.Itoa(int(port))+"/"); code != 200 || body != "from the store" {
		t.Errorf("GET = %d %q; want 200 from the store", code, body)
	}
	if _, err := c.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: lis.Listeners[0].ListenerArn}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "listener unbound by Run", func() bool { return !listening(port) })
}
