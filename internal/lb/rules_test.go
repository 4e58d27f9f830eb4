package lb

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/errdefs"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern string
		fold    bool
		escapes bool
		s       string
		want    bool
	}{
		{"example.com", true, false, "example.com", true},
		{"example.com", true, false, "EXAMPLE.com", true},
		{"example.com", false, false, "EXAMPLE.com", false},
		{"*.example.com", true, false, "test.example.com", true},
		{"*.example.com", true, false, "a.b.example.com", true},
		{"*.example.com", true, false, "example.com", false}, // ALB's own example
		{"?.example.com", true, false, "a.example.com", true},
		{"?.example.com", true, false, "ab.example.com", false},
		{"/img/*", false, false, "/img/picture.jpg", true},
		{"/img/*", false, false, "/img/", true},
		{"/img/*", false, false, "/img", false},
		{"/IMG/*", false, false, "/img/a", false},
		{"*", false, false, "", true},
		{"", false, false, "", true},
		{"", false, false, "x", false},
		{"a*b*c", false, false, "abc", true},
		{"a*b*c", false, false, "aXbYc", true},
		{"a*b*c", false, false, "aXbYcZ", false},
		{"a*b*c", false, false, "acb", false},
		{"*a*a*", false, false, "aa", true},
		{"*a*a*", false, false, "a", false},
		{"a?c", false, false, "aéc", true}, // '?' is one character, not one byte
		{"*é", false, false, "caféé", true},
		{"**", false, false, "anything", true},
		{"a\\*", false, true, "a*", true},
		{"a\\*", false, true, "ab", false},
		{"a\\*", false, false, "a\\zz", true}, // without escapes a backslash is literal
		{"v?", true, true, "V1", true},
		{"*Chrome*", true, false, "Mozilla/5.0 chrome/120", true},
	}
	for _, tt := range tests {
		g := compileGlob(tt.pattern, tt.fold, tt.escapes)
		if got := g.match(tt.s); got != tt.want {
			t.Errorf("glob(%q, fold=%v, escapes=%v).match(%q) = %v; want %v", tt.pattern, tt.fold, tt.escapes, tt.s, got, tt.want)
		}
	}
}

