package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/berthhq/berth/internal/berthproc"
)

const (
	rootARN     = "arn:aws:iam::000000000000:root"
	rootAccount = "000000000000"
)

// TestBinaryCommands runs the built binary as a user would.
func TestBinaryCommands(t *testing.T) {
	bin := berthBinary(t)

	t.Run("one-shot commands", func(t *testing.T) {
		tests := []struct {
			name       string
			args       []string
			wantCode   int
			wantStdout *regexp.Regexp
			wantStderr []string
		}{
			{name: "version", args: []string{"version"}, wantStdout: regexp.MustCompile(`^berth \S+\n$`)},
			{name: "--version", args: []string{"--version"}, wantStdout: regexp.MustCompile(`^berth \S+\n$`)},
			{name: "no arguments", wantCode: 1, wantStdout: regexp.MustCompile(`^$`),
				wantStderr: []string{"usage: berth <command>", "server", "dev", "version", "berth: no command given"}},
			{name: "unknown command", args: []string{"serve"}, wantCode: 1, wantStdout: regexp.MustCompile(`^$`),
				wantStderr: []string{"usage: berth <command>", `berth: unknown command "serve"`}},
			{name: "help", args: []string{"help"}, wantStdout: regexp.MustCompile(`(?s)^usage: berth <command>.*BERTH_DATA_DIR`)},
			{name: "server without a data dir", args: []string{"server", "--listen", "127.0.0.1:0"}, wantCode: 1,
				wantStderr: []string{"--data-dir (or BERTH_DATA_DIR) is required"}},
			{name: "server with a bad auth mode", args: []string{"server", "--data-dir", t.TempDir(), "--auth", "lax"}, wantCode: 1,
				wantStderr: []string{`auth mode "lax"`}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				stdout, stderr, code := runBerth(t, bin, tt.args...)
				if code != tt.wantCode {
					t.Errorf("berth %q exit code = %d; want %d\nstdout: %s\nstderr: %s", tt.args, code, tt.wantCode, stdout, stderr)
				}
				if tt.wantStdout != nil && !tt.wantStdout.MatchString(stdout) {
					t.Errorf("berth %q stdout = %q; want a match for %q", tt.args, stdout, tt.wantStdout)
				}
				for _, want := range tt.wantStderr {
					if !strings.Contains(stderr, want) {
						t.Errorf("berth %q stderr = %q; want it to contain %q", tt.args, stderr, want)
					}
				}
			})
		}
	})

	t.Run("server configured through the environment", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		dataDir := filepath.Join(t.TempDir(), "data")
		addr := berthproc.FreeAddr(t)
		p := startBerth(t, bin, "", []string{"BERTH_LISTEN=" + addr, "BERTH_DATA_DIR=" + dataDir}, "server")
		if _, err := p.waitReady(ctx, addr, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(p.stderr.String(), "PERMISSIVE") {
			t.Errorf("strict server logs a permissive-auth warning:\n%s", p.stderr.String())
		}

		if fi, err := os.Stat(dataDir); err != nil || fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("data dir %s: %v, %v; want a directory only its owner can open", dataDir, fi.Mode(), err)
		}
		files := map[string][]byte{}
		for _, name := range []string{"credentials", "join-token"} {
			path := filepath.Join(dataDir, name)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("%s mode = %v; want -rw-------", name, fi.Mode())
			}
			if files[name], err = os.ReadFile(path); err != nil {
				t.Fatal(err)
			}
		}
		if tok := strings.TrimSpace(string(files["join-token"])); len(tok) < 32 {
			t.Errorf("join-token = %q; want a long random token", tok)
		}
		key, err := readCredentials(filepath.Join(dataDir, "credentials"))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`).MatchString(key.ID) || len(key.Secret) != 40 {
			t.Errorf("credentials = %q and a %d-character secret; want an AKIA key id and a 40-character secret", key.ID, len(key.Secret))
		}

		checkIdentity(ctx, t, addr, key)

		wrongSecret := rootKey{ID: key.ID, Secret: flipLast(key.Secret)}
		unknownKey := rootKey{ID: "AKIAIOSFODNN7EXAMPLE", Secret: key.Secret}
		authTests := []struct {
			name     string
			key      rootKey
			call     func(context.Context, rootKey) error
			wantCode string
		}{
			{"sts wrong secret", wrongSecret, callSTS(addr), "SignatureDoesNotMatch"},
			{"sts unknown key", unknownKey, callSTS(addr), "InvalidClientTokenId"},
			{"ecs wrong secret", wrongSecret, callECS(addr), "InvalidSignatureException"},
			{"ecs unknown key", unknownKey, callECS(addr), "UnrecognizedClientException"},
		}
		for _, tt := range authTests {
			t.Run(tt.name, func(t *testing.T) {
				err := tt.call(ctx, tt.key)
				if got := errorCode(err); got != tt.wantCode || httpStatus(err) != http.StatusForbidden {
					t.Errorf("call with %s = %v (code %q, status %d); want %s with status 403", tt.name, err, got, httpStatus(err), tt.wantCode)
				}
			})
		}

		// A clean stop, then a restart on the same data dir through flags:
		// the same key must still work and the files must not change.
		if err := p.stop(10 * time.Second); err != nil {
			t.Fatalf("berth server after SIGTERM: %v; want exit status 0\nstderr:\n%s", err, p.stderr.String())
		}
		p = startBerth(t, bin, "", nil, "server", "--listen", addr, "--data-dir", dataDir)
		if _, err := p.waitReady(ctx, addr, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		for name, before := range files {
			after, err := os.ReadFile(filepath.Join(dataDir, name))
			if err != nil || !bytes.Equal(after, before) {
				t.Errorf("%s after restart = %q, %v; want it unchanged: %q", name, after, err, before)
			}
		}
		checkIdentity(ctx, t, addr, key)
		if err := p.stop(10 * time.Second); err != nil {
			t.Errorf("berth server after SIGTERM: %v; want exit status 0", err)
		}
	})

	t.Run("dev prints endpoint and credentials", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		work := t.TempDir()
		addr := berthproc.FreeAddr(t)
		// A relative data dir: the banner must name the credentials file by
		// its absolute path, usable from another shell.
		p := startBerth(t, bin, work, nil, "dev", "--data-dir", "state", "--listen", addr)
		if _, err := p.waitReady(ctx, addr, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		credsPath := filepath.Join(work, "state", "credentials")
		wantLines := []string{
			"endpoint     http://" + addr,
			"credentials  " + credsPath + " (profile default)",
			"AWS_SHARED_CREDENTIALS_FILE=" + credsPath,
			"AWS_ENDPOINT_URL=http://" + addr,
			"berth agent --server https://" + addr + " --join-token-file " + filepath.Join(work, "state", "join-token"),
		}
		banner := waitOutput(ctx, p, wantLines[len(wantLines)-1], 10*time.Second)
		for _, want := range wantLines {
			if !strings.Contains(banner, want) {
				t.Errorf("berth dev banner = %q; want it to contain %q", banner, want)
			}
		}
		key, err := readCredentials(credsPath)
		if err != nil {
			t.Fatalf("the credentials file the banner names: %v", err)
		}
		checkIdentity(ctx, t, addr, key)
		if err := p.stop(10 * time.Second); err != nil {
			t.Errorf("berth dev after SIGTERM: %v; want exit status 0", err)
		}
	})

	t.Run("permissive auth", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		addr := berthproc.FreeAddr(t)
		p := startBerth(t, bin, "", nil, "server", "--auth=permissive", "--listen", addr, "--data-dir", t.TempDir())
		if _, err := p.waitReady(ctx, addr, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if log := p.stderr.String(); !strings.Contains(log, "PERMISSIVE") || !strings.Contains(log, "level=WARN") {
			t.Errorf("berth server --auth=permissive log = %q; want a warning containing PERMISSIVE", log)
		}
		dummy := rootKey{ID: "test", Secret: "test"}
		checkIdentity(ctx, t, addr, dummy)
		if err := callECS(addr)(ctx, dummy); err != nil {
			t.Errorf("ECS ListClusters with test/test in permissive mode = %v; want success", err)
		}
		if err := p.stop(10 * time.Second); err != nil {
			t.Errorf("berth server after SIGTERM: %v; want exit status 0", err)
		}
	})
}

// runBerth runs the binary to completion and returns its output and exit
// code.
func runBerth(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = childEnv(nil)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		code = ee.ExitCode()
	default:
		t.Fatalf("berth %q: %v\nstderr: %s", args, err, errOut.String())
	}
	return out.String(), errOut.String(), code
}

// waitOutput waits until the process's stdout contains want and returns it.
func waitOutput(ctx context.Context, p *proc, want string, timeout time.Duration) string {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		out := p.stdout.String()
		if strings.Contains(out, want) {
			return out
		}
		select {
		case <-ctx.Done():
			return out
		case <-p.done:
			return p.stdout.String()
		case <-tick.C:
		}
	}
}

// checkIdentity checks that key signs as the root of the default account.
func checkIdentity(ctx context.Context, t *testing.T, addr string, key rootKey) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := stsClient(addr, key).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Errorf("GetCallerIdentity as %s = %v; want the root identity", key.ID, err)
		return
	}
	if got := aws.ToString(out.Account); got != rootAccount {
		t.Errorf("GetCallerIdentity as %s: Account = %q; want %q", key.ID, got, rootAccount)
	}
	if got := aws.ToString(out.Arn); got != rootARN {
		t.Errorf("GetCallerIdentity as %s: Arn = %q; want %q", key.ID, got, rootARN)
	}
}

func callSTS(addr string) func(context.Context, rootKey) error {
	return func(ctx context.Context, k rootKey) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := stsClient(addr, k).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	}
}

func callECS(addr string) func(context.Context, rootKey) error {
	return func(ctx context.Context, k rootKey) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := ecsClient(addr, k, nil).ListClusters(ctx, &ecs.ListClustersInput{})
		return err
	}
}

// flipLast returns s with its last character changed.
func flipLast(s string) string {
	last := s[len(s)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return s[:len(s)-1] + string(repl)
}
