package registry_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/registry"
)

func TestBaseAndAuth(t *testing.T) {
	e := newEnv(t)
	expired, _ := e.reg.MintToken(account, region, "p", e.clock.Now().Add(-13*time.Hour))
	otherKey, err := registry.New(registry.Config{DataDir: t.TempDir(), Host: "h", TokenKey: bytes.Repeat([]byte("x"), 32)}, e.store)
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := otherKey.MintToken(account, region, "p", e.clock.Now())
	for _, tc := range []struct {
		name   string
		auth   string
		status int
	}{
		{"no credentials", "", http.StatusUnauthorized},
		{"valid token", basic(e.token), http.StatusOK},
		{"wrong user", "Basic " + b64("admin:"+e.token), http.StatusUnauthorized},
		{"garbage", "Basic !!!", http.StatusUnauthorized},
		{"bearer", "Bearer " + e.token, http.StatusUnauthorized},
		{"expired token", basic(expired), http.StatusUnauthorized},
		{"token of another key", basic(forged), http.StatusUnauthorized},
		{"tampered token", basic(e.token[:10] + "x" + e.token[11:]), http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.auth != "" {
				hdr["Authorization"] = tc.auth
			}
			resp := e.send(req{method: http.MethodGet, path: "/v2/", header: hdr, token: strptr("")})
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			code := registry.ErrorCode("")
			if tc.status == http.StatusUnauthorized {
				code = registry.CodeUnauthorized
			}
			wantStatus(t, "GET /v2/", resp, body, tc.status, code)
			if tc.status == http.StatusUnauthorized {
				want := `Basic realm="http://127.0.0.1:4566/",service="ecr.amazonaws.com"`
				if got := resp.Header.Get("WWW-Authenticate"); got != want {
					t.Errorf("WWW-Authenticate = %q; want %q", got, want)
				}
			} else if string(body) != "{}" {
				t.Errorf("GET /v2/ body = %s; want {}", body)
			}
		})
	}
	t.Run("token has no colon", func(t *testing.T) {
		if strings.Contains(e.token, ":") {
			t.Fatalf("MintToken = %q; want no ':' (get-login-password splits on it)", e.token)
		}
	})
	t.Run("expires in 12 hours", func(t *testing.T) {
		now := e.clock.Now()
		_, exp := e.reg.MintToken(account, region, "p", now)
		if d := exp.Sub(now); d < 12*time.Hour-time.Second || d > 12*time.Hour {
			t.Fatalf("MintToken expiry = now+%v; want now+12h", d)
		}
	})
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestTenancy(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app", "")
	e.createRepoIn(registry.Scope{Account: other, Region: region}, "theirs", "")
	_, digest := e.pushImage("app", "v1", []byte(`{"a":1}`), []byte("layer"))
	otherTok, _ := e.reg.MintToken(other, region, "arn:aws:iam::"+other+":root", e.clock.Now())
	westTok, _ := e.reg.MintToken(account, "eu-west-1", "p", e.clock.Now())

	for _, tc := range []struct {
		name   string
		token  string
		path   string
		host   string
		status int
		code   registry.ErrorCode
	}{
		{"own manifest", e.token, "/v2/app/manifests/v1", "", 200, ""},
		{"other account cannot see it", otherTok, "/v2/app/manifests/v1", "", 404, registry.CodeNameUnknown},
		{"other account by digest", otherTok, "/v2/app/manifests/" + digest, "", 404, registry.CodeNameUnknown},
		{"other region cannot see it", westTok, "/v2/app/manifests/v1", "", 404, registry.CodeNameUnknown},
		{"other account's blob", otherTok, "/v2/app/blobs/" + sha([]byte("layer")), "", 404, registry.CodeNameUnknown},
		{"own repo of the other account", otherTok, "/v2/theirs/tags/list", "", 200, ""},
		{"ECR host of the token's account", e.token, "/v2/app/manifests/v1", account + ".dkr.ecr.us-east-1.localhost", 200, ""},
		{"ECR host of another account", e.token, "/v2/app/manifests/v1", other + ".dkr.ecr.us-east-1.localhost", 403, registry.CodeDenied},
		{"ECR host of another region", e.token, "/v2/", account + ".dkr.ecr.eu-west-1.localhost", 403, registry.CodeDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.host != "" {
				hdr["Host"] = tc.host
			}
			resp := e.send(req{method: http.MethodGet, path: tc.path, header: hdr, token: &tc.token})
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantStatus(t, "GET "+tc.path, resp, body, tc.status, tc.code)
		})
	}
	t.Run("catalog lists only the tenancy's repositories", func(t *testing.T) {
		resp := e.send(req{method: http.MethodGet, path: "/v2/_catalog", token: &otherTok})
		var out struct{ Repositories []string }
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if !slices.Equal(out.Repositories, []string{"theirs"}) {
			t.Fatalf("GET /v2/_catalog as %s = %v; want [theirs]", other, out.Repositories)
		}
	})
	t.Run("other account cannot push into it", func(t *testing.T) {
		resp := e.send(req{method: http.MethodPost, path: "/v2/app/blobs/uploads/", token: &otherTok})
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantStatus(t, "POST upload as other account", resp, body, 404, registry.CodeNameUnknown)
	})
}

