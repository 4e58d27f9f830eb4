package ssm_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func TestPutAndGet(t *testing.T) {
	e := start(t)
	tests := []struct {
		name, value string
		typ         types.ParameterType
	}{
		{"plain", "hello", types.ParameterTypeString},
		{"/app/list", "a,b,c", types.ParameterTypeStringList},
		{"/app/db/password", "hunter2", types.ParameterTypeSecureString},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := e.put(tt.name, tt.value, tt.typ)
			if out.Version != 1 || out.Tier != types.ParameterTierStandard {
				t.Errorf("PutParameter(%s) = version %d, tier %s; want 1, Standard", tt.name, out.Version, out.Tier)
			}
			p := e.get(tt.name, true)
			wantARN := "arn:aws:ssm:us-east-1:000000000000:parameter/" + strings.TrimPrefix(tt.name, "/")
			if aws.ToString(p.Name) != tt.name || aws.ToString(p.Value) != tt.value || p.Type != tt.typ || p.Version != 1 ||
				aws.ToString(p.ARN) != wantARN || aws.ToString(p.DataType) != "text" || p.Selector != nil {
				t.Errorf("GetParameter(%s) = %+v; want name %s, value %q, type %s, version 1, ARN %s, DataType text", tt.name, p, tt.name, tt.value, tt.typ, wantARN)
			}
			if got := aws.ToTime(p.LastModifiedDate); !got.Equal(e.clock.Now()) {
				t.Errorf("GetParameter(%s).LastModifiedDate = %v; want %v", tt.name, got, e.clock.Now())
			}
		})
	}

	// Overwrite adds versions; the type may be left out and is kept.
	e.clock.Advance(time.Minute)
	out := e.put("plain", "hello again", "", overwrite)
	if out.Version != 2 {
		t.Errorf("PutParameter(plain, Overwrite) version = %d; want 2", out.Version)
	}
	p := e.get("plain", false)
	if aws.ToString(p.Value) != "hello again" || p.Version != 2 || p.Type != types.ParameterTypeString {
		t.Errorf("GetParameter(plain) after overwrite = %q v%d %s; want %q v2 String", aws.ToString(p.Value), p.Version, p.Type, "hello again")
	}
	// The type may change with an overwrite.
	e.put("plain", "now secret", types.ParameterTypeSecureString, overwrite)
	if p := e.get("plain", true); p.Type != types.ParameterTypeSecureString || aws.ToString(p.Value) != "now secret" {
		t.Errorf("GetParameter(plain) after a type change = %s %q; want SecureString %q", p.Type, aws.ToString(p.Value), "now secret")
	}
}

