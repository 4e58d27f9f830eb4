package lb

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzGlob checks the matcher against a regular expression built from the
// same pattern.
func FuzzGlob(f *testing.F) {
	f.Add("*.example.com", "api.example.com", true)
	f.Add("/img/*", "/img/a.png", false)
	f.Add("a*b*c", "aXbYc", false)
	f.Add("?", "é", false)
	f.Add(`a\*`, "a*", false)
	f.Fuzz(func(t *testing.T, pattern, s string, fold bool) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(s) || len(pattern) > 64 || len(s) > 256 {
			return
		}
		g := compileGlob(pattern, fold, false)
		got := g.match(s)
		var re strings.Builder
		re.WriteString(`(?s)^`)
		for _, r := range pattern {
			switch r {
			case '*':
				re.WriteString(`.*`)
			case '?':
				re.WriteString(`.`)
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re.WriteString(`$`)
		subject, expr := s, re.String()
		if fold {
			// ASCII-only folding, as the matcher does.
			subject, expr = asciiLower(s), asciiLower(expr)
		}
		want := regexp.MustCompile(expr).MatchString(subject)
		if got != want {
			t.Errorf("glob(%q, fold=%v).match(%q) = %v; regexp %q says %v", pattern, fold, s, got, expr, want)
		}
	})
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// FuzzParseMatcher: no panic; what parses matches exactly its codes.
func FuzzParseMatcher(f *testing.F) {
	for _, s := range []string{"200", "200-299", "200,202", "200, 300-399", "", "2xx", "299-200"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseMatcher(s)
		if err != nil {
			return
		}
		for _, r := range m {
			if r.lo < 100 || r.hi > 599 || r.lo > r.hi {
				t.Errorf("parseMatcher(%q) = range %d-%d; want within 100-599 and ordered", s, r.lo, r.hi)
			}
			if !m.match(r.lo) || !m.match(r.hi) {
				t.Errorf("parseMatcher(%q) does not match its own bounds %d-%d", s, r.lo, r.hi)
			}
		}
	})
}

// FuzzStickyCookie: arbitrary cookie values never decode into a valid
// value, and sealed values always round-trip.
func FuzzStickyCookie(f *testing.F) {
	cc, err := newCookieCodecKey(make([]byte, 32))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("", "10.0.0.1:80", int64(1_800_000_000))
	f.Add("AAAA", "", int64(0))
	f.Add(strings.Repeat("A", 2000), "x", int64(-1))
	f.Fuzz(func(t *testing.T, garbage, target string, exp int64) {
		if _, ok := cc.open(garbage); ok {
			t.Errorf("open(%q) = ok; want only sealed values to decode", garbage)
		}
		v := stickyValue{kind: stickyTarget, group: [8]byte{1, 2, 3}, expires: time.Unix(exp, 0), target: target}
		got, ok := cc.open(cc.seal(v))
		if len(target) <= 700 && (!ok || got.kind != v.kind || got.group != v.group || !got.expires.Equal(v.expires) || got.target != target) {
			t.Errorf("open(seal(%+v)) = %+v, %v; want the same value", v, got, ok)
		}
	})
}

// FuzzRules compiles arbitrary conditions and runs them on arbitrary
// requests: errors are fine, panics are not.
func FuzzRules(f *testing.F) {
	f.Add("host-header", "*.example.com", "", "GET", "/a?b=c", "api.example.com", "10.0.0.1:1")
	f.Add("query-string", `v\*`, "k", "POST", "/?k=v*", "h", "[::1]:2")
	f.Add("source-ip", "10.0.0.0/8", "", "GET", "/", "h", "10.1.1.1:3")
	f.Add("http-header", "*", "X-A", "GET", "/", "h", "bad")
	f.Add("path-pattern", "/x/*", "", "GET", "/x/%zz", "h", "1.2.3.4:5")
	f.Fuzz(func(t *testing.T, field, value, key, method, target, host, remote string) {
		c := Condition{Field: field, Values: []string{value}, HTTPHeaderName: key, QueryStrings: []KeyValue{{Key: key, Value: value}}}
		cc, err := compileCondition(c)
		if err != nil {
			return
		}
		path, query, _ := strings.Cut(target, "?")
		r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query}, Host: host, RemoteAddr: remote,
			Header: http.Header{"X-A": {value}}}
		ri := newReqInfo(r)
		ri.clientAddr, _ = netipAddrPort(remote)
		_ = cc.match(&ri)
	})
}

// FuzzRedirect builds Locations from arbitrary redirect fields and
// requests without panicking.
func FuzzRedirect(f *testing.F) {
	f.Add("HTTPS", "443", "#{host}", "/#{path}", "#{query}", "/a/b", "q=1", "example.com:80")
	f.Add("#{protocol}", "#{port}", "x#{host}", "/#{path}/#{path}", "", "/", "", "[::1]:8080")
	f.Fuzz(func(t *testing.T, proto, port, host, path, query, reqPath, rawQuery, reqHost string) {
		act, err := compileRedirect(Redirect{Protocol: proto, Port: port, Host: host, Path: path, Query: query, StatusCode: "HTTP_302"})
		if err != nil {
			return
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.Path = reqPath
		r.URL.RawQuery = rawQuery
		r.Host = reqHost
		ri := newReqInfo(r)
		loc := act.redir.location(&ri, "http", 8080, 1)
		if !strings.Contains(loc, "://") {
			t.Errorf("location = %q; want an absolute URL", loc)
		}
	})
}
