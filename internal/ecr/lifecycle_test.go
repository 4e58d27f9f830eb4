package ecr_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/berthhq/berth/internal/awsapi"
	ecrapi "github.com/berthhq/berth/internal/ecr"
	"github.com/berthhq/berth/internal/registry"
	"github.com/berthhq/berth/internal/state"
)

// rule builds one lifecycle rule as JSON.
type rule struct {
	Priority    int               `json:"rulePriority"`
	Description string            `json:"description,omitempty"`
	Selection   map[string]any    `json:"selection"`
	Action      map[string]string `json:"action"`
}

func policy(rules ...rule) string {
	for i := range rules {
		if rules[i].Action == nil {
			rules[i].Action = map[string]string{"type": "expire"}
		}
	}
	b, _ := json.Marshal(map[string]any{"rules": rules})
	return string(b)
}

func countMore(status string, n int, prefixes ...string) map[string]any {
	s := map[string]any{"tagStatus": status, "countType": "imageCountMoreThan", "countNumber": n}
	if len(prefixes) > 0 {
		s["tagPrefixList"] = prefixes
	}
	return s
}

func sinceDays(status string, n int, prefixes ...string) map[string]any {
	s := map[string]any{"tagStatus": status, "countType": "sinceImagePushed", "countUnit": "days", "countNumber": n}
	if len(prefixes) > 0 {
		s["tagPrefixList"] = prefixes
	}
	return s
}

const lpPrefix = "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: "

