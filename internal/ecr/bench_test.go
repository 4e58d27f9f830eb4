package ecr

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/registry"
	"github.com/berthhq/berth/internal/state"
)

// benchRepo is a repository of n images, each tagged v<i> and t<i>, and of
// indexes indexes listing five images each (the first 5*indexes images),
// tagged i<j>, behind an API whose clock stands still.
type benchRepo struct {
	api     *API
	reg     *registry.Registry
	ctx     context.Context // carries the caller
	s       registry.Scope
	images  []registry.Digest
	indexes []registry.Digest
}

func newBenchRepo(b *testing.B, n, indexes int) *benchRepo {
	b.Helper()
	ctx := context.Background()
	store, err := state.Open(state.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := store.WaitLeader(wctx); err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	reg, err := registry.New(registry.Config{DataDir: b.TempDir(), Host: "registry.test", TokenKey: bytes.Repeat([]byte("t"), 32), Now: clock}, store)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = reg.Close() })
	br := &benchRepo{
		api: New(Config{Now: clock}, store, reg), reg: reg, s: registry.Scope{Account: "000000000000", Region: "us-east-1"},
	}
	br.ctx = awsapi.WithCaller(ctx, &awsapi.Caller{Account: br.s.Account, Region: br.s.Region})
	if _, err := reg.CreateRepository(ctx, br.s, registry.Repository{Name: "app"}); err != nil {
		b.Fatal(err)
	}
	config := []byte(`{"architecture":"amd64"}`)
	sum := sha256.Sum256(config)
	cd := registry.Digest("sha256:" + hex.EncodeToString(sum[:]))
	if err := reg.PutBlob(ctx, br.s, "app", cd, bytes.NewReader(config)); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		m := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[],"annotations":{"n":"%d"}}`,
			registry.MediaTypeOCIManifest, cd, len(config), i)
		res, err := reg.PutManifest(ctx, br.s, "app", registry.ManifestPut{Body: m, MediaType: registry.MediaTypeOCIManifest, Tags: []string{fmt.Sprintf("v%d", i), fmt.Sprintf("t%d", i)}})
		if err != nil {
			b.Fatal(err)
		}
		br.images = append(br.images, res.Image.Digest)
	}
	for j := range indexes {
		var children []byte
		for k := range 5 {
			if k > 0 {
				children = append(children, ',')
			}
			children = fmt.Appendf(children, `{"mediaType":%q,"digest":%q,"size":1}`, registry.MediaTypeOCIManifest, br.images[5*j+k])
		}
		m := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"manifests":[%s]}`, registry.MediaTypeOCIIndex, children)
		res, err := reg.PutManifest(ctx, br.s, "app", registry.ManifestPut{Body: m, MediaType: registry.MediaTypeOCIIndex, Tags: []string{fmt.Sprintf("i%d", j)}})
		if err != nil {
			b.Fatal(err)
		}
		br.indexes = append(br.indexes, res.Image.Digest)
	}
	return br
}

// BenchmarkLifecyclePass measures a pass of the lifecycle loop woken by a
// change elsewhere, over a repository of 2,000 images and 100 indexes whose
// policy expires nothing: it should not depend on the repository's size.
func BenchmarkLifecyclePass(b *testing.B) {
	br := newBenchRepo(b, 2000, 100)
	text := `{"rules":[{"rulePriority":1,"description":"keep them all, which is a long enough policy","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":9999},"action":{"type":"expire"}}]}`
	if _, err := br.api.PutLifecyclePolicy(br.ctx, &PutLifecyclePolicyInput{RepositoryName: ptr("app"), LifecyclePolicyText: &text}); err != nil {
		b.Fatal(err)
	}
	br.api.pass(br.ctx, memdb.NewWatchSet()) // the first evaluation
	for b.Loop() {
		br.api.pass(br.ctx, memdb.NewWatchSet())
	}
}

// BenchmarkBatchDeleteImage measures a BatchDeleteImage of 100 image IDs
// in a repository of 2,000 images and 100 indexes: by digest, images the
// indexes list (each refused), and by tag, one of an image's two tags.
func BenchmarkBatchDeleteImage(b *testing.B) {
	br := newBenchRepo(b, 2000, 100)
	b.Run("referenced", func(b *testing.B) {
		var ids []ImageID
		for _, d := range br.images[:100] {
			ids = append(ids, ImageID{ImageDigest: ptr(string(d))})
		}
		for b.Loop() {
			out, err := br.api.BatchDeleteImage(br.ctx, &BatchDeleteImageInput{RepositoryName: ptr("app"), ImageIDs: ids})
			if err != nil || len(out.Failures) != 100 {
				b.Fatalf("BatchDeleteImage = %d failures, %v; want 100 refusals", len(out.Failures), err)
			}
		}
	})
	b.Run("tags", func(b *testing.B) {
		var ids []ImageID
		for i := range 100 {
			ids = append(ids, ImageID{ImageTag: ptr(fmt.Sprintf("t%d", 1000+i))})
		}
		for b.Loop() {
			out, err := br.api.BatchDeleteImage(br.ctx, &BatchDeleteImageInput{RepositoryName: ptr("app"), ImageIDs: ids})
			if err != nil || len(out.ImageIDs) != 100 {
				b.Fatalf("BatchDeleteImage = %d deleted, %v; want 100", len(out.ImageIDs), err)
			}
			b.StopTimer()
			for i := range 100 {
				m, _, err := br.reg.ManifestContent(br.s, "app", br.images[1000+i])
				if err != nil {
					b.Fatal(err)
				}
				if _, err := br.reg.PutManifest(br.ctx, br.s, "app", registry.ManifestPut{Body: m, MediaType: registry.MediaTypeOCIManifest, Tags: []string{fmt.Sprintf("t%d", 1000+i)}}); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
		}
	})
}
