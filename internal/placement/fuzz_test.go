package placement

import (
	"errors"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzInstances are matched against every expression the fuzzer finds, to
// reach every subject and operator.
var fuzzInstances = []*Instance{
	nil,
	{},
	inst(),
	inst(connected(false), agentVersion("1.2"), tasks(0), groups(), ec2ID(""), registered("")),
	{
		EC2InstanceID:     "i-wxyx7890",
		AgentVersion:      "1.100.0-dev",
		RegisteredAt:      time.Date(2018, 2, 13, 0, 0, 0, 0, time.UTC),
		RunningTasksCount: 1,
		Attributes:        map[string]string{"x": "-1.5", "ecs.instance-type": "g2.2xlarge", "a": "", "é": "'\""},
		TaskGroups:        []string{"database", "service:production", ""},
	},
}

// FuzzParseExpr checks that ParseExpr never panics, fails only with a
// *SyntaxError that points into the expression, and that what it parses
// renders to a canonical form which parses to the same canonical form and
// the same matches. Seeds are in testdata/fuzz/FuzzParseExpr.
func FuzzParseExpr(f *testing.F) {
	for _, ex := range docExamples {
		f.Add(ex.expr)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpr(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseExpr(%q) = %v; want a *SyntaxError", s, err)
			}
			if se.Pos < 1 || se.Pos > utf8.RuneCountInString(s)+1 || se.Msg == "" {
				t.Fatalf("ParseExpr(%q) = SyntaxError{%d, %q}; want a message and a position in 1..%d", s, se.Pos, se.Msg, utf8.RuneCountInString(s)+1)
			}
			return
		}
		c := e.String()
		// The canonical form may be longer than the limit where s was near
		// it, so parse it without the limit.
		e2, err := parse(c)
		if err != nil {
			t.Fatalf("ParseExpr(%q).String() = %q, which does not parse: %v", s, c, err)
		}
		if c2 := e2.String(); c2 != c {
			t.Fatalf("ParseExpr(%q).String() = %q, which parses to %q", s, c, c2)
		}
		for _, i := range fuzzInstances {
			if got, want := e2.Match(i), e.Match(i); got != want {
				t.Fatalf("ParseExpr(%q).Match = %v but ParseExpr(%q).Match = %v", c, got, s, want)
			}
		}
	})
}