func TestParsePolicy(t *testing.T) {
	pad := strings.Repeat(" ", 100) // the minimum length is 100
	for _, tc := range []struct {
		name, text, msg string
	}{
		{"too short", `{"rules":[]}`, "Invalid parameter at 'lifecyclePolicyText' failed to satisfy constraint: 'Member must have length greater than or equal to 100'"},
		{"not JSON", "{" + pad, lpPrefix + "Could not map policyString into LifecyclePolicy.'"},
		{"no rules", `{"ruls":[]}` + pad, lpPrefix + `object has missing required properties (["rules"])'`},
		{"rules not a list", `{"rules":{}}` + pad, lpPrefix + `instance type (object) does not match any allowed primitive type (allowed: ["array"])'`},
		{"empty rules", `{"rules":[]}` + pad, lpPrefix + "array is too short: must have at least 1 elements but instance has 0 elements'"},
		{"rule missing parts", `{"rules":[{"rulePriority":1}]}` + pad, lpPrefix + `object has missing required properties (["action","selection"])'`},
		{"unknown rule member", policy(rule{Priority: 1, Selection: countMore("any", 1)})[:len(`{"rules":[{`)] + `"extra":1,` + policy(rule{Priority: 1, Selection: countMore("any", 1)})[len(`{"rules":[{`):] + pad,
			lpPrefix + `object instance has properties which are not allowed by the schema: (["extra"])'`},
		{"priority zero", policy(rule{Priority: 0, Selection: countMore("any", 1)}) + pad, lpPrefix + "numeric instance is lower than the required minimum (minimum: 1, found: 0)'"},
		{"count zero", policy(rule{Priority: 1, Selection: countMore("any", 0)}) + pad, lpPrefix + "numeric instance is lower than the required minimum (minimum: 1, found: 0)'"},
		{"bad tag status", policy(rule{Priority: 1, Selection: countMore("some", 1)}) + pad, lpPrefix + `instance value ("some") not found in enum (possible values: ["any","tagged","untagged"])'`},
		{"bad action", policy(rule{Priority: 1, Selection: countMore("any", 1), Action: map[string]string{"type": "delete"}}) + pad,
			lpPrefix + `instance value ("delete") not found in enum (possible values: ["expire"])'`},
		{"countUnit with imageCountMoreThan", policy(rule{Priority: 1, Selection: map[string]any{"tagStatus": "any", "countType": "imageCountMoreThan", "countUnit": "days", "countNumber": 1}}) + pad,
			lpPrefix + "instance failed to match exactly one schema (matched 0 out of 2)'"},
		{"sinceImagePushed without countUnit", policy(rule{Priority: 1, Selection: map[string]any{"tagStatus": "any", "countType": "sinceImagePushed", "countNumber": 1}}) + pad,
			lpPrefix + "instance failed to match exactly one schema (matched 0 out of 2)'"},
		{"bad count type", policy(rule{Priority: 1, Selection: map[string]any{"tagStatus": "any", "countType": "sinceImagePulled", "countNumber": 1}}) + pad,
			lpPrefix + "instance failed to match exactly one schema (matched 0 out of 2)'"},
		{"duplicate priority", policy(rule{Priority: 1, Selection: countMore("tagged", 1, "a")}, rule{Priority: 1, Selection: countMore("tagged", 1, "b")}) + pad, ""},
		{"tagged without lists", policy(rule{Priority: 1, Selection: countMore("tagged", 1)}) + pad, ""},
		{"untagged with prefixes", policy(rule{Priority: 1, Selection: countMore("untagged", 1, "a")}) + pad, ""},
		{"any not last", policy(rule{Priority: 1, Selection: countMore("any", 1)}, rule{Priority: 2, Selection: countMore("tagged", 1, "a")}) + pad, ""},
		{"two untagged rules", policy(rule{Priority: 1, Selection: countMore("untagged", 1)}, rule{Priority: 2, Selection: sinceDays("untagged", 1)}) + pad, ""},
		{"five wildcards", policy(rule{Priority: 1, Selection: map[string]any{"tagStatus": "tagged", "tagPatternList": []string{"*a*b*c*d*"}, "countType": "imageCountMoreThan", "countNumber": 1}}) + pad, ""},
		{"shared prefix", policy(rule{Priority: 1, Selection: countMore("tagged", 1, "a")}, rule{Priority: 2, Selection: countMore("tagged", 2, "a")}) + pad, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ecrapi.ParsePolicy(tc.text)
			var ae *awsapi.Error
			if !errors.As(err, &ae) || ae.Code != "InvalidParameterException" {
				t.Fatalf("ParsePolicy = %v; want InvalidParameterException", err)
			}
			if tc.msg != "" && ae.Message != tc.msg {
				t.Fatalf("ParsePolicy error %q; want %q", ae.Message, tc.msg)
			}
			if !strings.HasPrefix(ae.Message, lpPrefix) && !strings.Contains(ae.Message, "'lifecyclePolicyText'") {
				t.Fatalf("ParsePolicy error %q; want the lifecycle validation prefix", ae.Message)
			}
		})
	}
	for _, ok := range []string{
		policy(rule{Priority: 1, Selection: sinceDays("untagged", 14)}),
		policy(rule{Priority: 1, Selection: countMore("untagged", 1)}) + pad,
		policy(rule{Priority: 3, Selection: countMore("any", 1)}, rule{Priority: 1, Selection: countMore("tagged", 1, "alpha")},
			rule{Priority: 2, Selection: sinceDays("untagged", 1)}),
		policy(rule{Priority: 1, Selection: map[string]any{"tagStatus": "tagged", "tagPatternList": []string{"prod*", "*-x-*"}, "countType": "imageCountMoreThan", "countNumber": 9999}}) + pad,
	} {
		p, err := ecrapi.ParsePolicy(ok)
		if err != nil {
			t.Errorf("ParsePolicy(%s) = %v; want it accepted", ok, err)
			continue
		}
		if !sort.SliceIsSorted(p.Rules, func(i, j int) bool { return p.Rules[i].Priority < p.Rules[j].Priority }) {
			t.Errorf("ParsePolicy(%s) rules not in priority order", ok)
		}
	}
}

// img is a candidate image pushed days ago (fractions allowed).
func img(name string, daysAgo float64, tags ...string) ecrapi.Candidate {
	return ecrapi.Candidate{Digest: registry.Digest(name), Tags: tags, PushedAt: evalNow.Add(-time.Duration(daysAgo * float64(24*time.Hour)))}
}

var evalNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// The examples of the AWS user guide, "Examples of lifecycle policies in
// Amazon ECR".
func TestEvaluateDocumentedExamples(t *testing.T) {
	rulesAB := []ecrapi.Candidate{img("A", 10, "beta-1", "prod-1"), img("B", 9, "beta-2", "prod-2"), img("C", 8, "beta-3")}
	for _, tc := range []struct {
		name   string
		policy string
		images []ecrapi.Candidate
		want   []string
	}{
		{"filtering on image age", policy(rule{Priority: 1, Selection: sinceDays("untagged", 14)}),
			[]ecrapi.Candidate{img("old", 15), img("young", 13), img("tagged", 20, "v1")}, []string{"old"}},
		{"filtering on image count", policy(rule{Priority: 1, Selection: countMore("untagged", 1)}) + strings.Repeat(" ", 30),
			[]ecrapi.Candidate{img("u1", 3), img("u2", 2), img("u3", 1), img("t", 5, "v1")}, []string{"u1", "u2"}},
		{"multiple rules A", policy(rule{Priority: 1, Selection: countMore("tagged", 1, "prod")}, rule{Priority: 2, Selection: countMore("tagged", 1, "beta")}),
			rulesAB, []string{"A"}},
		{"multiple rules B", policy(rule{Priority: 1, Selection: countMore("tagged", 1, "beta")}, rule{Priority: 2, Selection: countMore("tagged", 1, "prod")}),
			rulesAB, []string{"A", "B"}},
		{"multiple tags A", policy(rule{Priority: 1, Selection: sinceDays("tagged", 5, "alpha", "beta")}),
			[]ecrapi.Candidate{img("A", 12, "alpha-1"), img("B", 11, "beta-1"), img("C", 10, "alpha-2", "beta-2"), img("D", 4, "alpha-3"), img("E", 3, "beta-3"), img("F", 2, "alpha-4", "beta-4")},
			[]string{"C"}},
		{"multiple tags B", policy(rule{Priority: 1, Selection: countMore("tagged", 1, "alpha", "beta")}),
			[]ecrapi.Candidate{img("A", 10, "alpha-1", "beta-1", "gamma-1"), img("B", 9, "alpha-2", "beta-2"), img("C", 8, "alpha-3", "beta-3", "gamma-2")},
			[]string{"A", "B"}},
		{"all images A", policy(rule{Priority: 1, Selection: countMore("any", 1)}) + strings.Repeat(" ", 30),
			[]ecrapi.Candidate{img("A", 4, "alpha-1"), img("B", 3, "beta-1"), img("C", 2), img("D", 1, "alpha-2")},
			[]string{"A", "B", "C"}},
		{"all images B", policy(rule{Priority: 1, Selection: countMore("tagged", 1, "alpha")}, rule{Priority: 2, Selection: sinceDays("untagged", 1)}, rule{Priority: 3, Selection: countMore("any", 1)}),
			[]ecrapi.Candidate{img("A", 4, "alpha-1", "beta-1"), img("B", 3), img("C", 2, "alpha-2"), img("D", 25.0/24, "git-hash"), img("E", 23.0/24)},
			[]string{"A", "B", "D"}},
		{"pattern lists", policy(rule{Priority: 1, Selection: map[string]any{"tagStatus": "tagged", "tagPatternList": []string{"prod*"}, "countType": "imageCountMoreThan", "countNumber": 9999}},
			rule{Priority: 2, Selection: countMore("any", 1)}),
			[]ecrapi.Candidate{img("P1", 9, "prod-1"), img("P2", 8, "production"), img("X", 7, "dev"), img("Y", 1, "dev-2")},
			[]string{"X"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ecrapi.ParsePolicy(tc.policy)
			if err != nil {
				t.Fatalf("ParsePolicy = %v", err)
			}
			var got []string
			for _, e := range p.Evaluate(tc.images, evalNow) {
				got = append(got, string(e.Digest))
			}
			sort.Strings(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Evaluate = %v; want %v", got, tc.want)
			}
		})
	}
}

// pushAt pushes an image at a point of the test clock.
func (e *env) pushAt(repo, tag string, at time.Time, seed string) string {
	e.t.Helper()
	now := e.clock.Now()
	e.clock.Advance(at.Sub(now))
	defer e.clock.Advance(now.Sub(at))
	if tag == "" {
		e.pushBlob(repo, []byte(seed))
		m := manifest([]byte(seed))
		resp, body := e.http("PUT", "/v2/"+repo+"/manifests/"+sha(m), m, "Content-Type", registry.MediaTypeDockerManifest)
		if resp.StatusCode != 201 {
			e.t.Fatalf("push untagged = %d %s", resp.StatusCode, body)
		}
		return sha(m)
	}
	_, d := e.pushImage(repo, tag, []byte(seed))
	return d
}