func TestConditions(t *testing.T) {
	req := func(method, target, remote string, hdr ...string) *http.Request {
		r := httptest.NewRequest(method, target, nil)
		r.RemoteAddr = remote
		for i := 0; i+1 < len(hdr); i += 2 {
			if strings.EqualFold(hdr[i], "Host") {
				r.Host = hdr[i+1]
				continue
			}
			r.Header.Add(hdr[i], hdr[i+1])
		}
		return r
	}
	const remote = "10.1.2.3:5555"
	tests := []struct {
		name string
		cond Condition
		r    *http.Request
		want bool
	}{
		{"host exact", Condition{Field: FieldHostHeader, Values: []string{"api.example.com"}}, req("GET", "/", remote, "Host", "api.example.com"), true},
		{"host case-insensitive", Condition{Field: FieldHostHeader, Values: []string{"API.example.com"}}, req("GET", "/", remote, "Host", "api.EXAMPLE.com"), true},
		{"host port ignored", Condition{Field: FieldHostHeader, Values: []string{"api.example.com"}}, req("GET", "/", remote, "Host", "api.example.com:8080"), true},
		{"host wildcard", Condition{Field: FieldHostHeader, Values: []string{"*.example.com"}}, req("GET", "/", remote, "Host", "x.example.com"), true},
		{"host any of values", Condition{Field: FieldHostHeader, Values: []string{"a.com", "b.com"}}, req("GET", "/", remote, "Host", "b.com"), true},
		{"host mismatch", Condition{Field: FieldHostHeader, Values: []string{"*.example.com"}}, req("GET", "/", remote, "Host", "example.com"), false},
		{"path wildcard", Condition{Field: FieldPathPattern, Values: []string{"/api/*"}}, req("GET", "/api/v1/users?x=1", remote), true},
		{"path case-sensitive", Condition{Field: FieldPathPattern, Values: []string{"/API/*"}}, req("GET", "/api/v1", remote), false},
		{"path ignores query", Condition{Field: FieldPathPattern, Values: []string{"/a"}}, req("GET", "/a?b=c", remote), true},
		{"path question mark", Condition{Field: FieldPathPattern, Values: []string{"/v?/x"}}, req("GET", "/v2/x", remote), true},
		{"header name case-insensitive", Condition{Field: FieldHTTPHeader, HTTPHeaderName: "user-agent", Values: []string{"*Chrome*"}}, req("GET", "/", remote, "User-Agent", "Mozilla Chrome/1"), true},
		{"header value case-insensitive", Condition{Field: FieldHTTPHeader, HTTPHeaderName: "X-Env", Values: []string{"PROD"}}, req("GET", "/", remote, "X-Env", "prod"), true},
		{"header any line", Condition{Field: FieldHTTPHeader, HTTPHeaderName: "X-Env", Values: []string{"b"}}, req("GET", "/", remote, "X-Env", "a", "X-Env", "b"), true},
		{"header absent", Condition{Field: FieldHTTPHeader, HTTPHeaderName: "X-Env", Values: []string{"*"}}, req("GET", "/", remote), false},
		{"header host", Condition{Field: FieldHTTPHeader, HTTPHeaderName: "Host", Values: []string{"h.example:1"}}, req("GET", "/", remote, "Host", "h.example:1"), true},
		{"method", Condition{Field: FieldHTTPRequestMethod, Values: []string{"POST", "PUT"}}, req("PUT", "/", remote), true},
		{"method custom", Condition{Field: FieldHTTPRequestMethod, Values: []string{"CUSTOM-METHOD"}}, req("CUSTOM-METHOD", "/", remote), true},
		{"method case-sensitive", Condition{Field: FieldHTTPRequestMethod, Values: []string{"get"}}, req("GET", "/", remote), false},
		{"query pair", Condition{Field: FieldQueryString, QueryStrings: []KeyValue{{"version", "v1"}}}, req("GET", "/?a=b&version=v1", remote), true},
		{"query pair case-insensitive", Condition{Field: FieldQueryString, QueryStrings: []KeyValue{{"Version", "V1"}}}, req("GET", "/?version=v1", remote), true},
		{"query value any key", Condition{Field: FieldQueryString, QueryStrings: []KeyValue{{"", "example"}}}, req("GET", "/?x=example", remote), true},
		{"query wildcard", Condition{Field: FieldQueryString, QueryStrings: []KeyValue{{"v*", "?"}}}, req("GET", "/?vv=2", remote), true},
		{"query any pair matches", Condition{Field: FieldQueryString, QueryStrings: []KeyValue{{"a", "1"}, {"b", "2"}}}, req("GET", "/?b=2", remote), true},
		{"query decoded", Condition{Field: FieldQueryString, QueryStrings: []KeyValue{{"q", "a b"}}}, req("GET", "/?q=a%20b", remote), true},
		{"query escaped star", Condition{Field: FieldQueryString, QueryStrings: []KeyValue{{"q", `\*`}}}, req("GET", "/?q=x", remote), false},
		{"query literal star", Condition{Field: FieldQueryString, QueryStrings: []KeyValue{{"q", `\*`}}}, req("GET", "/?q=*", remote), true},
		{"query no match", Condition{Field: FieldQueryString, QueryStrings: []KeyValue{{"version", "v1"}}}, req("GET", "/?version=v2", remote), false},
		{"query key without value", Condition{Field: FieldQueryString, QueryStrings: []KeyValue{{"flag", ""}}}, req("GET", "/?flag", remote), true},
		{"source ip", Condition{Field: FieldSourceIP, Values: []string{"10.1.0.0/16"}}, req("GET", "/", remote), true},
		{"source ip second block", Condition{Field: FieldSourceIP, Values: []string{"192.0.2.0/24", "10.1.2.3/32"}}, req("GET", "/", remote), true},
		{"source ip outside", Condition{Field: FieldSourceIP, Values: []string{"192.0.2.0/24"}}, req("GET", "/", remote), false},
		{"source ip not X-Forwarded-For", Condition{Field: FieldSourceIP, Values: []string{"192.0.2.0/24"}}, req("GET", "/", remote, "X-Forwarded-For", "192.0.2.1"), false},
		{"source ipv6", Condition{Field: FieldSourceIP, Values: []string{"2001:db8::/32"}}, req("GET", "/", "[2001:db8::1]:5555"), true},
		{"source ipv4-mapped", Condition{Field: FieldSourceIP, Values: []string{"10.0.0.0/8"}}, req("GET", "/", "[::ffff:10.9.9.9]:5555"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := compileCondition(tt.cond)
			if err != nil {
				t.Fatalf("compileCondition(%+v) = %v", tt.cond, err)
			}
			ri := newReqInfo(tt.r)
			ri.clientAddr, _ = netipAddrPort(tt.r.RemoteAddr)
			if got := c.match(&ri); got != tt.want {
				t.Errorf("condition %+v on %s %s (remote %s, headers %v) = %v; want %v", tt.cond, tt.r.Method, tt.r.URL, tt.r.RemoteAddr, tt.r.Header, got, tt.want)
			}
		})
	}
}

