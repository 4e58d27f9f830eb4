package conformance_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsapitest"
	ecrapi "github.com/berthhq/berth/internal/ecr"
	"github.com/berthhq/berth/internal/registry"
	"github.com/berthhq/berth/internal/state"
)

// The suite pushes to repo1 and mounts blobs from repo2 into it; ECR
// requires both to exist before the first push.
const (
	repo1 = "conformance/repo1"
	repo2 = "conformance/repo2"
)

// keepEnv names a directory to copy the suite's reports into (junit.xml,
// results.yaml and report.html, which has every request and response);
// they are otherwise deleted with the test's temporary directory.
const keepEnv = "BERTH_CONFORMANCE_RESULTS"

// TestDistributionSpec runs the whole suite, spec version 1.1, with the
// optional APIs Berth implements switched on, and fails on any check that
// does not pass (skipped included).
func TestDistributionSpec(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the OCI conformance suite (about 15 s)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	bin := suiteBinary(ctx, t)
	root, password := startBerth(ctx, t)

	results := t.TempDir()
	// The suite's current variables; the legacy OCI_ROOT_URL, OCI_NAMESPACE,
	// OCI_TEST_PULL… still work but only map onto these (with a warning),
	// and OCI_HIDE_SKIPPED_WORKFLOWS is gone.
	env := map[string]string{
		"OCI_REGISTRY":    root.Host,
		"OCI_TLS":         "disabled",
		"OCI_REPO1":       repo1,
		"OCI_REPO2":       repo2,
		"OCI_USERNAME":    "AWS",
		"OCI_PASSWORD":    password,
		"OCI_VERSION":     "1.1",
		"OCI_RESULTS_DIR": results,
		// Optional in 1.1; Berth implements them (spec end-14, end-7b) and
		// always sends Docker-Content-Digest.
		"OCI_API_BLOBS_UPLOAD_CANCEL":     "true",
		"OCI_API_MANIFESTS_TAG_PARAM":     "true",
		"OCI_API_BLOBS_DIGEST_HEADER":     "true",
		"OCI_API_MANIFESTS_DIGEST_HEADER": "true",
	}
	rep, stdout, err := runSuite(ctx, t, bin, env, results)
	if dir := os.Getenv(keepEnv); dir != "" {
		if err := os.CopyFS(dir, os.DirFS(results)); err != nil {
			t.Errorf("copy the reports to %s: %v", dir, err)
		}
	}
	if rep == nil {
		t.Fatalf("conformance suite wrote no junit.xml (exit: %v); its output:\n%s", err, stdout)
	}
	c := rep.counts()
	t.Logf("OCI conformance (distribution-spec %s, spec 1.1): %d passed, %d failed, %d errors, %d skipped, %d disabled, %d total",
		suiteVersion, c.pass, c.fail, c.error, c.skip, c.disabled, c.total)
	if i := strings.Index(stdout, "OCI Conformance Result:"); i >= 0 {
		t.Logf("suite summary:\n%s", stdout[i:])
	}
	for _, tc := range rep.cases() {
		switch tc.Status {
		case "failure", "error":
			t.Errorf("%s: %s\n%s", tc.Name, tc.Status, indent(tc.SystemOut))
			t.Logf("%s: requests:\n%s", tc.Name, indent(truncate(tc.SystemErr, 8<<10)))
		case "skipped":
			// The suite skips a check when the registry answers that an
			// optional feature is unsupported; Berth claims them all.
			t.Errorf("%s: skipped\n%s", tc.Name, indent(tc.SystemOut))
		}
	}
	// A run that checked almost nothing proves nothing: this profile has
	// about 990 checks; a broken setup (say, every push refused) shows as
	// a short run or as failures.
	if c.pass < 900 {
		t.Errorf("conformance suite passed %d checks; want ≥ 900 (a full run has about 990)", c.pass)
	}
	if c.fail+c.error+c.skip+c.disabled > 0 {
		t.Errorf("conformance suite: %d failed, %d errors, %d skipped, %d disabled; want all %d passed (set %s=DIR to keep report.html)",
			c.fail, c.error, c.skip, c.disabled, c.total, keepEnv)
	}
	if err != nil && c.fail+c.error == 0 {
		t.Errorf("conformance suite exited with %v but reported no failure; its output:\n%s", err, stdout)
	}
	if err == nil && c.fail+c.error > 0 {
		t.Errorf("conformance suite exited 0 but reported %d failures", c.fail+c.error)
	}
}

