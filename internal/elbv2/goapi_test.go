package elbv2_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/berthhq/berth/internal/elbv2"
	"github.com/berthhq/berth/internal/errdefs"
)

// TestGoAPI drives the API the ECS service controller uses: a service task
// registered as an instance target at its host port, its health, and its
// deregistration.
func TestGoAPI(t *testing.T) {
	e := start(t)
	host, port := backend(t, "task")
	e.instances.set("i-0aaaaaaaaaaaaaaaa", host)
	tg := e.createTG(t, "svc", types.ProtocolEnumHttp, "")
	arn := *tg.TargetGroupArn

	info, ok := e.api.TargetGroupInfo(account, region, arn)
	if !ok || info.Name != "svc" || info.Protocol != "HTTP" || info.Port != 80 || info.TargetType != "instance" ||
		len(info.LoadBalancerARNs) != 0 || info.DeregistrationDelay != 300*time.Second {
		t.Errorf("TargetGroupInfo = %+v, %v; want svc, HTTP:80, instance, no load balancers, 300 s", info, ok)
	}
	if _, ok := e.api.TargetGroupInfo("111111111111", region, arn); ok {
		t.Errorf("TargetGroupInfo from another account = ok; want not found")
	}
	l := e.createLB(t, "web", "")
	e.createListener(t, *l.LoadBalancerArn, types.ProtocolEnumHttp, freePort(t), forward(arn))
	if info, _ := e.api.TargetGroupInfo(account, region, arn); len(info.LoadBalancerARNs) != 1 || info.LoadBalancerARNs[0] != *l.LoadBalancerArn {
		t.Errorf("TargetGroupInfo.LoadBalancerARNs = %v; want [%s]", info.LoadBalancerARNs, *l.LoadBalancerArn)
	}

	task := []elbv2.TargetDescription{{ID: "i-0aaaaaaaaaaaaaaaa", Port: port}}
	if err := e.api.RegisterTargets(ctx, account, region, arn, task); err != nil {
		t.Fatalf("RegisterTargets = %v", err)
	}
	// The API sees the registration too.
	e.waitHealthy(t, tg.TargetGroupArn)
	hs, err := e.api.TargetHealth(ctx, account, region, arn)
	if err != nil || len(hs) != 1 || hs[0].Target.ID != "i-0aaaaaaaaaaaaaaaa" || hs[0].Target.Port != int(port) || hs[0].State != "healthy" {
		t.Fatalf("TargetHealth = %+v, %v; want the instance, healthy", hs, err)
	}

	if _, err := e.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn,
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("0")}}}); err != nil {
		t.Fatal(err)
	}
	if info, _ := e.api.TargetGroupInfo(account, region, arn); info.DeregistrationDelay != 0 {
		t.Errorf("TargetGroupInfo.DeregistrationDelay = %v; want 0", info.DeregistrationDelay)
	}
	if err := e.api.DeregisterTargets(ctx, account, region, arn, task); err != nil {
		t.Fatalf("DeregisterTargets = %v", err)
	}
	eventually(t, "target drained", func() bool {
		hs, err := e.api.TargetHealth(ctx, account, region, arn)
		return err == nil && len(hs) == 0
	})

	// Errors are classed for Go callers.
	errs := []struct {
		name  string
		err   error
		class error
	}{
		{"unknown instance", e.api.RegisterTargets(ctx, account, region, arn, []elbv2.TargetDescription{{ID: "i-nope", Port: 80}}), errdefs.ErrInvalidArgument},
		{"no id", e.api.RegisterTargets(ctx, account, region, arn, []elbv2.TargetDescription{{Port: 80}}), errdefs.ErrInvalidArgument},
		{"bad ARN", e.api.RegisterTargets(ctx, account, region, "tg", task), errdefs.ErrInvalidArgument},
		{"another account", e.api.RegisterTargets(ctx, "111111111111", region, arn, task), errdefs.ErrNotFound},
	}
	for _, tc := range errs {
		if !errors.Is(tc.err, tc.class) {
			t.Errorf("RegisterTargets(%s) = %v; want %v", tc.name, tc.err, tc.class)
		}
	}
	if _, err := e.api.TargetHealth(ctx, account, "eu-west-1", arn); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("TargetHealth(other region) = %v; want not found", err)
	}
}
