package awsapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/sigv4"
)

const (
	testKey    = "AKIDTESTKEY000000001"
	testSecret = "s3cr3t/s3cr3t/s3cr3t/s3cr3t/s3cr3t/abcd"
)

type echoIn struct {
	Name  *string `json:"name"`
	Count *int32  `json:"count"`
}
type echoOut struct {
	Name    string `json:"name"`
	Account string `json:"account"`
	Region  string `json:"region"`
}

type queryIn struct {
	Name string `query:"Name"`
}
type queryOut struct {
	Greeting string `query:"Greeting"`
}

func newGateway(t *testing.T, auth string) *httptest.Server {
	t.Helper()
	lookup := func(_ context.Context, id string) (sigv4.Credentials, error) {
		if id != testKey {
			return sigv4.Credentials{}, sigv4.ErrKeyNotFound
		}
		return sigv4.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret, Account: "111122223333",
			PrincipalARN: "arn:aws:iam::111122223333:root", UserID: "111122223333"}, nil
	}
	gw, err := awsapi.New(awsapi.Config{Auth: auth, MaxBodyBytes: 1 << 16}, awsapi.Deps{Verifier: &sigv4.Verifier{Lookup: lookup}})
	if err != nil {
		t.Fatal(err)
	}
	gw.RegisterJSON(&awsapi.JSONService{
		SigningName: "echo", TargetPrefix: "Echo_20200101", JSONVersion: "1.1", ServerErrorCode: "ServerException",
		MapError: func(err error) *awsapi.Error {
			if errors.Is(err, errdefs.ErrNotFound) {
				return &awsapi.Error{Code: "ThingNotFoundException", Message: err.Error()}
			}
			return nil
		},
		Ops: map[string]awsapi.JSONHandler{
			"Echo": awsapi.JSON(func(ctx context.Context, in *echoIn) (*echoOut, error) {
				c := awsapi.CallerFrom(ctx)
				if in.Name == nil {
					return nil, awsapi.Errorf("InvalidParameterException", "name must be specified.")
				}
				return &echoOut{Name: *in.Name, Account: c.Account, Region: c.Region}, nil
			}),
			"Missing": awsapi.JSON(func(context.Context, *echoIn) (*echoOut, error) {
				return nil, errdefs.New(errdefs.ErrNotFound, "thing", "Thing not found.")
			}),
			"Broken": awsapi.JSON(func(context.Context, *echoIn) (*echoOut, error) {
				return nil, errors.New("disk on fire at /var/lib/secret-path")
			}),
		},
	})
	gw.RegisterQuery(&awsapi.QueryService{
		SigningName: "greet", Version: "2020-01-01", Namespace: "https://greet.example/doc/2020-01-01/",
		Ops: map[string]awsapi.QueryHandler{
			"Greet": awsapi.Query(func(_ context.Context, in *queryIn) (*queryOut, error) {
				return &queryOut{Greeting: "hello " + in.Name}, nil
			}),
		},
	})
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv
}

type signOpts struct {
	key, secret, region, service string
	at                           time.Time
	gzip                         bool
}

func sign(t *testing.T, r *http.Request, body []byte, o signOpts) {
	t.Helper()
	if o.key == "" {
		o.key, o.secret = testKey, testSecret
	}
	if o.region == "" {
		o.region = "eu-west-1"
	}
	if o.at.IsZero() {
		o.at = time.Now()
	}
	sum := sha256.Sum256(body)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: o.key, SecretAccessKey: o.secret},
		r, hex.EncodeToString(sum[:]), o.service, o.region, o.at)
	if err != nil {
		t.Fatal(err)
	}
}

