package secretsmanager_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	memdb "github.com/hashicorp/go-memdb"

	"github.com/berthhq/berth/internal/secretsmanager"
	"github.com/berthhq/berth/internal/state"
)

const day = 24 * time.Hour

func TestDeleteRestorePurge(t *testing.T) {
	t.Parallel()
	e := start(t)
	old := create(t, e.c, "db", "v1")

	out, err := e.c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("db")})
	if err != nil {
		t.Fatal(err)
	}
	if !out.DeletionDate.Equal(t0.Add(30 * day)) {
		t.Errorf("DeleteSecret(db).DeletionDate = %v; want 30 days on, %v", out.DeletionDate, t0.Add(30*day))
	}
	if d := describe(t, e.c, "db"); d.DeletedDate == nil || !d.DeletedDate.Equal(t0.Add(30*day)) {
		t.Errorf("DescribeSecret(db).DeletedDate = %v; want %v", d.DeletedDate, t0.Add(30*day))
	}
	_, err = e.c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("db")})
	wantError(t, "GetSecretValue(db) marked for deletion", err, "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
	_, err = e.c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("db"), SecretString: aws.String("v2")})
	wantError(t, "PutSecretValue(db) marked for deletion", err, "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
	_, err = e.c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("db")})
	wantError(t, "DeleteSecret(db) again", err, "InvalidRequestException", "You tried to perform the operation on a secret that's currently marked deleted.")
	_, err = e.c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("db"), SecretString: aws.String("x")})
	wantError(t, "CreateSecret(db) marked for deletion", err, "InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.")
	// ListSecretVersionIds has no InvalidRequestException: it lists the
	// versions of a secret marked for deletion.
	if vs, err := e.c.ListSecretVersionIds(ctx, &sm.ListSecretVersionIdsInput{SecretId: aws.String("db")}); err != nil || len(vs.Versions) != 1 || !slices.Equal(vs.Versions[0].VersionStages, []string{"AWSCURRENT"}) {
		t.Errorf("ListSecretVersionIds(db) marked for deletion = %v; want its one AWSCURRENT version", err)
	}
	if got := names(t, e.c, &sm.ListSecretsInput{}); len(got) != 0 {
		t.Errorf("ListSecrets = %v; want the deleted secret left out", got)
	}
	if got := names(t, e.c, &sm.ListSecretsInput{IncludePlannedDeletion: aws.Bool(true)}); len(got) != 1 || got[0] != "db" {
		t.Errorf("ListSecrets(IncludePlannedDeletion) = %v; want [db]", got)
	}

	if _, err := e.c.RestoreSecret(ctx, &sm.RestoreSecretInput{SecretId: aws.String("db")}); err != nil {
		t.Fatal(err)
	}
	if got := value(t, e.c, "db"); got != "v1" {
		t.Errorf("GetSecretValue(db) after RestoreSecret = %q; want v1", got)
	}
	if d := describe(t, e.c, "db"); d.DeletedDate != nil {
		t.Errorf("DescribeSecret(db).DeletedDate after RestoreSecret = %v; want none", d.DeletedDate)
	}
	if _, err := e.c.RestoreSecret(ctx, &sm.RestoreSecretInput{SecretId: aws.String("db")}); err != nil {
		t.Errorf("RestoreSecret(db) not marked for deletion = %v; want success", err)
	}

	if _, err := e.c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("db"), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	// Another tenancy's secret goes at the same time; a live one stays.
	create(t, e.other, "theirs", "v")
	if _, err := e.other.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("theirs"), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	create(t, e.c, "zz-keep", "v")
	e.clock.Advance(7*day - time.Second)
	if n, err := e.api.Purge(ctx); err != nil || n != 0 {
		t.Fatalf("Purge() a second before the deletion date = %d, %v; want 0", n, err)
	}
	describe(t, e.c, "db")
	e.clock.Advance(time.Second)
	if n, err := e.api.Purge(ctx); err != nil || n != 2 {
		t.Fatalf("Purge() at the deletion date = %d, %v; want 2 (one per account)", n, err)
	}
	if got := value(t, e.c, "zz-keep"); got != "v" {
		t.Errorf("GetSecretValue(zz-keep) after the purge = %q; want v", got)
	}
	_, err = e.other.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("theirs")})
	wantError(t, "DescribeSecret(theirs) after the purge", err, "ResourceNotFoundException", "")
	_, err = e.c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("db")})
	wantError(t, "DescribeSecret(db) after the purge", err, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	for k := range docs(e) {
		if strings.Contains(k, "\x00db") {
			t.Errorf("document %q left after the purge", k)
		}
	}

	again := create(t, e.c, "db", "new")
	if aws.ToString(again.ARN) == aws.ToString(old.ARN) {
		t.Errorf("CreateSecret(db) after the purge ARN = %s; want a new suffix", aws.ToString(again.ARN))
	}
	_, err = e.c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: old.ARN})
	wantError(t, "GetSecretValue(old ARN of db)", err, "ResourceNotFoundException", "")
}

