package ssm_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/berthhq/berth/internal/errdefs"
)

func TestGetSelectors(t *testing.T) {
	e := start(t)
	for i := 1; i <= 3; i++ {
		e.put("/app/db", fmt.Sprintf("v%d", i), types.ParameterTypeSecureString, overwrite)
	}
	e.put("root", "r", types.ParameterTypeString)
	if _, err := e.client.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{Name: aws.String("/app/db"), Labels: []string{"prod"}, ParameterVersion: aws.Int64(2)}); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:ssm:us-east-1:000000000000:parameter/app/db"
	tests := []struct {
		ref, name, value, selector string
		version                    int64
	}{
		{"/app/db", "/app/db", "v3", "", 3},
		{"/app/db:1", "/app/db", "v1", ":1", 1},
		{"/app/db:prod", "/app/db", "v2", ":prod", 2},
		{arn, arn, "v3", "", 3},
		{arn + ":1", arn, "v1", ":1", 1},
		{arn + ":prod", arn, "v2", ":prod", 2},
		{"root", "root", "r", "", 1},
		{"/root", "/root", "r", "", 1},
		{"arn:aws:ssm:us-east-1:000000000000:parameter/root", "arn:aws:ssm:us-east-1:000000000000:parameter/root", "r", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			p := e.get(tt.ref, true)
			if aws.ToString(p.Name) != tt.name || aws.ToString(p.Value) != tt.value || p.Version != tt.version || aws.ToString(p.Selector) != tt.selector {
				t.Errorf("GetParameter(%s) = name %s, value %s, v%d, selector %q; want %s, %s, v%d, %q",
					tt.ref, aws.ToString(p.Name), aws.ToString(p.Value), p.Version, aws.ToString(p.Selector), tt.name, tt.value, tt.version, tt.selector)
			}
			if !strings.HasPrefix(aws.ToString(p.ARN), "arn:aws:ssm:us-east-1:000000000000:parameter/") || strings.Contains(aws.ToString(p.ARN), "parameter//") {
				t.Errorf("GetParameter(%s).ARN = %s", tt.ref, aws.ToString(p.ARN))
			}
		})
	}

	errs := []struct{ ref, code, msg string }{
		{"/app/missing", "ParameterNotFound", ""},
		{"/app/db:9", "ParameterVersionNotFound", "Systems Manager could not find version 9 of /app/db. Verify the version and try again."},
		{"/app/db:staging", "ParameterNotFound", ""},
		{"arn:aws:ssm:us-east-1:111111111111:parameter/app/db", "ParameterNotFound", ""},
		{"arn:aws:ssm:eu-west-1:000000000000:parameter/app/db", "ParameterNotFound", ""},
		{"/app/db:0", "ValidationException", ""},
		{"/app/db:1:2", "ValidationException", ""},
		{"/app/d b", "ValidationException", ""},
		// A name no parameter can have is a ValidationException, as AWS
		// answers GetParameter("{test}-test"), not ParameterNotFound.
		{"{test}-test", "ValidationException", `Parameter name: can't be prefixed with "ssm" (case-insensitive).`},
		{"app/db", "ValidationException", `Parameter name: can't be prefixed with "ssm" (case-insensitive).`},
		{"/app//db:1", "ValidationException", `Parameter name: can't be prefixed with "ssm" (case-insensitive).`},
		{"arn:aws:ssm:us-east-1:000000000000:parameter/app/d*b", "ValidationException", `Parameter name: can't be prefixed with "ssm" (case-insensitive).`},
		{"arn:aws:s3:::bucket", "ValidationException", ""},
	}
	for _, tt := range errs {
		t.Run("error "+tt.ref, func(t *testing.T) {
			_, err := e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(tt.ref)})
			wantError(t, "GetParameter("+tt.ref+")", err, tt.code, tt.msg)
			if tt.code == "ParameterNotFound" && message(err) != "" {
				t.Errorf("GetParameter(%s) message = %q; want none, as AWS", tt.ref, message(err))
			}
		})
	}
}

