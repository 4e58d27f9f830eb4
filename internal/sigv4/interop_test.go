package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var (
	// signedAt is when the SDK signs; verifyAt is the verifier's clock.
	signedAt = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	verifyAt = signedAt.Add(time.Minute)

	userCreds = Credentials{
		AccessKeyID:     "AKIAIOSFODNN7EXAMPLE",
		SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		Account:         "123456789012",
		PrincipalARN:    "arn:aws:iam::123456789012:user/alice",
		UserID:          "AIDAEXAMPLEUSERID0001",
	}
	tempCreds = Credentials{
		AccessKeyID:     "ASIAIOSFODNN7EXAMPLE",
		SecretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
		SessionToken:    "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+token+with/slashes==",
		Account:         "123456789012",
		PrincipalARN:    "arn:aws:sts::123456789012:assumed-role/app/session",
		UserID:          "AROAEXAMPLEROLEID0001:session",
	}
)

func sdkCreds(c Credentials) aws.Credentials {
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sdkRequest is a request as an SDK client builds it before signing.
type sdkRequest struct {
	method, url string
	header      map[string]string
	body        string
}

func (s sdkRequest) build(t testing.TB) *http.Request {
	t.Helper()
	req, err := http.NewRequest(s.method, s.url, strings.NewReader(s.body))
	if err != nil {
		t.Fatal(err)
	}
	if s.body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, v := range s.header {
		req.Header.Set(k, v)
	}
	return req
}

// jsonPost is an awsJson 1.1 call as aws-sdk-go-v2 sends it.
var jsonPost = sdkRequest{
	method: http.MethodPost,
	url:    "https://ecs.us-east-1.amazonaws.com/",
	header: map[string]string{
		"Content-Type":          "application/x-amz-json-1.1",
		"X-Amz-Target":          "AmazonEC2ContainerServiceV20141113.RunTask",
		"Amz-Sdk-Invocation-Id": "8b3d2e0c-0f1e-4a57-9c1b-3f1f0c6c2a11",
		"Amz-Sdk-Request":       "attempt=1; max=3",
		"User-Agent":            "aws-sdk-go-v2/1.48.0 os/linux lang/go#1.26 api/ecs#1.105.1",
	},
	body: `{"cluster":"default","count":1,"taskDefinition":"web:1","overrides":{"containerOverrides":[{"name":"café","command":["echo","a  b"]}]}}`,
}

// formPost is an awsQuery call.
var formPost = sdkRequest{
	method: http.MethodPost,
	url:    "https://sts.us-east-1.amazonaws.com/",
	header: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
	body:   "Action=GetCallerIdentity&Version=2011-06-15",
}

// signHeader signs like aws-sdk-go-v2's HTTPSigner and returns the request as
// the server receives it.
func signHeader(t testing.TB, s sdkRequest, c Credentials, service, region string, at time.Time) (*http.Request, []byte) {
	t.Helper()
	req := s.build(t)
	err := v4.NewSigner().SignHTTP(context.Background(), sdkCreds(c), req, hexSHA256([]byte(s.body)), service, region, at)
	if err != nil {
		t.Fatalf("SignHTTP: %v", err)
	}
	return serverRequest(t, req)
}

// presign presigns like aws-sdk-go-v2's PresignHTTP (X-Amz-Expires set by the
// caller, as its documentation asks) and sends the URL with the headers the
// signer says were signed.
func presign(t testing.TB, s sdkRequest, c Credentials, service, region string, at time.Time, expires string) (*http.Request, []byte) {
	t.Helper()
	req := s.build(t)
	q := req.URL.Query()
	q.Set("X-Amz-Expires", expires)
	req.URL.RawQuery = q.Encode()
	uri, signed, err := v4.NewSigner().PresignHTTP(context.Background(), sdkCreds(c), req, hexSHA256([]byte(s.body)), service, region, at)
	if err != nil {
		t.Fatalf("PresignHTTP: %v", err)
	}
	out, err := http.NewRequest(s.method, uri, strings.NewReader(s.body))
	if err != nil {
		t.Fatal(err)
	}
	if s.body == "" {
		out.Body, out.ContentLength = http.NoBody, 0
	}
	for k, vs := range signed {
		if k == "Host" || k == "Content-Length" {
			continue
		}
		out.Header[k] = vs
	}
	return serverRequest(t, out)
}

func TestSDKInterop(t *testing.T) {
	restGet := sdkRequest{
		method: http.MethodGet,
		// A restJson1 path with an escape on the wire, a path the SDK does not
		// normalise, and query values that need encoding.
		url: "https://scheduler.us-east-1.amazonaws.com/schedules/my%20schedule//x/./y?groupName=a%2Bb%20c&MaxResults=10&empty=",
	}
	cases := []struct {
		name    string
		req     sdkRequest
		service string
		creds   Credentials
	}{
		{"json-post", jsonPost, "ecs", userCreds},
		{"form-post", formPost, "sts", userCreds},
		{"json-post-session-token", jsonPost, "ecs", tempCreds},
		{"form-post-session-token", formPost, "sts", tempCreds},
		{"rest-get-odd-path", restGet, "scheduler", userCreds},
	}
	for _, tc := range cases {
		for _, form := range []string{"SignHTTP", "PresignHTTP"} {
			t.Run(tc.name+"/"+form, func(t *testing.T) {
				sign := func(c Credentials) (*http.Request, []byte) {
					if form == "SignHTTP" {
						return signHeader(t, tc.req, c, tc.service, "us-east-1", signedAt)
					}
					return presign(t, tc.req, c, tc.service, "us-east-1", signedAt, "900")
				}
				v := &Verifier{Lookup: staticLookup(tc.creds), Now: fixedClock(verifyAt)}

				r, body := sign(tc.creds)
				res, err := v.Verify(context.Background(), r, body, tc.service)
				if err != nil {
					t.Fatalf("Verify(%s %s) = %v; want success", r.Method, r.RequestURI, err)
				}
				if res.Credentials != tc.creds || res.Region != "us-east-1" || res.Service != tc.service ||
					res.Presigned != (form == "PresignHTTP") || !res.Date.Equal(signedAt) {
					t.Fatalf("Verify result = %+v", res)
				}

				if len(body) > 0 {
					flipped := append([]byte(nil), body...)
					flipped[len(flipped)/2] ^= 0x01
					_, err = v.Verify(context.Background(), r, flipped, tc.service)
					wantKind(t, err, ErrSignature)
				}

				r2, body2 := sign(tc.creds)
				if ct := r2.Header.Get("Content-Type"); ct != "" {
					r2.Header.Set("Content-Type", ct[:len(ct)-1]+string(ct[len(ct)-1]^0x01))
				} else {
					r2.Host = "scheduler.us-east-2.amazonaws.com"
				}
				_, err = v.Verify(context.Background(), r2, body2, tc.service)
				wantKind(t, err, ErrSignature)

				wrongSecret := tc.creds
				wrongSecret.SecretAccessKey = "x" + wrongSecret.SecretAccessKey[1:]
				r3, body3 := sign(wrongSecret)
				_, err = v.Verify(context.Background(), r3, body3, tc.service)
				wantKind(t, err, ErrSignature)

				if tc.creds.SessionToken != "" {
					other := tc.creds
					other.SessionToken = tc.creds.SessionToken + "x"
					r4, body4 := sign(other)
					_, err = v.Verify(context.Background(), r4, body4, tc.service)
					wantKind(t, err, ErrInvalidToken)
				}
			})
		}
	}
}
