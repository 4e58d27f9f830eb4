package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/berthhq/berth/internal/berthproc"
)

// generations counts the master key generations in a keyring file.
func generations(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "master.keys"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Generations []json.RawMessage `json:"generations"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("master.keys: %v", err)
	}
	return len(f.Generations)
}

// TestKillDuringMasterKeyRotation rotates the master key with many sealed
// secrets, kills the server with SIGKILL while it re-wraps them, and checks
// that every secret still reads after a restart, and that the restarted
// server finishes the rotation and retires the old key.
func TestKillDuringMasterKeyRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server several times: skipped with -short")
	}
	bin := berthBinary(t)
	dir := t.TempDir()
	addr := berthproc.FreeAddr(t)
	ctx := context.Background()
	start := func(args ...string) *proc {
		p := startBerth(t, bin, "", nil, append([]string{"server", "--data-dir", dir, "--listen", addr}, args...)...)
		if _, err := p.waitReady(ctx, addr, 20*time.Second); err != nil {
			t.Fatalf("%v\n%s", err, p.stderr.String())
		}
		return p
	}
	p := start()
	key, err := readCredentials(filepath.Join(dir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := sdkConfig(addr, key.ID, key.Secret, nil)
	params, sm := ssm.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg)
	const n = 150
	for i := range n {
		if _, err := params.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(fmt.Sprintf("/rot/p%d", i)),
			Type: ssmtypes.ParameterTypeSecureString, Value: aws.String(fmt.Sprintf("param-%d", i))}); err != nil {
			t.Fatal(err)
		}
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(fmt.Sprintf("rot/s%d", i)),
			SecretString: aws.String(fmt.Sprintf("secret-%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	// Rotate, and kill the server while it re-wraps.
	p = start("--rotate-master-key")
	time.Sleep(30 * time.Millisecond)
	p.kill()
	if g := generations(t, dir); g != 2 {
		t.Logf("master.keys has %d generations after the kill; the kill came after the re-wrap (want 2 for a kill midway)", g)
	}

	p = start()
	defer p.kill()
	client := func() (*ssm.Client, *secretsmanager.Client) {
		cfg := sdkConfig(addr, key.ID, key.Secret, nil)
		return ssm.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg)
	}
	params, sm = client()
	for i := range n {
		out, err := params.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(fmt.Sprintf("/rot/p%d", i)), WithDecryption: aws.Bool(true)})
		if err != nil || aws.ToString(out.Parameter.Value) != fmt.Sprintf("param-%d", i) {
			t.Fatalf("GetParameter(/rot/p%d) after the kill = %v; want its value", i, err)
		}
		sv, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(fmt.Sprintf("rot/s%d", i))})
		if err != nil || aws.ToString(sv.SecretString) != fmt.Sprintf("secret-%d", i) {
			t.Fatalf("GetSecretValue(rot/s%d) after the kill = %v; want its value", i, err)
		}
	}
	deadline := time.Now().Add(90 * time.Second)
	for generations(t, dir) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted server did not finish the rotation: %d generations\n%s", generations(t, dir), tail(p.stderr.String(), 2000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Everything still reads under the new key alone.
	out, err := params.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/rot/p0"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(out.Parameter.Value) != "param-0" {
		t.Fatalf("GetParameter after the rotation finished = %v", err)
	}
}
