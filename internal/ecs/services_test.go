package ecs_test

import (
	"encoding/json"
	"net"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// The service controller runs in the test cluster too. These tests start no
// instances, so services get no tasks; what the controller may still do
// (complete a deployment of no tasks, retire a superseded deployment that
// has none, finish draining a deleted service, add events) is allowed for
// where a test reads a service back.

func serviceARN(cluster, name string) string {
	return "arn:aws:ecs:us-east-1:" + account + ":service/" + cluster + "/" + name
}

var deploymentIDRE = regexp.MustCompile(`^ecs-svc/[0-9]{19}$`)

// webService starts a cluster with the default cluster and a task
// definition "web" (revision 1) listening on container port 8080.
func webService(t *testing.T) *ecs.Client {
	t.Helper()
	c, _ := webServiceLB(t)
	return c
}

// webServiceLB is webService with an application load balancer whose
// listener forwards to target group tg, and a target group no listener
// uses (lonely).
func webServiceLB(t *testing.T) (c *ecs.Client, tgs [2]string) {
	t.Helper()
	tc, c := start(t)
	createCluster(t, c, &ecs.CreateClusterInput{})
	register(t, c, appDef("web", 64, "-listen", ":8080"))
	elb := elasticloadbalancingv2.NewFromConfig(tc.Config())
	lbOut, err := elb.CreateLoadBalancer(ctx, &elasticloadbalancingv2.CreateLoadBalancerInput{Name: aws.String("web")})
	if err != nil {
		t.Fatalf("CreateLoadBalancer: %v", err)
	}
	for i, name := range []string{"web", "lonely"} {
		tg, err := elb.CreateTargetGroup(ctx, &elasticloadbalancingv2.CreateTargetGroupInput{
			Name: aws.String(name), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String("vpc-1"),
		})
		if err != nil {
			t.Fatalf("CreateTargetGroup: %v", err)
		}
		tgs[i] = aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if _, err := elb.CreateListener(ctx, &elasticloadbalancingv2.CreateListenerInput{
		LoadBalancerArn: lbOut.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(int32(port)),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgs[0])}},
	}); err != nil {
		t.Fatalf("CreateListener: %v", err)
	}
	return c, tgs
}

func createService(t *testing.T, c *ecs.Client, in *ecs.CreateServiceInput) *types.Service {
	t.Helper()
	out, err := c.CreateService(ctx, in)
	if err != nil {
		t.Fatalf("CreateService(%s) = %v", aws.ToString(in.ServiceName), err)
	}
	return out.Service
}

// describeService returns the one service DescribeServices finds, with tags.
func describeService(t *testing.T, c *ecs.Client, cluster, name string) types.Service {
	t.Helper()
	out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name},
		Include: []types.ServiceField{types.ServiceFieldTags}})
	if err != nil {
		t.Fatalf("DescribeServices(%s) = %v", name, err)
	}
	if len(out.Services) != 1 || len(out.Failures) != 0 {
		t.Fatalf("DescribeServices(%s) = %d services, failures %v; want 1 service", name, len(out.Services), failures(out.Failures))
	}
	return out.Services[0]
}

// wantMissing fails unless DescribeServices reports the service MISSING.
func wantMissing(t *testing.T, c *ecs.Client, cluster, name string) {
	t.Helper()
	out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	if err != nil {
		t.Fatalf("DescribeServices(%s) = %v", name, err)
	}
	if len(out.Services) != 0 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" ||
		aws.ToString(out.Failures[0].Arn) != serviceARN(cluster, name) {
		t.Fatalf("DescribeServices(%s) = %d services, failures %v; want MISSING %s", name, len(out.Services), failures(out.Failures), serviceARN(cluster, name))
	}
}

