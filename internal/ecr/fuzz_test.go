package ecr

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/registry"
)

func FuzzParsePolicy(f *testing.F) {
	pad := strings.Repeat(" ", 100)
	for _, s := range []string{
		`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}`,
		`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPatternList":["prod*"],"countType":"imageCountMoreThan","countNumber":9999},"action":{"type":"expire"}},` +
			`{"rulePriority":2,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`,
		`{"rules":[{"rulePriority":1.5,"selection":{},"action":{}}]}` + pad,
		`{"rules":null}` + pad, `[]` + pad, `{"rules":[{"rulePriority":99999999999,"selection":{},"action":{}}]}` + pad,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p, err := ParsePolicy(text)
		if err != nil {
			if ae, ok := err.(*awsapi.Error); !ok || ae.Code != "InvalidParameterException" {
				t.Fatalf("ParsePolicy error %v; want InvalidParameterException", err)
			}
			return
		}
		seen := map[int]bool{}
		for i, r := range p.Rules {
			if r.Priority < 1 || seen[r.Priority] || r.CountNumber < 1 || (i > 0 && p.Rules[i-1].Priority > r.Priority) {
				t.Fatalf("ParsePolicy accepted rules %+v", p.Rules)
			}
			seen[r.Priority] = true
		}
		// Evaluation of any accepted policy is total.
		now := time.Unix(1_800_000_000, 0)
		p.Evaluate([]Candidate{{Digest: "a", Tags: []string{"prod-1"}, PushedAt: now}, {Digest: "b", PushedAt: now.Add(-1000 * time.Hour)}}, now)
	})
}

func FuzzCheckPolicy(f *testing.F) {
	for _, s := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*"}]}`,
		`{"Version":"2008-10-17","Statement":{"Effect":"Deny","NotAction":"ecr:*"}}`,
		`{"Version":1,"Statement":[]}`, `null`, `{}`, `{"Version":"2012-10-17","Statement":[null]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if err := checkPolicy(&text); err != nil {
			if ae, ok := err.(*awsapi.Error); !ok || ae.Code != "InvalidParameterException" {
				t.Fatalf("checkPolicy(%q) = %v; want InvalidParameterException", text, err)
			}
		}
	})
}

func FuzzRepositoryARN(f *testing.F) {
	for _, s := range []string{
		"arn:aws:ecr:us-east-1:000000000000:repository/app", "arn:aws:ecr:us-east-1:000000000000:repository/a/b",
		"arn:aws:ecr:us-east-1:000000000000:repository/", "arn:aws:ecs:us-east-1:000000000000:cluster/x", "arn:aws:ecr", "",
		"arn:aws:ecr:eu-west-1:111111111111:repository/app",
	} {
		f.Add(s)
	}
	ctx := awsapi.WithCaller(context.Background(), &awsapi.Caller{Account: "000000000000", Region: "us-east-1"})
	f.Fuzz(func(t *testing.T, arn string) {
		s, name, err := arnRepository(ctx, &arn)
		if err != nil {
			return
		}
		if s != (registry.Scope{Account: "000000000000", Region: "us-east-1"}) || repositoryARN(s, name) != arn {
			t.Fatalf("arnRepository(%q) = %v %q; want the caller's tenancy and a round trip", arn, s, name)
		}
	})
}
