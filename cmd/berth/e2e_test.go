package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/moby/moby/client"

	"github.com/berthhq/berth/internal/berthproc"
	"github.com/berthhq/berth/internal/testapp/testimage"
)

// devCluster is `berth dev` running the control plane and an agent on the
// local Docker engine.
type devCluster struct {
	t      *testing.T
	bin    string
	dir    string
	addr   string
	proc   *proc
	ecs    *ecs.Client
	image  string
	labels map[string]string
	docker *client.Client
	extra  []string // more flags for berth dev
}

func startDev(t *testing.T, extra ...string) *devCluster {
	t.Helper()
	ctx := context.Background()
	image := testimage.Build(ctx, t) // skips without Docker, except under CI=true
	d := &devCluster{t: t, bin: berthBinary(t), dir: t.TempDir(), addr: berthproc.FreeAddr(t), image: image,
		labels: testimage.Labels(t), docker: testimage.Client(ctx, t), extra: extra}
	d.start()
	return d
}

func (d *devCluster) start() {
	d.t.Helper()
	d.proc = startBerth(d.t, d.bin, "", nil, append([]string{"dev", "--data-dir", d.dir, "--listen", d.addr,
		"--task-cleanup-wait", "1h", "--log-level", "debug"}, d.extra...)...)
	if _, err := d.proc.waitReady(context.Background(), d.addr, 20*time.Second); err != nil {
		d.t.Fatal(err)
	}
	key, err := readCredentials(filepath.Join(d.dir, "credentials"))
	if err != nil {
		d.t.Fatal(err)
	}
	d.ecs = ecsClient(d.addr, key, nil)
	// Wait for the agent to register its instance.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := d.ecs.ListContainerInstances(context.Background(), &ecs.ListContainerInstancesInput{})
		if err == nil && len(out.ContainerInstanceArns) > 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.t.Fatalf("the dev agent did not register; stderr:\n%s", d.proc.stderr.String())
}

// container returns a container definition of the test image, labelled for
// cleanup.
func (d *devCluster) container(name string, args ...string) types.ContainerDefinition {
	return types.ContainerDefinition{
		Name: aws.String(name), Image: aws.String(d.image), Memory: aws.Int32(64), Command: args,
		DockerLabels: d.labels,
	}
}

func (d *devCluster) register(family string, cs ...types.ContainerDefinition) {
	d.t.Helper()
	if _, err := d.ecs.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), ContainerDefinitions: cs,
	}); err != nil {
		d.t.Fatalf("RegisterTaskDefinition(%s): %v", family, err)
	}
}

func (d *devCluster) run(in *ecs.RunTaskInput) []string {
	d.t.Helper()
	out, err := d.ecs.RunTask(context.Background(), in)
	if err != nil || len(out.Failures) > 0 {
		d.t.Fatalf("RunTask = %+v, %v", out, err)
	}
	var arns []string
	for _, tk := range out.Tasks {
		arns = append(arns, aws.ToString(tk.TaskArn))
	}
	return arns
}

func (d *devCluster) wait(arn, status string, timeout time.Duration) types.Task {
	d.t.Helper()
	var last types.Task
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out, err := d.ecs.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Tasks: []string{arn}})
		if err != nil {
			d.t.Fatal(err)
		}
		last = out.Tasks[0]
		if aws.ToString(last.LastStatus) == status {
			return last
		}
	}
	d.t.Fatalf("task %s never reached %s; last %s (%s %q); berth stderr:\n%s", arn, status, aws.ToString(last.LastStatus),
		last.StopCode, aws.ToString(last.StoppedReason), tail(d.proc.stderr.String(), 3000))
	return last
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func hostPort(tk types.Task) int32 {
	for _, c := range tk.Containers {
		for _, b := range c.NetworkBindings {
			return aws.ToInt32(b.HostPort)
		}
	}
	return 0
}

func exitCode(tk types.Task, name string) *int32 {
	for _, c := range tk.Containers {
		if aws.ToString(c.Name) == name {
			return c.ExitCode
		}
	}
	return nil
}

