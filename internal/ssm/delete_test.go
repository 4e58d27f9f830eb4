package ssm_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func TestDelete(t *testing.T) {
	e := start(t)
	e.put("/d/one", "1", types.ParameterTypeSecureString)
	e.put("/d/one", "2", types.ParameterTypeSecureString, overwrite)
	e.put("/d/two", "2", types.ParameterTypeString)
	e.put("three", "3", types.ParameterTypeString)
	e.put("/d/keep", "k", types.ParameterTypeString)

	if _, err := e.client.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/d/one")}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/d/one")})
	wantError(t, "GetParameter after DeleteParameter", err, "ParameterNotFound", "")
	for key := range e.docs() {
		if strings.Contains(key, "/d/one") {
			t.Errorf("document %q left after DeleteParameter", key)
		}
	}
	_, err = e.client.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/d/one")})
	wantError(t, "DeleteParameter(deleted)", err, "ParameterNotFound", "")
	if message(err) != "" {
		t.Errorf("DeleteParameter(missing) message = %q; want none, as AWS", message(err))
	}

	// A new parameter of the same name starts again at version 1.
	if out := e.put("/d/one", "again", types.ParameterTypeString); out.Version != 1 {
		t.Errorf("PutParameter after delete = version %d; want 1", out.Version)
	}

	out, err := e.client.DeleteParameters(ctx, &ssm.DeleteParametersInput{Names: []string{"/d/two", "/missing", "/three", "/d/two"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.DeletedParameters, []string{"/d/two", "/three", "/d/two"}) || !slices.Equal(out.InvalidParameters, []string{"/missing"}) {
		t.Errorf("DeleteParameters = deleted %v, invalid %v; want [/d/two /three /d/two], [/missing]", out.DeletedParameters, out.InvalidParameters)
	}
	left := metaNames(describeAll(t, e, &ssm.DescribeParametersInput{}))
	if want := []string{"/d/keep", "/d/one"}; !slices.Equal(left, want) {
		t.Errorf("parameters after DeleteParameters = %v; want %v", left, want)
	}

	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = fmt.Sprintf("p%d", i)
	}
	_, err = e.client.DeleteParameters(ctx, &ssm.DeleteParametersInput{Names: eleven})
	wantError(t, "DeleteParameters(11)", err, "ValidationException", "Member must have length less than or equal to 10")
	_, err = e.client.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("")})
	wantError(t, "DeleteParameter(empty)", err, "ValidationException", "")
}

func TestTags(t *testing.T) {
	e := start(t)
	e.put("/t/p", "v", types.ParameterTypeString, func(in *ssm.PutParameterInput) { in.Tags = tagList("b", "2", "a", "1") })
	list := func(id string) []string {
		t.Helper()
		out, err := e.client.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceId: aws.String(id), ResourceType: types.ResourceTypeForTaggingParameter})
		if err != nil {
			t.Fatalf("ListTagsForResource(%s) = %v", id, err)
		}
		var kv []string
		for _, tg := range out.TagList {
			kv = append(kv, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
		}
		return kv
	}
	if got, want := list("/t/p"), []string{"a=1", "b=2"}; !slices.Equal(got, want) {
		t.Errorf("ListTagsForResource = %v; want %v", got, want)
	}
	if _, err := e.client.AddTagsToResource(ctx, &ssm.AddTagsToResourceInput{ResourceId: aws.String("/t/p"), ResourceType: types.ResourceTypeForTaggingParameter, Tags: tagList("b", "two", "c", "")}); err != nil {
		t.Fatal(err)
	}
	if got, want := list("arn:aws:ssm:us-east-1:000000000000:parameter/t/p"), []string{"a=1", "b=two", "c="}; !slices.Equal(got, want) {
		t.Errorf("ListTagsForResource after AddTags = %v; want %v", got, want)
	}
	if _, err := e.client.RemoveTagsFromResource(ctx, &ssm.RemoveTagsFromResourceInput{ResourceId: aws.String("/t/p"), ResourceType: types.ResourceTypeForTaggingParameter, TagKeys: []string{"a", "zzz"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := list("/t/p"), []string{"b=two", "c="}; !slices.Equal(got, want) {
		t.Errorf("ListTagsForResource after RemoveTags = %v; want %v", got, want)
	}
	// Tags survive a new version.
	e.put("/t/p", "v2", "", overwrite)
	if got := list("/t/p"); len(got) != 2 {
		t.Errorf("ListTagsForResource after an overwrite = %v; want the 2 tags kept", got)
	}

	var many []types.Tag
	for i := range 49 {
		many = append(many, tagList(fmt.Sprintf("k%02d", i), "v")...)
	}
	errs := []struct {
		name string
		call func() error
		code string
	}{
		{"missing parameter", func() error {
			_, err := e.client.AddTagsToResource(ctx, &ssm.AddTagsToResourceInput{ResourceId: aws.String("/t/none"), ResourceType: types.ResourceTypeForTaggingParameter, Tags: tagList("a", "b")})
			return err
		}, "InvalidResourceId"},
		{"other resource type", func() error {
			_, err := e.client.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceId: aws.String("/t/p"), ResourceType: types.ResourceTypeForTaggingDocument})
			return err
		}, "InvalidResourceId"},
		{"bad resource type", func() error {
			_, err := e.client.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceId: aws.String("/t/p"), ResourceType: "Bucket"})
			return err
		}, "ValidationException"},
		{"too many", func() error {
			_, err := e.client.AddTagsToResource(ctx, &ssm.AddTagsToResourceInput{ResourceId: aws.String("/t/p"), ResourceType: types.ResourceTypeForTaggingParameter, Tags: many})
			return err
		}, "TooManyTagsError"},
		{"bad key", func() error {
			_, err := e.client.AddTagsToResource(ctx, &ssm.AddTagsToResourceInput{ResourceId: aws.String("/t/p"), ResourceType: types.ResourceTypeForTaggingParameter, Tags: tagList("bad*key", "v")})
			return err
		}, "ValidationException"},
		{"remove from missing", func() error {
			_, err := e.client.RemoveTagsFromResource(ctx, &ssm.RemoveTagsFromResourceInput{ResourceId: aws.String("/t/none"), ResourceType: types.ResourceTypeForTaggingParameter, TagKeys: []string{"a"}})
			return err
		}, "InvalidResourceId"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) { wantError(t, tt.name, tt.call(), tt.code, "") })
	}
	if got := list("/t/p"); len(got) != 2 {
		t.Errorf("ListTagsForResource after failed calls = %v; want the 2 tags unchanged", got)
	}
}
