package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/state"
)

// indexManifest is a distinct, blob-free manifest: an empty OCI index.
func indexManifest(i int) []byte {
	return fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"manifests":[],"annotations":{"n":"%d"}}`, MediaTypeOCIIndex, i)
}

// BenchmarkTagLookups measures the per-digest tag lookups of a repository
// holding 5,000 tags (50 images of 100 tags): pushing one more tag, reading
// an image with its tags, deleting a tag. Each should cost about the same
// whatever the number of tags elsewhere in the repository.
func BenchmarkTagLookups(b *testing.B) {
	ctx := context.Background()
	r, _ := newTestRegistry(b, Config{})
	s := Scope{"000000000000", "us-east-1"}
	if _, err := r.CreateRepository(ctx, s, Repository{Name: "app"}); err != nil {
		b.Fatal(err)
	}
	var first Digest
	for i := range 50 {
		tags := make([]string, 100)
		for j := range tags {
			tags[j] = fmt.Sprintf("t%d-%d", i, j)
		}
		res, err := r.PutManifest(ctx, s, "app", ManifestPut{Body: indexManifest(i), MediaType: MediaTypeOCIIndex, Tags: tags})
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			first = res.Image.Digest
		}
	}
	n := 50
	b.Run("push", func(b *testing.B) {
		for b.Loop() {
			n++
			if _, err := r.PutManifest(ctx, s, "app", ManifestPut{Body: indexManifest(n), MediaType: MediaTypeOCIIndex, Tags: []string{fmt.Sprintf("p%d", n)}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("image", func(b *testing.B) {
		for b.Loop() {
			if img := r.Image(s, "app", first); len(img.Tags) != 100 {
				b.Fatalf("Image(first) has %d tags; want 100", len(img.Tags))
			}
		}
	})
	b.Run("delete-tag", func(b *testing.B) {
		for b.Loop() {
			n++
			tag := fmt.Sprintf("d%d", n)
			if _, err := r.PutManifest(ctx, s, "app", ManifestPut{Body: indexManifest(0), MediaType: MediaTypeOCIIndex, Tags: []string{tag}}); err != nil {
				b.Fatal(err)
			}
			if _, err := r.DeleteTag(ctx, s, "app", tag, true); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestTagIndexUpgrade: a repository stored before the digest-to-tags index
// reports its images' tags, and its first push indexes every tag.
func TestTagIndexUpgrade(t *testing.T) {
	ctx := context.Background()
	r, _ := newTestRegistry(t, Config{})
	s := Scope{"000000000000", "us-east-1"}
	if _, err := r.CreateRepository(ctx, s, Repository{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	put := func(i int, tags ...string) Digest {
		t.Helper()
		res, err := r.PutManifest(ctx, s, "app", ManifestPut{Body: indexManifest(i), MediaType: MediaTypeOCIIndex, Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		return res.Image.Digest
	}
	a := put(1, "a1", "a2", "a3")
	// Make it look as an older Berth stored it: no index, no marker.
	snap := r.store.Snapshot()
	rp, rd := r.repository(snap, s, "app")
	rp.TagIndex = false
	ops := []state.DocOp{{Key: rd.ID, Value: encode(rp)}}
	for e := range snap.Docs(nil, repoDigestTagsPrefix(s, "app"), "") {
		ops = append(ops, state.DocOp{Key: e.ID, Delete: true})
	}
	if len(ops) != 4 {
		t.Fatalf("index entries after pushing 3 tags = %d; want 3", len(ops)-1)
	}
	if _, err := state.Do[[]*state.Doc](ctx, r.store, &state.WriteDocs{Ops: ops}); err != nil {
		t.Fatal(err)
	}
	check := func(when string, d Digest, want ...string) {
		t.Helper()
		if got := r.Image(s, "app", d).Tags; !slices.Equal(got, want) {
			t.Fatalf("%s: Image(%s).Tags = %q; want %q", when, d, got, want)
		}
	}
	check("before upgrade", a, "a1", "a2", "a3")

	b := put(2, "a2", "b1") // moves a2 from a to b
	if !r.Repository(s, "app").TagIndex {
		t.Fatal("repository not marked indexed after a push")
	}
	check("after upgrade", a, "a1", "a3")
	check("after upgrade", b, "a2", "b1")
	if _, err := r.DeleteTag(ctx, s, "app", "a3", true); err != nil {
		t.Fatal(err)
	}
	check("after DeleteTag(a3)", a, "a1")
	tags, err := r.DeleteManifest(ctx, s, "app", a, true)
	if err != nil || !slices.Equal(tags, []string{"a1"}) {
		t.Fatalf("DeleteManifest(a) = %q, %v; want [a1]", tags, err)
	}
	var left []string
	for e := range r.store.Snapshot().Docs(nil, repoDigestTagsPrefix(s, "app"), "") {
		left = append(left, strings.Join(state.KeyParts(e.ID)[5:], "/"))
	}
	if want := []string{string(b) + "/a2", string(b) + "/b1"}; !slices.Equal(left, want) {
		t.Fatalf("index entries = %q; want %q", left, want)
	}
	if _, err := r.DeleteRepository(ctx, s, "app", true); err != nil {
		t.Fatal(err)
	}
	for e := range r.store.Snapshot().Docs(nil, repoDigestTagsPrefix(s, "app"), "") {
		t.Fatalf("index entry %q left after DeleteRepository", e.ID)
	}
}
