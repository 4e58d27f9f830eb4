package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsjson"
	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/registry"
	"github.com/berthhq/berth/internal/state"
)

// Namespace is the first part of the keys of the documents the ECR API
// keeps beside the registry's: per repository, its lifecycle preview and
// when its lifecycle policy was last evaluated.
const Namespace = "ecr"

func previewKey(s registry.Scope, repo string) string {
	return state.Key(Namespace, s.Account, s.Region, repo, "preview")
}

func evaluatedKey(s registry.Scope, repo string) string {
	return state.Key(Namespace, s.Account, s.Region, repo, "lifecycle")
}

// ownPrefixes are the prefixes of the ECR documents about a repository,
// deleted together with it.
func ownPrefixes(s registry.Scope, repo string) []string {
	return []string{state.KeyPrefix(Namespace, s.Account, s.Region, repo)}
}

// Preview statuses.
const (
	previewInProgress = "IN_PROGRESS"
	previewComplete   = "COMPLETE"
	previewFailed     = "FAILED"
)

type previewDoc struct {
	Status     string    `json:"status"`
	PolicyText string    `json:"policyText"`
	StartedAt  time.Time `json:"startedAt"`
	// RepoCreatedAt ties the preview to one life of the repository.
	RepoCreatedAt time.Time       `json:"repoCreatedAt"`
	Results       []previewResult `json:"results,omitempty"`
}

type previewResult struct {
	Digest   registry.Digest `json:"digest"`
	Tags     []string        `json:"tags,omitempty"`
	PushedAt time.Time       `json:"pushedAt"`
	Rule     int             `json:"rule"`
}

type evaluatedDoc struct {
	At time.Time `json:"at"`
}

func lifecycleNotFound(s registry.Scope, name string) *awsapi.Error {
	return &awsapi.Error{Code: "LifecyclePolicyNotFoundException", Message: fmt.Sprintf(
		"Lifecycle policy does not exist for the repository with name '%s' in the registry with id '%s'", name, s.Account)}
}

type LifecyclePolicyInput struct {
	RegistryID     *string `json:"registryId"`
	RepositoryName *string `json:"repositoryName"`
}

type PutLifecyclePolicyInput struct {
	RegistryID          *string `json:"registryId"`
	RepositoryName      *string `json:"repositoryName"`
	LifecyclePolicyText *string `json:"lifecyclePolicyText"`
}

type LifecyclePolicyOutput struct {
	RegistryID          string        `json:"registryId"`
	RepositoryName      string        `json:"repositoryName"`
	LifecyclePolicyText string        `json:"lifecyclePolicyText"`
	LastEvaluatedAt     *awsjson.Time `json:"lastEvaluatedAt,omitempty"`
}

func (a *API) PutLifecyclePolicy(ctx context.Context, in *PutLifecyclePolicyInput) (*LifecyclePolicyOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if in.LifecyclePolicyText == nil {
		return nil, constraint("lifecyclePolicyText", "Member must not be null")
	}
	if _, err := ParsePolicy(*in.LifecyclePolicyText); err != nil {
		return nil, err
	}
	if _, _, err := a.updateSettings(ctx, s, name, func(_ *registry.Repository, st *settings) error {
		st.Lifecycle = *in.LifecyclePolicyText
		return nil
	}); err != nil {
		return nil, err
	}
	return &LifecyclePolicyOutput{RegistryID: s.Account, RepositoryName: name, LifecyclePolicyText: *in.LifecyclePolicyText}, nil
}

func (a *API) lastEvaluated(s registry.Scope, name string) *awsjson.Time {
	d := a.store.Snapshot().Doc(evaluatedKey(s, name))
	if d == nil {
		return nil
	}
	var ev evaluatedDoc
	if json.Unmarshal(d.Value, &ev) != nil {
		return nil
	}
	return awsjson.Ptr(ev.At)
}

