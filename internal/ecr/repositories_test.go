package ecr_test

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/berthhq/berth/internal/awsapitest"
)

const nameRule = "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''"

func repoNames(t *testing.T, c *ecr.Client) []string {
	t.Helper()
	out, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range out.Repositories {
		names = append(names, aws.ToString(r.RepositoryName))
	}
	return names
}

func TestCreateRepository(t *testing.T) {
	e := newEnv(t)
	before := e.clock.Now()
	out, err := e.c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("team/web")})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Repository
	want := map[string]string{
		"arn":        "arn:aws:ecr:us-east-1:000000000000:repository/team/web",
		"uri":        host + "/team/web",
		"registry":   account,
		"mutability": "MUTABLE",
		"encryption": "AES256",
	}
	got := map[string]string{
		"arn": aws.ToString(r.RepositoryArn), "uri": aws.ToString(r.RepositoryUri), "registry": aws.ToString(r.RegistryId),
		"mutability": string(r.ImageTagMutability), "encryption": string(r.EncryptionConfiguration.EncryptionType),
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("CreateRepository(team/web) %s = %q; want %q", k, got[k], w)
		}
	}
	if r.ImageScanningConfiguration == nil || r.ImageScanningConfiguration.ScanOnPush {
		t.Errorf("CreateRepository scanOnPush = %+v; want false", r.ImageScanningConfiguration)
	}
	if r.CreatedAt == nil || r.CreatedAt.Before(before.Truncate(time.Second)) {
		t.Errorf("CreateRepository createdAt = %v; want about %v", r.CreatedAt, before)
	}

	out, err = e.c.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:     aws.String("locked"),
		ImageTagMutability: types.ImageTagMutabilityImmutableWithExclusion,
		ImageTagMutabilityExclusionFilters: []types.ImageTagMutabilityExclusionFilter{
			{FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String("dev-*")}},
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true},
		EncryptionConfiguration:    &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms},
		Tags:                       []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := e.c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"locked"}})
	if err != nil {
		t.Fatal(err)
	}
	d := desc.Repositories[0]
	if d.ImageTagMutability != types.ImageTagMutabilityImmutableWithExclusion || len(d.ImageTagMutabilityExclusionFilters) != 1 ||
		aws.ToString(d.ImageTagMutabilityExclusionFilters[0].Filter) != "dev-*" || !d.ImageScanningConfiguration.ScanOnPush ||
		d.EncryptionConfiguration.EncryptionType != types.EncryptionTypeKms || aws.ToString(d.EncryptionConfiguration.KmsKey) == "" {
		t.Errorf("DescribeRepositories(locked) = %+v; want the settings it was created with", d)
	}
	tags, err := e.c.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: out.Repository.RepositoryArn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" {
		t.Errorf("ListTagsForResource(locked) = %+v, %v; want team=a", tags, err)
	}

	_, err = e.c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("locked")})
	wantError(t, "CreateRepository(existing)", err, "RepositoryAlreadyExistsException",
		"The repository with name 'locked' already exists in the registry with id '000000000000'")

	for _, tc := range []struct {
		name string
		in   *ecr.CreateRepositoryInput
		code string
		msg  string
	}{
		{"upper case", &ecr.CreateRepositoryInput{RepositoryName: aws.String("Web")}, "InvalidParameterException", nameRule},
		{"dot dot", &ecr.CreateRepositoryInput{RepositoryName: aws.String("a/../b")}, "InvalidParameterException", nameRule},
		{"leading slash", &ecr.CreateRepositoryInput{RepositoryName: aws.String("/ab")}, "InvalidParameterException", nameRule},
		{"double underscore", &ecr.CreateRepositoryInput{RepositoryName: aws.String("a__b")}, "InvalidParameterException", nameRule},
		{"one character", &ecr.CreateRepositoryInput{RepositoryName: aws.String("a")}, "InvalidParameterException",
			"Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must have length greater than or equal to 2'"},
		{"too long", &ecr.CreateRepositoryInput{RepositoryName: aws.String(strings.Repeat("a", 257))}, "InvalidParameterException",
			"Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must have length less than or equal to 256'"},
		{"bad mutability", &ecr.CreateRepositoryInput{RepositoryName: aws.String("ok"), ImageTagMutability: "SOMETIMES"}, "InvalidParameterException",
			"Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]'"},
		{"exclusion without filters", &ecr.CreateRepositoryInput{RepositoryName: aws.String("ok"), ImageTagMutability: types.ImageTagMutabilityMutableWithExclusion}, "InvalidParameterException", ""},
		{"filters without exclusion", &ecr.CreateRepositoryInput{RepositoryName: aws.String("ok"), ImageTagMutability: types.ImageTagMutabilityImmutable,
			ImageTagMutabilityExclusionFilters: []types.ImageTagMutabilityExclusionFilter{{FilterType: "WILDCARD", Filter: aws.String("x")}}}, "InvalidParameterException", ""},
		{"bad filter", &ecr.CreateRepositoryInput{RepositoryName: aws.String("ok"), ImageTagMutability: types.ImageTagMutabilityImmutableWithExclusion,
			ImageTagMutabilityExclusionFilters: []types.ImageTagMutabilityExclusionFilter{{FilterType: "WILDCARD", Filter: aws.String("a b")}}}, "InvalidParameterException", ""},
		{"too many tags", &ecr.CreateRepositoryInput{RepositoryName: aws.String("ok"), Tags: manyTags(51)}, "TooManyTagsException", ""},
		{"bad encryption", &ecr.CreateRepositoryInput{RepositoryName: aws.String("ok"), EncryptionConfiguration: &types.EncryptionConfiguration{EncryptionType: "ROT13"}}, "InvalidParameterException", ""},
		{"other registry", &ecr.CreateRepositoryInput{RepositoryName: aws.String("ok"), RegistryId: aws.String(awsapitest.Other)}, "RepositoryNotFoundException", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.c.CreateRepository(ctx, tc.in)
			wantError(t, "CreateRepository("+tc.name+")", err, tc.code, tc.msg)
			if got := repoNames(t, e.c); !slices.Equal(got, []string{"locked", "team/web"}) {
				t.Fatalf("repositories after a rejected CreateRepository = %v; want [locked team/web]", got)
			}
		})
	}
}

