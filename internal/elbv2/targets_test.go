package elbv2_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// backend is an HTTP server on loopback that answers with its name.
func backend(t *testing.T, name string) (host string, port int32) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	h, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	n, _ := strconv.Atoi(p)
	return h, int32(n)
}

func target(id string, port int32) types.TargetDescription {
	return types.TargetDescription{Id: aws.String(id), Port: aws.Int32(port)}
}

// health returns "id:port=state/reason" for each target DescribeTargetHealth
// reports.
func (e *env) health(t *testing.T, arn *string, targets ...types.TargetDescription) []string {
	t.Helper()
	out, err := e.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: arn, Targets: targets})
	if err != nil {
		t.Fatalf("DescribeTargetHealth = %v", err)
	}
	var s []string
	for _, d := range out.TargetHealthDescriptions {
		s = append(s, fmt.Sprintf("%s:%d=%s/%s", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port), d.TargetHealth.State, d.TargetHealth.Reason))
	}
	return s
}

func TestRegisterTargetsInstances(t *testing.T) {
	e := start(t)
	host, port := backend(t, "a")
	e.instances.set("i-0123456789abcdef0", host)
	g := e.createTG(t, "tg", types.ProtocolEnumHttp, "")
	arn := g.TargetGroupArn

	_, err := e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: arn, Targets: []types.TargetDescription{target("i-unknown", port)}})
	wantError(t, "RegisterTargets(unknown instance)", err, "InvalidTarget", "")
	_, err = e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: arn, Targets: []types.TargetDescription{target("i-0123456789abcdef0", 0)}})
	wantError(t, "RegisterTargets(port 0)", err, "ValidationError", "")
	if got := e.health(t, arn); len(got) != 0 {
		t.Fatalf("targets after refused registrations = %v; want none", got)
	}

	if _, err := e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: arn,
		Targets: []types.TargetDescription{target("i-0123456789abcdef0", port)}}); err != nil {
		t.Fatalf("RegisterTargets = %v", err)
	}
	// Registered again: still one.
	if _, err := e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: arn,
		Targets: []types.TargetDescription{target("i-0123456789abcdef0", port)}}); err != nil {
		t.Fatalf("RegisterTargets again = %v", err)
	}
	// No listener uses the group: the target is unused.
	want := fmt.Sprintf("i-0123456789abcdef0:%d=unused/Target.NotInUse", port)
	if got := e.health(t, arn); len(got) != 1 || got[0] != want {
		t.Fatalf("DescribeTargetHealth (group unused) = %v; want [%s]", got, want)
	}
	out, err := e.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: arn})
	if err != nil || aws.ToString(out.TargetHealthDescriptions[0].HealthCheckPort) != strconv.Itoa(int(port)) {
		t.Errorf("HealthCheckPort = %v, %v; want the traffic port %d", out, err, port)
	}

	// Used by a listener: healthy after its health checks, as the
	// target-in-service waiter sees.
	l := e.createLB(t, "web", "")
	e.createListener(t, *l.LoadBalancerArn, types.ProtocolEnumHttp, freePort(t), forward(*arn))
	w := elb.NewTargetInServiceWaiter(e.elb, func(o *elb.TargetInServiceWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 50*time.Millisecond
	})
	if err := w.Wait(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: arn,
		Targets: []types.TargetDescription{target("i-0123456789abcdef0", port)}}, 10*time.Second); err != nil {
		t.Fatalf("target-in-service waiter = %v (health %v)", err, e.health(t, arn))
	}

	// A target named explicitly that is not registered: unused,
	// NotRegistered; an instance Berth does not know: InvalidTarget.
	want = fmt.Sprintf("i-0123456789abcdef0:%d=unused/Target.NotRegistered", port+1)
	if got := e.health(t, arn, target("i-0123456789abcdef0", port+1)); len(got) != 1 || got[0] != want {
		t.Errorf("DescribeTargetHealth(unregistered port) = %v; want [%s]", got, want)
	}
	_, err = e.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: arn, Targets: []types.TargetDescription{target("i-gone", 80)}})
	wantError(t, "DescribeTargetHealth(unknown instance)", err, "InvalidTarget", "")

	// The instance goes away: its target is unused, InvalidState.
	e.instances.remove("i-0123456789abcdef0")
	// The data plane may still be draining the instance's old address
	// (for the group's deregistration delay): that shows as a draining
	// entry beside the unused one.
	want = fmt.Sprintf("i-0123456789abcdef0:%d=unused/Target.InvalidState", port)
	got := e.health(t, arn)
	rest := slices.DeleteFunc(slices.Clone(got), func(s string) bool {
		return s == want || s == fmt.Sprintf("i-0123456789abcdef0:%d=draining/Target.DeregistrationInProgress", port)
	})
	if !slices.Contains(got, want) || len(rest) != 0 {
		t.Errorf("DescribeTargetHealth(instance gone) = %v; want [%s] (and at most its old address draining)", got, want)
	}
}

func TestDeregisterTargetsDrains(t *testing.T) {
	e := start(t)
	host, port := backend(t, "a")
	g := e.createTG(t, "tg", types.ProtocolEnumHttp, types.TargetTypeEnumIp)
	arn := g.TargetGroupArn
	if _, err := e.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: arn,
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("1")}}}); err != nil {
		t.Fatal(err)
	}
	l := e.createLB(t, "web", "")
	e.createListener(t, *l.LoadBalancerArn, types.ProtocolEnumHttp, freePort(t), forward(*arn))
	tgt := target(host, port)
	if _, err := e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: arn, Targets: []types.TargetDescription{tgt}}); err != nil {
		t.Fatalf("RegisterTargets = %v", err)
	}
	_, err := e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: arn, Targets: []types.TargetDescription{target("not-an-ip", 80)}})
	wantError(t, "RegisterTargets(not an IP)", err, "InvalidTarget", "")

	if _, err := e.elb.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: arn, Targets: []types.TargetDescription{tgt}}); err != nil {
		t.Fatalf("DeregisterTargets = %v", err)
	}
	want := fmt.Sprintf("%s:%d=draining/Target.DeregistrationInProgress", host, port)
	if got := e.health(t, arn); len(got) != 1 || got[0] != want {
		t.Errorf("DescribeTargetHealth right after DeregisterTargets = %v; want [%s]", got, want)
	}
	// The target-deregistered waiter: unused once the delay has passed.
	w := elb.NewTargetDeregisteredWaiter(e.elb, func(o *elb.TargetDeregisteredWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 100*time.Millisecond
	})
	if err := w.Wait(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: arn, Targets: []types.TargetDescription{tgt}}, 10*time.Second); err != nil {
		t.Fatalf("target-deregistered waiter = %v (health %v)", err, e.health(t, arn, tgt))
	}
	if got := e.health(t, arn); len(got) != 0 {
		t.Errorf("DescribeTargetHealth after draining = %v; want none", got)
	}
	// Deregistering what is not registered changes nothing.
	if _, err := e.elb.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: arn, Targets: []types.TargetDescription{tgt}}); err != nil {
		t.Errorf("DeregisterTargets(not registered) = %v; want nil", err)
	}
	_, err = e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(*arn + "0"), Targets: []types.TargetDescription{tgt}})
	wantError(t, "RegisterTargets(bad ARN)", err, "ValidationError", "")
	gone := *arn
	gone = gone[:len(gone)-1] + "0"
	if gone == *arn {
		gone = gone[:len(gone)-1] + "1"
	}
	_, err = e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(gone), Targets: []types.TargetDescription{tgt}})
	wantError(t, "RegisterTargets(missing group)", err, "TargetGroupNotFound", "")
}
