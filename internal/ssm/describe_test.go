package ssm_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func describeAll(t *testing.T, e *env, in *ssm.DescribeParametersInput) []types.ParameterMetadata {
	t.Helper()
	var out []types.ParameterMetadata
	p := ssm.NewDescribeParametersPaginator(e.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("DescribeParameters = %v", err)
		}
		out = append(out, page.Parameters...)
	}
	return out
}

func psf(key, option string, values ...string) types.ParameterStringFilter {
	f := types.ParameterStringFilter{Key: aws.String(key), Values: values}
	if option != "" {
		f.Option = aws.String(option)
	}
	return f
}

func TestDescribeParameters(t *testing.T) {
	e := start(t)
	hierarchy(e)
	e.put("/tagged", "t", types.ParameterTypeString, func(in *ssm.PutParameterInput) { in.Tags = tagList("env", "prod", "team", "core") })
	e.put("/advanced", "a", types.ParameterTypeString, func(in *ssm.PutParameterInput) { in.Tier = types.ParameterTierAdvanced })
	// Root-level names are listed without their leading slash.
	all := []string{"/app/db/host", "/app/db/password", "/app/name", "/app/web/port", "/other/x", "advanced", "application", "rootp", "slashroot", "tagged"}
	tests := []struct {
		name string
		in   ssm.DescribeParametersInput
		want []string
	}{
		{"all", ssm.DescribeParametersInput{}, all},
		{"name equals", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Name", "", "/app/name", "rootp")}}, []string{"/app/name", "rootp"}},
		{"name equals with slash", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Name", "Equals", "/rootp")}}, []string{"rootp"}},
		{"name begins with", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Name", "BeginsWith", "/app")}}, []string{"/app/db/host", "/app/db/password", "/app/name", "/app/web/port", "application"}},
		{"name contains", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Name", "Contains", "db")}}, []string{"/app/db/host", "/app/db/password"}},
		{"path one level", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Path", "", "/app")}}, []string{"/app/name"}},
		{"path recursive", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Path", "Recursive", "/app/")}}, []string{"/app/db/host", "/app/db/password", "/app/name", "/app/web/port"}},
		{"path root", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Path", "OneLevel", "/")}}, []string{"advanced", "application", "rootp", "slashroot", "tagged"}},
		{"type", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Type", "Equals", "SecureString")}}, []string{"/app/db/password"}},
		{"key id", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("KeyId", "", "alias/db")}}, []string{"/app/db/password"}},
		{"tier", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Tier", "", "Advanced")}}, []string{"advanced"}},
		{"data type", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("DataType", "", "text"), psf("Path", "", "/other")}}, []string{"/other/x"}},
		{"tag", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("tag:env", "", "prod")}}, []string{"tagged"}},
		{"tag other value", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("tag:env", "", "dev")}}, []string{}},
		{"tag key only", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("tag:team")}}}, []string{"tagged"}},
		{"combined", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Path", "Recursive", "/app"), psf("Type", "", "String")}}, []string{"/app/db/host", "/app/name", "/app/web/port"}},
		{"legacy name", ssm.DescribeParametersInput{Filters: []types.ParametersFilter{{Key: types.ParametersFilterKeyName, Values: []string{"/app/db"}}}}, []string{"/app/db/host", "/app/db/password"}},
		{"legacy type", ssm.DescribeParametersInput{Filters: []types.ParametersFilter{{Key: types.ParametersFilterKeyType, Values: []string{"SecureString"}}}}, []string{"/app/db/password"}},
		{"shared", ssm.DescribeParametersInput{Shared: aws.Bool(true)}, []string{}},
		{"small pages", ssm.DescribeParametersInput{MaxResults: aws.Int32(1)}, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := metaNames(describeAll(t, e, &tt.in))
			if !slices.Equal(got, tt.want) {
				t.Errorf("DescribeParameters(%s) = %v; want %v", tt.name, got, tt.want)
			}
		})
	}

	// Metadata of one parameter.
	got := describeAll(t, e, &ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Name", "", "/app/db/password")}})
	if len(got) != 1 {
		t.Fatalf("DescribeParameters(/app/db/password) = %v", metaNames(got))
	}
	m := got[0]
	if aws.ToString(m.ARN) != "arn:aws:ssm:us-east-1:000000000000:parameter/app/db/password" || m.Type != types.ParameterTypeSecureString ||
		aws.ToString(m.KeyId) != "alias/db" || m.Tier != types.ParameterTierStandard || m.Version != 1 || aws.ToString(m.DataType) != "text" ||
		aws.ToString(m.LastModifiedUser) != "arn:aws:iam::000000000000:root" || !aws.ToTime(m.LastModifiedDate).Equal(e.clock.Now()) {
		t.Errorf("DescribeParameters metadata = %+v", m)
	}
	// A String has no KeyId.
	got = describeAll(t, e, &ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Name", "", "rootp")}})
	if len(got) != 1 || got[0].KeyId != nil {
		t.Errorf("DescribeParameters(rootp) = %+v; want one without KeyId", got)
	}

	errs := []struct {
		name string
		in   ssm.DescribeParametersInput
		code string
		msg  string
	}{
		{"both filter kinds", ssm.DescribeParametersInput{Filters: []types.ParametersFilter{{Key: types.ParametersFilterKeyType, Values: []string{"String"}}}, ParameterFilters: []types.ParameterStringFilter{psf("Name", "", "x")}},
			"ValidationException", "You can use either Filters or ParameterFilters in a single request."},
		{"label", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Label", "", "x")}}, "InvalidFilterKey", ""},
		{"unknown key", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Color", "", "x")}}, "ValidationException", "Member must satisfy regular expression pattern"},
		{"duplicate", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Name", "", "x"), psf("Name", "", "y")}}, "InvalidFilterKey", ""},
		{"no values", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Name")}}}, "InvalidFilterValue", "The following filter values are missing : null for filter key Name."},
		{"bad option", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Type", "Contains", "String")}}, "InvalidFilterOption", "The following filter option is not valid: Contains."},
		{"bad path option", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Path", "Equals", "/app")}}, "InvalidFilterOption", "Valid options include: [Recursive, OneLevel]."},
		{"bad path", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Path", "", "app")}}, "ValidationException", "must begin with a forward slash"},
		{"reserved path", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Path", "", "/aws/service")}}, "ValidationException", `can't be prefixed with "aws" or "ssm"`},
		{"bad type value", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Type", "", "Secret")}}, "InvalidFilterValue", "The following filter value is not valid: Secret."},
		{"bad tier value", ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{psf("Tier", "", "Gold")}}, "InvalidFilterValue", ""},
		{"legacy bad key", ssm.DescribeParametersInput{Filters: []types.ParametersFilter{{Key: "Path", Values: []string{"/x"}}}}, "ValidationException", "Member must satisfy enum value set: [Name, Type, KeyId]"},
		{"max results", ssm.DescribeParametersInput{MaxResults: aws.Int32(51)}, "ValidationException", "Member must have value less than or equal to 50"},
		{"bad token", ssm.DescribeParametersInput{NextToken: aws.String("bm90IGpzb24")}, "InvalidNextToken", "The specified token isn't valid."},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.DescribeParameters(ctx, &tt.in)
			wantError(t, "DescribeParameters("+tt.name+")", err, tt.code, tt.msg)
		})
	}
}
