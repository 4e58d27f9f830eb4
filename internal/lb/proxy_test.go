package lb

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// echo is a backend handler that answers with what it received.
type echoed struct {
	Method, URI, Host, Proto, Body string
	Header                         http.Header
}

func echoHandler(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(echoed{Method: r.Method, URI: r.RequestURI, Host: r.Host, Proto: r.Proto, Body: string(b), Header: r.Header})
}

func TestForwardedRequest(t *testing.T) {
	p := testPlane(t, Config{})
	a := newBackend(t, "a")
	a.handler = http.HandlerFunc(echoHandler)
	tg := httpGroup("tg/echo", a)
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/echo", defaultRule(forwardTo(tg.ARN))))
	port := base[strings.LastIndexByte(base, ':')+1:]

	tests := []struct {
		name  string
		mod   func(*http.Request)
		check func(t *testing.T, e echoed)
	}{
		{"X-Forwarded headers", func(r *http.Request) {}, func(t *testing.T, e echoed) {
			if got := e.Header.Get("X-Forwarded-For"); got != "127.0.0.1" {
				t.Errorf("X-Forwarded-For = %q; want 127.0.0.1", got)
			}
			if got := e.Header.Get("X-Forwarded-Proto"); got != "http" {
				t.Errorf("X-Forwarded-Proto = %q; want http", got)
			}
			if got := e.Header.Get("X-Forwarded-Port"); got != port {
				t.Errorf("X-Forwarded-Port = %q; want the listener's port %s", got, port)
			}
			if got := e.Header.Get("X-Amzn-Trace-Id"); !traceRoot.MatchString(got) {
				t.Errorf("X-Amzn-Trace-Id = %q; want Root=1-<8 hex>-<24 hex>", got)
			}
		}},
		{"X-Forwarded-For appended", func(r *http.Request) {
			r.Header.Set("X-Forwarded-For", "203.0.113.7, 8.3.1.1")
			r.Header.Set("X-Forwarded-Proto", "https")
		}, func(t *testing.T, e echoed) {
			if got := e.Header.Get("X-Forwarded-For"); got != "203.0.113.7, 8.3.1.1, 127.0.0.1" {
				t.Errorf("X-Forwarded-For = %q; want the client's list with 127.0.0.1 appended", got)
			}
			if got := e.Header.Get("X-Forwarded-Proto"); got != "http" {
				t.Errorf("X-Forwarded-Proto = %q; want http (the listener's, not the client's)", got)
			}
		}},
		{"trace id kept", func(r *http.Request) {
			r.Header.Set("X-Amzn-Trace-Id", "Root=1-67891233-abcdef012345678912345678")
		}, func(t *testing.T, e echoed) {
			got := e.Header.Get("X-Amzn-Trace-Id")
			if !strings.HasPrefix(got, "Self=1-") || !strings.HasSuffix(got, ";Root=1-67891233-abcdef012345678912345678") {
				t.Errorf("X-Amzn-Trace-Id = %q; want Self=...;Root=<the client's>", got)
			}
		}},
		{"host path and query kept", func(r *http.Request) {
			r.Host = "app.example.com"
			r.URL.Path = "/a b/c"
			r.URL.RawQuery = "x=1&y=%2F"
		}, func(t *testing.T, e echoed) {
			if e.Host != "app.example.com" || e.URI != "/a%20b/c?x=1&y=%2F" {
				t.Errorf("target saw Host %q URI %q; want app.example.com and /a%%20b/c?x=1&y=%%2F", e.Host, e.URI)
			}
			if e.Proto != "HTTP/1.1" {
				t.Errorf("target saw %s; want HTTP/1.1", e.Proto)
			}
		}},
		{"hop-by-hop headers dropped", func(r *http.Request) {
			r.Header.Set("Connection", "X-Secret")
			r.Header.Set("X-Secret", "s")
			r.Header.Set("Keep-Alive", "timeout=5")
			r.Header.Set("X-Kept", "k")
		}, func(t *testing.T, e echoed) {
			if e.Header.Get("X-Secret") != "" || e.Header.Get("Keep-Alive") != "" {
				t.Errorf("target got headers %v; want X-Secret and Keep-Alive dropped", e.Header)
			}
			if e.Header.Get("X-Kept") != "k" {
				t.Errorf("X-Kept = %q; want k", e.Header.Get("X-Kept"))
			}
		}},
		{"body", func(r *http.Request) {
			r.Method = http.MethodPost
			r.Body = io.NopCloser(strings.NewReader("payload"))
			r.ContentLength = 7
		}, func(t *testing.T, e echoed) {
			if e.Method != "POST" || e.Body != "payload" {
				t.Errorf("target got %s %q; want POST payload", e.Method, e.Body)
			}
		}},
		{"chunked body", func(r *http.Request) {
			r.Method = http.MethodPut
			r.Body = io.NopCloser(strings.NewReader(strings.Repeat("x", 100000)))
			r.ContentLength = -1
		}, func(t *testing.T, e echoed) {
			if len(e.Body) != 100000 {
				t.Errorf("target got %d bytes; want 100000", len(e.Body))
			}
		}},
		{"no default user agent", func(r *http.Request) {
			r.Header["User-Agent"] = nil
		}, func(t *testing.T, e echoed) {
			if ua := e.Header.Get("User-Agent"); strings.Contains(ua, "Go-http-client") {
				t.Errorf("User-Agent = %q; want none added", ua)
			}
		}},
	}
	c := newClient()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, base+"/echo", nil)
			tt.mod(r)
			resp, err := c.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e echoed
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatalf("decode: %v", err)
			}
			tt.check(t, e)
		})
	}
}