func TestPutErrors(t *testing.T) {
	e := start(t)
	e.put("exists", "v1", types.ParameterTypeString, func(in *ssm.PutParameterInput) {
		in.AllowedPattern = aws.String(`^v\d+$`)
	})
	deep := strings.Repeat("/l", 16)
	tests := []struct {
		name string
		in   ssm.PutParameterInput
		code string
		msg  string
	}{
		{"exists without overwrite", ssm.PutParameterInput{Name: aws.String("exists"), Value: aws.String("v2"), Type: types.ParameterTypeString},
			"ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true."},
		{"exists with leading slash", ssm.PutParameterInput{Name: aws.String("/exists"), Value: aws.String("v2"), Type: types.ParameterTypeString},
			"ParameterAlreadyExists", ""},
		{"tags and overwrite", ssm.PutParameterInput{Name: aws.String("exists"), Value: aws.String("v2"), Overwrite: aws.Bool(true), Tags: tagList("a", "b")},
			"ValidationException", "tags and overwrite can't be used together"},
		{"no type on create", ssm.PutParameterInput{Name: aws.String("new"), Value: aws.String("x")},
			"ValidationException", "A parameter type is required when you create a parameter."},
		{"pattern mismatch", ssm.PutParameterInput{Name: aws.String("exists"), Value: aws.String("nope"), Overwrite: aws.Bool(true)},
			"ParameterPatternMismatchException", "Parameter value, cannot be validated against allowedPattern: ^v\\d+$"},
		{"new pattern mismatch", ssm.PutParameterInput{Name: aws.String("new"), Value: aws.String("abc"), Type: types.ParameterTypeString, AllowedPattern: aws.String(`^\d+$`)},
			"ParameterPatternMismatchException", ""},
		{"bad pattern", ssm.PutParameterInput{Name: aws.String("new"), Value: aws.String("abc"), Type: types.ParameterTypeString, AllowedPattern: aws.String(`(`)},
			"InvalidAllowedPatternException", ""},
		{"aws prefix", ssm.PutParameterInput{Name: aws.String("awsthing"), Value: aws.String("x"), Type: types.ParameterTypeString},
			"ValidationException", `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive).`},
		{"SSM prefix", ssm.PutParameterInput{Name: aws.String("/SSMthing"), Value: aws.String("x"), Type: types.ParameterTypeString},
			"ValidationException", `can't be prefixed with "aws" or "ssm"`},
		{"aws path", ssm.PutParameterInput{Name: aws.String("/aws/service/x"), Value: aws.String("x"), Type: types.ParameterTypeString},
			"AccessDeniedException", "No access to reserved parameter name: /aws/service/x."},
		{"ssm path", ssm.PutParameterInput{Name: aws.String("/ssm/x"), Value: aws.String("x"), Type: types.ParameterTypeString},
			"ValidationException", "If formed as a path"},
		{"path without leading slash", ssm.PutParameterInput{Name: aws.String("app/db"), Value: aws.String("x"), Type: types.ParameterTypeString},
			"ValidationException", "If formed as a path, it can consist of sub-paths divided by slash symbol"},
		{"empty level", ssm.PutParameterInput{Name: aws.String("/app//db"), Value: aws.String("x"), Type: types.ParameterTypeString},
			"ValidationException", "If formed as a path"},
		{"trailing slash", ssm.PutParameterInput{Name: aws.String("/app/"), Value: aws.String("x"), Type: types.ParameterTypeString},
			"ValidationException", "If formed as a path"},
		{"inner space", ssm.PutParameterInput{Name: aws.String("/app/db host"), Value: aws.String("x"), Type: types.ParameterTypeString},
			"ValidationException", ""},
		{"bad character", ssm.PutParameterInput{Name: aws.String("/app/db$"), Value: aws.String("x"), Type: types.ParameterTypeString},
			"ValidationException", ""},
		{"16 levels", ssm.PutParameterInput{Name: aws.String(deep), Value: aws.String("x"), Type: types.ParameterTypeString},
			"HierarchyLevelLimitExceededException", "A hierarchy can have a maximum of 15 levels."},
		{"name too long", ssm.PutParameterInput{Name: aws.String(strings.Repeat("n", 2049)), Value: aws.String("x"), Type: types.ParameterTypeString},
			"ValidationException", "Member must have length less than or equal to 2048"},
		{"empty name", ssm.PutParameterInput{Name: aws.String(""), Value: aws.String("x"), Type: types.ParameterTypeString},
			"ValidationException", "Member must have length greater than or equal to 1"},
		{"empty value", ssm.PutParameterInput{Name: aws.String("new"), Value: aws.String(""), Type: types.ParameterTypeString},
			"ValidationException", "Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"bad type", ssm.PutParameterInput{Name: aws.String("new"), Value: aws.String("x"), Type: "Secret"},
			"ValidationException", "Member must satisfy enum value set: [String, StringList, SecureString]"},
		{"bad tier", ssm.PutParameterInput{Name: aws.String("new"), Value: aws.String("x"), Type: types.ParameterTypeString, Tier: "Premium"},
			"ValidationException", "Value 'Premium' at 'tier' failed to satisfy constraint"},
		{"standard too large", ssm.PutParameterInput{Name: aws.String("new"), Value: aws.String(strings.Repeat("x", 4097)), Type: types.ParameterTypeString},
			"ValidationException", "Standard tier parameters support a maximum parameter value of 4096 characters."},
		{"advanced too large", ssm.PutParameterInput{Name: aws.String("new"), Value: aws.String(strings.Repeat("x", 8193)), Type: types.ParameterTypeString, Tier: types.ParameterTierAdvanced},
			"ValidationException", "8192"},
		{"key id on a String", ssm.PutParameterInput{Name: aws.String("new"), Value: aws.String("x"), Type: types.ParameterTypeString, KeyId: aws.String("alias/mine")},
			"ValidationException", "KeyId is required for SecureString type parameter only."},
		{"malformed key id", ssm.PutParameterInput{Name: aws.String("new"), Value: aws.String("x"), Type: types.ParameterTypeSecureString, KeyId: aws.String("bad key")},
			"ValidationException", "at 'keyId' failed to satisfy constraint"},
		{"policies", ssm.PutParameterInput{Name: aws.String("new"), Value: aws.String("x"), Type: types.ParameterTypeString, Tier: types.ParameterTierAdvanced, Policies: aws.String(`[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-01-01T00:00:00Z"}}]`)},
			"InvalidPolicyTypeException", ""},
		{"unsupported data type", ssm.PutParameterInput{Name: aws.String("new"), Value: aws.String("x"), Type: types.ParameterTypeString, DataType: aws.String("Text")},
			"ValidationException", "The following data type is not supported: Text (Data type names are all lowercase.)"},
		{"ami data type on a SecureString", ssm.PutParameterInput{Name: aws.String("new"), Value: aws.String("ami-0123456789abcdef0"), Type: types.ParameterTypeSecureString, DataType: aws.String("aws:ec2:image")},
			"ValidationException", ""},
		{"bad ami", ssm.PutParameterInput{Name: aws.String("new"), Value: aws.String("not-an-ami"), Type: types.ParameterTypeString, DataType: aws.String("aws:ec2:image")},
			"ValidationException", ""},
		{"nested parameter", ssm.PutParameterInput{Name: aws.String("new"), Value: aws.String("{{ssm:other}}"), Type: types.ParameterTypeString},
			"ValidationException", "can't nest another parameter"},
		{"bad tag", ssm.PutParameterInput{Name: aws.String("new"), Value: aws.String("x"), Type: types.ParameterTypeString, Tags: tagList(strings.Repeat("k", 129), "v")},
			"ValidationException", "Member must have length less than or equal to 128"},
		{"downgrade tier", ssm.PutParameterInput{Name: aws.String("advanced"), Value: aws.String("x"), Overwrite: aws.Bool(true), Tier: types.ParameterTierStandard},
			"ValidationException", "You can't downgrade a parameter from the advanced-parameter tier"},
	}
	e.put("advanced", "x", types.ParameterTypeString, func(in *ssm.PutParameterInput) { in.Tier = types.ParameterTierAdvanced })
	before := e.docs()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.PutParameter(ctx, &tt.in)
			wantError(t, fmt.Sprintf("PutParameter(%s)", tt.name), err, tt.code, tt.msg)
		})
	}
	after := e.docs()
	if len(after) != len(before) {
		t.Errorf("failed PutParameters changed the stored documents: %d before, %d after", len(before), len(after))
	}
	for k, v := range before {
		if string(after[k]) != string(v) {
			t.Errorf("failed PutParameters changed document %q", k)
		}
	}
	if p := e.get("exists", false); aws.ToString(p.Value) != "v1" || p.Version != 1 {
		t.Errorf("GetParameter(exists) after failed puts = %q v%d; want v1 v1", aws.ToString(p.Value), p.Version)
	}
}

