package registry_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/registry"
)

func TestGarbageCollection(t *testing.T) {
	e := newEnv(t, func(c *registry.Config) { c.GCGrace = time.Hour; c.UploadTTL = 24 * time.Hour })
	e.createRepo("app", "")
	e.createRepoIn(registry.Scope{Account: other, Region: region}, "app", "")
	config, layer, shared := []byte(`{"gc":1}`), []byte("gc layer"), []byte("shared layer")
	_, img := e.pushImage("app", "v1", config, layer)
	orphan := e.pushBlob("app", []byte("orphan"))
	// The other account's image uses a layer this account pushes and drops.
	otherTok, _ := e.reg.MintToken(other, region, "p", e.clock.Now())
	mine := e.token
	e.token = otherTok
	e.pushImage("app", "v1", []byte(`{"other":1}`), shared)
	e.token = mine
	sharedDigest := e.pushBlob("app", shared)

	// An upload in flight.
	resp, body := e.call(http.MethodPost, "/v2/app/blobs/uploads/", nil)
	wantStatus(t, "POST upload", resp, body, 202, "")
	loc := resp.Header.Get("Location")
	resp, body = e.call(http.MethodPatch, loc, []byte("in flight, "))
	wantStatus(t, "PATCH", resp, body, 202, "")

	st, err := e.reg.CollectGarbage(ctx)
	if err != nil || st.Blobs != 0 || st.Uploads != 0 {
		t.Fatalf("CollectGarbage() within the grace period = %+v, %v; want nothing collected", st, err)
	}

	e.advance(2 * time.Hour)
	st, err = e.reg.CollectGarbage(ctx)
	if err != nil || st.Blobs != 1 || st.Uploads != 0 {
		t.Fatalf("CollectGarbage() after the grace period = %+v, %v; want the orphan only", st, err)
	}
	if _, err := os.Stat(e.blobFile(orphan)); !os.IsNotExist(err) {
		t.Errorf("orphan blob file after GC: %v; want it removed", err)
	}
	resp, body = e.call(http.MethodHead, "/v2/app/blobs/"+orphan, nil)
	wantStatus(t, "HEAD collected blob", resp, body, 404, registry.CodeBlobUnknown)
	for _, d := range []string{sha(config), sha(layer), sharedDigest} {
		resp, body = e.call(http.MethodGet, "/v2/app/blobs/"+d, nil)
		wantStatus(t, "GET referenced blob "+d, resp, body, 200, "")
	}
	resp, body = e.call(http.MethodGet, "/v2/app/manifests/v1", nil)
	wantStatus(t, "GET manifest after GC", resp, body, 200, "")

	// The upload that was in flight during the collection completes.
	data := []byte("in flight, and done")
	resp, body = e.call(http.MethodPut, loc+"?digest="+sha(data), []byte("and done"))
	wantStatus(t, "PUT after GC", resp, body, 201, "")

	// Deleting the image makes its blobs garbage; the fresh upload and the
	// layer the other account references stay.
	resp, body = e.call(http.MethodDelete, "/v2/app/manifests/"+img, nil)
	wantStatus(t, "DELETE manifest", resp, body, 202, "")
	st, err = e.reg.CollectGarbage(ctx)
	if err != nil || st.Blobs != 3 {
		t.Fatalf("CollectGarbage() after deleting the image = %+v, %v; want its manifest, config and layer", st, err)
	}
	resp, body = e.call(http.MethodGet, "/v2/app/blobs/"+sha(data), nil)
	wantStatus(t, "GET fresh blob", resp, body, 200, "")
	resp, body = e.call(http.MethodGet, "/v2/app/blobs/"+sharedDigest, nil)
	wantStatus(t, "GET blob another account references", resp, body, 200, "")

	// Idle sessions expire.
	resp, body = e.call(http.MethodPost, "/v2/app/blobs/uploads/", nil)
	wantStatus(t, "POST upload", resp, body, 202, "")
	idle := resp.Header.Get("Location")
	e.advance(25 * time.Hour)
	st, err = e.reg.CollectGarbage(ctx)
	if err != nil || st.Uploads != 1 {
		t.Fatalf("CollectGarbage() a day later = %+v, %v; want the idle session expired", st, err)
	}
	resp, body = e.call(http.MethodGet, idle, nil)
	wantStatus(t, "GET expired session", resp, body, 404, registry.CodeBlobUploadUnknown)
}