func TestCreateService(t *testing.T) {
	t.Parallel()
	c, tgs := webServiceLB(t)

	in := &ecs.CreateServiceInput{
		ServiceName:    aws.String("web"),
		TaskDefinition: aws.String("web"),
		DesiredCount:   aws.Int32(2),
		Tags:           tags("team", "a"),
		PlacementConstraints: []types.PlacementConstraint{
			{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.os-type == linux")},
		},
		PlacementStrategy:             []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}},
		HealthCheckGracePeriodSeconds: aws.Int32(30),
		PropagateTags:                 types.PropagateTagsService,
		EnableECSManagedTags:          true,
		DeploymentConfiguration: &types.DeploymentConfiguration{
			MinimumHealthyPercent:    aws.Int32(50),
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		},
		LoadBalancers: []types.LoadBalancer{{
			TargetGroupArn: aws.String(tgs[0]), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080),
		}},
		Role: aws.String("ecsServiceRole"),
	}
	before := time.Now().Add(-time.Second)
	s := createService(t, c, in)

	if got := aws.ToString(s.ServiceArn); got != serviceARN("default", "web") {
		t.Errorf("serviceArn = %q; want %q", got, serviceARN("default", "web"))
	}
	if aws.ToString(s.ServiceName) != "web" || aws.ToString(s.ClusterArn) != clusterARN("default") || aws.ToString(s.Status) != "ACTIVE" {
		t.Errorf("service = %s in %s, %s; want web in the default cluster, ACTIVE", aws.ToString(s.ServiceName), aws.ToString(s.ClusterArn), aws.ToString(s.Status))
	}
	if s.DesiredCount != 2 || s.RunningCount != 0 || s.PendingCount != 0 {
		t.Errorf("counts = desired %d running %d pending %d; want 2, 0, 0", s.DesiredCount, s.RunningCount, s.PendingCount)
	}
	if s.LaunchType != types.LaunchTypeEc2 || s.SchedulingStrategy != types.SchedulingStrategyReplica || aws.ToString(s.TaskDefinition) != taskDefARN("web", 1) {
		t.Errorf("launchType %s scheduling %s taskDefinition %s; want EC2 REPLICA %s", s.LaunchType, s.SchedulingStrategy, aws.ToString(s.TaskDefinition), taskDefARN("web", 1))
	}
	dc := s.DeploymentConfiguration
	if dc == nil || aws.ToInt32(dc.MaximumPercent) != 200 || aws.ToInt32(dc.MinimumHealthyPercent) != 50 ||
		dc.DeploymentCircuitBreaker == nil || !dc.DeploymentCircuitBreaker.Enable || !dc.DeploymentCircuitBreaker.Rollback {
		t.Errorf("deploymentConfiguration = %+v; want max 200 (default), min 50, circuit breaker with rollback", dc)
	}
	if s.DeploymentController == nil || s.DeploymentController.Type != types.DeploymentControllerTypeEcs {
		t.Errorf("deploymentController = %+v; want ECS", s.DeploymentController)
	}
	if s.PropagateTags != types.PropagateTagsService || !s.EnableECSManagedTags || aws.ToInt32(s.HealthCheckGracePeriodSeconds) != 30 {
		t.Errorf("propagateTags %s managed tags %v grace %v; want SERVICE, true, 30", s.PropagateTags, s.EnableECSManagedTags, s.HealthCheckGracePeriodSeconds)
	}
	if got := aws.ToString(s.RoleArn); got != "arn:aws:iam::"+account+":role/ecsServiceRole" {
		t.Errorf("roleArn = %q; want the ARN of role ecsServiceRole", got)
	}
	if s.CreatedAt == nil || s.CreatedAt.Before(before) || aws.ToString(s.CreatedBy) == "" {
		t.Errorf("createdAt %v createdBy %q; want now and the caller", s.CreatedAt, aws.ToString(s.CreatedBy))
	}
	if len(s.PlacementConstraints) != 1 || aws.ToString(s.PlacementConstraints[0].Expression) != "attribute:ecs.os-type == linux" ||
		len(s.PlacementStrategy) != 1 || s.PlacementStrategy[0].Type != types.PlacementStrategyTypeBinpack || aws.ToString(s.PlacementStrategy[0].Field) != "memory" {
		t.Errorf("placement = %+v %+v; want the request's", s.PlacementConstraints, s.PlacementStrategy)
	}
	if len(s.LoadBalancers) != 1 || aws.ToString(s.LoadBalancers[0].ContainerName) != "app" || aws.ToInt32(s.LoadBalancers[0].ContainerPort) != 8080 {
		t.Errorf("loadBalancers = %+v; want the request's", s.LoadBalancers)
	}
	if got := tagMap(s.Tags); !reflect.DeepEqual(got, map[string]string{"team": "a"}) {
		t.Errorf("tags = %v; want team=a", got)
	}
	if len(s.Deployments) != 1 {
		t.Fatalf("deployments = %d; want 1", len(s.Deployments))
	}
	d := s.Deployments[0]
	id := aws.ToString(d.Id)
	if !deploymentIDRE.MatchString(id) || aws.ToString(d.Status) != "PRIMARY" || aws.ToString(d.TaskDefinition) != taskDefARN("web", 1) ||
		d.DesiredCount != 2 || d.RolloutState != types.DeploymentRolloutStateInProgress ||
		aws.ToString(d.RolloutStateReason) != "ECS deployment "+id+" in progress." || d.LaunchType != types.LaunchTypeEc2 {
		t.Errorf("deployment = %s %s %s desired %d %s %q %s; want ecs-svc/<19 digits> PRIMARY web:1 2 IN_PROGRESS \"ECS deployment <id> in progress.\" EC2",
			id, aws.ToString(d.Status), aws.ToString(d.TaskDefinition), d.DesiredCount, d.RolloutState, aws.ToString(d.RolloutStateReason), d.LaunchType)
	}
	if !strings.HasPrefix(aws.ToString(s.CurrentServiceDeployment), "arn:aws:ecs:us-east-1:"+account+":service-deployment/default/web/") {
		t.Errorf("currentServiceDeployment = %q; want a service-deployment ARN", aws.ToString(s.CurrentServiceDeployment))
	}

	// DescribeServices shows the same service, with its tags only when asked.
	got := describeService(t, c, "default", "web")
	if aws.ToString(got.ServiceArn) != aws.ToString(s.ServiceArn) || got.DesiredCount != 2 || aws.ToString(got.TaskDefinition) != taskDefARN("web", 1) ||
		got.RunningCount != 0 || got.PendingCount != 0 || aws.ToString(got.Deployments[0].Id) != id || tagMap(got.Tags)["team"] != "a" {
		t.Errorf("DescribeServices(web) = %s desired %d td %s running %d pending %d deployment %s tags %v; want what CreateService returned",
			aws.ToString(got.ServiceArn), got.DesiredCount, aws.ToString(got.TaskDefinition), got.RunningCount, got.PendingCount, aws.ToString(got.Deployments[0].Id), tagMap(got.Tags))
	}
	out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{serviceARN("default", "web"), "nope"}})
	if err != nil || len(out.Services) != 1 || len(out.Failures) != 1 || out.Services[0].Tags != nil {
		t.Fatalf("DescribeServices(ARN, nope) = %+v, %v; want 1 service without tags and 1 failure", out, err)
	}
	if f := out.Failures[0]; aws.ToString(f.Arn) != serviceARN("default", "nope") || aws.ToString(f.Reason) != "MISSING" {
		t.Errorf("DescribeServices(nope) failure = %s %s; want %s MISSING", aws.ToString(f.Arn), aws.ToString(f.Reason), serviceARN("default", "nope"))
	}

	// The cluster counts its service.
	if cl := describeCluster(t, c, "default"); cl.ActiveServicesCount != 1 {
		t.Errorf("cluster activeServicesCount = %d; want 1", cl.ActiveServicesCount)
	}

	// A DAEMON service gets the daemon defaults.
	dm := createService(t, c, &ecs.CreateServiceInput{ServiceName: aws.String("agent"), TaskDefinition: aws.String("web:1"),
		SchedulingStrategy: types.SchedulingStrategyDaemon})
	if dm.SchedulingStrategy != types.SchedulingStrategyDaemon || aws.ToInt32(dm.DeploymentConfiguration.MaximumPercent) != 100 ||
		aws.ToInt32(dm.DeploymentConfiguration.MinimumHealthyPercent) != 0 || dm.DesiredCount != 0 {
		t.Errorf("DAEMON service = %s max %d min %d desired %d; want DAEMON 100 0 0", dm.SchedulingStrategy,
			aws.ToInt32(dm.DeploymentConfiguration.MaximumPercent), aws.ToInt32(dm.DeploymentConfiguration.MinimumHealthyPercent), dm.DesiredCount)
	}
}

