package lb

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scripted is a raw HTTP/1.1 backend: it parses each request and writes
// the bytes its script returns, verbatim; it records what it received.
type scripted struct {
	addr    string
	conns   atomic.Int64
	mu      sync.Mutex
	got     []*http.Request
	bodies  []string
	trailer []http.Header
}

func newScripted(t *testing.T, script func(r *http.Request, body string) (resp string, closeAfter bool)) *scripted {
	t.Helper()
	s := &scripted{}
	s.addr = rawServer(t, func(c net.Conn) {
		s.conns.Add(1)
		br := bufio.NewReader(c)
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			b, _ := io.ReadAll(r.Body)
			if r.URL.Path == "/health" {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
				continue
			}
			s.mu.Lock()
			s.got = append(s.got, r)
			s.bodies = append(s.bodies, string(b))
			s.trailer = append(s.trailer, r.Trailer)
			s.mu.Unlock()
			resp, closeAfter := script(r, string(b))
			_, _ = io.WriteString(c, resp)
			if closeAfter {
				return
			}
		}
	})
	return s
}

func (s *scripted) last() (*http.Request, string, http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) == 0 {
		return nil, "", nil
	}
	n := len(s.got) - 1
	return s.got[n], s.bodies[n], s.trailer[n]
}

// rawClient talks to a listener byte by byte.
type rawClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, base string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawClient{t: t, c: c, br: bufio.NewReader(c)}
}

func (rc *rawClient) send(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, s); err != nil {
		rc.t.Fatal(err)
	}
}

