package secretsmanager_test

import (
	"bytes"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

var arnRE = regexp.MustCompile(`^arn:aws:secretsmanager:us-east-1:000000000000:secret:(.+)-[A-Za-z0-9]{6}$`)

func TestCreateAndGetSecretValue(t *testing.T) {
	t.Parallel()
	e := start(t)
	out := create(t, e.c, "prod/db", `{"user":"app","password":"hunter2"}`, func(in *sm.CreateSecretInput) {
		in.ClientRequestToken = tok("v1")
		in.Description = aws.String("database login")
	})
	if m := arnRE.FindStringSubmatch(aws.ToString(out.ARN)); m == nil || m[1] != "prod/db" {
		t.Fatalf("CreateSecret(prod/db).ARN = %q; want arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/db-XXXXXX", aws.ToString(out.ARN))
	}
	if aws.ToString(out.Name) != "prod/db" || aws.ToString(out.VersionId) != *tok("v1") {
		t.Fatalf("CreateSecret(prod/db) = {Name: %q, VersionId: %q}; want {prod/db, %s}", aws.ToString(out.Name), aws.ToString(out.VersionId), *tok("v1"))
	}
	arn := aws.ToString(out.ARN)
	partial := strings.TrimSuffix(arn, arn[len(arn)-7:])
	for _, id := range []string{"prod/db", arn, partial} {
		got := get(t, e.c, &sm.GetSecretValueInput{SecretId: aws.String(id)})
		if aws.ToString(got.SecretString) != `{"user":"app","password":"hunter2"}` || got.SecretBinary != nil {
			t.Errorf("GetSecretValue(%s) value = %q, %v; want the SecretString created", id, aws.ToString(got.SecretString), got.SecretBinary)
		}
		if aws.ToString(got.ARN) != arn || aws.ToString(got.Name) != "prod/db" || aws.ToString(got.VersionId) != *tok("v1") {
			t.Errorf("GetSecretValue(%s) = {%s, %s, %s}; want {%s, prod/db, %s}", id, aws.ToString(got.ARN), aws.ToString(got.Name), aws.ToString(got.VersionId), arn, *tok("v1"))
		}
		if !reflect.DeepEqual(got.VersionStages, []string{"AWSCURRENT"}) {
			t.Errorf("GetSecretValue(%s).VersionStages = %v; want [AWSCURRENT]", id, got.VersionStages)
		}
		if got.CreatedDate == nil || !got.CreatedDate.Equal(t0) {
			t.Errorf("GetSecretValue(%s).CreatedDate = %v; want %v", id, got.CreatedDate, t0)
		}
	}

	bin := []byte{0, 1, 2, 0xff, 'x'}
	bout, err := e.c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("blob"), SecretBinary: bin})
	if err != nil {
		t.Fatal(err)
	}
	got := get(t, e.c, &sm.GetSecretValueInput{SecretId: bout.ARN})
	if !bytes.Equal(got.SecretBinary, bin) || got.SecretString != nil {
		t.Errorf("GetSecretValue(blob) = %v, %v; want SecretBinary %v only", got.SecretBinary, got.SecretString, bin)
	}

	d := describe(t, e.c, "prod/db")
	if aws.ToString(d.Description) != "database login" || !d.CreatedDate.Equal(t0) || !d.LastChangedDate.Equal(t0) {
		t.Errorf("DescribeSecret(prod/db) = {%q, created %v, changed %v}; want {database login, %v, %v}", aws.ToString(d.Description), d.CreatedDate, d.LastChangedDate, t0, t0)
	}
	if want := map[string][]string{*tok("v1"): {"AWSCURRENT"}}; !reflect.DeepEqual(d.VersionIdsToStages, want) {
		t.Errorf("DescribeSecret(prod/db).VersionIdsToStages = %v; want %v", d.VersionIdsToStages, want)
	}
	if d.LastAccessedDate == nil || !d.LastAccessedDate.Equal(t0.Truncate(24*time.Hour)) {
		t.Errorf("DescribeSecret(prod/db).LastAccessedDate = %v; want the day of the reads, %v", d.LastAccessedDate, t0.Truncate(24*time.Hour))
	}
	if d.DeletedDate != nil || d.KmsKeyId != nil || d.RotationEnabled != nil {
		t.Errorf("DescribeSecret(prod/db) = {DeletedDate %v, KmsKeyId %v, RotationEnabled %v}; want all omitted", d.DeletedDate, d.KmsKeyId, d.RotationEnabled)
	}

	// A secret without a value has no version.
	create(t, e.c, "empty", "", func(in *sm.CreateSecretInput) { in.SecretString = nil })
	_, err = e.c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("empty")})
	wantError(t, "GetSecretValue(empty)", err, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT")
	if d := describe(t, e.c, "empty"); d.VersionIdsToStages != nil {
		t.Errorf("DescribeSecret(empty).VersionIdsToStages = %v; want none", d.VersionIdsToStages)
	}
}

