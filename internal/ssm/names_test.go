package ssm

import (
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	tests := map[string]string{"/a": "a", "a": "a", "/a/b": "/a/b", "//a": "//a", "": ""}
	for in, want := range tests {
		if got := canonical(in); got != want {
			t.Errorf("canonical(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestCheckLabel(t *testing.T) {
	tests := map[string]bool{
		"prod": true, "Prod_1.x-y": true, "1st": false, "aws": false, "SSMx": false, "a b": false, "a/b": false, "": false,
		strings.Repeat("x", 100): true, strings.Repeat("x", 101): false,
	}
	for in, want := range tests {
		if got := checkLabel(in); got != want {
			t.Errorf("checkLabel(%q) = %v; want %v", in, got, want)
		}
	}
}

// FuzzCheckNewName checks that whatever name PutParameter accepts is
// well-formed, unreserved, within the limits, and canonical.
func FuzzCheckNewName(f *testing.F) {
	for _, s := range []string{"a", "/a", "/a/b/c", "a/b", "/aws/x", "awsx", "/ssm", " /x ", "/a//b", "/a/b/", "/" + strings.Repeat("l/", 15) + "l", "x\x00y", "/é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		name, err := checkNewName(raw)
		if err != nil {
			if err.Code == "" || err.Message == "" {
				t.Fatalf("checkNewName(%q) error without code or message: %+v", raw, err)
			}
			return
		}
		if name != canonical(name) || !wellFormed(strings.TrimSpace(raw)) || strings.Count(name, "/") > maxLevels || len(name) > maxNameLen {
			t.Fatalf("checkNewName(%q) accepted %q", raw, name)
		}
		if first := strings.ToLower(strings.TrimPrefix(name, "/")); strings.HasPrefix(first, "aws") || strings.HasPrefix(first, "ssm") {
			t.Fatalf("checkNewName(%q) accepted the reserved %q", raw, name)
		}
		if again, err := checkNewName(name); err != nil || again != name {
			t.Fatalf("checkNewName(%q) = %q, %v; want it unchanged", name, again, err)
		}
		r, rerr := parseRef(name, "000000000000", "us-east-1")
		if rerr != nil || r.name != name || r.selector() != "" {
			t.Fatalf("parseRef(%q) = %+v, %v; want the same name", name, r, rerr)
		}
	})
}

// FuzzParseRef checks that references parse without panics, that selectors
// survive a round trip, and that an ARN names the name it embeds.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"a", "/a/b:3", "/a/b:prod", "a:1:2", "arn:aws:ssm:us-east-1:000000000000:parameter/a/b:prod", "arn:aws:ssm:eu-west-1:000000000000:parameter/x", "arn:aws:s3:::b", "a:0", "a:99999999999999999999", "/a b", "arn:", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := parseRef(raw, "000000000000", "us-east-1")
		if err != nil {
			if err.Code != "ValidationException" {
				t.Fatalf("parseRef(%q) error code %s; want ValidationException", raw, err.Code)
			}
			return
		}
		if r.version != 0 && r.label != "" || r.version < 0 {
			t.Fatalf("parseRef(%q) = %+v: both a version and a label", raw, r)
		}
		if r.name != canonical(r.name) {
			t.Fatalf("parseRef(%q).name = %q; not canonical", raw, r.name)
		}
		again, err := parseRef(r.display+r.selector(), "000000000000", "us-east-1")
		if err != nil || again.name != r.name || again.version != r.version || again.label != r.label || again.foreign != r.foreign {
			t.Fatalf("parseRef(%q) = %+v; its rendering parses as %+v, %v", raw, r, again, err)
		}
		if !r.foreign && strings.HasPrefix(strings.TrimSpace(raw), "arn:") {
			plain, err := parseRef(arnOf("us-east-1", "000000000000", r.name)+r.selector(), "000000000000", "us-east-1")
			if err != nil || plain.name != r.name {
				t.Fatalf("the ARN of %q parses as %+v, %v", r.name, plain, err)
			}
		}
	})
}