func TestGetParameters(t *testing.T) {
	e := start(t)
	e.put("/b", "b1", types.ParameterTypeString)
	e.put("/b", "b2", types.ParameterTypeString, overwrite)
	e.put("/a/s", "secret", types.ParameterTypeSecureString)
	e.put("c", "c", types.ParameterTypeStringList)
	out, err := e.client.GetParameters(ctx, &ssm.GetParametersInput{
		Names:          []string{"c", "/missing", "/b:1", "/a/s", "c", "/b:7", "arn:aws:ssm:us-east-1:111111111111:parameter/c"},
		WithDecryption: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(out.Parameters), []string{"/a/s", "/b", "c"}; !slices.Equal(got, want) {
		t.Errorf("GetParameters names = %v; want %v (sorted, deduplicated)", got, want)
	}
	if got, want := out.InvalidParameters, []string{"/missing", "/b:7", "arn:aws:ssm:us-east-1:111111111111:parameter/c"}; !slices.Equal(got, want) {
		t.Errorf("GetParameters InvalidParameters = %v; want %v", got, want)
	}
	for _, p := range out.Parameters {
		if aws.ToString(p.Name) == "/b" && (aws.ToString(p.Value) != "b1" || aws.ToString(p.Selector) != ":1") {
			t.Errorf("GetParameters(/b:1) = %q selector %q; want b1, :1", aws.ToString(p.Value), aws.ToString(p.Selector))
		}
		if aws.ToString(p.Name) == "/a/s" && aws.ToString(p.Value) != "secret" {
			t.Errorf("GetParameters(/a/s, WithDecryption) = %q; want secret", aws.ToString(p.Value))
		}
	}
	// Without decryption the SecureString shows ciphertext.
	out, err = e.client.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/a/s"}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Parameters[0].Value) == "secret" {
		t.Errorf("GetParameters(/a/s) without decryption shows the plaintext")
	}

	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = fmt.Sprintf("p%d", i)
	}
	_, err = e.client.GetParameters(ctx, &ssm.GetParametersInput{Names: eleven})
	wantError(t, "GetParameters(11 names)", err, "ValidationException", "Member must have length less than or equal to 10")
	_, err = e.client.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{}})
	wantError(t, "GetParameters(no names)", err, "ValidationException", "")
}

// hierarchy stores a small tree of parameters.
func hierarchy(e *env) {
	e.put("/app/name", "app", types.ParameterTypeString)
	e.put("/app/db/host", "db.local", types.ParameterTypeString)
	e.put("/app/db/password", "pw", types.ParameterTypeSecureString, func(in *ssm.PutParameterInput) { in.KeyId = aws.String("alias/db") })
	e.put("/app/web/port", "8080", types.ParameterTypeString)
	e.put("/application", "not under /app", types.ParameterTypeString)
	e.put("/other/x", "x", types.ParameterTypeString)
	e.put("rootp", "root", types.ParameterTypeString)
	e.put("/slashroot", "root too", types.ParameterTypeString)
}

