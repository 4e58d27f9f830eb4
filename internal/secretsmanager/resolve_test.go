package secretsmanager_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/berthhq/berth/internal/errdefs"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	e := start(t)
	const doc = `{"username":"app","password":"pa:ss","port":5432,"opts":{"ssl": true},"none":null}`
	out := create(t, e.c, "db", doc, func(in *sm.CreateSecretInput) { in.ClientRequestToken = tok("v1") })
	put(t, e.c, "db", `{"password":"next"}`, withToken("v2"))
	create(t, e.c, "plain", "just-a-string")
	create(t, e.c, "bin", "", func(in *sm.CreateSecretInput) { in.SecretString, in.SecretBinary = nil, []byte("raw") })
	create(t, e.c, "gone", "x")
	if _, err := e.c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.ARN)
	partial := arn[:len(arn)-7]
	base := "arn:aws:secretsmanager:us-east-1:000000000000:secret:"
	const acct, region = "000000000000", "us-east-1"

	tests := []struct {
		name, ref, want string
	}{
		{"full ARN", arn, `{"password":"next"}`},
		{"partial ARN", partial, `{"password":"next"}`},
		{"json key", arn + ":password", "next"},
		{"json key, empty stage and version", arn + ":password::", "next"},
		{"previous stage", arn + ":password:AWSPREVIOUS:", "pa:ss"},
		{"version id", partial + ":username::" + *tok("v1"), "app"},
		{"number", partial + ":port:AWSPREVIOUS", "5432"},
		{"object", partial + ":opts:AWSPREVIOUS", `{"ssl":true}`},
		{"null", partial + ":none:AWSPREVIOUS", "null"},
		{"whole previous value", partial + "::AWSPREVIOUS", doc},
		{"plain string", base + "plain", "just-a-string"},
		{"binary", base + "bin", "raw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.api.Resolve(ctx, acct, region, tt.ref)
			if err != nil || got != tt.want {
				t.Errorf("Resolve(%s) = %q, %v; want %q", tt.ref, got, err, tt.want)
			}
		})
	}

	bad := []struct {
		name, account, ref string
		class              error
		says               string // the error names what is missing
	}{
		{"missing key", acct, arn + ":nope", errdefs.ErrNotFound, `has no JSON key "nope"`},
		{"missing secret", acct, base + "nope", errdefs.ErrNotFound, "no such secret"},
		{"missing stage", acct, partial + "::AWSPENDING", errdefs.ErrNotFound, "no version with the staging label AWSPENDING"},
		{"missing version", acct, partial + ":::" + *tok("v9"), errdefs.ErrNotFound, "no version " + *tok("v9")},
		{"not JSON", acct, base + "plain:key", errdefs.ErrInvalidArgument, "is not a JSON object"},
		{"binary with key", acct, base + "bin:key", errdefs.ErrInvalidArgument, "SecretBinary"},
		{"deleted", acct, base + "gone", errdefs.ErrInvalidArgument, "marked for deletion"},
		{"another account", "111111111111", arn, errdefs.ErrAccessDenied, "belongs to account 000000000000"},
		{"not an ARN", acct, "db", errdefs.ErrInvalidArgument, "not a Secrets Manager secret ARN"},
		{"SSM ARN", acct, "arn:aws:ssm:us-east-1:000000000000:parameter/db", errdefs.ErrInvalidArgument, "not a Secrets Manager secret ARN"},
		{"too many fields", acct, arn + ":a:b:c:d", errdefs.ErrInvalidArgument, "json-key"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.api.Resolve(ctx, tt.account, region, tt.ref)
			if err == nil || !errors.Is(err, tt.class) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Resolve(%s) = %q, %v; want a %v error saying %q", tt.ref, got, err, tt.class, tt.says)
			}
			for _, secret := range []string{"pa:ss", "next", "just-a-string", "raw", "5432"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("Resolve(%s) error %q quotes a secret value", tt.ref, err)
				}
			}
		})
	}
}