func jsonRequest(t *testing.T, srv *httptest.Server, target, body string, o signOpts) *http.Response {
	t.Helper()
	raw := []byte(body)
	if o.gzip {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(raw)
		zw.Close()
		raw = b.Bytes()
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	if o.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if o.service == "" {
		o.service = "echo"
	}
	if o.key != "none" {
		sign(t, req, raw, o)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

type jsonErr struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func readJSON[T any](t *testing.T, resp *http.Response) T {
	t.Helper()
	var v T
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("body %q is not JSON: %v", b, err)
	}
	return v
}

func TestJSONSuccess(t *testing.T) {
	srv := newGateway(t, "")
	resp := jsonRequest(t, srv, "Echo_20200101.Echo", `{"name":"x"}`, signOpts{})
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d; want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type = %q", ct)
	}
	if resp.Header.Get("x-amzn-RequestId") == "" {
		t.Error("no x-amzn-RequestId header")
	}
	out := readJSON[echoOut](t, resp)
	if out != (echoOut{Name: "x", Account: "111122223333", Region: "eu-west-1"}) {
		t.Errorf("Echo = %+v; want tenancy from key and scope", out)
	}
}

func TestJSONErrors(t *testing.T) {
	srv := newGateway(t, "")
	cases := []struct {
		name, target, body string
		opts               signOpts
		status             int
		code               string
		msgHas             string
	}{
		{"op error", "Echo_20200101.Echo", `{}`, signOpts{}, 400, "InvalidParameterException", "name must be specified."},
		{"mapped domain error", "Echo_20200101.Missing", `{}`, signOpts{}, 400, "ThingNotFoundException", "Thing not found."},
		{"unclassified error hides detail", "Echo_20200101.Broken", `{}`, signOpts{}, 500, "ServerException", "request id"},
		{"unknown operation", "Echo_20200101.Nope", `{}`, signOpts{}, 400, "UnknownOperationException", "Nope"},
		{"unknown target", "Other_1.Echo", `{}`, signOpts{}, 400, "UnknownOperationException", "Other_1.Echo"},
		{"malformed json", "Echo_20200101.Echo", `{"name":`, signOpts{}, 400, "SerializationException", ""},
		{"string for integer", "Echo_20200101.Echo", `{"name":"x","count":"7"}`, signOpts{}, 400, "SerializationException", "STRING_VALUE"},
		{"object for string", "Echo_20200101.Echo", `{"name":{}}`, signOpts{}, 400, "SerializationException", "Start of structure"},
		{"trailing garbage", "Echo_20200101.Echo", `{"name":"x"} {}`, signOpts{}, 400, "SerializationException", ""},
		{"wrong secret", "Echo_20200101.Echo", `{"name":"x"}`, signOpts{key: testKey, secret: "wrong"}, 403, "InvalidSignatureException", "signature"},
		{"unknown key", "Echo_20200101.Echo", `{"name":"x"}`, signOpts{key: "AKIDUNKNOWN", secret: "x"}, 403, "UnrecognizedClientException", "security token"},
		{"wrong service scope", "Echo_20200101.Echo", `{"name":"x"}`, signOpts{service: "greet"}, 403, "InvalidSignatureException", "service"},
		{"bad region scope", "Echo_20200101.Echo", `{"name":"x"}`, signOpts{region: "mars"}, 403, "InvalidSignatureException", "region"},
		{"expired", "Echo_20200101.Echo", `{"name":"x"}`, signOpts{at: time.Now().Add(-16 * time.Minute)}, 403, "InvalidSignatureException", "Signature expired"},
		{"future", "Echo_20200101.Echo", `{"name":"x"}`, signOpts{at: time.Now().Add(16 * time.Minute)}, 403, "InvalidSignatureException", "not yet current"},
		{"no auth", "Echo_20200101.Echo", `{"name":"x"}`, signOpts{key: "none"}, 403, "MissingAuthenticationTokenException", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := jsonRequest(t, srv, tc.target, tc.body, tc.opts)
			e := readJSON[jsonErr](t, resp)
			if resp.StatusCode != tc.status || e.Type != tc.code || resp.Header.Get("X-Amzn-ErrorType") != tc.code {
				t.Fatalf("%s = %d %q (header %q); want %d %q", tc.name, resp.StatusCode, e.Type, resp.Header.Get("X-Amzn-ErrorType"), tc.status, tc.code)
			}
			if !strings.Contains(e.Message, tc.msgHas) {
				t.Errorf("message %q does not contain %q", e.Message, tc.msgHas)
			}
			if strings.Contains(e.Message, "secret-path") {
				t.Errorf("message %q leaks internal detail", e.Message)
			}
			if resp.Header.Get("Date") == "" || resp.Header.Get("x-amzn-RequestId") == "" {
				t.Errorf("missing Date or x-amzn-RequestId header: %v", resp.Header)
			}
		})
	}
}

func TestGzipBody(t *testing.T) {
	srv := newGateway(t, "")
	resp := jsonRequest(t, srv, "Echo_20200101.Echo", `{"name":"zipped"}`, signOpts{gzip: true})
	if resp.StatusCode != 200 {
		t.Fatalf("gzip request status = %d; want 200", resp.StatusCode)
	}
	if out := readJSON[echoOut](t, resp); out.Name != "zipped" {
		t.Errorf("gzip Echo = %+v", out)
	}
}

func TestBodyCap(t *testing.T) {
	srv := newGateway(t, "")
	big := `{"name":"` + strings.Repeat("x", 1<<17) + `"}`
	resp := jsonRequest(t, srv, "Echo_20200101.Echo", big, signOpts{})
	e := readJSON[jsonErr](t, resp)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || e.Type != "RequestEntityTooLargeException" {
		t.Fatalf("oversized body = %d %q; want 413 RequestEntityTooLargeException", resp.StatusCode, e.Type)
	}
	// A small gzip body that inflates past the cap is refused the same way.
	resp = jsonRequest(t, srv, "Echo_20200101.Echo", big, signOpts{gzip: true})
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("gzip bomb status = %d; want 413", resp.StatusCode)
	}
}

