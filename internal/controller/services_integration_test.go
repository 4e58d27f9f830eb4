package controller_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthhq/berth/internal/controller"
	"github.com/berthhq/berth/internal/server"
	"github.com/berthhq/berth/internal/testcluster"
)

var ctx = context.Background()

// fastTiming shrinks the service controller's clocks so that a test sees
// a whole rollout in a few seconds.
func fastCluster(t *testing.T, agents int) (*testcluster.Cluster, *ecs.Client) {
	t.Helper()
	tc := testcluster.Start(t, testcluster.WithFakeAgents(agents, nil), testcluster.WithServer(func(c *server.Config) {
		c.AgentGrace = time.Second
		c.AgentHeartbeat = 100 * time.Millisecond
		c.InstanceLostAfter = 2 * time.Second
		c.ServiceTiming = controller.Timing{
			HealthyAfter: 300 * time.Millisecond,
			ThrottleBase: 50 * time.Millisecond, ThrottleMax: 500 * time.Millisecond,
		}
	}))
	return tc, tc.ECS()
}

func registerApp(t *testing.T, client *ecs.Client, image string, args ...string) string {
	t.Helper()
	if args == nil {
		args = []string{}
	}
	out, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("app"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(image), Command: args,
			Cpu: 256, Memory: aws.Int32(128), Essential: aws.Bool(true),
		}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func waitStable(t *testing.T, client *ecs.Client, service string, within time.Duration) *types.Service {
	t.Helper()
	w := ecs.NewServicesStableWaiter(client, func(o *ecs.ServicesStableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 300*time.Millisecond
	})
	in := &ecs.DescribeServicesInput{Services: []string{service}}
	if err := w.Wait(ctx, in, within); err != nil {
		svc := describe(t, client, service)
		t.Fatalf("services-stable(%s): %v\nservice: running %d pending %d desired %d deployments %s\nevents:\n%s",
			service, err, svc.RunningCount, svc.PendingCount, svc.DesiredCount, deployments(svc), events(svc))
	}
	return describe(t, client, service)
}

func describe(t *testing.T, client *ecs.Client, service string) *types.Service {
	t.Helper()
	out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{service}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices(%s) = %v, %v", service, out, err)
	}
	return &out.Services[0]
}

func deployments(s *types.Service) string {
	var b strings.Builder
	for _, d := range s.Deployments {
		fmt.Fprintf(&b, "[%s %s %s run=%d pend=%d failed=%d %s] ", aws.ToString(d.Id), aws.ToString(d.Status), d.RolloutState,
			d.RunningCount, d.PendingCount, d.FailedTasks, aws.ToString(d.TaskDefinition))
	}
	return b.String()
}

func events(s *types.Service) string {
	var b strings.Builder
	for _, e := range s.Events {
		b.WriteString("  " + aws.ToString(e.Message) + "\n")
	}
	return b.String()
}