func manyTags(n int) []types.Tag {
	var out []types.Tag
	for i := range n {
		out = append(out, types.Tag{Key: aws.String(strings.Repeat("k", i+1)), Value: aws.String("v")})
	}
	return out
}

func TestDescribeRepositories(t *testing.T) {
	e := newEnv(t)
	names := []string{"a1", "b/c", "b/d", "e5", "f6"}
	for _, n := range names {
		e.createRepo(n)
	}
	var got []string
	var token *string
	pages := 0
	for {
		out, err := e.c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{MaxResults: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range out.Repositories {
			got = append(got, aws.ToString(r.RepositoryName))
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if !slices.Equal(got, names) || pages != 3 {
		t.Fatalf("DescribeRepositories by pages of 2 = %v in %d pages; want %v in 3", got, pages, names)
	}
	_, err := e.c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"a1", "nope"}})
	wantError(t, "DescribeRepositories(nope)", err, "RepositoryNotFoundException",
		"The repository with name 'nope' does not exist in the registry with id '000000000000'")
	_, err = e.c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{MaxResults: aws.Int32(1001)})
	wantError(t, "DescribeRepositories(maxResults 1001)", err, "InvalidParameterException", "")
	_, err = e.c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{NextToken: aws.String("garbage")})
	wantError(t, "DescribeRepositories(bad token)", err, "InvalidParameterException", "")
}

