package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const jsonBody = `{"cluster":"default"}`

// manual builds a server-side request with an Authorization header written
// by hand, for the malformed cases no SDK produces.
func manual(authz ...string) func(t testing.TB) (*http.Request, []byte) {
	return func(t testing.TB) (*http.Request, []byte) {
		r, body := signHeader(t, sdkRequest{method: http.MethodPost, url: "https://ecs.us-east-1.amazonaws.com/", body: jsonBody}, userCreds, "ecs", "us-east-1", signedAt)
		r.Header.Del("Authorization")
		for _, a := range authz {
			r.Header.Add("Authorization", a)
		}
		return r, body
	}
}

const (
	goodCred = "Credential=AKIAIOSFODNN7EXAMPLE/20260501/us-east-1/ecs/aws4_request"
	someSig  = "Signature=" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func signedJSON(c Credentials, service, region string, at time.Time) func(t testing.TB) (*http.Request, []byte) {
	return func(t testing.TB) (*http.Request, []byte) {
		return signHeader(t, sdkRequest{method: http.MethodPost, url: "https://ecs.us-east-1.amazonaws.com/",
			header: map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters"},
			body:   jsonBody}, c, service, region, at)
	}
}

func presignedGet(c Credentials, at time.Time, expires string) func(t testing.TB) (*http.Request, []byte) {
	return func(t testing.TB) (*http.Request, []byte) {
		return presign(t, sdkRequest{method: http.MethodGet, url: "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"},
			c, "sts", "us-east-1", at, expires)
	}
}

// withQuery replaces one presigned query parameter after signing.
func withQuery(build func(testing.TB) (*http.Request, []byte), key, value string) func(t testing.TB) (*http.Request, []byte) {
	return func(t testing.TB) (*http.Request, []byte) {
		r, body := build(t)
		path, query, _ := strings.Cut(r.RequestURI, "?")
		var parts []string
		for _, p := range strings.Split(query, "&") {
			if k, _, _ := strings.Cut(p, "="); k == key {
				p = key + "=" + url.QueryEscape(value)
			}
			parts = append(parts, p)
		}
		r.RequestURI = path + "?" + strings.Join(parts, "&")
		r.URL.RawQuery = strings.Join(parts, "&")
		return r, body
	}
}

func mutate(build func(testing.TB) (*http.Request, []byte), f func(r *http.Request)) func(t testing.TB) (*http.Request, []byte) {
	return func(t testing.TB) (*http.Request, []byte) {
		r, body := build(t)
		f(r)
		return r, body
	}
}

func TestVerifyRejects(t *testing.T) {
	errLookup := errors.New("store unavailable")
	cases := []struct {
		name    string
		build   func(testing.TB) (*http.Request, []byte)
		service string    // default "ecs"
		lookup  KeyLookup // default knows userCreds
		kind    ErrorKind // 0: want errLookup passed through
		message string    // exact message when set
		contain string    // message substring when set
	}{
		{name: "date 16 min late", build: signedJSON(userCreds, "ecs", "us-east-1", verifyAt.Add(-16*time.Minute)), kind: ErrExpired,
			message: "Signature expired: 20260501T094500Z is now earlier than 20260501T095600Z (20260501T100100Z - 5 min.)"},
		{name: "date 16 min early", build: signedJSON(userCreds, "ecs", "us-east-1", verifyAt.Add(16*time.Minute)), kind: ErrExpired,
			message: "Signature not yet current: 20260501T101700Z is still later than 20260501T100600Z (20260501T100100Z + 5 min.)"},
		{name: "scope date is not request date", build: mutate(signedJSON(userCreds, "ecs", "us-east-1", signedAt), func(r *http.Request) {
			r.Header.Set("X-Amz-Date", "20260502T100000Z")
		}), kind: ErrScope},
		{name: "scope date is the day before", build: mutate(signedJSON(userCreds, "ecs", "us-east-1", time.Date(2026, 5, 1, 0, 0, 30, 0, time.UTC)), func(r *http.Request) {
			r.Header.Set("X-Amz-Date", "20260430T235930Z")
		}), lookup: staticLookup(userCreds), kind: ErrScope,
			message: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260501' != '20260430', from '20260430T235930Z'."},
		{name: "region not a region", build: signedJSON(userCreds, "ecs", "us-east-1x", signedAt), kind: ErrScope, message: "Credential should be scoped to a valid region. "},
		{name: "region word", build: signedJSON(userCreds, "ecs", "local", signedAt), kind: ErrScope, message: "Credential should be scoped to a valid region. "},
		{name: "wrong service", build: signedJSON(userCreds, "ecs", "us-east-1", signedAt), service: "secretsmanager", kind: ErrScope,
			message: "Credential should be scoped to correct service: 'secretsmanager'. "},
		{name: "wrong terminator", build: manual("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260501/us-east-1/ecs/aws5_request, SignedHeaders=host;x-amz-date, " + someSig),
			kind: ErrScope, message: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "},
		{name: "host not signed", build: manual("AWS4-HMAC-SHA256 " + goodCred + ", SignedHeaders=content-type;x-amz-date, " + someSig), kind: ErrIncomplete,
			message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		{name: "two authorization headers", build: manual(
			"AWS4-HMAC-SHA256 "+goodCred+", SignedHeaders=host;x-amz-date, "+someSig,
			"AWS4-HMAC-SHA256 "+goodCred+", SignedHeaders=host;x-amz-date, "+someSig), kind: ErrIncomplete},
		{name: "missing signature", build: manual("AWS4-HMAC-SHA256 " + goodCred + ", SignedHeaders=host;x-amz-date"), kind: ErrIncomplete,
			message: "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 " + goodCred + ", SignedHeaders=host;x-amz-date"},
		{name: "everything missing", build: manual("AWS4-HMAC-SHA256"), kind: ErrIncomplete,
			message: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256"},
		{name: "basic auth", build: manual("Basic YWxpY2U6c2VjcmV0"), kind: ErrIncomplete,
			message: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=Basic"},
		{name: "sigv4a", build: manual("AWS4-ECDSA-P256-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260501/ecs/aws4_request, SignedHeaders=host;x-amz-date;x-amz-region-set, " + someSig),
			kind: ErrIncomplete, message: "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256' (only AWS4-HMAC-SHA256 for now). "},
		{name: "duplicate credential", build: manual("AWS4-HMAC-SHA256 " + goodCred + ", " + goodCred + ", SignedHeaders=host;x-amz-date, " + someSig), kind: ErrIncomplete},
		{name: "field without equals", build: manual("AWS4-HMAC-SHA256 " + goodCred + ", SignedHeaders, " + someSig), kind: ErrIncomplete},
		{name: "credential with four parts", build: manual("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260501/us-east-1/ecs, SignedHeaders=host;x-amz-date, " + someSig),
			kind: ErrIncomplete, message: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIAIOSFODNN7EXAMPLE/20260501/us-east-1/ecs'"},
		{name: "signed header absent", build: manual("AWS4-HMAC-SHA256 " + goodCred + ", SignedHeaders=host;x-amz-date;x-berth-missing, " + someSig), kind: ErrIncomplete},
		{name: "no date", build: mutate(signedJSON(userCreds, "ecs", "us-east-1", signedAt), func(r *http.Request) { r.Header.Del("X-Amz-Date") }), kind: ErrIncomplete,
			contain: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential="},
		{name: "bad date", build: mutate(signedJSON(userCreds, "ecs", "us-east-1", signedAt), func(r *http.Request) { r.Header.Set("X-Amz-Date", "2026-05-01T10:00:00Z") }),
			kind: ErrIncomplete, message: "Date must be in ISO-8601 'basic format'. Got '2026-05-01T10:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{name: "unknown key", build: signedJSON(Credentials{AccessKeyID: "AKIAUNKNOWNKEY000000", SecretAccessKey: "s"}, "ecs", "us-east-1", signedAt), kind: ErrUnknownKey,
			message: "The security token included in the request is invalid."},
		{name: "lookup failure passes through", build: signedJSON(userCreds, "ecs", "us-east-1", signedAt),
			lookup: func(context.Context, string) (Credentials, error) {
				return Credentials{}, fmt.Errorf("lookup: %w", errLookup)
			}},
		{name: "signature mismatch", build: mutate(signedJSON(userCreds, "ecs", "us-east-1", signedAt), func(r *http.Request) {
			r.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DeleteCluster")
		}), kind: ErrSignature, message: msgSignatureMismatch},
		{name: "uppercase hex signature", build: mutate(signedJSON(userCreds, "ecs", "us-east-1", signedAt), func(r *http.Request) {
			a := r.Header.Get("Authorization")
			i := strings.Index(a, "Signature=") + len("Signature=")
			r.Header.Set("Authorization", a[:i]+strings.ToUpper(a[i:]))
		}), kind: ErrSignature},
		{name: "content sha256 does not match body", build: mutate(signedJSON(userCreds, "ecs", "us-east-1", signedAt), func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", hexSHA256([]byte("other")))
		}), kind: ErrSignature, message: "The provided 'x-amz-content-sha256' header does not match what was computed."},
		{name: "unsigned payload with header auth", build: mutate(signedJSON(userCreds, "ecs", "us-east-1", signedAt), func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		}), kind: ErrIncomplete},
		{name: "token missing for temporary key", build: mutate(signedJSON(tempCreds, "ecs", "us-east-1", signedAt), func(r *http.Request) {
			r.Header.Del("X-Amz-Security-Token")
		}), lookup: staticLookup(tempCreds), kind: ErrIncomplete}, // it was signed, so a signed header is now absent
		{name: "token never sent for temporary key", build: signedJSON(Credentials{AccessKeyID: tempCreds.AccessKeyID, SecretAccessKey: tempCreds.SecretAccessKey}, "ecs", "us-east-1", signedAt),
			lookup: staticLookup(tempCreds), kind: ErrInvalidToken, message: "The security token included in the request is invalid."},
		{name: "token for long-term key", build: signedJSON(Credentials{AccessKeyID: userCreds.AccessKeyID, SecretAccessKey: userCreds.SecretAccessKey, SessionToken: "tok"}, "ecs", "us-east-1", signedAt),
			kind: ErrInvalidToken},
		{name: "unsigned wrong token", build: mutate(signedJSON(userCreds, "ecs", "us-east-1", signedAt), func(r *http.Request) {
			r.Header.Set("X-Amz-Security-Token", "forged")
		}), lookup: staticLookup(Credentials{AccessKeyID: userCreds.AccessKeyID, SecretAccessKey: userCreds.SecretAccessKey, SessionToken: "real"}), kind: ErrInvalidToken},
		{name: "missing auth", build: func(t testing.TB) (*http.Request, []byte) {
			return serverRequest(t, sdkRequest{method: http.MethodPost, url: "https://ecs.us-east-1.amazonaws.com/", body: jsonBody}.build(t))
		}, kind: ErrMissingAuth, message: "Request is missing Authentication Token"},
		{name: "header and query auth", build: mutate(signedJSON(userCreds, "ecs", "us-east-1", signedAt), func(r *http.Request) {
			r.RequestURI = "/?X-Amz-Algorithm=AWS4-HMAC-SHA256"
		}), kind: ErrIncomplete, message: "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."},

		// presigned
		{name: "presign expired", build: presignedGet(userCreds, verifyAt.Add(-20*time.Minute), "600"), service: "sts", kind: ErrExpired, message: "Request has expired"},
		{name: "presign expires 604800 is accepted, tampering is not", build: withQuery(presignedGet(userCreds, signedAt, "900"), "X-Amz-Expires", "604800"), service: "sts", kind: ErrSignature},
		{name: "presign expires 604801", build: presignedGet(userCreds, signedAt, "604801"), service: "sts", kind: ErrIncomplete,
			message: "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds"},
		{name: "presign expires 0", build: presignedGet(userCreds, signedAt, "0"), service: "sts", kind: ErrIncomplete},
		{name: "presign expires negative", build: presignedGet(userCreds, signedAt, "-1"), service: "sts", kind: ErrIncomplete, message: "X-Amz-Expires must be non-negative"},
		{name: "presign expires not a number", build: presignedGet(userCreds, signedAt, "soon"), service: "sts", kind: ErrIncomplete, message: "X-Amz-Expires should be a number"},
		{name: "presign in the future", build: presignedGet(userCreds, verifyAt.Add(10*time.Minute), "900"), service: "sts", kind: ErrExpired},
		{name: "presign missing signature", build: withQuery(presignedGet(userCreds, signedAt, "900"), "X-Amz-Signature", ""), service: "sts", kind: ErrIncomplete,
			message: "AWS query-string parameters must include 'X-Amz-Signature'. Re-examine the query-string parameters."},
		{name: "presign sigv4a", build: withQuery(presignedGet(userCreds, signedAt, "900"), "X-Amz-Algorithm", "AWS4-ECDSA-P256-SHA256"), service: "sts", kind: ErrIncomplete},
		{name: "presign host not signed", build: withQuery(presignedGet(userCreds, signedAt, "900"), "X-Amz-SignedHeaders", "x-amz-date"), service: "sts", kind: ErrIncomplete},
		{name: "presign duplicate parameter", build: mutate(presignedGet(userCreds, signedAt, "900"), func(r *http.Request) {
			r.RequestURI += "&X-Amz-Date=20260501T100000Z"
		}), service: "sts", kind: ErrIncomplete},
		{name: "presign tampered query", build: withQuery(presignedGet(userCreds, signedAt, "900"), "Action", "AssumeRole"), service: "sts", kind: ErrSignature},
		{name: "presign token appended after signing", build: mutate(presignedGet(userCreds, signedAt, "900"), func(r *http.Request) {
			r.RequestURI += "&X-Amz-Security-Token=tok"
		}), service: "sts", lookup: staticLookup(Credentials{AccessKeyID: userCreds.AccessKeyID, SecretAccessKey: userCreds.SecretAccessKey, SessionToken: "tok"}),
			kind: ErrInvalidToken},
		{name: "presign unknown key", build: presignedGet(Credentials{AccessKeyID: "AKIAUNKNOWNKEY000000", SecretAccessKey: "s"}, signedAt, "900"), service: "sts", kind: ErrUnknownKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, body := tc.build(t)
			service := tc.service
			if service == "" {
				service = "ecs"
			}
			lookup := tc.lookup
			if lookup == nil {
				lookup = staticLookup(userCreds)
			}
			v := &Verifier{Lookup: lookup, Now: fixedClock(verifyAt)}
			res, err := v.Verify(context.Background(), r, body, service)
			if res != nil {
				t.Fatalf("Verify = %+v, %v; want an error", res, err)
			}
			if tc.kind == 0 {
				var e *Error
				if !errors.Is(err, errLookup) || errors.As(err, &e) {
					t.Fatalf("Verify error = %v; want the lookup's error as is", err)
				}
				return
			}
			e := wantKind(t, err, tc.kind)
			if tc.message != "" && e.Message != tc.message {
				t.Errorf("Verify message = %q; want %q", e.Message, tc.message)
			}
			if !strings.Contains(e.Message, tc.contain) {
				t.Errorf("Verify message = %q; want it to contain %q", e.Message, tc.contain)
			}
		})
	}
}

// TestVerifyAccepts covers the accepted variants the SDK tests do not.
func TestVerifyAccepts(t *testing.T) {
	v := &Verifier{Lookup: staticLookup(userCreds), Now: fixedClock(verifyAt)}
	cases := []struct {
		name  string
		build func(testing.TB) (*http.Request, []byte)
	}{
		{"4 min 59 s late", signedJSON(userCreds, "ecs", "us-east-1", verifyAt.Add(-5*time.Minute+time.Second))},
		{"4 min 59 s early", signedJSON(userCreds, "ecs", "us-east-1", verifyAt.Add(5*time.Minute-time.Second))},
		{"gov region", signedJSON(userCreds, "ecs", "us-gov-west-1", signedAt)},
		{"iso region", signedJSON(userCreds, "ecs", "us-iso-east-1", signedAt)},
		{"no space after commas", mutate(signedJSON(userCreds, "ecs", "us-east-1", signedAt), func(r *http.Request) {
			r.Header.Set("Authorization", strings.ReplaceAll(r.Header.Get("Authorization"), ", ", ","))
		})},
		{"content sha256 of the body", mutate(signedJSON(userCreds, "ecs", "us-east-1", signedAt), func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", hexSHA256([]byte(jsonBody)))
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, body := tc.build(t)
			if _, err := v.Verify(context.Background(), r, body, "ecs"); err != nil {
				t.Fatalf("Verify = %v; want success", err)
			}
		})
	}
}

// TestVerifyDateHeader signs by hand (independently of this package) a
// request dated by the Date header instead of X-Amz-Date.
func TestVerifyDateHeader(t *testing.T) {
	mac := func(key []byte, s string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	at := signedAt
	creq := "GET\n/\nAction=ListUsers&Version=2010-05-08\ndate:" + at.Format(http.TimeFormat) + "\nhost:iam.amazonaws.com\n\ndate;host\n" + hexSHA256(nil)
	sts := "AWS4-HMAC-SHA256\n" + at.Format(iso8601Basic) + "\n20260501/us-east-1/iam/aws4_request\n" + hexSHA256([]byte(creq))
	k := mac(mac(mac(mac([]byte("AWS4"+userCreds.SecretAccessKey), "20260501"), "us-east-1"), "iam"), "aws4_request")
	sig := hex.EncodeToString(mac(k, sts))

	req, err := http.NewRequest(http.MethodGet, "https://iam.amazonaws.com/?Version=2010-05-08&Action=ListUsers", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Date", at.Format(http.TimeFormat))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+userCreds.AccessKeyID+"/20260501/us-east-1/iam/aws4_request,SignedHeaders=date;host,Signature="+sig)
	r, body := serverRequest(t, req)

	v := &Verifier{Lookup: staticLookup(userCreds), Now: fixedClock(verifyAt)}
	res, err := v.Verify(context.Background(), r, body, "iam")
	if err != nil {
		t.Fatalf("Verify = %v; want success", err)
	}
	if !res.Date.Equal(at) {
		t.Errorf("Verify date = %v; want %v", res.Date, at)
	}
}

func TestParseRequest(t *testing.T) {
	hr, _ := signedJSON(userCreds, "ecs", "eu-central-2", signedAt)(t)
	pr, _ := presignedGet(tempCreds, signedAt, "900")(t)
	bad, _ := signedJSON(userCreds, "ecs", "us-east-1'", signedAt)(t)
	none, _ := serverRequest(t, sdkRequest{method: http.MethodGet, url: "https://ecs.us-east-1.amazonaws.com/"}.build(t))
	cases := []struct {
		name string
		r    *http.Request
		want Result
		kind ErrorKind
	}{
		{"header", hr, Result{AccessKeyID: userCreds.AccessKeyID, Date: signedAt, Region: "eu-central-2", Service: "ecs"}, 0},
		{"presigned", pr, Result{AccessKeyID: tempCreds.AccessKeyID, Date: signedAt, Region: "us-east-1", Service: "sts", Presigned: true}, 0},
		{"invalid region", bad, Result{}, ErrScope},
		{"no auth", none, Result{}, ErrMissingAuth},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ParseRequest(tc.r)
			if tc.kind != 0 {
				wantKind(t, err, tc.kind)
				return
			}
			if err != nil {
				t.Fatalf("ParseRequest = %v", err)
			}
			if !res.Date.Equal(tc.want.Date) {
				t.Errorf("ParseRequest date = %v; want %v", res.Date, tc.want.Date)
			}
			res.Date = tc.want.Date
			if *res != tc.want {
				t.Errorf("ParseRequest = %+v; want %+v", *res, tc.want)
			}
		})
	}
}

func TestValidRegion(t *testing.T) {
	for _, s := range []string{"us-east-1", "eu-central-2", "us-gov-west-1", "cn-north-1", "ap-southeast-5", "il-central-1",
		"us-iso-east-1", "us-isob-east-1", "eusc-de-east-1", "me-central-1", "ca-west-1", "mx-central-1"} {
		if !validRegion(s) {
			t.Errorf("validRegion(%q) = false; want true", s)
		}
	}
	for _, s := range []string{"", "us", "us-east", "us-east-1x", "US-EAST-1", "us_east_1", "useast1", "us--east-1", "-us-east-1",
		"us-east-1-", "local", "aws-global", "us-east-1234", "u-east-1", "abcde-east-1", "us-east-01a", "../../x"} {
		if validRegion(s) {
			t.Errorf("validRegion(%q) = true; want false", s)
		}
	}
}

func TestCanonicalURI(t *testing.T) {
	cases := []struct{ in, normalized, raw string }{
		{"", "/", "/"},
		{"/", "/", "/"},
		{"//", "/", "//"},
		{"/a/./b/../c/", "/a/c/", "/a/./b/../c/"},
		{"/../..", "/", "/../.."},
		{"/a b/%2F", "/a%20b/%252F", "/a%20b/%252F"},
		{"/ሴ", "/%E1%88%B4", "/%E1%88%B4"},
		{"/-._~!*'()", "/-._~%21%2A%27%28%29", "/-._~%21%2A%27%28%29"},
	}
	for _, tc := range cases {
		got, _ := appendNormalizedPath(nil, tc.in, nil)
		if string(got) != tc.normalized {
			t.Errorf("appendNormalizedPath(%q) = %q; want %q", tc.in, got, tc.normalized)
		}
		if got := appendRawPath(nil, tc.in); string(got) != tc.raw {
			t.Errorf("appendRawPath(%q) = %q; want %q", tc.in, got, tc.raw)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"b=2&a=1", "a=1&b=2"},
		{"a=2&a=1&a=10", "a=1&a=10&a=2"},
		{"flag&x=", "flag=&x="},
		{"q=a+b", "q=a%2Bb"}, // '+' is a literal plus
		{"q=a%20b&r=a b", "q=a%20b&r=a%20b"},
		{"q=%7e%2a", "q=~%2A"}, // escapes normalised
		{"q=100%", "q=100%25"}, // malformed escape taken literally
		{"%E1%88%B4=1&P=2", "%E1%88%B4=1&P=2"},
		{"a=1&&b=2", "a=1&b=2"},
		{"X-Amz-Signature=abc&a=1", "X-Amz-Signature=abc&a=1"},
	}
	var c canon
	for _, tc := range cases {
		if got := c.appendQuery(nil, tc.in, false, false); string(got) != tc.want {
			t.Errorf("appendQuery(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
	if got := c.appendQuery(nil, "X-Amz-Signature=abc&a=1&X-Amz-Security-Token=t", true, true); string(got) != "a=1" {
		t.Errorf("appendQuery(presigned, dropToken) = %q; want %q", got, "a=1")
	}
}

func TestCanonicalHeaderValue(t *testing.T) {
	cases := []struct{ in, want string }{
		{"  a   b  ", "a b"},
		{"\ta\t\tb\t", "a\t\tb"},
		{`"a   b   c"`, `"a b c"`},
		{"", ""},
	}
	for _, tc := range cases {
		if got := appendHeaderValue(nil, tc.in); string(got) != tc.want {
			t.Errorf("appendHeaderValue(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// TestKeyCache checks the cache stays bounded and correct under concurrent
// use with more scopes than it holds.
func TestKeyCache(t *testing.T) {
	v := &Verifier{Lookup: staticLookup(userCreds), Now: fixedClock(verifyAt)}
	v.keys.max = 2
	regions := []string{"us-east-1", "eu-west-1", "ap-south-1"}
	reqs := make([]*http.Request, len(regions))
	bodies := make([][]byte, len(regions))
	for i, region := range regions {
		reqs[i], bodies[i] = signedJSON(userCreds, "ecs", region, signedAt)(t)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				j := (g + i) % len(regions)
				if _, err := v.Verify(context.Background(), reqs[j], bodies[j], "ecs"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Verify = %v; want success", err)
	}
	if n := v.keys.len(); n > 2 {
		t.Errorf("key cache holds %d keys; want at most 2", n)
	}
	want := deriveKey(userCreds.SecretAccessKey, "20260501", "eu-west-1", "ecs")
	if got := v.keys.get(userCreds.SecretAccessKey, "20260501", "eu-west-1", "ecs"); got != want {
		t.Errorf("cached key differs from the derived key")
	}
}

func TestVerifyNilLookup(t *testing.T) {
	r, body := signedJSON(userCreds, "ecs", "us-east-1", signedAt)(t)
	var v Verifier
	_, err := v.Verify(context.Background(), r, body, "ecs")
	var e *Error
	if err == nil || errors.As(err, &e) {
		t.Fatalf("Verify with nil Lookup = %v; want a plain error", err)
	}
}

func TestVerifyEmptySecret(t *testing.T) {
	r, body := signedJSON(Credentials{AccessKeyID: userCreds.AccessKeyID, SecretAccessKey: ""}, "ecs", "us-east-1", signedAt)(t)
	v := &Verifier{Lookup: staticLookup(Credentials{AccessKeyID: userCreds.AccessKeyID}), Now: fixedClock(verifyAt)}
	_, err := v.Verify(context.Background(), r, body, "ecs")
	var e *Error
	if err == nil || errors.As(err, &e) {
		t.Fatalf("Verify with an empty secret = %v; want a plain error", err)
	}
}
