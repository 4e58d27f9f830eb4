package ecs_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthhq/berth/internal/testcluster"
)

// appDef is a task definition running internal/testapp with args, bridge
// networking and a dynamic port for 8080.
func appDef(family string, memory int32, args ...string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("testapp:latest"), Memory: aws.Int32(memory),
			Command:      args,
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}},
		}},
	}
}

// waitTask polls DescribeTasks until cond holds for the task, or fails.
func waitTask(t *testing.T, c *ecs.Client, arn string, what string, cond func(types.Task) bool) types.Task {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last types.Task
	for time.Now().Before(deadline) {
		out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}, Include: []types.TaskField{types.TaskFieldTags}})
		if err != nil {
			t.Fatalf("DescribeTasks: %v", err)
		}
		if len(out.Tasks) == 1 {
			last = out.Tasks[0]
			if cond(last) {
				return last
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("task %s never became %s; last seen %s/%s stopCode=%s reason=%q", arn, what,
		aws.ToString(last.LastStatus), aws.ToString(last.DesiredStatus), last.StopCode, aws.ToString(last.StoppedReason))
	return last
}

func running(tk types.Task) bool { return aws.ToString(tk.LastStatus) == "RUNNING" }
func stopped(tk types.Task) bool { return aws.ToString(tk.LastStatus) == "STOPPED" }

func TestRunTaskLifecycle(t *testing.T) {
	t.Parallel()
	tc := testcluster.Start(t, testcluster.WithFakeAgents(1, nil))
	c := tc.ECS()
	register(t, c, appDef("web", 64, "-listen", ":8080"))

	out, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(3),
		StartedBy: aws.String("me"), Tags: tags("team", "a")})
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	if len(out.Tasks) != 3 || len(out.Failures) != 0 {
		t.Fatalf("RunTask(count 3) = %d tasks, failures %v; want 3 tasks", len(out.Tasks), failures(out.Failures))
	}
	first := out.Tasks[0]
	if s := aws.ToString(first.LastStatus); s != "PROVISIONING" && s != "PENDING" {
		t.Errorf("new task lastStatus = %s; want PROVISIONING or PENDING", s)
	}
	if aws.ToString(first.Group) != "family:web" || aws.ToString(first.StartedBy) != "me" || tagMap(first.Tags)["team"] != "a" {
		t.Errorf("RunTask task = group %q startedBy %q tags %v", aws.ToString(first.Group), aws.ToString(first.StartedBy), tagMap(first.Tags))
	}
	ports := map[int32]bool{}
	for _, tk := range out.Tasks {
		got := waitTask(t, c, aws.ToString(tk.TaskArn), "RUNNING", running)
		ct := got.Containers[0]
		if aws.ToString(ct.RuntimeId) == "" || len(ct.NetworkBindings) != 1 || aws.ToInt32(ct.NetworkBindings[0].ContainerPort) != 8080 {
			t.Fatalf("running container = runtimeId %q bindings %+v; want an id and one binding for 8080", aws.ToString(ct.RuntimeId), ct.NetworkBindings)
		}
		hp := aws.ToInt32(ct.NetworkBindings[0].HostPort)
		if hp == 0 || ports[hp] {
			t.Errorf("host port %d is zero or shared between tasks", hp)
		}
		ports[hp] = true
		if got.StartedAt == nil || got.PullStartedAt == nil || got.PullStoppedAt == nil {
			t.Errorf("running task lacks startedAt/pullStartedAt/pullStoppedAt")
		}
	}

	// The cluster counts its tasks; the instance its reservations.
	cl := describeCluster(t, c, "default")
	if cl.RunningTasksCount != 3 || cl.RegisteredContainerInstancesCount != 1 {
		t.Errorf("cluster counts = running %d, instances %d; want 3, 1", cl.RunningTasksCount, cl.RegisteredContainerInstancesCount)
	}
	inst := tc.Agents[0].Agent.InstanceARN()
	di, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{ContainerInstances: []string{inst}})
	if err != nil || len(di.ContainerInstances) != 1 {
		t.Fatalf("DescribeContainerInstances = %v, %v", di, err)
	}
	ci := di.ContainerInstances[0]
	if ci.RunningTasksCount != 3 || !ci.AgentConnected {
		t.Errorf("instance = running %d connected %v; want 3, true", ci.RunningTasksCount, ci.AgentConnected)
	}
	for i, r := range ci.RegisteredResources {
		if aws.ToString(r.Name) == "MEMORY" && r.IntegerValue-ci.RemainingResources[i].IntegerValue != 3*64 {
			t.Errorf("MEMORY registered %d remaining %d; want 192 MiB reserved", r.IntegerValue, ci.RemainingResources[i].IntegerValue)
		}
	}

	// StopTask: SIGTERM, testapp exits 143.
	arn := aws.ToString(first.TaskArn)
	st, err := c.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(arn), Reason: aws.String("done here")})
	if err != nil || aws.ToString(st.Task.DesiredStatus) != "STOPPED" {
		t.Fatalf("StopTask = %v, %v; want desiredStatus STOPPED", st, err)
	}
	got := waitTask(t, c, arn, "STOPPED", stopped)
	if got.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(got.StoppedReason) != "done here" {
		t.Errorf("stopped task = %s %q; want UserInitiated \"done here\"", got.StopCode, aws.ToString(got.StoppedReason))
	}
	if ec := got.Containers[0].ExitCode; ec == nil || *ec != 143 {
		t.Errorf("exit code after SIGTERM = %v; want 143", ec)
	}
	if got.StoppingAt == nil || got.StoppedAt == nil {
		t.Errorf("stopped task lacks stoppingAt/stoppedAt")
	}

	// ListTasks filters by desired status and startedBy.
	lt, err := c.ListTasks(ctx, &ecs.ListTasksInput{})
	if err != nil || len(lt.TaskArns) != 2 || slices.Contains(lt.TaskArns, arn) {
		t.Errorf("ListTasks() = %v, %v; want the 2 running tasks", lt, err)
	}
	lt, _ = c.ListTasks(ctx, &ecs.ListTasksInput{DesiredStatus: types.DesiredStatusStopped})
	if len(lt.TaskArns) != 1 || lt.TaskArns[0] != arn {
		t.Errorf("ListTasks(STOPPED) = %v; want [%s]", lt.TaskArns, arn)
	}
	lt, _ = c.ListTasks(ctx, &ecs.ListTasksInput{StartedBy: aws.String("nobody")})
	if len(lt.TaskArns) != 0 {
		t.Errorf("ListTasks(startedBy nobody) = %v; want none", lt.TaskArns)
	}

	// A cluster with tasks or instances cannot be deleted.
	_, err = c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("default")})
	if code(err) != "ClusterContainsContainerInstancesException" {
		t.Errorf("DeleteCluster with an instance = %v; want ClusterContainsContainerInstancesException", err)
	}
}

