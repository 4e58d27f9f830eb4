package runtask

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// moduleRoot is the directory of the go.mod the test runs in.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the berth module (go env GOMOD is empty)")
	}
	return filepath.Dir(gomod), nil
}

// buildBerth compiles ./cmd/berth into dir. The binary goes to a temporary
// directory, not the repository's tmp/, so the benchmark writes nothing
// outside bench/runtask.
func buildBerth(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "berth")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/berth")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/berth: %v\n%s", err, out)
	}
	return bin, nil
}

// sourceVersion names the commit the binary is built from.
func sourceVersion(ctx context.Context, root string) string {
	rev, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	v := strings.TrimSpace(string(rev))
	if st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		v += " + uncommitted changes"
	}
	return v
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// berth is one running `berth dev`: control plane plus agent.
type berth struct {
	name   string // the arm's name, e.g. "berth/default"
	pull   string // --image-pull-behavior
	addr   string
	dir    string
	cmd    *exec.Cmd
	stderr lockedBuffer
	done   chan struct{}
	ecs    *ecs.Client
}

// startBerth starts `berth dev` on a free loopback port with a fresh data
// directory and waits for /readyz and for the agent's container instance.
// extra are further flags. The process is stopped when the test ends.
func startBerth(ctx context.Context, t *testing.T, bin, name, pull string, extra ...string) *berth {
	t.Helper()
	b := &berth{name: name, pull: pull, addr: freeAddr(t), dir: t.TempDir(), done: make(chan struct{})}
	args := append([]string{"dev", "--data-dir", b.dir, "--listen", b.addr,
		"--image-pull-behavior", pull, "--task-cleanup-wait", "1h", "--log-level", "debug"}, extra...)
	b.cmd = exec.Command(bin, args...)
	b.cmd.Env = childEnv()
	b.cmd.Stdout = io.Discard
	b.cmd.Stderr = &b.stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start berth %v: %v", args, err)
	}
	go func() {
		_ = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(b.stop)

	if err := b.waitReady(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	key, err := readCredentials(filepath.Join(b.dir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	b.ecs = ecsClient(b.addr, key)
	if err := b.waitInstance(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return b
}

// childEnv is the test's environment without BERTH_* and AWS_* variables,
// which berth would read as flags or credentials.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "BERTH_") || strings.HasPrefix(kv, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// stop sends SIGTERM and waits for the exit, killing the process after 30 s.
func (b *berth) stop() {
	select {
	case <-b.done:
		return
	default:
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}

func (b *berth) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.addr+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-b.done:
			return fmt.Errorf("%s exited before it was ready; stderr:\n%s", b.name, b.stderr.String())
		case <-ctx.Done():
			return fmt.Errorf("%s was not ready within %v; stderr:\n%s", b.name, timeout, b.stderr.String())
		case <-tick.C:
		}
	}
}

func (b *berth) waitInstance(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		out, err := b.ecs.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{})
		if err == nil && len(out.ContainerInstanceArns) > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the agent of %s did not register within %v; stderr:\n%s", b.name, timeout, tail(b.stderr.String(), 4000))
		case <-tick.C:
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type accessKey struct{ id, secret string }

// readCredentials parses the [default] profile of an AWS shared-credentials
// file, as berth dev writes it.
func readCredentials(path string) (accessKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return accessKey{}, err
	}
	defer f.Close()
	var (
		k       accessKey
		section string
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || section != "default" {
			continue
		}
		switch strings.TrimSpace(name) {
		case "aws_access_key_id":
			k.id = strings.TrimSpace(value)
		case "aws_secret_access_key":
			k.secret = strings.TrimSpace(value)
		}
	}
	if err := sc.Err(); err != nil {
		return accessKey{}, err
	}
	if k.id == "" || k.secret == "" {
		return accessKey{}, fmt.Errorf("%s: no access key in profile default", path)
	}
	return k, nil
}

// ecsClient is an SDK client for the endpoint with one attempt per call, so
// a retry never hides inside a timed call.
func ecsClient(addr string, k accessKey) *ecs.Client {
	return ecs.NewFromConfig(aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(k.id, k.secret, ""),
		BaseEndpoint:     aws.String("http://" + addr),
		HTTPClient:       &http.Client{Transport: hideWriteTo{http.DefaultTransport}, Timeout: 30 * time.Second},
		RetryMaxAttempts: 1,
	})
}

// hideWriteTo sends request bodies without their WriteTo method: smithy-go's
// body reader returns io.EOF from WriteTo once the SDK has closed it, which
// net/http can take for a failed write and close the connection under a
// good response (aws/aws-sdk-go-v2#2737; cmd/berth/process_test.go has the
// full story).
type hideWriteTo struct{ base http.RoundTripper }

func (h hideWriteTo) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return h.base.RoundTrip(r)
}