func TestGetParametersByPath(t *testing.T) {
	e := start(t)
	hierarchy(e)
	if _, err := e.client.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{Name: aws.String("/app/db/host"), Labels: []string{"blue"}}); err != nil {
		t.Fatal(err)
	}
	e.put("/app/db/host", "db2.local", "", overwrite)
	tests := []struct {
		name      string
		path      string
		recursive bool
		filters   []types.ParameterStringFilter
		want      []string
	}{
		{"one level", "/app", false, nil, []string{"/app/name"}},
		{"trailing slash", "/app/", false, nil, []string{"/app/name"}},
		{"recursive", "/app", true, nil, []string{"/app/db/host", "/app/db/password", "/app/name", "/app/web/port"}},
		{"deeper", "/app/db", false, nil, []string{"/app/db/host", "/app/db/password"}},
		{"root one level", "/", false, nil, []string{"application", "rootp", "slashroot"}},
		{"root recursive", "/", true, nil, []string{"/app/db/host", "/app/db/password", "/app/name", "/app/web/port", "/other/x", "application", "rootp", "slashroot"}},
		{"nothing", "/none", true, nil, []string{}},
		{"a parameter is not a path", "/app/name", true, nil, []string{}},
		{"type", "/app", true, []types.ParameterStringFilter{{Key: aws.String("Type"), Values: []string{"SecureString"}}}, []string{"/app/db/password"}},
		{"type begins with", "/app", true, []types.ParameterStringFilter{{Key: aws.String("Type"), Option: aws.String("BeginsWith"), Values: []string{"Str"}}}, []string{"/app/db/host", "/app/name", "/app/web/port"}},
		{"key id", "/app", true, []types.ParameterStringFilter{{Key: aws.String("KeyId"), Values: []string{"alias/db"}}}, []string{"/app/db/password"}},
		{"label", "/app", true, []types.ParameterStringFilter{{Key: aws.String("Label"), Values: []string{"blue"}}}, []string{"/app/db/host"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []types.Parameter
			p := ssm.NewGetParametersByPathPaginator(e.client, &ssm.GetParametersByPathInput{Path: aws.String(tt.path), Recursive: aws.Bool(tt.recursive), ParameterFilters: tt.filters, WithDecryption: aws.Bool(true)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatalf("GetParametersByPath(%s) = %v", tt.path, err)
				}
				got = append(got, page.Parameters...)
			}
			if !slices.Equal(names(got), tt.want) {
				t.Errorf("GetParametersByPath(%s, recursive %v, %s) = %v; want %v", tt.path, tt.recursive, tt.name, names(got), tt.want)
			}
			for _, p := range got {
				if aws.ToString(p.Name) == "/app/db/password" && aws.ToString(p.Value) != "pw" {
					t.Errorf("GetParametersByPath WithDecryption value of /app/db/password = %q; want pw", aws.ToString(p.Value))
				}
				if aws.ToString(p.Name) == "/app/db/host" && tt.name == "label" && (aws.ToString(p.Value) != "db.local" || p.Version != 1) {
					t.Errorf("GetParametersByPath(Label blue) = %q v%d; want the labelled version db.local v1", aws.ToString(p.Value), p.Version)
				}
				if aws.ToString(p.ARN) == "" {
					t.Errorf("GetParametersByPath result %s has no ARN", aws.ToString(p.Name))
				}
			}
		})
	}

	// Paging: two at a time, nothing repeated or lost.
	var got []string
	pages := 0
	var tok *string
	for {
		out, err := e.client.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/"), Recursive: aws.Bool(true), MaxResults: aws.Int32(3), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.Parameters) > 3 {
			t.Fatalf("GetParametersByPath(MaxResults 3) returned %d", len(out.Parameters))
		}
		got = append(got, names(out.Parameters)...)
		if tok = out.NextToken; tok == nil {
			break
		}
	}
	if want := []string{"/app/db/host", "/app/db/password", "/app/name", "/app/web/port", "/other/x", "application", "rootp", "slashroot"}; !slices.Equal(got, want) || pages != 3 {
		t.Errorf("GetParametersByPath paged by 3 = %v in %d pages; want %v in 3", got, pages, want)
	}

	errs := []struct {
		name string
		in   ssm.GetParametersByPathInput
		code string
		msg  string
	}{
		{"relative path", ssm.GetParametersByPathInput{Path: aws.String("app")}, "ValidationException", "The parameter doesn't meet the parameter name requirements."},
		{"double slash", ssm.GetParametersByPathInput{Path: aws.String("/app//db")}, "ValidationException", ""},
		{"bad character", ssm.GetParametersByPathInput{Path: aws.String("/app/*")}, "ValidationException", ""},
		{"max results", ssm.GetParametersByPathInput{Path: aws.String("/app"), MaxResults: aws.Int32(11)}, "ValidationException", "Member must have value less than or equal to 10"},
		{"name filter", ssm.GetParametersByPathInput{Path: aws.String("/app"), ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Name"), Values: []string{"x"}}}}, "InvalidFilterKey", ""}, // the model gives InvalidFilterKey no message member
		{"label option", ssm.GetParametersByPathInput{Path: aws.String("/app"), ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Label"), Option: aws.String("BeginsWith"), Values: []string{"x"}}}}, "InvalidFilterOption", ""},
		{"bad token", ssm.GetParametersByPathInput{Path: aws.String("/app"), NextToken: aws.String("!!")}, "InvalidNextToken", ""},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.GetParametersByPath(ctx, &tt.in)
			wantError(t, "GetParametersByPath("+tt.name+")", err, tt.code, tt.msg)
		})
	}
}

func TestResolve(t *testing.T) {
	e := start(t)
	e.put("/svc/token", "t1", types.ParameterTypeSecureString)
	e.put("/svc/token", "t2", types.ParameterTypeSecureString, overwrite)
	e.put("plain", "p", types.ParameterTypeString)
	if _, err := e.client.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{Name: aws.String("/svc/token"), Labels: []string{"old"}, ParameterVersion: aws.Int64(1)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ ref, want string }{
		{"/svc/token", "t2"},
		{"/svc/token:1", "t1"},
		{"/svc/token:old", "t1"},
		{"arn:aws:ssm:us-east-1:000000000000:parameter/svc/token", "t2"},
		{"plain", "p"},
		{"/plain", "p"},
	}
	for _, tt := range tests {
		got, err := e.api.Resolve(ctx, account, region, tt.ref)
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", tt.ref, got, err, tt.want)
		}
	}
	for _, ref := range []string{"/svc/missing", "/svc/token:5", "/svc/token:new", "arn:aws:ssm:us-east-1:111111111111:parameter/svc/token"} {
		got, err := e.api.Resolve(ctx, account, region, ref)
		if !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("Resolve(%s) = %q, %v; want ErrNotFound", ref, got, err)
			continue
		}
		if strings.Contains(err.Error(), "t1") || strings.Contains(err.Error(), "t2") {
			t.Errorf("Resolve(%s) error %q carries a value", ref, err)
		}
	}
	// An ARN may name a parameter of the account in another region.
	if _, err := e.inRegion("eu-west-1").PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/eu/only"), Value: aws.String("eu"), Type: types.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.api.Resolve(ctx, account, region, "arn:aws:ssm:eu-west-1:000000000000:parameter/eu/only"); err != nil || got != "eu" {
		t.Errorf("Resolve(ARN in eu-west-1) = %q, %v; want eu", got, err)
	}
	if _, err := e.api.Resolve(ctx, account, region, "/eu/only"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Resolve(/eu/only) in us-east-1 = %v; want ErrNotFound", err)
	}
	if _, err := e.api.Resolve(ctx, "111111111111", region, "/svc/token"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Resolve(/svc/token) in another account = %v; want ErrNotFound", err)
	}
	if _, err := e.api.Resolve(ctx, account, region, "/svc/bad name"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Resolve(/svc/bad name) = %v; want ErrInvalidArgument", err)
	}
}

