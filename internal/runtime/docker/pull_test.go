package docker_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/runtime"
	"github.com/berthhq/berth/internal/runtime/docker"
	"github.com/berthhq/berth/internal/testapp/testimage"
)

// TestPullImage pulls through the engine from a minimal registry served on
// loopback (Docker trusts 127.0.0.0/8 over plain HTTP), with basic auth.
func TestPullImage(t *testing.T) {
	ctx := t.Context()
	cli := testimage.Client(ctx, t)
	reg := newRegistry(t, "berth", "s3cret")
	srv := httptest.NewServer(reg)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	repo := host + "/berth-test/app-" + testimage.RunID()

	d, err := docker.New(docker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	t.Cleanup(func() { // t.Context() has ended by now
		_, err := cli.ImageRemove(context.Background(), repo+":v1", client.ImageRemoveOptions{Force: true, PruneChildren: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove pulled image: %v", err)
		}
	})

	good := &runtime.RegistryAuth{Username: "berth", Password: "s3cret", ServerAddress: host}
	// Docker 20.10 answers registry failures with HTTP 500, so they carry
	// no errdefs class; what matters is Docker's message, kept in the error.
	tests := []struct {
		name    string
		ref     string
		auth    *runtime.RegistryAuth
		wantErr string
	}{
		{"NoCredentials", repo + ":v1", nil, "no basic auth credentials"},
		{"WrongPassword", repo + ":v1", &runtime.RegistryAuth{Username: "berth", Password: "nope", ServerAddress: host}, "unauthorized"},
		{"MissingTag", repo + ":v2", good, "manifest unknown"},
		{"OK", repo + ":v1", good, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := d.PullImage(ctx, tt.ref, tt.auth)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("PullImage(%s) = %v; want an error saying %q", tt.ref, err, tt.wantErr)
				}
				if _, err := d.InspectImage(ctx, tt.ref); !errors.Is(err, errdefs.ErrNotFound) {
					t.Errorf("InspectImage(%s) after a failed pull = %v; want ErrNotFound", tt.ref, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("PullImage(%s) = %v; want nil", tt.ref, err)
			}
			// The image id is the config's digest, the repo digest the
			// manifest's: what the registry served.
			want := runtime.Image{ID: reg.configDigest, Digest: reg.manifestDigest}
			if img != want {
				t.Errorf("PullImage(%s) = %+v; want %+v", tt.ref, img, want)
			}
			if got, err := d.InspectImage(ctx, tt.ref); err != nil || got != want {
				t.Errorf("InspectImage(%s) = %+v, %v; want %+v", tt.ref, got, err, want)
			}
			byDigest := repo + "@" + reg.manifestDigest
			if got, err := d.InspectImage(ctx, byDigest); err != nil || got != want {
				t.Errorf("InspectImage(%s) = %+v, %v; want %+v", byDigest, got, err, want)
			}
		})
	}
}

// registry serves one image, tag v1, to one user.
type registry struct {
	user, password string
	manifest       []byte
	manifestDigest string
	configDigest   string
	blobs          map[string][]byte
}

func newRegistry(t *testing.T, user, password string) *registry {
	t.Helper()
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	body := []byte("pulled\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(body))}); err != nil {
		t.Fatal(err)
	}
	tw.Write(body)
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(layer.Bytes())
	zw.Close()

	config, _ := json.Marshal(map[string]any{
		"architecture": goruntime.GOARCH,
		"os":           "linux",
		"config":       map[string]any{"Entrypoint": []string{"/testapp"}, "Labels": map[string]string{testimage.LabelTest: "true"}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{digest(layer.Bytes())}},
	})
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.docker.distribution.manifest.v2+json",
		"config":        map[string]any{"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config), "digest": digest(config)},
		"layers": []map[string]any{{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
			"size": gz.Len(), "digest": digest(gz.Bytes())}},
	})
	return &registry{
		user: user, password: password,
		manifest: manifest, manifestDigest: digest(manifest), configDigest: digest(config),
		blobs: map[string][]byte{digest(config): config, digest(gz.Bytes()): gz.Bytes()},
	}
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (r *registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if u, p, ok := req.BasicAuth(); !ok || u != r.user || p != r.password {
		w.Header().Set("WWW-Authenticate", `Basic realm="berth-test"`)
		registryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return
	}
	path := req.URL.Path
	switch {
	case path == "/v2/":
		w.WriteHeader(http.StatusOK)
	case strings.Contains(path, "/manifests/"):
		ref := path[strings.LastIndex(path, "/")+1:]
		if ref != "v1" && ref != r.manifestDigest {
			registryError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
			return
		}
		w.Header().Set("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
		w.Header().Set("Docker-Content-Digest", r.manifestDigest)
		w.Header().Set("Content-Length", fmt.Sprint(len(r.manifest)))
		if req.Method != http.MethodHead {
			w.Write(r.manifest)
		}
	case strings.Contains(path, "/blobs/"):
		b, ok := r.blobs[path[strings.LastIndex(path, "/")+1:]]
		if !ok {
			registryError(w, http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown")
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		if req.Method != http.MethodHead {
			w.Write(b)
		}
	default:
		registryError(w, http.StatusNotFound, "NAME_UNKNOWN", "repository name not known")
	}
}

func registryError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q}]}`, code, message)
}