func TestCreateServiceRejected(t *testing.T) {
	t.Parallel()
	c, tgs := webServiceLB(t)
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("other")})
	register(t, c, appDef("old", 64))
	if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("old:1")}); err != nil {
		t.Fatal(err)
	}
	awsvpc := appDef("vpc", 64)
	awsvpc.NetworkMode = types.NetworkModeAwsvpc
	register(t, c, awsvpc)
	fargate := appDef("fg", 64)
	fargate.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
	fargate.NetworkMode = types.NetworkModeAwsvpc
	fargate.Cpu, fargate.Memory = aws.String("256"), aws.String("512")
	register(t, c, fargate)

	tg := "arn:aws:elasticloadbalancing:us-east-1:" + account + ":targetgroup/web/0123456789abcdef"
	many := make([]types.PlacementConstraint, 11)
	for i := range many {
		many[i] = types.PlacementConstraint{Type: types.PlacementConstraintTypeDistinctInstance}
	}
	cases := []struct {
		name   string
		change func(*ecs.CreateServiceInput)
		code   string
		msg    string
	}{
		{"bad name", func(in *ecs.CreateServiceInput) { in.ServiceName = aws.String("a b") }, "InvalidParameterException", ""},
		{"long name", func(in *ecs.CreateServiceInput) { in.ServiceName = aws.String(strings.Repeat("a", 256)) }, "InvalidParameterException", ""},
		{"unknown cluster", func(in *ecs.CreateServiceInput) { in.Cluster = aws.String("nope") }, "ClusterNotFoundException", "Cluster not found."},
		{"unknown task definition", func(in *ecs.CreateServiceInput) { in.TaskDefinition = aws.String("nope") }, "ClientException", "TaskDefinition not found."},
		{"unknown revision", func(in *ecs.CreateServiceInput) { in.TaskDefinition = aws.String("web:9") }, "ClientException", "TaskDefinition not found."},
		{"inactive task definition", func(in *ecs.CreateServiceInput) { in.TaskDefinition = aws.String("old:1") }, "ClientException", "TaskDefinition is inactive"},
		{"awsvpc task definition", func(in *ecs.CreateServiceInput) { in.TaskDefinition = aws.String("vpc") }, "InvalidParameterException", ""},
		{"FARGATE-only task definition", func(in *ecs.CreateServiceInput) { in.TaskDefinition = aws.String("fg") }, "InvalidParameterException", "Task definition does not support launch_type EC2."},
		{"negative desired count", func(in *ecs.CreateServiceInput) { in.DesiredCount = aws.Int32(-1) }, "InvalidParameterException", ""},
		{"DAEMON with a desired count", func(in *ecs.CreateServiceInput) { in.SchedulingStrategy = types.SchedulingStrategyDaemon },
			"InvalidParameterException", "The daemon scheduling strategy does not support a desired count for services."},
		{"DAEMON with strategies", func(in *ecs.CreateServiceInput) {
			in.SchedulingStrategy, in.DesiredCount = types.SchedulingStrategyDaemon, nil
			in.PlacementStrategy = []types.PlacementStrategy{{Type: types.PlacementStrategyTypeRandom}}
		}, "InvalidParameterException", "The daemon scheduling strategy does not support placement strategies."},
		{"DAEMON above 100%", func(in *ecs.CreateServiceInput) {
			in.SchedulingStrategy, in.DesiredCount = types.SchedulingStrategyDaemon, nil
			in.DeploymentConfiguration = &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200)}
		}, "InvalidParameterException", "The daemon scheduling strategy does not support values above 100 for maximumPercent on a deployment configuration. Change the maximumPercent value to 100, and try again"},
		{"unknown scheduling strategy", func(in *ecs.CreateServiceInput) { in.SchedulingStrategy = "SOMETIMES" }, "InvalidParameterException", ""},
		{"FARGATE", func(in *ecs.CreateServiceInput) { in.LaunchType = types.LaunchTypeFargate }, "InvalidParameterException", ""},
		{"capacity provider strategy", func(in *ecs.CreateServiceInput) {
			in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE")}}
		}, "InvalidParameterException", ""},
		{"CODE_DEPLOY controller", func(in *ecs.CreateServiceInput) {
			in.DeploymentController = &types.DeploymentController{Type: types.DeploymentControllerTypeCodeDeploy}
		}, "InvalidParameterException", ""},
		{"network configuration", func(in *ecs.CreateServiceInput) {
			in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}
		}, "InvalidParameterException", ""},
		{"execute command", func(in *ecs.CreateServiceInput) { in.EnableExecuteCommand = true }, "InvalidParameterException", ""},
		{"platform version", func(in *ecs.CreateServiceInput) { in.PlatformVersion = aws.String("LATEST") }, "InvalidParameterException", "The platform version must be null when specifying an EC2 launch type."},
		{"minimum above 100", func(in *ecs.CreateServiceInput) {
			in.DeploymentConfiguration = &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(150)}
		}, "InvalidParameterException", ""},
		{"maximum below 100", func(in *ecs.CreateServiceInput) {
			in.DeploymentConfiguration = &types.DeploymentConfiguration{MaximumPercent: aws.Int32(50), MinimumHealthyPercent: aws.Int32(0)}
		}, "InvalidParameterException", ""},
		{"BLUE_GREEN", func(in *ecs.CreateServiceInput) {
			in.DeploymentConfiguration = &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen}
		}, "InvalidParameterException", ""},
		{"bad memberOf expression", func(in *ecs.CreateServiceInput) {
			in.PlacementConstraints = []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:x ==")}}
		}, "InvalidParameterException", ""},
		{"too many constraints", func(in *ecs.CreateServiceInput) { in.PlacementConstraints = many }, "InvalidParameterException", ""},
		{"bad binpack field", func(in *ecs.CreateServiceInput) {
			in.PlacementStrategy = []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("disk")}}
		}, "InvalidParameterException", ""},
		{"load balancer without target", func(in *ecs.CreateServiceInput) {
			in.LoadBalancers = []types.LoadBalancer{{ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}}
		}, "InvalidParameterException", ""},
		{"load balancer bad target group ARN", func(in *ecs.CreateServiceInput) {
			in.LoadBalancers = []types.LoadBalancer{{TargetGroupArn: aws.String("tg-1"), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}}
		}, "InvalidParameterException", ""},
		{"load balancer unknown container", func(in *ecs.CreateServiceInput) {
			in.LoadBalancers = []types.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("db"), ContainerPort: aws.Int32(8080)}}
		}, "InvalidParameterException", "The container db does not exist in the task definition."},
		{"unknown target group", func(in *ecs.CreateServiceInput) {
			in.LoadBalancers = []types.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}}
		}, "InvalidParameterException", "The target group with targetGroupArn " + tg + " does not exist."},
		{"target group without a load balancer", func(in *ecs.CreateServiceInput) {
			in.LoadBalancers = []types.LoadBalancer{{TargetGroupArn: aws.String(tgs[1]), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}}
		}, "InvalidParameterException", "The target group with targetGroupArn " + tgs[1] + " does not have an associated load balancer."},
		{"classic load balancer", func(in *ecs.CreateServiceInput) {
			in.LoadBalancers = []types.LoadBalancer{{LoadBalancerName: aws.String("classic"), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}}
		}, "InvalidParameterException", ""},
		{"load balancer unknown port", func(in *ecs.CreateServiceInput) {
			in.LoadBalancers = []types.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("app"), ContainerPort: aws.Int32(9090)}}
		}, "InvalidParameterException", "The container app does not have a container port 9090 defined."},
		{"bad registry ARN", func(in *ecs.CreateServiceInput) {
			in.ServiceRegistries = []types.ServiceRegistry{{RegistryArn: aws.String("srv-1")}}
		}, "InvalidParameterException", ""},
		{"role without load balancers", func(in *ecs.CreateServiceInput) { in.Role = aws.String("ecsServiceRole") }, "InvalidParameterException", ""},
		{"bad propagateTags", func(in *ecs.CreateServiceInput) { in.PropagateTags = "ALWAYS" }, "InvalidParameterException", ""},
		{"negative grace period", func(in *ecs.CreateServiceInput) { in.HealthCheckGracePeriodSeconds = aws.Int32(-1) }, "InvalidParameterException", ""},
		{"reserved tag", func(in *ecs.CreateServiceInput) { in.Tags = tags("aws:x", "y") }, "InvalidParameterException", ""},
		{"long client token", func(in *ecs.CreateServiceInput) { in.ClientToken = aws.String(strings.Repeat("t", 37)) }, "InvalidParameterException", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)}
			tc.change(in)
			_, err := c.CreateService(ctx, in)
			wantError(t, "CreateService("+tc.name+")", err, tc.code, tc.msg)
		})
	}
	wantMissing(t, c, "default", "web")
	if cl := describeCluster(t, c, "default"); cl.ActiveServicesCount != 0 {
		t.Errorf("activeServicesCount after rejected requests = %d; want 0", cl.ActiveServicesCount)
	}
}

