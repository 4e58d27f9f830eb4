package sigv4

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// anyKey accepts every access key, so fuzzed requests reach the signature check.
func anyKey(_ context.Context, id string) (Credentials, error) {
	return Credentials{AccessKeyID: id, SecretAccessKey: exampleSecret}, nil
}

// suiteSeeds returns the first line matching prefix of each suite file name,
// when the suite is present.
func suiteSeeds(file, prefix string) []string {
	dirs, _ := os.ReadDir(suiteDir)
	var out []string
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(suiteDir, d.Name(), file))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, prefix) {
				out = append(out, strings.TrimPrefix(line, prefix))
				break
			}
		}
	}
	return out
}

// checkNoSurprise fails unless err is nil or an *Error with a known kind and a message.
func checkNoSurprise(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s error = %v; want an *Error", what, err)
	}
	if e.Kind < ErrMissingAuth || e.Kind > ErrScope || e.Message == "" {
		t.Fatalf("%s error = %#v", what, e)
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", "20150830T123600Z")
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request,SignedHeaders=host;x-amz-date,Signature=", "20150830T123600Z")
	f.Add("AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/20150830/service/aws4_request, SignedHeaders=host, Signature=00", "")
	f.Add("Basic YWxhZGRpbjpvcGVuc2VzYW1l", "")
	f.Add("AWS4-HMAC-SHA256 Credential==//// , ,SignedHeaders=;;;host;, Signature=Signature=", "99999999T999999Z")
	for _, s := range suiteSeeds("header-signed-request.txt", "Authorization:") {
		f.Add(s, "20150830T123600Z")
	}
	v := &Verifier{Lookup: anyKey, Now: fixedClock(suiteTime)}
	f.Fuzz(func(t *testing.T, authz, date string) {
		r := &http.Request{
			Method:     http.MethodGet,
			RequestURI: "/",
			Host:       "example.amazonaws.com",
			Header:     http.Header{"Authorization": {authz}},
		}
		if date != "" {
			r.Header["X-Amz-Date"] = []string{date}
		}
		res, err := ParseRequest(r)
		checkNoSurprise(t, "ParseRequest", err)
		if err == nil && (res.AccessKeyID == "" || !validRegion(res.Region) || res.Presigned) {
			t.Fatalf("ParseRequest(%q) = %+v", authz, res)
		}
		_, err = v.Verify(context.Background(), r, nil, "service")
		checkNoSurprise(t, "Verify", err)
	})
}

func FuzzParsePresigned(f *testing.F) {
	f.Add("/", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d")
	f.Add("//a/./b/../", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=604801&X-Amz-Date=20150830T123600Z")
	f.Add("/%zz/%", "X-Amz-Algorithm=AWS4-HMAC-SHA256&&=&%&a+b=%E1%88%B4&X-Amz-Credential=%2F%2F%2F%2F&X-Amz-Expires=-1")
	f.Add("/example space/", "X-Amz-Alg%6Frithm=AWS4-HMAC-SHA256&X-Amz-Security-Token=t&X-Amz-Security-Token=u")
	for _, s := range suiteSeeds("query-signed-request.txt", "") {
		line := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(s, "GET "), "POST "), " HTTP/1.1")
		p, q, _ := strings.Cut(line, "?")
		f.Add(p, q)
	}
	v := &Verifier{Lookup: anyKey, Now: fixedClock(suiteTime)}
	f.Fuzz(func(t *testing.T, path, query string) {
		uri := path
		if query != "" {
			uri += "?" + query
		}
		r := &http.Request{
			Method:     http.MethodGet,
			RequestURI: uri,
			Host:       "example.amazonaws.com",
			Header:     http.Header{},
		}
		res, err := ParseRequest(r)
		checkNoSurprise(t, "ParseRequest", err)
		if err == nil && (!res.Presigned || res.AccessKeyID == "") {
			t.Fatalf("ParseRequest(%q) = %+v", uri, res)
		}
		_, err = v.Verify(context.Background(), r, []byte(query), "service")
		checkNoSurprise(t, "Verify", err)

		// The canonical forms are always well formed.
		p, _ := rawTarget(r)
		norm, _ := appendNormalizedPath(nil, p, nil)
		if norm[0] != '/' || bytes.Contains(norm, []byte("//")) || !wellEncoded(norm, true) {
			t.Fatalf("appendNormalizedPath(%q) = %q", p, norm)
		}
		var c canon
		q := c.appendQuery(nil, query, true, false)
		if !wellEncoded(bytes.ReplaceAll(bytes.ReplaceAll(q, []byte("&"), nil), []byte("="), nil), false) {
			t.Fatalf("appendQuery(%q) = %q", query, q)
		}
		if again := c.appendQuery(nil, string(q), false, false); !bytes.Equal(again, q) {
			t.Fatalf("appendQuery not idempotent: %q -> %q -> %q", query, q, again)
		}
	})
}

// wellEncoded reports whether b holds only unreserved bytes, %XX with upper
// hex digits, and '/' when slash.
func wellEncoded(b []byte, slash bool) bool {
	for i := 0; i < len(b); i++ {
		switch ch := b[i]; {
		case unreserved(ch), slash && ch == '/':
		case ch == '%' && i+2 < len(b) && strings.IndexByte(upperHex, b[i+1]) >= 0 && strings.IndexByte(upperHex, b[i+2]) >= 0:
			i += 2
		default:
			return false
		}
	}
	return true
}