func TestMonolithicUpload(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app", "")
	data := []byte("hello blob")
	d := sha(data)

	resp, body := e.call(http.MethodPost, "/v2/app/blobs/uploads/?digest="+sha([]byte("other")), data)
	wantStatus(t, "POST with a wrong digest", resp, body, 400, registry.CodeDigestInvalid)
	resp, body = e.call(http.MethodHead, "/v2/app/blobs/"+d, nil)
	wantStatus(t, "HEAD after a failed push", resp, body, 404, registry.CodeBlobUnknown)
	resp, body = e.call(http.MethodPost, "/v2/app/blobs/uploads/?digest=sha256:xyz", data)
	wantStatus(t, "POST with a malformed digest", resp, body, 400, registry.CodeDigestInvalid)

	resp, body = e.call(http.MethodPost, "/v2/app/blobs/uploads/?digest="+d, data)
	wantStatus(t, "POST monolithic", resp, body, 201, "")
	if got := resp.Header.Get("Location"); got != "/v2/app/blobs/"+d {
		t.Errorf("Location = %q; want /v2/app/blobs/%s", got, d)
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != d {
		t.Errorf("Docker-Content-Digest = %q; want %s", got, d)
	}
	resp, body = e.call(http.MethodHead, "/v2/app/blobs/"+d, nil)
	wantStatus(t, "HEAD blob", resp, body, 200, "")
	if resp.ContentLength != int64(len(data)) || resp.Header.Get("Docker-Content-Digest") != d {
		t.Errorf("HEAD blob = length %d digest %q; want %d %s", resp.ContentLength, resp.Header.Get("Docker-Content-Digest"), len(data), d)
	}
	resp, body = e.call(http.MethodGet, "/v2/app/blobs/"+d, nil)
	wantStatus(t, "GET blob", resp, body, 200, "")
	if !bytes.Equal(body, data) {
		t.Errorf("GET blob = %q; want %q", body, data)
	}
	resp, body = e.call(http.MethodGet, "/v2/app/blobs/"+sha([]byte("nope")), nil)
	wantStatus(t, "GET unknown blob", resp, body, 404, registry.CodeBlobUnknown)
	resp, body = e.call(http.MethodGet, "/v2/app/blobs/sha256:ABC", nil)
	wantStatus(t, "GET malformed digest", resp, body, 400, registry.CodeDigestInvalid)

	empty := sha(nil)
	resp, body = e.call(http.MethodPost, "/v2/app/blobs/uploads/?digest="+empty, []byte{})
	wantStatus(t, "POST empty blob", resp, body, 201, "")
	resp, body = e.call(http.MethodGet, "/v2/app/blobs/"+empty, nil)
	wantStatus(t, "GET empty blob", resp, body, 200, "")
	if len(body) != 0 {
		t.Errorf("GET empty blob = %q; want nothing", body)
	}
}

func TestChunkedUpload(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app", "")
	start := func(t *testing.T) string {
		resp, body := e.call(http.MethodPost, "/v2/app/blobs/uploads/", nil)
		wantStatus(t, "POST upload", resp, body, 202, "")
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, "/v2/app/blobs/uploads/") || resp.Header.Get("Docker-Upload-UUID") == "" {
			t.Fatalf("POST upload Location = %q, Docker-Upload-UUID = %q; want a session", loc, resp.Header.Get("Docker-Upload-UUID"))
		}
		return loc
	}
	data := []byte("0123456789abcdefghij")
	d := sha(data)

	t.Run("in order, then status, then finish", func(t *testing.T) {
		loc := start(t)
		resp, body := e.call(http.MethodPatch, loc, data[:5], "Content-Range", "0-4", "Content-Type", "application/octet-stream")
		wantStatus(t, "PATCH 0-4", resp, body, 202, "")
		if got := resp.Header.Get("Range"); got != "0-4" {
			t.Fatalf("PATCH 0-4 Range = %q; want 0-4", got)
		}
		for _, tc := range []struct {
			name, cr string
			chunk    []byte
		}{
			{"gap", "10-14", data[10:15]},
			{"overlap", "2-6", data[2:7]},
			{"repeat", "0-4", data[:5]},
		} {
			resp, body = e.call(http.MethodPatch, loc, tc.chunk, "Content-Range", tc.cr)
			wantStatus(t, "PATCH "+tc.name+" "+tc.cr, resp, body, 416, registry.CodeBlobUploadInvalid)
			if got := resp.Header.Get("Range"); got != "0-4" {
				t.Errorf("PATCH %s Range = %q; want 0-4", tc.name, got)
			}
		}
		resp, body = e.call(http.MethodPatch, loc, data[5:8], "Content-Range", "5-9")
		wantStatus(t, "PATCH with a length unlike its range", resp, body, 400, registry.CodeSizeInvalid)
		resp, body = e.call(http.MethodGet, loc, nil)
		wantStatus(t, "GET upload status", resp, body, 204, "")
		if got := resp.Header.Get("Range"); got != "0-4" {
			t.Fatalf("upload status Range = %q after rejected chunks; want 0-4", got)
		}
		// Streaming, as docker sends it: no Content-Range.
		resp, body = e.call(http.MethodPatch, loc, data[5:15])
		wantStatus(t, "PATCH streaming", resp, body, 202, "")
		if got := resp.Header.Get("Range"); got != "0-14" {
			t.Fatalf("PATCH streaming Range = %q; want 0-14", got)
		}
		resp, body = e.call(http.MethodPut, loc+"?digest="+d, data[15:], "Content-Range", "15-19")
		wantStatus(t, "PUT final chunk", resp, body, 201, "")
		if resp.Header.Get("Docker-Content-Digest") != d || resp.Header.Get("Location") != "/v2/app/blobs/"+d {
			t.Errorf("PUT = digest %q location %q; want %s", resp.Header.Get("Docker-Content-Digest"), resp.Header.Get("Location"), d)
		}
		resp, body = e.call(http.MethodGet, "/v2/app/blobs/"+d, nil)
		wantStatus(t, "GET blob", resp, body, 200, "")
		if !bytes.Equal(body, data) {
			t.Fatalf("GET blob = %q; want %q", body, data)
		}
		resp, body = e.call(http.MethodGet, loc, nil)
		wantStatus(t, "GET finished upload", resp, body, 404, registry.CodeBlobUploadUnknown)
	})
	t.Run("digest mismatch", func(t *testing.T) {
		loc := start(t)
		resp, body := e.call(http.MethodPatch, loc, []byte("abc"))
		wantStatus(t, "PATCH", resp, body, 202, "")
		resp, body = e.call(http.MethodPut, loc+"?digest="+sha([]byte("abd")), nil)
		wantStatus(t, "PUT wrong digest", resp, body, 400, registry.CodeDigestInvalid)
		resp, body = e.call(http.MethodHead, "/v2/app/blobs/"+sha([]byte("abd")), nil)
		wantStatus(t, "HEAD claimed digest", resp, body, 404, registry.CodeBlobUnknown)
		resp, body = e.call(http.MethodHead, "/v2/app/blobs/"+sha([]byte("abc")), nil)
		wantStatus(t, "HEAD real digest", resp, body, 404, registry.CodeBlobUnknown)
	})
	t.Run("missing digest on PUT", func(t *testing.T) {
		loc := start(t)
		resp, body := e.call(http.MethodPut, loc, []byte("abc"))
		wantStatus(t, "PUT without digest", resp, body, 400, registry.CodeDigestInvalid)
		resp, body = e.call(http.MethodGet, loc, nil)
		wantStatus(t, "GET upload after a PUT without digest", resp, body, 204, "")
	})
	t.Run("cancel", func(t *testing.T) {
		loc := start(t)
		resp, body := e.call(http.MethodDelete, loc, nil)
		wantStatus(t, "DELETE upload", resp, body, 204, "")
		resp, body = e.call(http.MethodGet, loc, nil)
		wantStatus(t, "GET cancelled upload", resp, body, 404, registry.CodeBlobUploadUnknown)
		resp, body = e.call(http.MethodPatch, loc, []byte("x"))
		wantStatus(t, "PATCH cancelled upload", resp, body, 404, registry.CodeBlobUploadUnknown)
	})
	t.Run("unknown and malformed sessions", func(t *testing.T) {
		for _, id := range []string{"00000000-0000-4000-8000-000000000000", "..", "x", "%2e%2e"} {
			resp, body := e.call(http.MethodGet, "/v2/app/blobs/uploads/"+id, nil)
			wantStatus(t, "GET upload "+id, resp, body, 404, registry.CodeBlobUploadUnknown)
		}
	})
	t.Run("session of another repository", func(t *testing.T) {
		e.createRepo("other", "")
		loc := start(t)
		id := loc[strings.LastIndex(loc, "/")+1:]
		resp, body := e.call(http.MethodPatch, "/v2/other/blobs/uploads/"+id, []byte("x"))
		wantStatus(t, "PATCH through another repository", resp, body, 404, registry.CodeBlobUploadUnknown)
	})
	t.Run("sha512", func(t *testing.T) {
		resp, body := e.call(http.MethodPost, "/v2/app/blobs/uploads/?digest-algorithm=sha512", nil)
		wantStatus(t, "POST sha512 upload", resp, body, 202, "")
		loc := resp.Header.Get("Location")
		resp, body = e.call(http.MethodPatch, loc, data[:7], "Content-Range", "0-6")
		wantStatus(t, "PATCH", resp, body, 202, "")
		d512 := sha512d(data)
		resp, body = e.call(http.MethodPut, loc+"?digest="+d512, data[7:])
		wantStatus(t, "PUT sha512", resp, body, 201, "")
		if got := resp.Header.Get("Docker-Content-Digest"); got != d512 {
			t.Fatalf("Docker-Content-Digest = %q; want %s", got, d512)
		}
		resp, body = e.call(http.MethodGet, "/v2/app/blobs/"+d512, nil)
		wantStatus(t, "GET sha512 blob", resp, body, 200, "")
		if !bytes.Equal(body, data) || resp.Header.Get("Docker-Content-Digest") != d512 {
			t.Fatalf("GET sha512 blob = %q digest %q; want %q %s", body, resp.Header.Get("Docker-Content-Digest"), data, d512)
		}
		resp, body = e.call(http.MethodPost, "/v2/app/blobs/uploads/?digest-algorithm=md5", nil)
		wantStatus(t, "POST md5 upload", resp, body, 400, registry.CodeDigestInvalid)
	})
}

func TestUploadSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app", "")
	resp, body := e.call(http.MethodPost, "/v2/app/blobs/uploads/", nil)
	wantStatus(t, "POST upload", resp, body, 202, "")
	loc := resp.Header.Get("Location")
	resp, body = e.call(http.MethodPatch, loc, []byte("first half;"))
	wantStatus(t, "PATCH", resp, body, 202, "")

	// A second registry on the same data directory and store, as after a
	// restart of the server.
	reg2, err := registry.New(e.cfg, e.store)
	if err != nil {
		t.Fatal(err)
	}
	defer reg2.Close()
	srv2 := httptest.NewServer(reg2)
	defer srv2.Close()
	e.srv = srv2
	data := []byte("first half;second half")
	resp, body = e.call(http.MethodPut, loc+"?digest="+sha(data), []byte("second half"))
	wantStatus(t, "PUT after restart", resp, body, 201, "")
	resp, body = e.call(http.MethodGet, "/v2/app/blobs/"+sha(data), nil)
	if !bytes.Equal(body, data) {
		t.Fatalf("GET blob after restart = %d %q; want %q", resp.StatusCode, body, data)
	}
}

func TestRangeRequests(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app", "")
	data := []byte("0123456789")
	d := e.pushBlob("app", data)
	for _, tc := range []struct {
		rng    string
		status int
		want   string
	}{
		{"bytes=2-5", 206, "2345"},
		{"bytes=7-", 206, "789"},
		{"bytes=-3", 206, "789"},
		{"bytes=500-0", 416, ""},
		{"bytes=5000-10000", 416, ""},
	} {
		t.Run(tc.rng, func(t *testing.T) {
			resp, body := e.call(http.MethodGet, "/v2/app/blobs/"+d, nil, "Range", tc.rng)
			if resp.StatusCode != tc.status {
				t.Fatalf("GET Range %s = %d; want %d", tc.rng, resp.StatusCode, tc.status)
			}
			if tc.status == 206 && string(body) != tc.want {
				t.Fatalf("GET Range %s = %q; want %q", tc.rng, body, tc.want)
			}
		})
	}
}

// blobFile is where a blob's bytes are on disk.
func (e *env) blobFile(d string) string {
	alg, hx, _ := strings.Cut(d, ":")
	return filepath.Join(e.dir, "blobs", alg, hx[:2], hx)
}

func TestCorruptBlobNotServed(t *testing.T) {
	for _, tc := range []struct {
		size int
		flip string // which byte is changed: first or last
	}{{10, "last"}, {64 << 10, "last"}, {200<<10 + 17, "last"}, {200<<10 + 17, "first"}, {3 << 20, "first"}} {
		t.Run(fmt.Sprintf("%d/%s", tc.size, tc.flip), func(t *testing.T) {
			size := tc.size
			e := newEnv(t)
			e.createRepo("app", "")
			data := bytes.Repeat([]byte("a"), size)
			d := e.pushBlob("app", data)
			bad := bytes.Clone(data)
			if tc.flip == "first" {
				bad[0] = 'b' // same length, one byte flipped: a part already sent is wrong
			} else {
				bad[len(bad)-1] = 'b'
			}
			if err := os.WriteFile(e.blobFile(d), bad, 0o600); err != nil {
				t.Fatal(err)
			}
			resp := e.send(req{method: http.MethodGet, path: "/v2/app/blobs/" + d})
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode == 200 && len(got) == size {
				t.Fatalf("GET corrupt blob = complete 200 response of %d bytes; want a failed transfer", len(got))
			}
			if bytes.Equal(got, bad) {
				t.Fatalf("GET corrupt blob served the corrupt bytes")
			}
			r2, body := e.call(http.MethodHead, "/v2/app/blobs/"+d, nil)
			wantStatus(t, "HEAD quarantined blob", r2, body, 404, registry.CodeBlobUnknown)
			// The client pushes it again, which heals it.
			e.pushBlob("app", data)
			r3, body := e.call(http.MethodGet, "/v2/app/blobs/"+d, nil)
			wantStatus(t, "GET re-pushed blob", r3, body, 200, "")
			if !bytes.Equal(body, data) {
				t.Fatalf("GET re-pushed blob returned other bytes")
			}
		})
	}
	t.Run("range of a corrupt blob", func(t *testing.T) {
		e := newEnv(t)
		e.createRepo("app", "")
		d := e.pushBlob("app", []byte("0123456789"))
		if err := os.WriteFile(e.blobFile(d), []byte("0123456780"), 0o600); err != nil {
			t.Fatal(err)
		}
		resp, body := e.call(http.MethodGet, "/v2/app/blobs/"+d, nil, "Range", "bytes=0-3")
		wantStatus(t, "GET Range of corrupt blob", resp, body, 404, registry.CodeBlobUnknown)
	})
	t.Run("corrupt manifest", func(t *testing.T) {
		e := newEnv(t)
		e.createRepo("app", "")
		m, d := e.pushImage("app", "v1", []byte("{}"))
		bad := bytes.Clone(m)
		bad[0] = ' '
		if err := os.WriteFile(e.blobFile(d), bad, 0o600); err != nil {
			t.Fatal(err)
		}
		resp, body := e.call(http.MethodGet, "/v2/app/manifests/v1", nil)
		wantStatus(t, "GET corrupt manifest", resp, body, 404, registry.CodeManifestUnknown)
	})
}

