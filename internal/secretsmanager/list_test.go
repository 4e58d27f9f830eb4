package secretsmanager_test

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

func filterOf(key string, values ...string) types.Filter {
	return types.Filter{Key: types.FilterNameStringType(key), Values: values}
}

// listFixture creates, a minute apart: prod/db (team=web, env=prod, "Main
// database password"), prod/api (team=api), dev/db (env=dev, "Scratch
// database"), and the deleted old/db.
func listFixture(t *testing.T) *env {
	e := start(t)
	mk := func(name, desc string, tags ...string) {
		var tt []types.Tag
		for i := 0; i+1 < len(tags); i += 2 {
			tt = append(tt, types.Tag{Key: aws.String(tags[i]), Value: aws.String(tags[i+1])})
		}
		create(t, e.c, name, "v", func(in *sm.CreateSecretInput) {
			in.Tags = tt
			if desc != "" {
				in.Description = aws.String(desc)
			}
		})
		e.clock.Advance(time.Minute)
	}
	mk("prod/db", "Main database password", "team", "web", "env", "prod")
	mk("prod/api", "", "team", "api")
	mk("dev/db", "Scratch database", "env", "dev")
	mk("old/db", "")
	if _, err := e.c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("old/db")}); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestListSecretsFilters(t *testing.T) {
	t.Parallel()
	e := listFixture(t)
	tests := []struct {
		name    string
		filters []types.Filter
		want    []string // newest first
	}{
		{"none", nil, []string{"dev/db", "prod/api", "prod/db"}},
		{"name prefix", []types.Filter{filterOf("name", "prod/")}, []string{"prod/api", "prod/db"}},
		{"name is case-sensitive", []types.Filter{filterOf("name", "PROD")}, nil},
		{"name values are or-ed", []types.Filter{filterOf("name", "dev", "prod/a")}, []string{"dev/db", "prod/api"}},
		{"name negation", []types.Filter{filterOf("name", "!prod")}, []string{"dev/db"}},
		{"tag key", []types.Filter{filterOf("tag-key", "te")}, []string{"prod/api", "prod/db"}},
		{"tag key negation", []types.Filter{filterOf("tag-key", "!team")}, []string{"dev/db"}},
		{"tag value", []types.Filter{filterOf("tag-value", "pro")}, []string{"prod/db"}},
		{"description words, any case", []types.Filter{filterOf("description", "DATA")}, []string{"dev/db", "prod/db"}},
		{"description second word", []types.Filter{filterOf("description", "pass")}, []string{"prod/db"}},
		{"filters are and-ed", []types.Filter{filterOf("name", "prod"), filterOf("tag-key", "env")}, []string{"prod/db"}},
		{"all", []types.Filter{filterOf("all", "web")}, []string{"prod/db"}},
		{"all words across attributes", []types.Filter{filterOf("all", "scratch dev")}, []string{"dev/db"}},
		{"all, name words", []types.Filter{filterOf("all", "api")}, []string{"prod/api"}},
		{"primary region", []types.Filter{filterOf("primary-region", "us-east")}, []string{"dev/db", "prod/api", "prod/db"}},
		{"owning service", []types.Filter{filterOf("owning-service", "rds")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := names(t, e.c, &sm.ListSecretsInput{Filters: tt.filters})
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ListSecrets(%v) = %v; want %v", tt.filters, got, tt.want)
			}
		})
	}

	bad := []struct {
		name    string
		filters []types.Filter
		msg     string
	}{
		{"unknown key", []types.Filter{filterOf("colour", "x")}, "1 validation error detected: Value 'colour' at 'filters.1.member.key' failed to satisfy constraint: Member must satisfy enum value set: [description, name, tag-key, tag-value, primary-region, owning-service, all]"},
		{"bad character", []types.Filter{filterOf("name", "a*")}, `1 validation error detected: Value 'a*' at 'filters.1.member.values.1.member' failed to satisfy constraint: Member must satisfy regular expression pattern: ^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$`},
		{"no values", []types.Filter{filterOf("name")}, ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.c.ListSecrets(ctx, &sm.ListSecretsInput{Filters: tt.filters})
			wantError(t, "ListSecrets("+tt.name+")", err, "ValidationException", tt.msg)
		})
	}
}

