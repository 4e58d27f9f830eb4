package elbv2

import (
	"strconv"
	"strings"
	"testing"
)

// rebuild formats r as the ARN parseARN read it from.
func rebuild(r arnRef) string {
	switch r.Kind {
	case kindTG:
		return tgARN(r.Region, r.Account, r.Name, r.ID)
	case kindLB:
		return lbARN(r.Region, r.Account, r.LBType, r.Name, r.ID)
	case kindListener:
		return listenerARN(r.Region, r.Account, r.LBType, r.Name, r.ID, r.ListenerID)
	}
	return ruleARN(r.Region, r.Account, r.LBType, r.Name, r.ID, r.ListenerID, r.RuleID)
}

func FuzzParseARN(f *testing.F) {
	f.Add("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/tg/0123456789abcdef")
	f.Add("arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/web/0123456789abcdef/0123456789abcdef")
	f.Add("arn:aws:ecs:us-east-1:000000000000:cluster/default")
	f.Fuzz(func(t *testing.T, s string) {
		r, ok := parseARN(s)
		if !ok {
			return
		}
		if got := rebuild(r); got != s {
			t.Fatalf("parseARN(%q) = %+v, which formats as %q", s, r, got)
		}
		if !validName(r.Name) || !validID(r.ID) || !validAccount(r.Account) {
			t.Fatalf("parseARN(%q) = %+v: accepted an invalid part", s, r)
		}
	})
}

func TestParseARN(t *testing.T) {
	tests := []struct {
		in   string
		kind string
		ok   bool
	}{
		{"arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/0123456789abcdef", kindLB, true},
		{"arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/net/web/0123456789abcdef", kindLB, true},
		{"arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/gwy/web/0123456789abcdef", "", false},
		{"arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/0123456789ABCDEF", "", false},
		{"arn:aws:elasticloadbalancing:us-east-1:00000000000:targetgroup/tg/0123456789abcdef", "", false},
		{"arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/-tg/0123456789abcdef", "", false},
		{"arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/tg/0123456789abcdef/x", "", false},
		{"arn:aws:elasticloadbalancing:us-east-1:000000000000:listener-rule/app/web/0123456789abcdef/0123456789abcdef/0123456789abcdef", kindRule, true},
		{"arn:aws:elasticloadbalancing::000000000000:targetgroup/tg/0123456789abcdef", "", false},
		{"web", "", false},
	}
	for _, tc := range tests {
		r, ok := parseARN(tc.in)
		if ok != tc.ok || r.Kind != tc.kind {
			t.Errorf("parseARN(%q) = %+v, %v; want kind %q, %v", tc.in, r, ok, tc.kind, tc.ok)
		}
	}
}

func FuzzParseMatcher(f *testing.F) {
	f.Add("200")
	f.Add("200,202")
	f.Add("200-299")
	f.Add("600")
	f.Add(",")
	f.Fuzz(func(t *testing.T, s string) {
		if err := parseMatcher(s, 200, 499); err != nil {
			return
		}
		for part := range strings.SplitSeq(s, ",") {
			for code := range strings.SplitSeq(part, "-") {
				n, err := strconv.Atoi(code)
				if err != nil || len(code) != 3 || n < 200 || n > 499 {
					t.Fatalf("parseMatcher(%q) accepted code %q", s, code)
				}
			}
		}
	})
}

func TestParseMatcher(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"200", true}, {"200,202", true}, {"200-299", true}, {"200-299,404", true},
		{"", false}, {"2xx", false}, {"600", false}, {"199", false}, {"299-200", false}, {"200-", false}, {"200,", false}, {"0200", false},
	}
	for _, tc := range tests {
		if err := parseMatcher(tc.in, 200, 499); (err == nil) != tc.ok {
			t.Errorf("parseMatcher(%q) = %v; want ok %v", tc.in, err, tc.ok)
		}
	}
}

func FuzzDecodeMarker(f *testing.F) {
	f.Add(*encodeMarker("web"))
	f.Add("")
	f.Add("e30")
	f.Fuzz(func(t *testing.T, s string) {
		after, err := decodeMarker(&s)
		if err != nil || s == "" {
			return
		}
		if again, err := decodeMarker(encodeMarker(after)); err != nil || again != after {
			t.Fatalf("marker %q -> %q does not round-trip: %q, %v", s, after, again, err)
		}
	})
}

func FuzzConditionValue(f *testing.F) {
	for _, field := range conditionFields {
		f.Add(field, "x")
	}
	f.Add("path-pattern", "/api/*")
	f.Add("source-ip", "::1/128")
	f.Add("http-request-method", "GET")
	f.Fuzz(func(t *testing.T, field, value string) {
		c := ruleCondition{Field: &field}
		switch field {
		case "host-header":
			c.HostHeaderConfig = &valuesConfig{Values: []string{value}}
		case "path-pattern":
			c.PathPatternConfig = &valuesConfig{Values: []string{value}}
		case "http-header":
			c.HTTPHeaderConfig = &httpHeaderConfig{HTTPHeaderName: ptr("X-Test"), Values: []string{value}}
		case "http-request-method":
			c.HTTPRequestMethodConfig = &valuesConfig{Values: []string{value}}
		case "source-ip":
			c.SourceIPConfig = &sourceIPConfig{Values: []string{value}}
		case "query-string":
			c.QueryStringConfig = &queryStringConfig{Values: []queryStringKV{{Key: ptr(value), Value: ptr(value)}}}
		default:
			c.Values = []string{value}
		}
		got, err := conditionsIn([]ruleCondition{c})
		if err != nil {
			return
		}
		if len(got) != 1 || got[0].Field != field {
			t.Fatalf("conditionsIn(%s=%q) = %+v", field, value, got)
		}
		if len(value) > 128 || value == "" {
			t.Fatalf("conditionsIn(%s=%q) accepted a value of %d characters", field, value, len(value))
		}
	})
}
