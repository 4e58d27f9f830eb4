package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/berthhq/berth/internal/server"
	"github.com/berthhq/berth/internal/testcluster"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthReadyMetrics(t *testing.T) {
	tc := testcluster.Start(t)
	if code, _ := get(t, tc.Endpoint+"/healthz"); code != 200 {
		t.Errorf("GET /healthz = %d; want 200", code)
	}
	if code, _ := get(t, tc.Endpoint+"/readyz"); code != 200 {
		t.Errorf("GET /readyz = %d; want 200", code)
	}
	if _, err := tc.ECS().ListClusters(context.Background(), &ecs.ListClustersInput{}); err != nil {
		t.Fatalf("ListClusters: %v", err)
	}
	code, body := get(t, tc.Endpoint+"/metrics")
	want := `berth_awsapi_requests_total{code="OK",operation="ListClusters",service="ecs"} 1`
	if code != 200 || !strings.Contains(body, want) {
		t.Errorf("GET /metrics = %d, missing %q", code, want)
	}
	if !strings.Contains(body, `berth_awsapi_request_duration_seconds_count{operation="ListClusters",service="ecs"} 1`) {
		t.Errorf("GET /metrics lacks the ListClusters latency histogram")
	}
	if code, _ := get(t, tc.Endpoint+"/nothing-here"); code != 404 {
		t.Errorf("GET /nothing-here = %d; want 404", code)
	}
}

func TestGetCallerIdentity(t *testing.T) {
	tc := testcluster.Start(t)
	out, err := tc.STS().GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if aws.ToString(out.Account) != "000000000000" || aws.ToString(out.Arn) != "arn:aws:iam::000000000000:root" || aws.ToString(out.UserId) != "000000000000" {
		t.Errorf("GetCallerIdentity = %s %s %s; want the root of account 000000000000", aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId))
	}

	creds := tc.Server.RootCredentials()
	for _, c := range []struct {
		name, key, secret, code string
	}{
		{"wrong secret", creds.AccessKeyID, "not-the-secret", "SignatureDoesNotMatch"},
		{"unknown key", "AKIAUNKNOWNKEY000000", "whatever", "InvalidClientTokenId"},
	} {
		t.Run(c.name, func(t *testing.T) {
			client := sts.NewFromConfig(tc.ConfigWith(c.key, c.secret))
			_, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != c.code {
				t.Fatalf("GetCallerIdentity with %s = %v; want %s", c.name, err, c.code)
			}
		})
	}
}

func TestRestartKeepsStateAndCredentials(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var first server.Credentials
	func() {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		srv, err := server.New(server.Config{Listen: "127.0.0.1:0", DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx) }()
		<-srv.Up()
		first = srv.RootCredentials()
		tc := &testcluster.Cluster{Server: srv, Endpoint: "http://" + srv.Addr(), Region: "us-east-1"}
		if _, err := tc.ECS().CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("kept")}); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	}()
	info, err := os.Stat(filepath.Join(dir, server.CredentialsFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	token1, _ := os.ReadFile(filepath.Join(dir, server.JoinTokenFile))

	start := time.Now()
	tc := testcluster.Start(t, testcluster.WithDataDir(dir))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("restart to serving took %v; want < 5s", d)
	}
	if got := tc.Server.RootCredentials(); got != first {
		t.Errorf("root key after restart = %s; want %s", got.AccessKeyID, first.AccessKeyID)
	}
	token2, _ := os.ReadFile(filepath.Join(dir, server.JoinTokenFile))
	if len(token1) == 0 || string(token1) != string(token2) {
		t.Errorf("join token changed across restart")
	}
	out, err := tc.ECS().DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"kept"}})
	if err != nil || len(out.Clusters) != 1 || aws.ToString(out.Clusters[0].Status) != "ACTIVE" {
		t.Fatalf("DescribeClusters(kept) after restart = %+v, %v; want the ACTIVE cluster", out, err)
	}
}

// TestRootSecretSealed checks that the root access key's secret is stored
// sealed by the keyring: it is in the credentials file and nowhere else in
// the data dir (the raft log and snapshots included).
func TestRootSecretSealed(t *testing.T) {
	dir := t.TempDir()
	tc := testcluster.Start(t, testcluster.WithDataDir(dir))
	secret := tc.Server.RootCredentials().SecretAccessKey
	if _, err := tc.STS().GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("GetCallerIdentity with the sealed key: %v", err)
	}
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || filepath.Base(p) == server.CredentialsFile {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), secret) {
			t.Errorf("the root secret is in plain text in %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, "master.keys"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("master key file: %v; want mode 0600", err)
	}
}