// serviceTasks returns the service's tasks in desiredStatus RUNNING.
func serviceTasks(t *testing.T, client *ecs.Client, service string) []types.Task {
	t.Helper()
	list, err := client.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String(service)})
	if err != nil {
		t.Fatalf("ListTasks(%s): %v", service, err)
	}
	if len(list.TaskArns) == 0 {
		return nil
	}
	out, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: list.TaskArns})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	return out.Tasks
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestServiceKeepsCountAndRollsOut(t *testing.T) {
	tc, client := fastCluster(t, 3)
	v1 := registerApp(t, client, "testapp:latest")
	out, err := client.CreateService(ctx, &ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String("app"), DesiredCount: aws.Int32(3),
	})
	if err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	if got := aws.ToString(out.Service.Status); got != "ACTIVE" {
		t.Errorf("CreateService status = %s; want ACTIVE", got)
	}
	svc := waitStable(t, client, "web", 20*time.Second)
	if svc.RunningCount != 3 || len(svc.Deployments) != 1 {
		t.Fatalf("stable service: running %d deployments %s; want 3 running, one deployment", svc.RunningCount, deployments(svc))
	}
	eventually(t, 10*time.Second, "the deployment completes once its tasks are healthy", func() bool {
		svc = describe(t, client, "web")
		return svc.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	if !strings.Contains(events(svc), "service (web) has reached a steady state.") {
		t.Errorf("events:\n%s; want the steady state", events(svc))
	}
	depID := aws.ToString(svc.Deployments[0].Id)
	tasks := serviceTasks(t, client, "web")
	instances := map[string]bool{}
	for _, task := range tasks {
		if aws.ToString(task.Group) != "service:web" || aws.ToString(task.StartedBy) != depID {
			t.Errorf("task group %q startedBy %q; want service:web and %s", aws.ToString(task.Group), aws.ToString(task.StartedBy), depID)
		}
		instances[aws.ToString(task.ContainerInstanceArn)] = true
	}
	if len(instances) != 3 {
		t.Errorf("tasks on %d instances; want spread over 3", len(instances))
	}

	// A task that dies is replaced.
	victim := tasks[0]
	for _, a := range tc.Agents {
		if a.Agent.InstanceARN() == aws.ToString(victim.ContainerInstanceArn) {
			if err := a.Runtime.Kill(aws.ToString(victim.Containers[0].RuntimeId)); err != nil {
				t.Fatalf("Kill: %v", err)
			}
		}
	}
	eventually(t, 20*time.Second, "the killed task is replaced", func() bool {
		n := 0
		for _, task := range serviceTasks(t, client, "web") {
			if aws.ToString(task.LastStatus) == "RUNNING" && aws.ToString(task.TaskArn) != aws.ToString(victim.TaskArn) {
				n++
			}
		}
		return n == 3
	})

	// A new task definition rolls out.
	v2 := registerApp(t, client, "testapp:latest", "-term-delay", "10ms")
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(v2)}); err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	svc = describe(t, client, "web")
	if len(svc.Deployments) != 2 || aws.ToString(svc.Deployments[0].Status) != "PRIMARY" {
		t.Fatalf("after UpdateService deployments = %s; want a new PRIMARY first", deployments(svc))
	}
	svc = waitStable(t, client, "web", 30*time.Second)
	if aws.ToString(svc.TaskDefinition) != v2 || aws.ToString(svc.Deployments[0].TaskDefinition) != v2 {
		t.Fatalf("after rollout: taskDefinition %s; want %s", aws.ToString(svc.TaskDefinition), v2)
	}
	for _, task := range serviceTasks(t, client, "web") {
		if aws.ToString(task.TaskDefinitionArn) != v2 {
			t.Errorf("task %s runs %s after the rollout; want %s", aws.ToString(task.TaskArn), aws.ToString(task.TaskDefinitionArn), v1)
		}
	}
	depOut, err := client.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String("web")})
	if err != nil || len(depOut.ServiceDeployments) < 2 {
		t.Errorf("ListServiceDeployments = %v, %v; want both deployments", depOut, err)
	}

	// Scale in, then delete.
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatalf("UpdateService desiredCount: %v", err)
	}
	svc = waitStable(t, client, "web", 20*time.Second)
	if svc.RunningCount != 1 {
		t.Errorf("after scale-in running %d; want 1", svc.RunningCount)
	}
	if _, err := client.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("web"), Force: aws.Bool(true)}); err != nil {
		t.Fatalf("DeleteService: %v", err)
	}
	inactive := ecs.NewServicesInactiveWaiter(client, func(o *ecs.ServicesInactiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 300*time.Millisecond
	})
	if err := inactive.Wait(ctx, &ecs.DescribeServicesInput{Services: []string{"web"}}, 20*time.Second); err != nil {
		t.Fatalf("services-inactive: %v", err)
	}
	list, err := client.ListTasks(ctx, &ecs.ListTasksInput{DesiredStatus: types.DesiredStatusRunning})
	if err != nil || len(list.TaskArns) != 0 {
		t.Errorf("tasks left running after delete: %v, %v", list, err)
	}
}