func (a *API) GetLifecyclePolicy(ctx context.Context, in *LifecyclePolicyInput) (*LifecyclePolicyOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	_, st, err := a.repository(s, name)
	if err != nil {
		return nil, err
	}
	if st.Lifecycle == "" {
		return nil, lifecycleNotFound(s, name)
	}
	return &LifecyclePolicyOutput{RegistryID: s.Account, RepositoryName: name, LifecyclePolicyText: st.Lifecycle,
		LastEvaluatedAt: a.lastEvaluated(s, name)}, nil
}

func (a *API) DeleteLifecyclePolicy(ctx context.Context, in *LifecyclePolicyInput) (*LifecyclePolicyOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	var old string
	if _, _, err := a.updateSettings(ctx, s, name, func(_ *registry.Repository, st *settings) error {
		if st.Lifecycle == "" {
			return lifecycleNotFound(s, name)
		}
		old, st.Lifecycle = st.Lifecycle, ""
		return nil
	}); err != nil {
		return nil, err
	}
	return &LifecyclePolicyOutput{RegistryID: s.Account, RepositoryName: name, LifecyclePolicyText: old,
		LastEvaluatedAt: a.lastEvaluated(s, name)}, nil
}

type StartLifecyclePolicyPreviewInput struct {
	RegistryID          *string `json:"registryId"`
	RepositoryName      *string `json:"repositoryName"`
	LifecyclePolicyText *string `json:"lifecyclePolicyText"`
}

type StartLifecyclePolicyPreviewOutput struct {
	RegistryID          string `json:"registryId"`
	RepositoryName      string `json:"repositoryName"`
	LifecyclePolicyText string `json:"lifecyclePolicyText"`
	Status              string `json:"status"`
}

// StartLifecyclePolicyPreview records a preview request; Run evaluates it
// against the repository's images and completes it.
func (a *API) StartLifecyclePolicyPreview(ctx context.Context, in *StartLifecyclePolicyPreviewInput) (*StartLifecyclePolicyPreviewOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	repo, st, err := a.repository(s, name)
	if err != nil {
		return nil, err
	}
	text := st.Lifecycle
	if in.LifecyclePolicyText != nil {
		text = *in.LifecyclePolicyText
	} else if text == "" {
		return nil, lifecycleNotFound(s, name)
	}
	if _, err := ParsePolicy(text); err != nil {
		return nil, err
	}
	key := previewKey(s, name)
	doc := previewDoc{Status: previewInProgress, PolicyText: text, StartedAt: a.now().UTC(), RepoCreatedAt: repo.CreatedAt}
	value, _ := json.Marshal(doc)
	_, err = retryConflicts(ctx, func() (struct{}, error) {
		op := state.DocOp{Key: key, Value: value, IfAbsent: true}
		if old := a.store.Snapshot().Doc(key); old != nil {
			var p previewDoc
			if json.Unmarshal(old.Value, &p) == nil && p.Status == previewInProgress && p.RepoCreatedAt.Equal(repo.CreatedAt) {
				return struct{}{}, &awsapi.Error{Code: "LifecyclePolicyPreviewInProgressException", Message: fmt.Sprintf(
					"A lifecycle policy preview is already in progress for the repository with name '%s' in the registry with id '%s'", name, s.Account)}
			}
			op = state.DocOp{Key: key, Value: value, IfIndex: old.ModifyIndex}
		}
		_, err := state.Do[[]*state.Doc](ctx, a.store, &state.WriteDocs{Ops: []state.DocOp{op}})
		return struct{}{}, err
	})
	if err != nil {
		return nil, err
	}
	return &StartLifecyclePolicyPreviewOutput{RegistryID: s.Account, RepositoryName: name, LifecyclePolicyText: text, Status: previewInProgress}, nil
}

type GetLifecyclePolicyPreviewInput struct {
	RegistryID     *string          `json:"registryId"`
	RepositoryName *string          `json:"repositoryName"`
	ImageIDs       []ImageID        `json:"imageIds"`
	NextToken      *string          `json:"nextToken"`
	MaxResults     *int32           `json:"maxResults"`
	Filter         *TagStatusFilter `json:"filter"`
}