func TestPutNames(t *testing.T) {
	e := start(t)
	ok := []string{
		"simple", "with.dots-and_underscores", "/one", "/a/b/c", strings.Repeat("/l", 15), "  trimmed  ", "/app-aws/x/ssm",
	}
	for _, n := range ok {
		if _, err := e.client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(n), Value: aws.String("v"), Type: types.ParameterTypeString}); err != nil {
			t.Errorf("PutParameter(%q) = %v; want success", n, err)
		}
	}
	// "/one" and "one" are the same parameter; so are names with spaces
	// around them.
	if p := e.get("one", false); p.Version != 1 || aws.ToString(p.Name) != "one" {
		t.Errorf("GetParameter(one) = %s v%d; want one v1", aws.ToString(p.Name), p.Version)
	}
	if p := e.get("/one", false); aws.ToString(p.Name) != "/one" {
		t.Errorf("GetParameter(/one).Name = %s; want /one", aws.ToString(p.Name))
	}
	e.get("trimmed", false)
}

func TestTiers(t *testing.T) {
	e := start(t)
	big := strings.Repeat("x", 5000)
	tests := []struct {
		name  string
		tier  types.ParameterTier
		value string
		want  types.ParameterTier
	}{
		{"default", "", "small", types.ParameterTierStandard},
		{"standard", types.ParameterTierStandard, "small", types.ParameterTierStandard},
		{"advanced", types.ParameterTierAdvanced, "small", types.ParameterTierAdvanced},
		{"intelligent small", types.ParameterTierIntelligentTiering, "small", types.ParameterTierStandard},
		{"intelligent large", types.ParameterTierIntelligentTiering, big, types.ParameterTierAdvanced},
		{"advanced large", types.ParameterTierAdvanced, big, types.ParameterTierAdvanced},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "/tier/" + strings.ReplaceAll(tt.name, " ", "-")
			out := e.put(name, tt.value, types.ParameterTypeString, func(in *ssm.PutParameterInput) { in.Tier = tt.tier })
			if out.Tier != tt.want {
				t.Errorf("PutParameter(tier %q, %d bytes).Tier = %s; want %s", tt.tier, len(tt.value), out.Tier, tt.want)
			}
			if got := aws.ToString(e.get(name, false).Value); got != tt.value {
				t.Errorf("GetParameter(%s) returned %d bytes; want %d", name, len(got), len(tt.value))
			}
		})
	}
	// An advanced parameter stays advanced when the tier is left out.
	out := e.put("/tier/advanced", "small again", "", overwrite)
	if out.Tier != types.ParameterTierAdvanced {
		t.Errorf("PutParameter(advanced, no tier).Tier = %s; want Advanced", out.Tier)
	}
}

