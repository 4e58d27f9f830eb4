package docker_test

import (
	"context"
	"testing"

	"github.com/moby/moby/client"

	"github.com/berthhq/berth/internal/runtime/docker"
	"github.com/berthhq/berth/internal/runtime/runtimetest"
	"github.com/berthhq/berth/internal/testapp/testimage"
)

// TestSuite runs the runtime behaviour suite on the Docker Engine of
// DOCKER_HOST (or the default socket). Without an engine it is skipped,
// unless CI=true.
func TestSuite(t *testing.T) {
	image := testimage.Build(t.Context(), t)
	d, err := docker.New(docker.Config{})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	t.Cleanup(func() { d.Close() })
	runtimetest.Run(t, harness(d, image))
}

// harness runs the suite on d with the test image.
func harness(d *docker.Docker, image string) runtimetest.Harness {
	return runtimetest.Harness{
		Setup: func(t *testing.T) runtimetest.Env {
			return runtimetest.Env{
				Runtime:  d,
				Image:    image,
				Labels:   testimage.Labels(t),
				HTTPGet:  runtimetest.HostHTTPGet,
				FreePort: runtimetest.HostFreePort,
			}
		},
	}
}

// TestSuiteLogsThroughAPI runs the suite's logs behaviours through the
// engine's logs API, the way a remote engine is read.
func TestSuiteLogsThroughAPI(t *testing.T) {
	image := testimage.Build(t.Context(), t)
	d, err := docker.New(docker.Config{LogsThroughAPI: true})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	t.Cleanup(func() { d.Close() })
	h := harness(d, image)
	h.Groups = []string{"Logs"}
	runtimetest.Run(t, h)
}

// TestNegotiatesAPIVersion: the client speaks the engine's API version
// (1.41 for Docker 20.10), not its own newer one.
func TestNegotiatesAPIVersion(t *testing.T) {
	ctx := t.Context()
	cli := testimage.Client(ctx, t)
	ver, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := docker.New(docker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	info, err := d.Info(ctx)
	if err != nil {
		t.Fatalf("Info() = %v", err)
	}
	if info.APIVersion != ver.APIVersion || info.EngineVersion != ver.Version {
		t.Errorf("Info() = API %s engine %s; want API %s engine %s", info.APIVersion, info.EngineVersion, ver.APIVersion, ver.Version)
	}
}

// TestEventsEndWithContext: cancelling the context closes both channels
// without an error.
func TestEventsEndWithContext(t *testing.T) {
	testimage.Client(t.Context(), t) // skip without an engine
	d, err := docker.New(docker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(t.Context())
	evs, errs := d.Events(ctx, map[string]string{testimage.LabelTest: "true"})
	cancel()
	if _, ok := <-evs; ok {
		t.Error("event after cancel; want the stream closed")
	}
	if err, ok := <-errs; ok {
		t.Errorf("error after cancel = %v; want none, channel closed", err)
	}
}
