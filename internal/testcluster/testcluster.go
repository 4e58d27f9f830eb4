// Package testcluster boots a whole Berth control plane in-process on a
// loopback port for tests, and hands out official aws-sdk-go-v2 clients
// pointed at it.
package testcluster

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/berthhq/berth/internal/server"
)

// Cluster is a running in-process control plane.
type Cluster struct {
	Server  *server.Server
	DataDir string
	// Endpoint is the base URL of the API port.
	Endpoint string
	// Region is the region clients are configured for.
	Region string
}

// Option changes the server configuration before start.
type Option func(*server.Config)

// WithAuth sets the auth mode.
func WithAuth(mode string) Option { return func(c *server.Config) { c.Auth = mode } }

// WithDataDir uses dir instead of a fresh temporary directory, to restart
// on the state a previous cluster left.
func WithDataDir(dir string) Option { return func(c *server.Config) { c.DataDir = dir } }

// Start boots a control plane and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	cfg := server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Logger: testLogger()}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	select {
	case <-srv.Up():
	case err := <-done:
		cancel()
		t.Fatalf("server.Run: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not come up within 30s")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server.Run: %v", err)
		}
	})
	return &Cluster{Server: srv, DataDir: cfg.DataDir, Endpoint: "http://" + srv.Addr(), Region: "us-east-1"}
}

func testLogger() *slog.Logger {
	if os.Getenv("BERTH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// Config returns an AWS SDK configuration signed with the root credentials.
func (c *Cluster) Config() aws.Config {
	creds := c.Server.RootCredentials()
	return c.ConfigWith(creds.AccessKeyID, creds.SecretAccessKey)
}

// ConfigWith returns an AWS SDK configuration signed with the given key.
func (c *Cluster) ConfigWith(accessKeyID, secret string) aws.Config {
	return aws.Config{
		Region:       c.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKeyID, secret, ""),
		BaseEndpoint: aws.String(c.Endpoint),
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
		// Tests assert on first answers; retries would hide them.
		RetryMaxAttempts: 1,
	}
}

// ECS returns an ECS client for the cluster.
func (c *Cluster) ECS() *ecs.Client { return ecs.NewFromConfig(c.Config()) }

// STS returns an STS client for the cluster.
func (c *Cluster) STS() *sts.Client { return sts.NewFromConfig(c.Config()) }
