package registry_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/awsapitest"
	"github.com/berthhq/berth/internal/registry"
	"github.com/berthhq/berth/internal/state"
)

const (
	account = "000000000000"
	other   = "111111111111"
	region  = "us-east-1"
)

var (
	ctx   = context.Background()
	scope = registry.Scope{Account: account, Region: region}
)

type clock = awsapitest.Clock

// env is a registry served on loopback with an in-memory state store.
type env struct {
	t     *testing.T
	reg   *registry.Registry
	store *state.Store
	srv   *httptest.Server
	dir   string
	clock *clock
	token string // of account, region
	cfg   registry.Config
}

func openStore(t testing.TB) *state.Store {
	t.Helper()
	store, err := state.Open(state.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := store.WaitLeader(c); err != nil {
		t.Fatal(err)
	}
	return store
}

func newEnv(t *testing.T, opts ...func(*registry.Config)) *env {
	t.Helper()
	store := openStore(t)
	clk := awsapitest.NewClock(time.Now())
	dir := t.TempDir()
	cfg := registry.Config{
		DataDir:  dir,
		Host:     "127.0.0.1:4566",
		TokenKey: bytes.Repeat([]byte("k"), 32),
		Now:      clk.Now,
		Logger:   slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&cfg)
	}
	reg, err := registry.New(cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	// Served without a ServeMux, which would clean "..", "//" and the like
	// out of paths before the registry sees them.
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	tok, _ := reg.MintToken(account, region, "arn:aws:iam::"+account+":root", clk.Now())
	return &env{t: t, reg: reg, store: store, srv: srv, dir: dir, clock: clk, token: tok, cfg: cfg}
}

// advance moves the clock on and mints a fresh token for the new time.
func (e *env) advance(d time.Duration) {
	e.clock.Advance(d)
	e.token, _ = e.reg.MintToken(account, region, "arn:aws:iam::"+account+":root", e.clock.Now())
}

func basic(token string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte("AWS:"+token))
}

// req is one HTTP request to the registry.
type req struct {
	method, path string
	body         io.Reader
	header       map[string]string
	token        *string // nil: the env's token; "" : none
}

func (e *env) send(r req) *http.Response {
	e.t.Helper()
	u := r.path
	if !strings.HasPrefix(u, "http") {
		u = e.srv.URL + r.path
	}
	hr, err := http.NewRequestWithContext(ctx, r.method, u, r.body)
	if err != nil {
		e.t.Fatal(err)
	}
	tok := e.token
	if r.token != nil {
		tok = *r.token
	}
	if tok != "" {
		hr.Header.Set("Authorization", basic(tok))
	}
	for k, v := range r.header {
		if k == "Host" {
			hr.Host = v
			continue
		}
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	return resp
}

// call sends a request and returns the response with its body read.
func (e *env) call(method, path string, body []byte, header ...string) (*http.Response, []byte) {
	e.t.Helper()
	h := map[string]string{}
	for i := 0; i+1 < len(header); i += 2 {
		h[header[i]] = header[i+1]
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	resp := e.send(req{method: method, path: path, body: rd, header: h})
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, b
}

// wantStatus fails unless resp has the status and, when code is not
// empty, an OCI error body with that code.
func wantStatus(t *testing.T, what string, resp *http.Response, body []byte, status int, code registry.ErrorCode) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s = %d %s; want %d %s", what, resp.StatusCode, body, status, code)
	}
	if got := resp.Header.Get("Docker-Distribution-API-Version"); got != "registry/2.0" {
		t.Errorf("%s: Docker-Distribution-API-Version = %q; want registry/2.0", what, got)
	}
	if code == "" {
		return
	}
	if resp.Request.Method == http.MethodHead {
		return
	}
	var eb struct {
		Errors []struct {
			Code    registry.ErrorCode `json:"code"`
			Message string             `json:"message"`
			Detail  any                `json:"detail"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &eb); err != nil || len(eb.Errors) == 0 {
		t.Fatalf("%s body = %s; want an OCI error body with %s", what, body, code)
	}
	if eb.Errors[0].Code != code {
		t.Fatalf("%s error code = %s (%s); want %s", what, eb.Errors[0].Code, eb.Errors[0].Message, code)
	}
}

func errMessage(t *testing.T, body []byte) string {
	t.Helper()
	var eb struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &eb); err != nil || len(eb.Errors) == 0 {
		t.Fatalf("body %s is not an OCI error", body)
	}
	return eb.Errors[0].Message
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func sha512d(b []byte) string {
	s := sha512.Sum512(b)
	return "sha512:" + hex.EncodeToString(s[:])
}

func (e *env) createRepo(name string, mutability string, exclusions ...string) {
	e.t.Helper()
	e.createRepoIn(scope, name, mutability, exclusions...)
}

func (e *env) createRepoIn(s registry.Scope, name string, mutability string, exclusions ...string) {
	e.t.Helper()
	if _, err := e.reg.CreateRepository(ctx, s, registry.Repository{Name: name, CreatedAt: e.clock.Now(), Mutability: mutability, Exclusions: exclusions}); err != nil {
		e.t.Fatalf("CreateRepository(%s) = %v", name, err)
	}
}

// pushBlob uploads data to repo in one POST and returns its digest.
func (e *env) pushBlob(repo string, data []byte) string {
	e.t.Helper()
	d := sha(data)
	resp, body := e.call(http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+d, data)
	wantStatus(e.t, "POST monolithic "+repo, resp, body, http.StatusCreated, "")
	return d
}

type descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int               `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        *descriptor       `json:"config,omitempty"`
	Layers        []descriptor      `json:"layers,omitempty"`
	Manifests     []descriptor      `json:"manifests,omitempty"`
	Subject       *descriptor       `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// imageManifest builds (without pushing) an image manifest of mediaType
// over the given config and layers.
func imageManifest(mediaType string, config []byte, layers ...[]byte) []byte {
	cfgType := "application/vnd.oci.image.config.v1+json"
	layerType := "application/vnd.oci.image.layer.v1.tar+gzip"
	if mediaType == registry.MediaTypeDockerManifest {
		cfgType = "application/vnd.docker.container.image.v1+json"
		layerType = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	}
	m := manifest{SchemaVersion: 2, MediaType: mediaType,
		Config: &descriptor{MediaType: cfgType, Digest: sha(config), Size: len(config)}}
	for _, l := range layers {
		m.Layers = append(m.Layers, descriptor{MediaType: layerType, Digest: sha(l), Size: len(l)})
	}
	return mustJSON(m)
}

// pushImage pushes a config, layers and an OCI manifest tagged tag, and
// returns the manifest and its digest.
func (e *env) pushImage(repo, tag string, config []byte, layers ...[]byte) ([]byte, string) {
	e.t.Helper()
	e.pushBlob(repo, config)
	for _, l := range layers {
		e.pushBlob(repo, l)
	}
	m := imageManifest(registry.MediaTypeOCIManifest, config, layers...)
	resp, body := e.call(http.MethodPut, "/v2/"+repo+"/manifests/"+tag, m, "Content-Type", registry.MediaTypeOCIManifest)
	wantStatus(e.t, "PUT manifest "+repo+":"+tag, resp, body, http.StatusCreated, "")
	return m, sha(m)
}

func strptr(s string) *string { return &s }
