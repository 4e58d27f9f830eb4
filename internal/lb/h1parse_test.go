package lb

import (
	"bufio"
	"bytes"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// parseHeads reads and parses the heads in s, one after another, on one
// reused h1Request as a connection does, and returns a copy of each.
func parseHeads(s string) ([]h1Request, error) {
	br := bufio.NewReader(strings.NewReader(s))
	var r h1Request
	var out []h1Request
	for {
		if _, err := br.Peek(1); err != nil {
			return out, nil
		}
		if err := r.read(br, maxLine, maxHead); err != nil {
			return out, err
		}
		if err := r.parse(); err != nil {
			return out, err
		}
		c := r
		c.raw = bytes.Clone(r.raw)
		out = append(out, c)
	}
}

// requestFields is what a parse yields, without the buffers.
func requestFields(r h1Request) h1Request {
	r.head, r.xffBuf = head{}, nil
	for i, tok := range r.connTokens {
		r.connTokens[i] = bytes.Clone(tok)
	}
	return r
}

func TestParseReusedRequest(t *testing.T) {
	// On a kept-alive connection the strings of the last request are
	// reused when the bytes repeat; a request must parse to the same
	// fields either way.
	heads := []string{
		"GET /a%20b?x=1 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /a%20b?x=1 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /a%20b?x=2 HTTP/1.1\r\nHost: h2\r\n\r\n",
		"POST /a%20b?x=2 HTTP/1.1\r\nHost: h2\r\nContent-Length: 0\r\n\r\n",
		"PUT /a%20b?x=2 HTTP/1.1\r\nHost: h2\r\nContent-Length: 3\r\nContent-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
		"POST /a%20b?x=2 HTTP/1.1\r\nHost: h2\r\nTransfer-Encoding: chunked\r\nTrailer: X-Check\r\n\r\n",
		"GET /a%20b?x=2 HTTP/1.0\r\nHost: h2\r\nConnection: keep-alive\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: \r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
	}
	got, err := parseHeads(strings.Join(heads, ""))
	if err != nil || len(got) != len(heads) {
		t.Fatalf("parseHeads = %d heads, %v; want %d, nil", len(got), err, len(heads))
	}
	for i, h := range heads {
		fresh, err := parseHeads(h)
		if err != nil || len(fresh) != 1 {
			t.Fatalf("parseHeads(%q) = %d heads, %v; want 1, nil", h, len(fresh), err)
		}
		if g, w := requestFields(got[i]), requestFields(fresh[0]); !reflect.DeepEqual(g, w) {
			t.Errorf("request %d (%q) after the others = %+v; alone %+v", i, h, g, w)
		}
	}
	if r := got[5]; r.close || r.expect100 || !r.chunked || r.contentLength != -1 || !got[4].close || !got[6].fallback {
		t.Errorf("request 5 after a closing one = close %v expect100 %v chunked %v length %d; want false false true -1", r.close, r.expect100, r.chunked, r.contentLength)
	}
	if got[1].path != "/a b" || got[1].rawQuery != "x=1" || got[2].host != "h2" {
		t.Errorf("requests 1 and 2 = path %q query %q, host %q; want /a b, x=1, h2", got[1].path, got[1].rawQuery, got[2].host)
	}
}

// FuzzParseRequest checks that parsing a head after another on the same
// connection gives what parsing it alone gives.
func FuzzParseRequest(f *testing.F) {
	f.Add("GET /p?q HTTP/1.1\r\nHost: a\r\n\r\n", "GET /p?q HTTP/1.1\r\nHost: a\r\n\r\n")
	f.Add("GET /%41 HTTP/1.1\r\nHost: a\r\n\r\n", "GET /%41 HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\n")
	f.Add("GET / HTTP/1.1\r\nHost: a\r\nConnection: x, close\r\n\r\n", "PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
	f.Add("GET /a HTTP/1.0\r\nHost: a\r\n\r\n", "GET /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n")
	f.Fuzz(func(t *testing.T, a, b string) {
		if first, err := parseHeads(a); err != nil || len(first) != 1 {
			return // a is not exactly one request this path serves
		}
		alone, errAlone := parseHeads(b)
		after, errAfter := parseHeads(a + b)
		after = after[1:]
		if (errAlone == nil) != (errAfter == nil) || len(alone) != len(after) {
			t.Fatalf("parse(%q) after %q = %d heads, %v; alone %d, %v", b, a, len(after), errAfter, len(alone), errAlone)
		}
		for i := range alone {
			if g, w := requestFields(after[i]), requestFields(alone[i]); !reflect.DeepEqual(g, w) {
				t.Errorf("parse(%q) after %q = %+v; alone %+v", b, a, g, w)
			}
		}
	})
}

// traceIDField matches the id a proxy generates, in the first field.
var traceIDField = regexp.MustCompile(`^(Root|Self)=1-[0-9a-f]{8}-[0-9a-f]{24}`)

// FuzzAppendTraceID checks the fast path's trace id against traceID.
func FuzzAppendTraceID(f *testing.F) {
	f.Add("Root=1-67891233-abcdef012345678912345678;Sampled=1")
	f.Add("Sampled=1")
	f.Add("Self=1-1-1; Root=1-2-2 ;;Parent=3")
	f.Add("Self=x")
	f.Add(" ; ")
	f.Fuzz(func(t *testing.T, in string) {
		if in != strings.TrimSpace(in) || in == "" {
			return // the head parser trims values; empty means none
		}
		now := time.Unix(1700000000, 0)
		got := string(appendTraceID(nil, []byte(in), now))
		want := traceID(in, now)
		g, w := traceIDField.FindString(got), traceIDField.FindString(want)
		if g == "" || w == "" || g[:5] != w[:5] || got[len(g):] != want[len(w):] {
			t.Errorf("appendTraceID(%q) = %q; want the shape of traceID's %q", in, got, want)
		}
	})
}

func TestWriteRequestHead(t *testing.T) {
	const trace = "X-Amzn-Trace-Id: Root=1-"
	tests := []struct {
		name string
		xff  int
		in   string
		want string // the lines from X-Forwarded-For on, the trace id cut after "Root=1-"
	}{
		{"no xff", xffAppend, "", "X-Forwarded-For: 10.0.0.9|" + trace},
		{"one xff", xffAppend, "X-Forwarded-For: 1.1.1.1\r\n", "X-Forwarded-For: 1.1.1.1, 10.0.0.9|" + trace},
		{"three xff", xffAppend, "X-Forwarded-For: 1.1.1.1\r\nX-A: b\r\nx-forwarded-for: 2.2.2.2, 3.3.3.3\r\nX-Forwarded-For: 4.4.4.4\r\n",
			"X-A: b|X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4, 10.0.0.9|" + trace},
		{"empty first xff", xffAppend, "X-Forwarded-For:\r\nX-Forwarded-For: 1.1.1.1\r\n", "X-Forwarded-For: 1.1.1.1, 10.0.0.9|" + trace},
		{"empty second xff", xffAppend, "X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For:\r\n", "X-Forwarded-For: 1.1.1.1, , 10.0.0.9|" + trace},
		{"preserve", xffPreserve, "X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n", "X-Forwarded-For: 1.1.1.1, 2.2.2.2|" + trace},
		{"preserve none", xffPreserve, "", trace},
		{"remove", xffRemove, "X-Forwarded-For: 1.1.1.1\r\n", trace},
		{"length", xffRemove, "Content-Length: 12345\r\n", trace + "|Content-Length: 12345"},
		{"chunked", xffRemove, "Transfer-Encoding: chunked\r\n", trace + "|Transfer-Encoding: chunked"},
	}
	cfg := &httpConfig{proto: "http", portStr: "80"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Twice on one request, as on a kept-alive connection.
			head := "POST /p HTTP/1.1\r\nHost: h\r\n" + tt.in + "\r\n"
			br := bufio.NewReader(strings.NewReader(head + head))
			var r h1Request
			for range 2 {
				if err := r.read(br, maxLine, maxHead); err != nil {
					t.Fatal(err)
				}
				if err := r.parse(); err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				w := bufio.NewWriter(&out)
				c := *cfg
				c.xff = tt.xff
				writeRequestHead(w, &r, &c, "10.0.0.9")
				_ = w.Flush()
				got := out.String()
				want := "POST /p HTTP/1.1\r\nHost: h\r\n" + strings.ReplaceAll(tt.want, "|", "\r\n")
				// Cut out the generated id and the fixed lines.
				if i := strings.Index(got, trace); i >= 0 {
					got = got[:i+len(trace)] + got[i+len(trace)+len("xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx\r\n")-2:]
				}
				got = strings.Replace(got, "X-Forwarded-Proto: http\r\nX-Forwarded-Port: 80\r\n", "", 1)
				got = strings.TrimSuffix(got, "\r\n\r\n")
				if got != want {
					t.Errorf("writeRequestHead(%q) =\n%q\nwant\n%q", head, got, want)
				}
			}
		})
	}
}