func TestEssentialExitAndFailures(t *testing.T) {
	t.Parallel()
	tc := testcluster.Start(t, testcluster.WithFakeAgents(1, nil))
	c := tc.ECS()

	register(t, c, appDef("quitter", 32, "-exit", "3"))
	out, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("quitter")})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask = %v, %v", out, err)
	}
	got := waitTask(t, c, aws.ToString(out.Tasks[0].TaskArn), "STOPPED", stopped)
	if got.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToString(got.StoppedReason) != "Essential container in task exited" {
		t.Errorf("essential exit = %s %q", got.StopCode, aws.ToString(got.StoppedReason))
	}
	if ec := got.Containers[0].ExitCode; ec == nil || *ec != 3 {
		t.Errorf("exit code = %v; want 3", ec)
	}

	// An image no registry has: the task fails to start.
	in := appDef("ghost", 32)
	in.ContainerDefinitions[0].Image = aws.String("nowhere/none:1")
	register(t, c, in)
	out, err = c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("ghost")})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask(ghost) = %v, %v", out, err)
	}
	got = waitTask(t, c, aws.ToString(out.Tasks[0].TaskArn), "STOPPED", stopped)
	if got.StopCode != types.TaskStopCodeTaskFailedToStart || !startsWith(aws.ToString(got.StoppedReason), "CannotPullContainerError:") {
		t.Errorf("missing image = %s %q; want TaskFailedToStart CannotPullContainerError", got.StopCode, aws.ToString(got.StoppedReason))
	}

	// More memory than the instance has: a RESOURCE:MEMORY failure, HTTP 200.
	register(t, c, appDef("huge", 1<<20))
	out, err = c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("huge"), Count: aws.Int32(2)})
	if err != nil || len(out.Tasks) != 0 || len(out.Failures) != 2 || aws.ToString(out.Failures[0].Reason) != "RESOURCE:MEMORY" ||
		aws.ToString(out.Failures[0].Arn) != tc.Agents[0].Agent.InstanceARN() {
		t.Errorf("RunTask(huge) = %+v, %v; want 2 RESOURCE:MEMORY failures naming the instance", out, err)
	}

	// A static host port can be held by one task only.
	static := appDef("static", 16, "-listen", ":8080")
	static.ContainerDefinitions[0].PortMappings[0].HostPort = aws.Int32(38080)
	register(t, c, static)
	out, err = c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("static"), Count: aws.Int32(2)})
	if err != nil || len(out.Tasks) != 1 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "RESOURCE:PORTS" {
		t.Errorf("RunTask(static, 2) = %+v, %v; want 1 task and 1 RESOURCE:PORTS failure", out, err)
	}

	// Unknown things.
	_, err = c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Cluster: aws.String("nope")})
	wantError(t, "RunTask(unknown cluster)", err, "ClusterNotFoundException", "")
	_, err = c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("nosuch")})
	wantError(t, "RunTask(unknown task definition)", err, "ClientException", "")
	_, err = c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("quitter"), Count: aws.Int32(11)})
	wantError(t, "RunTask(count 11)", err, "InvalidParameterException", "")
	_, err = c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("quitter"), PlatformVersion: aws.String("LATEST")})
	wantError(t, "RunTask(platformVersion)", err, "InvalidParameterException", "The platform version must be null when specifying an EC2 launch type.")
	d, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{"0123456789abcdef0123456789abcdef"}})
	if err != nil || len(d.Failures) != 1 || aws.ToString(d.Failures[0].Reason) != "MISSING" {
		t.Errorf("DescribeTasks(unknown) = %+v, %v; want a MISSING failure", d, err)
	}
}