func TestRuleOrder(t *testing.T) {
	fixed := func(body string) []Action {
		return []Action{{Type: ActionFixedResponse, FixedResponse: &FixedResponse{StatusCode: "200", MessageBody: body}}}
	}
	rules := []Rule{
		{ARN: "default", IsDefault: true, Priority: 0, Actions: fixed("default")},
		{ARN: "p20", Priority: 20, Conditions: []Condition{{Field: FieldPathPattern, Values: []string{"/api/*"}}}, Actions: fixed("p20")},
		{ARN: "p10", Priority: 10, Conditions: []Condition{
			{Field: FieldPathPattern, Values: []string{"/api/*"}},
			{Field: FieldHTTPRequestMethod, Values: []string{"POST"}},
		}, Actions: fixed("p10")},
		{ARN: "p5", Priority: 5, Conditions: []Condition{{Field: FieldHostHeader, Values: []string{"admin.example.com"}}}, Actions: fixed("p5")},
	}
	compiled, err := compileRules(rules, func(string) *group { return nil })
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, target, host string
		want                 string
	}{
		{"POST", "/api/x", "www.example.com", "p10"}, // both p10 and p20 match: the lower priority wins
		{"GET", "/api/x", "www.example.com", "p20"},  // p10 needs every condition
		{"POST", "/api/x", "admin.example.com", "p5"},
		{"GET", "/other", "www.example.com", "default"}, // the default rule comes last whatever its priority
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.target, nil)
		r.Host = tt.host
		ri := newReqInfo(r)
		got := matchRule(compiled, &ri)
		if got == nil || got.arn != tt.want {
			name := "<nil>"
			if got != nil {
				name = got.arn
			}
			t.Errorf("matchRule(%s %s host %s) = %s; want %s", tt.method, tt.target, tt.host, name, tt.want)
		}
	}
}

func TestCompileRulesErrors(t *testing.T) {
	fwd := []Action{forwardTo("tg")}
	def := Rule{ARN: "d", IsDefault: true, Actions: fwd}
	tests := []struct {
		name  string
		rules []Rule
		want  string
	}{
		{"no default", []Rule{{ARN: "r", Priority: 1, Actions: fwd}}, "no default rule"},
		{"two defaults", []Rule{def, def}, "more than one default rule"},
		{"same priority", []Rule{def, {ARN: "a", Priority: 3, Actions: fwd}, {ARN: "b", Priority: 3, Actions: fwd}}, "same priority 3"},
		{"default with conditions", []Rule{{IsDefault: true, Actions: fwd, Conditions: []Condition{{Field: FieldPathPattern, Values: []string{"/"}}}}}, "default rule cannot have conditions"},
		{"unknown field", []Rule{def, {Priority: 1, Actions: fwd, Conditions: []Condition{{Field: "cookie", Values: []string{"x"}}}}}, `condition field "cookie" is not supported`},
		{"bad cidr", []Rule{def, {Priority: 1, Actions: fwd, Conditions: []Condition{{Field: FieldSourceIP, Values: []string{"10.0.0.0/33"}}}}}, "is not a CIDR block"},
		{"no values", []Rule{def, {Priority: 1, Actions: fwd, Conditions: []Condition{{Field: FieldPathPattern}}}}, "has no values"},
		{"header without name", []Rule{def, {Priority: 1, Actions: fwd, Conditions: []Condition{{Field: FieldHTTPHeader, Values: []string{"x"}}}}}, "no header name"},
		{"no actions", []Rule{{IsDefault: true}}, "rule has no actions"},
		{"authenticate first", []Rule{{IsDefault: true, Actions: []Action{{Type: "authenticate-oidc", Order: 1}, {Type: ActionForward, Order: 2, TargetGroups: []WeightedTargetGroup{{ARN: "tg"}}}}}}, `"authenticate-oidc" before the last action`},
		{"unknown action", []Rule{{IsDefault: true, Actions: []Action{{Type: "teleport"}}}}, `action type "teleport" is not supported`},
		{"redirect status", []Rule{{IsDefault: true, Actions: []Action{{Type: ActionRedirect, Redirect: &Redirect{StatusCode: "HTTP_307"}}}}}, "is not HTTP_301 or HTTP_302"},
		{"fixed status", []Rule{{IsDefault: true, Actions: []Action{{Type: ActionFixedResponse, FixedResponse: &FixedResponse{StatusCode: "99"}}}}}, "is not a 2XX"},
		{"forward nowhere", []Rule{{IsDefault: true, Actions: []Action{{Type: ActionForward}}}}, "no target group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compileRules(tt.rules, func(string) *group { return &group{} })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("compileRules(%s) = %v; want an error containing %q", tt.name, err, tt.want)
			}
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Errorf("compileRules(%s) error class: %v is not ErrInvalidArgument", tt.name, err)
			}
			if e, ok := errdefs.As(err); !ok || e.Reason != ReasonInvalidRule {
				t.Errorf("compileRules(%s) error reason = %+v; want %s", tt.name, e, ReasonInvalidRule)
			}
		})
	}
}