func TestCreateServiceRequiredMembers(t *testing.T) {
	t.Parallel()
	tc, c := start(t)
	createCluster(t, c, &ecs.CreateClusterInput{})
	register(t, c, appDef("web", 64))
	for _, body := range []string{`{}`, `{"taskDefinition": "web"}`, `{"serviceName": "web"}`, `{"serviceName": "", "taskDefinition": "web"}`} {
		resp := rawCall(t, tc, "CreateService", body)
		if resp.Status != http.StatusBadRequest || resp.Type != "InvalidParameterException" || resp.Message == "" {
			t.Errorf("CreateService(%s) = %d %s %q; want 400 InvalidParameterException with a message", body, resp.Status, resp.Type, resp.Message)
		}
	}
	// A service of a request with neither desiredCount nor strategy has 0.
	resp := rawCall(t, tc, "CreateService", `{"serviceName": "web", "taskDefinition": "web"}`)
	var out struct {
		Service struct {
			DesiredCount       *int32 `json:"desiredCount"`
			SchedulingStrategy string `json:"schedulingStrategy"`
			LoadBalancers      []any  `json:"loadBalancers"`
			PlacementStrategy  []any  `json:"placementStrategy"`
			Events             []any  `json:"events"`
			PropagateTags      string `json:"propagateTags"`
		} `json:"service"`
	}
	if err := json.Unmarshal(resp.Body, &out); resp.Status != http.StatusOK || err != nil {
		t.Fatalf("CreateService(minimal) = %d %s", resp.Status, resp.Body)
	}
	s := out.Service
	if s.DesiredCount == nil || *s.DesiredCount != 0 || s.SchedulingStrategy != "REPLICA" || s.PropagateTags != "NONE" ||
		s.LoadBalancers == nil || s.PlacementStrategy == nil || s.Events == nil {
		t.Errorf("CreateService(minimal) = %s; want desiredCount 0, REPLICA, propagateTags NONE and empty lists", resp.Body)
	}
}

func TestCreateServiceIdempotent(t *testing.T) {
	t.Parallel()
	c := webService(t)
	in := &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1),
		ClientToken: aws.String("token-1")}
	first := createService(t, c, in)
	again, err := c.CreateService(ctx, in)
	if err != nil {
		t.Fatalf("CreateService(same request, same token) = %v; want the service", err)
	}
	if aws.ToString(again.Service.ServiceArn) != aws.ToString(first.ServiceArn) ||
		aws.ToString(again.Service.Deployments[0].Id) != aws.ToString(first.Deployments[0].Id) {
		t.Errorf("repeated CreateService = %s deployment %s; want the first one's %s %s", aws.ToString(again.Service.ServiceArn),
			aws.ToString(again.Service.Deployments[0].Id), aws.ToString(first.ServiceArn), aws.ToString(first.Deployments[0].Id))
	}

	for _, tc := range []struct {
		name   string
		change func(*ecs.CreateServiceInput)
	}{
		{"another token", func(in *ecs.CreateServiceInput) { in.ClientToken = aws.String("token-2") }},
		{"no token", func(in *ecs.CreateServiceInput) { in.ClientToken = nil }},
		{"same token, another request", func(in *ecs.CreateServiceInput) { in.DesiredCount = aws.Int32(3) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := *in
			tc.change(&other)
			_, err := c.CreateService(ctx, &other)
			wantError(t, "CreateService("+tc.name+")", err, "InvalidParameterException", "Creation of service was not idempotent.")
		})
	}
	if s := describeService(t, c, "default", "web"); s.DesiredCount != 1 {
		t.Errorf("desiredCount after rejected creates = %d; want 1", s.DesiredCount)
	}
	ls, err := c.ListServices(ctx, &ecs.ListServicesInput{})
	if err != nil || len(ls.ServiceArns) != 1 {
		t.Errorf("ListServices = %v, %v; want one service", ls, err)
	}
}

