package ssm_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsapitest"
	"github.com/berthhq/berth/internal/keyring"
	berthssm "github.com/berthhq/berth/internal/ssm"
	"github.com/berthhq/berth/internal/state"
)

const (
	account = awsapitest.Account
	region  = awsapitest.Region
)

var ctx = context.Background()

type clock = awsapitest.Clock

// env is one test's SSM endpoint.
type env struct {
	t      *testing.T
	srv    *awsapitest.Server
	api    *berthssm.API
	kr     *keyring.Keyring
	clock  *clock
	client *ssm.Client
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, clock: awsapitest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)), logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	kr, err := keyring.Open(keyring.Config{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	e.kr = kr
	e.srv = awsapitest.Start(t, func(gw *awsapi.Gateway, store *state.Store, _ *http.ServeMux) {
		e.api = berthssm.New(berthssm.Config{Logger: log, Now: e.clock.Now}, store, kr)
		gw.RegisterJSON(e.api.Service())
	})
	e.client = ssm.NewFromConfig(e.srv.Config())
	return e
}

// other is a client of the second account.
func (e *env) other() *ssm.Client {
	return ssm.NewFromConfig(e.srv.ConfigWith(awsapitest.OtherKeyID, awsapitest.OtherSecret))
}

// inRegion is a client of the first account in another region.
func (e *env) inRegion(r string) *ssm.Client {
	cfg := e.srv.Config()
	cfg.Region = r
	return ssm.NewFromConfig(cfg)
}

func (e *env) put(name, value string, typ types.ParameterType, opts ...func(*ssm.PutParameterInput)) *ssm.PutParameterOutput {
	e.t.Helper()
	in := &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: typ}
	for _, o := range opts {
		o(in)
	}
	out, err := e.client.PutParameter(ctx, in)
	if err != nil {
		e.t.Fatalf("PutParameter(%s) = %v", name, err)
	}
	return out
}

func overwrite(in *ssm.PutParameterInput) { in.Overwrite = aws.Bool(true) }

func (e *env) get(name string, decrypt bool) *types.Parameter {
	e.t.Helper()
	out, err := e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(decrypt)})
	if err != nil {
		e.t.Fatalf("GetParameter(%s) = %v", name, err)
	}
	return out.Parameter
}

// docs returns every document the API stored, by key.
func (e *env) docs() map[string][]byte {
	out := map[string][]byte{}
	for d := range e.srv.Store.Snapshot().Docs(nil, state.KeyPrefix("ssm"), "") {
		out[d.ID] = d.Value
	}
	return out
}

// wantError fails unless err is an AWS error with the code and, when msg is
// not empty, a message containing msg.
func wantError(t *testing.T, call string, err error, wantCode, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s = nil error; want %s", call, wantCode)
	}
	if got := code(err); got != wantCode {
		t.Fatalf("%s error code = %q (%v); want %q", call, got, err, wantCode)
	}
	if msg != "" && !strings.Contains(message(err), msg) {
		t.Fatalf("%s error message = %q; want it to contain %q", call, message(err), msg)
	}
}

func names(ps []types.Parameter) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, aws.ToString(p.Name))
	}
	return out
}

func metaNames(ps []types.ParameterMetadata) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, aws.ToString(p.Name))
	}
	return out
}

func tagList(kv ...string) []types.Tag {
	var out []types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// swap exchanges the values of two stored documents.
func swap(t *testing.T, e *env, keyA, keyB string) {
	t.Helper()
	snap := e.srv.Store.Snapshot()
	a, b := snap.Doc(keyA), snap.Doc(keyB)
	_, err := state.Do[[]*state.Doc](ctx, e.srv.Store, &state.WriteDocs{Ops: []state.DocOp{
		{Key: keyA, Value: b.Value, IfIndex: a.ModifyIndex},
		{Key: keyB, Value: a.Value, IfIndex: b.ModifyIndex},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

// The AWS error assertions every API package shares.
var (
	code    = awsapitest.ErrorCode
	message = awsapitest.ErrorMessage
)