func TestPermissiveAcceptsAnyKey(t *testing.T) {
	srv := newGateway(t, awsapi.AuthPermissive)
	resp := jsonRequest(t, srv, "Echo_20200101.Echo", `{"name":"x"}`, signOpts{key: "test", secret: "test", region: "ap-south-1"})
	if resp.StatusCode != 200 {
		t.Fatalf("permissive status = %d; want 200", resp.StatusCode)
	}
	if out := readJSON[echoOut](t, resp); out.Account != "000000000000" || out.Region != "ap-south-1" {
		t.Errorf("permissive caller = %+v; want default account, region from scope", out)
	}
}

type xmlError struct {
	Type      string `xml:"Error>Type"`
	Code      string `xml:"Error>Code"`
	Message   string `xml:"Error>Message"`
	RequestID string `xml:"RequestId"`
}

func queryRequest(t *testing.T, srv *httptest.Server, form url.Values, o signOpts) (*http.Response, []byte) {
	t.Helper()
	body := []byte(form.Encode())
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if o.service == "" {
		o.service = "greet"
	}
	sign(t, req, body, o)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestQuery(t *testing.T) {
	srv := newGateway(t, "")
	resp, body := queryRequest(t, srv, url.Values{"Action": {"Greet"}, "Version": {"2020-01-01"}, "Name": {"berth"}}, signOpts{})
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<Greeting>hello berth</Greeting>") ||
		!strings.Contains(string(body), `<GreetResponse xmlns="https://greet.example/doc/2020-01-01/">`) ||
		!strings.Contains(string(body), "<RequestId>") {
		t.Fatalf("Greet = %d %s", resp.StatusCode, body)
	}

	cases := []struct {
		name   string
		form   url.Values
		opts   signOpts
		status int
		code   string
	}{
		{"wrong secret", url.Values{"Action": {"Greet"}, "Version": {"2020-01-01"}}, signOpts{key: testKey, secret: "nope"}, 403, "SignatureDoesNotMatch"},
		{"unknown key", url.Values{"Action": {"Greet"}, "Version": {"2020-01-01"}}, signOpts{key: "AKIDNOPE", secret: "x"}, 403, "InvalidClientTokenId"},
		{"unknown action", url.Values{"Action": {"Shout"}, "Version": {"2020-01-01"}}, signOpts{}, 400, "InvalidAction"},
		{"unknown version", url.Values{"Action": {"Greet"}, "Version": {"1999-01-01"}}, signOpts{}, 400, "InvalidAction"},
		{"no version", url.Values{"Action": {"Greet"}}, signOpts{}, 400, "MissingParameter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := queryRequest(t, srv, tc.form, tc.opts)
			var e xmlError
			if err := xml.Unmarshal(body, &e); err != nil {
				t.Fatalf("error body %q is not XML: %v", body, err)
			}
			if resp.StatusCode != tc.status || e.Code != tc.code || e.Type != "Sender" || e.RequestID == "" {
				t.Fatalf("%s = %d %+v; want %d %s", tc.name, resp.StatusCode, e, tc.status, tc.code)
			}
		})
	}
}

func FuzzServeJSON(f *testing.F) {
	f.Add("Echo_20200101.Echo", []byte(`{"name":"x","count":3}`))
	f.Add("Echo_20200101.Echo", []byte(`{"name":[1,2],"count":{}}`))
	f.Add("Echo_20200101.Broken", []byte(`null`))
	f.Add(".", []byte(`}{`))
	srv := newGatewayForFuzz(f)
	f.Fuzz(func(t *testing.T, target string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/echo/aws4_request, SignedHeaders=host, Signature=00")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != 200 {
			var e jsonErr
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Type == "" {
				t.Fatalf("error response %d %q is not an AWS JSON error", w.Code, w.Body.Bytes())
			}
		}
	})
}

func newGatewayForFuzz(f *testing.F) http.Handler {
	gw, err := awsapi.New(awsapi.Config{Auth: awsapi.AuthPermissive}, awsapi.Deps{})
	if err != nil {
		f.Fatal(err)
	}
	gw.RegisterJSON(&awsapi.JSONService{SigningName: "echo", TargetPrefix: "Echo_20200101", JSONVersion: "1.1",
		Ops: map[string]awsapi.JSONHandler{
			"Echo": awsapi.JSON(func(_ context.Context, in *echoIn) (*echoOut, error) {
				return &echoOut{Name: fmt.Sprint(in.Name)}, nil
			}),
			"Broken": awsapi.JSON(func(context.Context, *echoIn) (*echoOut, error) { return nil, errors.New("x") }),
		}})
	return gw
}
