package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/state"
)

// Namespace is the first part of the keys of every document the registry
// writes to the state store.
const Namespace = "registry"

// Scope is a tenancy: an account in a region. Every repository belongs to
// one.
type Scope struct{ Account, Region string }

// Tag mutability settings of a repository, as ECR names them.
const (
	Mutable                = "MUTABLE"
	Immutable              = "IMMUTABLE"
	ImmutableWithExclusion = "IMMUTABLE_WITH_EXCLUSION"
	MutableWithExclusion   = "MUTABLE_WITH_EXCLUSION"
)

// Repository is a repository's metadata document. The registry reads the
// mutability settings; ECR keeps the rest of its settings in ECR, which the
// registry stores and never interprets.
type Repository struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	// Mutability is one of the constants above; empty means Mutable.
	Mutability string `json:"mutability,omitempty"`
	// Exclusions are the wildcard filters of the *_WITH_EXCLUSION settings.
	Exclusions []string        `json:"exclusions,omitempty"`
	ECR        json.RawMessage `json:"ecr,omitempty"`
	// TagIndex is set once every tag of the repository has its entry under
	// digestTagsPrefix. Repositories stored before that index existed get
	// their entries with their next push; until then lookups scan.
	TagIndex bool `json:"tagIndex,omitempty"`
	// ChildIndex is set once every manifest an index of the repository
	// lists has its entry under childIndexesPrefix. Repositories stored
	// before that index existed get their entries with their next push;
	// until then lookups scan.
	ChildIndex bool `json:"childIndex,omitempty"`
}

// TagImmutable reports whether an existing tag may not be moved or pushed
// again in the repository.
func (r *Repository) TagImmutable(tag string) bool {
	switch r.Mutability {
	case Immutable:
		return true
	case ImmutableWithExclusion:
		return !matchesAny(r.Exclusions, tag)
	case MutableWithExclusion:
		return matchesAny(r.Exclusions, tag)
	}
	return false
}

func matchesAny(patterns []string, tag string) bool {
	for _, p := range patterns {
		if WildcardMatch(p, tag) {
			return true
		}
	}
	return false
}