func TestTargetErrors(t *testing.T) {
	// hijacker closes the connection without answering: 502.
	hijack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			return
		}
		c, _, _ := http.NewResponseController(w).Hijack()
		c.Close()
	}))
	t.Cleanup(hijack.Close)
	// garbage answers with something that is not HTTP: 502.
	garbage := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.URL.Path == "/health" {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			return
		}
		_, _ = io.WriteString(c, "SMTP READY\r\n\r\n")
	})
	// slow answers after the idle timeout: 504.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			return
		}
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	// stall sends headers and part of the body, then nothing: the client
	// sees a truncated body once the idle timeout passes.
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			return
		}
		w.Header().Set("Content-Length", "100")
		_, _ = w.Write([]byte("partial"))
		http.NewResponseController(w).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	}))
	t.Cleanup(stall.Close)
	refused := freeTarget(t)

	p := testPlane(t, Config{})
	tests := []struct {
		name   string
		target Target
		want   int
	}{
		{"target closes the connection", addrTarget(t, hijack.Listener.Addr().String()), http.StatusBadGateway},
		{"malformed response", addrTarget(t, garbage), http.StatusBadGateway},
		{"connection refused", refused, http.StatusBadGateway},
		{"no answer within the idle timeout", addrTarget(t, slow.Listener.Addr().String()), http.StatusGatewayTimeout},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arn := fmt.Sprintf("tg/err/%d", i)
			p.SetTargetGroup(TargetGroup{ARN: arn, Protocol: "HTTP", Targets: []Target{tt.target}, HealthCheck: fastHealth()})
			l := albListener(fmt.Sprintf("listener/err/%d", i), defaultRule(forwardTo(arn)))
			l.IdleTimeout = 200 * time.Millisecond
			base := bind(t, p, l)
			start := time.Now()
			resp, err := newClient().Get(base + "/x")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("GET = %d %s; want %d", resp.StatusCode, body, tt.want)
			}
			title := statusTitles[tt.want]
			if resp.Header.Get("Server") != "awselb/2.0" || !strings.Contains(string(body), "<title>"+title+"</title>") {
				t.Errorf("GET = Server %q body %q; want awselb/2.0 and ALB's %q page", resp.Header.Get("Server"), body, title)
			}
			if tt.want == http.StatusGatewayTimeout && time.Since(start) > 2*time.Second {
				t.Errorf("504 after %v; want it at the 200ms idle timeout", time.Since(start))
			}
			st, _ := p.ListenerStats(l.ARN)
			if (tt.want == 502 && st.ELB502 != 1) || (tt.want == 504 && st.ELB504 != 1) {
				t.Errorf("ListenerStats = %+v; want the %d counted once", st, tt.want)
			}
		})
	}

	t.Run("body stalls after the headers", func(t *testing.T) {
		arn := "tg/err/stall"
		p.SetTargetGroup(TargetGroup{ARN: arn, Protocol: "HTTP", Targets: []Target{addrTarget(t, stall.Listener.Addr().String())}, HealthCheck: fastHealth()})
		l := albListener("listener/err/stall", defaultRule(forwardTo(arn)))
		l.IdleTimeout = 200 * time.Millisecond
		base := bind(t, p, l)
		resp, err := newClient().Get(base + "/x")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET = %d; want the target's 200", resp.StatusCode)
		}
		start := time.Now()
		b, err := io.ReadAll(resp.Body)
		if err == nil || string(b) != "partial" {
			t.Errorf("body = %q, %v; want \"partial\" then an error (truncated)", b, err)
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("truncated after %v; want at the idle timeout", time.Since(start))
		}
	})
}

