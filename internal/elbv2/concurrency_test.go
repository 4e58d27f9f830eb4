package elbv2_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/berthhq/berth/internal/elbv2"
)

// ownClient is an ELBv2 client with a transport of its own, closed when
// the test ends, for calls from many goroutines.
func (e *env) ownClient(t *testing.T) *elb.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return elb.NewFromConfig(e.srv.Config(), func(o *elb.Options) {
		o.HTTPClient = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	})
}

// TestConcurrentWrites races writers on one document: every registration
// lands, and of the rules that want one priority exactly one gets it.
func TestConcurrentWrites(t *testing.T) {
	e := start(t)
	c := e.ownClient(t)
	tg := e.createTG(t, "tg", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	l := e.createLB(t, "web", "")
	lis := e.createListener(t, *l.LoadBalancerArn, types.ProtocolEnumHttp, freePort(t), fixed("404", "x"))

	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = c.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn,
				Targets: []types.TargetDescription{target("10.0.0."+strconv.Itoa(i+1), 80)}})
		})
		wg.Go(func() {
			_, errs[n+i] = c.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: lis.ListenerArn, Priority: aws.Int32(7),
				Conditions: pathIs("/" + strconv.Itoa(i)), Actions: fixed("200", "x")})
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case i < n && err != nil:
			t.Errorf("RegisterTargets #%d = %v; want nil", i, err)
		case i >= n && err == nil:
			won++
		case i >= n && code(err) != "PriorityInUse":
			t.Errorf("CreateRule #%d = %v; want nil or PriorityInUse", i-n, err)
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent CreateRule(priority 7) succeeded; want 1", won)
	}
	if got := e.health(t, tg.TargetGroupArn); len(got) != n {
		t.Errorf("targets after %d concurrent registrations = %d; want %d", n, len(got), n)
	}
	if got := e.priorities(t, lis.ListenerArn); got != "7,default" {
		t.Errorf("rules = %s; want 7,default", got)
	}
}

func TestInjectedClock(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	e := start(t, func(c *elbv2.Config) { c.Now = func() time.Time { return at } })
	l := e.createLB(t, "web", "")
	if !l.CreatedTime.Equal(at) {
		t.Errorf("CreatedTime = %v; want the injected clock's %v", l.CreatedTime, at)
	}
}
