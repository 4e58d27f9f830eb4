package ecr_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	memdb "github.com/hashicorp/go-memdb"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsapitest"
	ecrapi "github.com/berthhq/berth/internal/ecr"
	"github.com/berthhq/berth/internal/registry"
	"github.com/berthhq/berth/internal/state"
)

const (
	account = awsapitest.Account
	region  = awsapitest.Region
	host    = "registry.test:4566"
)

var ctx = context.Background()

type clock = awsapitest.Clock

// env is the ECR API and the registry served by one test gateway.
type env struct {
	t     *testing.T
	srv   *awsapitest.Server
	api   *ecrapi.API
	reg   *registry.Registry
	clock *clock
	c     *ecr.Client // account 000000000000
	other *ecr.Client // account 111111111111
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, clock: awsapitest.NewClock(time.Now())}
	e.srv = awsapitest.Start(t, func(gw *awsapi.Gateway, store *state.Store, mux *http.ServeMux) {
		reg, err := registry.New(registry.Config{DataDir: t.TempDir(), Host: host, TokenKey: bytes.Repeat([]byte("t"), 32), Now: e.clock.Now}, store)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = reg.Close() })
		e.reg = reg
		e.api = ecrapi.New(ecrapi.Config{Now: e.clock.Now, LifecycleInterval: 20 * time.Millisecond}, store, reg)
		gw.RegisterJSON(e.api.Service())
		mux.Handle("/v2/", reg)
	})
	e.c = ecr.NewFromConfig(e.srv.Config())
	e.other = ecr.NewFromConfig(e.srv.ConfigWith(awsapitest.OtherKeyID, awsapitest.OtherSecret))
	return e
}

// run starts the API's Run loop until the test ends.
func (e *env) run() {
	c, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- e.api.Run(c) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("Run() = %v; want nil", err)
		}
	})
}

// waitFor blocks until cond holds, waking on every change to the state
// store's documents; it fails the test after 10 seconds.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := e.srv.Store.BlockingQuery(c, 0, 10*time.Second, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		snap.DocsIndex(ws)
		if cond() {
			return 1, nil
		}
		return 0, nil
	})
	if err != nil || !cond() {
		e.t.Fatalf("waiting for %s: did not happen in 10s", what)
	}
}

func (e *env) createRepo(name string, mutate ...func(*ecr.CreateRepositoryInput)) {
	e.t.Helper()
	in := &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)}
	for _, m := range mutate {
		m(in)
	}
	if _, err := e.c.CreateRepository(ctx, in); err != nil {
		e.t.Fatalf("CreateRepository(%s) = %v", name, err)
	}
}

// token returns the registry password of the default account, as docker
// login gets it from GetAuthorizationToken.
func (e *env) token(c *ecr.Client) string {
	e.t.Helper()
	out, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		e.t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		e.t.Fatal(err)
	}
	user, pass, _ := strings.Cut(string(raw), ":")
	if user != "AWS" {
		e.t.Fatalf("token user %q; want AWS", user)
	}
	return pass
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// http sends a registry request with the default account's token.
func (e *env) http(method, path string, body []byte, header ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("AWS:"+e.token(e.c))))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (e *env) pushBlob(repo string, data []byte) string {
	e.t.Helper()
	resp, body := e.http(http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+sha(data), data)
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("push blob to %s = %d %s", repo, resp.StatusCode, body)
	}
	return sha(data)
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int    `json:"size"`
}

func manifest(config []byte, layers ...[]byte) []byte {
	m := map[string]any{"schemaVersion": 2, "mediaType": registry.MediaTypeDockerManifest,
		"config": descriptor{"application/vnd.docker.container.image.v1+json", sha(config), len(config)}}
	ls := []descriptor{}
	for _, l := range layers {
		ls = append(ls, descriptor{"application/vnd.docker.image.rootfs.diff.tar.gzip", sha(l), len(l)})
	}
	m["layers"] = ls
	b, _ := json.Marshal(m)
	return b
}

// pushImage pushes an image over the registry API as docker does and
// returns its manifest and digest.
func (e *env) pushImage(repo, tag string, config []byte, layers ...[]byte) ([]byte, string) {
	e.t.Helper()
	e.pushBlob(repo, config)
	for _, l := range layers {
		e.pushBlob(repo, l)
	}
	m := manifest(config, layers...)
	resp, body := e.http(http.MethodPut, "/v2/"+repo+"/manifests/"+tag, m, "Content-Type", registry.MediaTypeDockerManifest)
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("push manifest %s:%s = %d %s", repo, tag, resp.StatusCode, body)
	}
	return m, sha(m)
}

// The AWS error assertions every API package shares.
var wantError = awsapitest.WantError
