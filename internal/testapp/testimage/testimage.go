// Package testimage builds the Docker image that end-to-end tests run:
// internal/testapp compiled static (CGO_ENABLED=0) and copied into an image
// FROM scratch, which needs no registry. It also labels and cleans up what
// tests create on the engine.
//
// Images are kept between runs: the tag berth-testapp:<hash> is derived from
// testapp's sources, the Go version and the architecture, so an existing tag
// already holds the right content and Build returns at once. Old tags are
// never pruned automatically (other checkouts may use them); remove them
// with `docker image rm` and the label berth.test=true.
//
// Without a reachable engine the helpers skip the test, saying why; with
// CI=true they fail it instead, because CI must run the end-to-end tests.
package testimage

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// Labels and names the helpers use.
const (
	// LabelTest is "true" on everything a test creates on the engine.
	LabelTest = "berth.test"
	// LabelRun identifies one test process (see RunID).
	LabelRun = "berth.test.run"
	// LabelCase identifies one test within the run.
	LabelCase = "berth.test.case"
	// Repository is the repository of the testapp image.
	Repository = "berth-testapp"
)

// RunID is random and fixed for this process.
var RunID = sync.OnceValue(func() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
})

// Client returns a client for the engine DOCKER_HOST names (else the default
// socket), once it has answered a ping. When it does not answer, tb is
// skipped, or failed if CI=true.
func Client(ctx context.Context, tb testing.TB) *client.Client {
	tb.Helper()
	cli, err := client.New(client.FromEnv)
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true})
		cancel()
	}
	if err != nil {
		msg := fmt.Sprintf("Docker engine unreachable (DOCKER_HOST=%q): %v", os.Getenv("DOCKER_HOST"), err)
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s; end-to-end tests on Docker are required when CI=true", msg)
		}
		tb.Skipf("%s; skipping (set CI=true to make this a failure)", msg)
	}
	tb.Cleanup(func() { cli.Close() })
	return cli
}

var build struct {
	sync.Mutex
	images map[string]bool // tags known to exist in this process
}

// Build returns the reference of a local image that runs testapp as its
// ENTRYPOINT, building it if the engine lacks it. The image carries
// berth.test=true.
func Build(ctx context.Context, tb testing.TB) string {
	tb.Helper()
	cli := Client(ctx, tb)
	ver, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		tb.Fatalf("docker version: %v", err)
	}
	src, err := sourceDir()
	if err != nil {
		tb.Fatal(err)
	}
	hash, err := sourceHash(src, ver.Arch)
	if err != nil {
		tb.Fatal(err)
	}
	ref := Repository + ":" + hash[:12]

	build.Lock()
	defer build.Unlock()
	if build.images[ref] {
		return ref
	}
	if _, err := cli.ImageInspect(ctx, ref); err == nil {
		build.images = mapSet(build.images, ref)
		return ref
	}
	bin, err := compile(ctx, src, ver.Arch, hash)
	if err != nil {
		tb.Fatal(err)
	}
	if err := buildImage(ctx, cli, bin, ref); err != nil {
		tb.Fatal(err)
	}
	build.images = mapSet(build.images, ref)
	return ref
}

func mapSet(m map[string]bool, k string) map[string]bool {
	if m == nil {
		m = map[string]bool{}
	}
	m[k] = true
	return m
}

// Binary returns the path of testapp compiled static for linux/GOARCH of
// this process, for tests that run it outside Docker.
func Binary(ctx context.Context, tb testing.TB) string {
	tb.Helper()
	src, err := sourceDir()
	if err != nil {
		tb.Fatal(err)
	}
	hash, err := sourceHash(src, goruntime.GOARCH)
	if err != nil {
		tb.Fatal(err)
	}
	bin, err := compile(ctx, src, goruntime.GOARCH, hash)
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// sourceDir is internal/testapp, found from this file's location.
func sourceDir() (string, error) {
	_, file, _, ok := goruntime.Caller(0)
	if !ok {
		return "", errors.New("testimage: cannot locate internal/testapp")
	}
	return filepath.Dir(filepath.Dir(file)), nil
}

// sourceHash hashes testapp's non-test Go files, the Go version and arch.
func sourceHash(dir, arch string) (string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return "", err
	}
	slices.Sort(names)
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", goruntime.Version(), arch)
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(name), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

var compiled sync.Map // hash -> path

// compile builds testapp into the user cache directory, keyed by hash, so
// it is compiled once per source version, not once per test or process.
func compile(ctx context.Context, src, arch, hash string) (string, error) {
	if p, ok := compiled.Load(hash); ok {
		return p.(string), nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "berth", "testapp")
	bin := filepath.Join(dir, "testapp-"+hash[:16])
	if _, err := os.Stat(bin); err == nil {
		compiled.Store(hash, bin)
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "build-*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp.Name(), ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build internal/testapp: %v\n%s", err, out)
	}
	if err := os.Rename(tmp.Name(), bin); err != nil {
		return "", err
	}
	compiled.Store(hash, bin)
	return bin, nil
}

const dockerfile = `FROM scratch
COPY testapp /testapp
ENTRYPOINT ["/testapp"]
`

// buildImage builds ref from bin through the engine's build API.
func buildImage(ctx context.Context, cli *client.Client, bin, ref string) error {
	exe, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		body []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {"testapp", 0o755, exe}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		if _, err := tw.Write(f.body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{
		Tags:        []string{ref},
		Labels:      map[string]string{LabelTest: "true"},
		Remove:      true,
		ForceRemove: true, // the classic builder's intermediate containers
	})
	if err != nil {
		return fmt.Errorf("build %s: %w", ref, err)
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	for {
		var msg jsonstream.Message
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("build %s: %w", ref, err)
		}
		if msg.Error != nil {
			return fmt.Errorf("build %s: %s", ref, msg.Error.Message)
		}
	}
	if _, err := cli.ImageInspect(ctx, ref); err != nil {
		return fmt.Errorf("build %s: no image after the build: %w", ref, err)
	}
	return nil
}

// Labels returns labels unique to tb: berth.test=true, the run and the test.
// Put them on everything tb creates; the containers, volumes and networks
// carrying them are removed when tb ends.
func Labels(tb testing.TB) map[string]string {
	tb.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	labels := map[string]string{
		LabelTest: "true",
		LabelRun:  RunID(),
		LabelCase: tb.Name() + "#" + hex.EncodeToString(b),
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := Cleanup(ctx, labels); err != nil {
			tb.Errorf("cleanup: %v", err)
		}
	})
	return labels
}

// Cleanup removes the containers (with their anonymous volumes), volumes
// and networks that carry every label in labels. It refuses labels without
// berth.test=true, so it can never touch what tests did not create.
func Cleanup(ctx context.Context, labels map[string]string) error {
	if labels[LabelTest] != "true" {
		return fmt.Errorf("testimage: cleanup needs the label %s=true, got %v", LabelTest, labels)
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return err
	}
	defer cli.Close()
	f := client.Filters{}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		f.Add("label", k+"="+labels[k])
	}
	var errs []error
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	errs = append(errs, err)
	for _, c := range cs.Items {
		_, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		errs = append(errs, ignoreNotFound(err))
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	errs = append(errs, err)
	for _, v := range vs.Items {
		_, err := cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
		errs = append(errs, ignoreNotFound(err))
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	errs = append(errs, err)
	for _, n := range ns.Items {
		_, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{})
		errs = append(errs, ignoreNotFound(err))
	}
	return errors.Join(errs...)
}

func ignoreNotFound(err error) error {
	if cerrdefs.IsNotFound(err) {
		return nil // removed meanwhile
	}
	return err
}
