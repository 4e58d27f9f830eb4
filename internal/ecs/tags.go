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

// validateTags checks tags as ECS does and returns them in state form. The
// messages are those RegisterTaskDefinition gives for its tags (package
// taskdef), so that every ECS call words a tag problem the same way.
func validateTags(tags []Tag) ([]state.Tag, error) {
	if len(tags) > maxTags {
		return nil, errTooManyTags()
	}
	out := make([]state.Tag, 0, len(tags))
	seen := map[string]bool{}
	for _, t := range tags {
		k, v := "", ""
		if t.Key != nil {
			k = *t.Key
		}
		if t.Value != nil {
			v = *t.Value
		}
		switch {
		case k == "" || utf8.RuneCountInString(k) > 128:
			return nil, invalidParam("Tag keys must be between 1 and 128 characters.")
		case utf8.RuneCountInString(v) > 256:
			return nil, invalidParam("Tag values must be at most 256 characters.")
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return nil, invalidParam("Tag keys cannot start with the reserved prefix 'aws:'.")
		case seen[k]:
			return nil, invalidParam("Tag keys must be unique.")
		}
		seen[k] = true
		out = append(out, state.Tag{Key: k, Value: v})
	}
	return out, nil
}

func errTooManyTags() error {
	return invalidParam("Too many tags. A resource can have at most %d tags.", maxTags)
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

// taggable is a resource found by its ARN: its tags as read, and a way to
// rewrite them that applies a change to the latest stored tags (so that
// concurrent tag calls do not lose each other's changes). update is nil for
// a resource whose tags cannot change.
type taggable struct {
	tags   []state.Tag
	update func(ctx context.Context, change func(old []state.Tag) ([]state.Tag, error)) error
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
	if !isECSARNOf(parsed, c.Account, c.Region) {
		return nil, &awsapi.Error{Code: "ResourceNotFoundException", Message: "The specified resource could not be found."}
	}
	kind, rest, _ := strings.Cut(parsed.Resource, "/")
	snap := a.store.Snapshot()
	switch kind {
	case "cluster":
		cl := snap.Cluster(c.Account, c.Region, rest)
		if cl == nil {
			return nil, &awsapi.Error{Code: "ClusterNotFoundException", Message: "Cluster not found."}
		}
		if cl.Status != state.ClusterActive {
			return nil, invalidParam("The specified cluster is inactive. Specify an active cluster and try again.")
		}
		return &taggable{tags: cl.Tags, update: func(ctx context.Context, change func([]state.Tag) ([]state.Tag, error)) error {
			_, err := a.updateCluster(ctx, c, rest, func(n *state.Cluster) error {
				tags, err := change(n.Tags)
				n.Tags = tags
				return err
			})
			return err
		}}, nil
	case "task-definition":
		d, err := a.findTaskDefinition(snap, c, *arn, true)
		if err != nil {
			return nil, err
		}
		return &taggable{tags: d.Tags, update: func(ctx context.Context, change func([]state.Tag) ([]state.Tag, error)) error {
			_, err := a.updateTaskDefinition(ctx, d.Family, d.Revision, c, func(n *state.TaskDefinition) error {
				tags, err := change(n.Tags)
				n.Tags = tags
				return err
			})
			return err
		}}, nil
	case "service":
		// Only the long ARN format names the cluster of the service; ECS
		// refuses the old short one for tagging.
		clName, name, ok := strings.Cut(rest, "/")
		if !ok {
			return nil, invalidParam("Long arn format must be used for tagging operations.")
		}
		if cl := snap.Cluster(c.Account, c.Region, clName); cl == nil || cl.Status != state.ClusterActive {
			return nil, &awsapi.Error{Code: "ClusterNotFoundException", Message: "Cluster not found."}
		}
		s := findService(snap, c, clName, name)
		if s == nil || s.Status == state.ServiceInactive {
			break
		}
		return &taggable{tags: s.Tags, update: func(ctx context.Context, change func([]state.Tag) ([]state.Tag, error)) error {
			_, err := a.updateService(ctx, c, &clName, name, func(_ *state.Snapshot, old, n *state.Service) (bool, error) {
				if old.Status == state.ServiceInactive {
					return false, &awsapi.Error{Code: "ResourceNotFoundException", Message: "The specified resource could not be found."}
				}
				tags, err := change(n.Tags)
				n.Tags = tags
				return err == nil, err
			})
			return err
		}}, nil
	case "task", "container-instance":
		clName, id, ok := strings.Cut(rest, "/")
		if !ok {
			return nil, invalidParam("Long arn format must be used for tagging operations.")
		}
		if cl := snap.Cluster(c.Account, c.Region, clName); cl == nil || cl.Status != state.ClusterActive {
			return nil, &awsapi.Error{Code: "ClusterNotFoundException", Message: "Cluster not found."}
		}
		if kind == "task" {
			t := findTask(snap, c, clName, id)
			if t == nil {
				break
			}
			return &taggable{tags: t.Tags, update: func(ctx context.Context, change func([]state.Tag) ([]state.Tag, error)) error {
				_, err := retryConflicts(ctx, func() (*state.Task, error) {
					t := findTask(a.store.Snapshot(), c, clName, id)
					if t == nil {
						return nil, &awsapi.Error{Code: "ResourceNotFoundException", Message: "The specified resource could not be found."}
					}
					tags, err := change(t.Tags)
					if err != nil {
						return nil, err
					}
					return state.Do[*state.Task](ctx, a.store, &state.TagTask{TaskKey: t.ID, Tags: tags, ModifyIndex: t.ModifyIndex})
				})
				return err
			}}, nil
		}
		i := findInstance(snap, c, clName, id)
		if i == nil || i.Status == state.InstanceInactive {
			break
		}
		return &taggable{tags: i.Tags, update: func(ctx context.Context, change func([]state.Tag) ([]state.Tag, error)) error {
			_, err := a.updateInstance(ctx, c, clName, id, func(n *state.ContainerInstance, _ state.Usage) error {
				tags, err := change(n.Tags)
				n.Tags = tags
				return err
			})
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
	if in.ResourceArn == nil || *in.ResourceArn == "" {
		return nil, invalidParam("resourceArn must be specified.")
	}
	if in.Tags == nil {
		return nil, invalidParam("tags must be specified.")
	}
	add, err := validateTags(in.Tags)
	if err != nil {
		return nil, err
	}
	t, err := a.findTaggable(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	err = t.update(ctx, func(old []state.Tag) ([]state.Tag, error) {
		merged := mergeTags(old, add)
		if len(merged) > maxTags {
			return nil, errTooManyTags()
		}
		return merged, nil
	})
	if err != nil {
		return nil, err
	}
	return &TagResourceOutput{}, nil
}

// UntagResource removes tags by key; absent keys are ignored.
func (a *API) UntagResource(ctx context.Context, in *UntagResourceInput) (*UntagResourceOutput, error) {
	if in.ResourceArn == nil || *in.ResourceArn == "" {
		return nil, invalidParam("resourceArn must be specified.")
	}
	if in.TagKeys == nil {
		return nil, invalidParam("tagKeys must be specified.")
	}
	t, err := a.findTaggable(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	err = t.update(ctx, func(old []state.Tag) ([]state.Tag, error) {
		return removeTags(old, in.TagKeys), nil
	})
	if err != nil {
		return nil, err
	}
	return &UntagResourceOutput{}, nil
}

// ListTagsForResource returns a resource's tags.
func (a *API) ListTagsForResource(ctx context.Context, in *ListTagsForResourceInput) (*ListTagsForResourceOutput, error) {
	if in.ResourceArn != nil {
		c := awsapi.CallerFrom(ctx)
		if p, ok := ParseARN(*in.ResourceArn); ok && isECSARNOf(p, c.Account, c.Region) {
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

// includeTags checks an include list that may only name TAGS, and reports
// whether it does.
func includeTags(include []string) (bool, error) {
	for _, inc := range include {
		if inc != "TAGS" {
			return false, invalidParam("Invalid include value %q. Valid values: TAGS.", inc)
		}
	}
	return len(include) > 0, nil
}
