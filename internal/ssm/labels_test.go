package ssm_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func history(t *testing.T, e *env, name string, pageSize int32) []types.ParameterHistory {
	t.Helper()
	var out []types.ParameterHistory
	in := &ssm.GetParameterHistoryInput{Name: aws.String(name), WithDecryption: aws.Bool(true)}
	if pageSize > 0 {
		in.MaxResults = aws.Int32(pageSize)
	}
	p := ssm.NewGetParameterHistoryPaginator(e.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("GetParameterHistory(%s) = %v", name, err)
		}
		if pageSize > 0 && len(page.Parameters) > int(pageSize) {
			t.Fatalf("GetParameterHistory(MaxResults %d) returned %d", pageSize, len(page.Parameters))
		}
		out = append(out, page.Parameters...)
	}
	return out
}

// labels renders the labels of each version, "v1:a,b v2: ...".
func labels(hist []types.ParameterHistory) string {
	var parts []string
	for _, h := range hist {
		l := slices.Clone(h.Labels)
		slices.Sort(l)
		parts = append(parts, fmt.Sprintf("v%d:%s", h.Version, strings.Join(l, ",")))
	}
	return strings.Join(parts, " ")
}

func TestLabelsAndHistory(t *testing.T) {
	e := start(t)
	for i := 1; i <= 3; i++ {
		e.put("/svc/conf", fmt.Sprintf("value-%d", i), types.ParameterTypeSecureString, overwrite, func(in *ssm.PutParameterInput) {
			in.Description = aws.String(fmt.Sprintf("rev %d", i))
		})
		e.clock.Advance(time.Hour)
	}
	label := func(v int64, ls ...string) *ssm.LabelParameterVersionOutput {
		t.Helper()
		in := &ssm.LabelParameterVersionInput{Name: aws.String("/svc/conf"), Labels: ls}
		if v > 0 {
			in.ParameterVersion = aws.Int64(v)
		}
		out, err := e.client.LabelParameterVersion(ctx, in)
		if err != nil {
			t.Fatalf("LabelParameterVersion(v%d, %v) = %v", v, ls, err)
		}
		return out
	}

	out := label(1, "prod", "stable")
	if out.ParameterVersion != 1 || len(out.InvalidLabels) != 0 {
		t.Errorf("LabelParameterVersion(v1) = version %d, invalid %v; want 1, none", out.ParameterVersion, out.InvalidLabels)
	}
	if out := label(0, "latest"); out.ParameterVersion != 3 {
		t.Errorf("LabelParameterVersion(no version) labelled v%d; want the latest, 3", out.ParameterVersion)
	}
	// Moving a label.
	label(2, "prod")
	if got, want := labels(history(t, e, "/svc/conf", 0)), "v1:stable v2:prod v3:latest"; got != want {
		t.Errorf("labels after a move = %s; want %s", got, want)
	}
	// Invalid labels are reported, the valid ones applied.
	out = label(2, "1digit", "awsy", "SSM-x", "bad/char", "good_one.2-x")
	if want := []string{"1digit", "awsy", "SSM-x", "bad/char"}; !slices.Equal(out.InvalidLabels, want) {
		t.Errorf("LabelParameterVersion InvalidLabels = %v; want %v", out.InvalidLabels, want)
	}
	if got, want := labels(history(t, e, "/svc/conf", 0)), "v1:stable v2:good_one.2-x,prod v3:latest"; got != want {
		t.Errorf("labels = %s; want %s", got, want)
	}
	if p := e.get("/svc/conf:good_one.2-x", true); aws.ToString(p.Value) != "value-2" {
		t.Errorf("GetParameter(:good_one.2-x) = %q; want value-2", aws.ToString(p.Value))
	}

	// At most ten labels per version.
	var eight []string
	for i := range 8 {
		eight = append(eight, fmt.Sprintf("l%d", i))
	}
	label(2, eight...) // 10 on v2 now
	before := labels(history(t, e, "/svc/conf", 0))
	_, err := e.client.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{Name: aws.String("/svc/conf"), Labels: []string{"eleventh"}, ParameterVersion: aws.Int64(2)})
	wantError(t, "LabelParameterVersion(11th label)", err, "ParameterVersionLabelLimitExceeded", "")
	if after := labels(history(t, e, "/svc/conf", 0)); after != before {
		t.Errorf("labels after a refused label = %s; want unchanged %s", after, before)
	}
	// Re-applying a label a version already has is not a new one.
	label(2, "prod")

	// History: all versions, oldest first, with their attributes, in pages.
	hist := history(t, e, "/svc/conf", 2)
	if len(hist) != 3 {
		t.Fatalf("GetParameterHistory = %d versions; want 3", len(hist))
	}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, h := range hist {
		v := int64(i + 1)
		if h.Version != v || aws.ToString(h.Value) != fmt.Sprintf("value-%d", v) || aws.ToString(h.Description) != fmt.Sprintf("rev %d", v) ||
			aws.ToString(h.Name) != "/svc/conf" || aws.ToString(h.KeyId) != "alias/aws/ssm" || h.Type != types.ParameterTypeSecureString ||
			!aws.ToTime(h.LastModifiedDate).Equal(start.Add(time.Duration(i)*time.Hour)) || aws.ToString(h.LastModifiedUser) == "" {
			t.Errorf("history[%d] = %+v", i, h)
		}
	}
	plain, err := e.client.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/svc/conf")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(plain.Parameters[0].Value) == "value-1" {
		t.Errorf("GetParameterHistory without decryption shows a SecureString value")
	}

	// Unlabel.
	un, err := e.client.UnlabelParameterVersion(ctx, &ssm.UnlabelParameterVersionInput{Name: aws.String("/svc/conf"), ParameterVersion: aws.Int64(2), Labels: []string{"prod", "stable", "nope"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(un.RemovedLabels, []string{"prod"}) || !slices.Equal(un.InvalidLabels, []string{"stable", "nope"}) {
		t.Errorf("UnlabelParameterVersion = removed %v, invalid %v; want [prod], [stable nope]", un.RemovedLabels, un.InvalidLabels)
	}
	_, err = e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/svc/conf:prod")})
	wantError(t, "GetParameter(:prod) after unlabel", err, "ParameterNotFound", "")

	errs := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"label missing parameter", func() error {
			_, err := e.client.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{Name: aws.String("/svc/none"), Labels: []string{"x"}})
			return err
		}, "ParameterNotFound", ""},
		{"label missing version", func() error {
			_, err := e.client.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{Name: aws.String("/svc/conf"), Labels: []string{"x"}, ParameterVersion: aws.Int64(7)})
			return err
		}, "ParameterVersionNotFound", "Systems Manager could not find version 7 of /svc/conf."},
		{"eleven labels at once", func() error {
			_, err := e.client.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{Name: aws.String("/svc/conf"), Labels: strings.Split("a b c d e f g h i j k", " ")})
			return err
		}, "ValidationException", "Member must have length less than or equal to 10"},
		{"long label", func() error {
			_, err := e.client.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{Name: aws.String("/svc/conf"), Labels: []string{strings.Repeat("x", 101)}})
			return err
		}, "ValidationException", "Member must have length less than or equal to 100"},
		{"no labels", func() error {
			_, err := e.client.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{Name: aws.String("/svc/conf"), Labels: []string{}})
			return err
		}, "ValidationException", ""},
		{"unlabel missing version", func() error {
			_, err := e.client.UnlabelParameterVersion(ctx, &ssm.UnlabelParameterVersionInput{Name: aws.String("/svc/conf"), Labels: []string{"x"}, ParameterVersion: aws.Int64(9)})
			return err
		}, "ParameterVersionNotFound", ""},
		{"unlabel missing parameter", func() error {
			_, err := e.client.UnlabelParameterVersion(ctx, &ssm.UnlabelParameterVersionInput{Name: aws.String("/svc/none"), Labels: []string{"x"}, ParameterVersion: aws.Int64(1)})
			return err
		}, "ParameterNotFound", ""},
		{"history of missing parameter", func() error {
			_, err := e.client.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/svc/none")})
			return err
		}, "ParameterNotFound", ""},
		{"history max results", func() error {
			_, err := e.client.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/svc/conf"), MaxResults: aws.Int32(51)})
			return err
		}, "ValidationException", "Member must have value less than or equal to 50"},
		{"history bad token", func() error {
			_, err := e.client.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/svc/conf"), NextToken: aws.String("eyJhIjoieCJ9")})
			return err
		}, "InvalidNextToken", ""},
	}
	before = labels(history(t, e, "/svc/conf", 0))
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) { wantError(t, tt.name, tt.call(), tt.code, tt.msg) })
	}
	if after := labels(history(t, e, "/svc/conf", 0)); after != before {
		t.Errorf("labels after failed calls = %s; want unchanged %s", after, before)
	}
}

