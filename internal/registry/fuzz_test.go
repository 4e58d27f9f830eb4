package registry

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func FuzzParseDigest(f *testing.F) {
	for _, s := range []string{
		"sha256:" + strings.Repeat("a", 64), "sha512:" + strings.Repeat("0", 128), "sha256:" + strings.Repeat("A", 64),
		"sha256:", ":", "md5:abc", "sha256:../../etc/passwd", "sha256:" + strings.Repeat("a", 63) + "/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseDigest(s)
		if !ok {
			return
		}
		if string(d) != s || strings.ContainsAny(blobPath(d), "\\.") || strings.Count(blobPath(d), "/") != 3 {
			t.Fatalf("ParseDigest(%q) = %q with path %q; want the input and a path of hex only", s, d, blobPath(d))
		}
		if h := newHash(d.Algorithm()); h == nil || len(d.Hex()) != 2*h.Size() {
			t.Fatalf("ParseDigest(%q) accepted a digest of the wrong length", s)
		}
	})
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"0-0", "0-4", "5-9", "bytes 0-4/10", "bytes=0-4", "4-0", "-", "", "a-b", "99999999999999999999-1", "1-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, end, ok := parseContentRange(s)
		if ok && (start < 0 || end < start) {
			t.Fatalf("parseContentRange(%q) = %d, %d; want 0 <= start <= end", s, start, end)
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	d := "sha256:" + strings.Repeat("a", 64)
	for _, s := range []string{
		`{"schemaVersion":2,"mediaType":"` + MediaTypeOCIManifest + `","config":{"mediaType":"a","digest":"` + d + `","size":2},"layers":[]}`,
		`{"schemaVersion":2,"mediaType":"` + MediaTypeOCIIndex + `","manifests":[{"mediaType":"a","digest":"` + d + `","size":2}]}`,
		`{"schemaVersion":2,"config":{"mediaType":"a","digest":"` + d + `","size":-1}}`,
		`{"schemaVersion":1}`, `{}`, `[]`, `null`, `{"schemaVersion":2}{}`,
		`{"schemaVersion":2,"mediaType":"` + MediaTypeOCIManifest + `","config":{"mediaType":"a","digest":"` + d + `","size":2},"subject":{"mediaType":"a","digest":"` + d + `","size":1}}`,
	} {
		f.Add([]byte(s), "")
		f.Add([]byte(s), MediaTypeDockerManifest)
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		p, err := parseManifest(body, contentType)
		if (p == nil) == (err == nil) {
			t.Fatalf("parseManifest = %v, %v; want exactly one", p, err)
		}
		if err != nil {
			if err.Code != CodeManifestInvalid {
				t.Fatalf("parseManifest error code %s; want MANIFEST_INVALID", err.Code)
			}
			return
		}
		if !supportedManifest(p.MediaType) || !json.Valid(body) {
			t.Fatalf("parseManifest accepted %q as %q", body, p.MediaType)
		}
		for _, b := range append(p.Blobs, p.Children...) {
			if _, ok := ParseDigest(b.Digest); !ok {
				t.Fatalf("parseManifest accepted descriptor digest %q", b.Digest)
			}
		}
	})
}

func FuzzParseRoute(f *testing.F) {
	d := "sha256:" + strings.Repeat("a", 64)
	for _, s := range []string{"", "_catalog", "a/tags/list", "a/b/manifests/latest", "a/blobs/" + d, "a/blobs/uploads/", "a/blobs/uploads",
		"a/blobs/uploads/00000000-0000-4000-8000-000000000000", "a/referrers/" + d, "a/manifests/x/blobs/" + d, "/blobs/x", "a/manifests/",
		"a/manifests/%2e%2e", "a/manifests/%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rt, ok := parseRoute(s)
		if !ok {
			return
		}
		if rt.kind == routeNone {
			t.Fatalf("parseRoute(%q) = ok with no route", s)
		}
		if rt.kind != routeBase && rt.kind != routeCatalog && (rt.name == "" || !strings.HasPrefix(s, rt.name)) {
			t.Fatalf("parseRoute(%q) name %q; want a prefix of the path", s, rt.name)
		}
		if strings.Contains(rt.ref, "/") {
			t.Fatalf("parseRoute(%q) ref %q has a slash", s, rt.ref)
		}
	})
}

func FuzzToken(f *testing.F) {
	r := &Registry{cfg: Config{TokenKey: bytes.Repeat([]byte("k"), 32), TokenTTL: 12 * time.Hour}}
	now := time.Unix(1_800_000_000, 0)
	good, _ := r.MintToken("000000000000", "us-east-1", "arn:aws:iam::000000000000:root", now)
	for _, s := range []string{good, "", ".", "a.b", good + "x", strings.Replace(good, ".", "..", 1), "e30.AAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := r.parseToken(s, now)
		if ok && s != good {
			t.Fatalf("parseToken(%q) = %+v; accepted a token it did not sign", s, c)
		}
		if tok, ok := basicToken("Basic " + s); ok && strings.Contains(tok, "\x00") && len(tok) > 1<<20 {
			t.Fatal("unreachable")
		}
	})
}
