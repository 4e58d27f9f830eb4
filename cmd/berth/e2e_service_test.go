package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// awsCLI finds the AWS CLI. Under CI=true it must be there (.ci/run
// installs it); elsewhere its absence skips the test.
func awsCLI(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the AWS CLI is required under CI=true: %v", err)
		}
		t.Skipf("the AWS CLI is not installed: %v", err)
	}
	return path
}

// cli runs the AWS CLI against the dev cluster and returns its stdout.
func (d *devCluster) cli(bin string, timeout time.Duration, args ...string) (string, error) {
	d.t.Helper()
	key, err := readCredentials(filepath.Join(d.dir, "credentials"))
	if err != nil {
		d.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--endpoint-url", "http://" + d.addr, "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+key.ID, "AWS_SECRET_ACCESS_KEY="+key.Secret,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_PAGER=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("aws %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// TestDockerServiceWithCLI runs a service on real Docker through the
// unmodified AWS CLI: create-service, the services-stable, tasks-running
// and tasks-stopped waiters, a rolling update gated on container health
// checks, and delete-service.
func TestDockerServiceWithCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end on Docker: skipped with -short")
	}
	bin := awsCLI(t)
	d := startDev(t)
	ctx := context.Background()
	def := func(family string, args ...string) {
		c := d.container("web", append([]string{"-listen", ":8080"}, args...)...)
		c.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(8080)}}
		c.HealthCheck = &types.HealthCheck{Command: []string{"CMD", "/testapp", "-check", "http://127.0.0.1:8080/health"},
			Interval: aws.Int32(5), Timeout: aws.Int32(2), Retries: aws.Int32(1)}
		d.register(family, c)
	}
	def("web")
	out, err := d.cli(bin, time.Minute, "ecs", "create-service", "--service-name", "web", "--task-definition", "web",
		"--desired-count", "2", "--deployment-configuration", "maximumPercent=200,minimumHealthyPercent=100")
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Service struct {
			Status       string `json:"status"`
			DesiredCount int    `json:"desiredCount"`
		} `json:"service"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Service.Status != "ACTIVE" || created.Service.DesiredCount != 2 {
		t.Fatalf("create-service printed %s (%v); want an ACTIVE service of 2", out, err)
	}
	if _, err := d.cli(bin, 3*time.Minute, "ecs", "wait", "services-stable", "--services", "web"); err != nil {
		t.Fatalf("%v\nberth stderr:\n%s", err, tail(d.proc.stderr.String(), 3000))
	}
	list, err := d.ecs.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("web")})
	if err != nil || len(list.TaskArns) != 2 {
		t.Fatalf("ListTasks(web) = %v, %v; want 2 tasks", list, err)
	}
	if _, err := d.cli(bin, 2*time.Minute, append([]string{"ecs", "wait", "tasks-running", "--tasks"}, list.TaskArns...)...); err != nil {
		t.Fatal(err)
	}
	for _, arn := range list.TaskArns {
		tk := d.wait(arn, "RUNNING", time.Second)
		if code, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/health", hostPort(tk))); code != 200 {
			t.Errorf("GET /health on task %s = %d %q; want 200", arn, code, body)
		}
	}

	// A rolling update to a new revision: the old tasks stop only once the
	// new ones pass their health checks.
	def("web", "-term-delay", "10ms")
	if _, err := d.cli(bin, time.Minute, "ecs", "update-service", "--service", "web", "--task-definition", "web:2"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.cli(bin, 3*time.Minute, "ecs", "wait", "services-stable", "--services", "web"); err != nil {
		t.Fatalf("%v\nberth stderr:\n%s", err, tail(d.proc.stderr.String(), 3000))
	}
	desc, err := d.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	svc := desc.Services[0]
	if !strings.HasSuffix(aws.ToString(svc.TaskDefinition), "task-definition/web:2") || svc.RunningCount != 2 || len(svc.Deployments) != 1 {
		t.Fatalf("after the update: taskDefinition %s running %d deployments %d; want web:2, 2, 1",
			aws.ToString(svc.TaskDefinition), svc.RunningCount, len(svc.Deployments))
	}
	for _, arn := range list.TaskArns {
		d.wait(arn, "STOPPED", time.Minute)
	}
	if _, err := d.cli(bin, 2*time.Minute, append([]string{"ecs", "wait", "tasks-stopped", "--tasks"}, list.TaskArns...)...); err != nil {
		t.Fatal(err)
	}

	if _, err := d.cli(bin, time.Minute, "ecs", "delete-service", "--service", "web", "--force"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.cli(bin, 3*time.Minute, "ecs", "wait", "services-inactive", "--services", "web"); err != nil {
		t.Fatal(err)
	}
}
