package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/state"
)

// Manifest media types the registry stores.
const (
	MediaTypeOCIManifest        = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex           = "application/vnd.oci.image.index.v1+json"
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

func isIndex(mt string) bool { return mt == MediaTypeOCIIndex || mt == MediaTypeDockerManifestList }

func supportedManifest(mt string) bool {
	switch mt {
	case MediaTypeOCIManifest, MediaTypeOCIIndex, MediaTypeDockerManifest, MediaTypeDockerManifestList:
		return true
	}
	return false
}

// Descriptor is an OCI content descriptor.
type Descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	URLs         []string          `json:"urls,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Platform     json.RawMessage   `json:"platform,omitempty"`
}

type manifestJSON struct {
	SchemaVersion *int              `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *Descriptor       `json:"config"`
	Layers        []Descriptor      `json:"layers"`
	Manifests     []Descriptor      `json:"manifests"`
	Subject       *Descriptor       `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

// parsedManifest is what the registry needs to know of a manifest.
type parsedManifest struct {
	MediaType    string
	ArtifactType string
	Config       *Descriptor
	Blobs        []Descriptor // config and layers that must be in the repository
	Children     []Descriptor // manifests of an index
	Subject      *Descriptor
	Annotations  map[string]string
	ImageSize    int64 // config + layers of an image manifest
}

// parseManifest validates a manifest's bytes. contentType is the media type
// the client declared (empty when none or a generic JSON type). It never
// re-serialises: the stored and served bytes are the client's.
func parseManifest(body []byte, contentType string) (*parsedManifest, *Error) {
	invalid := func(format string, args ...any) *Error {
		return newError(CodeManifestInvalid, nil, format, args...)
	}
	var m manifestJSON
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil {
		return nil, invalid("manifest is not valid JSON")
	}
	if dec.More() {
		return nil, invalid("manifest has data after the JSON document")
	}
	if m.SchemaVersion == nil || *m.SchemaVersion != 2 {
		return nil, invalid("unsupported manifest schemaVersion; only schema version 2 manifests are accepted")
	}
	mt := m.MediaType
	switch {
	case mt != "" && contentType != "" && mt != contentType:
		return nil, invalid("manifest mediaType %q does not match Content-Type %q", mt, contentType)
	case mt == "":
		mt = contentType
	}
	if mt == "" {
		// An OCI manifest may omit mediaType; tell image from index by content.
		if m.Manifests != nil {
			mt = MediaTypeOCIIndex
		} else {
			mt = MediaTypeOCIManifest
		}
	}
	if !supportedManifest(mt) {
		return nil, invalid("unsupported manifest media type %q", mt)
	}
	p := &parsedManifest{MediaType: mt, ArtifactType: m.ArtifactType, Annotations: m.Annotations}
	if m.Subject != nil {
		if err := checkDescriptor(m.Subject, "subject"); err != nil {
			return nil, err
		}
		p.Subject = m.Subject
	}
	if isIndex(mt) {
		if m.Config != nil || m.Layers != nil {
			return nil, invalid("an index has no config or layers")
		}
		for i := range m.Manifests {
			if err := checkDescriptor(&m.Manifests[i], "manifests"); err != nil {
				return nil, err
			}
		}
		p.Children = m.Manifests
		return p, nil
	}
	if m.Manifests != nil {
		return nil, invalid("an image manifest has no manifests list")
	}
	if m.Config == nil {
		return nil, invalid("manifest has no config")
	}
	if err := checkDescriptor(m.Config, "config"); err != nil {
		return nil, err
	}
	p.Config = m.Config
	p.Blobs = append(p.Blobs, *m.Config)
	p.ImageSize = m.Config.Size
	if p.ArtifactType == "" {
		p.ArtifactType = m.Config.MediaType
	}
	for i := range m.Layers {
		l := &m.Layers[i]
		if err := checkDescriptor(l, "layers"); err != nil {
			return nil, err
		}
		p.ImageSize += l.Size
		if nonDistributable(l) {
			continue
		}
		p.Blobs = append(p.Blobs, *l)
	}
	return p, nil
}

func checkDescriptor(d *Descriptor, field string) *Error {
	if _, ok := ParseDigest(d.Digest); !ok {
		return newError(CodeManifestInvalid, map[string]string{"digest": d.Digest}, "%s descriptor has an invalid or unsupported digest %q", field, d.Digest)
	}
	if d.Size < 0 {
		return newError(CodeManifestInvalid, nil, "%s descriptor has a negative size", field)
	}
	if d.MediaType == "" {
		return newError(CodeManifestInvalid, nil, "%s descriptor has no mediaType", field)
	}
	return nil
}

// nonDistributable layers are fetched from their URLs, never pushed: a
// manifest may name them without the registry holding them.
func nonDistributable(d *Descriptor) bool {
	return len(d.URLs) > 0 || strings.Contains(d.MediaType, "nondistributable") || strings.Contains(d.MediaType, ".foreign.")
}

// ManifestPut is a manifest push.
type ManifestPut struct {
	Body []byte
	// MediaType is the Content-Type the client declared; empty for none.
	MediaType string
	// Digest, when set, is the digest the client says the body has; its
	// algorithm is the one the manifest is addressed by.
	Digest Digest
	// Tags to point at the manifest.
	Tags []string
}

// MissingContent is the detail of MANIFEST_BLOB_UNKNOWN: what a manifest
// names that the repository does not hold.
type MissingContent struct {
	Blobs     []string `json:"blobs,omitempty"`
	Manifests []string `json:"manifests,omitempty"`
}

// PutResult is the outcome of a manifest push.
type PutResult struct {
	Image *Image
	// Unchanged is set when the manifest existed and every tag already
	// named it: nothing was written.
	Unchanged bool
}

// PutManifest validates and stores a manifest and moves its tags to it, in
// one atomic write checked against tag immutability. Errors are *Error:
// NAME_UNKNOWN, MANIFEST_INVALID, DIGEST_INVALID, MANIFEST_BLOB_UNKNOWN
// (with the missing digests as detail), TAG_INVALID (immutable tag).
func (r *Registry) PutManifest(ctx context.Context, s Scope, repo string, in ManifestPut) (*PutResult, error) {
	if int64(len(in.Body)) > r.cfg.MaxManifestBytes {
		return nil, manifestTooLarge(r.cfg.MaxManifestBytes)
	}
	var tags []string
	seen := make(map[string]bool, len(in.Tags))
	for _, t := range in.Tags {
		if !ValidTag(t) {
			return nil, newError(CodeTagInvalid, map[string]string{"tag": t}, "invalid tag %q", t)
		}
		// A tag named twice (in the path and a ?tag= parameter) is one
		// write; two would fail each other's precondition.
		if !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	in.Tags = tags
	if r.Repository(s, repo) == nil {
		return nil, nameUnknown(s, repo)
	}
	p, perr := parseManifest(in.Body, in.MediaType)
	if perr != nil {
		return nil, perr
	}
	alg := "sha256"
	if in.Digest != "" {
		alg = in.Digest.Algorithm()
	}
	d := digestOf(alg, in.Body)
	if in.Digest != "" && d != in.Digest {
		return nil, newError(CodeDigestInvalid, map[string]string{"digest": string(in.Digest)}, "manifest digest %s does not match the content, whose digest is %s", in.Digest, d)
	}

	// The GC sweeps only while no push commits: see gc.go.
	r.gcMu.RLock()
	defer r.gcMu.RUnlock()
	if err := r.blobs.writeBytes(d, in.Body); err != nil {
		return nil, err
	}
	now := r.now().UTC()
	return retryConflicts(ctx, func() (*PutResult, error) {
		return r.putManifestOnce(ctx, s, repo, in, p, d, now)
	})
}

func manifestTooLarge(max int64) *Error {
	return &Error{Code: CodeSizeInvalid, Status: 413, Message: "manifest is larger than the registry's limit of " + itoa(max) + " bytes"}
}

func (r *Registry) putManifestOnce(ctx context.Context, s Scope, repo string, in ManifestPut, p *parsedManifest, d Digest, now time.Time) (*PutResult, error) {
	snap := r.store.Snapshot()
	rp, rd := r.repository(snap, s, repo)
	if rp == nil {
		return nil, nameUnknown(s, repo)
	}
	// Touching the repository document makes a concurrent delete of the
	// repository conflict with this push.
	ops := []state.DocOp{{Key: rd.ID, Value: rd.Value, IfIndex: rd.ModifyIndex}}
	if !rp.TagIndex || !rp.ChildIndex {
		// Index the tags and index children of a repository stored before
		// those indexes, in the same write; this push's own writes follow
		// and amend them.
		if !rp.TagIndex {
			ops = append(ops, indexTagOps(snap, s, repo)...)
		}
		if !rp.ChildIndex {
			ops = append(ops, indexChildOps(snap, s, repo)...)
		}
		rp.TagIndex, rp.ChildIndex = true, true
		ops[0].Value = encode(rp)
	}

	var missing MissingContent
	var blobs []Digest
	seen := map[Digest]bool{}
	for _, b := range p.Blobs {
		bd := Digest(b.Digest)
		if seen[bd] {
			continue
		}
		seen[bd] = true
		ld := snap.Doc(linkKey(s, repo, bd))
		if ld == nil {
			missing.Blobs = append(missing.Blobs, b.Digest)
			continue
		}
		// Touching the link makes the GC's and a blob DELETE's removal of
		// it conflict with this push.
		ops = append(ops, state.DocOp{Key: ld.ID, Value: ld.Value, IfIndex: ld.ModifyIndex})
		blobs = append(blobs, bd)
	}
	var children []Digest
	imageSize := p.ImageSize
	seenChild := map[Digest]bool{}
	for _, c := range p.Children {
		cd := Digest(c.Digest)
		if seenChild[cd] {
			continue // listed again (for another platform, say): touched once
		}
		seenChild[cd] = true
		md := snap.Doc(manifestKey(s, repo, cd))
		if md == nil {
			missing.Manifests = append(missing.Manifests, c.Digest)
			continue
		}
		ops = append(ops, state.DocOp{Key: md.ID, Value: md.Value, IfIndex: md.ModifyIndex})
		children = append(children, cd)
		if child, err := decode[Image](md); err == nil && child.ImageSize > imageSize {
			imageSize = child.ImageSize
		}
	}
	if all := append(slices.Clone(missing.Blobs), missing.Manifests...); len(all) > 0 {
		return nil, newError(CodeManifestBlobUnknown, missing,
			"manifest references a manifest or blob unknown to registry: %s", strings.Join(all, ", "))
	}

	existing := snap.Doc(manifestKey(s, repo, d))
	var img *Image
	unchanged := existing != nil
	if existing != nil {
		old, err := decode[Image](existing)
		if err != nil {
			return nil, err
		}
		img = old
		ops = append(ops, state.DocOp{Key: existing.ID, Value: existing.Value, IfIndex: existing.ModifyIndex})
	} else {
		img = &Image{
			Digest: d, MediaType: p.MediaType, ArtifactType: p.ArtifactType,
			Size: int64(len(in.Body)), ImageSize: imageSize, PushedAt: now,
			Blobs: blobs, Children: children, Annotations: p.Annotations,
		}
		if p.Config != nil {
			img.ConfigMediaType = p.Config.MediaType
		}
		if p.Subject != nil {
			img.Subject = Digest(p.Subject.Digest)
		}
		ops = append(ops, state.DocOp{Key: manifestKey(s, repo, d), Value: encode(img), IfAbsent: true})
		for _, c := range children {
			ops = append(ops, state.DocOp{Key: childIndexKey(s, repo, c, d), Value: emptyDoc})
		}
		if img.Subject != "" {
			ops = append(ops, state.DocOp{Key: referrerKey(s, repo, img.Subject, d), Value: json.RawMessage("{}")})
		}
	}
	for _, tag := range in.Tags {
		td := snap.Doc(tagKey(s, repo, tag))
		val := encode(tagDoc{Digest: d, UpdatedAt: now})
		if td == nil {
			unchanged = false
			ops = append(ops,
				state.DocOp{Key: tagKey(s, repo, tag), Value: val, IfAbsent: true},
				state.DocOp{Key: digestTagKey(s, repo, d, tag), Value: emptyDoc})
			continue
		}
		if rp.TagImmutable(tag) {
			return nil, newError(CodeTagInvalid, map[string]string{"tag": tag},
				"The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the tag is immutable.", tag, repo)
		}
		old, err := decode[tagDoc](td)
		if err == nil && old.Digest == d {
			continue
		}
		unchanged = false
		ops = append(ops, state.DocOp{Key: td.ID, Value: val, IfIndex: td.ModifyIndex})
		if err == nil {
			ops = append(ops, state.DocOp{Key: digestTagKey(s, repo, old.Digest, tag), Delete: true})
		}
		ops = append(ops, state.DocOp{Key: digestTagKey(s, repo, d, tag), Value: emptyDoc})
	}
	img.Tags = nil
	if unchanged {
		img.Tags = tagNames(r.digestTags(snap, s, repo, d))
		return &PutResult{Image: img, Unchanged: true}, nil
	}
	ops = append(ops, bumpGeneration(s, repo))
	if _, err := state.Do[[]*state.Doc](ctx, r.store, &state.WriteDocs{Ops: ops}); err != nil {
		return nil, err
	}
	img.Tags = r.Image(s, repo, d).tags()
	return &PutResult{Image: img}, nil
}

func (img *Image) tags() []string {
	if img == nil {
		return nil
	}
	return img.Tags
}

// ManifestContent returns the verified bytes of a manifest of a repository
// and its document.
func (r *Registry) ManifestContent(s Scope, repo string, d Digest) ([]byte, *Image, error) {
	img := r.image(r.store.Snapshot(), s, repo, d)
	if img == nil {
		return nil, nil, newError(CodeManifestUnknown, map[string]string{"digest": string(d)}, "")
	}
	b, err := r.blobs.readVerified(d, r.cfg.MaxManifestBytes)
	if err != nil {
		if corrupt(err) {
			r.log.Error("manifest content does not match its digest; quarantined", "digest", d, "repository", repo)
			return nil, nil, newError(CodeManifestUnknown, map[string]string{"digest": string(d)}, "manifest content is unavailable")
		}
		return nil, nil, err
	}
	return b, img, nil
}
