package agent_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthhq/berth/internal/runtime"
	"github.com/berthhq/berth/internal/testcluster"
)

var ctx = context.Background()

func registerApp(t *testing.T, c *ecs.Client, family string, args ...string) {
	t.Helper()
	_, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("testapp:latest"), Memory: aws.Int32(32), Command: args,
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}},
		}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
}

func runOne(t *testing.T, c *ecs.Client, family string) string {
	t.Helper()
	out, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String(family)})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask = %v, %v", out, err)
	}
	return aws.ToString(out.Tasks[0].TaskArn)
}

func waitTask(t *testing.T, c *ecs.Client, arn, status string) types.Task {
	t.Helper()
	var last types.Task
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}})
		if err != nil {
			t.Fatal(err)
		}
		last = out.Tasks[0]
		if aws.ToString(last.LastStatus) == status {
			return last
		}
	}
	t.Fatalf("task never reached %s; last %s (%s %q)", status, aws.ToString(last.LastStatus), last.StopCode, aws.ToString(last.StoppedReason))
	return last
}

func TestTaskEnvironmentAndMetadata(t *testing.T) {
	tc := testcluster.Start(t, testcluster.WithFakeAgents(1, nil))
	c := tc.ECS()
	registerApp(t, c, "web", "-listen", ":8080")
	arn := runOne(t, c, "web")
	task := waitTask(t, c, arn, "RUNNING")
	port := int(aws.ToInt32(task.Containers[0].NetworkBindings[0].HostPort))
	rt := tc.Agents[0].Runtime

	status, body, err := rt.HTTPGet(ctx, port, "/env")
	if err != nil || status != 200 {
		t.Fatalf("GET /env = %d, %v", status, err)
	}
	var env map[string]string
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"AWS_EXECUTION_ENV": "AWS_ECS_EC2", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"} {
		if env[k] != want {
			t.Errorf("container env %s = %q; want %q", k, env[k], want)
		}
	}
	if !strings.HasPrefix(env["ECS_CONTAINER_METADATA_URI_V4"], "http://") || !strings.HasPrefix(env["AWS_ENDPOINT_URL"], "http://") {
		t.Fatalf("container env lacks the metadata URI or endpoint: %v", env)
	}

	status, body, err = rt.HTTPGet(ctx, port, "/metadata?path=/task")
	if err != nil || status != 200 {
		t.Fatalf("GET metadata /task = %d %s, %v", status, body, err)
	}
	var meta struct {
		TaskARN, Family, KnownStatus string
		Containers                   []struct{ Name, DockerId, KnownStatus string }
	}
	if err := json.Unmarshal(body, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.TaskARN != arn || meta.Family != "web" || meta.KnownStatus != "RUNNING" || len(meta.Containers) != 1 ||
		meta.Containers[0].DockerId != aws.ToString(task.Containers[0].RuntimeId) {
		t.Errorf("metadata /task = %+v; want task %s RUNNING with its container", meta, arn)
	}
	status, body, _ = rt.HTTPGet(ctx, port, "/metadata?path=")
	if status != 200 || !strings.Contains(string(body), `"Name":"app"`) {
		t.Errorf("metadata container = %d %s", status, body)
	}

	// The endpoint relays AWS API calls to the control plane.
	cfg := tc.Config()
	cfg.BaseEndpoint = aws.String(env["AWS_ENDPOINT_URL"])
	relayed := ecs.NewFromConfig(cfg)
	out, err := relayed.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}})
	if err != nil || len(out.Tasks) != 1 {
		t.Errorf("DescribeTasks through the task endpoint = %v, %v", out, err)
	}
}

