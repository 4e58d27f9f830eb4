package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/moby/moby/client"
)

// twoAgents is a dev cluster whose second agent runs as its own process on
// the same Docker engine, in another availability zone.
type twoAgents struct {
	*devCluster
	agentDir string
	agent    *proc
	// zone maps a container instance ARN to its availability zone.
	zone map[string]string
}

func (c *twoAgents) startAgent() {
	c.t.Helper()
	c.agent = startBerth(c.t, c.bin, "", nil, "agent", "--server", "https://"+c.addr,
		"--join-token-file", filepath.Join(c.dir, "join-token"), "--data-dir", c.agentDir,
		"--availability-zone", "us-east-1b", "--task-cleanup-wait", "1h", "--log-level", "debug")
}

// instances waits until n ACTIVE instances have a connected agent, and
// records their zones.
func (c *twoAgents) instances(n int) []types.ContainerInstance {
	c.t.Helper()
	ctx := context.Background()
	var last []types.ContainerInstance
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		list, err := c.ecs.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Status: types.ContainerInstanceStatusActive})
		if err != nil || len(list.ContainerInstanceArns) < n {
			continue
		}
		out, err := c.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{ContainerInstances: list.ContainerInstanceArns})
		if err != nil {
			continue
		}
		last = out.ContainerInstances
		connected := 0
		for _, ci := range last {
			if ci.AgentConnected {
				connected++
			}
			for _, a := range ci.Attributes {
				if aws.ToString(a.Name) == "ecs.availability-zone" {
					c.zone[aws.ToString(ci.ContainerInstanceArn)] = aws.ToString(a.Value)
				}
			}
		}
		if connected == n {
			return last
		}
	}
	c.t.Fatalf("want %d ACTIVE instances with connected agents; have %+v\nagent stderr:\n%s", n, last, tail(c.agent.stderr.String(), 3000))
	return nil
}

// serviceTasks returns the service's tasks that are meant to run.
func (c *twoAgents) serviceTasks(service string) []types.Task {
	c.t.Helper()
	ctx := context.Background()
	list, err := c.ecs.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String(service), DesiredStatus: types.DesiredStatusRunning})
	if err != nil {
		c.t.Fatalf("ListTasks(%s) = %v", service, err)
	}
	if len(list.TaskArns) == 0 {
		return nil
	}
	out, err := c.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: list.TaskArns})
	if err != nil {
		c.t.Fatalf("DescribeTasks = %v", err)
	}
	return out.Tasks
}

func running(tasks []types.Task) []types.Task {
	var out []types.Task
	for _, tk := range tasks {
		if aws.ToString(tk.LastStatus) == "RUNNING" {
			out = append(out, tk)
		}
	}
	return out
}

// until polls cond every 200 ms for up to timeout; on timeout it fails with
// what describe says of the service.
func (c *twoAgents) until(what string, timeout time.Duration, cond func(svc types.Service, tasks []types.Task) bool) (types.Service, []types.Task) {
	c.t.Helper()
	ctx := context.Background()
	var svc types.Service
	var tasks []types.Task
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out, err := c.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"web"}})
		if err != nil || len(out.Services) != 1 {
			c.t.Fatalf("DescribeServices(web) = %+v, %v", out, err)
		}
		svc, tasks = out.Services[0], c.serviceTasks("web")
		if cond(svc, tasks) {
			return svc, tasks
		}
	}
	var events []string
	for i, e := range svc.Events {
		if i == 8 {
			break
		}
		events = append(events, aws.ToString(e.Message))
	}
	var deps []string
	for _, d := range svc.Deployments {
		deps = append(deps, fmt.Sprintf("%s %s %s running %d failed %d", aws.ToString(d.Status), aws.ToString(d.TaskDefinition), d.RolloutState, d.RunningCount, d.FailedTasks))
	}
	c.t.Fatalf("%s: not within %v; service running %d pending %d, deployments %q, events %q\nberth stderr:\n%s\nagent stderr:\n%s",
		what, timeout, svc.RunningCount, svc.PendingCount, deps, events, tail(c.proc.stderr.String(), 2000), tail(c.agent.stderr.String(), 2000))
	return svc, tasks
}

// steady: desired tasks RUNNING, one COMPLETED deployment of family:rev.
func steady(rev string, n int32) func(types.Service, []types.Task) bool {
	return func(svc types.Service, tasks []types.Task) bool {
		if svc.RunningCount != n || len(svc.Deployments) != 1 || svc.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
			return false
		}
		r := running(tasks)
		if int32(len(r)) != n || len(tasks) != len(r) {
			return false
		}
		for _, tk := range r {
			if !strings.HasSuffix(aws.ToString(tk.TaskDefinitionArn), ":task-definition/"+rev) {
				return false
			}
		}
		return true
	}
}

