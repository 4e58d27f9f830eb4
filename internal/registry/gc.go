package registry

import (
	"context"
	"encoding/json"
	"io/fs"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/state"
)

// Run collects garbage every GCInterval, while the registry keeps serving,
// until ctx ends; it returns nil then.
func (r *Registry) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if st, err := r.CollectGarbage(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.log.Error("garbage collection", "err", err)
		} else if st.Blobs > 0 || st.Uploads > 0 {
			r.log.Info("garbage collected", "blobs", st.Blobs, "bytes", st.Bytes, "uploads", st.Uploads)
		}
	}
}

// GCStats is what one collection removed.
type GCStats struct {
	Blobs   int
	Bytes   int64
	Uploads int
}

// gcBatch bounds the link documents one collection deletes per write.
const gcBatch = 500

// CollectGarbage removes, once:
//   - blob files that no manifest of any repository of any tenancy refers
//     to, whose file and every repository link are older than GCGrace
//     (together with those links);
//   - upload sessions idle for longer than UploadTTL, and the temporary
//     files of writes that crashed.
//
// Mark and sweep run under gcMu held for writing, which every push holds
// for reading from writing a blob file to writing its document: no push
// commits during the sweep, so a blob is either marked or linked recently
// by the time the sweep looks, or it is safe to remove. Listing the files
// (the slow part) happens before, without the lock; the sweep re-checks
// each candidate. Uploads in flight keep their bytes in uploads/, which the
// blob sweep never touches; a session's blob enters blobs/ only when it is
// complete, and then with a fresh link.
func (r *Registry) CollectGarbage(ctx context.Context) (GCStats, error) {
	var st GCStats
	now := r.now()
	cutoff := now.Add(-r.cfg.GCGrace)
	var candidates []Digest
	if err := r.blobs.walk(func(d Digest, fi fs.FileInfo) {
		if fi.ModTime().Before(cutoff) {
			candidates = append(candidates, d)
		}
	}); err != nil {
		return st, err
	}
	for len(candidates) > 0 {
		n := min(gcBatch, len(candidates))
		if err := r.sweep(ctx, candidates[:n], cutoff, &st); err != nil {
			return st, err
		}
		candidates = candidates[n:]
	}
	st.Uploads = r.expireUploads(now)
	r.removeTemporaries()
	return st, nil
}

// removeTemporaries removes what crashed writes left in tmp/. Every write
// to tmp/ happens under gcMu held for reading, so with it held for writing
// every file there is such a leftover.
func (r *Registry) removeTemporaries() {
	r.gcMu.Lock()
	defer r.gcMu.Unlock()
	tmps, err := fs.ReadDir(r.blobs.root.FS(), "tmp")
	if err != nil {
		r.log.Error("list temporary files", "err", err)
		return
	}
	for _, e := range tmps {
		_ = r.blobs.root.Remove("tmp/" + e.Name())
	}
}

func (r *Registry) sweep(ctx context.Context, candidates []Digest, cutoff time.Time, st *GCStats) error {
	r.gcMu.Lock()
	defer r.gcMu.Unlock()
	snap := r.store.Snapshot()
	marked := map[Digest]bool{}
	for doc := range snap.Docs(nil, ManifestsPrefix, "") {
		var img Image
		if err := json.Unmarshal(doc.Value, &img); err != nil {
			// A manifest we cannot read may refer to anything: keep all.
			r.log.Error("garbage collection skipped: unreadable manifest document", "key", strings.ReplaceAll(doc.ID, "\x00", "/"), "err", err)
			return nil
		}
		marked[img.Digest] = true
		for _, b := range img.Blobs {
			marked[b] = true
		}
		for _, c := range img.Children {
			marked[c] = true
		}
	}
	want := map[Digest]bool{}
	for _, d := range candidates {
		if !marked[d] {
			want[d] = true
		}
	}
	links := map[Digest][]*state.Doc{}
	for doc := range snap.Docs(nil, allLinksPrefix, "") {
		if d := Digest(lastPart(doc.ID)); want[d] {
			links[d] = append(links[d], doc)
		}
	}
	var ops []state.DocOp
	var sweep []Digest
	var sizes []int64
	for _, d := range candidates {
		if !want[d] {
			continue
		}
		fresh := false
		for _, ld := range links[d] {
			var l linkDoc
			if err := json.Unmarshal(ld.Value, &l); err != nil || !l.LinkedAt.Before(cutoff) {
				fresh = true
			}
		}
		fi, err := r.blobs.stat(d)
		if fresh || err != nil || !fi.ModTime().Before(cutoff) {
			continue
		}
		for _, ld := range links[d] {
			ops = append(ops, state.DocOp{Key: ld.ID, Delete: true, IfIndex: ld.ModifyIndex})
		}
		sweep = append(sweep, d)
		sizes = append(sizes, fi.Size())
	}
	if len(ops) > 0 {
		if _, err := state.Do[[]*state.Doc](ctx, r.store, &state.WriteDocs{Ops: ops}); err != nil {
			if isPrecondition(err) {
				return nil // a link changed meanwhile: the next collection decides
			}
			return err
		}
	}
	for i, d := range sweep {
		if err := r.blobs.remove(d); err != nil {
			r.log.Error("remove blob", "digest", d, "err", err)
			continue
		}
		st.Blobs++
		st.Bytes += sizes[i]
	}
	return nil
}

// expireUploads removes upload sessions idle since before now-UploadTTL.
func (r *Registry) expireUploads(now time.Time) int {
	cutoff := now.Add(-r.cfg.UploadTTL)
	n := 0
	entries, err := fs.ReadDir(r.blobs.root.FS(), "uploads")
	if err != nil {
		r.log.Error("list upload sessions", "err", err)
		return 0
	}
	for _, e := range entries {
		id := e.Name()
		if !validUploadID(id) {
			continue
		}
		unlock := r.lockUpload(id)
		var u uploadState
		b, err := r.blobs.root.ReadFile(uploadDir(id) + "/state")
		stale := err != nil || json.Unmarshal(b, &u) != nil || u.UpdatedAt.Before(cutoff)
		if err != nil {
			// A session without state is one that crashed while starting:
			// judge it by its directory's age.
			if fi, serr := e.Info(); serr == nil && !fi.ModTime().Before(cutoff) {
				stale = false
			}
		}
		if stale {
			r.cancelUpload(id)
			n++
		}
		unlock()
	}
	return n
}
