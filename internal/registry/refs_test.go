package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/berthhq/berth/internal/state"
)

// refsFixture is a repository holding images a, b and c (tagged ta, tb,
// tc) and indexes x (of a and b) and y (of b), the digests in that order.
func refsFixture(t *testing.T) (*Registry, Scope, [5]Digest) {
	t.Helper()
	ctx := context.Background()
	r, _ := newTestRegistry(t, Config{})
	s := Scope{"000000000000", "us-east-1"}
	if _, err := r.CreateRepository(ctx, s, Repository{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	config := []byte(`{"architecture":"amd64"}`)
	sum := sha256.Sum256(config)
	cd := Digest("sha256:" + hex.EncodeToString(sum[:]))
	if err := r.PutBlob(ctx, s, "app", cd, bytes.NewReader(config)); err != nil {
		t.Fatal(err)
	}
	put := func(body []byte, mt, tag string) Digest {
		t.Helper()
		res, err := r.PutManifest(ctx, s, "app", ManifestPut{Body: body, MediaType: mt, Tags: []string{tag}})
		if err != nil {
			t.Fatalf("PutManifest(%s) = %v", tag, err)
		}
		return res.Image.Digest
	}
	var d [5]Digest
	for i, tag := range []string{"ta", "tb", "tc"} {
		d[i] = put(imageManifest(cd, len(config), i), MediaTypeOCIManifest, tag)
	}
	d[3] = put(indexOf(d[0], d[1]), MediaTypeOCIIndex, "x")
	d[4] = put(indexOf(d[1]), MediaTypeOCIIndex, "y")
	return r, s, d
}

// childEntries lists the child-to-index entries of repository app as
// child/index, in key order.
func childEntries(r *Registry, s Scope) []string {
	var out []string
	for e := range r.store.Snapshot().Docs(nil, repoChildIndexesPrefix(s, "app"), "") {
		p := state.KeyParts(e.ID)
		out = append(out, p[5]+"/"+p[6])
	}
	return out
}

// makeOld makes repository app look as a Berth before the child-to-index
// index stored it: no entries, no marker, and no generation document.
func makeOld(t *testing.T, r *Registry, s Scope) {
	t.Helper()
	snap := r.store.Snapshot()
	rp, rd := r.repository(snap, s, "app")
	rp.ChildIndex = false
	ops := []state.DocOp{{Key: rd.ID, Value: encode(rp)}, {Key: generationKey(s, "app"), Delete: true}}
	for e := range snap.Docs(nil, repoChildIndexesPrefix(s, "app"), "") {
		ops = append(ops, state.DocOp{Key: e.ID, Delete: true})
	}
	if _, err := state.Do[[]*state.Doc](context.Background(), r.store, &state.WriteDocs{Ops: ops}); err != nil {
		t.Fatal(err)
	}
}

// TestReferencingIndexes: the indexes that list an image are found alike
// through the child-to-index index and, for a repository stored before
// it, by reading every manifest; deleting an image an index lists is
// refused with the same error either way.
func TestReferencingIndexes(t *testing.T) {
	for _, old := range []bool{false, true} {
		t.Run(fmt.Sprintf("old=%v", old), func(t *testing.T) {
			ctx := context.Background()
			r, s, d := refsFixture(t)
			a, b, c, x, y := d[0], d[1], d[2], d[3], d[4]
			wantEntries := sortedStrings(string(a)+"/"+string(x), string(b)+"/"+string(x), string(b)+"/"+string(y))
			if got := childEntries(r, s); !slices.Equal(got, wantEntries) {
				t.Fatalf("entries after pushing = %q; want %q", got, wantEntries)
			}
			if old {
				makeOld(t, r, s)
			}
			xy := []Digest{x, y}
			slices.Sort(xy)
			for _, tc := range []struct {
				d    Digest
				want []Digest
			}{{a, []Digest{x}}, {b, xy}, {c, nil}, {x, nil}} {
				if got := r.ReferencedBy(s, "app", tc.d); !slices.Equal(got, tc.want) {
					t.Errorf("ReferencedBy(%s) = %v; want %v", tc.d, got, tc.want)
				}
			}
			_, err := r.DeleteManifest(ctx, s, "app", b, true)
			want := &Error{Code: CodeManifestInvalid, Message: "manifest is referenced by an index", Detail: xy, Status: 409}
			var got *Error
			if !errors.As(err, &got) || !reflect.DeepEqual(got, want) {
				t.Fatalf("DeleteManifest(b, keepReferenced) = %#v; want %#v", err, want)
			}
			// Its last tag deleted, a listed image stays; an unlisted one goes.
			if _, err := r.DeleteTag(ctx, s, "app", "ta", true); err != nil || r.Image(s, "app", a) == nil {
				t.Fatalf("DeleteTag(ta) = %v, image a present %v; want nil, true", err, r.Image(s, "app", a) != nil)
			}
			if _, err := r.DeleteTag(ctx, s, "app", "tc", true); err != nil || r.Image(s, "app", c) != nil {
				t.Fatalf("DeleteTag(tc) = %v, image c present %v; want nil, false", err, r.Image(s, "app", c) != nil)
			}
			if old && r.Repository(s, "app").ChildIndex {
				t.Fatal("repository marked indexed by deletes; want by its next push")
			}

			// A push indexes a repository stored before the index.
			if _, err := r.PutManifest(ctx, s, "app", ManifestPut{Body: indexManifest(1), MediaType: MediaTypeOCIIndex, Tags: []string{"z"}}); err != nil {
				t.Fatal(err)
			}
			if !r.Repository(s, "app").ChildIndex {
				t.Fatal("repository not marked indexed after a push")
			}
			if got := childEntries(r, s); !slices.Equal(got, wantEntries) {
				t.Fatalf("entries after the next push = %q; want %q", got, wantEntries)
			}
			// Deleting an index deletes its entries and frees its children.
			if _, err := r.DeleteManifest(ctx, s, "app", x, true); err != nil {
				t.Fatalf("DeleteManifest(x) = %v", err)
			}
			if got, want := childEntries(r, s), []string{string(b) + "/" + string(y)}; !slices.Equal(got, want) {
				t.Fatalf("entries after deleting x = %q; want %q", got, want)
			}
			if _, err := r.DeleteManifest(ctx, s, "app", a, true); err != nil {
				t.Fatalf("DeleteManifest(a) after its index went = %v; want nil", err)
			}
			if got := r.ReferencedBy(s, "app", b); !slices.Equal(got, []Digest{y}) {
				t.Fatalf("ReferencedBy(b) after x went = %v; want [%s]", got, y)
			}
			if _, err := r.DeleteRepository(ctx, s, "app", true); err != nil {
				t.Fatal(err)
			}
			if got := childEntries(r, s); len(got) != 0 {
				t.Fatalf("entries after DeleteRepository = %q; want none", got)
			}
		})
	}
}

// TestReferencingIndexesStaleEntry: an entry whose index is gone (an
// upgrade that raced the index's delete) names no index.
func TestReferencingIndexesStaleEntry(t *testing.T) {
	ctx := context.Background()
	r, s, d := refsFixture(t)
	gone := digestOf("sha256", indexManifest(99))
	if _, err := state.Do[[]*state.Doc](ctx, r.store, &state.WriteDocs{Ops: []state.DocOp{
		{Key: childIndexKey(s, "app", d[2], gone), Value: emptyDoc},
	}}); err != nil {
		t.Fatal(err)
	}
	if got := r.ReferencedBy(s, "app", d[2]); len(got) != 0 {
		t.Fatalf("ReferencedBy(c) with a stale entry = %v; want none", got)
	}
	if _, err := r.DeleteManifest(ctx, s, "app", d[2], true); err != nil {
		t.Fatalf("DeleteManifest(c) with a stale entry = %v; want nil", err)
	}
}

// TestGeneration: every write that changes a repository's manifests or
// tags changes its generation, and nothing else does.
func TestGeneration(t *testing.T) {
	ctx := context.Background()
	r, s, d := refsFixture(t)
	a, b, c := d[0], d[1], d[2]
	last := r.Generation(s, "app")
	if last == 0 {
		t.Fatal("Generation(app) = 0 after pushes; want an index")
	}
	if g := r.Generation(s, "none"); g != 0 {
		t.Fatalf("Generation(none) = %d; want 0", g)
	}
	body := func(d Digest) []byte {
		t.Helper()
		b, _, err := r.ManifestContent(s, "app", d)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, step := range []struct {
		name    string
		do      func() error
		changes bool
	}{
		{"push again, unchanged", func() error {
			_, err := r.PutManifest(ctx, s, "app", ManifestPut{Body: body(a), MediaType: MediaTypeOCIManifest, Tags: []string{"ta"}})
			return err
		}, false},
		{"move a tag", func() error {
			_, err := r.PutManifest(ctx, s, "app", ManifestPut{Body: body(a), MediaType: MediaTypeOCIManifest, Tags: []string{"tb"}})
			return err
		}, true},
		{"update the repository", func() error {
			_, err := r.UpdateRepository(ctx, s, "app", func(rp *Repository) error { rp.ECR = []byte(`{"scanOnPush":true}`); return nil })
			return err
		}, false},
		{"delete a tag, leaving the image untagged", func() error {
			_, err := r.DeleteTag(ctx, s, "app", "tc", false)
			return err
		}, true},
		{"delete a manifest", func() error {
			_, err := r.DeleteManifest(ctx, s, "app", d[4], true)
			return err
		}, true},
		{"delete images", func() error { return r.DeleteImages(ctx, s, "app", []*Image{r.Image(s, "app", c)}) }, true},
		{"delete a manifest refused", func() error {
			if _, err := r.DeleteManifest(ctx, s, "app", b, true); err == nil {
				return errors.New("DeleteManifest(b) = nil; want refused")
			}
			return nil
		}, false},
	} {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		g := r.Generation(s, "app")
		if (g != last) != step.changes {
			t.Fatalf("%s: Generation %d -> %d; want changed %v", step.name, last, g, step.changes)
		}
		last = g
	}
	// A repository an older Berth stored has none until its next write.
	makeOld(t, r, s)
	if g := r.Generation(s, "app"); g != 0 {
		t.Fatalf("Generation of an old repository = %d; want 0", g)
	}
	if _, err := r.DeleteTag(ctx, s, "app", "ta", false); err != nil {
		t.Fatal(err)
	}
	if g := r.Generation(s, "app"); g <= last {
		t.Fatalf("Generation of an old repository after DeleteTag = %d; want more than %d", g, last)
	}
	if _, err := r.DeleteRepository(ctx, s, "app", true); err != nil {
		t.Fatal(err)
	}
	if g := r.Generation(s, "app"); g != 0 {
		t.Fatalf("Generation after DeleteRepository = %d; want 0", g)
	}
}

func sortedStrings(s ...string) []string { slices.Sort(s); return s }