func TestDeleteRepository(t *testing.T) {
	e := newEnv(t)
	e.createRepo("full")
	e.createRepo("empty")
	e.pushImage("full", "v1", []byte(`{"a":1}`), []byte("layer"))

	_, err := e.c.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("full")})
	wantError(t, "DeleteRepository(full)", err, "RepositoryNotEmptyException",
		"The repository with name 'full' in registry with id '000000000000' cannot be deleted because it still contains images")
	if got := repoNames(t, e.c); !slices.Equal(got, []string{"empty", "full"}) {
		t.Fatalf("repositories after refused delete = %v", got)
	}
	out, err := e.c.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("empty")})
	if err != nil || aws.ToString(out.Repository.RepositoryName) != "empty" {
		t.Fatalf("DeleteRepository(empty) = %+v, %v", out, err)
	}
	if _, err := e.c.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("full"), Force: true}); err != nil {
		t.Fatalf("DeleteRepository(full, force) = %v", err)
	}
	if got := repoNames(t, e.c); len(got) != 0 {
		t.Fatalf("repositories after deletes = %v; want none", got)
	}
	_, err = e.c.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("full")})
	wantError(t, "DeleteRepository(deleted)", err, "RepositoryNotFoundException", "")
	// A new repository of the same name starts empty.
	e.createRepo("full")
	imgs, err := e.c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("full")})
	if err != nil || len(imgs.ImageDetails) != 0 {
		t.Fatalf("DescribeImages(recreated) = %+v, %v; want no images", imgs, err)
	}
	resp, _ := e.http("GET", "/v2/full/manifests/v1", nil)
	if resp.StatusCode != 404 {
		t.Fatalf("GET manifest of recreated repository = %d; want 404", resp.StatusCode)
	}
}

func TestTenancy(t *testing.T) {
	e := newEnv(t)
	e.createRepo("shared-name")
	e.pushImage("shared-name", "v1", []byte(`{"a":1}`))
	// The other account has its own repository of that name, empty.
	if _, err := e.other.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("shared-name")}); err != nil {
		t.Fatal(err)
	}
	e.createRepo("mine-only")
	_, err := e.other.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"mine-only"}})
	wantError(t, "DescribeRepositories as other account", err, "RepositoryNotFoundException",
		"The repository with name 'mine-only' does not exist in the registry with id '111111111111'")
	_, err = e.other.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("mine-only"), Force: true})
	wantError(t, "DeleteRepository as other account", err, "RepositoryNotFoundException", "")
	imgs, err := e.other.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("shared-name")})
	if err != nil || len(imgs.ImageDetails) != 0 {
		t.Fatalf("DescribeImages as other account = %+v, %v; want its own empty repository", imgs, err)
	}
	_, err = e.other.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecr:us-east-1:000000000000:repository/mine-only")})
	wantError(t, "ListTagsForResource of another account's repository", err, "RepositoryNotFoundException", "")
	if got := repoNames(t, e.other); !slices.Equal(got, []string{"shared-name"}) {
		t.Fatalf("DescribeRepositories as other account = %v; want [shared-name]", got)
	}
	// A registry token of the other account sees its own repositories only.
	otherTok := e.token(e.other)
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/v2/shared-name/manifests/v1", 404}, // its own, empty repository
		{"/v2/mine-only/tags/list", 404},
		{"/v2/shared-name/tags/list", 200},
	} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+tc.path, nil)
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("AWS:"+otherTok)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("GET %s with the other account's token = %d; want %d", tc.path, resp.StatusCode, tc.status)
		}
	}
}

func TestPutImageTagMutability(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app")
	out, err := e.c.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: aws.String("app"),
		ImageTagMutability: types.ImageTagMutabilityMutableWithExclusion,
		ImageTagMutabilityExclusionFilters: []types.ImageTagMutabilityExclusionFilter{
			{FilterType: "WILDCARD", Filter: aws.String("release-*")}}})
	if err != nil || out.ImageTagMutability != types.ImageTagMutabilityMutableWithExclusion || len(out.ImageTagMutabilityExclusionFilters) != 1 {
		t.Fatalf("PutImageTagMutability = %+v, %v", out, err)
	}
	_, err = e.c.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: aws.String("app"), ImageTagMutability: "NEVER"})
	wantError(t, "PutImageTagMutability(NEVER)", err, "InvalidParameterException", "")
	desc, _ := e.c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"app"}})
	if desc.Repositories[0].ImageTagMutability != types.ImageTagMutabilityMutableWithExclusion {
		t.Fatalf("mutability after a rejected change = %s", desc.Repositories[0].ImageTagMutability)
	}
	_, err = e.c.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: aws.String("nope"), ImageTagMutability: "MUTABLE"})
	wantError(t, "PutImageTagMutability(nope)", err, "RepositoryNotFoundException", "")
	sc, err := e.c.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{RepositoryName: aws.String("app"),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true}})
	if err != nil || !sc.ImageScanningConfiguration.ScanOnPush {
		t.Fatalf("PutImageScanningConfiguration = %+v, %v", sc, err)
	}
}

