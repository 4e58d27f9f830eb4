package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	exampleKeyID  = "AKIDEXAMPLE"
	exampleSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

// suiteTime is the signing time of every case of the AWS suite.
var suiteTime = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// staticLookup knows exactly one key.
func staticLookup(c Credentials) KeyLookup {
	return func(_ context.Context, id string) (Credentials, error) {
		if id != c.AccessKeyID {
			return Credentials{}, fmt.Errorf("key %q: %w", id, ErrKeyNotFound)
		}
		return c, nil
	}
}

// parseRawRequest reads a request as the suite writes it (and as a server
// receives it): the request line is split on its first and last space only so
// that paths with spaces survive, headers go through net/textproto (folded
// lines, repeated headers), Host moves to r.Host, and nothing is cleaned.
func parseRawRequest(t testing.TB, data []byte) (*http.Request, []byte) {
	t.Helper()
	s := string(data)
	head, body, _ := strings.Cut(s, "\n\n")
	line, rest, _ := strings.Cut(head, "\n")
	line = strings.TrimSuffix(line, "\r")
	i, j := strings.IndexByte(line, ' '), strings.LastIndexByte(line, ' ')
	if i < 0 || j <= i {
		t.Fatalf("bad request line %q", line)
	}
	method, uri, proto := line[:i], line[i+1:j], line[j+1:]
	h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(rest + "\n\n"))).ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("headers of %q: %v", line, err)
	}
	r := &http.Request{
		Method:     method,
		RequestURI: uri,
		Proto:      proto,
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header(h),
		Host:       h.Get("Host"),
		Body:       io.NopCloser(strings.NewReader(body)),
	}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header.Del("Host")
	if u, err := url.ParseRequestURI(uri); err == nil {
		r.URL = u
	} else {
		p, q, _ := strings.Cut(uri, "?")
		r.URL = &url.URL{Path: p, RawQuery: q}
	}
	r.ContentLength = int64(len(body))
	if cl := h.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil {
			r.ContentLength = n
		}
	}
	return r, []byte(body)
}

// serverRequest round-trips a client request through the wire format, so the
// verifier sees what net/http's server would hand it.
func serverRequest(t testing.TB, req *http.Request) (*http.Request, []byte) {
	t.Helper()
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		t.Fatalf("write request: %v", err)
	}
	r, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		t.Fatalf("read request: %v", err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return r, body
}

// wantKind fails unless err is an *Error of kind k.
func wantKind(t testing.TB, err error, k ErrorKind) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v; want *Error of kind %v", err, k)
	}
	if e.Kind != k {
		t.Fatalf("error kind = %v (%q); want %v", e.Kind, e.Message, k)
	}
	return e
}

// canonicalForm returns the canonical request and string to sign Verify
// computes for r: with the normalised URI, or the URI as sent when normalize
// is false; without X-Amz-Security-Token in the query with dropToken.
func canonicalForm(r *http.Request, body []byte, normalize, dropToken bool) (creq, sts string, err error) {
	var a authInfo
	if err := parseAuth(r, &a); err != nil {
		return "", "", err
	}
	c := getCanon()
	defer putCanon(c)
	if err := c.prepare(r, body, &a); err != nil {
		return "", "", err
	}
	query := c.query
	if dropToken {
		query = c.appendQuery(nil, c.rawQuery, a.presigned, true)
	}
	i := 0
	if !normalize {
		i = 1
	}
	b := c.canonicalRequest(i, a.signedHeaders, query)
	creq = string(b)
	h := sha256.Sum256(b)
	return creq, string(appendStringToSign(nil, &a, &h)), nil
}

func (c *keyCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
