// Package awsapitest serves one API package on a loopback port for its
// tests: an in-memory state store, a gateway that checks Signature V4
// against a fixed access key, and an aws.Config for the official
// aws-sdk-go-v2 clients. It lets an API package be tested on its own,
// before and apart from the server's wiring.
package awsapitest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/sigv4"
	"github.com/berthhq/berth/internal/state"
)

// The test principal: account Account, and a second account Other whose
// key is OtherKeyID, for tenancy tests.
const (
	Account      = "000000000000"
	KeyID        = "AKIAAWSAPITEST000001"
	Secret       = "awsapitest-secret-key-000000000000000001"
	Other        = "111111111111"
	OtherKeyID   = "AKIAAWSAPITEST000002"
	OtherSecret  = "awsapitest-secret-key-000000000000000002"
	Region       = "us-east-1"
	PrincipalARN = "arn:aws:iam::000000000000:root"
)

// Server is a running test gateway.
type Server struct {
	Store *state.Store
	// URL is the base URL of the gateway (http://127.0.0.1:port).
	URL     string
	Gateway *awsapi.Gateway
}

// Start opens an in-memory store, calls register to add the APIs under test
// to the gateway (and, through mux, any other handler such as /v2/), and
// serves it until the test ends.
func Start(t testing.TB, register func(gw *awsapi.Gateway, store *state.Store, mux *http.ServeMux)) *Server {
	t.Helper()
	store, err := state.Open(state.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := store.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	keys := map[string]sigv4.Credentials{
		KeyID:      {AccessKeyID: KeyID, SecretAccessKey: Secret, Account: Account, PrincipalARN: PrincipalARN, UserID: Account},
		OtherKeyID: {AccessKeyID: OtherKeyID, SecretAccessKey: OtherSecret, Account: Other, PrincipalARN: "arn:aws:iam::" + Other + ":root", UserID: Other},
	}
	verifier := &sigv4.Verifier{Lookup: func(_ context.Context, id string) (sigv4.Credentials, error) {
		c, ok := keys[id]
		if !ok {
			return sigv4.Credentials{}, sigv4.ErrKeyNotFound
		}
		return c, nil
	}}
	gw, err := awsapi.New(awsapi.Config{DefaultAccount: Account}, awsapi.Deps{Verifier: verifier})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	register(gw, store, mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gw.Handles(r) {
			gw.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return &Server{Store: store, URL: srv.URL, Gateway: gw}
}

// Config is an SDK configuration for the test principal, pointed at the
// server, with retries off so that tests see first answers.
func (s *Server) Config() aws.Config { return s.ConfigWith(KeyID, Secret) }

// ConfigWith is Config with another access key (OtherKeyID, OtherSecret for
// the second account).
func (s *Server) ConfigWith(keyID, secret string) aws.Config {
	return aws.Config{
		Region:           Region,
		Credentials:      credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		BaseEndpoint:     aws.String(s.URL),
		HTTPClient:       &http.Client{Transport: hideWriteTo{http.DefaultTransport}, Timeout: 30 * time.Second},
		RetryMaxAttempts: 1,
	}
}

// hideWriteTo sends request bodies without their WriteTo method; see
// testcluster's twin for the SDK race it avoids (aws/aws-sdk-go-v2#2737).
type hideWriteTo struct{ base http.RoundTripper }

func (h hideWriteTo) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return h.base.RoundTrip(r)
}

// ErrorCode is the AWS error code of err, or "" when err is nil or carries
// none.
func ErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// ErrorMessage is the AWS error message of err, or "".
func ErrorMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// WantError fails t unless err is an AWS error with the code and, when msg
// is not empty, exactly that message.
func WantError(t testing.TB, call string, err error, wantCode, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s = nil error; want %s", call, wantCode)
	}
	if got := ErrorCode(err); got != wantCode {
		t.Fatalf("%s error code = %q (%v); want %q", call, got, err, wantCode)
	}
	if msg != "" && ErrorMessage(err) != msg {
		t.Fatalf("%s error message = %q; want %q", call, ErrorMessage(err), msg)
	}
}

// Clock is a settable clock for an API's Config.Now, safe for concurrent
// use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock that reads t until advanced.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