// TestGCRacesPush runs a collection that wants a blob against a push of a
// manifest that needs it: whichever wins, a stored manifest never names a
// blob that is gone.
func TestGCRacesPush(t *testing.T) {
	e := newEnv(t, func(c *registry.Config) { c.GCGrace = time.Hour })
	e.createRepo("app", "")
	for i := range 20 {
		config := []byte(fmt.Sprintf(`{"race":%d}`, i))
		d := e.pushBlob("app", config)
		e.advance(2 * time.Hour) // the blob is now old and unreferenced
		m := imageManifest(registry.MediaTypeOCIManifest, config)
		var wg sync.WaitGroup
		var resp *http.Response
		var body []byte
		wg.Go(func() {
			resp, body = e.call(http.MethodPut, "/v2/app/manifests/"+sha(m), m, "Content-Type", registry.MediaTypeOCIManifest)
		})
		wg.Go(func() {
			if _, err := e.reg.CollectGarbage(ctx); err != nil {
				t.Errorf("CollectGarbage() = %v", err)
			}
		})
		wg.Wait()
		switch resp.StatusCode {
		case http.StatusCreated:
			r2, b2 := e.call(http.MethodGet, "/v2/app/blobs/"+d, nil)
			wantStatus(t, "GET blob of a pushed manifest", r2, b2, 200, "")
			if _, err := e.reg.CollectGarbage(ctx); err != nil {
				t.Fatal(err)
			}
			r2, b2 = e.call(http.MethodGet, "/v2/app/blobs/"+d, nil)
			wantStatus(t, "GET blob of a pushed manifest after another GC", r2, b2, 200, "")
		case http.StatusBadRequest:
			wantStatus(t, "PUT manifest losing to GC", resp, body, 400, registry.CodeManifestBlobUnknown)
			r2, b2 := e.call(http.MethodGet, "/v2/app/manifests/"+sha(m), nil)
			wantStatus(t, "GET manifest that lost to GC", r2, b2, 404, registry.CodeManifestUnknown)
		default:
			t.Fatalf("PUT manifest during GC = %d %s", resp.StatusCode, body)
		}
	}
}

// TestConcurrentPushes pushes images sharing a base layer into one
// repository from many goroutines while the GC runs; run with -race.
func TestConcurrentPushes(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app", "")
	base := bytes.Repeat([]byte("base"), 1000)
	const n = 12
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var gcWG sync.WaitGroup
	gcWG.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := e.reg.CollectGarbage(ctx); err != nil {
				t.Errorf("CollectGarbage() = %v", err)
				return
			}
		}
	})
	for i := range n {
		wg.Go(func() {
			config := []byte(fmt.Sprintf(`{"i":%d}`, i))
			own := []byte(strings.Repeat("x", i+1))
			for _, blob := range [][]byte{base, config, own} {
				// Chunked, as docker pushes.
				resp := e.send(req{method: http.MethodPost, path: "/v2/app/blobs/uploads/"})
				resp.Body.Close()
				loc := resp.Header.Get("Location")
				resp = e.send(req{method: http.MethodPatch, path: loc, body: io.MultiReader(bytes.NewReader(blob))})
				resp.Body.Close()
				resp = e.send(req{method: http.MethodPut, path: loc + "?digest=" + sha(blob)})
				resp.Body.Close()
				if resp.StatusCode != 201 {
					t.Errorf("push blob %d = %d", i, resp.StatusCode)
					return
				}
			}
			m := imageManifest(registry.MediaTypeDockerManifest, config, base, own)
			resp := e.send(req{method: http.MethodPut, path: fmt.Sprintf("/v2/app/manifests/v%d", i), body: bytes.NewReader(m),
				header: map[string]string{"Content-Type": registry.MediaTypeDockerManifest}})
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 201 {
				t.Errorf("push manifest %d = %d %s", i, resp.StatusCode, b)
			}
		})
	}
	wg.Wait()
	close(stop)
	gcWG.Wait()
	imgs, err := e.reg.Images(scope, "app")
	if err != nil || len(imgs) != n {
		t.Fatalf("Images() = %d images, %v; want %d", len(imgs), err, n)
	}
	for _, img := range imgs {
		if len(img.Tags) != 1 {
			t.Errorf("image %s tags %v; want one", img.Digest, img.Tags)
		}
	}
}