// TestMaxVersions fills a parameter's hundred versions: the next put drops
// the oldest, unless the oldest carries a label.
func TestMaxVersions(t *testing.T) {
	e := start(t)
	for i := 1; i <= 100; i++ {
		e.put("/many", fmt.Sprintf("v%d", i), types.ParameterTypeString, overwrite)
	}
	if _, err := e.client.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{Name: aws.String("/many"), Labels: []string{"first"}, ParameterVersion: aws.Int64(1)}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/many"), Value: aws.String("v101"), Overwrite: aws.Bool(true)})
	wantError(t, "PutParameter(101st version, oldest labelled)", err, "ParameterMaxVersionLimitExceeded", "Version 1, the oldest version, can't be deleted because it has a label associated with it.")
	if p := e.get("/many", false); p.Version != 100 {
		t.Errorf("GetParameter(/many) after the refused put = v%d; want v100", p.Version)
	}

	// Move the label away: the 101st version drops version 1.
	if _, err := e.client.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{Name: aws.String("/many"), Labels: []string{"first"}, ParameterVersion: aws.Int64(2)}); err != nil {
		t.Fatal(err)
	}
	if out := e.put("/many", "v101", "", overwrite); out.Version != 101 {
		t.Errorf("PutParameter(101st) version = %d; want 101", out.Version)
	}
	hist := history(t, e, "/many", 0)
	if len(hist) != 100 || hist[0].Version != 2 || hist[99].Version != 101 {
		t.Errorf("history after 101 puts = %d versions, %d..%d; want 100, 2..101", len(hist), hist[0].Version, hist[len(hist)-1].Version)
	}
	_, err = e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/many:1")})
	wantError(t, "GetParameter(/many:1)", err, "ParameterVersionNotFound", "")
}