func TestAgentRestartAdopts(t *testing.T) {
	tc := testcluster.Start(t, testcluster.WithFakeAgents(1, nil))
	c := tc.ECS()
	registerApp(t, c, "web", "-listen", ":8080")
	keep := runOne(t, c, "web")
	lose := runOne(t, c, "web")
	gone := runOne(t, c, "web")
	for _, arn := range []string{keep, lose, gone} {
		waitTask(t, c, arn, "RUNNING")
	}
	id := func(arn string) string {
		out, _ := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}})
		return aws.ToString(out.Tasks[0].Containers[0].RuntimeId)
	}
	keepID := id(keep)
	ag := tc.Agents[0]
	rt := ag.Runtime

	ag.Stop(t)
	// While the agent is down: one container dies, one is removed, and a
	// container the agent did not create appears.
	if err := rt.StopContainer(ctx, id(lose), 0); err != nil {
		t.Fatal(err)
	}
	if err := rt.RemoveContainer(ctx, id(gone)); err != nil {
		t.Fatal(err)
	}
	foreign, err := rt.CreateContainer(ctx, runtime.ContainerSpec{Name: "not-berths", Image: "testapp:latest", Command: []string{"-listen", ":9999"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	ag.Start(t)

	got := waitTask(t, c, lose, "STOPPED")
	if ec := got.Containers[0].ExitCode; ec == nil || *ec != 143 {
		t.Errorf("container stopped while the agent was down: exit %v; want its real exit code 143", ec)
	}
	got = waitTask(t, c, gone, "STOPPED")
	if !strings.Contains(aws.ToString(got.Containers[0].Reason), "missing") {
		t.Errorf("removed container reason = %q; want it reported missing", aws.ToString(got.Containers[0].Reason))
	}
	time.Sleep(300 * time.Millisecond)
	got = waitTask(t, c, keep, "RUNNING")
	if rid := aws.ToString(got.Containers[0].RuntimeId); rid != keepID {
		t.Errorf("running task after restart has container %s; want the same %s (adopted, not restarted)", rid, keepID)
	}
	list, _ := rt.ListContainers(ctx, map[string]string{"berth.task-arn": keep})
	if len(list) != 1 || !list[0].Running() {
		t.Errorf("containers of the adopted task = %d; want exactly 1, running", len(list))
	}
	// The metadata URI in the adopted container's environment still answers.
	port := int(aws.ToInt32(got.Containers[0].NetworkBindings[0].HostPort))
	if status, body, err := rt.HTTPGet(ctx, port, "/metadata?path=/task"); err != nil || status != 200 || !strings.Contains(string(body), keep) {
		t.Errorf("metadata endpoint after the agent restart = %d %s, %v; want the task document", status, body, err)
	}
	st, err := rt.InspectContainer(ctx, foreign)
	if err != nil || !st.Running() {
		t.Errorf("a container the agent did not create was touched: %+v, %v", st, err)
	}
}

func TestDependsOnAndPrivileged(t *testing.T) {
	tc := testcluster.Start(t, testcluster.WithFakeAgents(1, nil))
	c := tc.ECS()
	_, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("ordered"),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("testapp:latest"), Memory: aws.Int32(16), Command: []string{"-listen", ":8080"},
				DependsOn: []types.ContainerDependency{{ContainerName: aws.String("migrate"), Condition: types.ContainerConditionSuccess}}},
			{Name: aws.String("migrate"), Image: aws.String("testapp:latest"), Memory: aws.Int32(16), Essential: aws.Bool(false),
				Command: []string{"-sleep", "200ms"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := runOne(t, c, "ordered")
	task := waitTask(t, c, arn, "RUNNING")
	byName := map[string]types.Container{}
	for _, ct := range task.Containers {
		byName[aws.ToString(ct.Name)] = ct
	}
	rt := tc.Agents[0].Runtime
	app, err := rt.InspectContainer(ctx, aws.ToString(byName["app"].RuntimeId))
	if err != nil {
		t.Fatal(err)
	}
	mig, err := rt.InspectContainer(ctx, aws.ToString(byName["migrate"].RuntimeId))
	if err != nil {
		t.Fatal(err)
	}
	if mig.FinishedAt.IsZero() || app.StartedAt.Before(mig.FinishedAt) {
		t.Errorf("app started at %v, before migrate finished at %v; want after (dependsOn SUCCESS)", app.StartedAt, mig.FinishedAt)
	}

	// A failing SUCCESS dependency stops the task before the dependent runs.
	_, err = c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("broken"),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("testapp:latest"), Memory: aws.Int32(16), Command: []string{"-listen", ":8080"},
				DependsOn: []types.ContainerDependency{{ContainerName: aws.String("migrate"), Condition: types.ContainerConditionSuccess}}},
			{Name: aws.String("migrate"), Image: aws.String("testapp:latest"), Memory: aws.Int32(16), Essential: aws.Bool(false),
				Command: []string{"-exit", "2"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := waitTask(t, c, runOne(t, c, "broken"), "STOPPED")
	if got.StopCode != types.TaskStopCodeTaskFailedToStart {
		t.Errorf("failed dependency: stopCode %s (%q); want TaskFailedToStart", got.StopCode, aws.ToString(got.StoppedReason))
	}

	// Privileged containers are refused unless the agent allows them.
	_, err = c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("priv"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("testapp:latest"),
			Memory: aws.Int32(16), Privileged: aws.Bool(true)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got = waitTask(t, c, runOne(t, c, "priv"), "STOPPED")
	if got.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.Contains(aws.ToString(got.StoppedReason), "allow-privileged") {
		t.Errorf("privileged task = %s %q; want TaskFailedToStart naming --allow-privileged", got.StopCode, aws.ToString(got.StoppedReason))
	}
	list, _ := rt.ListContainers(ctx, map[string]string{"berth.task-arn": aws.ToString(got.TaskArn)})
	for _, ct := range list {
		if ct.Running() {
			t.Errorf("a container of the refused task is running")
		}
	}
}

func TestEngineRestartAndOrphans(t *testing.T) {
	tc := testcluster.Start(t, testcluster.WithFakeAgents(1, nil))
	c := tc.ECS()
	registerApp(t, c, "web", "-listen", ":8080")
	arn := runOne(t, c, "web")
	waitTask(t, c, arn, "RUNNING")
	ag := tc.Agents[0]

	// An engine restart without live-restore kills every container: the
	// task is reported STOPPED with the container's exit code.
	ag.Runtime.Restart()
	got := waitTask(t, c, arn, "STOPPED")
	if ec := got.Containers[0].ExitCode; ec == nil || *ec != 137 || got.StopCode != types.TaskStopCodeEssentialContainerExited {
		t.Errorf("after an engine restart: exit %v, stopCode %s; want 137 and EssentialContainerExited", ec, got.StopCode)
	}

	// A container of this instance whose task the server no longer assigns
	// is removed when the agent starts.
	arn2 := runOne(t, c, "web")
	waitTask(t, c, arn2, "RUNNING")
	ag.Stop(t)
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(arn2)}); err != nil {
		t.Fatal(err)
	}
	// The restarted agent stops the task and keeps its container until the
	// cleanup wait; the next restart finds it unassigned and removes it.
	ag.Start(t)
	waitTask(t, c, arn2, "STOPPED")
	list, _ := ag.Runtime.ListContainers(ctx, map[string]string{"berth.task-arn": arn2})
	if len(list) != 1 {
		t.Fatalf("containers of the stopped task = %d; want 1 kept until cleanup", len(list))
	}
	ag.Stop(t)
	ag.Start(t)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if list, _ = ag.Runtime.ListContainers(ctx, map[string]string{"berth.task-arn": arn2}); len(list) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(list) != 0 {
		t.Errorf("the stopped task's container survived an agent restart; want it removed as an orphan")
	}
}