// TestDockerPushPull replays the requests docker makes to push and pull an
// image with a Docker schema 2 manifest.
func TestDockerPushPull(t *testing.T) {
	e := newEnv(t)
	e.createRepo("team/app", "")
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	layer := bytes.Repeat([]byte{0x1f, 0x8b, 0, 1}, 70000) // > one read chunk
	for _, blob := range [][]byte{layer, config} {
		d := sha(blob)
		resp, body := e.call(http.MethodHead, "/v2/team/app/blobs/"+d, nil)
		wantStatus(t, "HEAD before push", resp, body, 404, "")
		resp, body = e.call(http.MethodPost, "/v2/team/app/blobs/uploads/?mount="+d+"&from=library/base", nil)
		wantStatus(t, "POST with a mount that cannot happen", resp, body, 202, "")
		loc := resp.Header.Get("Location")
		r := e.send(req{method: http.MethodPatch, path: loc, body: io.MultiReader(bytes.NewReader(blob)),
			header: map[string]string{"Content-Type": "application/octet-stream"}})
		r.Body.Close()
		if r.StatusCode != 202 || r.Header.Get("Range") != fmt.Sprintf("0-%d", len(blob)-1) {
			t.Fatalf("PATCH = %d Range %q", r.StatusCode, r.Header.Get("Range"))
		}
		next := r.Header.Get("Location")
		resp, body = e.call(http.MethodPut, next+"?digest="+d, nil)
		wantStatus(t, "PUT digest", resp, body, 201, "")
	}
	m := imageManifest(registry.MediaTypeDockerManifest, config, layer)
	resp, body := e.call(http.MethodHead, "/v2/team/app/manifests/latest", nil)
	wantStatus(t, "HEAD manifest before push", resp, body, 404, "")
	resp, body = e.call(http.MethodPut, "/v2/team/app/manifests/latest", m, "Content-Type", registry.MediaTypeDockerManifest)
	wantStatus(t, "PUT manifest", resp, body, 201, "")
	pushed := resp.Header.Get("Docker-Content-Digest")

	accept := strings.Join([]string{registry.MediaTypeDockerManifest, registry.MediaTypeDockerManifestList, registry.MediaTypeOCIManifest, registry.MediaTypeOCIIndex}, ", ")
	resp, body = e.call(http.MethodGet, "/v2/team/app/manifests/latest", nil, "Accept", accept)
	wantStatus(t, "GET manifest", resp, body, 200, "")
	if sha(body) != pushed || resp.Header.Get("Docker-Content-Digest") != pushed || resp.Header.Get("Content-Type") != registry.MediaTypeDockerManifest {
		t.Fatalf("pulled manifest digest %s (header %s, type %s); want %s", sha(body), resp.Header.Get("Docker-Content-Digest"), resp.Header.Get("Content-Type"), pushed)
	}
	for _, blob := range [][]byte{config, layer} {
		resp, body = e.call(http.MethodGet, "/v2/team/app/blobs/"+sha(blob), nil)
		wantStatus(t, "GET blob", resp, body, 200, "")
		if sha(body) != sha(blob) {
			t.Fatalf("pulled blob digest %s; want %s", sha(body), sha(blob))
		}
	}
}
