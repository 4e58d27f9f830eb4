package elbv2

import (
	"context"
	"fmt"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
)

// maxTags is how many tags one resource carries at most.
const maxTags = 50

// maxResourceARNs is how many resources one tag call names at most.
const maxResourceARNs = 20

// tagsIn checks the tags of a request and returns them as a map (nil for
// none).
func tagsIn(tags []tag) (map[string]string, *awsapi.Error) {
	if len(tags) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for i, t := range tags {
		if t.Key == nil {
			return nil, required(fmt.Sprintf("tags.%d.member.key", i+1))
		}
		k, v := *t.Key, deref(t.Value)
		if k == "" || len(k) > 128 {
			return nil, validationError("1 validation error detected: Value '%s' at 'tags.%d.member.key' failed to satisfy constraint: Member must have length between 1 and 128", clip(k, 64), i+1)
		}
		if len(v) > 256 {
			return nil, validationError("1 validation error detected: Value at 'tags.%d.member.value' failed to satisfy constraint: Member must have length less than or equal to 256", i+1)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, validationError("Tag keys starting with 'aws:' are reserved for internal use")
		}
		if _, dup := m[k]; dup {
			return nil, apiError("DuplicateTagKeys", "Tag key was specified more than once: %s", k)
		}
		m[k] = v
	}
	if len(m) > maxTags {
		return nil, tooManyTags()
	}
	return m, nil
}

func tooManyTags() *awsapi.Error {
	return apiError("TooManyTags", "The quota for the number of tags that can be assigned to a resource has been reached (%d)", maxTags)
}

// taggable is a resource that tags apply to, read for one tag call.
type taggable struct {
	arn string
	key string
	get func() map[string]string
	set func(map[string]string)
	doc func() any // the document to write back
	idx uint64
}

// resolveTaggable finds the resource arn names in the view. Several
// resources of one call can live in one document (a listener and its
// rules): docs shares the documents already read so that each is written
// once, with all its changes.
func (v *view) resolveTaggable(arn string, docs map[string]any) (*taggable, *awsapi.Error) {
	r, ok := parseARN(arn)
	if !ok {
		return nil, validationError("'%s' is not a valid resource ARN", clip(arn, 256))
	}
	mine := r.Account == v.account && r.Region == v.region
	switch r.Kind {
	case kindLB:
		var l *lbDoc
		if mine {
			l = v.lbByARN(arn)
		}
		if l == nil {
			return nil, lbNotFound()
		}
		if d, ok := docs[l.key()]; ok {
			l = d.(*lbDoc)
		}
		docs[l.key()] = l
		return &taggable{arn: arn, key: l.key(), idx: l.index, doc: func() any { return l },
			get: func() map[string]string { return l.Tags }, set: func(m map[string]string) { l.Tags = m }}, nil
	case kindTG:
		var t *tgDoc
		if mine {
			t = v.tgByARN(arn)
		}
		if t == nil {
			return nil, tgNotFound()
		}
		if d, ok := docs[t.key()]; ok {
			t = d.(*tgDoc)
		}
		docs[t.key()] = t
		return &taggable{arn: arn, key: t.key(), idx: t.index, doc: func() any { return t },
			get: func() map[string]string { return t.Tags }, set: func(m map[string]string) { t.Tags = m }}, nil
	case kindListener:
		var l *listenerDoc
		if mine {
			l = v.listenerOf(r)
		}
		if l == nil {
			return nil, listenerNotFound()
		}
		if d, ok := docs[l.key()]; ok {
			l = d.(*listenerDoc)
		}
		docs[l.key()] = l
		return &taggable{arn: arn, key: l.key(), idx: l.index, doc: func() any { return l },
			get: func() map[string]string { return l.Tags }, set: func(m map[string]string) { l.Tags = m }}, nil
	case kindRule:
		var l *listenerDoc
		i := 0
		if mine {
			l, i = v.ruleByARN(arn)
		}
		if l == nil {
			return nil, ruleNotFound()
		}
		if d, ok := docs[l.key()]; ok {
			l = d.(*listenerDoc)
		}
		docs[l.key()] = l
		t := &taggable{arn: arn, key: l.key(), idx: l.index, doc: func() any { return l }}
		if i < 0 {
			t.get = func() map[string]string { return l.DefaultRuleTags }
			t.set = func(m map[string]string) { l.DefaultRuleTags = m }
		} else {
			id := r.RuleID
			t.get = func() map[string]string { return l.Rules[l.rule(id)].Tags }
			t.set = func(m map[string]string) { l.Rules[l.rule(id)].Tags = m }
		}
		return t, nil
	}
	return nil, validationError("'%s' is not a valid resource ARN", clip(arn, 256))
}