func TestManifests(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app", "")
	config, layer := []byte(`{"architecture":"amd64"}`), []byte("layer-bytes")
	e.pushBlob("app", config)
	e.pushBlob("app", layer)

	for _, mt := range []string{registry.MediaTypeDockerManifest, registry.MediaTypeOCIManifest} {
		t.Run(mt, func(t *testing.T) {
			m := imageManifest(mt, config, layer)
			d := sha(m)
			resp, body := e.call(http.MethodPut, "/v2/app/manifests/"+mt[len(mt)-9:len(mt)-5], m, "Content-Type", mt)
			wantStatus(t, "PUT manifest", resp, body, 201, "")
			if resp.Header.Get("Docker-Content-Digest") != d || resp.Header.Get("Location") != "/v2/app/manifests/"+d {
				t.Fatalf("PUT manifest = digest %q location %q; want %s", resp.Header.Get("Docker-Content-Digest"), resp.Header.Get("Location"), d)
			}
			for _, ref := range []string{mt[len(mt)-9 : len(mt)-5], d} {
				resp, body = e.call(http.MethodGet, "/v2/app/manifests/"+ref, nil, "Accept", mt)
				wantStatus(t, "GET manifest "+ref, resp, body, 200, "")
				if !bytes.Equal(body, m) || resp.Header.Get("Content-Type") != mt || resp.Header.Get("Docker-Content-Digest") != d {
					t.Fatalf("GET manifest %s = %s (%s, %s); want the pushed bytes as %s", ref, body, resp.Header.Get("Content-Type"), resp.Header.Get("Docker-Content-Digest"), mt)
				}
				resp, body = e.call(http.MethodHead, "/v2/app/manifests/"+ref, nil)
				wantStatus(t, "HEAD manifest "+ref, resp, body, 200, "")
				if resp.ContentLength != int64(len(m)) || resp.Header.Get("Content-Type") != mt {
					t.Fatalf("HEAD manifest = %d %s; want %d %s", resp.ContentLength, resp.Header.Get("Content-Type"), len(m), mt)
				}
			}
		})
	}

	missing := []byte("never pushed")
	pushedOCI := sha(imageManifest(registry.MediaTypeOCIManifest, config, layer))
	bad := []struct {
		name, ref, ct string
		body          []byte
		status        int
		code          registry.ErrorCode
	}{
		{"missing layer", "t1", registry.MediaTypeOCIManifest, imageManifest(registry.MediaTypeOCIManifest, config, layer, missing), 400, registry.CodeManifestBlobUnknown},
		{"missing config", "t1", registry.MediaTypeOCIManifest, imageManifest(registry.MediaTypeOCIManifest, missing, layer), 400, registry.CodeManifestBlobUnknown},
		{"not JSON", "t1", registry.MediaTypeOCIManifest, []byte("{"), 400, registry.CodeManifestInvalid},
		{"schema 1", "t1", "application/vnd.docker.distribution.manifest.v1+prettyjws", []byte(`{"schemaVersion":1}`), 400, registry.CodeManifestInvalid},
		{"media type mismatch", "t1", registry.MediaTypeDockerManifest, imageManifest(registry.MediaTypeOCIManifest, config, layer), 400, registry.CodeManifestInvalid},
		{"unknown media type", "t1", "application/x-thing", []byte(`{"schemaVersion":2,"mediaType":"application/x-thing"}`), 400, registry.CodeManifestInvalid},
		{"bad descriptor digest", "t1", registry.MediaTypeOCIManifest, []byte(`{"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:zz","size":1}}`), 400, registry.CodeManifestInvalid},
		{"digest reference mismatch", sha([]byte("x")), registry.MediaTypeOCIManifest, imageManifest(registry.MediaTypeOCIManifest, config, layer), 400, registry.CodeDigestInvalid},
		{"malformed digest reference", "sha256:1234", registry.MediaTypeOCIManifest, imageManifest(registry.MediaTypeOCIManifest, config, layer), 400, registry.CodeDigestInvalid},
		{"invalid tag", strings.Repeat("t", 129), registry.MediaTypeOCIManifest, imageManifest(registry.MediaTypeOCIManifest, config, layer), 400, registry.CodeTagInvalid},
		{"index with a missing child", "t1", registry.MediaTypeOCIIndex, mustJSON(manifest{SchemaVersion: 2, MediaType: registry.MediaTypeOCIIndex,
			Manifests: []descriptor{{MediaType: registry.MediaTypeOCIManifest, Digest: sha(missing), Size: 3}}}), 400, registry.CodeManifestBlobUnknown},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.call(http.MethodPut, "/v2/app/manifests/"+tc.ref, tc.body, "Content-Type", tc.ct)
			wantStatus(t, "PUT manifest", resp, body, tc.status, tc.code)
			resp, body = e.call(http.MethodGet, "/v2/app/manifests/t1", nil)
			wantStatus(t, "GET t1 after rejected PUT", resp, body, 404, registry.CodeManifestUnknown)
			if sha(tc.body) != pushedOCI {
				resp, body = e.call(http.MethodGet, "/v2/app/manifests/"+sha(tc.body), nil)
				wantStatus(t, "GET digest after rejected PUT", resp, body, 404, registry.CodeManifestUnknown)
			}
		})
	}

	t.Run("index and manifest list", func(t *testing.T) {
		child := imageManifest(registry.MediaTypeOCIManifest, config, layer)
		for _, mt := range []string{registry.MediaTypeOCIIndex, registry.MediaTypeDockerManifestList} {
			idx := mustJSON(manifest{SchemaVersion: 2, MediaType: mt, Manifests: []descriptor{{MediaType: registry.MediaTypeOCIManifest, Digest: sha(child), Size: len(child)}}})
			resp, body := e.call(http.MethodPut, "/v2/app/manifests/multi", idx, "Content-Type", mt)
			wantStatus(t, "PUT "+mt, resp, body, 201, "")
			resp, body = e.call(http.MethodGet, "/v2/app/manifests/multi", nil)
			wantStatus(t, "GET "+mt, resp, body, 200, "")
			if resp.Header.Get("Content-Type") != mt || !bytes.Equal(body, idx) {
				t.Fatalf("GET index = %s as %s; want the pushed bytes as %s", body, resp.Header.Get("Content-Type"), mt)
			}
		}
	})
	t.Run("index listing a manifest twice", func(t *testing.T) {
		// One image for two platforms, say: legal, and one child.
		child := imageManifest(registry.MediaTypeOCIManifest, config, layer)
		resp, body := e.call(http.MethodPut, "/v2/app/manifests/"+sha(child), child, "Content-Type", registry.MediaTypeOCIManifest)
		wantStatus(t, "PUT child", resp, body, 201, "")
		cd := descriptor{MediaType: registry.MediaTypeOCIManifest, Digest: sha(child), Size: len(child)}
		idx := mustJSON(manifest{SchemaVersion: 2, MediaType: registry.MediaTypeOCIIndex, Manifests: []descriptor{cd, cd}})
		resp, body = e.call(http.MethodPut, "/v2/app/manifests/twice", idx, "Content-Type", registry.MediaTypeOCIIndex)
		wantStatus(t, "PUT index listing a child twice", resp, body, 201, "")
		resp, body = e.call(http.MethodGet, "/v2/app/manifests/twice", nil)
		wantStatus(t, "GET index listing a child twice", resp, body, 200, "")
	})
	t.Run("non-distributable layer need not be pushed", func(t *testing.T) {
		m := mustJSON(map[string]any{"schemaVersion": 2, "mediaType": registry.MediaTypeOCIManifest,
			"config": descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: sha(config), Size: len(config)},
			"layers": []map[string]any{{"mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "digest": sha(missing), "size": 12, "urls": []string{"https://example.com/layer"}}}})
		resp, body := e.call(http.MethodPut, "/v2/app/manifests/nd", m, "Content-Type", registry.MediaTypeOCIManifest)
		wantStatus(t, "PUT manifest with a foreign layer", resp, body, 201, "")
	})
	t.Run("tag and digest deletion", func(t *testing.T) {
		m, d := e.pushImage("app", "gone", []byte(`{"del":1}`))
		_ = m
		resp, body := e.call(http.MethodDelete, "/v2/app/manifests/gone", nil)
		wantStatus(t, "DELETE tag", resp, body, 202, "")
		resp, body = e.call(http.MethodGet, "/v2/app/manifests/gone", nil)
		wantStatus(t, "GET deleted tag", resp, body, 404, registry.CodeManifestUnknown)
		resp, body = e.call(http.MethodGet, "/v2/app/manifests/"+d, nil)
		wantStatus(t, "GET digest of deleted tag", resp, body, 200, "")
		resp, body = e.call(http.MethodDelete, "/v2/app/manifests/"+d, nil)
		wantStatus(t, "DELETE digest", resp, body, 202, "")
		resp, body = e.call(http.MethodGet, "/v2/app/manifests/"+d, nil)
		wantStatus(t, "GET deleted digest", resp, body, 404, registry.CodeManifestUnknown)
		resp, body = e.call(http.MethodDelete, "/v2/app/manifests/"+d, nil)
		wantStatus(t, "DELETE deleted digest", resp, body, 404, registry.CodeManifestUnknown)
	})
	t.Run("PUT by digest with tag parameters", func(t *testing.T) {
		m := imageManifest(registry.MediaTypeOCIManifest, config)
		resp, body := e.call(http.MethodPut, "/v2/app/manifests/"+sha(m)+"?tag=p1&tag=p2", m, "Content-Type", registry.MediaTypeOCIManifest)
		wantStatus(t, "PUT with ?tag=", resp, body, 201, "")
		if got := resp.Header.Values("OCI-Tag"); !slices.Equal(got, []string{"p1", "p2"}) {
			t.Errorf("OCI-Tag = %v; want [p1 p2]", got)
		}
		for _, tag := range []string{"p1", "p2"} {
			resp, body = e.call(http.MethodGet, "/v2/app/manifests/"+tag, nil)
			wantStatus(t, "GET "+tag, resp, body, 200, "")
		}
	})
	t.Run("a tag named twice", func(t *testing.T) {
		// The same tag in the path and a parameter, or twice as a
		// parameter, is one tag: one write, not a conflict with itself.
		m := imageManifest(registry.MediaTypeOCIManifest, config, []byte("twice"))
		e.pushBlob("app", []byte("twice"))
		resp, body := e.call(http.MethodPut, "/v2/app/manifests/t1?tag=t1&tag=t2&tag=t2", m, "Content-Type", registry.MediaTypeOCIManifest)
		wantStatus(t, "PUT t1?tag=t1&tag=t2&tag=t2", resp, body, 201, "")
		for _, tag := range []string{"t1", "t2"} {
			resp, body = e.call(http.MethodGet, "/v2/app/manifests/"+tag, nil)
			wantStatus(t, "GET "+tag, resp, body, 200, "")
			if got := resp.Header.Get("Docker-Content-Digest"); got != sha(m) {
				t.Errorf("GET %s: Docker-Content-Digest = %s; want %s", tag, got, sha(m))
			}
		}
	})
}

func TestManifestSizeLimit(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app", "")
	config := []byte("{}")
	e.pushBlob("app", config)
	padded := func(size int) []byte {
		m := imageManifest(registry.MediaTypeOCIManifest, config)
		base := len(m) + len(`,"annotations":{"pad":""}`)
		pad := strings.Repeat("p", size-base)
		out := mustJSON(manifest{SchemaVersion: 2, MediaType: registry.MediaTypeOCIManifest,
			Config:      &descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: sha(config), Size: 2},
			Annotations: map[string]string{"pad": pad}})
		if len(out) != size {
			t.Fatalf("padded manifest is %d bytes; want %d", len(out), size)
		}
		return out
	}
	ok := padded(4 << 20)
	resp, body := e.call(http.MethodPut, "/v2/app/manifests/big", ok, "Content-Type", registry.MediaTypeOCIManifest)
	wantStatus(t, "PUT 4 MiB manifest", resp, body, 201, "")
	resp, body = e.call(http.MethodGet, "/v2/app/manifests/big", nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, ok) {
		t.Fatalf("GET 4 MiB manifest = %d, %d bytes; want 200 and the pushed bytes", resp.StatusCode, len(body))
	}
	tooBig := padded(4<<20 + 1)
	resp, body = e.call(http.MethodPut, "/v2/app/manifests/huge", tooBig, "Content-Type", registry.MediaTypeOCIManifest)
	wantStatus(t, "PUT 4 MiB + 1 manifest", resp, body, 413, registry.CodeSizeInvalid)
	// Without Content-Length (chunked), the limit still holds.
	resp2 := e.send(req{method: http.MethodPut, path: "/v2/app/manifests/huge", body: io.MultiReader(bytes.NewReader(tooBig)),
		header: map[string]string{"Content-Type": registry.MediaTypeOCIManifest}})
	body, _ = io.ReadAll(resp2.Body)
	resp2.Body.Close()
	wantStatus(t, "PUT chunked oversized manifest", resp2, body, 413, registry.CodeSizeInvalid)
	resp, body = e.call(http.MethodGet, "/v2/app/manifests/huge", nil)
	wantStatus(t, "GET rejected manifest", resp, body, 404, registry.CodeManifestUnknown)
}

func TestTagImmutability(t *testing.T) {
	e := newEnv(t)
	e.createRepo("locked", registry.Immutable)
	e.createRepo("mostly", registry.ImmutableWithExclusion, "dev-*", "latest")
	e.createRepo("loose", registry.MutableWithExclusion, "release-*")
	c1, c2 := []byte(`{"n":1}`), []byte(`{"n":2}`)
	for _, repo := range []string{"locked", "mostly", "loose"} {
		e.pushBlob(repo, c1)
		e.pushBlob(repo, c2)
	}
	m1, m2 := imageManifest(registry.MediaTypeOCIManifest, c1), imageManifest(registry.MediaTypeOCIManifest, c2)
	put := func(repo, tag string, m []byte) (*http.Response, []byte) {
		return e.call(http.MethodPut, "/v2/"+repo+"/manifests/"+tag, m, "Content-Type", registry.MediaTypeOCIManifest)
	}
	for _, tc := range []struct {
		repo, tag string
		immutable bool
	}{
		{"locked", "v1", true},
		{"mostly", "v1", true},
		{"mostly", "dev-7", false},
		{"mostly", "latest", false},
		{"loose", "v1", false},
		{"loose", "release-1", true},
	} {
		t.Run(tc.repo+":"+tc.tag, func(t *testing.T) {
			resp, body := put(tc.repo, tc.tag, m1)
			wantStatus(t, "first PUT", resp, body, 201, "")
			for _, m := range [][]byte{m2, m1} {
				resp, body = put(tc.repo, tc.tag, m)
				if !tc.immutable {
					wantStatus(t, "PUT over a mutable tag", resp, body, 201, "")
					continue
				}
				wantStatus(t, "PUT over an immutable tag", resp, body, 400, registry.CodeTagInvalid)
				want := "The image tag '" + tc.tag + "' already exists in the '" + tc.repo + "' repository and cannot be overwritten because the tag is immutable."
				if got := errMessage(t, body); got != want {
					t.Fatalf("TAG_INVALID message = %q; want %q", got, want)
				}
			}
			_, body = e.call(http.MethodGet, "/v2/"+tc.repo+"/manifests/"+tc.tag, nil)
			if want := m1; tc.immutable && !bytes.Equal(body, want) {
				t.Fatalf("GET %s:%s after rejected overwrite = %s; want the first manifest", tc.repo, tc.tag, body)
			}
		})
	}
	t.Run("new tags are fine", func(t *testing.T) {
		resp, body := put("locked", "v2", m2)
		wantStatus(t, "PUT new tag", resp, body, 201, "")
	})
}

func TestTagsList(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app", "")
	config := []byte("{}")
	e.pushBlob("app", config)
	m := imageManifest(registry.MediaTypeOCIManifest, config)
	var all []string
	for i := range 7 {
		tag := "t" + strconv.Itoa(i)
		all = append(all, tag)
		resp, body := e.call(http.MethodPut, "/v2/app/manifests/"+tag, m, "Content-Type", registry.MediaTypeOCIManifest)
		wantStatus(t, "PUT "+tag, resp, body, 201, "")
	}
	list := func(query string) ([]string, string, int) {
		resp, body := e.call(http.MethodGet, "/v2/app/tags/list"+query, nil)
		var out struct {
			Name string
			Tags []string
		}
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("tags/list%s body %s: %v", query, body, err)
		}
		if resp.StatusCode == 200 && (out.Name != "app" || out.Tags == nil) {
			t.Fatalf("tags/list%s = %s; want name app and a tags array", query, body)
		}
		return out.Tags, resp.Header.Get("Link"), resp.StatusCode
	}
	for _, tc := range []struct {
		query string
		want  []string
		link  string
	}{
		{"", all, ""},
		{"?n=3", all[:3], `</v2/app/tags/list?n=3&last=t2>; rel="next"`},
		{"?n=3&last=t2", all[3:6], `</v2/app/tags/list?n=3&last=t5>; rel="next"`},
		{"?n=3&last=t5", all[6:], ""},
		{"?n=7", all, ""},
		{"?n=0", []string{}, ""},
		{"?last=t4", all[5:], ""},
		{"?last=t6", []string{}, ""},
		{"?n=1000000000", all, ""},
	} {
		t.Run(tc.query, func(t *testing.T) {
			got, link, status := list(tc.query)
			if status != 200 || !slices.Equal(got, tc.want) || link != tc.link {
				t.Fatalf("tags/list%s = %d %v Link %q; want %v Link %q", tc.query, status, got, link, tc.want, tc.link)
			}
		})
	}
	resp, body := e.call(http.MethodGet, "/v2/app/tags/list?n=-1", nil)
	wantStatus(t, "tags/list?n=-1", resp, body, 400, registry.CodeUnsupported)
	resp, body = e.call(http.MethodGet, "/v2/nope/tags/list", nil)
	wantStatus(t, "tags/list of an unknown repository", resp, body, 404, registry.CodeNameUnknown)
}

