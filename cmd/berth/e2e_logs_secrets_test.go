package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/moby/moby/client"
)

func (d *devCluster) sdk() aws.Config {
	d.t.Helper()
	key, err := readCredentials(filepath.Join(d.dir, "credentials"))
	if err != nil {
		d.t.Fatal(err)
	}
	return sdkConfig(d.addr, key.ID, key.Secret, nil)
}

// awslogs is a container's log configuration for group and prefix.
func awslogs(group, prefix string) *types.LogConfiguration {
	return &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
		"awslogs-group": group, "awslogs-stream-prefix": prefix, "awslogs-create-group": "true", "awslogs-region": "us-east-1",
	}}
}

// TestDockerAwslogs runs tasks on Docker with the awslogs driver: every line
// of a short task arrives, in order, before the task reports STOPPED, and a
// running task's output shows through FilterLogEvents within 2 s (as
// `aws logs tail --follow` polls it).
func TestDockerAwslogs(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end on Docker: skipped with -short")
	}
	d := startDev(t)
	ctx := context.Background()
	logs := cloudwatchlogs.NewFromConfig(d.sdk())

	const lines = 10000
	short := d.container("app", "-print", fmt.Sprint(lines), "-exit", "0")
	short.LogConfiguration = awslogs("/berth/e2e", "short")
	d.register("printer", short)
	arn := d.run(&ecs.RunTaskInput{TaskDefinition: aws.String("printer")})[0]
	d.wait(arn, "STOPPED", 2*time.Minute)
	stream := "short/app/" + arn[strings.LastIndexByte(arn, '/')+1:]
	var got []string
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/berth/e2e"), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)}
	for {
		out, err := logs.GetLogEvents(ctx, in)
		if err != nil {
			t.Fatalf("GetLogEvents(%s): %v", stream, err)
		}
		for _, e := range out.Events {
			got = append(got, aws.ToString(e.Message))
		}
		if aws.ToString(out.NextForwardToken) == aws.ToString(in.NextToken) {
			break
		}
		in.NextToken = out.NextForwardToken
	}
	var stdout []string
	for _, l := range got {
		if strings.HasPrefix(l, "line ") {
			stdout = append(stdout, l)
		}
	}
	if len(stdout) != lines {
		t.Fatalf("the stream holds %d numbered lines (of %d events) once the task is STOPPED; want %d", len(stdout), len(got), lines)
	}
	for i, l := range stdout {
		if want := fmt.Sprintf("line %d", i+1); l != want {
			t.Fatalf("event %d = %q; want %q (in order)", i, l, want)
		}
	}

	ticker := d.container("app", "-print-every", "200ms")
	ticker.LogConfiguration = awslogs("/berth/e2e", "tick")
	d.register("ticker", ticker)
	arn = d.run(&ecs.RunTaskInput{TaskDefinition: aws.String("ticker")})[0]
	d.wait(arn, "RUNNING", time.Minute)
	stream = "tick/app/" + arn[strings.LastIndexByte(arn, '/')+1:]
	start := time.Now().Add(-time.Minute).UnixMilli()
	var last string
	deadline := time.Now().Add(30 * time.Second)
	for seen := 0; seen < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("no new tick through FilterLogEvents within 30 s (last %q)", last)
		}
		out, err := logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{
			LogGroupName: aws.String("/berth/e2e"), LogStreamNames: []string{stream}, StartTime: aws.Int64(start),
		})
		if err != nil {
			t.Fatalf("FilterLogEvents: %v", err)
		}
		if n := len(out.Events); n > 0 {
			e := out.Events[n-1]
			if msg := aws.ToString(e.Message); msg != last && strings.HasPrefix(msg, "tick ") {
				last = msg
				seen++
				// A line reaches the API within 2 s of being printed.
				if lag := time.Since(time.UnixMilli(aws.ToInt64(e.Timestamp))); seen > 1 && lag > 2*time.Second {
					t.Errorf("%q visible %v after it was printed; want under 2 s", msg, lag)
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := d.ecs.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	d.wait(arn, "STOPPED", time.Minute)
}

// TestDockerSecrets injects an SSM SecureString, a Secrets Manager JSON key
// and a plain environment value into a container on Docker; a second
// container gets a secret as a file. The value, a random marker, shows
// inside the containers only: not in the data dir, the server's debug log
// or any Describe/List/Get-without-decryption response.
func TestDockerSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end on Docker: skipped with -short")
	}
	d := startDev(t)
	ctx := context.Background()
	cfg := d.sdk()
	params, sm := ssm.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg)
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	marker := "marker" + hex.EncodeToString(b)

	if _, err := params.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/e2e/db/password"), Type: ssmtypes.ParameterTypeSecureString,
		Value: aws.String("p-" + marker)}); err != nil {
		t.Fatal(err)
	}
	sec, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("e2e/api"),
		SecretString: aws.String(`{"token":"t-` + marker + `","user":"svc"}`)})
	if err != nil {
		t.Fatal(err)
	}
	app := d.container("app", "-print-env", "-sleep", "2s") // long enough for "files" to print
	app.Environment = []types.KeyValuePair{{Name: aws.String("PLAIN"), Value: aws.String("plain-value")}}
	app.Secrets = []types.Secret{
		{Name: aws.String("DB_PASSWORD"), ValueFrom: aws.String("/e2e/db/password")},
		{Name: aws.String("API_TOKEN"), ValueFrom: aws.String(aws.ToString(sec.ARN) + ":token::")},
	}
	files := d.container("files", "-print-file", "/run/secrets/DB_PASSWORD", "-exit", "0")
	files.DockerLabels = maps.Clone(d.labels)
	files.DockerLabels["berth.secrets-as-files"] = "true"
	files.Secrets = []types.Secret{{Name: aws.String("DB_PASSWORD"), ValueFrom: aws.String("/e2e/db/password")}}
	files.Essential = aws.Bool(false)
	d.register("secrets", app, files)
	arn := d.run(&ecs.RunTaskInput{TaskDefinition: aws.String("secrets")})[0]
	tk := d.wait(arn, "STOPPED", 2*time.Minute)
	out := map[string]string{}
	for _, c := range tk.Containers {
		out[aws.ToString(c.Name)] = d.containerOutput(aws.ToString(c.RuntimeId))
	}
	for _, want := range []string{"DB_PASSWORD=p-" + marker, "API_TOKEN=t-" + marker, "PLAIN=plain-value"} {
		if !strings.Contains(out["app"], want+"\n") {
			t.Errorf("the container printed:\n%s\nwant a line %q", out["app"], want)
		}
	}
	if want := "/run/secrets/DB_PASSWORD=p-" + marker; !strings.Contains(out["files"], want) {
		t.Errorf("the files container printed %q; want %q (containers %+v)", out["files"], want, tk.Containers)
	}

	// A reference that does not resolve stops the task with a reason that
	// names it, never a value.
	bad := d.container("app", "-exit", "0")
	bad.Secrets = []types.Secret{{Name: aws.String("X"), ValueFrom: aws.String("/e2e/missing")}}
	d.register("badsecret", bad)
	arn = d.run(&ecs.RunTaskInput{TaskDefinition: aws.String("badsecret")})[0]
	tk = d.wait(arn, "STOPPED", time.Minute)
	if r := aws.ToString(tk.StoppedReason); !strings.HasPrefix(r, "ResourceInitializationError: ") || !strings.Contains(r, "/e2e/missing") {
		t.Errorf("stoppedReason = %q; want a ResourceInitializationError naming /e2e/missing", r)
	}

	// Nowhere else: API responses...
	var responses bytes.Buffer
	record := func(v any, err error) {
		if err != nil {
			t.Errorf("call: %v", err)
		}
		fmt.Fprintf(&responses, "%+v\n", v)
	}
	record(d.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}}))
	record(d.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("secrets")}))
	record(params.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/e2e/db/password")}))
	record(params.DescribeParameters(ctx, &ssm.DescribeParametersInput{}))
	record(params.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/e2e/db/password")}))
	record(sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: sec.ARN}))
	record(sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{}))
	if strings.Contains(responses.String(), marker) {
		t.Errorf("the marker shows in an API response")
	}
	// ... the server's and agent's debug log, and the data dir.
	if strings.Contains(d.proc.stderr.String(), marker) {
		t.Errorf("the marker shows in berth's log")
	}
	err = filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(marker)) {
			t.Errorf("the marker is stored in plain text in %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// containerOutput is what a container printed, as the engine kept it.
func (d *devCluster) containerOutput(id string) string {
	d.t.Helper()
	rc, err := d.docker.ContainerLogs(context.Background(), id, dockerLogsOptions())
	if err != nil {
		d.t.Fatalf("ContainerLogs(%.12s): %v", id, err)
	}
	defer rc.Close()
	var out bytes.Buffer
	// The stream is multiplexed: 8-byte headers, then the payload.
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(rc, hdr[:]); err != nil {
			break
		}
		n := int(hdr[4])<<24 | int(hdr[5])<<16 | int(hdr[6])<<8 | int(hdr[7])
		if _, err := io.CopyN(&out, rc, int64(n)); err != nil {
			break
		}
	}
	return out.String()
}

func dockerLogsOptions() client.ContainerLogsOptions {
	return client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true}
}