type addTagsInput struct {
	ResourceARNs []string `query:"ResourceArns"`
	Tags         []tag    `query:"Tags"`
}

type addTagsOutput struct{}

func (a *API) addTags(ctx context.Context, in *addTagsInput) (*addTagsOutput, error) {
	if in.ResourceARNs == nil {
		return nil, required("resourceArns")
	}
	if in.Tags == nil {
		return nil, required("tags")
	}
	if len(in.ResourceARNs) > maxResourceARNs {
		return nil, validationError("1 validation error detected: Value at 'resourceArns' failed to satisfy constraint: Member must have length less than or equal to %d", maxResourceARNs)
	}
	add, err := tagsIn(in.Tags)
	if err != nil {
		return nil, err
	}
	return retagAll(ctx, a, in.ResourceARNs, func(m map[string]string) (map[string]string, *awsapi.Error) {
		if m == nil {
			m = map[string]string{}
		}
		for k, v := range add {
			m[k] = v
		}
		if len(m) > maxTags {
			return nil, tooManyTags()
		}
		return m, nil
	}, &addTagsOutput{})
}

type removeTagsInput struct {
	ResourceARNs []string `query:"ResourceArns"`
	TagKeys      []string `query:"TagKeys"`
}

type removeTagsOutput struct{}

func (a *API) removeTags(ctx context.Context, in *removeTagsInput) (*removeTagsOutput, error) {
	if in.ResourceARNs == nil {
		return nil, required("resourceArns")
	}
	if in.TagKeys == nil {
		return nil, required("tagKeys")
	}
	if len(in.ResourceARNs) > maxResourceARNs {
		return nil, validationError("1 validation error detected: Value at 'resourceArns' failed to satisfy constraint: Member must have length less than or equal to %d", maxResourceARNs)
	}
	return retagAll(ctx, a, in.ResourceARNs, func(m map[string]string) (map[string]string, *awsapi.Error) {
		for _, k := range in.TagKeys {
			delete(m, k)
		}
		if len(m) == 0 {
			return nil, nil
		}
		return m, nil
	}, &removeTagsOutput{})
}

// retagAll applies change to the tags of every resource in one atomic
// write.
func retagAll[T any](ctx context.Context, a *API, arns []string, change func(map[string]string) (map[string]string, *awsapi.Error), out *T) (*T, error) {
	c := awsapi.CallerFrom(ctx)
	_, err := retryConflicts(ctx, func() (struct{}, error) {
		v := a.view(c.Account, c.Region)
		docs := map[string]any{}
		var res []*taggable
		for _, arn := range arns {
			t, err := v.resolveTaggable(arn, docs)
			if err != nil {
				return struct{}{}, err
			}
			res = append(res, t)
		}
		written := map[string]bool{}
		var o ops
		for _, t := range res {
			m, err := change(cloneMap(t.get()))
			if err != nil {
				return struct{}{}, err
			}
			t.set(m)
		}
		for _, t := range res {
			if written[t.key] {
				continue
			}
			written[t.key] = true
			o.put(t.key, t.idx, t.doc())
		}
		return struct{}{}, a.commit(ctx, o)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type describeTagsInput struct {
	ResourceARNs []string `query:"ResourceArns"`
}

type describeTagsOutput struct {
	TagDescriptions []tagDescription `query:"TagDescriptions"`
}

func (a *API) describeTags(ctx context.Context, in *describeTagsInput) (*describeTagsOutput, error) {
	if in.ResourceARNs == nil {
		return nil, required("resourceArns")
	}
	if len(in.ResourceARNs) > maxResourceARNs {
		return nil, validationError("1 validation error detected: Value at 'resourceArns' failed to satisfy constraint: Member must have length less than or equal to %d", maxResourceARNs)
	}
	c := awsapi.CallerFrom(ctx)
	v := a.view(c.Account, c.Region)
	out := &describeTagsOutput{TagDescriptions: []tagDescription{}}
	for _, arn := range in.ResourceARNs {
		t, err := v.resolveTaggable(arn, map[string]any{})
		if err != nil {
			return nil, err
		}
		out.TagDescriptions = append(out.TagDescriptions, tagDescription{ResourceARN: arn, Tags: tagsOut(t.get())})
	}
	return out, nil
}
