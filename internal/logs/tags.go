package logs

import (
	"context"
	"maps"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/logs/store"
)

// resourceGroup resolves a tagging API's resourceArn to a group of the
// caller's: only log groups are taggable here.
func resourceGroup(ctx context.Context, arn *string) (store.GroupKey, error) {
	var v validator
	if v.required("resourceArn", arn != nil) {
		v.length("resourceArn", *arn, 1, 1011)
	}
	if err := v.err(); err != nil {
		return store.GroupKey{}, err
	}
	k, ok := parseGroupARN(*arn, false)
	if !ok {
		// AWS's answer to anything but a log group's logGroupArn, the
		// describe form with its trailing :* included.
		return store.GroupKey{}, &awsapi.Error{Code: "ValidationException", Message: "Invalid resourceArn"}
	}
	c := awsapi.CallerFrom(ctx)
	if k.Account != c.Account || k.Region != c.Region {
		return store.GroupKey{}, errdefs.New(errdefs.ErrNotFound, store.KindGroup, "The specified log group does not exist.")
	}
	return k, nil
}

// addTags merges tags into a group's, within the limit of 50.
func (a *API) addTags(k store.GroupKey, tags map[string]string) error {
	return a.store.UpdateGroup(k, func(g *store.Group) error {
		merged := maps.Clone(g.Tags)
		if merged == nil {
			merged = map[string]string{}
		}
		maps.Copy(merged, tags)
		if len(merged) > maxTags {
			return &awsapi.Error{Code: "TooManyTagsException", Message: "A resource can have no more than 50 tags."}
		}
		g.Tags = merged
		return nil
	})
}

func (a *API) removeTags(k store.GroupKey, keys []string) error {
	return a.store.UpdateGroup(k, func(g *store.Group) error {
		for _, key := range keys {
			delete(g.Tags, key)
		}
		return nil
	})
}

func (a *API) listTags(k store.GroupKey) (map[string]string, error) {
	g, err := a.store.Group(k)
	if err != nil {
		return nil, err
	}
	if g.Tags == nil {
		return map[string]string{}, nil
	}
	return g.Tags, nil
}

type TagResourceInput struct {
	ResourceArn *string           `json:"resourceArn"`
	Tags        map[string]string `json:"tags"`
}

type TagResourceOutput struct{}

// TagResource adds tags to a log group, by ARN.
func (a *API) TagResource(ctx context.Context, in *TagResourceInput) (*TagResourceOutput, error) {
	k, err := resourceGroup(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	var v validator
	if v.required("tags", in.Tags != nil) {
		v.tags("tags", in.Tags)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := a.addTags(k, in.Tags); err != nil {
		return nil, err
	}
	return &TagResourceOutput{}, nil
}

type UntagResourceInput struct {
	ResourceArn *string  `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}

type UntagResourceOutput struct{}

// UntagResource removes tags from a log group, by ARN.
func (a *API) UntagResource(ctx context.Context, in *UntagResourceInput) (*UntagResourceOutput, error) {
	k, err := resourceGroup(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	var v validator
	if v.required("tagKeys", in.TagKeys != nil) {
		v.tagKeys("tagKeys", in.TagKeys, 0)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := a.removeTags(k, in.TagKeys); err != nil {
		return nil, err
	}
	return &UntagResourceOutput{}, nil
}

type ListTagsForResourceInput struct {
	ResourceArn *string `json:"resourceArn"`
}

type ListTagsForResourceOutput struct {
	Tags map[string]string `json:"tags"`
}

// ListTagsForResource returns a log group's tags, by ARN.
func (a *API) ListTagsForResource(ctx context.Context, in *ListTagsForResourceInput) (*ListTagsForResourceOutput, error) {
	k, err := resourceGroup(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	tags, err := a.listTags(k)
	if err != nil {
		return nil, err
	}
	return &ListTagsForResourceOutput{Tags: tags}, nil
}

type TagLogGroupInput struct {
	LogGroupName *string           `json:"logGroupName"`
	Tags         map[string]string `json:"tags"`
}

type TagLogGroupOutput struct{}

// TagLogGroup is the deprecated TagResource, by group name.
func (a *API) TagLogGroup(ctx context.Context, in *TagLogGroupInput) (*TagLogGroupOutput, error) {
	var v validator
	v.groupName("logGroupName", in.LogGroupName, true)
	if v.required("tags", in.Tags != nil) {
		v.tags("tags", in.Tags)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := a.addTags(groupKey(ctx, *in.LogGroupName), in.Tags); err != nil {
		return nil, err
	}
	return &TagLogGroupOutput{}, nil
}

type UntagLogGroupInput struct {
	LogGroupName *string  `json:"logGroupName"`
	Tags         []string `json:"tags"`
}

type UntagLogGroupOutput struct{}

// UntagLogGroup is the deprecated UntagResource, by group name.
func (a *API) UntagLogGroup(ctx context.Context, in *UntagLogGroupInput) (*UntagLogGroupOutput, error) {
	var v validator
	v.groupName("logGroupName", in.LogGroupName, true)
	if v.required("tags", in.Tags != nil) {
		v.tagKeys("tags", in.Tags, 1)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := a.removeTags(groupKey(ctx, *in.LogGroupName), in.Tags); err != nil {
		return nil, err
	}
	return &UntagLogGroupOutput{}, nil
}

type ListTagsLogGroupInput struct {
	LogGroupName *string `json:"logGroupName"`
}

type ListTagsLogGroupOutput struct {
	Tags map[string]string `json:"tags"`
}

// ListTagsLogGroup is the deprecated ListTagsForResource, by group name.
func (a *API) ListTagsLogGroup(ctx context.Context, in *ListTagsLogGroupInput) (*ListTagsLogGroupOutput, error) {
	var v validator
	v.groupName("logGroupName", in.LogGroupName, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	tags, err := a.listTags(groupKey(ctx, *in.LogGroupName))
	if err != nil {
		return nil, err
	}
	return &ListTagsLogGroupOutput{Tags: tags}, nil
}