func TestRunTaskWithoutInstances(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	register(t, c, appDef("web", 64))
	_, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web")})
	wantError(t, "RunTask(no instances)", err, "InvalidParameterException", "No Container Instances were found in your cluster.")
	// The default cluster was created on first use.
	if cl := describeCluster(t, c, "default"); aws.ToString(cl.Status) != "ACTIVE" {
		t.Errorf("default cluster after RunTask = %s; want ACTIVE", aws.ToString(cl.Status))
	}
}

func TestRunTaskClientToken(t *testing.T) {
	t.Parallel()
	tc := testcluster.Start(t, testcluster.WithFakeAgents(1, nil))
	c := tc.ECS()
	register(t, c, appDef("web", 16, "-listen", ":8080"))
	in := &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(2), ClientToken: aws.String("once")}
	a, err := c.RunTask(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.RunTask(ctx, in)
	if err != nil || len(b.Tasks) != 2 || aws.ToString(a.Tasks[0].TaskArn) != aws.ToString(b.Tasks[0].TaskArn) {
		t.Fatalf("repeated RunTask with a client token = %v, %v; want the same 2 tasks", b, err)
	}
	lt, _ := c.ListTasks(ctx, &ecs.ListTasksInput{})
	if len(lt.TaskArns) != 2 {
		t.Errorf("tasks after a repeated client token = %d; want 2", len(lt.TaskArns))
	}
}