func TestCircuitBreakerRollsBack(t *testing.T) {
	_, client := fastCluster(t, 2)
	good := registerApp(t, client, "testapp:latest")
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String(good), DesiredCount: aws.Int32(2),
		DeploymentConfiguration: &types.DeploymentConfiguration{
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		},
	}); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	waitStable(t, client, "web", 20*time.Second)
	eventually(t, 10*time.Second, "the first deployment completes", func() bool {
		return describe(t, client, "web").Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	bad := registerApp(t, client, "no-such-image:1")
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(bad)}); err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	var svc *types.Service
	eventually(t, 30*time.Second, "the circuit breaker rolls back", func() bool {
		svc = describe(t, client, "web")
		return len(svc.Deployments) > 0 && aws.ToString(svc.Deployments[0].TaskDefinition) == good &&
			strings.HasPrefix(aws.ToString(svc.Deployments[0].RolloutStateReason), "ECS deployment circuit breaker: rolling back to deploymentId ")
	})
	svc = waitStable(t, client, "web", 30*time.Second)
	if aws.ToString(svc.TaskDefinition) != good || svc.RunningCount != 2 {
		t.Errorf("after rollback: taskDefinition %s running %d; want %s and 2", aws.ToString(svc.TaskDefinition), svc.RunningCount, good)
	}
	list, err := client.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String("web")})
	if err != nil {
		t.Fatalf("ListServiceDeployments: %v", err)
	}
	var arns []string
	for _, d := range list.ServiceDeployments {
		arns = append(arns, aws.ToString(d.ServiceDeploymentArn))
	}
	desc, err := client.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: arns})
	if err != nil {
		t.Fatalf("DescribeServiceDeployments: %v", err)
	}
	// As in ECS, the failed deployment and its rollback are one service
	// deployment, which ends ROLLBACK_SUCCESSFUL: the first one's and this
	// one's are all there are.
	var statuses []types.ServiceDeploymentStatus
	for _, d := range desc.ServiceDeployments {
		statuses = append(statuses, d.Status)
		if d.Status != types.ServiceDeploymentStatusRollbackSuccessful {
			continue
		}
		if cb := d.DeploymentCircuitBreaker; cb == nil || cb.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered || cb.FailureCount < 3 {
			t.Errorf("rolled back service deployment's circuit breaker = %+v; want TRIGGERED with >= 3 failures", cb)
		}
		if d.Rollback == nil || aws.ToString(d.Rollback.ServiceRevisionArn) == "" || d.Rollback.StartedAt == nil ||
			!strings.HasPrefix(aws.ToString(d.Rollback.Reason), "ECS deployment circuit breaker: rolling back to deploymentId ") {
			t.Errorf("rolled back service deployment's rollback = %+v; want the reason, start and revision", d.Rollback)
		}
		if d.FinishedAt == nil {
			t.Error("rolled back service deployment has no finishedAt")
		}
	}
	slices.Sort(statuses)
	if want := []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusRollbackSuccessful, types.ServiceDeploymentStatusSuccessful}; !slices.Equal(statuses, want) {
		t.Errorf("service deployments after the rollback = %v; want %v", statuses, want)
	}
	if svc := describe(t, client, "web"); len(arns) > 0 && aws.ToString(svc.CurrentServiceDeployment) != arns[0] {
		t.Errorf("currentServiceDeployment = %s; want the newest, %s", aws.ToString(svc.CurrentServiceDeployment), arns[0])
	}
}

func TestDrainingMovesServiceTasks(t *testing.T) {
	_, client := fastCluster(t, 3)
	registerApp(t, client, "testapp:latest")
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String("app"), DesiredCount: aws.Int32(3),
		DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(200)},
	}); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	waitStable(t, client, "web", 20*time.Second)
	// A standalone task too: draining leaves it alone.
	run, err := client.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("app"), Count: aws.Int32(1)})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask = %v, %v", run, err)
	}
	drain := aws.ToString(run.Tasks[0].ContainerInstanceArn)
	if _, err := client.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
		ContainerInstances: []string{drain}, Status: types.ContainerInstanceStatusDraining,
	}); err != nil {
		t.Fatalf("UpdateContainerInstancesState: %v", err)
	}
	eventually(t, 20*time.Second, "service tasks leave the draining instance", func() bool {
		n := 0
		for _, task := range serviceTasks(t, client, "web") {
			if aws.ToString(task.DesiredStatus) != "RUNNING" {
				continue
			}
			if aws.ToString(task.ContainerInstanceArn) == drain {
				return false
			}
			if aws.ToString(task.LastStatus) == "RUNNING" {
				n++
			}
		}
		return n == 3
	})
	desc, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{aws.ToString(run.Tasks[0].TaskArn)}})
	if err != nil || aws.ToString(desc.Tasks[0].DesiredStatus) != "RUNNING" {
		t.Errorf("standalone task on the draining instance: %v, %v; want it left running", desc, err)
	}
	// ACTIVE again: new placements may land there.
	if _, err := client.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
		ContainerInstances: []string{drain}, Status: types.ContainerInstanceStatusActive,
	}); err != nil {
		t.Fatalf("UpdateContainerInstancesState ACTIVE: %v", err)
	}
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(6)}); err != nil {
		t.Fatal(err)
	}
	waitStable(t, client, "web", 20*time.Second)
	onIt := 0
	for _, task := range serviceTasks(t, client, "web") {
		if aws.ToString(task.ContainerInstanceArn) == drain && aws.ToString(task.DesiredStatus) == "RUNNING" {
			onIt++
		}
	}
	if onIt == 0 {
		t.Errorf("no service task placed on the instance after it was set ACTIVE again")
	}
}