func TestDockerTasks(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end on Docker: skipped with -short")
	}
	d := startDev(t)
	ctx := context.Background()

	web := d.container("web", "-listen", ":8080")
	web.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(8080)}}
	d.register("web", web)

	t.Run("dynamic ports, overrides, metadata, stop", func(t *testing.T) {
		arns := d.run(&ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(3),
			Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{
				Name: aws.String("web"), Environment: []types.KeyValuePair{{Name: aws.String("GREETING"), Value: aws.String("hello")}},
			}}}})
		seen := map[int32]bool{}
		for _, arn := range arns {
			tk := d.wait(arn, "RUNNING", 30*time.Second)
			p := hostPort(tk)
			if p == 0 || seen[p] {
				t.Fatalf("task %s host port %d is zero or shared", arn, p)
			}
			seen[p] = true
			if code, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", p)); code != 200 || !strings.HasPrefix(body, "ok") {
				t.Errorf("GET / on host port %d = %d %q; want 200 ok", p, code, body)
			}
		}
		tk := d.wait(arns[0], "RUNNING", time.Second)
		p := hostPort(tk)
		_, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/env", p))
		var env map[string]string
		_ = json.Unmarshal([]byte(body), &env)
		if env["GREETING"] != "hello" || env["AWS_EXECUTION_ENV"] != "AWS_ECS_EC2" || env["AWS_REGION"] != "us-east-1" {
			t.Errorf("container environment = %v; want the override and the ECS variables", env)
		}
		code, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/metadata?path=/task", p))
		if code != 200 || !strings.Contains(body, arns[0]) {
			t.Errorf("metadata endpoint from inside the container = %d %s; want the task document", code, body)
		}

		start := time.Now()
		if _, err := d.ecs.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(arns[0])}); err != nil {
			t.Fatal(err)
		}
		tk = d.wait(arns[0], "STOPPED", 30*time.Second)
		if tk.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(tk.StoppedReason) != "Task stopped by user" {
			t.Errorf("stopped task = %s %q", tk.StopCode, aws.ToString(tk.StoppedReason))
		}
		if ec := exitCode(tk, "web"); ec == nil || *ec != 143 {
			t.Errorf("exit after SIGTERM = %v; want 143", ec)
		}
		if time.Since(start) > 10*time.Second {
			t.Errorf("a prompt SIGTERM exit took %v", time.Since(start))
		}
	})

	t.Run("essential exit, OOM, stop timeout", func(t *testing.T) {
		d.register("quit", d.container("main", "-exit", "3"))
		oom := d.container("main", "-alloc-mib", "256")
		oom.Memory = aws.Int32(32)
		d.register("oom", oom)
		stubborn := d.container("main", "-listen", ":8080", "-ignore-sigterm")
		stubborn.StopTimeout = aws.Int32(2)
		d.register("stubborn", stubborn)

		quit := d.run(&ecs.RunTaskInput{TaskDefinition: aws.String("quit")})[0]
		boom := d.run(&ecs.RunTaskInput{TaskDefinition: aws.String("oom")})[0]
		hard := d.run(&ecs.RunTaskInput{TaskDefinition: aws.String("stubborn")})[0]

		tk := d.wait(quit, "STOPPED", 30*time.Second)
		if tk.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToString(tk.StoppedReason) != "Essential container in task exited" {
			t.Errorf("essential exit = %s %q", tk.StopCode, aws.ToString(tk.StoppedReason))
		}
		if ec := exitCode(tk, "main"); ec == nil || *ec != 3 {
			t.Errorf("essential exit code = %v; want 3", ec)
		}
		tk = d.wait(boom, "STOPPED", 30*time.Second)
		if ec := exitCode(tk, "main"); ec == nil || *ec != 137 || aws.ToString(tk.Containers[0].Reason) != "OutOfMemoryError: Container killed due to memory usage" {
			t.Errorf("OOM = exit %v reason %q; want 137 and OutOfMemoryError", ec, aws.ToString(tk.Containers[0].Reason))
		}
		d.wait(hard, "RUNNING", 30*time.Second)
		start := time.Now()
		if _, err := d.ecs.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(hard), Reason: aws.String("enough")}); err != nil {
			t.Fatal(err)
		}
		tk = d.wait(hard, "STOPPED", 30*time.Second)
		took := time.Since(start)
		if ec := exitCode(tk, "main"); ec == nil || *ec != 137 || aws.ToString(tk.Containers[0].Reason) != "" {
			t.Errorf("stop timeout = exit %v reason %q; want 137 with no OOM reason", ec, aws.ToString(tk.Containers[0].Reason))
		}
		if took < 2*time.Second {
			t.Errorf("a SIGTERM-ignoring container stopped after %v; want the 2 s stopTimeout first", took)
		}
	})

	t.Run("health checks and dependsOn", func(t *testing.T) {
		healthy := d.container("app", "-listen", ":8080")
		healthy.HealthCheck = &types.HealthCheck{Command: []string{"CMD", "/testapp", "-check", "http://127.0.0.1:8080/health"},
			Interval: aws.Int32(5), Timeout: aws.Int32(2), Retries: aws.Int32(1)}
		sick := d.container("app", "-listen", ":8080", "-unhealthy-after", "1s")
		sick.HealthCheck = healthy.HealthCheck
		d.register("healthy", healthy)
		d.register("sick", sick)
		first := d.container("first", "-sleep", "1s")
		first.Essential = aws.Bool(false)
		second := d.container("second", "-listen", ":8080")
		second.DependsOn = []types.ContainerDependency{{ContainerName: aws.String("first"), Condition: types.ContainerConditionSuccess}}
		d.register("ordered", first, second)

		h := d.run(&ecs.RunTaskInput{TaskDefinition: aws.String("healthy")})[0]
		s := d.run(&ecs.RunTaskInput{TaskDefinition: aws.String("sick")})[0]
		o := d.run(&ecs.RunTaskInput{TaskDefinition: aws.String("ordered")})[0]
		waitHealth := func(arn string, want types.HealthStatus) {
			for deadline := time.Now().Add(40 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
				out, _ := d.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}})
				if len(out.Tasks) == 1 && out.Tasks[0].HealthStatus == want {
					return
				}
			}
			t.Errorf("task %s never became %s", arn, want)
		}
		waitHealth(h, types.HealthStatusHealthy)
		waitHealth(s, types.HealthStatusUnhealthy)

		tk := d.wait(o, "RUNNING", 30*time.Second)
		ids := map[string]string{}
		for _, c := range tk.Containers {
			ids[aws.ToString(c.Name)] = aws.ToString(c.RuntimeId)
		}
		a, err := d.docker.ContainerInspect(ctx, ids["first"], client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := d.docker.ContainerInspect(ctx, ids["second"], client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		finished, _ := time.Parse(time.RFC3339Nano, a.Container.State.FinishedAt)
		started, _ := time.Parse(time.RFC3339Nano, b.Container.State.StartedAt)
		if finished.IsZero() || started.Before(finished) {
			t.Errorf("second started %v, first finished %v; want second after first (dependsOn SUCCESS)", started, finished)
		}
	})

	t.Run("bad input leaves nothing running", func(t *testing.T) {
		ghost := d.container("main")
		ghost.Image = aws.String("berth-no-such-image:never")
		d.register("ghost", ghost)
		g := d.run(&ecs.RunTaskInput{TaskDefinition: aws.String("ghost")})[0]
		tk := d.wait(g, "STOPPED", 30*time.Second)
		if tk.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(aws.ToString(tk.StoppedReason), "CannotPullContainerError") {
			t.Errorf("missing image = %s %q", tk.StopCode, aws.ToString(tk.StoppedReason))
		}
		nocmd := d.container("main")
		nocmd.EntryPoint = []string{"/no/such/binary"}
		d.register("nocmd", nocmd)
		n := d.run(&ecs.RunTaskInput{TaskDefinition: aws.String("nocmd")})[0]
		tk = d.wait(n, "STOPPED", 30*time.Second)
		if tk.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(aws.ToString(tk.StoppedReason), "CannotStartContainerError") {
			t.Errorf("command that cannot run = %s %q", tk.StopCode, aws.ToString(tk.StoppedReason))
		}
	})

	t.Run("agent killed and restarted adopts its containers", func(t *testing.T) {
		arn := d.run(&ecs.RunTaskInput{TaskDefinition: aws.String("web")})[0]
		tk := d.wait(arn, "RUNNING", 30*time.Second)
		id := aws.ToString(tk.Containers[0].RuntimeId)
		before, err := d.docker.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.proc.kill()
		d.start()
		time.Sleep(time.Second)
		tk = d.wait(arn, "RUNNING", 10*time.Second)
		if got := aws.ToString(tk.Containers[0].RuntimeId); got != id {
			t.Errorf("after the restart the task runs container %s; want the same %s", got, id)
		}
		after, err := d.docker.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil || after.Container.State.StartedAt != before.Container.State.StartedAt || !after.Container.State.Running {
			t.Errorf("the container was restarted or stopped across the agent restart")
		}
		list, err := d.docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", "berth.task-arn="+arn)})
		if err != nil || len(list.Items) != 1 {
			t.Errorf("containers of the task after restart = %d, %v; want exactly 1", len(list.Items), err)
		}
		if code, _ := get(t, fmt.Sprintf("http://127.0.0.1:%d/", hostPort(tk))); code != 200 {
			t.Errorf("adopted task no longer serves")
		}
	})
}
