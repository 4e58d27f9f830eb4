package ecs

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/state"
)

// Tag is the ECS tag shape.
type Tag struct {
	Key   *string `json:"key,omitempty"`
	Value *string `json:"value,omitempty"`
}

const maxTags = 50

// validateTags checks tags as ECS does and returns them in state form.
func validateTags(tags []Tag) ([]state.Tag, error) {
	if len(tags) > maxTags {
		return nil, invalidParam("The number of tags exceeds the maximum of %d per resource.", maxTags)
	}
	out := make([]state.Tag, 0, len(tags))
	seen := map[string]bool{}
	for _, t := range tags {
		if t.Key == nil || *t.Key == "" {
			return nil, invalidParam("Tag key must not be empty.")
		}
		k, v := *t.Key, ""
		if t.Value != nil {
			v = *t.Value
		}
		if utf8.RuneCountInString(k) > 128 {
			return nil, invalidParam("Tag key %q exceeds the maximum length of 128 characters.", k)
		}
		if utf8.RuneCountInString(v) > 256 {
			return nil, invalidParam("Tag value for key %q exceeds the maximum length of 256 characters.", k)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, invalidParam("Tag keys with the prefix 'aws:' are reserved for AWS use.")
		}
		if seen[k] {
			return nil, invalidParam("Duplicate tag key %q.", k)
		}
		seen[k] = true
		out = append(out, state.Tag{Key: k, Value: v})
	}
	return out, nil
}

// mergeTags adds or replaces tags by key, keeping the order of first use.
func mergeTags(old, add []state.Tag) []state.Tag {
	out := append([]state.Tag(nil), old...)
	for _, t := range add {
		replaced := false
		for i := range out {
			if out[i].Key == t.Key {
				out[i].Value = t.Value
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, t)
		}
	}
	return out
}

func removeTags(old []state.Tag, keys []string) []state.Tag {
	drop := map[string]bool{}
	for _, k := range keys {
		drop[k] = true
	}
	var out []state.Tag
	for _, t := range old {
		if !drop[t.Key] {
			out = append(out, t)
		}
	}
	return out
}

func wireTags(tags []state.Tag) []Tag {
	out := make([]Tag, len(tags))
	for i, t := range tags {
		out[i] = Tag{Key: ptr(t.Key), Value: ptr(t.Value)}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

type TagResourceInput struct {
	ResourceArn *string `json:"resourceArn"`
	Tags        []Tag   `json:"tags"`
}
type TagResourceOutput struct{}

type UntagResourceInput struct {
	ResourceArn *string  `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}
type UntagResourceOutput struct{}

type ListTagsForResourceInput struct {
	ResourceArn *string `json:"resourceArn"`
}
type ListTagsForResourceOutput struct {
	Tags []Tag `json:"tags"`
}

// taggable finds the resource an ARN names and offers to read and rewrite
// its tags.
type taggable struct {
	tags  []state.Tag
	write func(ctx context.Context, tags []state.Tag) error
}

func (a *API) findTaggable(ctx context.Context, arn *string) (*taggable, error) {
	if arn == nil || *arn == "" {
		return nil, invalidParam("resourceArn must be specified.")
	}
	c := awsapi.CallerFrom(ctx)
	parsed, ok := ParseARN(*arn)
	if !ok || parsed.Service != "ecs" {
		return nil, invalidParam("The ARN %q is not a valid ECS resource ARN.", *arn)
	}
	if parsed.Account != c.Account || parsed.Region != c.Region {
		return nil, &awsapi.Error{Code: "ResourceNotFoundException", Message: "The specified resource could not be found."}
	}
	kind, rest, _ := strings.Cut(parsed.Resource, "/")
	snap := a.store.Snapshot()
	switch kind {
	case "cluster":
		cl := snap.Cluster(c.Account, c.Region, rest)
		if cl == nil || cl.Status != state.ClusterActive {
			return nil, &awsapi.Error{Code: "ClusterNotFoundException", Message: "Cluster not found."}
		}
		return &taggable{tags: cl.Tags, write: func(ctx context.Context, tags []state.Tag) error {
			_, err := a.updateCluster(ctx, c, rest, func(n *state.Cluster) error { n.Tags = tags; return nil })
			return err
		}}, nil
	case "task-definition":
		d, err := a.findTaskDefinition(snap, c, *arn, true)
		if err != nil {
			return nil, err
		}
		return &taggable{tags: d.Tags, write: func(ctx context.Context, tags []state.Tag) error {
			_, err := a.updateTaskDefinition(ctx, d.Family, d.Revision, c, func(n *state.TaskDefinition) error { n.Tags = tags; return nil })
			return err
		}}, nil
	case "capacity-provider":
		if isFargateProvider(rest) {
			return nil, invalidParam("The specified capacity provider %s is reserved and cannot be tagged.", rest)
		}
	}
	return nil, &awsapi.Error{Code: "ResourceNotFoundException", Message: "The specified resource could not be found."}
}

// TagResource adds or replaces tags on a resource.
func (a *API) TagResource(ctx context.Context, in *TagResourceInput) (*TagResourceOutput, error) {
	if in.Tags == nil {
		return nil, invalidParam("tags must be specified.")
	}
	add, err := validateTags(in.Tags)
	if err != nil {
		return nil, err
	}
	_, err = retryConflicts(ctx, func() (struct{}, error) {
		t, err := a.findTaggable(ctx, in.ResourceArn)
		if err != nil {
			return struct{}{}, err
		}
		merged := mergeTags(t.tags, add)
		if len(merged) > maxTags {
			return struct{}{}, invalidParam("The number of tags exceeds the maximum of %d per resource.", maxTags)
		}
		return struct{}{}, t.write(ctx, merged)
	})
	if err != nil {
		return nil, err
	}
	return &TagResourceOutput{}, nil
}

// UntagResource removes tags by key; absent keys are ignored.
func (a *API) UntagResource(ctx context.Context, in *UntagResourceInput) (*UntagResourceOutput, error) {
	if in.TagKeys == nil {
		return nil, invalidParam("tagKeys must be specified.")
	}
	_, err := retryConflicts(ctx, func() (struct{}, error) {
		t, err := a.findTaggable(ctx, in.ResourceArn)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, t.write(ctx, removeTags(t.tags, in.TagKeys))
	})
	if err != nil {
		return nil, err
	}
	return &UntagResourceOutput{}, nil
}

// ListTagsForResource returns a resource's tags.
func (a *API) ListTagsForResource(ctx context.Context, in *ListTagsForResourceInput) (*ListTagsForResourceOutput, error) {
	if in.ResourceArn != nil {
		if p, ok := ParseARN(*in.ResourceArn); ok && p.Service == "ecs" {
			if name, found := strings.CutPrefix(p.Resource, "capacity-provider/"); found && isFargateProvider(name) {
				return &ListTagsForResourceOutput{Tags: []Tag{}}, nil
			}
		}
	}
	t, err := a.findTaggable(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return &ListTagsForResourceOutput{Tags: wireTags(t.tags)}, nil
}