func TestRedirectLocation(t *testing.T) {
	tests := []struct {
		name   string
		r      Redirect
		target string
		host   string
		offset int
		want   string
	}{
		{"to https same host", Redirect{Protocol: "HTTPS", Port: "443", Host: "#{host}", Path: "/#{path}", Query: "#{query}", StatusCode: "HTTP_301"},
			"/a/b?x=1", "example.com", 0, "https://example.com:443/a/b?x=1"},
		{"defaults keep everything", Redirect{Query: "#{query}", StatusCode: "HTTP_302"}, "/a?b=c", "example.com:8080", 0, "http://example.com:8080/a?b=c"},
		{"new path prefix", Redirect{Path: "/new/#{path}", StatusCode: "HTTP_301"}, "/old", "example.com", 0, "http://example.com:8080/new/old"},
		{"fixed host and path", Redirect{Host: "www.example.org", Path: "/landing", Query: "from=#{host}", StatusCode: "HTTP_301"}, "/x?y=z", "example.com", 0, "http://www.example.org:8080/landing?from=example.com"},
		{"empty query drops ?", Redirect{StatusCode: "HTTP_301"}, "/p", "h.example", 0, "http://h.example:8080/p"},
		{"empty query drops the query", Redirect{Query: "", Path: "/#{path}", StatusCode: "HTTP_301"}, "/p?q=1", "h.example", 0, "http://h.example:8080/p"},
		{"literal port gets the offset", Redirect{Protocol: "HTTPS", Port: "443", StatusCode: "HTTP_301"}, "/", "h.example", 8000, "https://h.example:8443/"},
		{"placeholders in query", Redirect{Query: "p=#{path}&port=#{port}&proto=#{protocol}", StatusCode: "HTTP_301"}, "/a/b", "h.example", 0, "http://h.example:8080/a/b?p=a/b&port=8080&proto=http"},
		{"escaped path kept", Redirect{StatusCode: "HTTP_301"}, "/a%20b", "h.example", 0, "http://h.example:8080/a%20b"},
		{"ipv6 host", Redirect{StatusCode: "HTTP_301"}, "/", "[::1]:8080", 0, "http://[::1]:8080/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			act, err := compileRedirect(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", tt.target, nil)
			r.Host = tt.host
			ri := newReqInfo(r)
			if got := act.redir.location(&ri, "http", 8080, tt.offset); got != tt.want {
				t.Errorf("location(%+v, %s %s) = %q; want %q", tt.r, tt.host, tt.target, got, tt.want)
			}
		})
	}
}

func TestParseCIDR(t *testing.T) {
	tests := []struct {
		in   string
		want string
		bad  bool
	}{
		{"10.0.0.0/8", "10.0.0.0/8", false},
		{"10.1.2.3/8", "10.0.0.0/8", false},
		{"192.0.2.7", "192.0.2.7/32", false},
		{"2001:db8::/32", "2001:db8::/32", false},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8", false},
		{"10.0.0.0/40", "", true},
		{"nope", "", true},
	}
	for _, tt := range tests {
		p, err := parseCIDR(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("parseCIDR(%q) = %v; want an error", tt.in, p)
			}
			continue
		}
		if err != nil || p != netip.MustParsePrefix(tt.want) {
			t.Errorf("parseCIDR(%q) = %v, %v; want %s", tt.in, p, err, tt.want)
		}
	}
}

func TestTraceID(t *testing.T) {
	now := mustTime("2026-12-06T10:00:00Z")
	got := traceID("", now)
	if !traceRoot.MatchString(got) {
		t.Errorf("traceID(\"\") = %q; want Root=1-<8 hex>-<24 hex>", got)
	}
	if !strings.HasPrefix(got, "Root=1-6b153220-") {
		t.Errorf("traceID(\"\") = %q; want the epoch seconds 6b153220 in hex", got)
	}
	in := "Root=1-67891233-abcdef012345678912345678;Sampled=1"
	got = traceID(in, now)
	if !strings.HasPrefix(got, "Self=1-6b153220-") || !strings.HasSuffix(got, ";"+in) {
		t.Errorf("traceID(%q) = %q; want Self=... inserted before the request's fields", in, got)
	}
	got = traceID("Sampled=1", now)
	if !strings.HasPrefix(got, "Root=1-") || !strings.HasSuffix(got, ";Sampled=1") {
		t.Errorf("traceID(%q) = %q; want a new Root and the other fields kept", "Sampled=1", got)
	}
}