func (e *env) digests(repo string) []string {
	e.t.Helper()
	out, err := e.c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo)})
	if err != nil {
		e.t.Fatal(err)
	}
	var ds []string
	for _, d := range out.ImageDetails {
		ds = append(ds, aws.ToString(d.ImageDigest))
	}
	sort.Strings(ds)
	return ds
}

func TestLifecycleEnforcement(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app")
	now := e.clock.Now()
	old := e.pushAt("app", "", now.Add(-3*24*time.Hour), "old untagged")
	recent := e.pushAt("app", "", now.Add(-time.Hour), "recent untagged")
	var releases []string
	for i, tag := range []string{"v1", "v2", "v3", "v4"} {
		releases = append(releases, e.pushAt("app", tag, now.Add(time.Duration(i-10)*time.Hour), "release "+tag))
	}
	text := policy(
		rule{Priority: 1, Description: "keep two releases", Selection: countMore("tagged", 2, "v")},
		rule{Priority: 2, Selection: sinceDays("untagged", 2)})
	if _, err := e.c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("app"), LifecyclePolicyText: aws.String(text)}); err != nil {
		t.Fatal(err)
	}
	e.run()
	want := sorted(recent, releases[2], releases[3])
	e.waitFor("the policy to expire old releases and old untagged images", func() bool { return slices.Equal(e.digests("app"), want) })
	// The evaluation time is recorded just after the images go.
	var got *ecr.GetLifecyclePolicyOutput
	var err error
	e.waitFor("lastEvaluatedAt", func() bool {
		got, err = e.c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("app")})
		return err != nil || got.LastEvaluatedAt != nil
	})
	if err != nil || aws.ToString(got.LifecyclePolicyText) != text || got.LastEvaluatedAt == nil {
		t.Fatalf("GetLifecyclePolicy = %+v, %v; want the policy and lastEvaluatedAt", got, err)
	}
	_ = old

	// A push triggers an evaluation at once: v5 pushes v3 out.
	v5 := e.pushAt("app", "v5", now, "release v5")
	want = sorted(recent, releases[3], v5)
	e.waitFor("a push to trigger the policy", func() bool { return slices.Equal(e.digests("app"), want) })

	// Time passes: the periodic evaluation expires the untagged image once it is two days old.
	e.clock.Advance(2 * 24 * time.Hour)
	want = sorted(releases[3], v5)
	e.waitFor("the periodic evaluation", func() bool { return slices.Equal(e.digests("app"), want) })

	if _, err := e.c.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("app")})
	wantError(t, "GetLifecyclePolicy(deleted)", err, "LifecyclePolicyNotFoundException",
		"Lifecycle policy does not exist for the repository with name 'app' in the registry with id '000000000000'")
	_, err = e.c.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: aws.String("app")})
	wantError(t, "DeleteLifecyclePolicy(deleted)", err, "LifecyclePolicyNotFoundException", "")
	_, err = e.c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("app"), LifecyclePolicyText: aws.String("nonsense")})
	wantError(t, "PutLifecyclePolicy(nonsense)", err, "InvalidParameterException", "")
	_, err = e.c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("app")})
	wantError(t, "GetLifecyclePolicy after a rejected put", err, "LifecyclePolicyNotFoundException", "")
}

