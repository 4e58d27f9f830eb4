package benchkit

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/berthhq/berth/internal/berthproc"
)

// BuildBerth compiles ./cmd/berth of the module at root into dir. The
// binary goes to a temporary directory, not the repository's tmp/, so a
// benchmark writes nothing in the tree.
func BuildBerth(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "berth")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/berth")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/berth: %v\n%s", err, out)
	}
	return bin, nil
}

// Berth is one running `berth dev`: control plane plus agent.
type Berth struct {
	Name string      // the arm's name, for messages
	Addr string      // host:port of the API
	Dir  string      // the data directory
	ECS  *ecs.Client // one attempt per call (see ECSClient)

	cmd    *exec.Cmd
	stderr berthproc.LockedBuffer
	done   chan struct{}
}

// StartBerth starts `berth dev` on a free loopback port with a fresh data
// directory, with flags after its own --data-dir and --listen, and waits
// for /readyz and for the agent's container instance. The process is
// stopped when the test ends.
func StartBerth(ctx context.Context, t testing.TB, bin, name string, flags ...string) *Berth {
	t.Helper()
	b := &Berth{Name: name, Addr: berthproc.FreeAddr(t), Dir: t.TempDir(), done: make(chan struct{})}
	args := append([]string{"dev", "--data-dir", b.Dir, "--listen", b.Addr}, flags...)
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
	t.Cleanup(b.Stop)

	if err := b.waitReady(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	key, err := berthproc.ReadCredentials(filepath.Join(b.Dir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	b.ECS = ECSClient(b.Addr, key)
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

// Stop sends SIGTERM and waits for the exit, killing the process after
// 30 s. It may be called more than once.
func (b *Berth) Stop() {
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

// StderrTail is the last n bytes of the process's standard error (its log).
func (b *Berth) StderrTail(n int) string { return Tail(b.stderr.String(), n) }

func (b *Berth) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.Addr+"/readyz", nil)
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
			return fmt.Errorf("%s exited before it was ready; stderr:\n%s", b.Name, b.StderrTail(4000))
		case <-ctx.Done():
			return fmt.Errorf("%s was not ready within %v; stderr:\n%s", b.Name, timeout, b.StderrTail(4000))
		case <-tick.C:
		}
	}
}

func (b *Berth) waitInstance(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		out, err := b.ECS.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{})
		if err == nil && len(out.ContainerInstanceArns) > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the agent of %s did not register within %v; stderr:\n%s", b.Name, timeout, b.StderrTail(4000))
		case <-tick.C:
		}
	}
}

// Tail is the last n bytes of s.
func Tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// ECSClient is an SDK client for the endpoint with one attempt per call, so
// a retry never hides inside a timed call.
func ECSClient(addr string, k aws.Credentials) *ecs.Client {
	return ecs.NewFromConfig(aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(k.AccessKeyID, k.SecretAccessKey, ""),
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