func TestUpdateService(t *testing.T) {
	t.Parallel()
	c := webService(t)
	created := createService(t, c, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)})
	firstID := aws.ToString(created.Deployments[0].Id)

	// A new desired count changes the service and its PRIMARY deployment.
	out, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(3)})
	if err != nil {
		t.Fatalf("UpdateService(desiredCount 3) = %v", err)
	}
	s := out.Service
	if s.DesiredCount != 3 || len(s.Deployments) != 1 || aws.ToString(s.Deployments[0].Id) != firstID || s.Deployments[0].DesiredCount != 3 {
		t.Errorf("after desiredCount 3: desired %d, %d deployments, first %s desired %d; want 3, 1, %s, 3",
			s.DesiredCount, len(s.Deployments), aws.ToString(s.Deployments[0].Id), s.Deployments[0].DesiredCount, firstID)
	}

	// A new task definition starts a new PRIMARY deployment; the old one
	// stays as ACTIVE, with its rollout state, until its tasks are gone.
	register(t, c, appDef("web", 128, "-listen", ":8080"))
	out, err = c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String(serviceARN("default", "web")), TaskDefinition: aws.String("web")})
	if err != nil {
		t.Fatalf("UpdateService(taskDefinition web) = %v", err)
	}
	s = out.Service
	if aws.ToString(s.TaskDefinition) != taskDefARN("web", 2) || len(s.Deployments) != 2 {
		t.Fatalf("after a new task definition: %s with %d deployments; want %s with 2", aws.ToString(s.TaskDefinition), len(s.Deployments), taskDefARN("web", 2))
	}
	p, old := s.Deployments[0], s.Deployments[1]
	if aws.ToString(p.Status) != "PRIMARY" || aws.ToString(p.TaskDefinition) != taskDefARN("web", 2) || aws.ToString(p.Id) == firstID ||
		!deploymentIDRE.MatchString(aws.ToString(p.Id)) || p.DesiredCount != 3 || p.RolloutState != types.DeploymentRolloutStateInProgress {
		t.Errorf("new deployment = %s %s %s desired %d %s; want a new PRIMARY of web:2, desired 3, IN_PROGRESS",
			aws.ToString(p.Id), aws.ToString(p.Status), aws.ToString(p.TaskDefinition), p.DesiredCount, p.RolloutState)
	}
	if aws.ToString(old.Status) != "ACTIVE" || aws.ToString(old.Id) != firstID || aws.ToString(old.TaskDefinition) != taskDefARN("web", 1) ||
		old.RolloutState != types.DeploymentRolloutStateInProgress {
		t.Errorf("old deployment = %s %s %s %s; want %s ACTIVE web:1 IN_PROGRESS", aws.ToString(old.Id), aws.ToString(old.Status),
			aws.ToString(old.TaskDefinition), old.RolloutState, firstID)
	}
	secondID := aws.ToString(p.Id)

	// The same task definition again changes nothing; forceNewDeployment
	// starts a deployment of it anyway.
	out, err = c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String("web:2")})
	if err != nil || aws.ToString(out.Service.Deployments[0].Id) != secondID {
		t.Errorf("UpdateService(same task definition) = %v; want PRIMARY %s still", err, secondID)
	}
	out, err = c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), ForceNewDeployment: true})
	if err != nil {
		t.Fatalf("UpdateService(forceNewDeployment) = %v", err)
	}
	if p := out.Service.Deployments[0]; aws.ToString(p.Id) == secondID || aws.ToString(p.TaskDefinition) != taskDefARN("web", 2) {
		t.Errorf("forced deployment = %s of %s; want a new one of web:2", aws.ToString(p.Id), aws.ToString(p.TaskDefinition))
	}

	// Placement changes start a deployment; an empty list clears.
	out, err = c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"),
		PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("instanceId")}}})
	if err != nil || len(out.Service.PlacementStrategy) != 1 || len(out.Service.Deployments) < 2 {
		t.Fatalf("UpdateService(placementStrategy) = %+v, %v; want the strategy and a new deployment", out, err)
	}
	placedID := aws.ToString(out.Service.Deployments[0].Id)
	out, err = c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), PlacementStrategy: []types.PlacementStrategy{}})
	if err != nil || len(out.Service.PlacementStrategy) != 0 || aws.ToString(out.Service.Deployments[0].Id) == placedID {
		t.Errorf("UpdateService(placementStrategy []) = %+v, %v; want no strategy and a new deployment", out, err)
	}

	// Deployment configuration members merge.
	out, err = c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"),
		DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50)}})
	if dc := out.Service.DeploymentConfiguration; err != nil || aws.ToInt32(dc.MaximumPercent) != 200 || aws.ToInt32(dc.MinimumHealthyPercent) != 50 {
		t.Errorf("UpdateService(minimumHealthyPercent 50) = %+v, %v; want max 200, min 50", dc, err)
	}
	out, err = c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), HealthCheckGracePeriodSeconds: aws.Int32(15),
		PropagateTags: types.PropagateTagsTaskDefinition, EnableECSManagedTags: aws.Bool(true)})
	if s := out.Service; err != nil || aws.ToInt32(s.HealthCheckGracePeriodSeconds) != 15 || s.PropagateTags != types.PropagateTagsTaskDefinition || !s.EnableECSManagedTags {
		t.Errorf("UpdateService(grace, tags) = %+v, %v", out, err)
	}

	// Rejected updates change nothing.
	register(t, c, appDef("other", 64))
	if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("other:1")}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		in   *ecs.UpdateServiceInput
		code string
		msg  string
	}{
		{"unknown service", &ecs.UpdateServiceInput{Service: aws.String("nope"), DesiredCount: aws.Int32(1)}, "ServiceNotFoundException", "Service not found."},
		{"service of another cluster", &ecs.UpdateServiceInput{Service: aws.String(serviceARN("other", "web")), DesiredCount: aws.Int32(1)}, "ServiceNotFoundException", "Service not found."},
		{"unknown cluster", &ecs.UpdateServiceInput{Cluster: aws.String("nope"), Service: aws.String("web")}, "ClusterNotFoundException", ""},
		{"unknown task definition", &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String("nope"), DesiredCount: aws.Int32(7)}, "ClientException", "TaskDefinition not found."},
		{"inactive task definition", &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String("other:1")}, "ClientException", "TaskDefinition is inactive"},
		{"negative desired count", &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(-1)}, "InvalidParameterException", ""},
		{"bad minimum", &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(7),
			DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(101)}}, "InvalidParameterException", ""},
		{"bad strategy", &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(7),
			PlacementStrategy: []types.PlacementStrategy{{Type: "pack"}}}, "InvalidParameterException", ""},
		{"load balancer of an unknown container", &ecs.UpdateServiceInput{Service: aws.String("web"), LoadBalancers: []types.LoadBalancer{{
			LoadBalancerName: aws.String("lb"), ContainerName: aws.String("db"), ContainerPort: aws.Int32(80)}}}, "InvalidParameterException", ""},
		{"execute command", &ecs.UpdateServiceInput{Service: aws.String("web"), EnableExecuteCommand: aws.Bool(true)}, "InvalidParameterException", ""},
		{"platform version", &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(7), PlatformVersion: aws.String("1.4.0")},
			"InvalidParameterException", "The platform version must be null when specifying an EC2 launch type."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.UpdateService(ctx, tc.in)
			wantError(t, "UpdateService("+tc.name+")", err, tc.code, tc.msg)
		})
	}
	ds := describeService(t, c, "default", "web")
	if ds.DesiredCount != 3 || aws.ToString(ds.TaskDefinition) != taskDefARN("web", 2) || aws.ToInt32(ds.DeploymentConfiguration.MinimumHealthyPercent) != 50 ||
		len(ds.PlacementStrategy) != 0 || len(ds.LoadBalancers) != 0 {
		t.Errorf("after rejected updates: desired %d td %s min %d strategies %d lbs %d; want 3 web:2 50 0 0", ds.DesiredCount,
			aws.ToString(ds.TaskDefinition), aws.ToInt32(ds.DeploymentConfiguration.MinimumHealthyPercent), len(ds.PlacementStrategy), len(ds.LoadBalancers))
	}

	// A DAEMON service has no desired count to update.
	createService(t, c, &ecs.CreateServiceInput{ServiceName: aws.String("daemon"), TaskDefinition: aws.String("web"),
		SchedulingStrategy: types.SchedulingStrategyDaemon})
	_, err = c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("daemon"), DesiredCount: aws.Int32(2)})
	wantError(t, "UpdateService(DAEMON desiredCount)", err, "InvalidParameterException", "The daemon scheduling strategy does not support a desired count for services.")

	// A deleted service cannot be updated.
	if _, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("web"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(1)})
	wantError(t, "UpdateService(deleted)", err, "ServiceNotActiveException", "Service was not ACTIVE.")
}