func TestCatalog(t *testing.T) {
	e := newEnv(t)
	names := []string{"a", "b/c", "b/d", "e"}
	for _, n := range names {
		e.createRepo(n, "")
	}
	for _, tc := range []struct {
		query string
		want  []string
		link  string
	}{
		{"", names, ""},
		{"?n=2", names[:2], `</v2/_catalog?n=2&last=b%2Fc>; rel="next"`},
		{"?n=2&last=b%2Fc", names[2:], ""},
		{"?n=1000000000", names, ""},
		{"?n=0", []string{}, ""},
	} {
		t.Run(tc.query, func(t *testing.T) {
			resp, body := e.call(http.MethodGet, "/v2/_catalog"+tc.query, nil)
			var out struct{ Repositories []string }
			_ = json.Unmarshal(body, &out)
			if resp.StatusCode != 200 || !slices.Equal(out.Repositories, tc.want) || resp.Header.Get("Link") != tc.link {
				t.Fatalf("_catalog%s = %d %v Link %q; want %v Link %q", tc.query, resp.StatusCode, out.Repositories, resp.Header.Get("Link"), tc.want, tc.link)
			}
		})
	}
}

func TestReferrers(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app", "")
	_, subject := e.pushImage("app", "v1", []byte(`{"img":1}`), []byte("l"))
	empty := []byte("{}")
	e.pushBlob("app", empty)
	artifact := func(artifactType, note string) []byte {
		return mustJSON(manifest{SchemaVersion: 2, MediaType: registry.MediaTypeOCIManifest, ArtifactType: artifactType,
			Config:      &descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: sha(empty), Size: 2},
			Layers:      []descriptor{{MediaType: "application/vnd.oci.empty.v1+json", Digest: sha(empty), Size: 2}},
			Subject:     &descriptor{MediaType: registry.MediaTypeOCIManifest, Digest: subject, Size: 100},
			Annotations: map[string]string{"note": note}})
	}
	sig, sbom := artifact("application/vnd.example.sig", "s"), artifact("application/vnd.example.sbom", "b")
	for _, a := range [][]byte{sig, sbom} {
		resp, body := e.call(http.MethodPut, "/v2/app/manifests/"+sha(a), a, "Content-Type", registry.MediaTypeOCIManifest)
		wantStatus(t, "PUT artifact", resp, body, 201, "")
		if got := resp.Header.Get("OCI-Subject"); got != subject {
			t.Fatalf("PUT artifact OCI-Subject = %q; want %s", got, subject)
		}
	}
	// A subject that does not exist (yet) is accepted.
	orphan := mustJSON(manifest{SchemaVersion: 2, MediaType: registry.MediaTypeOCIManifest, ArtifactType: "application/vnd.example.sig",
		Config:  &descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: sha(empty), Size: 2},
		Subject: &descriptor{MediaType: registry.MediaTypeOCIManifest, Digest: sha([]byte("absent")), Size: 1}})
	resp, body := e.call(http.MethodPut, "/v2/app/manifests/"+sha(orphan), orphan, "Content-Type", registry.MediaTypeOCIManifest)
	wantStatus(t, "PUT artifact with a missing subject", resp, body, 201, "")

	type index struct {
		SchemaVersion int
		MediaType     string
		Manifests     []descriptor
	}
	get := func(query string) (index, *http.Response) {
		resp, body := e.call(http.MethodGet, "/v2/app/referrers/"+subject+query, nil)
		wantStatus(t, "GET referrers"+query, resp, body, 200, "")
		var ix index
		if err := json.Unmarshal(body, &ix); err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("Content-Type") != registry.MediaTypeOCIIndex || ix.MediaType != registry.MediaTypeOCIIndex || ix.SchemaVersion != 2 {
			t.Fatalf("GET referrers = %s (%s); want an OCI image index", body, resp.Header.Get("Content-Type"))
		}
		return ix, resp
	}
	ix, resp := get("")
	if len(ix.Manifests) != 2 || resp.Header.Get("OCI-Filters-Applied") != "" {
		t.Fatalf("GET referrers = %+v; want the 2 artifacts, no filter", ix.Manifests)
	}
	for _, d := range ix.Manifests {
		want := map[string]string{sha(sig): "application/vnd.example.sig", sha(sbom): "application/vnd.example.sbom"}[d.Digest]
		if d.ArtifactType != want || d.MediaType != registry.MediaTypeOCIManifest || d.Annotations["note"] == "" || d.Size == 0 {
			t.Errorf("referrer %+v; want artifactType %q, media type, size and annotations", d, want)
		}
	}
	ix, resp = get("?artifactType=application/vnd.example.sbom")
	if len(ix.Manifests) != 1 || ix.Manifests[0].Digest != sha(sbom) || resp.Header.Get("OCI-Filters-Applied") != "artifactType" {
		t.Fatalf("GET referrers filtered = %+v, OCI-Filters-Applied %q; want only the sbom, artifactType", ix.Manifests, resp.Header.Get("OCI-Filters-Applied"))
	}
	resp, body = e.call(http.MethodGet, "/v2/app/referrers/"+sha([]byte("nothing")), nil)
	wantStatus(t, "GET referrers of an unknown digest", resp, body, 200, "")
	resp, body = e.call(http.MethodGet, "/v2/app/referrers/sha256:bad", nil)
	wantStatus(t, "GET referrers of a malformed digest", resp, body, 400, registry.CodeDigestInvalid)
	// Deleting a referrer removes it from the list.
	resp, body = e.call(http.MethodDelete, "/v2/app/manifests/"+sha(sig), nil)
	wantStatus(t, "DELETE artifact", resp, body, 202, "")
	if ix, _ = get(""); len(ix.Manifests) != 1 {
		t.Fatalf("GET referrers after delete = %+v; want 1", ix.Manifests)
	}
}