func TestDeleteSecretForce(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := create(t, e.c, "tmp", "v")
	out, err := e.c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("tmp"), ForceDeleteWithoutRecovery: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.ARN) != aws.ToString(c.ARN) || !out.DeletionDate.Equal(t0) {
		t.Errorf("DeleteSecret(tmp, force) = {%s, %v}; want {%s, %v}", aws.ToString(out.ARN), out.DeletionDate, aws.ToString(c.ARN), t0)
	}
	_, err = e.c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("tmp")})
	wantError(t, "DescribeSecret(tmp) after a forced delete", err, "ResourceNotFoundException", "")
	if len(docs(e)) != 0 {
		t.Errorf("documents after a forced delete = %d; want none", len(docs(e)))
	}
	if _, err := e.c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("tmp"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Errorf("DeleteSecret(tmp, force) of a missing secret = %v; want success, as AWS", err)
	}

	// A secret in its recovery window can be forced out at once.
	create(t, e.c, "pending", "v")
	if _, err := e.c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("pending")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("pending"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	create(t, e.c, "pending", "again")

	tests := []struct {
		name string
		in   *sm.DeleteSecretInput
		code string
		msg  string
	}{
		{"both", &sm.DeleteSecretInput{SecretId: aws.String("pending"), RecoveryWindowInDays: aws.Int64(7), ForceDeleteWithoutRecovery: aws.Bool(true)}, "InvalidParameterException",
			"You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."},
		{"window 6", &sm.DeleteSecretInput{SecretId: aws.String("pending"), RecoveryWindowInDays: aws.Int64(6)}, "InvalidParameterException",
			"The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."},
		{"window 31", &sm.DeleteSecretInput{SecretId: aws.String("pending"), RecoveryWindowInDays: aws.Int64(31)}, "InvalidParameterException",
			"The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."},
		{"missing", &sm.DeleteSecretInput{SecretId: aws.String("missing")}, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.c.DeleteSecret(ctx, tt.in)
			wantError(t, "DeleteSecret("+tt.name+")", err, tt.code, tt.msg)
		})
	}
	if d := describe(t, e.c, "pending"); d.DeletedDate != nil {
		t.Errorf("DescribeSecret(pending) after refused deletes: DeletedDate = %v; want none", d.DeletedDate)
	}
}

func TestRunPurges(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *secretsmanager.Config) { c.PurgeInterval = 5 * time.Millisecond })
	create(t, e.c, "short-lived", "v")
	if _, err := e.c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("short-lived"), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.api.Run(runCtx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v; want nil after cancel", err)
		}
	}()

	e.clock.Advance(8 * day)
	// Wait for the secret's document to go, woken by the store's watch.
	waitCtx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	idx, err := e.srv.Store.BlockingQuery(waitCtx, 0, 10*time.Second, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		n := 0
		for range snap.Docs(ws, "", "") {
			n++
		}
		if n == 0 {
			return ^uint64(0), nil
		}
		return 0, nil
	})
	if err != nil || idx == 0 {
		t.Fatalf("waiting for Run to purge = %d, %v; want the secret gone within 10s", idx, err)
	}
	_, err = e.c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("short-lived")})
	wantError(t, "DescribeSecret(short-lived) after Run passed its deletion date", err, "ResourceNotFoundException", "")
}