func TestLifecycleKeepsIndexChildren(t *testing.T) {
	e := newEnv(t)
	e.createRepo("multi")
	now := e.clock.Now()
	child := e.pushAt("multi", "", now.Add(-10*24*time.Hour), "arm64 image")
	idx := `{"schemaVersion":2,"mediaType":"` + registry.MediaTypeOCIIndex + `","manifests":[{"mediaType":"` + registry.MediaTypeDockerManifest + `","digest":"` + child + `","size":10}]}`
	resp, body := e.http("PUT", "/v2/multi/manifests/v1", []byte(idx), "Content-Type", registry.MediaTypeOCIIndex)
	if resp.StatusCode != 201 {
		t.Fatalf("PUT index = %d %s", resp.StatusCode, body)
	}
	stale := e.pushAt("multi", "", now.Add(-10*24*time.Hour), "stale")
	_ = stale
	text := policy(rule{Priority: 1, Selection: sinceDays("untagged", 1)})
	if _, err := e.c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("multi"), LifecyclePolicyText: aws.String(text)}); err != nil {
		t.Fatal(err)
	}
	e.run()
	want := sorted(child, sha([]byte(idx)))
	e.waitFor("the stale untagged image to expire", func() bool { return slices.Equal(e.digests("multi"), want) })
	// Expiring the index takes its child along.
	text = policy(rule{Priority: 1, Selection: countMore("any", 1)}) + strings.Repeat(" ", 30)
	e.pushAt("multi", "v2", now.Add(time.Hour), "newer")
	if _, err := e.c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("multi"), LifecyclePolicyText: aws.String(text)}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the index to expire with its child", func() bool { return len(e.digests("multi")) == 1 })
}

func TestLifecyclePreview(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app")
	now := e.clock.Now()
	var ds []string
	for i := range 4 {
		ds = append(ds, e.pushAt("app", "", now.Add(time.Duration(i)*time.Hour), "image "+string(rune('a'+i))))
	}
	_, err := e.c.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: aws.String("app")})
	wantError(t, "GetLifecyclePolicyPreview(none)", err, "LifecyclePolicyPreviewNotFoundException", "")
	_, err = e.c.StartLifecyclePolicyPreview(ctx, &ecr.StartLifecyclePolicyPreviewInput{RepositoryName: aws.String("app")})
	wantError(t, "StartLifecyclePolicyPreview(no policy)", err, "LifecyclePolicyNotFoundException", "")

	text := policy(rule{Priority: 1, Selection: countMore("untagged", 1)}) + strings.Repeat(" ", 30)
	st, err := e.c.StartLifecyclePolicyPreview(ctx, &ecr.StartLifecyclePolicyPreviewInput{RepositoryName: aws.String("app"), LifecyclePolicyText: aws.String(text)})
	if err != nil || st.Status != types.LifecyclePolicyPreviewStatusInProgress || aws.ToString(st.LifecyclePolicyText) != text {
		t.Fatalf("StartLifecyclePolicyPreview = %+v, %v", st, err)
	}
	got, err := e.c.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: aws.String("app")})
	if err != nil || got.Status != types.LifecyclePolicyPreviewStatusInProgress {
		t.Fatalf("GetLifecyclePolicyPreview before evaluation = %+v, %v; want IN_PROGRESS", got, err)
	}
	_, err = e.c.StartLifecyclePolicyPreview(ctx, &ecr.StartLifecyclePolicyPreviewInput{RepositoryName: aws.String("app"), LifecyclePolicyText: aws.String(text)})
	wantError(t, "StartLifecyclePolicyPreview(while one runs)", err, "LifecyclePolicyPreviewInProgressException", "")

	e.run()
	e.waitFor("the preview to complete", func() bool {
		got, err = e.c.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: aws.String("app")})
		return err == nil && got.Status == types.LifecyclePolicyPreviewStatusComplete
	})
	var expiring []string
	for _, r := range got.PreviewResults {
		expiring = append(expiring, aws.ToString(r.ImageDigest))
		if r.Action.Type != types.ImageActionTypeExpire || aws.ToInt32(r.AppliedRulePriority) != 1 || r.ImagePushedAt == nil {
			t.Errorf("preview result %+v; want EXPIRE by rule 1", r)
		}
	}
	sort.Strings(expiring)
	if want := sorted(ds[0], ds[1], ds[2]); !slices.Equal(expiring, want) || aws.ToInt32(got.Summary.ExpiringImageTotalCount) != 3 {
		t.Fatalf("preview expires %v (summary %d); want %v", expiring, aws.ToInt32(got.Summary.ExpiringImageTotalCount), want)
	}
	if len(e.digests("app")) != 4 {
		t.Fatalf("a preview deleted images")
	}
	// Paging through the results.
	p1, err := e.c.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: aws.String("app"), MaxResults: aws.Int32(2)})
	if err != nil || len(p1.PreviewResults) != 2 || p1.NextToken == nil {
		t.Fatalf("preview page 1 = %+v, %v", p1, err)
	}
	p2, err := e.c.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: aws.String("app"), MaxResults: aws.Int32(2), NextToken: p1.NextToken})
	if err != nil || len(p2.PreviewResults) != 1 || p2.NextToken != nil {
		t.Fatalf("preview page 2 = %+v, %v", p2, err)
	}
	// Another preview may start once the first is complete.
	if _, err := e.c.StartLifecyclePolicyPreview(ctx, &ecr.StartLifecyclePolicyPreviewInput{RepositoryName: aws.String("app"), LifecyclePolicyText: aws.String(text)}); err != nil {
		t.Fatalf("StartLifecyclePolicyPreview after completion = %v", err)
	}
	_, err = e.other.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: aws.String("app")})
	wantError(t, "GetLifecyclePolicyPreview as another account", err, "RepositoryNotFoundException", "")
}