func TestOverwriteKeepsAttributes(t *testing.T) {
	e := start(t)
	e.put("/k", "s1", types.ParameterTypeSecureString, func(in *ssm.PutParameterInput) {
		in.KeyId = aws.String("alias/custom")
		in.Description = aws.String("the key")
		in.AllowedPattern = aws.String("^s")
	})
	e.put("/k", "s2", "", overwrite)
	out, err := e.client.DescribeParameters(ctx, &ssm.DescribeParametersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Parameters) != 1 {
		t.Fatalf("DescribeParameters = %v; want one parameter", metaNames(out.Parameters))
	}
	m := out.Parameters[0]
	if aws.ToString(m.KeyId) != "alias/custom" || aws.ToString(m.Description) != "the key" || aws.ToString(m.AllowedPattern) != "^s" || m.Version != 2 || m.Type != types.ParameterTypeSecureString {
		t.Errorf("DescribeParameters after an overwrite = KeyId %s, Description %s, AllowedPattern %s, v%d %s; want the attributes of version 1, v2 SecureString",
			aws.ToString(m.KeyId), aws.ToString(m.Description), aws.ToString(m.AllowedPattern), m.Version, m.Type)
	}
	_, err = e.client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/k"), Value: aws.String("x"), Overwrite: aws.Bool(true)})
	wantError(t, "PutParameter(/k, value against the kept pattern)", err, "ParameterPatternMismatchException", "")
}

// TestSecureStringAtRest checks that a SecureString value is never stored in
// plaintext, nor shown without decryption, nor logged.
func TestSecureStringAtRest(t *testing.T) {
	e := start(t)
	marker := fmt.Sprintf("marker-%d-s3cr3t", time.Now().UnixNano())
	e.put("/app/secret", marker, types.ParameterTypeSecureString)
	e.put("/app/secret", marker+"-v2", types.ParameterTypeSecureString, overwrite)
	e.put("/app/plain", "plain-"+marker, types.ParameterTypeString)
	if _, err := e.client.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{Name: aws.String("/app/secret"), Labels: []string{"prod"}, ParameterVersion: aws.Int64(1)}); err != nil {
		t.Fatal(err)
	}

	p := e.get("/app/secret", false)
	if v := aws.ToString(p.Value); strings.Contains(v, marker) || v == "" {
		t.Errorf("GetParameter(/app/secret, no decryption).Value = %q; want ciphertext", v)
	} else if _, err := base64.StdEncoding.DecodeString(v); err != nil {
		t.Errorf("GetParameter(/app/secret, no decryption).Value is not base64: %v", err)
	}
	if got := aws.ToString(e.get("/app/secret", true).Value); got != marker+"-v2" {
		t.Errorf("GetParameter(/app/secret, WithDecryption).Value = %q; want %q", got, marker+"-v2")
	}
	if got := aws.ToString(e.get("/app/secret:prod", true).Value); got != marker {
		t.Errorf("GetParameter(/app/secret:prod, WithDecryption).Value = %q; want %q", got, marker)
	}
	hist, err := e.client.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/app/secret")})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hist.Parameters {
		if strings.Contains(aws.ToString(h.Value), marker) {
			t.Errorf("GetParameterHistory without decryption shows the plaintext of version %d", h.Version)
		}
	}

	found := false
	for key, v := range e.docs() {
		if strings.Contains(string(v), "plain-"+marker) {
			found = true // the scan does see values: String ones are stored as they are
			continue
		}
		if strings.Contains(string(v), marker) || strings.Contains(key, marker) {
			t.Errorf("document %q holds a SecureString value in plaintext", key)
		}
	}
	if !found {
		t.Errorf("no document holds the String value; the scan for plaintext proves nothing")
	}
	if strings.Contains(e.logs.String(), marker) {
		t.Errorf("the log holds a value")
	}
}
