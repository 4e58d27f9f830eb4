package secretsmanager_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsapitest"
	"github.com/berthhq/berth/internal/keyring"
	"github.com/berthhq/berth/internal/secretsmanager"
	"github.com/berthhq/berth/internal/state"
)

var ctx = context.Background()

// t0 is the test clock's start.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type clock = awsapitest.Clock

// logBuffer collects the package's logs so tests can search them.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// env is one test's Secrets Manager on a loopback gateway.
type env struct {
	srv   *awsapitest.Server
	api   *secretsmanager.API
	kr    *keyring.Keyring
	clock *clock
	logs  *logBuffer
	c     *sm.Client // account 000000000000
	other *sm.Client // account 111111111111
}

// start serves a Secrets Manager with a keyring on t.TempDir() and a test
// clock at t0. cfg, when given, adjusts the configuration.
func start(t *testing.T, cfg ...func(*secretsmanager.Config)) *env {
	t.Helper()
	kr, err := keyring.Open(keyring.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{kr: kr, clock: awsapitest.NewClock(t0), logs: &logBuffer{}}
	c := secretsmanager.Config{
		Now:    e.clock.Now,
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range cfg {
		f(&c)
	}
	e.srv = awsapitest.Start(t, func(gw *awsapi.Gateway, store *state.Store, _ *http.ServeMux) {
		e.api = secretsmanager.New(c, store, kr)
		gw.RegisterJSON(e.api.Service())
	})
	e.c = sm.NewFromConfig(e.srv.Config())
	e.other = sm.NewFromConfig(e.srv.ConfigWith(awsapitest.OtherKeyID, awsapitest.OtherSecret))
	return e
}

const tokenLen = 36

// tok returns a valid ClientRequestToken made from s.
func tok(s string) *string {
	return aws.String((s + strings.Repeat("0", tokenLen))[:tokenLen])
}

func create(t *testing.T, c *sm.Client, name, value string, opts ...func(*sm.CreateSecretInput)) *sm.CreateSecretOutput {
	t.Helper()
	in := &sm.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}
	for _, o := range opts {
		o(in)
	}
	out, err := c.CreateSecret(ctx, in)
	if err != nil {
		t.Fatalf("CreateSecret(%s) = %v", name, err)
	}
	return out
}

func put(t *testing.T, c *sm.Client, id, value string, opts ...func(*sm.PutSecretValueInput)) *sm.PutSecretValueOutput {
	t.Helper()
	in := &sm.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(value)}
	for _, o := range opts {
		o(in)
	}
	out, err := c.PutSecretValue(ctx, in)
	if err != nil {
		t.Fatalf("PutSecretValue(%s) = %v", id, err)
	}
	return out
}

func get(t *testing.T, c *sm.Client, in *sm.GetSecretValueInput) *sm.GetSecretValueOutput {
	t.Helper()
	out, err := c.GetSecretValue(ctx, in)
	if err != nil {
		t.Fatalf("GetSecretValue(%s, %s, %s) = %v", aws.ToString(in.SecretId), aws.ToString(in.VersionId), aws.ToString(in.VersionStage), err)
	}
	return out
}

// value returns the AWSCURRENT SecretString of id.
func value(t *testing.T, c *sm.Client, id string) string {
	t.Helper()
	return aws.ToString(get(t, c, &sm.GetSecretValueInput{SecretId: aws.String(id)}).SecretString)
}

func describe(t *testing.T, c *sm.Client, id string) *sm.DescribeSecretOutput {
	t.Helper()
	out, err := c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatalf("DescribeSecret(%s) = %v", id, err)
	}
	return out
}

// names lists the names ListSecrets returns for in, across all pages.
func names(t *testing.T, c *sm.Client, in *sm.ListSecretsInput) []string {
	t.Helper()
	var out []string
	p := sm.NewListSecretsPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListSecrets(%+v) = %v", in, err)
		}
		for _, s := range page.SecretList {
			out = append(out, aws.ToString(s.Name))
		}
	}
	return out
}

func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func stagesOf(t *testing.T, c *sm.Client, id string) map[string][]string {
	t.Helper()
	return describe(t, c, id).VersionIdsToStages
}

// rawResponse is what a raw awsJson call got back.
type rawResponse struct {
	Status  int
	Type    string
	Message string
	Body    []byte
}

// rawCall sends body to op as a signed awsJson 1.1 request of the test
// principal, past the SDK's own validation and its token filling.
func rawCall(t *testing.T, e *env, op, body string) rawResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager."+op)
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: awsapitest.KeyID, SecretAccessKey: awsapitest.Secret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "secretsmanager", awsapitest.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := rawResponse{Status: resp.StatusCode, Body: b}
	if resp.StatusCode != http.StatusOK {
		var m struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &m)
		out.Type, out.Message = resp.Header.Get("X-Amzn-ErrorType"), m.Message
	}
	return out
}

// docs returns every document of the store, keyed by key.
func docs(e *env) map[string][]byte {
	m := map[string][]byte{}
	for d := range e.srv.Store.Snapshot().Docs(nil, "", "") {
		m[d.ID] = d.Value
	}
	return m
}

// The AWS error assertions every API package shares.
var (
	wantError = awsapitest.WantError
)
