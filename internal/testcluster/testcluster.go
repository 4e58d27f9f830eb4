// Package testcluster boots a whole Berth control plane in-process on a
// loopback port for tests, and hands out official aws-sdk-go-v2 clients
// pointed at it.
package testcluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/berthhq/berth/internal/agent"
	"github.com/berthhq/berth/internal/runtime"
	"github.com/berthhq/berth/internal/runtime/fake"
	"github.com/berthhq/berth/internal/server"
)

// Cluster is a running in-process control plane, with its agents.
type Cluster struct {
	// Agents are the node agents started with WithFakeAgents, in order.
	Agents  []*Agent
	Server  *server.Server
	DataDir string
	// Endpoint is the base URL of the API port.
	Endpoint string
	// Region is the region clients are configured for.
	Region string
}

// Agent is a node agent of the cluster running on a fake engine.
type Agent struct {
	Agent   *agent.Agent
	Runtime *fake.Fake

	cfg    agent.Config
	cancel context.CancelFunc
	done   chan error
}

// Stop stops the agent as a crash would leave things: its containers keep
// running on the engine.
func (a *Agent) Stop(t testing.TB) {
	t.Helper()
	if a.cancel == nil {
		return
	}
	a.cancel()
	if err := <-a.done; err != nil {
		t.Errorf("agent: %v", err)
	}
	a.cancel = nil
}

// Start starts a stopped agent again on the same data directory and engine.
func (a *Agent) Start(t testing.TB) {
	t.Helper()
	ag, err := agent.New(a.cfg, a.Runtime)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	select {
	case <-ag.Registered():
	case err := <-done:
		cancel()
		t.Fatalf("agent: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("agent did not register within 30s")
	}
	a.Agent, a.cancel, a.done = ag, cancel, done
}

type options struct {
	server     server.Config
	fakeAgents int
	agentCfg   func(*agent.Config)
}

// Option changes how the cluster starts.
type Option func(*options)

// WithAuth sets the auth mode.
func WithAuth(mode string) Option { return func(o *options) { o.server.Auth = mode } }

// WithDataDir uses dir instead of a fresh temporary directory, to restart
// on the state a previous cluster left.
func WithDataDir(dir string) Option { return func(o *options) { o.server.DataDir = dir } }

// WithFakeAgents starts n agents on fake engines, registered in the default
// cluster, each with the image "testapp:latest" (internal/testapp's flags).
// configure, when not nil, adjusts each agent's configuration.
func WithFakeAgents(n int, configure func(*agent.Config)) Option {
	return func(o *options) { o.fakeAgents, o.agentCfg = n, configure }
}

// Start boots a control plane and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	o := options{server: server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Logger: testLogger()}}
	for _, opt := range opts {
		opt(&o)
	}
	cfg := o.server
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
	c := &Cluster{Server: srv, DataDir: cfg.DataDir, Endpoint: "http://" + srv.Addr(), Region: "us-east-1"}
	for i := 0; i < o.fakeAgents; i++ {
		c.Agents = append(c.Agents, c.startFakeAgent(t, i, o.agentCfg))
	}
	return c
}

func (c *Cluster) startFakeAgent(t testing.TB, i int, configure func(*agent.Config)) *Agent {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(c.DataDir, server.JoinTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	rt := fake.New(fake.Config{Host: runtime.HostInfo{Hostname: fmt.Sprintf("fake-%d", i)}})
	rt.AddImage("testapp:latest")
	cfg := agent.Config{
		Server: "https://" + c.Server.Addr(), JoinToken: strings.TrimSpace(string(token)), DataDir: t.TempDir(), SecretsDir: t.TempDir(),
		Resync: 100 * time.Millisecond, StopTimeout: 2 * time.Second, Logger: testLogger(),
		AvailabilityZone: fmt.Sprintf("us-east-1%c", 'a'+i%3),
	}
	if configure != nil {
		configure(&cfg)
	}
	a := &Agent{Runtime: rt, cfg: cfg}
	a.Start(t)
	// Registered before the server stops (cleanups run last-in first-out).
	t.Cleanup(func() { a.Stop(t) })
	return a
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
		HTTPClient:   &http.Client{Transport: hideWriteTo{http.DefaultTransport}, Timeout: 30 * time.Second},
		// Tests assert on first answers; retries would hide them.
		RetryMaxAttempts: 1,
	}
}

// ECS returns an ECS client for the cluster.
func (c *Cluster) ECS() *ecs.Client { return ecs.NewFromConfig(c.Config()) }

// STS returns an STS client for the cluster.
func (c *Cluster) STS() *sts.Client { return sts.NewFromConfig(c.Config()) }

// hideWriteTo sends request bodies without their WriteTo method.
//
// smithy-go wraps request bodies in a reader whose WriteTo returns io.EOF once
// the SDK has closed it, which it does as soon as the response arrives. When
// the response beats net/http's final check of the body, the transport takes
// that io.EOF for a failed write and closes the connection under the response
// being read (aws/aws-sdk-go-v2#2737; the SDK hides it with a retry, which
// tests turn off).
type hideWriteTo struct{ base http.RoundTripper }

func (h hideWriteTo) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return h.base.RoundTrip(r)
}

// WithServer adjusts the control plane's configuration, for example to
// shrink the service controller's timings.
func WithServer(configure func(*server.Config)) Option {
	return func(o *options) { configure(&o.server) }
}
