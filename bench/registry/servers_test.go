package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	berthreg "github.com/berthhq/berth/internal/registry"
	"github.com/berthhq/berth/internal/state"
)

// server is one registry under test, as the client sees it.
type server struct {
	name string
	host string // 127.0.0.1:port
	auth authn.Authenticator
	// pid is the server's process, for CPU accounting; 0 when it runs in
	// the benchmark's own process.
	pid int
	// createRepo makes a repository ready for pushes (ECR requires it to
	// exist; docker-registry creates repositories on first push).
	createRepo func(ctx context.Context, name string) error
}

const (
	berthArm = "berth"
	peerArm  = "docker-registry"
)

// Berth's tenancy in the benchmark.
var berthScope = berthreg.Scope{Account: "000000000000", Region: "us-east-1"}

// startBerth runs Berth's registry as `berth server` runs it: the state
// store on disk (raft log and snapshots, fsync'd), blobs in a data
// directory, /v2/ served by an http.Server with the server's settings on a
// loopback listener. Clients authenticate with Basic AWS:<token>.
func startBerth(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	store, err := state.Open(state.Config{DataDir: filepath.Join(dir, "state")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := store.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	reg, err := berthreg.New(berthreg.Config{DataDir: filepath.Join(dir, "registry"), Host: ln.Addr().String(), TokenKey: key,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}, store)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           reg,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Berth registry server: %v", err)
		}
		_ = reg.Close()
	})
	token, _ := reg.MintToken(berthScope.Account, berthScope.Region, "arn:aws:iam::"+berthScope.Account+":root", time.Now())
	return &server{
		name: berthArm,
		host: ln.Addr().String(),
		auth: &authn.Basic{Username: "AWS", Password: token},
		createRepo: func(ctx context.Context, name string) error {
			_, err := reg.CreateRepository(ctx, berthScope, berthreg.Repository{Name: name})
			return err
		},
	}
}

// peerConfig is docker-registry's configuration for the benchmark:
// filesystem storage in dir, loopback only, no access log, anonymous access
// (see README.md on auth), the in-memory blob descriptor cache its sample
// configuration uses, and no upload purging during the run.
func peerConfig(dir, addr string) string {
	return fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
  cache:
    blobdescriptor: inmemory
http:
  addr: %s
  secret: berth-bench-registry-secret
`, dir, addr)
}

// peerBinary finds docker-registry, installing Debian's package when it is
// missing and the benchmark runs as root; otherwise it skips the test with
// what to do.
func peerBinary(ctx context.Context, t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("docker-registry"); err == nil {
		return p
	}
	const how = "install Debian's docker-registry package (apt-get install -y docker-registry) and run again"
	if os.Geteuid() != 0 {
		t.Skipf("docker-registry is not installed: %s", how)
	}
	install := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	t.Log("docker-registry is not installed; installing it with apt-get")
	if err := install("install", "-y", "docker-registry"); err != nil {
		// The package lists may never have been fetched on this machine.
		if err := install("update"); err != nil {
			t.Skipf("%v: %s", err, how)
		}
		if err := install("install", "-y", "docker-registry"); err != nil {
			t.Skipf("%v: %s", err, how)
		}
	}
	p, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skipf("docker-registry still not found after apt-get install: %s", how)
	}
	return p
}

// startPeer runs docker-registry on a free loopback port with a fresh data
// directory and waits until it answers /v2/.
func startPeer(ctx context.Context, t *testing.T, bin string) *server {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // docker-registry binds it again below
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(peerConfig(filepath.Join(dir, "data"), addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	// Its own process group, so that nothing of it outlives the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("docker-registry exited before serving: %v\n%s", err, logs.String())
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v2/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not answer on %s within 15 s\n%s", addr, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &server{
		name:       peerArm,
		host:       addr,
		auth:       authn.Anonymous,
		pid:        cmd.Process.Pid,
		createRepo: func(context.Context, string) error { return nil },
	}
}

// peerVersion is what `docker-registry --version` prints, for the report.
func peerVersion(ctx context.Context, bin string) string {
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