func TestCreateSecretIdempotency(t *testing.T) {
	t.Parallel()
	e := start(t)
	in := &sm.CreateSecretInput{Name: aws.String("api-key"), SecretString: aws.String("s3cr3t"), ClientRequestToken: tok("first")}
	first, err := e.c.CreateSecret(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.c.CreateSecret(ctx, in)
	if err != nil {
		t.Fatalf("CreateSecret(api-key) retried with the same token and value = %v; want the first answer", err)
	}
	if aws.ToString(again.ARN) != aws.ToString(first.ARN) || aws.ToString(again.VersionId) != aws.ToString(first.VersionId) {
		t.Errorf("CreateSecret(api-key) retry = {%s, %s}; want {%s, %s}", aws.ToString(again.ARN), aws.ToString(again.VersionId), aws.ToString(first.ARN), aws.ToString(first.VersionId))
	}

	changed := *in
	changed.SecretString = aws.String("other")
	_, err = e.c.CreateSecret(ctx, &changed)
	wantError(t, "CreateSecret(api-key, same token, other value)", err, "ResourceExistsException", "The operation failed because the secret api-key already exists.")
	_, err = e.c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("api-key"), SecretString: aws.String("s3cr3t")})
	wantError(t, "CreateSecret(api-key, new token)", err, "ResourceExistsException", "The operation failed because the secret api-key already exists.")
	if got := value(t, e.c, "api-key"); got != "s3cr3t" {
		t.Errorf("GetSecretValue(api-key) after refused creates = %q; want s3cr3t", got)
	}
	if vs := stagesOf(t, e.c, "api-key"); len(vs) != 1 {
		t.Errorf("DescribeSecret(api-key).VersionIdsToStages = %v; want the one version", vs)
	}

	// Without a value the token still makes the retry safe.
	noValue := &sm.CreateSecretInput{Name: aws.String("later"), ClientRequestToken: tok("later")}
	a, err := e.c.CreateSecret(ctx, noValue)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.c.CreateSecret(ctx, noValue)
	if err != nil || aws.ToString(b.ARN) != aws.ToString(a.ARN) || b.VersionId != nil {
		t.Errorf("CreateSecret(later) retry = %v, %v; want {%s, no VersionId}", b, err, aws.ToString(a.ARN))
	}
}

func TestCreateSecretInvalid(t *testing.T) {
	t.Parallel()
	e := start(t)
	long := strings.Repeat("a", 513)
	tests := []struct {
		name     string
		in       *sm.CreateSecretInput
		code     string
		msg      string
		wantName string // the name that must not exist afterwards
	}{
		{"bad characters", &sm.CreateSecretInput{Name: aws.String("my secret"), SecretString: aws.String("v")}, "ValidationException",
			"Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!", ""},
		{"name too long", &sm.CreateSecretInput{Name: aws.String(long), SecretString: aws.String("v")}, "ValidationException",
			"1 validation error detected: Value '" + long + "' at 'name' failed to satisfy constraint: Member must have length less than or equal to 512", ""},
		{"both values", &sm.CreateSecretInput{Name: aws.String("both"), SecretString: aws.String("v"), SecretBinary: []byte("v")}, "InvalidParameterException",
			"You can't specify both a binary secret value and a string secret value in the same secret.", "both"},
		{"empty string", &sm.CreateSecretInput{Name: aws.String("empty"), SecretString: aws.String("")}, "ValidationException",
			"1 validation error detected: Value '***' at 'secretString' failed to satisfy constraint: Member must have length greater than or equal to 1", "empty"},
		{"value too long", &sm.CreateSecretInput{Name: aws.String("huge"), SecretString: aws.String(strings.Repeat("x", 65537))}, "ValidationException",
			"1 validation error detected: Value '***' at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536", "huge"},
		{"short token", &sm.CreateSecretInput{Name: aws.String("short"), SecretString: aws.String("v"), ClientRequestToken: aws.String("abc")}, "ValidationException",
			"1 validation error detected: Value 'abc' at 'clientRequestToken' failed to satisfy constraint: Member must have length greater than or equal to 32", "short"},
		{"description too long", &sm.CreateSecretInput{Name: aws.String("desc"), SecretString: aws.String("v"), Description: aws.String(strings.Repeat("d", 2049))}, "ValidationException", "", "desc"},
		{"tag key too long", &sm.CreateSecretInput{Name: aws.String("tags"), SecretString: aws.String("v"), Tags: []types.Tag{{Key: aws.String(strings.Repeat("k", 129)), Value: aws.String("v")}}}, "ValidationException", "", "tags"},
		{"replica regions", &sm.CreateSecretInput{Name: aws.String("replica"), SecretString: aws.String("v"), AddReplicaRegions: []types.ReplicaRegionType{{Region: aws.String("eu-west-1")}}}, "InvalidRequestException",
			"Berth does not replicate secrets to other Regions (AddReplicaRegions).", "replica"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.c.CreateSecret(ctx, tt.in)
			wantError(t, "CreateSecret("+tt.name+")", err, tt.code, tt.msg)
			if tt.wantName != "" {
				_, err := e.c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(tt.wantName)})
				wantError(t, "DescribeSecret("+tt.wantName+") after the refused create", err, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			}
		})
	}
	if got := names(t, e.c, &sm.ListSecretsInput{IncludePlannedDeletion: aws.Bool(true)}); len(got) != 0 {
		t.Errorf("ListSecrets after refused creates = %v; want none", got)
	}
}