// evaluated waits for the lifecycle loop to have evaluated repo's policy.
func (e *env) evaluated(repo string) {
	e.t.Helper()
	e.waitFor("the policy of "+repo+" to be evaluated", func() bool {
		got, err := e.c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(repo)})
		return err == nil && got.LastEvaluatedAt != nil
	})
}

// TestLifecycleAfterTagDelete: deleting the tag of an image makes it
// untagged, which the policy notices at once (the clock stands still, so
// no periodic evaluation can).
func TestLifecycleAfterTagDelete(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app")
	now := e.clock.Now()
	d := e.pushAt("app", "v1", now.Add(-3*24*time.Hour), "old release")
	text := policy(rule{Priority: 1, Selection: sinceDays("untagged", 2)})
	if _, err := e.c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("app"), LifecyclePolicyText: aws.String(text)}); err != nil {
		t.Fatal(err)
	}
	e.run()
	e.evaluated("app")
	if got := e.digests("app"); !slices.Equal(got, []string{d}) {
		t.Fatalf("images after the first evaluation = %v; want [%s]", got, d)
	}
	if resp, body := e.http("DELETE", "/v2/app/manifests/v1", nil); resp.StatusCode != 202 {
		t.Fatalf("DELETE tag v1 = %d %s", resp.StatusCode, body)
	}
	e.waitFor("the untagged image to expire", func() bool { return len(e.digests("app")) == 0 })
}

// TestLifecycleOldRepository: a repository stored by a Berth that kept no
// generation of its images is evaluated as before, and its pushes trigger
// evaluations once it has one.
func TestLifecycleOldRepository(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app")
	now := e.clock.Now()
	var ds []string
	for i := range 3 {
		ds = append(ds, e.pushAt("app", "", now.Add(time.Duration(i-10)*time.Hour), fmt.Sprintf("untagged %d", i)))
	}
	// The registry's generation document of the repository, as an older
	// Berth lacked it.
	if _, err := state.Do[[]*state.Doc](ctx, e.srv.Store, &state.WriteDocs{Ops: []state.DocOp{
		{Key: state.Key(registry.Namespace, "generation", account, region, "app"), Delete: true},
	}}); err != nil {
		t.Fatal(err)
	}
	if g := e.reg.Generation(registry.Scope{Account: account, Region: region}, "app"); g != 0 {
		t.Fatalf("Generation after deleting its document = %d; want 0", g)
	}
	text := policy(rule{Priority: 1, Selection: countMore("untagged", 1)}) + strings.Repeat(" ", 30)
	if _, err := e.c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("app"), LifecyclePolicyText: aws.String(text)}); err != nil {
		t.Fatal(err)
	}
	e.run()
	e.waitFor("the older untagged images to expire", func() bool { return slices.Equal(e.digests("app"), []string{ds[2]}) })
	newer := e.pushAt("app", "", now, "untagged 3")
	e.waitFor("a push to trigger the policy", func() bool { return slices.Equal(e.digests("app"), []string{newer}) })
}
