package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// dockerCLI runs the docker CLI with a config dir of the test's own, so a
// login never touches the user's.
func dockerCLI(t *testing.T, configDir string, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+configDir)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// TestDockerRegistryPushAndRun pushes an image into Berth's registry with
// the docker CLI (login with an ECR token, tag, push), then runs a task
// whose definition names it as AWS would,
// <account>.dkr.ecr.<region>.amazonaws.com/<name>:<tag>: the agent pulls it
// from Berth's registry. A push over an immutable tag fails.
func TestDockerRegistryPushAndRun(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end on Docker: skipped with -short")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the docker CLI is required under CI=true: %v", err)
		}
		t.Skipf("no docker CLI: %v", err)
	}
	d := startDev(t)
	ctx := context.Background()
	reg := ecr.NewFromConfig(d.sdk())
	repo, err := reg.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("e2e/app"),
		ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable})
	if err != nil {
		t.Fatal(err)
	}
	uri := aws.ToString(repo.Repository.RepositoryUri)
	if want := d.addr + "/e2e/app"; uri != want {
		t.Fatalf("repositoryUri = %q; want %q", uri, want)
	}
	auth, err := reg.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(aws.ToString(auth.AuthorizationData[0].AuthorizationToken))
	user, password, _ := strings.Cut(string(raw), ":")
	conf := t.TempDir()
	dockerCLI(t, conf, password, "login", "-u", user, "--password-stdin", d.addr)

	ref := uri + ":1"
	dockerCLI(t, conf, "", "tag", d.image, ref)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", ref).Run() })
	dockerCLI(t, conf, "", "push", ref)
	imgs, err := reg.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("e2e/app")})
	if err != nil || len(imgs.ImageDetails) != 1 || !slices.Contains(imgs.ImageDetails[0].ImageTags, "1") {
		t.Fatalf("DescribeImages after the push = %+v, %v; want the image tagged 1", imgs, err)
	}
	// Immutable: pushing over tag 1 again fails with TAG_INVALID.
	cmd := exec.Command("docker", "push", ref)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+conf)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(strings.ToLower(string(out)), "immutable") {
		t.Errorf("docker push over an immutable tag = %v:\n%s\nwant a failure naming the immutable tag", err, out)
	}
	// rmi, then pull: the same digest comes back.
	digest := aws.ToString(imgs.ImageDetails[0].ImageDigest)
	dockerCLI(t, conf, "", "rmi", ref)
	dockerCLI(t, conf, "", "pull", ref)
	if got := dockerCLI(t, conf, "", "image", "inspect", "--format", "{{json .RepoDigests}}", ref); !strings.Contains(got, uri+"@"+digest) {
		t.Errorf("pulled image digests %s; want %s@%s", got, uri, digest)
	}
	// Removing the local tag again makes the task's pull a real one.
	dockerCLI(t, conf, "", "rmi", ref)

	c := d.container("app", "-print", "1", "-sleep", "30s")
	c.Image = aws.String("000000000000.dkr.ecr.us-east-1.amazonaws.com/e2e/app:1")
	d.register("fromecr", c)
	arn := d.run(&ecs.RunTaskInput{TaskDefinition: aws.String("fromecr")})[0]
	tk := d.wait(arn, "RUNNING", 2*time.Minute)
	if got := aws.ToString(tk.Containers[0].Image); got != aws.ToString(c.Image) {
		t.Errorf("container image = %q; want the task definition's %q", got, aws.ToString(c.Image))
	}
	if _, err := d.ecs.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	// The repositoryUri form runs too.
	dockerCLI(t, conf, "", "rmi", ref)
	c.Image = aws.String(ref)
	d.register("fromberth", c)
	arn = d.run(&ecs.RunTaskInput{TaskDefinition: aws.String("fromberth")})[0]
	d.wait(arn, "RUNNING", 2*time.Minute)
	if _, err := d.ecs.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
}