func TestDeleteService(t *testing.T) {
	t.Parallel()
	c := webService(t)
	createService(t, c, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2)})

	_, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("web")})
	wantError(t, "DeleteService(scaled above 0)", err, "InvalidParameterException", "The service cannot be stopped while it is scaled above 0.")
	if s := describeService(t, c, "default", "web"); aws.ToString(s.Status) != "ACTIVE" || s.DesiredCount != 2 {
		t.Errorf("after a rejected delete: %s desired %d; want ACTIVE 2", aws.ToString(s.Status), s.DesiredCount)
	}
	_, err = c.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("nope")})
	wantError(t, "DeleteService(unknown)", err, "ServiceNotFoundException", "Service not found.")
	_, err = c.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("web"), Cluster: aws.String("nope")})
	wantError(t, "DeleteService(unknown cluster)", err, "ClusterNotFoundException", "")

	// The cluster cannot be deleted while the service is active.
	_, err = c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("default")})
	wantError(t, "DeleteCluster(with a service)", err, "ClusterContainsServicesException", "")

	out, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("web"), Force: aws.Bool(true)})
	if err != nil {
		t.Fatalf("DeleteService(force) = %v", err)
	}
	s := out.Service
	if aws.ToString(s.Status) != "DRAINING" || s.DesiredCount != 0 || len(s.Deployments) != 1 || s.Deployments[0].DesiredCount != 0 {
		t.Errorf("DeleteService(force) = %s desired %d deployments %+v; want DRAINING, 0, one deployment of 0", aws.ToString(s.Status), s.DesiredCount, s.Deployments)
	}

	// Deleting it again returns it while it drains; once drained (the
	// service controller finishes at once, as it has no tasks) it is gone.
	out, err = c.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("web")})
	switch {
	case err == nil && aws.ToString(out.Service.Status) != "DRAINING":
		t.Errorf("DeleteService(again) = %s; want DRAINING", aws.ToString(out.Service.Status))
	case err != nil:
		wantError(t, "DeleteService(again)", err, "ServiceNotFoundException", "Service not found.")
		if st := aws.ToString(describeService(t, c, "default", "web").Status); st != "INACTIVE" {
			t.Errorf("DeleteService(again) = ServiceNotFoundException but the service is %s; want INACTIVE", st)
		}
	}

	// It is described (DRAINING or INACTIVE) but no longer listed or counted.
	if st := aws.ToString(describeService(t, c, "default", "web").Status); st != "DRAINING" && st != "INACTIVE" {
		t.Errorf("deleted service status = %s; want DRAINING or INACTIVE", st)
	}
	ls, err := c.ListServices(ctx, &ecs.ListServicesInput{})
	if err != nil || len(ls.ServiceArns) != 0 {
		t.Errorf("ListServices after delete = %v, %v; want none", ls, err)
	}
	if cl := describeCluster(t, c, "default"); cl.ActiveServicesCount != 0 {
		t.Errorf("activeServicesCount after delete = %d; want 0", cl.ActiveServicesCount)
	}

	// While it drains, ECS refuses the name; once it is INACTIVE (the
	// service controller may already have finished) the name is free.
	_, err = c.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)})
	if err != nil {
		wantError(t, "CreateService(draining name)", err, "InvalidParameterException", "Unable to Start a service that is still Draining.")
	} else if s := describeService(t, c, "default", "web"); aws.ToString(s.Status) != "ACTIVE" || s.DesiredCount != 1 {
		t.Errorf("recreated service = %s desired %d; want ACTIVE 1", aws.ToString(s.Status), s.DesiredCount)
	}

	// A DAEMON service is deleted without force.
	createService(t, c, &ecs.CreateServiceInput{ServiceName: aws.String("daemon"), TaskDefinition: aws.String("web"),
		SchedulingStrategy: types.SchedulingStrategyDaemon})
	if out, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("daemon")}); err != nil || aws.ToString(out.Service.Status) != "DRAINING" {
		t.Errorf("DeleteService(DAEMON) = %v; want DRAINING", err)
	}
}