func TestLostInstanceTasksReplacedAndSupersededOnReturn(t *testing.T) {
	tc, client := fastCluster(t, 3)
	registerApp(t, client, "testapp:latest")
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String("app"), DesiredCount: aws.Int32(3),
	}); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	waitStable(t, client, "web", 20*time.Second)
	lost := tc.Agents[0]
	lostARN := lost.Agent.InstanceARN()
	lost.Stop(t) // its containers keep running, as after a network partition
	eventually(t, 20*time.Second, "the lost instance's task is replaced elsewhere", func() bool {
		n := 0
		for _, task := range serviceTasks(t, client, "web") {
			if aws.ToString(task.DesiredStatus) == "RUNNING" && aws.ToString(task.LastStatus) == "RUNNING" &&
				aws.ToString(task.ContainerInstanceArn) != lostARN {
				n++
			}
		}
		return n == 3
	})
	if svc := describe(t, client, "web"); svc.RunningCount != 3 {
		t.Errorf("while the instance is lost: running %d; want 3 (its superseded task not counted)", svc.RunningCount)
	}
	lost.Start(t)
	eventually(t, 20*time.Second, "the returning agent stops the superseded task", func() bool {
		for _, task := range serviceTasks(t, client, "web") {
			if aws.ToString(task.ContainerInstanceArn) == lostARN && aws.ToString(task.LastStatus) != "STOPPED" {
				return false
			}
		}
		return true
	})
	svc := waitStable(t, client, "web", 20*time.Second)
	if svc.RunningCount != 3 {
		t.Errorf("running %d after the agent returned; want 3", svc.RunningCount)
	}
}

func TestDaemonService(t *testing.T) {
	_, client := fastCluster(t, 3)
	registerApp(t, client, "testapp:latest")
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{
		ServiceName: aws.String("agentd"), TaskDefinition: aws.String("app"), SchedulingStrategy: types.SchedulingStrategyDaemon,
	}); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	svc := waitStable(t, client, "agentd", 20*time.Second)
	if svc.DesiredCount != 3 || svc.RunningCount != 3 {
		t.Fatalf("daemon desired %d running %d; want 3 and 3", svc.DesiredCount, svc.RunningCount)
	}
	var insts []string
	for _, task := range serviceTasks(t, client, "agentd") {
		insts = append(insts, aws.ToString(task.ContainerInstanceArn))
	}
	slices.Sort(insts)
	if len(slices.Compact(insts)) != 3 {
		t.Errorf("daemon tasks on %v; want one on each of 3 instances", insts)
	}
}

func TestUnplaceableServiceSaysWhy(t *testing.T) {
	_, client := fastCluster(t, 1)
	if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("huge"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("testapp:latest"), Cpu: 256, Memory: aws.Int32(1 << 20),
		}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{
		ServiceName: aws.String("huge"), TaskDefinition: aws.String("huge"), DesiredCount: aws.Int32(1),
	}); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	want := "service huge was unable to place a task because no container instance met all of its requirements. The closest matching container-instance "
	var svc *types.Service
	eventually(t, 10*time.Second, "a placement failure event", func() bool {
		svc = describe(t, client, "huge")
		return strings.Contains(events(svc), want)
	})
	if !strings.Contains(events(svc), "has insufficient memory available.") {
		t.Errorf("events:\n%s; want the closest instance's missing memory", events(svc))
	}
	n := len(svc.Events)
	time.Sleep(time.Second)
	if svc = describe(t, client, "huge"); len(svc.Events) != n {
		t.Errorf("events grew from %d to %d while nothing changed; want the failure said once", n, len(svc.Events))
	}
}
