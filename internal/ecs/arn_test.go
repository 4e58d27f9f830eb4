package ecs

import (
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/state"
)

func TestParseARN(t *testing.T) {
	cases := []struct {
		in   string
		want ARN
		ok   bool
	}{
		{"arn:aws:ecs:us-east-1:123456789012:cluster/web", ARN{"aws", "ecs", "us-east-1", "123456789012", "cluster/web"}, true},
		{"arn:aws:ecs:us-east-1:123456789012:task-definition/web:3", ARN{"aws", "ecs", "us-east-1", "123456789012", "task-definition/web:3"}, true},
		{"arn:aws:s3:::bucket", ARN{"aws", "s3", "", "", "bucket"}, true},
		{"arn:aws-cn:iam::123456789012:role/a:b", ARN{"aws-cn", "iam", "", "123456789012", "role/a:b"}, true},
		{"arn:aws:ecs:us-east-1:123456789012:", ARN{}, false},
		{"arn::ecs:us-east-1:123456789012:cluster/web", ARN{}, false},
		{"arn:aws::us-east-1:123456789012:cluster/web", ARN{}, false},
		{"arn:aws:ecs:us-east-1:cluster/web", ARN{}, false},
		{"ARN:aws:ecs:us-east-1:123456789012:cluster/web", ARN{}, false},
		{"cluster/web", ARN{}, false},
		{"", ARN{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := ParseARN(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("ParseARN(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestResolveName(t *testing.T) {
	const acct, region = "123456789012", "us-east-1"
	cases := []struct {
		ref, kind string
		want      string
		ok        bool
	}{
		{"web", "cluster", "web", true},
		{"arn:aws:ecs:us-east-1:123456789012:cluster/web", "cluster", "web", true},
		{"arn:aws:ecs:us-east-1:123456789012:cluster/", "cluster", "", false},
		{"arn:aws:ecs:us-east-1:123456789012:service/web", "cluster", "", false},
		{"arn:aws:ecs:eu-west-1:123456789012:cluster/web", "cluster", "", false},
		{"arn:aws:ecs:us-east-1:210987654321:cluster/web", "cluster", "", false},
		{"arn:aws:ec2:us-east-1:123456789012:cluster/web", "cluster", "", false},
		{"arn:aws-cn:ecs:us-east-1:123456789012:cluster/web", "cluster", "", false},
		{"arn:broken", "cluster", "", false},
	}
	for _, tc := range cases {
		got, ok := resolveName(tc.ref, tc.kind, acct, region)
		if got != tc.want || ok != tc.ok {
			t.Errorf("resolveName(%q, %q) = %q, %v; want %q, %v", tc.ref, tc.kind, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseTaskDefRef(t *testing.T) {
	c := &awsapi.Caller{Account: "123456789012", Region: "us-east-1"}
	cases := []struct {
		ref    string
		family string
		rev    int32
		ok     bool
	}{
		{"web", "web", 0, true},
		{"web:3", "web", 3, true},
		{"arn:aws:ecs:us-east-1:123456789012:task-definition/web:3", "web", 3, true},
		{"arn:aws:ecs:us-east-1:123456789012:task-definition/web", "web", 0, true},
		{"web:0", "", 0, false},
		{"web:-1", "", 0, false},
		{"web:x", "", 0, false},
		{"web:1:2", "", 0, false},
		{"web:99999999999", "", 0, false},
		{":3", "", 0, false},
		{"arn:aws:ecs:us-east-1:123456789012:cluster/web", "", 0, false},
		{"arn:aws:ecs:us-east-1:999999999999:task-definition/web:3", "", 0, false},
	}
	for _, tc := range cases {
		fam, rev, ok := parseTaskDefRef(tc.ref, c)
		if fam != tc.family || rev != tc.rev || ok != tc.ok {
			t.Errorf("parseTaskDefRef(%q) = %q, %d, %v; want %q, %d, %v", tc.ref, fam, rev, ok, tc.family, tc.rev, tc.ok)
		}
	}
}

// FuzzParseARN checks that ParseARN and the reference parsers built on it
// never panic, and that whatever ParseARN accepts renders back to the same
// string and parses again to the same parts.
func FuzzParseARN(f *testing.F) {
	// More seeds live in testdata/fuzz/FuzzParseARN.
	for _, s := range []string{
		"arn:aws:ecs:us-east-1:123456789012:cluster/default",
		"arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
		"arn:aws:s3:::bucket",
		"arn:::::",
		"arn:aws:ecs:us-east-1:123456789012:",
		"web:1",
	} {
		f.Add(s)
	}
	c := &awsapi.Caller{Account: "123456789012", Region: "us-east-1"}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := ParseARN(s)
		if !ok {
			if a != (ARN{}) {
				t.Fatalf("ParseARN(%q) = %+v, false; want the zero ARN with false", s, a)
			}
		} else {
			if got := a.String(); got != s {
				t.Fatalf("ParseARN(%q).String() = %q; want the input", s, got)
			}
			if a.Partition == "" || a.Service == "" || a.Resource == "" {
				t.Fatalf("ParseARN(%q) = %+v; want partition, service and resource set", s, a)
			}
			for _, part := range []string{a.Partition, a.Service, a.Region, a.Account} {
				if strings.Contains(part, ":") {
					t.Fatalf("ParseARN(%q) = %+v; a part before the resource has a colon", s, a)
				}
			}
			if again, ok := ParseARN(a.String()); !ok || again != a {
				t.Fatalf("ParseARN(ParseARN(%q).String()) = %+v, %v; want %+v, true", s, again, ok, a)
			}
		}

		if name, ok := resolveName(s, "cluster", c.Account, c.Region); ok && strings.HasPrefix(s, "arn:") {
			if name == "" || ecsARN(c.Region, c.Account, "cluster/"+name) != s {
				t.Fatalf("resolveName(%q) = %q; want the name of the cluster the ARN names", s, name)
			}
		}
		if fam, rev, ok := parseTaskDefRef(s, c); ok {
			if fam == "" || rev < 0 {
				t.Fatalf("parseTaskDefRef(%q) = %q, %d, true; want a family and a revision >= 0", s, fam, rev)
			}
			if rev > 0 {
				arn := state.TaskDefinitionARN(c.Account, c.Region, fam, rev)
				if fam2, rev2, ok := parseTaskDefRef(arn, c); !ok || fam2 != fam || rev2 != rev {
					t.Fatalf("parseTaskDefRef(%q) = %q, %d, %v; want %q, %d from %q", arn, fam2, rev2, ok, fam, rev, s)
				}
			}
		}
	})
}