func TestRawRequests(t *testing.T) {
	t.Parallel()
	e := start(t)
	create(t, e.c, "raw", "v")
	tests := []struct {
		op, body string
		typ, msg string
	}{
		{"CreateSecret", `{"Name":"x","SecretString":"v"}`, "InvalidRequestException", "You must provide a ClientRequestToken value. We recommend a UUID-type value."},
		{"PutSecretValue", `{"SecretId":"raw","SecretString":"v"}`, "InvalidRequestException", "You must provide a ClientRequestToken value. We recommend a UUID-type value."},
		{"PutSecretValue", `{"SecretId":"raw","ClientRequestToken":"` + *tok("t") + `"}`, "InvalidRequestException", "You must provide either SecretString or SecretBinary."},
		{"GetSecretValue", `{}`, "ValidationException", "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"},
		{"CreateSecret", `{}`, "ValidationException", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"},
		{"UpdateSecretVersionStage", `{"SecretId":"raw"}`, "ValidationException", "1 validation error detected: Value null at 'versionStage' failed to satisfy constraint: Member must not be null"},
		{"TagResource", `{"SecretId":"raw"}`, "ValidationException", "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null"},
		{"GetSecretValue", `{"SecretId":"raw","VersionId":"short"}`, "ValidationException", "1 validation error detected: Value 'short' at 'versionId' failed to satisfy constraint: Member must have length greater than or equal to 32"},
		{"ListSecrets", `{"MaxResults":0}`, "ValidationException", "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"ListSecrets", `{"NextToken":"garbage"}`, "InvalidNextTokenException", "The NextToken value is invalid."},
		{"ListSecrets", `{"SortOrder":"up"}`, "ValidationException", "1 validation error detected: Value 'up' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [asc, desc]"},
		{"RotateSecret", `{"SecretId":"raw"}`, "InvalidRequestException", "No Lambda rotation function ARN is associated with this secret."},
	}
	for _, tt := range tests {
		t.Run(tt.op+" "+tt.body, func(t *testing.T) {
			r := rawCall(t, e, tt.op, tt.body)
			if r.Status != 400 || r.Type != tt.typ || r.Message != tt.msg {
				t.Errorf("%s(%s) = %d %s %q; want 400 %s %q", tt.op, tt.body, r.Status, r.Type, r.Message, tt.typ, tt.msg)
			}
		})
	}
	if got := value(t, e.c, "raw"); got != "v" {
		t.Errorf("GetSecretValue(raw) after refused calls = %q; want v", got)
	}
	if got := names(t, e.c, &sm.ListSecretsInput{}); !reflect.DeepEqual(got, []string{"raw"}) {
		t.Errorf("ListSecrets after refused calls = %v; want [raw]", got)
	}
}

func TestUpdateSecret(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := create(t, e.c, "svc", "one", func(in *sm.CreateSecretInput) { in.ClientRequestToken = tok("one") })

	e.clock.Advance(time.Hour)
	out, err := e.c.UpdateSecret(ctx, &sm.UpdateSecretInput{SecretId: aws.String("svc"), Description: aws.String("new"), KmsKeyId: aws.String("alias/app")})
	if err != nil {
		t.Fatal(err)
	}
	if out.VersionId != nil || aws.ToString(out.ARN) != aws.ToString(c.ARN) {
		t.Errorf("UpdateSecret(svc, metadata) = {%s, %v}; want {%s, no VersionId}", aws.ToString(out.ARN), out.VersionId, aws.ToString(c.ARN))
	}
	d := describe(t, e.c, "svc")
	if aws.ToString(d.Description) != "new" || aws.ToString(d.KmsKeyId) != "alias/app" || !d.LastChangedDate.Equal(t0.Add(time.Hour)) {
		t.Errorf("DescribeSecret(svc) = {%q, %q, changed %v}; want {new, alias/app, %v}", aws.ToString(d.Description), aws.ToString(d.KmsKeyId), d.LastChangedDate, t0.Add(time.Hour))
	}

	in := &sm.UpdateSecretInput{SecretId: aws.String("svc"), SecretString: aws.String("two"), ClientRequestToken: tok("two")}
	out, err = e.c.UpdateSecret(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.VersionId) != *tok("two") {
		t.Errorf("UpdateSecret(svc, value).VersionId = %v; want %s", out.VersionId, *tok("two"))
	}
	if _, err := e.c.UpdateSecret(ctx, in); err != nil {
		t.Errorf("UpdateSecret(svc) retried with the same token and value = %v; want success", err)
	}
	want := map[string][]string{*tok("one"): {"AWSPREVIOUS"}, *tok("two"): {"AWSCURRENT"}}
	if got := stagesOf(t, e.c, "svc"); !reflect.DeepEqual(got, want) {
		t.Errorf("VersionIdsToStages after UpdateSecret = %v; want %v", got, want)
	}
	if got := value(t, e.c, "svc"); got != "two" {
		t.Errorf("GetSecretValue(svc) = %q; want two", got)
	}
	vs, err := e.c.ListSecretVersionIds(ctx, &sm.ListSecretVersionIdsInput{SecretId: aws.String("svc")})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Versions {
		if !reflect.DeepEqual(v.KmsKeyIds, []string{"alias/app"}) {
			t.Errorf("ListSecretVersionIds(svc) version %s KmsKeyIds = %v; want [alias/app]", aws.ToString(v.VersionId), v.KmsKeyIds)
		}
	}

	in.SecretString = aws.String("changed")
	_, err = e.c.UpdateSecret(ctx, in)
	wantError(t, "UpdateSecret(svc, reused token, other value)", err, "ResourceExistsException", "You can't modify an existing version, you can only create new versions.")
	_, err = e.c.UpdateSecret(ctx, &sm.UpdateSecretInput{SecretId: aws.String("nope"), Description: aws.String("x")})
	wantError(t, "UpdateSecret(nope)", err, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	if got := value(t, e.c, "svc"); got != "two" {
		t.Errorf("GetSecretValue(svc) after refused update = %q; want two", got)
	}
}

func TestTags(t *testing.T) {
	t.Parallel()
	e := start(t)
	create(t, e.c, "tagged", "v", func(in *sm.CreateSecretInput) {
		in.Tags = []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}, {Key: aws.String("env"), Value: aws.String("dev")}}
	})
	if got, want := tagMap(describe(t, e.c, "tagged").Tags), map[string]string{"team": "web", "env": "dev"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("DescribeSecret(tagged).Tags = %v; want %v", got, want)
	}
	if _, err := e.c.TagResource(ctx, &sm.TagResourceInput{SecretId: aws.String("tagged"), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}, {Key: aws.String("cost"), Value: aws.String("")}}}); err != nil {
		t.Fatal(err)
	}
	if got, want := tagMap(describe(t, e.c, "tagged").Tags), map[string]string{"team": "web", "env": "prod", "cost": ""}; !reflect.DeepEqual(got, want) {
		t.Errorf("DescribeSecret(tagged).Tags after TagResource = %v; want %v", got, want)
	}
	if _, err := e.c.UntagResource(ctx, &sm.UntagResourceInput{SecretId: aws.String("tagged"), TagKeys: []string{"team", "never"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := tagMap(describe(t, e.c, "tagged").Tags), map[string]string{"env": "prod", "cost": ""}; !reflect.DeepEqual(got, want) {
		t.Errorf("DescribeSecret(tagged).Tags after UntagResource = %v; want %v", got, want)
	}
	_, err := e.c.TagResource(ctx, &sm.TagResourceInput{SecretId: aws.String("missing"), Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	wantError(t, "TagResource(missing)", err, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
}

func TestResourcePolicy(t *testing.T) {
	t.Parallel()
	e := start(t)
	create(t, e.c, "shared", "v")
	got, err := e.c.GetResourcePolicy(ctx, &sm.GetResourcePolicyInput{SecretId: aws.String("shared")})
	if err != nil || got.ResourcePolicy != nil || aws.ToString(got.Name) != "shared" {
		t.Fatalf("GetResourcePolicy(shared) = %+v, %v; want no policy", got, err)
	}
	policy := `{"Version":"2012-10-17","Statement":[]}`
	if _, err := e.c.PutResourcePolicy(ctx, &sm.PutResourcePolicyInput{SecretId: aws.String("shared"), ResourcePolicy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	got, err = e.c.GetResourcePolicy(ctx, &sm.GetResourcePolicyInput{SecretId: aws.String("shared")})
	if err != nil || aws.ToString(got.ResourcePolicy) != policy {
		t.Errorf("GetResourcePolicy(shared) = %v, %v; want %s", got, err, policy)
	}
	_, err = e.c.PutResourcePolicy(ctx, &sm.PutResourcePolicyInput{SecretId: aws.String("shared"), ResourcePolicy: aws.String("{not json")})
	wantError(t, "PutResourcePolicy(shared, bad JSON)", err, "MalformedPolicyDocumentException", "")
	if _, err := e.c.DeleteResourcePolicy(ctx, &sm.DeleteResourcePolicyInput{SecretId: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	got, err = e.c.GetResourcePolicy(ctx, &sm.GetResourcePolicyInput{SecretId: aws.String("shared")})
	if err != nil || got.ResourcePolicy != nil {
		t.Errorf("GetResourcePolicy(shared) after delete = %v, %v; want no policy", got, err)
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	e := start(t)
	create(t, e.c, "rot", "v")
	_, err := e.c.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String("rot"), RotationLambdaARN: aws.String("arn:aws:lambda:us-east-1:000000000000:function:rotate")})
	wantError(t, "RotateSecret(rot)", err, "InvalidRequestException", "Berth does not rotate secrets: rotation runs a Lambda function, and Berth runs none.")
	_, err = e.c.RotateSecret(ctx, &sm.RotateSecretInput{SecretId: aws.String("missing")})
	wantError(t, "RotateSecret(missing)", err, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	_, err = e.c.CancelRotateSecret(ctx, &sm.CancelRotateSecretInput{SecretId: aws.String("rot")})
	wantError(t, "CancelRotateSecret(rot)", err, "InvalidRequestException", "You tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured and you didn't include such an ARN as a parameter in this call.")
	if vs := stagesOf(t, e.c, "rot"); len(vs) != 1 {
		t.Errorf("DescribeSecret(rot).VersionIdsToStages after refused rotations = %v; want one version", vs)
	}
}

func TestTenancyIsolation(t *testing.T) {
	t.Parallel()
	e := start(t)
	mine := create(t, e.c, "shared-name", "mine")
	for _, id := range []string{"shared-name", aws.ToString(mine.ARN)} {
		_, err := e.other.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(id)})
		wantError(t, "GetSecretValue("+id+") by another account", err, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		_, err = e.other.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(id)})
		wantError(t, "DescribeSecret("+id+") by another account", err, "ResourceNotFoundException", "")
		_, err = e.other.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String("x")})
		wantError(t, "PutSecretValue("+id+") by another account", err, "ResourceNotFoundException", "")
		_, err = e.other.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String(id)})
		wantError(t, "DeleteSecret("+id+") by another account", err, "ResourceNotFoundException", "")
	}
	if got := names(t, e.other, &sm.ListSecretsInput{}); len(got) != 0 {
		t.Errorf("ListSecrets by another account = %v; want none", got)
	}
	theirs, err := e.other.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("shared-name"), SecretString: aws.String("theirs")})
	if err != nil {
		t.Fatalf("CreateSecret(shared-name) by another account = %v; want its own secret", err)
	}
	if !strings.Contains(aws.ToString(theirs.ARN), ":111111111111:secret:shared-name-") {
		t.Errorf("CreateSecret(shared-name) by another account ARN = %s; want account 111111111111", aws.ToString(theirs.ARN))
	}
	if got := value(t, e.c, "shared-name"); got != "mine" {
		t.Errorf("GetSecretValue(shared-name) = %q; want mine", got)
	}
	if got := value(t, e.other, "shared-name"); got != "theirs" {
		t.Errorf("GetSecretValue(shared-name) by another account = %q; want theirs", got)
	}
}