type PreviewResult struct {
	ImageTags           []string      `json:"imageTags,omitempty"`
	ImageDigest         string        `json:"imageDigest"`
	ImagePushedAt       awsjson.Time  `json:"imagePushedAt"`
	Action              PreviewAction `json:"action"`
	AppliedRulePriority int           `json:"appliedRulePriority"`
}

type PreviewAction struct {
	Type string `json:"type"`
}

type PreviewSummary struct {
	ExpiringImageTotalCount int `json:"expiringImageTotalCount"`
}

type GetLifecyclePolicyPreviewOutput struct {
	RegistryID          string          `json:"registryId"`
	RepositoryName      string          `json:"repositoryName"`
	LifecyclePolicyText string          `json:"lifecyclePolicyText"`
	Status              string          `json:"status"`
	NextToken           *string         `json:"nextToken,omitempty"`
	PreviewResults      []PreviewResult `json:"previewResults"`
	Summary             *PreviewSummary `json:"summary,omitempty"`
}

func (a *API) GetLifecyclePolicyPreview(ctx context.Context, in *GetLifecyclePolicyPreviewInput) (*GetLifecyclePolicyPreviewOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	status, err := tagStatus(in.Filter)
	if err != nil {
		return nil, err
	}
	n, after, err := pageArgs(in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, err
	}
	repo, _, err := a.repository(s, name)
	if err != nil {
		return nil, err
	}
	var p previewDoc
	d := a.store.Snapshot().Doc(previewKey(s, name))
	if d == nil || json.Unmarshal(d.Value, &p) != nil || !p.RepoCreatedAt.Equal(repo.CreatedAt) {
		return nil, &awsapi.Error{Code: "LifecyclePolicyPreviewNotFoundException", Message: fmt.Sprintf(
			"There is no lifecycle policy preview for the repository with name '%s' in the registry with id '%s'", name, s.Account)}
	}
	out := &GetLifecyclePolicyPreviewOutput{RegistryID: s.Account, RepositoryName: name, LifecyclePolicyText: p.PolicyText,
		Status: p.Status, PreviewResults: []PreviewResult{}}
	if p.Status != previewComplete {
		return out, nil
	}
	out.Summary = &PreviewSummary{ExpiringImageTotalCount: len(p.Results)}
	results := slices.Clone(p.Results)
	sort.Slice(results, func(i, j int) bool { return results[i].Digest < results[j].Digest })
	for _, r := range results {
		if len(in.ImageIDs) > 0 && !slices.ContainsFunc(in.ImageIDs, func(id ImageID) bool {
			return (id.ImageDigest != nil && *id.ImageDigest == string(r.Digest)) || (id.ImageTag != nil && slices.Contains(r.Tags, *id.ImageTag))
		}) {
			continue
		}
		if (status == "TAGGED" && len(r.Tags) == 0) || (status == "UNTAGGED" && len(r.Tags) > 0) || string(r.Digest) <= after {
			continue
		}
		if len(out.PreviewResults) == n {
			out.NextToken = encodeToken(out.PreviewResults[n-1].ImageDigest)
			break
		}
		out.PreviewResults = append(out.PreviewResults, PreviewResult{ImageTags: r.Tags, ImageDigest: string(r.Digest),
			ImagePushedAt: awsjson.At(r.PushedAt), Action: PreviewAction{Type: "EXPIRE"}, AppliedRulePriority: r.Rule})
	}
	return out, nil
}

// lifecycleUnits are the images lifecycle rules judge: not the manifests
// an index of the repository lists (they go with their index) and not the
// referrers of an image of the repository (they go with their subject).
func lifecycleUnits(imgs []*registry.Image) []Candidate {
	present := map[registry.Digest]bool{}
	child := map[registry.Digest]bool{}
	for _, img := range imgs {
		present[img.Digest] = true
		for _, c := range img.Children {
			child[c] = true
		}
	}
	var out []Candidate
	for _, img := range imgs {
		if child[img.Digest] || (img.Subject != "" && present[img.Subject]) {
			continue
		}
		out = append(out, Candidate{Digest: img.Digest, Tags: img.Tags, PushedAt: img.PushedAt})
	}
	return out
}