func byInstance(tasks []types.Task) map[string]int {
	out := map[string]int{}
	for _, tk := range tasks {
		out[aws.ToString(tk.ContainerInstanceArn)]++
	}
	return out
}

// TestDockerServiceOnTwoAgents drives a service through issue 4's scenario on
// real Docker, with two agents on one host in two zones: the service spreads
// across the zones, a killed container is replaced, a rolling update never
// drops below the healthy floor, a task definition whose container exits at
// once trips the circuit breaker and rolls back, draining moves every task to
// the other instance, and an agent gone longer than the lost-after time has
// its tasks replaced and, on its return, stops the copies it still ran.
func TestDockerServiceOnTwoAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end on Docker: skipped with -short")
	}
	d := startDev(t, "--availability-zone", "us-east-1a", "--task-healthy-after", "1s",
		"--agent-grace", "3s", "--instance-lost-after", "6s")
	c := &twoAgents{devCluster: d, agentDir: t.TempDir(), zone: map[string]string{}}
	c.startAgent()
	insts := c.instances(2)
	var instA, instB string
	for _, ci := range insts {
		switch c.zone[aws.ToString(ci.ContainerInstanceArn)] {
		case "us-east-1a":
			instA = aws.ToString(ci.ContainerInstanceArn)
		case "us-east-1b":
			instB = aws.ToString(ci.ContainerInstanceArn)
		}
	}
	if instA == "" || instB == "" || instA == instB {
		t.Fatalf("instances by zone: %v; want one in us-east-1a and one in us-east-1b", c.zone)
	}
	ctx := context.Background()
	def := func(args ...string) {
		ct := d.container("web", append([]string{"-listen", ":8080"}, args...)...)
		ct.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(8080)}}
		d.register("web", ct)
	}
	def()
	if _, err := d.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(4),
		DeploymentConfiguration: &types.DeploymentConfiguration{
			MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(150),
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		},
	}); err != nil {
		t.Fatalf("CreateService = %v", err)
	}
	_, tasks := c.until("4 tasks of web:1 RUNNING", 2*time.Minute, steady("web:1", 4))
	if got := byInstance(tasks); got[instA] != 2 || got[instB] != 2 {
		t.Errorf("tasks by instance = %v; want 2 in each zone", got)
	}
	for _, tk := range tasks {
		if want := c.zone[aws.ToString(tk.ContainerInstanceArn)]; aws.ToString(tk.AvailabilityZone) != want {
			t.Errorf("task %s availabilityZone = %s; want its instance's %s", aws.ToString(tk.TaskArn), aws.ToString(tk.AvailabilityZone), want)
		}
	}

	// A container killed behind the agent's back: its task stops and the
	// service starts another.
	victim := tasks[0]
	if _, err := d.docker.ContainerKill(ctx, aws.ToString(victim.Containers[0].RuntimeId), client.ContainerKillOptions{}); err != nil {
		t.Fatalf("docker kill: %v", err)
	}
	stopped := d.wait(aws.ToString(victim.TaskArn), "STOPPED", time.Minute)
	if stopped.StopCode != types.TaskStopCodeEssentialContainerExited {
		t.Errorf("killed task stopCode = %s (%s); want EssentialContainerExited", stopped.StopCode, aws.ToString(stopped.StoppedReason))
	}
	c.until("the killed task replaced", 2*time.Minute, func(svc types.Service, ts []types.Task) bool {
		return steady("web:1", 4)(svc, ts) && !slices.ContainsFunc(ts, func(tk types.Task) bool { return aws.ToString(tk.TaskArn) == aws.ToString(victim.TaskArn) })
	})

	// A rolling update to web:2 never has fewer than minimumHealthyPercent
	// (50 % of 4) tasks running that are meant to run.
	def("-term-delay", "10ms")
	var (
		mu       sync.Mutex
		lowest   = 4
		watching = true
		watchErr error
		wg       sync.WaitGroup
	)
	wg.Go(func() {
		for {
			mu.Lock()
			if !watching {
				mu.Unlock()
				return
			}
			mu.Unlock()
			list, err := d.ecs.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("web"), DesiredStatus: types.DesiredStatusRunning})
			n := 0
			if err == nil && len(list.TaskArns) > 0 {
				var out *ecs.DescribeTasksOutput
				if out, err = d.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: list.TaskArns}); err == nil {
					n = len(running(out.Tasks))
				}
			}
			mu.Lock()
			if err != nil {
				watchErr = err
			} else {
				lowest = min(lowest, n)
			}
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	})
	if _, err := d.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String("web:2")}); err != nil {
		t.Fatalf("UpdateService(web:2) = %v", err)
	}
	c.until("the rollout to web:2", 3*time.Minute, steady("web:2", 4))
	mu.Lock()
	watching = false
	mu.Unlock()
	wg.Wait()
	if watchErr != nil {
		t.Errorf("watching the rollout: %v", watchErr)
	}
	if lowest < 2 {
		t.Errorf("during the rollout, %d tasks were running; want never fewer than 2 (minimumHealthyPercent 50 of 4)", lowest)
	}

	// web:3 exits at once: the circuit breaker trips and the service rolls
	// back to web:2.
	def("-exit", "1")
	if _, err := d.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String("web:3")}); err != nil {
		t.Fatalf("UpdateService(web:3) = %v", err)
	}
	failedReason := ""
	c.until("the circuit breaker's rollback to web:2", 3*time.Minute, func(svc types.Service, ts []types.Task) bool {
		for _, dep := range svc.Deployments {
			if strings.HasSuffix(aws.ToString(dep.TaskDefinition), "/web:3") && dep.RolloutState == types.DeploymentRolloutStateFailed {
				failedReason = aws.ToString(dep.RolloutStateReason)
			}
		}
		return failedReason != "" && steady("web:2", 4)(svc, ts)
	})
	if !strings.Contains(failedReason, "circuit breaker") {
		t.Errorf("the web:3 deployment failed with %q; want the circuit breaker's reason", failedReason)
	}
	sds, err := d.ecs.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String("web"),
		Status: []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusRollbackSuccessful}})
	if err != nil || len(sds.ServiceDeployments) != 1 {
		t.Errorf("ListServiceDeployments(ROLLBACK_SUCCESSFUL) = %+v, %v; want the rollback", sds, err)
	}

	// Draining us-east-1a moves every service task to us-east-1b.
	if _, err := d.ecs.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
		ContainerInstances: []string{instA}, Status: types.ContainerInstanceStatusDraining,
	}); err != nil {
		t.Fatalf("UpdateContainerInstancesState(DRAINING) = %v", err)
	}
	c.until("every task moved off the draining instance", 3*time.Minute, func(svc types.Service, ts []types.Task) bool {
		return steady("web:2", 4)(svc, ts) && byInstance(ts)[instB] == 4
	})
	if _, err := d.ecs.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
		ContainerInstances: []string{instA}, Status: types.ContainerInstanceStatusActive,
	}); err != nil {
		t.Fatalf("UpdateContainerInstancesState(ACTIVE) = %v", err)
	}

	// The us-east-1b agent dies and stays away past the lost-after time:
	// its tasks are replaced on us-east-1a. Its containers keep running
	// meanwhile, as the agent left them.
	_, onB := c.until("4 tasks on us-east-1b", time.Minute, func(svc types.Service, ts []types.Task) bool {
		return steady("web:2", 4)(svc, ts) && byInstance(ts)[instB] == 4
	})
	c.agent.kill()
	c.until("the lost instance's tasks replaced", 3*time.Minute, func(svc types.Service, ts []types.Task) bool {
		return steady("web:2", 4)(svc, ts) && byInstance(ts)[instA] == 4
	})
	for _, tk := range onB {
		ins, err := d.docker.ContainerInspect(ctx, aws.ToString(tk.Containers[0].RuntimeId), client.ContainerInspectOptions{})
		if err != nil || !ins.Container.State.Running {
			t.Errorf("container of task %s while its agent is away: %v; want it still running", aws.ToString(tk.TaskArn), err)
		}
	}
	// Back again, the agent stops the copies the service replaced.
	c.startAgent()
	c.instances(2)
	for _, tk := range onB {
		st := d.wait(aws.ToString(tk.TaskArn), "STOPPED", 2*time.Minute)
		ins, err := d.docker.ContainerInspect(ctx, aws.ToString(st.Containers[0].RuntimeId), client.ContainerInspectOptions{})
		if err == nil && ins.Container.State.Running {
			t.Errorf("container of replaced task %s still running after its agent returned", aws.ToString(tk.TaskArn))
		}
	}
	c.until("the service steady on us-east-1a after the agent's return", time.Minute, func(svc types.Service, ts []types.Task) bool {
		return steady("web:2", 4)(svc, ts) && byInstance(ts)[instA] == 4
	})
}
