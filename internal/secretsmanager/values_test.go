package secretsmanager_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

func withToken(s string) func(*sm.PutSecretValueInput) {
	return func(in *sm.PutSecretValueInput) { in.ClientRequestToken = tok(s) }
}

func withStages(stages ...string) func(*sm.PutSecretValueInput) {
	return func(in *sm.PutSecretValueInput) { in.VersionStages = stages }
}

func TestPutSecretValueMovesStages(t *testing.T) {
	t.Parallel()
	e := start(t)
	create(t, e.c, "db", "v1", func(in *sm.CreateSecretInput) { in.ClientRequestToken = tok("v1") })
	v1, v2, v3, v4 := *tok("v1"), *tok("v2"), *tok("v3"), *tok("v4")

	out := put(t, e.c, "db", "v2", withToken("v2"))
	if aws.ToString(out.VersionId) != v2 || !reflect.DeepEqual(out.VersionStages, []string{"AWSCURRENT"}) {
		t.Fatalf("PutSecretValue(db, v2) = {%s, %v}; want {%s, [AWSCURRENT]}", aws.ToString(out.VersionId), out.VersionStages, v2)
	}
	steps := []struct {
		name string
		do   func()
		want map[string][]string
	}{
		{"second version", func() {}, map[string][]string{v1: {"AWSPREVIOUS"}, v2: {"AWSCURRENT"}}},
		{"third version deprecates the first", func() { put(t, e.c, "db", "v3", withToken("v3")) },
			map[string][]string{v2: {"AWSPREVIOUS"}, v3: {"AWSCURRENT"}}},
		{"pending version leaves current alone", func() { put(t, e.c, "db", "v4", withToken("v4"), withStages("AWSPENDING")) },
			map[string][]string{v2: {"AWSPREVIOUS"}, v3: {"AWSCURRENT"}, v4: {"AWSPENDING"}}},
		{"retry changes nothing", func() { put(t, e.c, "db", "v4", withToken("v4"), withStages("AWSPENDING")) },
			map[string][]string{v2: {"AWSPREVIOUS"}, v3: {"AWSCURRENT"}, v4: {"AWSPENDING"}}},
	}
	for _, s := range steps {
		s.do()
		if got := stagesOf(t, e.c, "db"); !reflect.DeepEqual(got, s.want) {
			t.Fatalf("%s: VersionIdsToStages = %v; want %v", s.name, got, s.want)
		}
	}
	if got := value(t, e.c, "db"); got != "v3" {
		t.Errorf("GetSecretValue(db) = %q; want v3", got)
	}
	for _, c := range []struct{ id, stage, want string }{
		{"", "AWSPREVIOUS", "v2"}, {"", "AWSPENDING", "v4"}, {v1, "", "v1"}, {v4, "AWSPENDING", "v4"},
	} {
		got := get(t, e.c, &sm.GetSecretValueInput{SecretId: aws.String("db"), VersionId: strPtr(c.id), VersionStage: strPtr(c.stage)})
		if aws.ToString(got.SecretString) != c.want {
			t.Errorf("GetSecretValue(db, %q, %q) = %q; want %q", c.id, c.stage, aws.ToString(got.SecretString), c.want)
		}
	}

	_, err := e.c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("db"), SecretString: aws.String("other"), ClientRequestToken: tok("v2")})
	wantError(t, "PutSecretValue(db, reused token v2, other value)", err, "ResourceExistsException", "You can't modify an existing version, you can only create new versions.")
	_, err = e.c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("db"), SecretBinary: []byte("v2"), ClientRequestToken: tok("v2")})
	wantError(t, "PutSecretValue(db, reused token v2, same bytes as binary)", err, "ResourceExistsException", "")
	if got := get(t, e.c, &sm.GetSecretValueInput{SecretId: aws.String("db"), VersionId: aws.String(v2)}); aws.ToString(got.SecretString) != "v2" {
		t.Errorf("GetSecretValue(db, v2) after refused puts = %q; want v2", aws.ToString(got.SecretString))
	}

	all, err := e.c.ListSecretVersionIds(ctx, &sm.ListSecretVersionIdsInput{SecretId: aws.String("db"), IncludeDeprecated: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range all.Versions {
		ids = append(ids, aws.ToString(v.VersionId))
	}
	if want := []string{v4, v3, v2, v1}; !reflect.DeepEqual(ids, want) {
		t.Errorf("ListSecretVersionIds(db, IncludeDeprecated) = %v; want %v", ids, want)
	}
	labeled, err := e.c.ListSecretVersionIds(ctx, &sm.ListSecretVersionIdsInput{SecretId: aws.String("db")})
	if err != nil {
		t.Fatal(err)
	}
	if len(labeled.Versions) != 3 || slices.ContainsFunc(labeled.Versions, func(v types.SecretVersionsListEntry) bool { return aws.ToString(v.VersionId) == v1 }) {
		t.Errorf("ListSecretVersionIds(db) = %d versions; want the 3 labeled ones, without %s", len(labeled.Versions), v1)
	}
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func TestPutSecretValueFirstVersionIsCurrent(t *testing.T) {
	t.Parallel()
	e := start(t)
	create(t, e.c, "blank", "", func(in *sm.CreateSecretInput) { in.SecretString = nil })
	out := put(t, e.c, "blank", "first", withStages("AWSPENDING"))
	if want := []string{"AWSCURRENT", "AWSPENDING"}; !reflect.DeepEqual(sorted(out.VersionStages), want) {
		t.Errorf("PutSecretValue(blank, AWSPENDING) on a secret without versions: VersionStages = %v; want %v", out.VersionStages, want)
	}
	if got := value(t, e.c, "blank"); got != "first" {
		t.Errorf("GetSecretValue(blank) = %q; want first", got)
	}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

func TestGetSecretValueErrors(t *testing.T) {
	t.Parallel()
	e := start(t)
	create(t, e.c, "app", "v1", func(in *sm.CreateSecretInput) { in.ClientRequestToken = tok("v1") })
	put(t, e.c, "app", "v2", withToken("v2"))
	tests := []struct {
		name      string
		in        *sm.GetSecretValueInput
		code, msg string
	}{
		{"unknown secret", &sm.GetSecretValueInput{SecretId: aws.String("nope")}, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."},
		{"unknown ARN suffix", &sm.GetSecretValueInput{SecretId: aws.String("arn:aws:secretsmanager:us-east-1:000000000000:secret:app-ZZZZZZ")}, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."},
		{"ARN of another region", &sm.GetSecretValueInput{SecretId: aws.String("arn:aws:secretsmanager:eu-west-1:000000000000:secret:app")}, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."},
		{"unknown stage", &sm.GetSecretValueInput{SecretId: aws.String("app"), VersionStage: aws.String("AWSPENDING")}, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSPENDING"},
		{"unknown version", &sm.GetSecretValueInput{SecretId: aws.String("app"), VersionId: tok("v9")}, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: " + *tok("v9")},
		{"version and stage disagree", &sm.GetSecretValueInput{SecretId: aws.String("app"), VersionId: tok("v1"), VersionStage: aws.String("AWSCURRENT")}, "InvalidRequestException", "You provided a VersionStage that is not associated to the provided VersionId."},
		{"invalid name", &sm.GetSecretValueInput{SecretId: aws.String("a b")}, "ValidationException", "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.c.GetSecretValue(ctx, tt.in)
			wantError(t, fmt.Sprintf("GetSecretValue(%s)", tt.name), err, tt.code, tt.msg)
		})
	}
}

func TestUpdateSecretVersionStage(t *testing.T) {
	t.Parallel()
	v1, v2, v3 := *tok("v1"), *tok("v2"), *tok("v3")
	// setup: v1 AWSPREVIOUS, v2 AWSCURRENT, v3 AWSPENDING.
	setup := func(t *testing.T) *env {
		e := start(t)
		create(t, e.c, "s", "v1", func(in *sm.CreateSecretInput) { in.ClientRequestToken = tok("v1") })
		put(t, e.c, "s", "v2", withToken("v2"))
		put(t, e.c, "s", "v3", withToken("v3"), withStages("AWSPENDING"))
		return e
	}
	before := map[string][]string{v1: {"AWSPREVIOUS"}, v2: {"AWSCURRENT"}, v3: {"AWSPENDING"}}
	tests := []struct {
		name            string
		stage, from, to string
		want            map[string][]string // nil: the call fails with code
		code, msg       string
	}{
		{"promote pending", "AWSCURRENT", v2, v3, map[string][]string{v2: {"AWSPREVIOUS"}, v3: {"AWSPENDING", "AWSCURRENT"}}, "", ""},
		{"roll back to previous", "AWSCURRENT", v2, v1, map[string][]string{v1: {"AWSCURRENT"}, v2: {"AWSPREVIOUS"}, v3: {"AWSPENDING"}}, "", ""},
		{"remove pending", "AWSPENDING", v3, "", map[string][]string{v1: {"AWSPREVIOUS"}, v2: {"AWSCURRENT"}}, "", ""},
		{"add a custom label", "blue", "", v1, map[string][]string{v1: {"AWSPREVIOUS", "blue"}, v2: {"AWSCURRENT"}, v3: {"AWSPENDING"}}, "", ""},
		{"move a label onto its own version", "AWSCURRENT", "", v2, before, "", ""},
		{"move without RemoveFromVersionId", "AWSCURRENT", "", v3, nil, "InvalidParameterException",
			"The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version " + v2 + ", so you must explicitly reference that version in RemoveFromVersionId."},
		{"RemoveFromVersionId of the wrong version", "AWSCURRENT", v1, v3, nil, "InvalidParameterException",
			"When you move staging label AWSCURRENT, if you specify RemoveFromVersionId, it must be set to the version that currently has the staging label: " + v2 + "."},
		{"remove a label that is not there", "blue", v1, "", nil, "InvalidParameterException",
			"The staging label blue is not attached to version " + v1 + ", so you can't remove it from that version."},
		{"remove AWSCURRENT without moving it", "AWSCURRENT", v2, "", nil, "InvalidParameterException",
			"You can't remove the staging label AWSCURRENT from a version without moving it to another version."},
		{"unknown target version", "AWSCURRENT", v2, *tok("v9"), nil, "ResourceNotFoundException",
			"Secrets Manager can't find the specified secret value for VersionId: " + *tok("v9")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			in := &sm.UpdateSecretVersionStageInput{SecretId: aws.String("s"), VersionStage: aws.String(tt.stage), RemoveFromVersionId: strPtr(tt.from), MoveToVersionId: strPtr(tt.to)}
			_, err := e.c.UpdateSecretVersionStage(ctx, in)
			call := fmt.Sprintf("UpdateSecretVersionStage(%s, from %q, to %q)", tt.stage, tt.from, tt.to)
			want := tt.want
			if tt.want == nil {
				wantError(t, call, err, tt.code, tt.msg)
				want = before
			} else if err != nil {
				t.Fatalf("%s = %v", call, err)
			}
			// Sorted copies: want may be before, which every parallel subtest shares.
			norm := func(m map[string][]string) map[string][]string {
				out := make(map[string][]string, len(m))
				for k, v := range m {
					out[k] = sorted(v)
				}
				return out
			}
			got, want := norm(stagesOf(t, e.c, "s")), norm(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: VersionIdsToStages = %v; want %v", call, got, want)
			}
		})
	}
}

func TestListSecretVersionIdsPages(t *testing.T) {
	t.Parallel()
	e := start(t)
	create(t, e.c, "many", "v0", func(in *sm.CreateSecretInput) { in.ClientRequestToken = tok("v00") })
	var want []string
	want = append(want, *tok("v00"))
	for i := 1; i < 7; i++ {
		e.clock.Advance(time.Second)
		put(t, e.c, "many", fmt.Sprint("v", i), withToken(fmt.Sprintf("v%02d", i)))
		want = append(want, *tok(fmt.Sprintf("v%02d", i)))
	}
	slices.Reverse(want)
	var got []string
	p := sm.NewListSecretVersionIdsPaginator(e.c, &sm.ListSecretVersionIdsInput{SecretId: aws.String("many"), IncludeDeprecated: aws.Bool(true), MaxResults: aws.Int32(3)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Versions) > 3 {
			t.Errorf("ListSecretVersionIds(MaxResults 3) page of %d versions", len(page.Versions))
		}
		for _, v := range page.Versions {
			got = append(got, aws.ToString(v.VersionId))
			if !reflect.DeepEqual(v.KmsKeyIds, []string{"DefaultEncryptionKey"}) {
				t.Errorf("version %s KmsKeyIds = %v; want [DefaultEncryptionKey]", aws.ToString(v.VersionId), v.KmsKeyIds)
			}
		}
	}
	if !reflect.DeepEqual(got, want) || pages != 3 {
		t.Errorf("ListSecretVersionIds pages = %d, %v; want 3 pages, %v", pages, got, want)
	}
}

func TestDeprecatedVersionsArePruned(t *testing.T) {
	t.Parallel()
	e := start(t)
	create(t, e.c, "busy", "v", func(in *sm.CreateSecretInput) { in.ClientRequestToken = tok("x000") })
	for i := 1; i <= 105; i++ {
		put(t, e.c, "busy", "v", withToken(fmt.Sprintf("x%03d", i)))
	}
	count := func() int {
		out, err := e.c.ListSecretVersionIds(ctx, &sm.ListSecretVersionIdsInput{SecretId: aws.String("busy"), IncludeDeprecated: aws.Bool(true), MaxResults: aws.Int32(100)})
		if err != nil {
			t.Fatal(err)
		}
		n := len(out.Versions)
		for out.NextToken != nil {
			out, err = e.c.ListSecretVersionIds(ctx, &sm.ListSecretVersionIdsInput{SecretId: aws.String("busy"), IncludeDeprecated: aws.Bool(true), NextToken: out.NextToken})
			if err != nil {
				t.Fatal(err)
			}
			n += len(out.Versions)
		}
		return n
	}
	if n := count(); n != 106 {
		t.Fatalf("versions after 106 writes within a day = %d; want all 106 kept", n)
	}
	e.clock.Advance(25 * time.Hour)
	put(t, e.c, "busy", "v", withToken("x106"))
	if n := count(); n != 100 {
		t.Errorf("versions after a write a day later = %d; want the 100 most recent", n)
	}
	_, err := e.c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("busy"), VersionId: tok("x006")})
	wantError(t, "GetSecretValue(busy, pruned x006)", err, "ResourceNotFoundException", "")
	if got := get(t, e.c, &sm.GetSecretValueInput{SecretId: aws.String("busy"), VersionId: tok("x007")}); aws.ToString(got.VersionId) != *tok("x007") {
		t.Errorf("GetSecretValue(busy, x007) = %s; want the deprecated version still there", aws.ToString(got.VersionId))
	}
	values := 0
	for k := range docs(e) {
		if strings.Contains(k, "\x00value\x00busy\x00") {
			values++
		}
	}
	if values != 100 {
		t.Errorf("stored values of busy = %d; want 100 (pruned versions' values removed)", values)
	}
}

func TestConcurrentPuts(t *testing.T) {
	t.Parallel()
	e := start(t)
	create(t, e.c, "hot", "v0", func(in *sm.CreateSecretInput) { in.ClientRequestToken = tok("c00") })
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			_, err := e.c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("hot"), SecretString: aws.String(fmt.Sprint("v", i)), ClientRequestToken: tok(fmt.Sprintf("c%02d", i))})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent PutSecretValue(hot) = %v", err)
		}
	}
	out, err := e.c.ListSecretVersionIds(ctx, &sm.ListSecretVersionIdsInput{SecretId: aws.String("hot"), IncludeDeprecated: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	current, previous := 0, 0
	for _, v := range out.Versions {
		if slices.Contains(v.VersionStages, "AWSCURRENT") {
			current++
		}
		if slices.Contains(v.VersionStages, "AWSPREVIOUS") {
			previous++
		}
	}
	if len(out.Versions) != n+1 || current != 1 || previous != 1 {
		t.Errorf("after %d concurrent puts: %d versions, %d AWSCURRENT, %d AWSPREVIOUS; want %d, 1, 1", n, len(out.Versions), current, previous, n+1)
	}
}
