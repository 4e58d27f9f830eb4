package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/state"
)

func newTestRegistry(t testing.TB, cfg Config) (*Registry, *httptest.Server) {
	t.Helper()
	store, err := state.Open(state.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := store.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	cfg.DataDir, cfg.Host, cfg.TokenKey = t.TempDir(), "127.0.0.1:1", bytes.Repeat([]byte("k"), 32)
	r, err := New(cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func TestTooManyUploads(t *testing.T) {
	r, srv := newTestRegistry(t, Config{MaxConcurrentUploads: 1})
	s := Scope{"000000000000", "us-east-1"}
	if _, err := r.CreateRepository(context.Background(), s, Repository{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	tok, _ := r.MintToken(s.Account, s.Region, "p", time.Now())
	post := func() *http.Response {
		sum := sha256.Sum256([]byte("x"))
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v2/app/blobs/uploads/?digest=sha256:"+hex.EncodeToString(sum[:]), bytes.NewReader([]byte("x")))
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("AWS:"+tok)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	release, err := r.acquireUpload() // an upload in flight holds the only slot
	if err != nil {
		t.Fatal(err)
	}
	resp := post()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("POST with every slot taken = %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	release()
	if resp := post(); resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST with a free slot = %d; want 201", resp.StatusCode)
	}
}
