package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
)

// refsRepo fills repository "app" with n images, each tagged v<i>, and
// indexes indexes that list five images each (the first 5*indexes
// images), and returns the images' digests.
func refsRepo(tb testing.TB, r *Registry, s Scope, n, indexes int) []Digest {
	tb.Helper()
	ctx := context.Background()
	if _, err := r.CreateRepository(ctx, s, Repository{Name: "app"}); err != nil {
		tb.Fatal(err)
	}
	config := []byte(`{"architecture":"amd64"}`)
	sum := sha256.Sum256(config)
	cd := Digest("sha256:" + hex.EncodeToString(sum[:]))
	if err := r.PutBlob(ctx, s, "app", cd, bytes.NewReader(config)); err != nil {
		tb.Fatal(err)
	}
	var imgs []Digest
	for i := range n {
		res, err := r.PutManifest(ctx, s, "app", ManifestPut{Body: imageManifest(cd, len(config), i), MediaType: MediaTypeOCIManifest, Tags: []string{fmt.Sprintf("v%d", i)}})
		if err != nil {
			tb.Fatal(err)
		}
		imgs = append(imgs, res.Image.Digest)
	}
	for j := range indexes {
		if _, err := r.PutManifest(ctx, s, "app", ManifestPut{Body: indexOf(imgs[5*j : 5*j+5]...), MediaType: MediaTypeOCIIndex, Tags: []string{fmt.Sprintf("i%d", j)}}); err != nil {
			tb.Fatal(err)
		}
	}
	return imgs
}

// imageManifest is a distinct image manifest with config cd and no layers.
func imageManifest(cd Digest, size, i int) []byte {
	return fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[],"annotations":{"n":"%d"}}`,
		MediaTypeOCIManifest, cd, size, i)
}

// indexOf is an OCI index of the image manifests ds.
func indexOf(ds ...Digest) []byte {
	var children []byte
	for k, d := range ds {
		if k > 0 {
			children = append(children, ',')
		}
		children = fmt.Appendf(children, `{"mediaType":%q,"digest":%q,"size":1}`, MediaTypeOCIManifest, d)
	}
	return fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"manifests":[%s]}`, MediaTypeOCIIndex, children)
}

// BenchmarkReferencingIndexes measures the lookups of the indexes that
// list an image, in a repository of 2,000 images and 100 indexes: deleting
// an image an index lists (refused), and deleting an image's last tag with
// the image.
func BenchmarkReferencingIndexes(b *testing.B) {
	ctx := context.Background()
	r, _ := newTestRegistry(b, Config{})
	s := Scope{"000000000000", "us-east-1"}
	imgs := refsRepo(b, r, s, 2000, 100)
	b.Run("delete-referenced", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.DeleteManifest(ctx, s, "app", imgs[7], true); err == nil {
				b.Fatal("DeleteManifest(child of an index) = nil; want an error")
			}
		}
	})
	b.Run("delete-last-tag", func(b *testing.B) {
		body, _, err := r.ManifestContent(s, "app", imgs[1500])
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := r.DeleteTag(ctx, s, "app", "v1500", true); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if r.Image(s, "app", imgs[1500]) != nil {
				b.Fatal("DeleteTag(last tag) left the image")
			}
			if _, err := r.PutManifest(ctx, s, "app", ManifestPut{Body: body, MediaType: MediaTypeOCIManifest, Tags: []string{"v1500"}}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
}