// WildcardMatch reports whether s matches pattern as a whole, where '*'
// matches any run of characters and every other character itself (ECR's
// WILDCARD filters and lifecycle tag patterns).
func WildcardMatch(pattern, s string) bool {
	// Tags and patterns have no '/', '?', '[' or '\\' (their grammars forbid
	// them), so path.Match's '*' is exactly the wildcard; guard anyway.
	if strings.ContainsAny(pattern, "?[\\/") || strings.ContainsAny(s, "/") {
		return false
	}
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

// Image is the metadata document of one manifest in a repository.
type Image struct {
	Digest    Digest `json:"digest"`
	MediaType string `json:"mediaType"`
	// ArtifactType is the manifest's artifactType, else its config's
	// media type (images), as the referrers API reports it.
	ArtifactType    string `json:"artifactType,omitempty"`
	ConfigMediaType string `json:"configMediaType,omitempty"`
	// Size is the length of the manifest itself.
	Size int64 `json:"size"`
	// ImageSize is the image's size as ECR reports it: the sum of its
	// config and layers, or for an index the largest of its manifests.
	ImageSize   int64             `json:"imageSize"`
	PushedAt    time.Time         `json:"pushedAt"`
	Blobs       []Digest          `json:"blobs,omitempty"`
	Children    []Digest          `json:"children,omitempty"`
	Subject     Digest            `json:"subject,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`

	// Tags are the image's tags, sorted; filled on reading, not stored.
	Tags []string `json:"-"`
	// Index is the modify index of the image's document when it was read.
	Index uint64 `json:"-"`
}

type tagDoc struct {
	Digest    Digest    `json:"digest"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// linkDoc records that a blob was pushed to (or mounted in) a repository.
type linkDoc struct {
	Size     int64     `json:"size"`
	LinkedAt time.Time `json:"linkedAt"`
}

func repoKey(s Scope, name string) string {
	return state.Key(Namespace, "repo", s.Account, s.Region, name)
}
func reposPrefix(s Scope) string { return state.KeyPrefix(Namespace, "repo", s.Account, s.Region) }
func manifestKey(s Scope, repo string, d Digest) string {
	return state.Key(Namespace, "manifest", s.Account, s.Region, repo, string(d))
}
func manifestsPrefix(s Scope, repo string) string {
	return state.KeyPrefix(Namespace, "manifest", s.Account, s.Region, repo)
}
func tagKey(s Scope, repo, tag string) string {
	return state.Key(Namespace, "tag", s.Account, s.Region, repo, tag)
}
func tagsPrefix(s Scope, repo string) string {
	return state.KeyPrefix(Namespace, "tag", s.Account, s.Region, repo)
}

// digestTagKey is the entry of a tag in the digest-to-tags index, which
// finds the tags of one image without reading every tag of the repository.
// It is written and deleted with the tag's own document.
func digestTagKey(s Scope, repo string, d Digest, tag string) string {
	return state.Key(Namespace, "digesttag", s.Account, s.Region, repo, string(d), tag)
}
func digestTagsPrefix(s Scope, repo string, d Digest) string {
	return state.KeyPrefix(Namespace, "digesttag", s.Account, s.Region, repo, string(d))
}
func repoDigestTagsPrefix(s Scope, repo string) string {
	return state.KeyPrefix(Namespace, "digesttag", s.Account, s.Region, repo)
}

// childIndexKey is the entry of a manifest an index lists in the
// child-to-index index, which finds the indexes that list one manifest
// without reading every manifest of the repository. It is written and
// deleted with the index's own document.
func childIndexKey(s Scope, repo string, child, index Digest) string {
	return state.Key(Namespace, "childindex", s.Account, s.Region, repo, string(child), string(index))
}
func childIndexesPrefix(s Scope, repo string, child Digest) string {
	return state.KeyPrefix(Namespace, "childindex", s.Account, s.Region, repo, string(child))
}
func repoChildIndexesPrefix(s Scope, repo string) string {
	return state.KeyPrefix(Namespace, "childindex", s.Account, s.Region, repo)
}

// generationKey is a repository's generation document: every write that
// changes the repository's manifests or tags rewrites it, so that its
// modify index tells a watcher whether they changed without reading them.
func generationKey(s Scope, repo string) string {
	return state.Key(Namespace, "generation", s.Account, s.Region, repo)
}

// bumpGeneration is the op that goes into every write changing a
// repository's manifests or tags. It has no precondition: its value never
// changes, only its modify index.
func bumpGeneration(s Scope, repo string) state.DocOp {
	return state.DocOp{Key: generationKey(s, repo), Value: emptyDoc}
}

func linkKey(s Scope, repo string, d Digest) string {
	return state.Key(Namespace, "blob", s.Account, s.Region, repo, string(d))
}
func linksPrefix(s Scope, repo string) string {
	return state.KeyPrefix(Namespace, "blob", s.Account, s.Region, repo)
}
func referrerKey(s Scope, repo string, subject, d Digest) string {
	return state.Key(Namespace, "referrer", s.Account, s.Region, repo, string(subject), string(d))
}
func referrersPrefix(s Scope, repo string, subject Digest) string {
	return state.KeyPrefix(Namespace, "referrer", s.Account, s.Region, repo, string(subject))
}
func repoReferrersPrefix(s Scope, repo string) string {
	return state.KeyPrefix(Namespace, "referrer", s.Account, s.Region, repo)
}

// Watch prefixes: every manifest, tag and repository document of every
// tenancy, for packages that react to pushes.
var (
	ManifestsPrefix    = state.KeyPrefix(Namespace, "manifest")
	TagsPrefix         = state.KeyPrefix(Namespace, "tag")
	RepositoriesPrefix = state.KeyPrefix(Namespace, "repo")
	allLinksPrefix     = state.KeyPrefix(Namespace, "blob")
)

// lastPart is the last part of a document key.
func lastPart(key string) string { return key[strings.LastIndexByte(key, 0)+1:] }

func decode[T any](d *state.Doc) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(d.Value, v); err != nil {
		return nil, fmt.Errorf("registry: decode %q: %w", strings.ReplaceAll(d.ID, "\x00", "/"), err)
	}
	return v, nil
}

func encode(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("registry: encode %T: %v", v, err)) // only our own plain types
	}
	return b
}

// nameUnknown is ECR's answer to a repository that does not exist.
func nameUnknown(s Scope, name string) *Error {
	return newError(CodeNameUnknown, map[string]string{"name": name},
		"The repository with name '%s' does not exist in the registry with id '%s'", name, s.Account)
}

// KindRepository is the errdefs kind of repository errors.
const KindRepository = "repository"

// ReasonNotEmpty marks the ErrConflict of deleting a repository that holds images.
const ReasonNotEmpty = "not-empty"

// Repository returns the named repository of s, or nil.
func (r *Registry) Repository(s Scope, name string) *Repository {
	repo, _ := r.repository(r.store.Snapshot(), s, name)
	return repo
}

func (r *Registry) repository(snap *state.Snapshot, s Scope, name string) (*Repository, *state.Doc) {
	d := snap.Doc(repoKey(s, name))
	if d == nil {
		return nil, nil
	}
	repo, err := decode[Repository](d)
	if err != nil {
		r.log.Error("read repository", "err", err)
		return nil, nil
	}
	return repo, d
}

// Repositories yields the repositories of s in name order, after the
// repository named after (when not empty).
func (r *Registry) Repositories(s Scope, after string) iter.Seq[*Repository] {
	snap := r.store.Snapshot()
	start := ""
	if after != "" {
		start = repoKey(s, after)
	}
	return func(yield func(*Repository) bool) {
		for d := range snap.Docs(nil, reposPrefix(s), start) {
			repo, err := decode[Repository](d)
			if err != nil {
				r.log.Error("read repository", "err", err)
				continue
			}
			if !yield(repo) {
				return
			}
		}
	}
}

// CreateRepository stores a new repository. A repository of that name in s
// is errdefs.ErrAlreadyExists.
func (r *Registry) CreateRepository(ctx context.Context, s Scope, repo Repository) (*Repository, error) {
	if !ValidName(repo.Name) {
		return nil, newError(CodeNameInvalid, map[string]string{"name": repo.Name}, "")
	}
	if repo.Mutability == "" {
		repo.Mutability = Mutable
	}
	repo.TagIndex, repo.ChildIndex = true, true // empty, so its indexes are complete
	_, err := state.Do[[]*state.Doc](ctx, r.store, &state.WriteDocs{Ops: []state.DocOp{
		{Key: repoKey(s, repo.Name), Value: encode(repo), IfAbsent: true},
		bumpGeneration(s, repo.Name),
	}})
	if isPrecondition(err) {
		return nil, errdefs.New(errdefs.ErrAlreadyExists, KindRepository,
			"The repository with name '%s' already exists in the registry with id '%s'", repo.Name, s.Account)
	}
	if err != nil {
		return nil, err
	}
	return &repo, nil
}

// UpdateRepository applies fn to the stored repository and writes the
// result, retrying when a concurrent write intervenes. An error from fn
// aborts the update and is returned as is.
func (r *Registry) UpdateRepository(ctx context.Context, s Scope, name string, fn func(*Repository) error) (*Repository, error) {
	return retryConflicts(ctx, func() (*Repository, error) {
		repo, d := r.repository(r.store.Snapshot(), s, name)
		if repo == nil {
			return nil, nameUnknown(s, name)
		}
		if err := fn(repo); err != nil {
			return nil, err
		}
		repo.Name = name
		_, err := state.Do[[]*state.Doc](ctx, r.store, &state.WriteDocs{Ops: []state.DocOp{
			{Key: d.ID, Value: encode(repo), IfIndex: d.ModifyIndex},
		}})
		if err != nil {
			return nil, err
		}
		return repo, nil
	})
}

// DeleteRepository deletes a repository and, with force, every image in
// it. Without force a repository with images is errdefs.ErrConflict with
// ReasonNotEmpty. The documents under alsoPrefixes (another package's
// documents about the repository) go in the same write.
func (r *Registry) DeleteRepository(ctx context.Context, s Scope, name string, force bool, alsoPrefixes ...string) (*Repository, error) {
	return retryConflicts(ctx, func() (*Repository, error) {
		snap := r.store.Snapshot()
		repo, d := r.repository(snap, s, name)
		if repo == nil {
			return nil, nameUnknown(s, name)
		}
		ops := []state.DocOp{{Key: d.ID, Delete: true, IfIndex: d.ModifyIndex}, {Key: generationKey(s, name), Delete: true}}
		for _, prefix := range []string{manifestsPrefix(s, name), tagsPrefix(s, name)} {
			for doc := range snap.Docs(nil, prefix, "") {
				if !force {
					return nil, errdefs.New(errdefs.ErrConflict, KindRepository,
						"The repository with name '%s' in registry with id '%s' cannot be deleted because it still contains images", name, s.Account).WithReason(ReasonNotEmpty)
				}
				ops = append(ops, state.DocOp{Key: doc.ID, Delete: true})
			}
		}
		own := []string{linksPrefix(s, name), repoReferrersPrefix(s, name), repoDigestTagsPrefix(s, name), repoChildIndexesPrefix(s, name)}
		for _, prefix := range append(own, alsoPrefixes...) {
			for doc := range snap.Docs(nil, prefix, "") {
				ops = append(ops, state.DocOp{Key: doc.ID, Delete: true})
			}
		}
		if _, err := state.Do[[]*state.Doc](ctx, r.store, &state.WriteDocs{Ops: ops}); err != nil {
			return nil, err
		}
		return repo, nil
	})
}

// Generation returns a value that changes with every write to the
// manifests or tags of a repository: the modify index of its generation
// document. It is 0 for a repository that does not exist, or that an older
// Berth stored and nothing has changed since.
func (r *Registry) Generation(s Scope, repo string) uint64 {
	if d := r.store.Snapshot().Doc(generationKey(s, repo)); d != nil {
		return d.ModifyIndex
	}
	return 0
}

// Images returns every image of a repository in digest order, with its
// tags.
func (r *Registry) Images(s Scope, repo string) ([]*Image, error) {
	snap := r.store.Snapshot()
	if d := snap.Doc(repoKey(s, repo)); d == nil {
		return nil, nameUnknown(s, repo)
	}
	tags := tagsByDigest(snap, s, repo)
	var out []*Image
	for d := range snap.Docs(nil, manifestsPrefix(s, repo), "") {
		img, err := decode[Image](d)
		if err != nil {
			return nil, err
		}
		img.Tags, img.Index = tags[img.Digest], d.ModifyIndex
		out = append(out, img)
	}
	return out, nil
}

// Image returns one image of a repository with its tags, or nil.
func (r *Registry) Image(s Scope, repo string, d Digest) *Image {
	snap := r.store.Snapshot()
	img := r.image(snap, s, repo, d)
	if img != nil {
		img.Tags = tagNames(r.digestTags(snap, s, repo, d))
	}
	return img
}

func (r *Registry) image(snap *state.Snapshot, s Scope, repo string, d Digest) *Image {
	doc := snap.Doc(manifestKey(s, repo, d))
	if doc == nil {
		return nil
	}
	img, err := decode[Image](doc)
	if err != nil {
		r.log.Error("read manifest", "err", err)
		return nil
	}
	img.Index = doc.ModifyIndex
	return img
}

// ResolveTag returns the digest a tag points to.
func (r *Registry) ResolveTag(s Scope, repo, tag string) (Digest, bool) {
	return resolveTag(r.store.Snapshot(), s, repo, tag)
}

func resolveTag(snap *state.Snapshot, s Scope, repo, tag string) (Digest, bool) {
	d := snap.Doc(tagKey(s, repo, tag))
	if d == nil {
		return "", false
	}
	t, err := decode[tagDoc](d)
	if err != nil {
		return "", false
	}
	return t.Digest, true
}

// digestTags returns the documents of the tags that name d, in tag order:
// through the digest-to-tags index when the repository has one, else by
// reading every tag of the repository.
func (r *Registry) digestTags(snap *state.Snapshot, s Scope, repo string, d Digest) []*state.Doc {
	rp, _ := r.repository(snap, s, repo)
	if rp == nil {
		return nil
	}
	var out []*state.Doc
	if !rp.TagIndex {
		for td := range snap.Docs(nil, tagsPrefix(s, repo), "") {
			if t, err := decode[tagDoc](td); err == nil && t.Digest == d {
				out = append(out, td)
			}
		}
		return out
	}
	// Each entry is checked against its tag's document, so an entry left
	// behind (an upgrade racing a tag delete) is never reported.
	for e := range snap.Docs(nil, digestTagsPrefix(s, repo, d), "") {
		td := snap.Doc(tagKey(s, repo, lastPart(e.ID)))
		if td == nil {
			continue
		}
		if t, err := decode[tagDoc](td); err == nil && t.Digest == d {
			out = append(out, td)
		}
	}
	return out
}

func tagNames(docs []*state.Doc) []string {
	var out []string
	for _, d := range docs {
		out = append(out, lastPart(d.ID))
	}
	return out
}

// indexTagOps are the writes that give every tag of a repository stored
// before the digest-to-tags index its entry.
func indexTagOps(snap *state.Snapshot, s Scope, repo string) []state.DocOp {
	var ops []state.DocOp
	for td := range snap.Docs(nil, tagsPrefix(s, repo), "") {
		if t, err := decode[tagDoc](td); err == nil {
			ops = append(ops, state.DocOp{Key: digestTagKey(s, repo, t.Digest, lastPart(td.ID)), Value: emptyDoc})
		}
	}
	return ops
}

// indexChildOps are the writes that give every manifest an index of a
// repository stored before the child-to-index index lists its entry.
func indexChildOps(snap *state.Snapshot, s Scope, repo string) []state.DocOp {
	var ops []state.DocOp
	for md := range snap.Docs(nil, manifestsPrefix(s, repo), "") {
		img, err := decode[Image](md)
		if err != nil {
			continue
		}
		for _, c := range img.Children {
			ops = append(ops, state.DocOp{Key: childIndexKey(s, repo, c, img.Digest), Value: emptyDoc})
		}
	}
	return ops
}

var emptyDoc = json.RawMessage("{}")

func tagsByDigest(snap *state.Snapshot, s Scope, repo string) map[Digest][]string {
	out := map[Digest][]string{}
	for d := range snap.Docs(nil, tagsPrefix(s, repo), "") {
		t, err := decode[tagDoc](d)
		if err != nil {
			continue
		}
		out[t.Digest] = append(out[t.Digest], lastPart(d.ID)) // key order: sorted
	}
	return out
}

// BlobSize returns the size of a blob pushed to a repository.
func (r *Registry) BlobSize(s Scope, repo string, d Digest) (int64, bool) {
	doc := r.store.Snapshot().Doc(linkKey(s, repo, d))
	if doc == nil {
		return 0, false
	}
	l, err := decode[linkDoc](doc)
	if err != nil {
		return 0, false
	}
	return l.Size, true
}

// DeleteTag removes a tag. With deleteUntagged, the image it pointed to
// is deleted too when that was its last tag and no index refers to it
// (ECR's BatchDeleteImage by tag). It returns the digest the tag named.
func (r *Registry) DeleteTag(ctx context.Context, s Scope, repo, tag string, deleteUntagged bool) (Digest, error) {
	return retryConflicts(ctx, func() (Digest, error) {
		snap := r.store.Snapshot()
		if snap.Doc(repoKey(s, repo)) == nil {
			return "", nameUnknown(s, repo)
		}
		td := snap.Doc(tagKey(s, repo, tag))
		if td == nil {
			return "", newError(CodeManifestUnknown, map[string]string{"tag": tag}, "")
		}
		t, err := decode[tagDoc](td)
		if err != nil {
			return "", err
		}
		ops := []state.DocOp{
			{Key: td.ID, Delete: true, IfIndex: td.ModifyIndex},
			{Key: digestTagKey(s, repo, t.Digest, tag), Delete: true},
			bumpGeneration(s, repo),
		}
		if deleteUntagged && len(r.digestTags(snap, s, repo, t.Digest)) == 1 && len(r.referencingIndexes(snap, s, repo, t.Digest)) == 0 {
			if md := snap.Doc(manifestKey(s, repo, t.Digest)); md != nil {
				ops = r.deleteManifestOps(snap, s, repo, md) // with the tag
			}
		}
		_, err = state.Do[[]*state.Doc](ctx, r.store, &state.WriteDocs{Ops: ops})
		return t.Digest, err
	})
}

// DeleteManifest deletes an image and all its tags. With keepReferenced, an
// image that an index of the repository refers to is not deleted: the
// error is MANIFEST_INVALID with the referring digests as detail. It
// returns the tags the image had.
func (r *Registry) DeleteManifest(ctx context.Context, s Scope, repo string, d Digest, keepReferenced bool) ([]string, error) {
	return retryConflicts(ctx, func() ([]string, error) {
		snap := r.store.Snapshot()
		if snap.Doc(repoKey(s, repo)) == nil {
			return nil, nameUnknown(s, repo)
		}
		md := snap.Doc(manifestKey(s, repo, d))
		if md == nil {
			return nil, newError(CodeManifestUnknown, map[string]string{"digest": string(d)}, "")
		}
		if keepReferenced {
			if refs := r.referencingIndexes(snap, s, repo, d); len(refs) > 0 {
				return nil, &Error{Code: CodeManifestInvalid, Message: "manifest is referenced by an index", Detail: refs, Status: 409}
			}
		}
		tags := tagNames(r.digestTags(snap, s, repo, d))
		ops := append(r.deleteManifestOps(snap, s, repo, md), bumpGeneration(s, repo))
		if _, err := state.Do[[]*state.Doc](ctx, r.store, &state.WriteDocs{Ops: ops}); err != nil {
			return nil, err
		}
		return tags, nil
	})
}

// ReferencedBy returns the digests of the indexes of a repository that
// list d among their manifests.
func (r *Registry) ReferencedBy(s Scope, repo string, d Digest) []Digest {
	return r.referencingIndexes(r.store.Snapshot(), s, repo, d)
}

// referencingIndexes returns the digests of the indexes that list d, in
// digest order: through the child-to-index index when the repository has
// one, else by reading every manifest of the repository.
func (r *Registry) referencingIndexes(snap *state.Snapshot, s Scope, repo string, d Digest) []Digest {
	rp, _ := r.repository(snap, s, repo)
	if rp == nil {
		return nil
	}
	var out []Digest
	if !rp.ChildIndex {
		for doc := range snap.Docs(nil, manifestsPrefix(s, repo), "") {
			img, err := decode[Image](doc)
			if err == nil && slices.Contains(img.Children, d) {
				out = append(out, img.Digest)
			}
		}
		return out
	}
	// Each entry is checked against its index's document, so an entry left
	// behind (an upgrade racing an index delete) is never reported.
	for e := range snap.Docs(nil, childIndexesPrefix(s, repo, d), "") {
		img := r.image(snap, s, repo, Digest(lastPart(e.ID)))
		if img != nil && slices.Contains(img.Children, d) {
			out = append(out, img.Digest)
		}
	}
	return out
}

// deleteManifestOps deletes a manifest document (if unchanged since it was
// read), its tags, its referrer entry and, for an index, its children's
// entries.
func (r *Registry) deleteManifestOps(snap *state.Snapshot, s Scope, repo string, md *state.Doc) []state.DocOp {
	ops := []state.DocOp{{Key: md.ID, Delete: true, IfIndex: md.ModifyIndex}}
	img, err := decode[Image](md)
	if err != nil {
		return ops
	}
	for _, td := range r.digestTags(snap, s, repo, img.Digest) {
		ops = append(ops,
			state.DocOp{Key: td.ID, Delete: true, IfIndex: td.ModifyIndex},
			state.DocOp{Key: digestTagKey(s, repo, img.Digest, lastPart(td.ID)), Delete: true})
	}
	if img.Subject != "" {
		ops = append(ops, state.DocOp{Key: referrerKey(s, repo, img.Subject, img.Digest), Delete: true})
	}
	for _, c := range img.Children {
		ops = append(ops, state.DocOp{Key: childIndexKey(s, repo, c, img.Digest), Delete: true})
	}
	return ops
}

// DeleteImages deletes several images of a repository, each with its tags,
// in one atomic write (lifecycle expiry). The images are as Images returned
// them: if any changed since (a tag moved to it, say), nothing is deleted
// and the error is errdefs.ErrConflict.
func (r *Registry) DeleteImages(ctx context.Context, s Scope, repo string, imgs []*Image) error {
	snap := r.store.Snapshot()
	var ops []state.DocOp
	for _, img := range imgs {
		md := snap.Doc(manifestKey(s, repo, img.Digest))
		if md == nil {
			continue
		}
		if md.ModifyIndex != img.Index {
			return errdefs.New(errdefs.ErrConflict, "image", "image %s changed since it was read", img.Digest).WithReason(state.ReasonPrecondition)
		}
		ops = append(ops, r.deleteManifestOps(snap, s, repo, md)...)
	}
	if len(ops) == 0 {
		return nil
	}
	ops = append(ops, bumpGeneration(s, repo))
	_, err := state.Do[[]*state.Doc](ctx, r.store, &state.WriteDocs{Ops: ops})
	return err
}

func isPrecondition(err error) bool {
	e, ok := errdefs.As(err)
	return ok && errors.Is(e, errdefs.ErrConflict) && e.Reason == state.ReasonPrecondition
}

// Optimistic writes retry a conflict for this long at most before reporting
// it, with a short jittered wait between attempts.
const (
	conflictRetryBudget = 5 * time.Second
	conflictMaxBackoff  = 20 * time.Millisecond
)

// retryConflicts runs an optimistic read-check-write until no concurrent
// writer invalidates its preconditions, for a bounded time.
func retryConflicts[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	deadline := time.Now().Add(conflictRetryBudget)
	for attempt := 1; ; attempt++ {
		v, err := fn()
		if !isPrecondition(err) || time.Now().After(deadline) {
			return v, err
		}
		backoff := min(time.Duration(attempt)*time.Millisecond, conflictMaxBackoff)
		backoff += rand.N(backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, ctx.Err()
		case <-t.C:
		}
	}
}