func TestNames(t *testing.T) {
	e := newEnv(t)
	e.createRepo("ok/name", "")
	for _, tc := range []struct {
		path   string
		status int
		code   registry.ErrorCode
	}{
		{"/v2/Upper/tags/list", 400, registry.CodeNameInvalid},
		{"/v2/ok/../etc/tags/list", 400, registry.CodeNameInvalid},
		{"/v2/ok/%2e%2e/x/tags/list", 400, registry.CodeNameInvalid},
		{"/v2/ok%2Fname/tags/list", 400, registry.CodeNameInvalid},
		{"/v2/-lead/tags/list", 400, registry.CodeNameInvalid},
		{"/v2/trail-/tags/list", 400, registry.CodeNameInvalid},
		{"/v2/a//b/tags/list", 400, registry.CodeNameInvalid},
		{"/v2/a\\b/tags/list", 400, registry.CodeNameInvalid},
		{"/v2/" + strings.Repeat("a", 257) + "/tags/list", 400, registry.CodeNameInvalid},
		{"/v2/unknown/tags/list", 404, registry.CodeNameUnknown},
		{"/v2/ok/name/tags/list", 200, ""},
		{"/v2/ok/name/nonsense", 400, registry.CodeNameInvalid},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := e.call(http.MethodGet, tc.path, nil)
			wantStatus(t, "GET "+tc.path, resp, body, tc.status, tc.code)
		})
	}
	t.Run("push to an unknown repository", func(t *testing.T) {
		resp, body := e.call(http.MethodPost, "/v2/nope/blobs/uploads/", nil)
		wantStatus(t, "POST upload", resp, body, 404, registry.CodeNameUnknown)
		want := "The repository with name 'nope' does not exist in the registry with id '" + account + "'"
		if got := errMessage(t, body); got != want {
			t.Fatalf("NAME_UNKNOWN message = %q; want %q", got, want)
		}
		resp, body = e.call(http.MethodPut, "/v2/nope/manifests/v1", imageManifest(registry.MediaTypeOCIManifest, []byte("{}")), "Content-Type", registry.MediaTypeOCIManifest)
		wantStatus(t, "PUT manifest", resp, body, 404, registry.CodeNameUnknown)
	})
	t.Run("nothing outside the data directory", func(t *testing.T) {
		parent := filepath.Dir(e.dir)
		entries, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range entries {
			if filepath.Join(parent, en.Name()) != e.dir {
				t.Errorf("found %s beside the data directory; want nothing", en.Name())
			}
		}
	})
}

