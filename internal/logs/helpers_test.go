package logs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsapitest"
	"github.com/berthhq/berth/internal/state"
)

var ctx = context.Background()

const (
	account = awsapitest.Account
	region  = awsapitest.Region
)

type clock = awsapitest.Clock

// env is a Logs API served by a signing gateway, with SDK clients for the
// test account and for another one.
type env struct {
	api   *API
	dir   string
	srv   *awsapitest.Server
	c     *cloudwatchlogs.Client
	other *cloudwatchlogs.Client
	clock *clock
}

func start(t *testing.T, mod ...func(*Config)) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), clock: awsapitest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))}
	e.api = e.newAPI(t, mod...)
	e.srv = awsapitest.Start(t, func(gw *awsapi.Gateway, _ *state.Store, _ *http.ServeMux) {
		gw.RegisterJSON(e.serviceProxy())
	})
	e.c = cloudwatchlogs.NewFromConfig(e.srv.Config())
	e.other = cloudwatchlogs.NewFromConfig(e.srv.ConfigWith(awsapitest.OtherKeyID, awsapitest.OtherSecret))
	return e
}

func (e *env) newAPI(t *testing.T, mod ...func(*Config)) *API {
	t.Helper()
	cfg := Config{DataDir: e.dir, Now: e.clock.Now}
	for _, m := range mod {
		m(&cfg)
	}
	api, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v) = %v", cfg, err)
	}
	t.Cleanup(func() { _ = api.Close() })
	return api
}

// restart closes the API and opens a new one on the same directory, as a
// server restart does; the gateway keeps serving, now the new one.
func (e *env) restart(t *testing.T, mod ...func(*Config)) {
	t.Helper()
	if err := e.api.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	e.api = e.newAPI(t, mod...)
}

// serviceProxy registers the operations once and forwards each call to the
// env's current API, so that restart can swap it.
func (e *env) serviceProxy() *awsapi.JSONService {
	svc := e.api.Service()
	for name := range svc.Ops {
		svc.Ops[name] = func(ctx context.Context, body []byte) (any, error) {
			return e.api.Service().Ops[name](ctx, body)
		}
	}
	return svc
}

func (e *env) createGroup(t *testing.T, name string) {
	t.Helper()
	if _, err := e.c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)}); err != nil {
		t.Fatalf("CreateLogGroup(%s) = %v", name, err)
	}
}

func (e *env) createStream(t *testing.T, group, stream string) {
	t.Helper()
	if _, err := e.c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}); err != nil {
		t.Fatalf("CreateLogStream(%s, %s) = %v", group, stream, err)
	}
}

// events makes n events from ts on, step ms apart, messages "<prefix> <i>".
func events(prefix string, ts int64, n int, step int64) []types.InputLogEvent {
	out := make([]types.InputLogEvent, n)
	for i := range out {
		out[i] = types.InputLogEvent{Timestamp: aws.Int64(ts + int64(i)*step), Message: aws.String(fmt.Sprintf("%s %d", prefix, i))}
	}
	return out
}

func (e *env) put(t *testing.T, group, stream string, evs []types.InputLogEvent) *cloudwatchlogs.PutLogEventsOutput {
	t.Helper()
	out, err := e.c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: evs})
	if err != nil {
		t.Fatalf("PutLogEvents(%s, %s, %d events) = %v", group, stream, len(evs), err)
	}
	return out
}

func msgs(evs []types.InputLogEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = aws.ToString(e.Message)
	}
	return out
}

func outMsgs(evs []types.OutputLogEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = aws.ToString(e.Message)
	}
	return out
}

func filteredMsgs(evs []types.FilteredLogEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = aws.ToString(e.Message)
	}
	return out
}

func join(s []string) string {
	if len(s) > 8 {
		return fmt.Sprintf("%d [%s ... %s]", len(s), strings.Join(s[:3], ", "), strings.Join(s[len(s)-3:], ", "))
	}
	return fmt.Sprintf("%q", s)
}

// rawResponse is what a raw awsJson call got back.
type rawResponse struct {
	Status  int
	Type    string
	Message string
	Body    []byte
}

// rawCall sends body to a Logs operation as a signed awsJson 1.1 request,
// bypassing the SDK's client-side validation.
func (e *env) rawCall(t *testing.T, op, body string) rawResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", TargetPrefix+"."+op)
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: awsapitest.KeyID, SecretAccessKey: awsapitest.Secret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "logs", region, time.Now()); err != nil {
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
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &m)
		out.Type, out.Message = m.Type, m.Message
	}
	return out
}

// The AWS error assertions every API package shares.
var (
	code      = awsapitest.ErrorCode
	wantError = awsapitest.WantError
)