func TestRepositoryPolicy(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app")
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":"*","Action":["ecr:BatchGetImage"]}]}`
	_, err := e.c.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String("app")})
	wantError(t, "GetRepositoryPolicy(none)", err, "RepositoryPolicyNotFoundException",
		"Repository policy does not exist for the repository with name 'app' in the registry with id '000000000000'")
	for _, bad := range []string{"not json", `{"Statement":[]}`, `{"Version":"2012-10-17"}`, `{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"*"}]}`} {
		_, err := e.c.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String("app"), PolicyText: aws.String(bad)})
		wantError(t, "SetRepositoryPolicy("+bad+")", err, "InvalidParameterException",
			"Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'")
	}
	if _, err := e.c.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String("app"), PolicyText: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	got, err := e.c.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String("app")})
	if err != nil || aws.ToString(got.PolicyText) != policy {
		t.Fatalf("GetRepositoryPolicy = %+v, %v; want the policy set", got, err)
	}
	del, err := e.c.DeleteRepositoryPolicy(ctx, &ecr.DeleteRepositoryPolicyInput{RepositoryName: aws.String("app")})
	if err != nil || aws.ToString(del.PolicyText) != policy {
		t.Fatalf("DeleteRepositoryPolicy = %+v, %v", del, err)
	}
	_, err = e.c.DeleteRepositoryPolicy(ctx, &ecr.DeleteRepositoryPolicyInput{RepositoryName: aws.String("app")})
	wantError(t, "DeleteRepositoryPolicy(again)", err, "RepositoryPolicyNotFoundException", "")
}

func TestResourceTags(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app")
	arn := aws.String("arn:aws:ecr:us-east-1:000000000000:repository/app")
	if _, err := e.c.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{
		{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("3")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.UntagResource(ctx, &ecr.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"b"}}); err != nil {
		t.Fatal(err)
	}
	out, err := e.c.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil || len(out.Tags) != 1 || aws.ToString(out.Tags[0].Key) != "a" || aws.ToString(out.Tags[0].Value) != "3" {
		t.Fatalf("ListTagsForResource = %+v, %v; want a=3", out, err)
	}
	_, err = e.c.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecs:us-east-1:000000000000:cluster/x")})
	wantError(t, "ListTagsForResource(ECS ARN)", err, "InvalidParameterException",
		"Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'")
	_, err = e.c.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: arn, Tags: manyTags(50)})
	wantError(t, "TagResource(51 tags in all)", err, "TooManyTagsException", "")
	_, err = e.c.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("1")}}})
	wantError(t, "TagResource(aws: prefix)", err, "InvalidTagParameterException", "")
	if out, _ := e.c.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: arn}); len(out.Tags) != 1 {
		t.Fatalf("tags after rejected TagResource = %+v; want a=3 only", out.Tags)
	}
}

func TestDescribeRegistryAndScanning(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app")
	out, err := e.c.DescribeRegistry(ctx, &ecr.DescribeRegistryInput{})
	if err != nil || aws.ToString(out.RegistryId) != account || out.ReplicationConfiguration == nil {
		t.Fatalf("DescribeRegistry = %+v, %v", out, err)
	}
	_, err = e.c.StartImageScan(ctx, &ecr.StartImageScanInput{RepositoryName: aws.String("app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("v1")}})
	wantError(t, "StartImageScan", err, "UnsupportedImageTypeException", "Image scanning is not supported by Berth yet.")
	_, err = e.c.DescribeImageScanFindings(ctx, &ecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("v1")}})
	wantError(t, "DescribeImageScanFindings", err, "ScanNotFoundException", "")
}