func TestListServices(t *testing.T) {
	t.Parallel()
	c := webService(t)
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("other")})
	var want []string
	for _, name := range []string{"e", "a", "d", "b"} {
		createService(t, c, &ecs.CreateServiceInput{ServiceName: aws.String(name), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)})
	}
	createService(t, c, &ecs.CreateServiceInput{ServiceName: aws.String("c"), TaskDefinition: aws.String("web"), SchedulingStrategy: types.SchedulingStrategyDaemon})
	createService(t, c, &ecs.CreateServiceInput{Cluster: aws.String("other"), ServiceName: aws.String("x"), TaskDefinition: aws.String("web")})
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		want = append(want, serviceARN("default", name))
	}

	var got []string
	var token *string
	for pages := 0; ; pages++ {
		out, err := c.ListServices(ctx, &ecs.ListServicesInput{MaxResults: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatalf("ListServices(page %d) = %v", pages, err)
		}
		if len(out.ServiceArns) > 2 {
			t.Fatalf("ListServices(maxResults 2) = %d ARNs", len(out.ServiceArns))
		}
		got = append(got, out.ServiceArns...)
		if token = out.NextToken; token == nil {
			break
		}
		if pages > 5 {
			t.Fatal("ListServices never stops paging")
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("ListServices pages = %v; want %v", got, want)
	}

	for _, tc := range []struct {
		name string
		in   *ecs.ListServicesInput
		want []string
	}{
		{"default page size", &ecs.ListServicesInput{}, want},
		{"DAEMON", &ecs.ListServicesInput{SchedulingStrategy: types.SchedulingStrategyDaemon}, []string{serviceARN("default", "c")}},
		{"REPLICA", &ecs.ListServicesInput{SchedulingStrategy: types.SchedulingStrategyReplica}, slices.DeleteFunc(slices.Clone(want), func(s string) bool { return strings.HasSuffix(s, "/c") })},
		{"EC2", &ecs.ListServicesInput{LaunchType: types.LaunchTypeEc2}, want},
		{"FARGATE", &ecs.ListServicesInput{LaunchType: types.LaunchTypeFargate}, nil},
		{"other cluster", &ecs.ListServicesInput{Cluster: aws.String(clusterARN("other"))}, []string{serviceARN("other", "x")}},
	} {
		out, err := c.ListServices(ctx, tc.in)
		if err != nil || !slices.Equal(out.ServiceArns, tc.want) || (tc.want == nil && out.ServiceArns == nil) {
			t.Errorf("ListServices(%s) = %v, %v; want %v", tc.name, out.ServiceArns, err, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		in   *ecs.ListServicesInput
		code string
	}{
		{"maxResults 0", &ecs.ListServicesInput{MaxResults: aws.Int32(0)}, "InvalidParameterException"},
		{"maxResults 101", &ecs.ListServicesInput{MaxResults: aws.Int32(101)}, "InvalidParameterException"},
		{"bad token", &ecs.ListServicesInput{NextToken: aws.String("garbage")}, "InvalidParameterException"},
		{"bad launch type", &ecs.ListServicesInput{LaunchType: "SPACE"}, "InvalidParameterException"},
		{"bad strategy", &ecs.ListServicesInput{SchedulingStrategy: "SOMETIMES"}, "InvalidParameterException"},
		{"unknown cluster", &ecs.ListServicesInput{Cluster: aws.String("nope")}, "ClusterNotFoundException"},
	} {
		_, err := c.ListServices(ctx, tc.in)
		wantError(t, "ListServices("+tc.name+")", err, tc.code, "")
	}
}

func TestDescribeServicesRejected(t *testing.T) {
	t.Parallel()
	c := webService(t)
	many := make([]string, 11)
	for i := range many {
		many[i] = "s"
	}
	for _, tc := range []struct {
		name string
		in   *ecs.DescribeServicesInput
		code string
	}{
		{"no services", &ecs.DescribeServicesInput{Services: []string{}}, "InvalidParameterException"},
		{"11 services", &ecs.DescribeServicesInput{Services: many}, "InvalidParameterException"},
		{"bad include", &ecs.DescribeServicesInput{Services: []string{"s"}, Include: []types.ServiceField{"EVERYTHING"}}, "InvalidParameterException"},
		{"unknown cluster", &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"s"}}, "ClusterNotFoundException"},
	} {
		_, err := c.DescribeServices(ctx, tc.in)
		wantError(t, "DescribeServices("+tc.name+")", err, tc.code, "")
	}
}

func TestServiceDeployments(t *testing.T) {
	t.Parallel()
	c := webService(t)
	created := createService(t, c, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2),
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true}}})
	firstARN := aws.ToString(created.CurrentServiceDeployment)
	register(t, c, appDef("web", 128, "-listen", ":8080"))
	up, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String("web:2")})
	if err != nil {
		t.Fatal(err)
	}
	secondARN := aws.ToString(up.Service.CurrentServiceDeployment)
	if firstARN == "" || secondARN == firstARN {
		t.Fatalf("currentServiceDeployment = %q then %q; want two ARNs", firstARN, secondARN)
	}

	out, err := c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String("web")})
	if err != nil {
		t.Fatalf("ListServiceDeployments = %v", err)
	}
	if len(out.ServiceDeployments) != 2 || aws.ToString(out.ServiceDeployments[0].ServiceDeploymentArn) != secondARN ||
		aws.ToString(out.ServiceDeployments[1].ServiceDeploymentArn) != firstARN {
		t.Fatalf("ListServiceDeployments = %+v; want %s then %s", out.ServiceDeployments, secondARN, firstARN)
	}
	if b := out.ServiceDeployments[0]; b.Status != types.ServiceDeploymentStatusInProgress || aws.ToString(b.ServiceArn) != serviceARN("default", "web") ||
		!strings.Contains(aws.ToString(b.TargetServiceRevisionArn), ":service-revision/default/web/") {
		t.Errorf("newest service deployment = %s %s %s; want IN_PROGRESS of the service with a revision ARN", b.Status, aws.ToString(b.ServiceArn), aws.ToString(b.TargetServiceRevisionArn))
	}
	if st := out.ServiceDeployments[1].Status; st != types.ServiceDeploymentStatusStopped {
		t.Errorf("superseded service deployment status = %s; want STOPPED", st)
	}

	// Filters and paging.
	f, err := c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String(serviceARN("default", "web")),
		Status: []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusStopped}})
	if err != nil || len(f.ServiceDeployments) != 1 || aws.ToString(f.ServiceDeployments[0].ServiceDeploymentArn) != firstARN {
		t.Errorf("ListServiceDeployments(STOPPED) = %+v, %v; want the first", f, err)
	}
	f, err = c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String("web"),
		CreatedAt: &types.CreatedAt{After: aws.Time(time.Now().Add(time.Hour))}})
	if err != nil || len(f.ServiceDeployments) != 0 {
		t.Errorf("ListServiceDeployments(created in an hour) = %+v, %v; want none", f, err)
	}
	page, err := c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String("web"), MaxResults: aws.Int32(1)})
	if err != nil || len(page.ServiceDeployments) != 1 || page.NextToken == nil {
		t.Fatalf("ListServiceDeployments(maxResults 1) = %+v, %v; want one and a token", page, err)
	}
	page, err = c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String("web"), MaxResults: aws.Int32(1), NextToken: page.NextToken})
	if err != nil || len(page.ServiceDeployments) != 1 || aws.ToString(page.ServiceDeployments[0].ServiceDeploymentArn) != firstARN || page.NextToken != nil {
		t.Errorf("ListServiceDeployments(page 2) = %+v, %v; want the first and no token", page, err)
	}
	_, err = c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String("nope")})
	wantError(t, "ListServiceDeployments(unknown)", err, "ServiceNotFoundException", "Service not found.")
	_, err = c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String("web"), Status: []types.ServiceDeploymentStatus{"DONE"}})
	wantError(t, "ListServiceDeployments(bad status)", err, "InvalidParameterException", "")

	// DescribeServiceDeployments.
	missingARN := "arn:aws:ecs:us-east-1:" + account + ":service-deployment/default/web/nope"
	d, err := c.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{secondARN, firstARN, missingARN}})
	if err != nil {
		t.Fatalf("DescribeServiceDeployments = %v", err)
	}
	if len(d.ServiceDeployments) != 2 || len(d.Failures) != 1 || aws.ToString(d.Failures[0].Arn) != missingARN || aws.ToString(d.Failures[0].Reason) != "MISSING" {
		t.Fatalf("DescribeServiceDeployments = %d deployments, failures %v; want 2 and %s MISSING", len(d.ServiceDeployments), failures(d.Failures), missingARN)
	}
	sd := d.ServiceDeployments[0]
	if sd.Status != types.ServiceDeploymentStatusInProgress || sd.TargetServiceRevision == nil || sd.TargetServiceRevision.RequestedTaskCount != 2 ||
		sd.TargetServiceRevision.RunningTaskCount != 0 || len(sd.SourceServiceRevisions) != 1 || sd.StartedAt == nil || sd.CreatedAt == nil {
		t.Errorf("newest service deployment = %+v; want IN_PROGRESS, target of 2 tasks, one source, started", sd)
	}
	if cb := sd.DeploymentCircuitBreaker; cb == nil || cb.Status != types.ServiceDeploymentRollbackMonitorsStatusMonitoring || cb.Threshold != 3 || cb.FailureCount != 0 {
		t.Errorf("circuit breaker = %+v; want MONITORING, threshold 3, no failures", cb)
	}
	if dc := sd.DeploymentConfiguration; dc == nil || aws.ToInt32(dc.MaximumPercent) != 200 {
		t.Errorf("deploymentConfiguration = %+v; want max 200", dc)
	}
	if sd := d.ServiceDeployments[1]; sd.Status != types.ServiceDeploymentStatusStopped || len(sd.SourceServiceRevisions) != 0 {
		t.Errorf("first service deployment = %s with %d sources; want STOPPED with none", sd.Status, len(sd.SourceServiceRevisions))
	}
	_, err = c.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{}})
	wantError(t, "DescribeServiceDeployments(none)", err, "InvalidParameterException", "")
}

