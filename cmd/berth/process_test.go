package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/berthhq/berth/internal/berthproc"
)

// These tests run the real binary, built once per test process.

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// berthBinary builds ./cmd/berth once and returns the path of the binary.
func berthBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		goTool, err := findGo()
		if err != nil {
			buildErr = err
			return
		}
		buildDir, err = os.MkdirTemp("", "berth-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(buildDir, "berth")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, goTool, "build", "-o", buildBin, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building berth: %v", buildErr)
	}
	return buildBin
}

// findGo returns the go command of the toolchain running the tests: the one in
// GOROOT/bin if the environment names it, else the one on PATH.
func findGo() (string, error) {
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return exec.LookPath("go")
}

// proc is a running berth child process.
type proc struct {
	cmd     *exec.Cmd
	started time.Time
	stdout  berthproc.LockedBuffer
	stderr  berthproc.LockedBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid once done is closed
}

// startBerth starts the binary with args. env, if not nil, replaces every
// BERTH_* and AWS_* variable of the test's environment. The process is killed
// when the test ends, if it still runs.
func startBerth(t testing.TB, bin, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = childEnv(env)
	if dir != "" {
		// As exec does when Env is nil: the child's os.Getwd, and so any
		// path it makes absolute, then starts from dir as given.
		p.cmd.Env = append(p.cmd.Env, "PWD="+dir)
	}
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start berth %v: %v", args, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

func childEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "BERTH_") || strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "PWD=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stop sends SIGTERM and waits up to timeout for a clean exit. It returns the
// exit error (nil for status 0); on timeout it kills the process.
func (p *proc) stop(timeout time.Duration) error {
	if p.exited() {
		return p.waitErr
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.waitErr
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("did not exit within %v of SIGTERM", timeout)
	}
}

// waitReady polls GET /readyz until it answers 200, and returns how long that
// took from the start of the process.
func (p *proc) waitReady(ctx context.Context, addr string, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
		if err != nil {
			return 0, err
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(p.started), nil
			}
		}
		select {
		case <-p.done:
			return 0, fmt.Errorf("berth exited before it was ready (%v); stderr:\n%s", p.waitErr, p.stderr.String())
		case <-ctx.Done():
			return 0, fmt.Errorf("berth was not ready within %v; stderr:\n%s", timeout, p.stderr.String())
		case <-tick.C:
		}
	}
}

// rootKey is the access key of a credentials file.
type rootKey struct {
	ID, Secret string
}

// readCredentials reads the root key from a credentials file.
func readCredentials(path string) (rootKey, error) {
	c, err := berthproc.ReadCredentials(path)
	return rootKey{ID: c.AccessKeyID, Secret: c.SecretAccessKey}, err
}

// sdkConfig is configured as testcluster configures clients: static keys,
// us-east-1, the endpoint, and one attempt so every outcome is the first.
func sdkConfig(addr, id, secret string, hc *http.Client) aws.Config {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc = &http.Client{Transport: hideWriteTo{base}, Timeout: hc.Timeout}
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, ""),
		BaseEndpoint:     aws.String("http://" + addr),
		HTTPClient:       hc,
		RetryMaxAttempts: 1,
	}
}

// hideWriteTo sends request bodies without their WriteTo method.
//
// smithy-go wraps request bodies in a reader whose WriteTo returns io.EOF once
// the SDK has closed it, which it does as soon as the response arrives. When
// the response beats net/http's final check of the body, the transport's
// write loop gets that io.EOF, takes it for a failed write and closes the
// connection under the response being read: the call fails with "use of
// closed network connection" after a 200 (aws/aws-sdk-go-v2#2737, which the
// SDK papers over with a retry that RetryMaxAttempts: 1 turns off). Read
// after Close returns io.EOF, which io.Copy takes as the end it is.
type hideWriteTo struct{ base http.RoundTripper }

func (h hideWriteTo) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return h.base.RoundTrip(r)
}

func ecsClient(addr string, k rootKey, hc *http.Client) *ecs.Client {
	return ecs.NewFromConfig(sdkConfig(addr, k.ID, k.Secret, hc))
}

func stsClient(addr string, k rootKey) *sts.Client {
	return sts.NewFromConfig(sdkConfig(addr, k.ID, k.Secret, nil))
}

// errorCode returns the AWS error code of err, or "" if err is not an API
// error.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus returns the HTTP status of the response that produced err, or 0.
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