func TestClientClosedCounted460(t *testing.T) {
	p := testPlane(t, Config{})
	g := newGate()
	a := newBackend(t, "a")
	t.Cleanup(g.open) // before the backend's Close, which waits for the handler
	a.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.wait()
	})
	tg := httpGroup("tg/460", a)
	p.SetTargetGroup(tg)
	l := albListener("listener/460", defaultRule(forwardTo(tg.ARN)))
	base := bind(t, p, l)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := newClient().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-g.entered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("client error = %v; want canceled", err)
	}
	eventually(t, 5*time.Second, "a 460 counted", func() bool {
		st, _ := p.ListenerStats(l.ARN)
		return st.ELB460 == 1
	})
}

func TestFixedResponseAndRedirectActions(t *testing.T) {
	p := testPlane(t, Config{PortOffset: 0})
	rules := []Rule{
		{ARN: "r1", Priority: 1, Conditions: []Condition{{Field: FieldPathPattern, Values: []string{"/maintenance"}}},
			Actions: []Action{{Type: ActionFixedResponse, FixedResponse: &FixedResponse{StatusCode: "503", ContentType: "application/json", MessageBody: `{"down":true}`}}}},
		{ARN: "r2", Priority: 2, Conditions: []Condition{{Field: FieldPathPattern, Values: []string{"/old/*"}}},
			Actions: []Action{{Type: ActionRedirect, Redirect: &Redirect{Path: "/new/#{path}", Query: "#{query}", StatusCode: "HTTP_301"}}}},
		{ARN: "default", IsDefault: true, Actions: []Action{{Type: ActionFixedResponse, FixedResponse: &FixedResponse{StatusCode: "404", MessageBody: "nothing here"}}}},
	}
	base := bind(t, p, albListener("listener/actions", rules...))
	host := strings.TrimPrefix(base, "http://")
	c := newClient()

	resp, err := c.Get(base + "/maintenance")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || string(b) != `{"down":true}` || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("fixed response = %d %q %q; want 503, the body, application/json; charset=utf-8", resp.StatusCode, b, resp.Header.Get("Content-Type"))
	}

	resp, err = c.Get(base + "/old/page?q=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "http://" + host + "/new/old/page?q=1"; resp.StatusCode != 301 || resp.Header.Get("Location") != want {
		t.Errorf("redirect = %d Location %q; want 301 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	if code, body := get(t, c, base+"/elsewhere"); code != 404 || body != "nothing here" {
		t.Errorf("default = %d %q; want 404 \"nothing here\"", code, body)
	}
	st, _ := p.ListenerStats("listener/actions")
	if st.Requests != 3 || st.FixedResponses != 2 || st.Redirects != 1 {
		t.Errorf("ListenerStats = %+v; want 3 requests, 2 fixed responses, 1 redirect", st)
	}
}

func TestRuleRouting(t *testing.T) {
	p := testPlane(t, Config{})
	api, web := newBackend(t, "api"), newBackend(t, "web")
	tgAPI, tgWeb := httpGroup("tg/api", api), httpGroup("tg/web", web)
	p.SetTargetGroup(tgAPI)
	p.SetTargetGroup(tgWeb)
	rules := []Rule{
		defaultRule(forwardTo(tgWeb.ARN)),
		{ARN: "api", Priority: 10, Conditions: []Condition{
			{Field: FieldHostHeader, Values: []string{"api.*"}},
			{Field: FieldHTTPHeader, HTTPHeaderName: "X-Version", Values: []string{"2*"}},
		}, Actions: []Action{forwardTo(tgAPI.ARN)}},
	}
	base := bind(t, p, albListener("listener/routing", rules...))
	c := newClient()
	do := func(host, version string) string {
		r, _ := http.NewRequest(http.MethodGet, base+"/", nil)
		r.Host = host
		if version != "" {
			r.Header.Set("X-Version", version)
		}
		resp, err := c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := do("api.example.com", "2.1"); got != "api" {
		t.Errorf("api host with version 2.1 went to %q; want api", got)
	}
	if got := do("api.example.com", "1.0"); got != "web" {
		t.Errorf("api host with version 1.0 went to %q; want web (not every condition matches)", got)
	}
	if got := do("www.example.com", "2.0"); got != "web" {
		t.Errorf("www host went to %q; want web", got)
	}
}

func TestHTTP2ClientPriorKnowledge(t *testing.T) {
	p := testPlane(t, Config{})
	a := newBackend(t, "a")
	a.handler = http.HandlerFunc(echoHandler)
	tg := httpGroup("tg/h2c", a)
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/h2c", defaultRule(forwardTo(tg.ARN))))

	var ps http.Protocols
	ps.SetUnencryptedHTTP2(true)
	c := &http.Client{Transport: &http.Transport{Protocols: &ps}}
	resp, err := c.Get(base + "/h2")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e echoed
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	if resp.Proto != "HTTP/2.0" {
		t.Errorf("client got %s; want HTTP/2.0 (h2c prior knowledge)", resp.Proto)
	}
	if e.Proto != "HTTP/1.1" || e.URI != "/h2" {
		t.Errorf("target got %s %s; want HTTP/1.1 /h2", e.Proto, e.URI)
	}
}

func TestHTTP2Targets(t *testing.T) {
	p := testPlane(t, Config{})
	var ps http.Protocols
	ps.SetUnencryptedHTTP2(true)
	h2 := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "Grpc-Status")
		_, _ = fmt.Fprintf(w, "%s", r.Proto)
		w.Header().Set("Grpc-Status", "0")
	}))
	h2.Config.Protocols = &ps
	h2.Start()
	t.Cleanup(h2.Close)
	tg := TargetGroup{ARN: "tg/h2", Protocol: "HTTP", ProtocolVersion: "HTTP2", Targets: []Target{addrTarget(t, h2.Listener.Addr().String())}, HealthCheck: fastHealth()}
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/h2", defaultRule(forwardTo(tg.ARN))))
	waitState(t, p, tg.ARN, tg.Targets[0], StateHealthy) // the checks speak h2c too
	resp, err := newClient().Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "HTTP/2.0" {
		t.Errorf("target saw %q; want HTTP/2.0", b)
	}
	if got := resp.Trailer.Get("Grpc-Status"); got != "0" {
		t.Errorf("trailer Grpc-Status = %q; want 0 passed through", got)
	}
}