func TestMount(t *testing.T) {
	e := newEnv(t)
	e.createRepo("src", "")
	e.createRepo("dst", "")
	e.createRepoIn(registry.Scope{Account: other, Region: region}, "foreign", "")
	data := []byte("shared layer")
	d := e.pushBlob("src", data)
	otherTok, _ := e.reg.MintToken(other, region, "p", e.clock.Now())

	resp, body := e.call(http.MethodPost, "/v2/dst/blobs/uploads/?mount="+d+"&from=src", nil)
	wantStatus(t, "POST mount", resp, body, 201, "")
	if resp.Header.Get("Location") != "/v2/dst/blobs/"+d || resp.Header.Get("Docker-Content-Digest") != d {
		t.Fatalf("mount Location %q digest %q", resp.Header.Get("Location"), resp.Header.Get("Docker-Content-Digest"))
	}
	resp, body = e.call(http.MethodGet, "/v2/dst/blobs/"+d, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Fatalf("GET mounted blob = %d %q", resp.StatusCode, body)
	}
	resp, body = e.call(http.MethodPost, "/v2/dst/blobs/uploads/?mount="+sha([]byte("nope"))+"&from=src", nil)
	wantStatus(t, "POST mount of an absent blob", resp, body, 202, "")
	if resp.Header.Get("Location") == "" {
		t.Fatalf("mount fallback has no upload Location")
	}
	e.createRepo("anon", "")
	resp, body = e.call(http.MethodPost, "/v2/anon/blobs/uploads/?mount="+d, nil)
	wantStatus(t, "POST anonymous mount", resp, body, 201, "")
	// Another tenancy cannot mount what it cannot read.
	r2 := e.send(req{method: http.MethodPost, path: "/v2/foreign/blobs/uploads/?mount=" + d + "&from=src", token: &otherTok})
	body, _ = io.ReadAll(r2.Body)
	r2.Body.Close()
	wantStatus(t, "POST mount across accounts", r2, body, 202, "")
	r3 := e.send(req{method: http.MethodHead, path: "/v2/foreign/blobs/" + d, token: &otherTok})
	r3.Body.Close()
	if r3.StatusCode != 404 {
		t.Fatalf("HEAD blob in other account after refused mount = %d; want 404", r3.StatusCode)
	}
}

