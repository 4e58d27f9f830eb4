package ssm

import (
	"context"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/state"
)

var errInvalidResourceID = &awsapi.Error{Code: "InvalidResourceId", Message: "The resource ID isn't valid. Verify that you entered the correct ID and try again."}

type AddTagsToResourceInput struct {
	ResourceId   *string `json:"ResourceId"`
	ResourceType string  `json:"ResourceType"`
	Tags         []Tag   `json:"Tags"`
}

type AddTagsToResourceOutput struct{}

// AddTagsToResource adds tags to a parameter, replacing the values of keys
// it already has.
func (a *API) AddTagsToResource(ctx context.Context, in *AddTagsToResourceInput) (*AddTagsToResourceOutput, error) {
	var val validator
	checkResource(&val, in.ResourceId, in.ResourceType)
	if in.Tags == nil {
		val.add("tags", "null", false, "Member must not be null")
	}
	val.tags("tags", in.Tags)
	if err := val.err(); err != nil {
		return nil, err
	}
	return retryConflicts(ctx, func() (*AddTagsToResourceOutput, error) {
		return &AddTagsToResourceOutput{}, a.updateTags(ctx, in.ResourceType, *in.ResourceId, func(m map[string]string) *awsapi.Error {
			for _, t := range in.Tags {
				m[*t.Key] = *t.Value
			}
			if len(m) > maxTags {
				return awsapi.Errorf("TooManyTagsError", "A parameter can have at most %d tags.", maxTags)
			}
			return nil
		})
	})
}

type RemoveTagsFromResourceInput struct {
	ResourceId   *string  `json:"ResourceId"`
	ResourceType string   `json:"ResourceType"`
	TagKeys      []string `json:"TagKeys"`
}

type RemoveTagsFromResourceOutput struct{}

// RemoveTagsFromResource removes tags from a parameter; keys it does not
// have are ignored.
func (a *API) RemoveTagsFromResource(ctx context.Context, in *RemoveTagsFromResourceInput) (*RemoveTagsFromResourceOutput, error) {
	var val validator
	checkResource(&val, in.ResourceId, in.ResourceType)
	if in.TagKeys == nil {
		val.add("tagKeys", "null", false, "Member must not be null")
	}
	for _, k := range in.TagKeys {
		val.length("tagKeys.member", k, 1, 128, false)
	}
	if err := val.err(); err != nil {
		return nil, err
	}
	return retryConflicts(ctx, func() (*RemoveTagsFromResourceOutput, error) {
		return &RemoveTagsFromResourceOutput{}, a.updateTags(ctx, in.ResourceType, *in.ResourceId, func(m map[string]string) *awsapi.Error {
			for _, k := range in.TagKeys {
				delete(m, k)
			}
			return nil
		})
	})
}

type ListTagsForResourceInput struct {
	ResourceId   *string `json:"ResourceId"`
	ResourceType string  `json:"ResourceType"`
}

type ListTagsForResourceOutput struct {
	TagList []Tag `json:"TagList"`
}

// ListTagsForResource lists a parameter's tags by key.
func (a *API) ListTagsForResource(ctx context.Context, in *ListTagsForResourceInput) (*ListTagsForResourceOutput, error) {
	var val validator
	checkResource(&val, in.ResourceId, in.ResourceType)
	if err := val.err(); err != nil {
		return nil, err
	}
	h, err := a.taggedHead(ctx, a.store.Snapshot(), in.ResourceType, *in.ResourceId)
	if err != nil {
		return nil, err
	}
	out := &ListTagsForResourceOutput{TagList: make([]Tag, 0, len(h.Tags))}
	for _, t := range h.Tags {
		out.TagList = append(out.TagList, Tag{Key: &t.Key, Value: &t.Value})
	}
	return out, nil
}

func checkResource(val *validator, id *string, typ string) {
	if id == nil {
		val.add("resourceId", "null", false, "Member must not be null")
	}
	if typ == "" {
		val.add("resourceType", "null", false, "Member must not be null")
	}
	val.enum("resourceType", typ, resourceTypes...)
}

// taggedHead finds the parameter a tagging operation names: by name, or by
// ARN. Berth has no resources of the other taggable types.
func (a *API) taggedHead(ctx context.Context, snap *state.Snapshot, typ, id string) (*head, error) {
	if typ != "Parameter" {
		return nil, errInvalidResourceID
	}
	account, region := tenancy(ctx)
	id = strings.TrimSpace(id)
	name := canonical(id)
	if strings.HasPrefix(id, "arn:") {
		r, aerr := parseRef(id, account, region)
		if aerr != nil || r.foreign || r.selector() != "" {
			return nil, errInvalidResourceID
		}
		name = r.name
	}
	h, err := loadHead(snap, account, region, name)
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errInvalidResourceID
	}
	return h, nil
}

// updateTags applies change to a parameter's tags and writes them back.
func (a *API) updateTags(ctx context.Context, typ, id string, change func(map[string]string) *awsapi.Error) error {
	h, err := a.taggedHead(ctx, a.store.Snapshot(), typ, id)
	if err != nil {
		return err
	}
	m := make(map[string]string, len(h.Tags))
	for _, t := range h.Tags {
		m[t.Key] = t.Value
	}
	if aerr := change(m); aerr != nil {
		return aerr
	}
	h.Tags = tagMapDocs(m)
	return a.writeDocs(ctx, []state.DocOp{{Key: h.doc.ID, Value: mustJSON(h.paramDoc), IfIndex: h.doc.ModifyIndex}})
}
