// Package awslogs benchmarks log ingestion through the agent: a container on
// the local Docker engine prints N lines with the awslogs driver, and the
// figure is N over the time from the task's start to the task STOPPED —
// which Berth reports only once every line is in its stream. Side by side:
// the same lines sent straight to PutLogEvents in full batches, the
// server's own ceiling.
//
// Run with BERTH_BENCH=1 go test -run TestAwslogsIngestion -v ./bench/awslogs/
// (BERTH_BENCH_LINES sets N, default 200000).
package awslogs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthhq/berth/internal/berthproc"
	"github.com/berthhq/berth/internal/testapp/testimage"
)

func TestAwslogsIngestion(t *testing.T) {
	if os.Getenv("BERTH_BENCH") != "1" {
		t.Skip("benchmark: set BERTH_BENCH=1")
	}
	lines := 200000
	if s := os.Getenv("BERTH_BENCH_LINES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("BERTH_BENCH_LINES=%q", s)
		}
		lines = n
	}
	ctx := context.Background()
	image := testimage.Build(ctx, t)
	root, err := berthproc.ModuleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "berth")
	if out, err := exec.Command("go", "build", "-C", root, "-o", bin, "./cmd/berth").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir, addr := t.TempDir(), berthproc.FreeAddr(t)
	cmd := exec.Command(bin, "dev", "--data-dir", dir, "--listen", addr, "--task-cleanup-wait", "1h")
	var stderr berthproc.LockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var cfg aws.Config
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := berthproc.ReadCredentials(filepath.Join(dir, "credentials"))
		if err == nil {
			cfg = aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr),
				Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")}
			out, err := ecs.NewFromConfig(cfg).ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{})
			if err == nil && len(out.ContainerInstanceArns) > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("berth dev did not come up:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	ecsc, logs := ecs.NewFromConfig(cfg), cloudwatchlogs.NewFromConfig(cfg)
	if _, err := ecsc.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("printer"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image), Memory: aws.Int32(64),
			Command: []string{"-print", strconv.Itoa(lines), "-exit", "0"}, DockerLabels: testimage.Labels(t),
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/bench", "awslogs-stream-prefix": "p", "awslogs-create-group": "true"}}}},
	}); err != nil {
		t.Fatal(err)
	}

	var agentRates, totalRates []float64
	for round := range 3 {
		start := time.Now()
		run, err := ecsc.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("printer")})
		if err != nil || len(run.Tasks) != 1 {
			t.Fatalf("RunTask: %v %+v", err, run)
		}
		arn := aws.ToString(run.Tasks[0].TaskArn)
		var task types.Task
		for {
			out, err := ecsc.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}})
			if err != nil {
				t.Fatal(err)
			}
			if task = out.Tasks[0]; aws.ToString(task.LastStatus) == "STOPPED" {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		total := time.Since(start)
		// From the container's start to the task STOPPED, which Berth
		// reports only once the whole output is stored.
		took := aws.ToTime(task.StoppedAt).Sub(aws.ToTime(task.StartedAt))
		totalRates = append(totalRates, float64(lines)/total.Seconds())
		stream := "p/app/" + arn[strings.LastIndexByte(arn, '/')+1:]
		ds, err := logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/bench"), LogStreamNamePrefix: aws.String(stream)})
		if err != nil || len(ds.LogStreams) != 1 {
			t.Fatalf("DescribeLogStreams: %v", err)
		}
		got := countEvents(ctx, t, logs, stream)
		if got < lines {
			t.Fatalf("round %d: %d of %d lines in the stream at STOPPED", round, got, lines)
		}
		agentRates = append(agentRates, float64(lines)/took.Seconds())
	}

	// The ceiling: the same volume straight to PutLogEvents in full batches.
	if _, err := logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/bench"), LogStreamName: aws.String("direct")}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for sent := 0; sent < lines; {
		n := min(10000, lines-sent)
		evs := make([]cwtypes.InputLogEvent, n)
		now := time.Now().UnixMilli()
		for i := range evs {
			evs[i] = cwtypes.InputLogEvent{Timestamp: aws.Int64(now), Message: aws.String("line " + strconv.Itoa(sent+i+1))}
		}
		if _, err := logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("/bench"), LogStreamName: aws.String("direct"), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
		sent += n
	}
	direct := float64(lines) / time.Since(start).Seconds()
	if got := countEvents(ctx, t, logs, "direct"); got != lines {
		t.Fatalf("direct stream holds %d of %d events", got, lines)
	}
	fmt.Printf("\nawslogs ingestion, %d lines per task, 3 rounds (events/s)\n", lines)
	fmt.Printf("  through the agent (container started to task STOPPED, all delivered): %s\n", rates(agentRates))
	fmt.Printf("  the same including RunTask, create and start:                      %s\n", rates(totalRates))
	fmt.Printf("  direct PutLogEvents, batches of 10,000 (ceiling):               %.0f\n", direct)
	fmt.Printf("  target: 50,000 events/s through the agent\n")
}

func rates(rs []float64) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%.0f", r))
	}
	return strings.Join(parts, ", ")
}

func countEvents(ctx context.Context, t *testing.T, logs *cloudwatchlogs.Client, stream string) int {
	t.Helper()
	n := 0
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/bench"), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true), Limit: aws.Int32(10000)}
	for {
		out, err := logs.GetLogEvents(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			if strings.HasPrefix(aws.ToString(e.Message), "line ") {
				n++
			}
		}
		if aws.ToString(out.NextForwardToken) == aws.ToString(in.NextToken) {
			return n
		}
		in.NextToken = out.NextForwardToken
	}
}