func TestServiceTags(t *testing.T) {
	t.Parallel()
	c := webService(t)
	createService(t, c, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1), Tags: tags("a", "1")})
	arn := serviceARN("default", "web")
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: tags("b", "2", "a", "3")}); err != nil {
		t.Fatalf("TagResource(service) = %v", err)
	}
	if _, err := c.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"b"}}); err != nil {
		t.Fatalf("UntagResource(service) = %v", err)
	}
	if got := listTags(t, c, arn); !reflect.DeepEqual(got, map[string]string{"a": "3"}) {
		t.Errorf("service tags = %v; want a=3", got)
	}
	if got := tagMap(describeService(t, c, "default", "web").Tags); !reflect.DeepEqual(got, map[string]string{"a": "3"}) {
		t.Errorf("DescribeServices tags = %v; want a=3", got)
	}
	for _, tc := range []struct{ arn, code string }{
		{serviceARN("default", "nope"), "ResourceNotFoundException"},
		{serviceARN("nope", "web"), "ClusterNotFoundException"},
	} {
		_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(tc.arn), Tags: tags("k", "v")})
		wantError(t, "TagResource("+tc.arn+")", err, tc.code, "")
		_, err = c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(tc.arn)})
		wantError(t, "ListTagsForResource("+tc.arn+")", err, tc.code, "")
	}

	// The old short ARN format, without the cluster, names the service for
	// the other calls but not for tagging.
	short := "arn:aws:ecs:us-east-1:" + account + ":service/web"
	const longARN = "Long arn format must be used for tagging operations."
	_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(short), Tags: tags("k", "v")})
	wantError(t, "TagResource(short ARN)", err, "InvalidParameterException", longARN)
	_, err = c.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(short), TagKeys: []string{"a"}})
	wantError(t, "UntagResource(short ARN)", err, "InvalidParameterException", longARN)
	_, err = c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(short)})
	wantError(t, "ListTagsForResource(short ARN)", err, "InvalidParameterException", longARN)
	if got := listTags(t, c, arn); !reflect.DeepEqual(got, map[string]string{"a": "3"}) {
		t.Errorf("service tags after short-ARN calls = %v; want a=3", got)
	}
}

func TestListTasksByService(t *testing.T) {
	t.Parallel()
	c := webService(t)
	createService(t, c, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web")})
	out, err := c.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("web")})
	if err != nil || out.TaskArns == nil || len(out.TaskArns) != 0 {
		t.Errorf("ListTasks(serviceName web) = %v, %v; want an empty list", out, err)
	}
	_, err = c.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("nope")})
	wantError(t, "ListTasks(unknown service)", err, "ServiceNotFoundException", "Service not found.")
}

func TestCreateDaemonServiceCount(t *testing.T) {
	t.Parallel()
	c, _ := placementCluster(t)
	// One task for each ACTIVE instance that meets the constraints.
	for _, tc := range []struct {
		name string
		cons []types.PlacementConstraint
		want int32
	}{
		{"everywhere", nil, 3},
		{"one zone", []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.availability-zone == us-east-1b")}}, 1},
		{"nowhere", []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:stack exists")}}, 0},
	} {
		s := createService(t, c, &ecs.CreateServiceInput{ServiceName: aws.String("d-" + strings.ReplaceAll(tc.name, " ", "-")), TaskDefinition: aws.String("web"),
			SchedulingStrategy: types.SchedulingStrategyDaemon, PlacementConstraints: tc.cons})
		if s.DesiredCount != tc.want || s.Deployments[0].DesiredCount != tc.want {
			t.Errorf("CreateService(DAEMON, %s) desiredCount = %d (deployment %d); want %d", tc.name, s.DesiredCount, s.Deployments[0].DesiredCount, tc.want)
		}
	}
}