// withDependents adds to the expired images the manifests that go with
// them: the children no surviving index lists and the referrers.
func withDependents(imgs []*registry.Image, expired []Expiry) []*registry.Image {
	del := map[registry.Digest]bool{}
	for _, e := range expired {
		del[e.Digest] = true
	}
	parents := map[registry.Digest][]registry.Digest{}
	for _, img := range imgs {
		for _, c := range img.Children {
			parents[c] = append(parents[c], img.Digest)
		}
	}
	for changed := true; changed; {
		changed = false
		for _, img := range imgs {
			if del[img.Digest] {
				continue
			}
			ps := parents[img.Digest]
			orphaned := len(ps) > 0 && !slices.ContainsFunc(ps, func(p registry.Digest) bool { return !del[p] })
			if orphaned || (img.Subject != "" && del[img.Subject]) {
				del[img.Digest] = true
				changed = true
			}
		}
	}
	var out []*registry.Image
	for _, img := range imgs {
		if del[img.Digest] {
			out = append(out, img)
		}
	}
	return out
}

// evaluation is what Run last evaluated for a repository.
type evaluation struct {
	fingerprint
	at time.Time
}

// fingerprint changes whenever a repository's images, tags or lifecycle
// policy change, or the repository is created again. The registry's
// generation tells image and tag changes without reading them; a
// repository that has none yet (stored by an older Berth, unchanged since)
// is fingerprinted by its images and tags instead.
type fingerprint struct {
	created, generation uint64
	images, tags        int
	maxIndex            uint64
	policy              string
}

// Run enforces lifecycle policies and completes previews until ctx ends:
// it evaluates a repository's policy when its images or policy change and
// at least every LifecycleInterval, on the leader only. It returns nil
// when ctx is cancelled.
func (a *API) Run(ctx context.Context) error {
	for {
		if ctx.Err() != nil {
			return nil
		}
		ws := memdb.NewWatchSet()
		wait := a.pass(ctx, ws)
		wctx, cancel := context.WithTimeout(ctx, wait)
		_ = ws.WatchCtx(wctx) // a change, the timeout or the end: all mean look again
		cancel()
	}
}

// pass does one round of work and returns how long to wait at most before
// the next.
func (a *API) pass(ctx context.Context, ws memdb.WatchSet) time.Duration {
	snap := a.store.Snapshot()
	for _, prefix := range []string{registry.RepositoriesPrefix, registry.ManifestsPrefix, registry.TagsPrefix, state.KeyPrefix(Namespace)} {
		for range snap.Docs(ws, prefix, "") {
			break // the scan registered the watch
		}
	}
	if !a.store.IsLeader() {
		clear(a.evaluated)
		return time.Second
	}
	now := a.now()
	wait := a.interval
	retry := false
	live := map[string]bool{}
	for doc := range snap.Docs(nil, registry.RepositoriesPrefix, "") {
		parts := state.KeyParts(doc.ID) // registry, repo, account, region, name
		if len(parts) != 5 {
			continue
		}
		s, name := registry.Scope{Account: parts[2], Region: parts[3]}, parts[4]
		var repo registry.Repository
		if json.Unmarshal(doc.Value, &repo) != nil {
			continue
		}
		st, err := readSettings(&repo)
		if err != nil {
			continue
		}
		if err := a.completePreview(ctx, snap, s, &repo); err != nil {
			a.log.Warn("lifecycle preview", "repository", name, "account", s.Account, "err", err)
			retry = true
		}
		if st.Lifecycle == "" {
			continue
		}
		live[doc.ID] = true
		// The generation is read before the images: a change between the
		// two reads makes the next pass evaluate again, never miss it.
		fp := fingerprint{created: doc.CreateIndex, generation: a.reg.Generation(s, name), policy: st.Lifecycle}
		var imgs []*registry.Image
		if fp.generation == 0 {
			if imgs, err = a.reg.Images(s, name); err != nil {
				continue // deleted meanwhile
			}
			fp.images = len(imgs)
			for _, img := range imgs {
				fp.tags += len(img.Tags)
				fp.maxIndex = max(fp.maxIndex, img.Index)
			}
		}
		last, ok := a.evaluated[doc.ID]
		if ok && last.fingerprint == fp && now.Sub(last.at) < a.interval {
			wait = min(wait, a.interval-now.Sub(last.at))
			continue
		}
		if imgs == nil {
			if imgs, err = a.reg.Images(s, name); err != nil {
				continue // deleted meanwhile
			}
		}
		if err := a.enforce(ctx, s, name, st.Lifecycle, imgs, now); err != nil {
			a.log.Warn("lifecycle policy", "repository", name, "account", s.Account, "region", s.Region, "err", err)
			retry = true
			continue
		}
		a.evaluated[doc.ID] = evaluation{fingerprint: fp, at: now}
	}
	for k := range a.evaluated {
		if !live[k] {
			delete(a.evaluated, k)
		}
	}
	if retry {
		wait = min(wait, 100*time.Millisecond)
	}
	return max(wait, time.Millisecond)
}

