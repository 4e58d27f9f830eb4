package testimage_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/berthhq/berth/internal/testapp/testimage"
)

func TestCleanupRefusesForeignLabels(t *testing.T) {
	tests := []map[string]string{
		nil,
		{},
		{"app": "web"},
		{testimage.LabelTest: "false", testimage.LabelRun: "x"},
	}
	for _, labels := range tests {
		if err := testimage.Cleanup(t.Context(), labels); err == nil {
			t.Errorf("Cleanup(%v) = nil; want a refusal", labels)
		}
	}
}

func TestBuild(t *testing.T) {
	ctx := t.Context()
	ref := testimage.Build(ctx, t)
	if again := testimage.Build(ctx, t); again != ref {
		t.Errorf("Build() again = %q; want %q", again, ref)
	}
	if !strings.HasPrefix(ref, testimage.Repository+":") {
		t.Errorf("Build() = %q; want %s:<hash>", ref, testimage.Repository)
	}
	cli := testimage.Client(ctx, t)
	img, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatalf("ImageInspect(%s) = %v", ref, err)
	}
	if got := img.Config.Labels[testimage.LabelTest]; got != "true" {
		t.Errorf("image label %s = %q; want true", testimage.LabelTest, got)
	}
	if !slices.Equal(img.Config.Entrypoint, []string{"/testapp"}) {
		t.Errorf("image entrypoint = %q; want [/testapp]", img.Config.Entrypoint)
	}
}

// TestLabelsCleanUp checks that what a test labels with Labels is gone when
// the test ends.
func TestLabelsCleanUp(t *testing.T) {
	ctx := t.Context()
	ref := testimage.Build(ctx, t)
	cli := testimage.Client(ctx, t)
	var labels map[string]string
	t.Run("Create", func(t *testing.T) {
		labels = testimage.Labels(t)
		if _, err := cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: "berthtest-" + testimage.RunID(), Labels: labels}); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Config: &container.Config{Image: ref, Labels: labels, Cmd: []string{"-exit", "0"}},
		}); err != nil {
			t.Fatal(err)
		}
		if n := count(ctx, t, cli, labels); n != 2 {
			t.Fatalf("objects with the test's labels = %d; want 2", n)
		}
	})
	if n := count(ctx, t, cli, labels); n != 0 {
		t.Errorf("objects with the test's labels after it ended = %d; want 0", n)
	}
}

func count(ctx context.Context, t *testing.T, cli *client.Client, labels map[string]string) int {
	t.Helper()
	f := client.Filters{}
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	return len(cs.Items) + len(vs.Items)
}