func TestWebSocketUpgrade(t *testing.T) {
	p := testPlane(t, Config{})
	a := newBackend(t, "a")
	a.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "want Upgrade: echo", http.StatusBadRequest)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		_ = brw.Flush()
		line, _ := brw.ReadString('\n')
		_, _ = brw.WriteString("echo: " + line)
		_ = brw.Flush()
	})
	tg := httpGroup("tg/ws", a)
	p.SetTargetGroup(tg)
	base := bind(t, p, albListener("listener/ws", defaultRule(forwardTo(tg.ARN))))

	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade = %d; want 101", resp.StatusCode)
	}
	_, _ = io.WriteString(c, "hello\n")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := br.ReadString('\n')
	if err != nil || line != "echo: hello\n" {
		t.Errorf("after the upgrade read %q, %v; want \"echo: hello\\n\"", line, err)
	}
}

// rawServer serves each connection with fn and returns its address.
func rawServer(t *testing.T, fn func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fn(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestXForwardedForModes checks the load balancer's
// routing.http.xff_header_processing.mode and xff_client_port.enabled on
// both paths a request can take: the HTTP/1.1 fast path and net/http
// (HTTP/1.0 here).
func TestXForwardedForModes(t *testing.T) {
	p := testPlane(t, Config{})
	a := newBackend(t, "a")
	a.handler = http.HandlerFunc(echoHandler)
	tg := httpGroup("tg/xff", a)
	p.SetTargetGroup(tg)

	tests := []struct {
		name       string
		mode       string
		clientPort bool
		sent       string // the client's X-Forwarded-For; "" for none
		want       string // what the target gets; "" for no header
		wantPort   bool   // want ends with 127.0.0.1:<the client's port>
	}{
		{"append by default", "", false, "192.0.2.1", "192.0.2.1, 127.0.0.1", false},
		{"append", "append", false, "", "127.0.0.1", false},
		{"append with the client port", "append", true, "192.0.2.1", "192.0.2.1, 127.0.0.1:", true},
		{"preserve", "preserve", false, "192.0.2.1", "192.0.2.1", false},
		{"preserve without one", "preserve", false, "", "", false},
		{"remove", "remove", false, "192.0.2.1", "", false},
	}
	for i, tc := range tests {
		l := albListener(fmt.Sprintf("listener/xff-%d", i), defaultRule(forwardTo(tg.ARN)))
		l.XFFMode, l.XFFClientPort = tc.mode, tc.clientPort
		base := bind(t, p, l)
		for _, proto := range []string{"HTTP/1.1", "HTTP/1.0"} {
			rc := dialRaw(t, base)
			req := "GET /x " + proto + "\r\nHost: app.example\r\n"
			if tc.sent != "" {
				req += "X-Forwarded-For: " + tc.sent + "\r\n"
			}
			rc.send(req + "\r\n")
			_, body := rc.response("GET")
			var e echoed
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("%s over %s: target answer %q: %v", tc.name, proto, body, err)
			}
			got, present := e.Header["X-Forwarded-For"]
			want := tc.want
			if tc.wantPort {
				_, cport, _ := net.SplitHostPort(rc.c.LocalAddr().String())
				want += cport
			}
			switch {
			case want == "" && present:
				t.Errorf("%s over %s: X-Forwarded-For = %q; want none", tc.name, proto, got)
			case want != "" && (len(got) != 1 || got[0] != want):
				t.Errorf("%s over %s: X-Forwarded-For = %q; want %q", tc.name, proto, got, want)
			}
		}
	}
}