func TestBlobDelete(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app", "")
	d := e.pushBlob("app", []byte("x"))
	resp, body := e.call(http.MethodDelete, "/v2/app/blobs/"+d, nil)
	wantStatus(t, "DELETE blob", resp, body, 202, "")
	resp, body = e.call(http.MethodHead, "/v2/app/blobs/"+d, nil)
	wantStatus(t, "HEAD deleted blob", resp, body, 404, registry.CodeBlobUnknown)
	resp, body = e.call(http.MethodDelete, "/v2/app/blobs/"+d, nil)
	wantStatus(t, "DELETE deleted blob", resp, body, 404, registry.CodeBlobUnknown)
}

func TestUnsupportedMethods(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app", "")
	for _, tc := range []struct{ method, path string }{
		{http.MethodPost, "/v2/app/manifests/v1"},
		{http.MethodPut, "/v2/app/blobs/" + sha(nil)},
		{http.MethodDelete, "/v2/app/tags/list"},
		{http.MethodPost, "/v2/"},
	} {
		resp, body := e.call(tc.method, tc.path, nil)
		wantStatus(t, tc.method+" "+tc.path, resp, body, 405, registry.CodeUnsupported)
	}
}

func TestDownloadURL(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app", "")
	data := []byte("layer")
	d := e.pushBlob("app", data)
	other := e.pushBlob("app", []byte("other"))
	u := e.reg.DownloadURL(scope, "p", "app", registry.Digest(d), e.clock.Now())
	if !strings.HasPrefix(u, "http://127.0.0.1:4566/v2/app/blobs/"+d+"?token=") {
		t.Fatalf("DownloadURL = %q", u)
	}
	_, query, _ := strings.Cut(u, "?")
	for _, tc := range []struct {
		name, path string
		status     int
	}{
		{"that blob", "/v2/app/blobs/" + d + "?" + query, 200},
		{"another blob", "/v2/app/blobs/" + other + "?" + query, 401},
		{"a manifest", "/v2/app/manifests/v1?" + query, 401},
		{"the catalog", "/v2/_catalog?" + query, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.send(req{method: http.MethodGet, path: tc.path, token: strptr("")})
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s = %d; want %d", tc.path, resp.StatusCode, tc.status)
			}
			if tc.status == 200 && !bytes.Equal(body, data) {
				t.Fatalf("GET %s = %q", tc.path, body)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		e.clock.Advance(2 * time.Hour)
		resp := e.send(req{method: http.MethodGet, path: "/v2/app/blobs/" + d + "?" + query, token: strptr("")})
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("GET with an expired download URL = %d; want 401", resp.StatusCode)
		}
	})
}