func TestListSecretsOrderAndPages(t *testing.T) {
	t.Parallel()
	e := listFixture(t)
	tests := []struct {
		name string
		in   *sm.ListSecretsInput
		want []string
	}{
		{"created, newest first", &sm.ListSecretsInput{}, []string{"dev/db", "prod/api", "prod/db"}},
		{"created, asc", &sm.ListSecretsInput{SortOrder: types.SortOrderTypeAsc}, []string{"prod/db", "prod/api", "dev/db"}},
		{"name", &sm.ListSecretsInput{SortBy: types.SortByTypeName}, []string{"dev/db", "prod/api", "prod/db"}},
		{"name desc", &sm.ListSecretsInput{SortBy: types.SortByTypeName, SortOrder: types.SortOrderTypeDesc}, []string{"prod/db", "prod/api", "dev/db"}},
		{"pages of one", &sm.ListSecretsInput{MaxResults: aws.Int32(1), SortOrder: types.SortOrderTypeAsc}, []string{"prod/db", "prod/api", "dev/db"}},
		{"with planned deletion", &sm.ListSecretsInput{IncludePlannedDeletion: aws.Bool(true), SortBy: types.SortByTypeName}, []string{"dev/db", "old/db", "prod/api", "prod/db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(t, e.c, tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ListSecrets(%s) = %v; want %v", tt.name, got, tt.want)
			}
		})
	}

	// A page boundary survives secrets created between the calls.
	first, err := e.c.ListSecrets(ctx, &sm.ListSecretsInput{MaxResults: aws.Int32(2), SortBy: types.SortByTypeName})
	if err != nil {
		t.Fatal(err)
	}
	create(t, e.c, "aaa", "v")
	rest, err := e.c.ListSecrets(ctx, &sm.ListSecretsInput{MaxResults: aws.Int32(2), SortBy: types.SortByTypeName, NextToken: first.NextToken})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.SecretList) != 1 || aws.ToString(rest.SecretList[0].Name) != "prod/db" || rest.NextToken != nil {
		t.Errorf("ListSecrets second page = %v, next %v; want [prod/db], no token", rest.SecretList, rest.NextToken)
	}
	entry := first.SecretList[0]
	if aws.ToString(entry.Name) != "dev/db" || aws.ToString(entry.Description) != "Scratch database" || tagMap(entry.Tags)["env"] != "dev" || len(entry.SecretVersionsToStages) != 1 || entry.CreatedDate == nil {
		t.Errorf("ListSecrets entry dev/db = %+v; want its description, tags, versions and dates", entry)
	}
}

func TestBatchGetSecretValue(t *testing.T) {
	t.Parallel()
	e := listFixture(t)
	create(t, e.c, "no-value", "", func(in *sm.CreateSecretInput) { in.SecretString = nil })
	put(t, e.c, "prod/db", "prod-db-value")

	out, err := e.c.BatchGetSecretValue(ctx, &sm.BatchGetSecretValueInput{SecretIdList: []string{"prod/db", "missing", "old/db", "no-value"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SecretValues) != 1 || aws.ToString(out.SecretValues[0].Name) != "prod/db" || aws.ToString(out.SecretValues[0].SecretString) != "prod-db-value" {
		t.Errorf("BatchGetSecretValue(ids).SecretValues = %+v; want prod/db's current value", out.SecretValues)
	}
	var errs []string
	for _, e := range out.Errors {
		errs = append(errs, fmt.Sprintf("%s %s: %s", aws.ToString(e.SecretId), aws.ToString(e.ErrorCode), aws.ToString(e.Message)))
	}
	want := []string{
		"missing ResourceNotFoundException: Secrets Manager can't find the specified secret.",
		"old/db InvalidRequestException: You can't perform this operation on the secret because it was marked for deletion.",
		"no-value ResourceNotFoundException: Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
	}
	if !reflect.DeepEqual(errs, want) {
		t.Errorf("BatchGetSecretValue(ids).Errors = %q; want %q", errs, want)
	}

	var got []string
	p := sm.NewBatchGetSecretValuePaginator(e.c, &sm.BatchGetSecretValueInput{Filters: []types.Filter{filterOf("name", "prod", "dev")}, MaxResults: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, v := range page.SecretValues {
			got = append(got, aws.ToString(v.Name)+"="+aws.ToString(v.SecretString))
		}
	}
	if want := []string{"dev/db=v", "prod/api=v", "prod/db=prod-db-value"}; !reflect.DeepEqual(got, want) || pages != 2 {
		t.Errorf("BatchGetSecretValue(filters, 2 a page) = %d pages, %v; want 2 pages, %v", pages, got, want)
	}

	_, err = e.c.BatchGetSecretValue(ctx, &sm.BatchGetSecretValueInput{SecretIdList: []string{"prod/db"}, Filters: []types.Filter{filterOf("name", "prod")}})
	wantError(t, "BatchGetSecretValue(ids and filters)", err, "InvalidParameterException", "Either 'SecretIdList' or 'Filters' must be provided, but not both.")
	_, err = e.c.BatchGetSecretValue(ctx, &sm.BatchGetSecretValueInput{SecretIdList: []string{"prod/db"}, MaxResults: aws.Int32(5)})
	wantError(t, "BatchGetSecretValue(ids, MaxResults)", err, "InvalidParameterException", "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided.")
	_, err = e.c.BatchGetSecretValue(ctx, &sm.BatchGetSecretValueInput{})
	wantError(t, "BatchGetSecretValue(neither)", err, "InvalidParameterException", "")
	many := slices.Repeat([]string{"prod/db"}, 21)
	_, err = e.c.BatchGetSecretValue(ctx, &sm.BatchGetSecretValueInput{SecretIdList: many})
	wantError(t, "BatchGetSecretValue(21 ids)", err, "ValidationException", "")
}