// response reads one response to a request with method.
func (rc *rawClient) response(method string) (*http.Response, string) {
	rc.t.Helper()
	resp, err := http.ReadResponse(rc.br, &http.Request{Method: method})
	if err != nil {
		rc.t.Fatalf("read response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatalf("read response body: %v", err)
	}
	resp.Body.Close()
	return resp, string(b)
}

// scriptedListener binds a listener forwarding to one scripted backend.
func scriptedListener(t *testing.T, p *Plane, name string, s *scripted) string {
	t.Helper()
	tg := TargetGroup{ARN: "tg/" + name, Protocol: "HTTP", Targets: []Target{addrTarget(t, s.addr)}, HealthCheck: fastHealth()}
	p.SetTargetGroup(tg)
	return bind(t, p, albListener("listener/"+name, defaultRule(forwardTo(tg.ARN))))
}

func TestFastPathResponses(t *testing.T) {
	p := testPlane(t, Config{})
	tests := []struct {
		name    string
		resp    string
		close   bool
		method  string
		body    string
		trailer string // a trailer the client must see
		check   func(t *testing.T, r *http.Response)
	}{
		{name: "content length", resp: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", method: "GET", body: "hello"},
		{name: "chunked with trailer", resp: "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3;ext=1\r\nllo\r\n0\r\nX-Sum: 42\r\n\r\n",
			method: "GET", body: "hello", trailer: "42"},
		{name: "until close is re-chunked", resp: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello", close: true, method: "GET", body: "hello",
			check: func(t *testing.T, r *http.Response) {
				if len(r.TransferEncoding) != 1 || r.TransferEncoding[0] != "chunked" || r.Close {
					t.Errorf("client got Transfer-Encoding %v, Close %v; want chunked and the connection kept", r.TransferEncoding, r.Close)
				}
			}},
		{name: "HTTP/1.0 target", resp: "HTTP/1.0 200 OK\r\n\r\nold", close: true, method: "GET", body: "old"},
		{name: "head keeps the length", resp: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", method: "HEAD", body: "",
			check: func(t *testing.T, r *http.Response) {
				if r.ContentLength != 5 {
					t.Errorf("HEAD Content-Length = %d; want the target's 5", r.ContentLength)
				}
			}},
		{name: "no content", resp: "HTTP/1.1 204 No Content\r\n\r\n", method: "GET", body: ""},
		{name: "not modified", resp: "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", method: "GET", body: ""},
		{name: "connection-listed header dropped", resp: "HTTP/1.1 200 OK\r\nConnection: X-Internal\r\nX-Internal: secret\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok", method: "GET", body: "ok",
			check: func(t *testing.T, r *http.Response) {
				if r.Header.Get("X-Internal") != "" || r.Header.Get("Keep-Alive") != "" {
					t.Errorf("client got headers %v; want X-Internal and Keep-Alive dropped", r.Header)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScripted(t, func(*http.Request, string) (string, bool) { return tt.resp, tt.close })
			base := scriptedListener(t, p, strings.ReplaceAll(tt.name, " ", "-"), s)
			rc := dialRaw(t, base)
			// Two requests on one connection: the framing of the first
			// must leave the connection usable.
			for i := range 2 {
				rc.send(tt.method + " /x HTTP/1.1\r\nHost: h\r\n\r\n")
				r, body := rc.response(tt.method)
				if body != tt.body {
					t.Fatalf("request %d: body = %q; want %q", i, body, tt.body)
				}
				if tt.trailer != "" && r.Trailer.Get("X-Sum") != tt.trailer {
					t.Errorf("request %d: trailer X-Sum = %q; want %q", i, r.Trailer.Get("X-Sum"), tt.trailer)
				}
				if tt.check != nil {
					tt.check(t, r)
				}
			}
		})
	}
}

func TestFastPathInterimResponse(t *testing.T) {
	p := testPlane(t, Config{})
	s := newScripted(t, func(*http.Request, string) (string, bool) {
		return "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false
	})
	base := scriptedListener(t, p, "hints", s)
	rc := dialRaw(t, base)
	rc.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	r, _ := rc.response("GET")
	if r.StatusCode != 103 || r.Header.Get("Link") != "</s.css>; rel=preload" {
		t.Fatalf("first response = %d %v; want 103 with the Link", r.StatusCode, r.Header)
	}
	if r, body := rc.response("GET"); r.StatusCode != 200 || body != "ok" {
		t.Errorf("final response = %d %q; want 200 ok", r.StatusCode, body)
	}
}

func TestFastPathRequests(t *testing.T) {
	p := testPlane(t, Config{})
	s := newScripted(t, func(r *http.Request, body string) (string, bool) {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false
	})
	base := scriptedListener(t, p, "requests", s)

	t.Run("chunked body with trailer", func(t *testing.T) {
		rc := dialRaw(t, base)
		rc.send("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTrailer: X-Check\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Check: yes\r\n\r\n")
		if r, body := rc.response("POST"); r.StatusCode != 200 || body != "ok" {
			t.Fatalf("POST = %d %q; want 200 ok", r.StatusCode, body)
		}
		r, body, trailer := s.last()
		if body != "abcde" || trailer.Get("X-Check") != "yes" || len(r.TransferEncoding) == 0 {
			t.Errorf("target got body %q trailer %v encoding %v; want abcde, X-Check: yes, chunked", body, trailer, r.TransferEncoding)
		}
	})
	t.Run("expect 100-continue", func(t *testing.T) {
		rc := dialRaw(t, base)
		rc.send("PUT /up HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
		r, _ := rc.response("PUT")
		if r.StatusCode != http.StatusContinue {
			t.Fatalf("first response = %d; want 100 Continue", r.StatusCode)
		}
		rc.send("data")
		if r, body := rc.response("PUT"); r.StatusCode != 200 || body != "ok" {
			t.Fatalf("PUT = %d %q; want 200 ok", r.StatusCode, body)
		}
		got, body, _ := s.last()
		if body != "data" || got.Header.Get("Expect") != "" {
			t.Errorf("target got body %q Expect %q; want data and no Expect", body, got.Header.Get("Expect"))
		}
	})
	t.Run("pipelined", func(t *testing.T) {
		rc := dialRaw(t, base)
		rc.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nHost: h\r\n\r\n")
		for i, m := range []string{"GET", "POST", "GET"} {
			if r, body := rc.response(m); r.StatusCode != 200 || body != "ok" {
				t.Fatalf("pipelined response %d = %d %q; want 200 ok", i, r.StatusCode, body)
			}
		}
		if r, body, _ := s.last(); r.URL.Path != "/3" || body != "" {
			t.Errorf("last request the target got = %s %q; want /3", r.URL.Path, body)
		}
	})
	t.Run("connection close", func(t *testing.T) {
		rc := dialRaw(t, base)
		rc.send("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		r, _ := rc.response("GET")
		if !r.Close {
			t.Errorf("response to Connection: close did not announce close")
		}
		if _, err := rc.br.ReadByte(); err != io.EOF {
			t.Errorf("after the response read %v; want EOF (connection closed)", err)
		}
	})
	t.Run("http/1.0 goes to net/http", func(t *testing.T) {
		rc := dialRaw(t, base)
		rc.send("GET /old HTTP/1.0\r\nHost: h\r\n\r\n")
		if r, body := rc.response("GET"); r.StatusCode != 200 || body != "ok" {
			t.Fatalf("HTTP/1.0 GET = %d %q; want 200 ok", r.StatusCode, body)
		}
		if r, _, _ := s.last(); r.URL.Path != "/old" || r.Header.Get("X-Forwarded-For") != "127.0.0.1" {
			t.Errorf("target got %s with X-Forwarded-For %q; want /old from 127.0.0.1", r.URL.Path, r.Header.Get("X-Forwarded-For"))
		}
	})
}

func TestFastPathBadRequests(t *testing.T) {
	p := testPlane(t, Config{})
	s := newScripted(t, func(*http.Request, string) (string, bool) {
		return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false
	})
	base := scriptedListener(t, p, "bad", s)
	tests := []struct {
		name, req string
	}{
		{"length and chunked (smuggling)", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{"two lengths", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"},
		{"bad length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -3\r\n\r\n"},
		{"no host", "GET / HTTP/1.1\r\n\r\n"},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
		{"space before colon", "GET / HTTP/1.1\r\nHost: h\r\nX-A : 1\r\n\r\n"},
		{"folded header", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n"},
		{"header line too long", "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + strings.Repeat("a", 17<<10) + "\r\n\r\n"},
		{"head too large", "GET / HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("X-A: "+strings.Repeat("b", 8<<10)+"\r\n", 9) + "\r\n"},
		{"bad version", "GET / HTTP/9.9\r\nHost: h\r\n\r\n"},
		{"bad percent", "GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.got)
			rc := dialRaw(t, base)
			rc.send(tt.req)
			r, body := rc.response("GET")
			if r.StatusCode != http.StatusBadRequest || !strings.Contains(body, "400 Bad Request") {
				t.Errorf("%s = %d %q; want 400", tt.name, r.StatusCode, body)
			}
			s.mu.Lock()
			after := len(s.got)
			s.mu.Unlock()
			if after != before {
				t.Errorf("%s reached the target", tt.name)
			}
		})
	}
}

func TestFastPathReusesTargetConnections(t *testing.T) {
	p := testPlane(t, Config{})
	s := newScripted(t, func(*http.Request, string) (string, bool) {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false
	})
	tg := TargetGroup{ARN: "tg/reuse", Protocol: "HTTP", Targets: []Target{addrTarget(t, s.addr)}, HealthCheck: fastHealth()}
	tg.HealthCheck.Interval = time.Hour // one check, one connection, then quiet
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/reuse", defaultRule(forwardTo(tg.ARN))))
	waitState(t, p, tg.ARN, tg.Targets[0], StateHealthy)
	c := newClient()
	if code, _ := get(t, c, base+"/"); code != 200 {
		t.Fatalf("GET = %d", code)
	}
	before := s.conns.Load()
	for range 20 {
		if code, _ := get(t, c, base+"/"); code != 200 {
			t.Fatalf("GET = %d", code)
		}
	}
	if d := s.conns.Load() - before; d != 0 {
		t.Errorf("20 sequential requests opened %d more target connections; want the pooled one reused", d)
	}
}

func TestFastPathRetriesStaleConnection(t *testing.T) {
	p := testPlane(t, Config{})
	// The target closes every connection after one answer without saying
	// so: the pooled connection is dead when the next request comes.
	s := newScripted(t, func(r *http.Request, _ string) (string, bool) {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true
	})
	base := scriptedListener(t, p, "stale", s)
	c := newClient()
	for i := range 5 {
		if code, body := get(t, c, base+"/"); code != 200 || body != "ok" {
			t.Fatalf("GET %d = %d %q; want 200 ok (retried on a fresh connection)", i, code, body)
		}
	}
}

// TestFastPathHeadersToTarget checks the exact head the target gets.
func TestFastPathHeadersToTarget(t *testing.T) {
	p := testPlane(t, Config{})
	var raw atomic.Value
	addr := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			var head bytes.Buffer
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				head.WriteString(line)
				if line == "\r\n" {
					break
				}
			}
			if !strings.HasPrefix(head.String(), "GET /health") {
				raw.Store(head.String())
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
	})
	tg := TargetGroup{ARN: "tg/head", Protocol: "HTTP", Targets: []Target{addrTarget(t, addr)}, HealthCheck: fastHealth()}
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/head", defaultRule(forwardTo(tg.ARN))))
	port := base[strings.LastIndexByte(base, ':')+1:]
	rc := dialRaw(t, base)
	rc.send("GET /p?q=1 HTTP/1.1\r\nHost: app.example\r\nx-custom: Keep Case\r\nConnection: keep-alive, X-Hop\r\nX-Hop: no\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.2\r\nTE: trailers, gzip\r\n\r\n")
	rc.response("GET")
	got, _ := raw.Load().(string)
	lines := strings.Split(strings.TrimSuffix(got, "\r\n\r\n"), "\r\n")
	want := []string{
		"GET /p?q=1 HTTP/1.1",
		"Host: app.example",
		"x-custom: Keep Case",
		"Te: trailers",
		"X-Forwarded-For: 192.0.2.1, 192.0.2.2, 127.0.0.1",
		"X-Forwarded-Proto: http",
		"X-Forwarded-Port: " + port,
	}
	for i, w := range want {
		if i >= len(lines) || lines[i] != w {
			t.Fatalf("target head =\n%s\nwant line %d %q", got, i, w)
		}
	}
	if !traceRoot.MatchString(strings.TrimPrefix(lines[len(want)], "X-Amzn-Trace-Id: ")) || len(lines) != len(want)+1 {
		t.Errorf("target head =\n%s\nwant the lines above, then only X-Amzn-Trace-Id", got)
	}
}