func TestContainerInstances(t *testing.T) {
	t.Parallel()
	tc := testcluster.Start(t, testcluster.WithFakeAgents(2, nil))
	c := tc.ECS()
	li, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{})
	if err != nil || len(li.ContainerInstanceArns) != 2 {
		t.Fatalf("ListContainerInstances = %v, %v; want 2", li, err)
	}
	a0 := tc.Agents[0].Agent.InstanceARN()
	di, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{ContainerInstances: []string{a0, "nope"}})
	if err != nil || len(di.ContainerInstances) != 1 || len(di.Failures) != 1 {
		t.Fatalf("DescribeContainerInstances = %v, %v", di, err)
	}
	ci := di.ContainerInstances[0]
	attrs := map[string]string{}
	for _, a := range ci.Attributes {
		attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	for k, want := range map[string]string{"ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64", "ecs.availability-zone": "us-east-1a"} {
		if attrs[k] != want {
			t.Errorf("attribute %s = %q; want %q", k, attrs[k], want)
		}
	}
	res := map[string]int32{}
	for _, r := range ci.RegisteredResources {
		res[aws.ToString(r.Name)] = r.IntegerValue
	}
	if res["CPU"] != 2*1024 || res["MEMORY"] != 8*1024 {
		t.Errorf("registered CPU %d MEMORY %d; want 2048 and 8192 (2 cores, 8 GiB)", res["CPU"], res["MEMORY"])
	}

	// Custom attributes.
	_, err = c.PutAttributes(ctx, &ecs.PutAttributesInput{Attributes: []types.Attribute{{Name: aws.String("stack"), Value: aws.String("prod"), TargetId: aws.String(a0)}}})
	if err != nil {
		t.Fatalf("PutAttributes: %v", err)
	}
	la, err := c.ListAttributes(ctx, &ecs.ListAttributesInput{TargetType: types.TargetTypeContainerInstance, AttributeName: aws.String("stack")})
	if err != nil || len(la.Attributes) != 1 || aws.ToString(la.Attributes[0].TargetId) != a0 {
		t.Errorf("ListAttributes(stack) = %v, %v; want the one on %s", la, err, a0)
	}
	if _, err := c.DeleteAttributes(ctx, &ecs.DeleteAttributesInput{Attributes: []types.Attribute{{Name: aws.String("stack"), TargetId: aws.String(a0)}}}); err != nil {
		t.Fatal(err)
	}
	la, _ = c.ListAttributes(ctx, &ecs.ListAttributesInput{TargetType: types.TargetTypeContainerInstance, AttributeName: aws.String("stack")})
	if len(la.Attributes) != 0 {
		t.Errorf("ListAttributes after delete = %v; want none", la.Attributes)
	}

	// The cluster query language filters instances.
	for _, q := range []struct {
		filter string
		want   []string
	}{
		{"attribute:ecs.availability-zone == us-east-1b", []string{tc.Agents[1].Agent.InstanceARN()}},
		{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b] and agentConnected == true", li.ContainerInstanceArns},
		{"attribute:stack exists", nil},
	} {
		out, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Filter: aws.String(q.filter)})
		if err != nil || len(out.ContainerInstanceArns) != len(q.want) || (len(q.want) == 1 && out.ContainerInstanceArns[0] != q.want[0]) {
			t.Errorf("ListContainerInstances(filter %q) = %v, %v; want %v", q.filter, out.ContainerInstanceArns, err, q.want)
		}
	}
	_, err = c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Filter: aws.String("attribute:x ==")})
	wantError(t, "ListContainerInstances(bad filter)", err, "InvalidParameterException", "")

	// A DRAINING instance takes no new tasks.
	up, err := c.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{ContainerInstances: []string{a0}, Status: types.ContainerInstanceStatusDraining})
	if err != nil || len(up.ContainerInstances) != 1 || aws.ToString(up.ContainerInstances[0].Status) != "DRAINING" {
		t.Fatalf("UpdateContainerInstancesState(DRAINING) = %v, %v", up, err)
	}
	register(t, c, appDef("web", 16, "-listen", ":8080"))
	out, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(4)})
	if err != nil || len(out.Tasks) != 4 {
		t.Fatalf("RunTask = %v, %v", out, err)
	}
	for _, tk := range out.Tasks {
		if aws.ToString(tk.ContainerInstanceArn) == a0 {
			t.Errorf("task placed on the DRAINING instance %s", a0)
		}
	}

	// Deregistering an instance with tasks needs force.
	a1 := tc.Agents[1].Agent.InstanceARN()
	_, err = c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{ContainerInstance: aws.String(a1)})
	wantError(t, "DeregisterContainerInstance(with tasks)", err, "InvalidParameterException", "")
	dr, err := c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{ContainerInstance: aws.String(a0)})
	if err != nil || aws.ToString(dr.ContainerInstance.Status) != "INACTIVE" {
		t.Errorf("DeregisterContainerInstance(idle) = %v, %v; want INACTIVE", dr, err)
	}
	li, _ = c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{})
	if len(li.ContainerInstanceArns) != 1 || li.ContainerInstanceArns[0] != a1 {
		t.Errorf("ListContainerInstances after deregistering = %v; want [%s]", li.ContainerInstanceArns, a1)
	}
}

func startsWith(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }
