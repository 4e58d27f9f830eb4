package pattern

import (
	"errors"
	"strings"
	"testing"
)

// The JSON log events of the CloudWatch Logs documentation's examples.
const (
	trailEvent = `{
  "eventType": "UpdateTrail",
  "sourceIPAddress": "111.111.111.111",
  "arrayKey": ["value", "another value"],
  "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
  "SomeObject": null,
  "ThisFlag": true
}`
	usersEvent = `{
  "user": {"id": 1, "email": "John.Stiles@example.com"},
  "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
  "actions": ["GET", "PUT", "DELETE"],
  "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]]
}`
	metricsEvent = `{"latency": 550, "numbers": [3, 0.002], "errorCode": 400, "status": "400", "processes": [{}, {}, {}, {}, {"averageRuntime": 55.5}], "level": "error", "@timestamp": "2024-01-02"}`
	apacheLine   = `127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534`
	apache404    = `127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534`
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		msg     string
		want    bool
	}{
		// Terms: every term must appear, as a substring, case-sensitively.
		{"", "anything", true},
		{"   ", "anything", true},
		{`""`, "anything", true},
		{"ERROR", "[ERROR] A fatal exception has occurred", true},
		{"ERROR", "Exiting with ERRORCODE: -1", true},
		{"ERROR", "error: lower case", false},
		{"ERROR Exception", "[ERROR] Caught IllegalArgumentException", true},
		{"ERROR Exception", "[ERROR] Unhandled failure", false},
		{"Failed to process the request", "[WARN] Failed to process the request", true},
		{"Failed to process the request", "[WARN] request failed to process", false},
		{`"ERROR" -"Exiting"`, "Exiting with ERRORCODE: -1", false},
		{`"ERROR" -"Exiting"`, "[ERROR] A fatal exception has occurred", true},
		// The OR examples: ?ERROR ?WARN, ERROR WARN, ERROR -WARN.
		{"ERROR", "ERROR WARN message", true},
		{"ERROR", "WARN message", false},
		{"?ERROR ?WARN", "ERROR message", true},
		{"?ERROR ?WARN", "WARN message", true},
		{"?ERROR ?WARN", "INFO message", false},
		{"ERROR WARN", "ERROR message", false},
		{"ERROR WARN", "ERROR WARN message", true},
		{"ERROR -WARN", "ERROR message", true},
		{"ERROR -WARN", "ERROR WARN message", false},
		{"-DEBUG", "INFO started", true},
		{"-DEBUG", "DEBUG started", false},
		{"ERROR ?db ?cache", "ERROR in cache", true},
		{"ERROR ?db ?cache", "ERROR in queue", false},
		{`"ERROR 404"`, "got ERROR 404 from upstream", true},
		{`"ERROR 404"`, "got ERROR 500 404", false},
		{`"say \"hi\""`, `they say "hi" twice`, true},
		{`?"connection reset" ?timeout`, "read: connection reset by peer", true},
		// A - inside a bare word starts an excluded term, as in CloudWatch Logs.
		{"request-id", "request without it", true},
		{"request-id", "request-id 7", false},
		{`"request-id"`, "request-id 7", true},

		// JSON: the documentation's examples.
		{`{ $.eventType = "UpdateTrail" }`, trailEvent, true},
		{`{ $.eventType = "CreateTrail" }`, trailEvent, false},
		{`{$.eventType=UpdateTrail}`, trailEvent, true},
		{`{ $.sourceIPAddress != 123.123.* }`, trailEvent, true},
		{`{ $.sourceIPAddress != 111.111.* }`, trailEvent, false},
		{`{ $.sourceIPAddress = 111.111.* }`, trailEvent, true},
		{`{ $.eventType = Update* }`, trailEvent, true},
		{`{ $.eventType = *Trail }`, trailEvent, true},
		{`{ $.eventType = *dateTr* }`, trailEvent, true},
		{`{ $.eventType = Up*ail }`, trailEvent, false}, // an inner * is literal
		{`{ $.eventType = * }`, trailEvent, true},
		{`{ $.missing = * }`, trailEvent, false},
		{`{ $.arrayKey[0] = "value" }`, trailEvent, true},
		{`{ $.arrayKey[1] = "value" }`, trailEvent, false},
		{`{ $.arrayKey[2] = "value" }`, trailEvent, false},
		{`{ $.objectList[1].id = 2 }`, trailEvent, true},
		{`{ $.objectList[0].id = 2 }`, trailEvent, false},
		{`{ $.eventType[0] = "U" }`, trailEvent, false}, // not an array
		{`{ $.SomeObject IS NULL }`, trailEvent, true},
		{`{ $.eventType IS NULL }`, trailEvent, false},
		{`{ $.Nothing IS NULL }`, trailEvent, false},
		{`{ $.SomeOtherObject NOT EXISTS }`, trailEvent, true},
		{`{ $.SomeObject NOT EXISTS }`, trailEvent, false},
		{`{ $.ThisFlag IS TRUE }`, trailEvent, true},
		{`{ $.ThisFlag IS FALSE }`, trailEvent, false},
		{`{ $.ThisFlag is true }`, trailEvent, true},
		{`{ $.ThisFlag = true }`, trailEvent, true},
		{`{ $.arrayKey = "value" }`, trailEvent, false},  // an array is not a value
		{`{ $.arrayKey != "value" }`, trailEvent, false}, // nor for !=
		{`{ $.SomeObject != "x" }`, trailEvent, false},
		{`{ $.missing != "x" }`, trailEvent, false},
		// Compound conditions: () > && > ||.
		{`{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }`, usersEvent, true},
		{`{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }`, usersEvent, false},
		{`{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }`, usersEvent, true},
		{`{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }`, usersEvent, false},
		{`{ $.coordinates[1][2] = 6 }`, usersEvent, true},
		{`{ $.actions[1] = "PUT" && ($.user.id = 7 || $.users[1].id >= 3) }`, usersEvent, true},
		// Numeric comparisons.
		{`{ $.latency >= 500 }`, metricsEvent, true},
		{`{ $.latency > 550 }`, metricsEvent, false},
		{`{ $.latency <= 550 }`, metricsEvent, true},
		{`{ $.latency < 550 }`, metricsEvent, false},
		{`{ $.latency > +1000 }`, metricsEvent, false},
		{`{ $.numbers[0] < 10e3 }`, metricsEvent, true},
		{`{ $.numbers[1] < 10e-3 }`, metricsEvent, true},
		{`{ $.numbers[1] > 10e-3 }`, metricsEvent, false},
		{`{ $.processes[4].averageRuntime <= 55.5 }`, metricsEvent, true},
		{`{ $.errorCode = 400 }`, metricsEvent, true},
		{`{ $.errorCode = 400.0 }`, metricsEvent, true},
		{`{ $.errorCode != 500 }`, metricsEvent, true},
		{`{ $.errorCode != 400 }`, metricsEvent, false},
		{`{ $.status = 400 }`, metricsEvent, true},  // a string compared by its text
		{`{ $.status > 300 }`, metricsEvent, false}, // ordering needs a number
		{`{ $.level = %err.r% }`, metricsEvent, true},
		{`{ $.level = %^warn% }`, metricsEvent, false},
		{`{ $.@timestamp = "2024-*" }`, metricsEvent, true},
		// A JSON pattern never matches a message that is not JSON.
		{`{ $.level = * }`, "level=error", false},
		{`{ $.level = * }`, `{"level": "error"`, false},
		{`{ $[1] = "b" }`, `["a", "b"]`, true},

		// Space-delimited.
		{`[ip, user, username, timestamp, request, status_code, bytes]`, apacheLine, true},
		{`[ip, user, username, timestamp, request, status_code]`, apacheLine, false},
		{`[..., status_code, bytes]`, apacheLine, true},
		{`[ip, user, ..., status_code, bytes]`, apacheLine, true},
		{`[ip, user, ...]`, apacheLine, true},
		{`[..., status_code = 200, bytes]`, apacheLine, true},
		{`[..., status_code = 200, bytes]`, apache404, false},
		{`[ip, user, username, timestamp, request, status_code = 4*, bytes]`, apache404, true},
		{`[ip, user, username, timestamp, request, status_code = 4*, bytes]`, apacheLine, false},
		{`[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]`, apache404, true},
		{`[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]`, apacheLine, false},
		{`[..., request=*.html*, status_code=4*,]`, apache404, true},
		{`[ip, user, username, timestamp, request, status_code, bytes > 1000]`, apacheLine, true},
		{`[ip, user, username, timestamp, request, status_code, bytes > 2000]`, apacheLine, false},
		{`[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]`, apache404, true},
		{`[ip, user, username, timestamp = "10/Oct/2000:13:25:15 -0700", ...]`, apacheLine, true},
		{`[w1=ERROR, w2]`, "ERROR message", true},
		{`[w1=ERROR, w2]`, "WARN message", false},
		{`[w1=ERROR || w1=WARN, w2]`, "WARN message", true},
		{`[w1=ERROR || w1=WARN, w2]`, "INFO message", false},
		{`[w1!=ERROR && w1!=WARN, w2]`, "INFO message", true},
		{`[w1!=ERROR && w1!=WARN, w2]`, "WARN message", false},
		{`[a, ..., b, ...]`, "x y z", true},
		{`[a, , c]`, "x y z", true},
		{`[a, , c]`, "x y", false},
		{`[a, ..., b, c, d]`, "x y", false},

		// Standalone regular expressions.
		{`%ERROR|WARN%`, "a WARN line", true},
		{`%ERROR|WARN%`, "an INFO line", false},
		{`%colou?r%`, "the color red", true},
		{`%^\[INFO\]%`, "[INFO] up", true},
		{`%^\[INFO\]%`, "x [INFO] up", false},
	} {
		p, err := Parse(tc.pattern)
		if err != nil {
			t.Errorf("Parse(%q) = %v; want a pattern", tc.pattern, err)
			continue
		}
		if got := p.MatchString(tc.msg); got != tc.want {
			t.Errorf("Parse(%q).Match(%q) = %v; want %v", tc.pattern, tc.msg, got, tc.want)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, pattern := range []string{
		`"unterminated`,
		`ERROR -`,
		`?`,
		`a--b`,
		`{ $.a = 1`,
		`{ }`,
		`{ a = 1 }`,
		`{ $.a }`,
		`{ $.a == }`,
		`{ $.a = }`,
		`{ $.a > abc }`,
		`{ $.a < "x" }`,
		`{ $.a = 1 && }`,
		`{ ($.a = 1 }`,
		`{ $.a = 1 ) }`,
		`{ $.a IS MAYBE }`,
		`{ $.a NOT THERE }`,
		`{ $. = 1 }`,
		`{ $.a[x] = 1 }`,
		`{ $.a[1 = 1 }`,
		`{ $.a = "x }`,
		`{ $.a = %abc }`,
		`{ $.a = %(ab)% }`,
		`{ $.a = 1 } trailing`,
		`[a, b`,
		`[]`,
		`[ ]`,
		`[a = ]`,
		`[a > x]`,
		`[a = 1 && b = 2]`,
		`[a = "x]`,
		`[a b]`,
		`%abc`,
		`%%`,
		`%a(b)c%`,
		`%é%`,
		`%a!b%`,
		strings.Repeat("a", MaxLength+1),
		"\xff",
		"{" + strings.Repeat("(", maxDepth+1) + "$.a = 1" + strings.Repeat(")", maxDepth+1) + "}",
	} {
		p, err := Parse(pattern)
		if err == nil {
			t.Errorf("Parse(%q) = %v; want an error", pattern, p)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error = %T %v; want *SyntaxError", pattern, err, err)
		}
	}
}

func TestMatchesAll(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    bool
	}{{"", true}, {"  ", true}, {"ERROR", false}, {`{ $.a = * }`, false}} {
		p, err := Parse(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.MatchesAll(); got != tc.want {
			t.Errorf("Parse(%q).MatchesAll() = %v; want %v", tc.pattern, got, tc.want)
		}
	}
}

func TestZeroPatternMatchesAll(t *testing.T) {
	var p Pattern
	if !p.MatchesAll() || !p.MatchString("x") {
		t.Errorf("the zero Pattern: MatchesAll = %v, Match = %v; want both true", p.MatchesAll(), p.MatchString("x"))
	}
}

func TestSplitFields(t *testing.T) {
	got := splitFields(apacheLine)
	want := []string{"127.0.0.1", "-", "frank", "10/Oct/2000:13:25:15 -0700", "GET /apache_pb.gif HTTP/1.0", "200", "1534"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("splitFields(%q) = %q; want %q", apacheLine, got, want)
	}
	if got := splitFields(`a "unterminated b`); len(got) != 3 {
		t.Errorf(`splitFields("a \"unterminated b") = %q; want 3 fields`, got)
	}
}

var fuzzMessages = []string{"", "ERROR x", trailEvent, usersEvent, metricsEvent, apacheLine, `[1,2,{"a":null}]`, "{", `"q" [b] c`}

// FuzzParse checks that no pattern makes Parse or Match panic, and that
// every pattern that parses parses again from its own text to a pattern
// that judges the sample messages the same way.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "ERROR", `?a -b "c d"`, `{ $.a = 1 }`, `{ ($.a[0].b != "x*" || $.c IS NULL) && $.d NOT EXISTS }`,
		`{ $.a = %ab+c% }`, `[a, ..., b = 4* && b != 403, c > 10]`, `%x|y%`, `[..., x,]`, `{ $.n >= -1.5e3 }`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(p.String())
		if err != nil {
			t.Fatalf("Parse(%q) ok, but Parse(String()) = %v", s, err)
		}
		for _, m := range fuzzMessages {
			if p.MatchString(m) != again.MatchString(m) {
				t.Fatalf("Parse(%q) judges %q differently on a second parse", s, m)
			}
		}
	})
}