// enforce expires what the policy selects among imgs and records the
// evaluation time.
func (a *API) enforce(ctx context.Context, s registry.Scope, name, text string, imgs []*registry.Image, now time.Time) error {
	p, err := ParsePolicy(text)
	if err != nil {
		return nil // stored policies were validated; one that no longer parses expires nothing
	}
	if exp := p.Evaluate(lifecycleUnits(imgs), now); len(exp) > 0 {
		del := withDependents(imgs, exp)
		if err := a.reg.DeleteImages(ctx, s, name, del); err != nil {
			return err
		}
		a.log.Info("lifecycle policy expired images", "repository", name, "account", s.Account, "region", s.Region, "images", len(del))
	}
	v, _ := json.Marshal(evaluatedDoc{At: now.UTC()})
	_, err = state.Do[[]*state.Doc](ctx, a.store, &state.WriteDocs{Ops: []state.DocOp{{Key: evaluatedKey(s, name), Value: v}}})
	return err
}

// completePreview evaluates a repository's preview that is in progress.
func (a *API) completePreview(ctx context.Context, snap *state.Snapshot, s registry.Scope, repo *registry.Repository) error {
	d := snap.Doc(previewKey(s, repo.Name))
	if d == nil {
		return nil
	}
	var p previewDoc
	if json.Unmarshal(d.Value, &p) != nil || p.Status != previewInProgress {
		return nil
	}
	if pol, err := ParsePolicy(p.PolicyText); err != nil {
		p.Status = previewFailed
	} else {
		imgs, err := a.reg.Images(s, repo.Name)
		if err != nil {
			return nil // the repository went away; so did the preview
		}
		p.Results = []previewResult{}
		for _, e := range pol.Evaluate(lifecycleUnits(imgs), a.now()) {
			p.Results = append(p.Results, previewResult{Digest: e.Digest, Tags: e.Tags, PushedAt: e.PushedAt, Rule: e.Rule})
		}
		p.Status = previewComplete
	}
	v, _ := json.Marshal(p)
	_, err := state.Do[[]*state.Doc](ctx, a.store, &state.WriteDocs{Ops: []state.DocOp{{Key: d.ID, Value: v, IfIndex: d.ModifyIndex}}})
	if isConflict(err) {
		return nil // started again meanwhile: the next pass evaluates the new one
	}
	return err
}

func isConflict(err error) bool {
	e, ok := errdefs.As(err)
	return ok && errors.Is(e, errdefs.ErrConflict)
}

// retryConflicts runs an optimistic read-check-write until no concurrent
// writer invalidates its preconditions, for a bounded time.
func retryConflicts[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	deadline := time.Now().Add(5 * time.Second)
	for attempt := 1; ; attempt++ {
		v, err := fn()
		if !isConflict(err) || time.Now().After(deadline) {
			return v, err
		}
		t := time.NewTimer(time.Duration(attempt) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, ctx.Err()
		case <-t.C:
		}
	}
}