func TestTenancy(t *testing.T) {
	e := start(t)
	e.put("/shared/name", "mine", types.ParameterTypeSecureString)
	other, eu := e.other(), e.inRegion("eu-west-1")
	for who, c := range map[string]*ssm.Client{"other account": other, "other region": eu} {
		t.Run(who, func(t *testing.T) {
			_, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/shared/name")})
			wantError(t, "GetParameter", err, "ParameterNotFound", "")
			_, err = c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("arn:aws:ssm:us-east-1:000000000000:parameter/shared/name")})
			wantError(t, "GetParameter(ARN of the owner)", err, "ParameterNotFound", "")
			d, err := c.DescribeParameters(ctx, &ssm.DescribeParametersInput{})
			if err != nil || len(d.Parameters) != 0 {
				t.Errorf("DescribeParameters = %v, %v; want none", metaNames(d.Parameters), err)
			}
			bp, err := c.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/"), Recursive: aws.Bool(true)})
			if err != nil || len(bp.Parameters) != 0 {
				t.Errorf("GetParametersByPath(/) = %v, %v; want none", names(bp.Parameters), err)
			}
			_, err = c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/shared/name")})
			wantError(t, "DeleteParameter", err, "ParameterNotFound", "")
			_, err = c.AddTagsToResource(ctx, &ssm.AddTagsToResourceInput{ResourceId: aws.String("/shared/name"), ResourceType: types.ResourceTypeForTaggingParameter, Tags: tagList("a", "b")})
			wantError(t, "AddTagsToResource", err, "InvalidResourceId", "")
			_, err = c.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/shared/name")})
			wantError(t, "GetParameterHistory", err, "ParameterNotFound", "")
			_, err = c.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{Name: aws.String("/shared/name"), Labels: []string{"x"}})
			wantError(t, "LabelParameterVersion", err, "ParameterNotFound", "")

			// The same name is a parameter of its own there.
			out, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/shared/name"), Value: aws.String("theirs"), Type: types.ParameterTypeSecureString})
			if err != nil || out.Version != 1 {
				t.Fatalf("PutParameter = %v, %v; want version 1", out, err)
			}
			got, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/shared/name"), WithDecryption: aws.Bool(true)})
			if err != nil || aws.ToString(got.Parameter.Value) != "theirs" {
				t.Errorf("GetParameter = %v, %v; want theirs", got, err)
			}
		})
	}
	if p := e.get("/shared/name", true); aws.ToString(p.Value) != "mine" || p.Version != 1 {
		t.Errorf("owner's GetParameter = %q v%d; want mine v1", aws.ToString(p.Value), p.Version)
	}
}