// suiteVersion is the pinned module version, for the log.
const suiteVersion = "v0.0.0-20260831232431-97274622c111"

// suiteBinary builds the conformance tool go.mod pins (a package main, so
// it cannot be imported) and returns its path. `go tool -n` caches the
// executable, so only the first run on a machine pays for the build.
func suiteBinary(ctx context.Context, t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the conformance suite: %v", err)
	}
	cmd := exec.CommandContext(ctx, goBin, "tool", "-n", "conformance")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go tool -n conformance: %v\n%s", err, stderr.String())
	}
	bin := strings.TrimSpace(string(out))
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("go tool -n conformance printed %q, not an executable: %v", bin, err)
	}
	return bin
}

// startBerth serves the registry under /v2/ and the ECR API on one
// loopback port, creates the suite's repositories through ECR and returns
// the registry's URL and the password GetAuthorizationToken hands out.
func startBerth(ctx context.Context, t *testing.T) (*url.URL, string) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := awsapitest.Start(t, func(gw *awsapi.Gateway, store *state.Store, mux *http.ServeMux) {
		reg, err := registry.New(registry.Config{
			DataDir:  t.TempDir(),
			Host:     "127.0.0.1",
			TokenKey: bytes.Repeat([]byte("c"), 32),
			Logger:   log,
		}, store)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = reg.Close() })
		gw.RegisterJSON(ecrapi.New(ecrapi.Config{Logger: log}, store, reg).Service())
		mux.Handle("/v2/", reg)
	})
	client := ecr.NewFromConfig(srv.Config())
	for _, name := range []string{repo1, repo2} {
		if _, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)}); err != nil {
			t.Fatalf("CreateRepository(%s) = %v", name, err)
		}
	}
	out, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil || len(out.AuthorizationData) != 1 {
		t.Fatalf("GetAuthorizationToken() = %v, %v; want one token", out, err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		t.Fatal(err)
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok || user != "AWS" {
		t.Fatalf("authorization token decodes to user %q; want AWS:<password>", user)
	}
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u, password
}

// runSuite runs the suite with env (and no other OCI_ variable from the
// environment) in an empty directory, so that no oci-conformance.yaml is
// picked up, and reads its JUnit report. The suite exits 1 on a failure, but
// 0 when it cannot even load its configuration: the report is the verdict.
func runSuite(ctx context.Context, t *testing.T, bin string, env map[string]string, results string) (*junitSuites, string, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OCI_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	runErr := cmd.Run()
	t.Logf("conformance suite ran in %v", time.Since(start).Round(time.Millisecond))
	output := stdout.String() + stderr.String()
	b, err := os.ReadFile(filepath.Join(results, "junit.xml"))
	if err != nil {
		return nil, output, fmt.Errorf("%v; %w", runErr, err)
	}
	var rep junitSuites
	if err := xml.Unmarshal(b, &rep); err != nil {
		t.Fatalf("junit.xml: %v", err)
	}
	return &rep, output, runErr
}

// The subset of the suite's junit.xml the test reads (conformance/junit.go).
type junitSuites struct {
	Suites []struct {
		Tests     int         `xml:"tests,attr"`
		Failures  int         `xml:"failures,attr"`
		Errors    int         `xml:"errors,attr"`
		Skipped   int         `xml:"skipped,attr"`
		Disabled  int         `xml:"disabled,attr"`
		Testcases []junitCase `xml:"testcase"`
	} `xml:"testsuite"`
}

type junitCase struct {
	Name   string `xml:"name,attr"`
	Status string `xml:"status,attr"` // passed, skipped (also disabled), failure, error
	// SystemOut holds the check's errors, SystemErr its requests and
	// responses.
	SystemOut string `xml:"system-out"`
	SystemErr string `xml:"system-err"`
}

type counts struct{ total, pass, fail, error, skip, disabled int }

func (r *junitSuites) counts() counts {
	var c counts
	for _, s := range r.Suites {
		c.total += s.Tests
		c.fail += s.Failures
		c.error += s.Errors
		c.skip += s.Skipped
		c.disabled += s.Disabled
	}
	c.pass = c.total - c.fail - c.error - c.skip - c.disabled
	return c
}

func (r *junitSuites) cases() []junitCase {
	var all []junitCase
	for _, s := range r.Suites {
		all = append(all, s.Testcases...)
	}
	return all
}

func indent(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "    (no detail)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("\n… (%d more bytes)", len(s)-n)
}

// testWriter sends the registry's warnings and errors (a 500's cause) to
// the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
