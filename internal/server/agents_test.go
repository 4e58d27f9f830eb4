package server_test

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/berthhq/berth/internal/agentapi"
	"github.com/berthhq/berth/internal/server"
	"github.com/berthhq/berth/internal/testcluster"
)

func register(t *testing.T, c *agentapi.Client, token string) error {
	t.Helper()
	_, err := c.Register(t.Context(), agentapi.RegisterRequest{
		JoinToken: token, Cluster: "default", Region: "us-east-1", EC2InstanceID: "i-0123456789abcdef0",
		Address: "127.0.0.1", CPU: 1024, MemoryMiB: 512,
	})
	return err
}

// TestAgentAPIOverTLS: the join token names the cluster CA; an agent that
// pins it registers over TLS on the API port, one that pins another CA is
// refused before it sends anything, and plain HTTP keeps working on the
// same port for the AWS CLI.
func TestAgentAPIOverTLS(t *testing.T) {
	dir := t.TempDir()
	tc := testcluster.Start(t, testcluster.WithDataDir(dir))
	b, err := os.ReadFile(filepath.Join(dir, server.JoinTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))
	if !regexp.MustCompile(`^berth-join-[0-9a-f]{64}\.[0-9a-f]{64}$`).MatchString(token) {
		t.Fatalf("join token %q; want berth-join-<secret>.<CA fingerprint>", token)
	}
	block, _ := pem.Decode(tc.Server.CACertificate())
	if block == nil {
		t.Fatal("CACertificate() is not PEM")
	}
	sum := sha256.Sum256(block.Bytes)
	secret, pin := agentapi.ParseJoinToken(token)
	if pin != hex.EncodeToString(sum[:]) {
		t.Fatalf("join token fingerprint %s; want the CA's %x", pin, sum)
	}
	base := "https://" + tc.Server.Addr()

	c, err := agentapi.NewClient(base, pin)
	if err != nil {
		t.Fatal(err)
	}
	if err := register(t, c, secret); err != nil {
		t.Errorf("Register over TLS pinning the cluster CA = %v; want nil", err)
	}

	other := sha256.Sum256([]byte("another CA"))
	c, err = agentapi.NewClient(base, hex.EncodeToString(other[:]))
	if err != nil {
		t.Fatal(err)
	}
	if err := register(t, c, secret); err == nil || !strings.Contains(err.Error(), "not issued by the CA the join token names") {
		t.Errorf("Register pinning another CA = %v; want the CA mismatch", err)
	}

	// Any TLS client that trusts the CA verifies the name it dials, and
	// gets HTTP/2.
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(tc.Server.CACertificate())
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
	resp, err := hc.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("GET %s/healthz trusting the CA = %v", base, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Errorf("GET /healthz over TLS = %d %s; want 200 over HTTP/2", resp.StatusCode, resp.Proto)
	}
	if code, _ := get(t, tc.Endpoint+"/healthz"); code != 200 {
		t.Errorf("GET /healthz over plain HTTP = %d; want 200", code)
	}
}

// TestSilentConnectionHoldsUpNoOther: the API port sniffs each connection
// for TLS on its own, so one that never speaks delays nobody.
func TestSilentConnectionHoldsUpNoOther(t *testing.T) {
	tc := testcluster.Start(t)
	silent, err := net.Dial("tcp", tc.Server.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	start := time.Now()
	if code, _ := get(t, tc.Endpoint+"/healthz"); code != 200 {
		t.Errorf("GET /healthz next to a silent connection = %d; want 200", code)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("GET /healthz next to a silent connection took %v; want it served at once", d)
	}
}

// TestOldJoinTokenUpgraded: a join token file of an older version (the
// secret alone) keeps its secret, gains the CA fingerprint, and agents given
// the old token still join over loopback.
func TestOldJoinTokenUpgraded(t *testing.T) {
	dir := t.TempDir()
	old := "berth-join-" + strings.Repeat("ab", 32)
	if err := os.WriteFile(filepath.Join(dir, server.JoinTokenFile), []byte(old+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tc := testcluster.Start(t, testcluster.WithDataDir(dir))
	b, _ := os.ReadFile(filepath.Join(dir, server.JoinTokenFile))
	secret, pin := agentapi.ParseJoinToken(strings.TrimSpace(string(b)))
	if secret != old || pin == "" {
		t.Fatalf("join token file after start = %q; want %s.<CA fingerprint>", b, old)
	}
	c, err := agentapi.NewClient(tc.Endpoint, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := register(t, c, old); err != nil {
		t.Errorf("Register with the old token over loopback HTTP = %v; want nil", err)
	}
	if err := register(t, c, "berth-join-"+strings.Repeat("cd", 32)); err == nil {
		t.Error("Register with another token = nil; want refused")
	}
}

// TestHeartbeatAfterSilenceIsWritten: heartbeats stay in memory (the
// instance's version does not move), but one after a silence longer than
// the grace, as after a network partition, is written, so that watchers of
// the instances see the agent back.
func TestHeartbeatAfterSilenceIsWritten(t *testing.T) {
	dir := t.TempDir()
	tc := testcluster.Start(t, testcluster.WithDataDir(dir), testcluster.WithServer(func(c *server.Config) {
		c.AgentGrace = time.Second
		c.AgentHeartbeat = 100 * time.Millisecond
		c.InstanceLostAfter = time.Minute
	}))
	b, err := os.ReadFile(filepath.Join(dir, server.JoinTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	secret, pin := agentapi.ParseJoinToken(strings.TrimSpace(string(b)))
	c, err := agentapi.NewClient("https://"+tc.Server.Addr(), pin)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := c.Register(t.Context(), agentapi.RegisterRequest{
		JoinToken: secret, Cluster: "default", Region: "us-east-1", EC2InstanceID: "i-0123456789abcdef0",
		Address: "127.0.0.1", CPU: 1024, MemoryMiB: 512,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(reg.AgentToken)
	version := func() int64 {
		t.Helper()
		out, err := tc.ECS().DescribeContainerInstances(t.Context(), &ecs.DescribeContainerInstancesInput{ContainerInstances: []string{reg.ContainerInstanceARN}})
		if err != nil || len(out.ContainerInstances) != 1 {
			t.Fatalf("DescribeContainerInstances = %+v, %v", out, err)
		}
		return out.ContainerInstances[0].Version
	}
	v0 := version()
	for range 3 {
		if err := c.Heartbeat(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if v := version(); v != v0 {
		t.Errorf("version after heartbeats within the grace = %d; want %d (not written)", v, v0)
	}
	time.Sleep(1200 * time.Millisecond) // silent past the grace
	if err := c.Heartbeat(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v := version(); v == v0 {
		t.Errorf("version after a heartbeat that ends a silence = %d; want it written", v)
	}
}

// TestTokenWithoutFingerprintSaysSo: an agent given a join token without the
// CA fingerprint (an older server's) fails to reach the server over TLS with
// an error that says what to do.
func TestTokenWithoutFingerprintSaysSo(t *testing.T) {
	tc := testcluster.Start(t)
	c, err := agentapi.NewClient("https://"+tc.Server.Addr(), "")
	if err != nil {
		t.Fatal(err)
	}
	err = register(t, c, "berth-join-whatever")
	if err == nil || !strings.Contains(err.Error(), "join token carries no CA fingerprint") {
		t.Errorf("Register over TLS without a pinned CA = %v; want an error that names the join token", err)
	}
}
