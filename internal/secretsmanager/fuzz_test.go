package secretsmanager

import (
	"strings"
	"testing"
	"unicode"
)

func FuzzParseValueFrom(f *testing.F) {
	for _, s := range []string{
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:db:password",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:db:password:AWSPREVIOUS:",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:db:::0123456789abcdef0123456789abcdef",
		"arn:aws:ssm:us-east-1:123456789012:parameter/db",
		"arn:aws:secretsmanager:::secret:",
		"db",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseValueFrom(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(s, r.ARN) {
			t.Fatalf("parseValueFrom(%q).ARN = %q; want a prefix of the input", s, r.ARN)
		}
		if got := strings.TrimSuffix(strings.Join([]string{r.ARN, r.JSONKey, r.Stage, r.VersionID}, ":"), ":"); !strings.HasPrefix(s+":::", got) {
			t.Fatalf("parseValueFrom(%q) = %+v; its fields do not rebuild the input", s, r)
		}
		if strings.Contains(r.Ref.Resource, ":") || r.Ref.Resource == "" {
			t.Fatalf("parseValueFrom(%q).Ref.Resource = %q; want a non-empty name without colons", s, r.Ref.Resource)
		}
	})
}

func FuzzParseSecretARN(f *testing.F) {
	for _, s := range []string{
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db",
		"arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:a-b-c-ABCDEF",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:-ABCDEF",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:db:key",
		"arn:aws:s3:::bucket",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, ok := parseSecretARN(s)
		if !ok {
			return
		}
		if got := "arn:" + ref.Partition + ":secretsmanager:" + ref.Region + ":" + ref.Account + ":secret:" + ref.Resource; got != s {
			t.Fatalf("parseSecretARN(%q) = %+v; rebuilt %q", s, ref, got)
		}
		if name, ok := hasSuffix(ref.Resource); ok {
			if name == "" || name+"-"+ref.Resource[len(name)+1:] != ref.Resource || len(ref.Resource)-len(name) != suffixLen+1 {
				t.Fatalf("hasSuffix(%q) = %q; want the name before a six-character suffix", ref.Resource, name)
			}
		}
	})
}

func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{"Main database password", "prod/db-main_v2", "myDbPassword", "", "!!", "ÄÖü straße", "a.b@c+d=e:f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, w := range splitWords(s) {
			if w == "" || strings.ContainsFunc(w, unicode.IsSpace) || strings.ContainsAny(w, "/_+=.@-!:") || w != strings.ToLower(w) {
				t.Fatalf("splitWords(%q) has word %q; want non-empty lower-case words without separators", s, w)
			}
		}
		if !matchWords(s, s) {
			t.Fatalf("matchWords(%q, %q) = false; want every text to match itself", s, s)
		}
	})
}

func FuzzDecodeToken(f *testing.F) {
	for _, s := range []string{"", "garbage", *encodeToken(item{t: 1740830400000, name: "prod/db"}), *encodeToken(item{name: "x"}), "eyJuIjoiIn0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		it, err := decodeToken(&s)
		if err != nil {
			return
		}
		back, err := decodeToken(encodeToken(*it))
		if err != nil || back.t != it.t || back.name != it.name {
			t.Fatalf("decodeToken(encodeToken(%+v)) = %+v, %v; want the same position", *it, back, err)
		}
	})
}
