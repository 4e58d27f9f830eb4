package ecr_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/berthhq/berth/internal/registry"
)

func TestGetAuthorizationToken(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	out, err := e.c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil || len(out.AuthorizationData) != 1 {
		t.Fatalf("GetAuthorizationToken = %+v, %v", out, err)
	}
	ad := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(ad.AuthorizationToken))
	if err != nil {
		t.Fatalf("authorizationToken is not base64: %v", err)
	}
	// aws ecr get-login-password splits on ':' into exactly two parts.
	if parts := strings.Split(string(raw), ":"); len(parts) != 2 || parts[0] != "AWS" || parts[1] == "" {
		t.Fatalf("authorizationToken decodes to %q; want AWS:<password without colons>", raw)
	}
	if d := ad.ExpiresAt.Sub(now); d < 12*time.Hour-2*time.Second || d > 12*time.Hour {
		t.Fatalf("expiresAt = now+%v; want now+12h", d)
	}
	if aws.ToString(ad.ProxyEndpoint) != "http://"+host {
		t.Fatalf("proxyEndpoint = %q; want http://%s", aws.ToString(ad.ProxyEndpoint), host)
	}
	// docker login: GET /v2/ with the Basic credentials.
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v2/", nil)
	req.Header.Set("Authorization", "Basic "+aws.ToString(ad.AuthorizationToken))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v2/ with the token = %d; want 200", resp.StatusCode)
	}
	//lint:ignore SA1019 clients still send the deprecated member; it is validated as ECR does
	_, err = e.c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{RegistryIds: []string{"12"}})
	wantError(t, "GetAuthorizationToken(bad registry id)", err, "InvalidParameterException", "")
}

func TestPushThenDescribe(t *testing.T) {
	e := newEnv(t)
	e.createRepo("web")
	config, layer1, layer2 := []byte(`{"architecture":"amd64"}`), bytes.Repeat([]byte("1"), 1000), bytes.Repeat([]byte("2"), 2345)
	m, d := e.pushImage("web", "v1", config, layer1, layer2)
	// A second tag for the same image, and an untagged image.
	resp, body := e.http(http.MethodPut, "/v2/web/manifests/latest", m, "Content-Type", registry.MediaTypeDockerManifest)
	if resp.StatusCode != 201 {
		t.Fatalf("PUT latest = %d %s", resp.StatusCode, body)
	}
	e.clock.Advance(time.Minute)
	m2 := manifest([]byte(`{"other":1}`), layer1)
	e.pushBlob("web", []byte(`{"other":1}`))
	resp, body = e.http(http.MethodPut, "/v2/web/manifests/"+sha(m2), m2, "Content-Type", registry.MediaTypeDockerManifest)
	if resp.StatusCode != 201 {
		t.Fatalf("PUT untagged = %d %s", resp.StatusCode, body)
	}
	d2 := sha(m2)

	out, err := e.c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("web")})
	if err != nil || len(out.ImageDetails) != 2 {
		t.Fatalf("DescribeImages = %+v, %v; want 2 images", out, err)
	}
	byDigest := map[string]types.ImageDetail{}
	for _, img := range out.ImageDetails {
		byDigest[aws.ToString(img.ImageDigest)] = img
	}
	img := byDigest[d]
	if !slices.Equal(img.ImageTags, []string{"latest", "v1"}) || aws.ToInt64(img.ImageSizeInBytes) != int64(len(config)+len(layer1)+len(layer2)) ||
		aws.ToString(img.ImageManifestMediaType) != registry.MediaTypeDockerManifest ||
		aws.ToString(img.ArtifactMediaType) != "application/vnd.docker.container.image.v1+json" ||
		img.ImagePushedAt == nil || aws.ToString(img.RegistryId) != account || aws.ToString(img.RepositoryName) != "web" {
		t.Fatalf("DescribeImages image %s = %+v", d, img)
	}
	if len(byDigest[d2].ImageTags) != 0 || !byDigest[d2].ImagePushedAt.After(*img.ImagePushedAt) {
		t.Fatalf("DescribeImages untagged image = %+v", byDigest[d2])
	}
	for _, tc := range []struct {
		status types.TagStatus
		want   []string
	}{
		{types.TagStatusTagged, []string{d}},
		{types.TagStatusUntagged, []string{d2}},
		{types.TagStatusAny, sorted(d, d2)},
	} {
		out, err := e.c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("web"), Filter: &types.DescribeImagesFilter{TagStatus: tc.status}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, img := range out.ImageDetails {
			got = append(got, aws.ToString(img.ImageDigest))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("DescribeImages(%s) = %v; want %v", tc.status, got, tc.want)
		}
	}
	// By image id.
	one, err := e.c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("web"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}})
	if err != nil || len(one.ImageDetails) != 1 || aws.ToString(one.ImageDetails[0].ImageDigest) != d {
		t.Fatalf("DescribeImages(v1) = %+v, %v", one, err)
	}
	_, err = e.c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("web"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("nope")}}})
	wantError(t, "DescribeImages(nope)", err, "ImageNotFoundException",
		"The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within the repository with name 'web' in the registry with id '000000000000'")
	// Paging.
	p1, err := e.c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("web"), MaxResults: aws.Int32(1)})
	if err != nil || len(p1.ImageDetails) != 1 || p1.NextToken == nil {
		t.Fatalf("DescribeImages page 1 = %+v, %v", p1, err)
	}
	p2, err := e.c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("web"), MaxResults: aws.Int32(1), NextToken: p1.NextToken})
	if err != nil || len(p2.ImageDetails) != 1 || p2.NextToken != nil || aws.ToString(p2.ImageDetails[0].ImageDigest) == aws.ToString(p1.ImageDetails[0].ImageDigest) {
		t.Fatalf("DescribeImages page 2 = %+v, %v", p2, err)
	}

	// ListImages: one id per tag, one for the untagged image.
	ids := listIDs(t, e.c, "web", "")
	if want := sorted(d+" latest", d+" v1", d2+" -"); !slices.Equal(ids, want) {
		t.Fatalf("ListImages = %v; want %v", ids, want)
	}
	if ids := listIDs(t, e.c, "web", types.TagStatusUntagged); !slices.Equal(ids, []string{d2 + " -"}) {
		t.Fatalf("ListImages(UNTAGGED) = %v", ids)
	}
	var paged []string
	var tok *string
	for {
		out, err := e.c.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("web"), MaxResults: aws.Int32(2), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range out.ImageIds {
			paged = append(paged, idString(id))
		}
		if tok = out.NextToken; tok == nil {
			break
		}
	}
	if !slices.Equal(paged, sorted(d+" latest", d+" v1", d2+" -")) {
		t.Fatalf("ListImages by pages of 2 = %v", paged)
	}

	// BatchGetImage returns the pushed bytes.
	bg, err := e.c.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String("web"), ImageIds: []types.ImageIdentifier{
		{ImageTag: aws.String("v1")},
		{ImageDigest: aws.String(d2)},
		{ImageTag: aws.String("missing")},
		{ImageTag: aws.String("v1"), ImageDigest: aws.String(d2)},
		{},
		{ImageDigest: aws.String("nonsense")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(bg.Images) != 2 || aws.ToString(bg.Images[0].ImageManifest) != string(m) || aws.ToString(bg.Images[1].ImageManifest) != string(m2) ||
		aws.ToString(bg.Images[0].ImageId.ImageDigest) != d || aws.ToString(bg.Images[0].ImageManifestMediaType) != registry.MediaTypeDockerManifest {
		t.Fatalf("BatchGetImage images = %+v", bg.Images)
	}
	var codes []string
	for _, f := range bg.Failures {
		codes = append(codes, string(f.FailureCode))
	}
	if want := []string{"ImageNotFound", "ImageTagDoesNotMatchDigest", "MissingDigestAndTag", "InvalidImageDigest"}; !slices.Equal(codes, want) {
		t.Fatalf("BatchGetImage failures = %v; want %v", codes, want)
	}
	acc, err := e.c.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String("web"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}},
		AcceptedMediaTypes: []string{registry.MediaTypeOCIManifest}})
	if err != nil || len(acc.Images) != 0 || len(acc.Failures) != 1 {
		t.Fatalf("BatchGetImage(OCI only) of a Docker manifest = %+v, %v; want a failure", acc, err)
	}

	// Layers.
	lc, err := e.c.BatchCheckLayerAvailability(ctx, &ecr.BatchCheckLayerAvailabilityInput{RepositoryName: aws.String("web"),
		LayerDigests: []string{sha(layer1), sha([]byte("absent")), "bad"}})
	if err != nil || len(lc.Layers) != 2 || lc.Layers[0].LayerAvailability != types.LayerAvailabilityAvailable || aws.ToInt64(lc.Layers[0].LayerSize) != 1000 ||
		lc.Layers[1].LayerAvailability != types.LayerAvailabilityUnavailable || len(lc.Failures) != 1 || lc.Failures[0].FailureCode != types.LayerFailureCodeInvalidLayerDigest {
		t.Fatalf("BatchCheckLayerAvailability = %+v, %v", lc, err)
	}
	du, err := e.c.GetDownloadUrlForLayer(ctx, &ecr.GetDownloadUrlForLayerInput{RepositoryName: aws.String("web"), LayerDigest: aws.String(sha(layer2))})
	if err != nil {
		t.Fatal(err)
	}
	// The URL names the registry host; fetch it from the test server, with no credentials.
	u := strings.Replace(aws.ToString(du.DownloadUrl), "http://"+host, e.srv.URL, 1)
	got, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if got.StatusCode != 200 || !bytes.Equal(data, layer2) {
		t.Fatalf("GET download URL = %d, %d bytes; want the layer", got.StatusCode, len(data))
	}
	_, err = e.c.GetDownloadUrlForLayer(ctx, &ecr.GetDownloadUrlForLayerInput{RepositoryName: aws.String("web"), LayerDigest: aws.String(sha([]byte("absent")))})
	wantError(t, "GetDownloadUrlForLayer(absent)", err, "LayersNotFoundException", "")
}

func sorted(s ...string) []string { sort.Strings(s); return s }

func idString(id types.ImageIdentifier) string {
	tag := aws.ToString(id.ImageTag)
	if tag == "" {
		tag = "-"
	}
	return aws.ToString(id.ImageDigest) + " " + tag
}

func listIDs(t *testing.T, c *ecr.Client, repo string, status types.TagStatus) []string {
	t.Helper()
	in := &ecr.ListImagesInput{RepositoryName: aws.String(repo)}
	if status != "" {
		in.Filter = &types.ListImagesFilter{TagStatus: status}
	}
	out, err := c.ListImages(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, id := range out.ImageIds {
		ids = append(ids, idString(id))
	}
	sort.Strings(ids)
	return ids
}

func TestPutImage(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app")
	config, layer := []byte(`{"put":1}`), []byte("put layer")
	e.pushBlob("app", config)
	e.pushBlob("app", layer)
	m := string(manifest(config, layer))
	out, err := e.c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("app"), ImageManifest: aws.String(m), ImageTag: aws.String("v1")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Image.ImageId.ImageDigest) != sha([]byte(m)) || aws.ToString(out.Image.ImageManifestMediaType) != registry.MediaTypeDockerManifest {
		t.Fatalf("PutImage = %+v", out.Image)
	}
	// The registry serves it.
	resp, body := e.http(http.MethodGet, "/v2/app/manifests/v1", nil)
	if resp.StatusCode != 200 || string(body) != m {
		t.Fatalf("GET manifest after PutImage = %d %s", resp.StatusCode, body)
	}
	_, err = e.c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("app"), ImageManifest: aws.String(m), ImageTag: aws.String("v1")})
	wantError(t, "PutImage(same again)", err, "ImageAlreadyExistsException",
		"Image with digest '"+sha([]byte(m))+"' and tag 'v1' already exists in the repository with name 'app' in registry with id '000000000000'")
	if _, err := e.c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("app"), ImageManifest: aws.String(m), ImageTag: aws.String("v2")}); err != nil {
		t.Fatalf("PutImage(new tag) = %v", err)
	}

	missing := string(manifest(config, []byte("never pushed")))
	for _, tc := range []struct {
		name string
		in   *ecr.PutImageInput
		code string
	}{
		{"missing layer", &ecr.PutImageInput{ImageManifest: aws.String(missing), ImageTag: aws.String("x")}, "LayersNotFoundException"},
		{"digest mismatch", &ecr.PutImageInput{ImageManifest: aws.String(m), ImageDigest: aws.String(sha([]byte("other")))}, "ImageDigestDoesNotMatchException"},
		{"not a manifest", &ecr.PutImageInput{ImageManifest: aws.String("{"), ImageTag: aws.String("x")}, "InvalidParameterException"},
		{"bad tag", &ecr.PutImageInput{ImageManifest: aws.String(m), ImageTag: aws.String("-x")}, "InvalidParameterException"},
		{"index with a missing child", &ecr.PutImageInput{ImageTag: aws.String("x"), ImageManifest: aws.String(
			`{"schemaVersion":2,"mediaType":"` + registry.MediaTypeOCIIndex + `","manifests":[{"mediaType":"` + registry.MediaTypeOCIManifest + `","digest":"` + sha([]byte("x")) + `","size":1}]}`)},
			"ReferencedImagesNotFoundException"},
		{"unknown repository", &ecr.PutImageInput{RepositoryName: aws.String("nope"), ImageManifest: aws.String(m)}, "RepositoryNotFoundException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.RepositoryName == nil {
				tc.in.RepositoryName = aws.String("app")
			}
			_, err := e.c.PutImage(ctx, tc.in)
			wantError(t, "PutImage("+tc.name+")", err, tc.code, "")
			if ids := listIDs(t, e.c, "app", ""); len(ids) != 2 {
				t.Fatalf("images after rejected PutImage = %v; want v1, v2", ids)
			}
		})
	}
}

func TestImmutableTags(t *testing.T) {
	e := newEnv(t)
	e.createRepo("locked", func(in *ecr.CreateRepositoryInput) { in.ImageTagMutability = types.ImageTagMutabilityImmutable })
	_, d1 := e.pushImage("locked", "v1", []byte(`{"n":1}`))
	e.pushBlob("locked", []byte(`{"n":2}`))
	m2 := manifest([]byte(`{"n":2}`))
	msg := "The image tag 'v1' already exists in the 'locked' repository and cannot be overwritten because the tag is immutable."

	// The registry path: docker push of another image to the same tag.
	resp, body := e.http(http.MethodPut, "/v2/locked/manifests/v1", m2, "Content-Type", registry.MediaTypeDockerManifest)
	var eb struct {
		Errors []struct{ Code, Message string }
	}
	_ = json.Unmarshal(body, &eb)
	if resp.StatusCode != 400 || len(eb.Errors) != 1 || eb.Errors[0].Code != "TAG_INVALID" || eb.Errors[0].Message != msg {
		t.Fatalf("PUT over an immutable tag = %d %s; want 400 TAG_INVALID %q", resp.StatusCode, body, msg)
	}
	// The API path.
	_, err := e.c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("locked"), ImageManifest: aws.String(string(m2)), ImageTag: aws.String("v1")})
	wantError(t, "PutImage over an immutable tag", err, "ImageTagAlreadyExistsException", msg)
	out, err := e.c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("locked"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}})
	if err != nil || aws.ToString(out.ImageDetails[0].ImageDigest) != d1 {
		t.Fatalf("v1 after rejected overwrites = %+v, %v; want %s", out, err, d1)
	}
	// Making the repository mutable allows it.
	if _, err := e.c.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: aws.String("locked"), ImageTagMutability: types.ImageTagMutabilityMutable}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("locked"), ImageManifest: aws.String(string(m2)), ImageTag: aws.String("v1")}); err != nil {
		t.Fatalf("PutImage over a tag of a now mutable repository = %v", err)
	}
}

func TestBatchDeleteImage(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app")
	m, d := e.pushImage("app", "a", []byte(`{"i":1}`))
	e.http(http.MethodPut, "/v2/app/manifests/b", m, "Content-Type", registry.MediaTypeDockerManifest)
	_, d2 := e.pushImage("app", "solo", []byte(`{"i":2}`))
	_, d3 := e.pushImage("app", "child", []byte(`{"i":3}`))
	idx := `{"schemaVersion":2,"mediaType":"` + registry.MediaTypeOCIIndex + `","manifests":[{"mediaType":"` + registry.MediaTypeDockerManifest + `","digest":"` + d3 + `","size":10}]}`
	resp, body := e.http(http.MethodPut, "/v2/app/manifests/multi", []byte(idx), "Content-Type", registry.MediaTypeOCIIndex)
	if resp.StatusCode != 201 {
		t.Fatalf("PUT index = %d %s", resp.StatusCode, body)
	}

	out, err := e.c.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String("app"), ImageIds: []types.ImageIdentifier{
		{ImageTag: aws.String("a")},      // one of two tags: the image stays
		{ImageTag: aws.String("solo")},   // its last tag: the image goes
		{ImageDigest: aws.String(d3)},    // referenced by the index
		{ImageTag: aws.String("absent")}, // not found
	}})
	if err != nil {
		t.Fatal(err)
	}
	var deleted, failed []string
	for _, id := range out.ImageIds {
		deleted = append(deleted, idString(id))
	}
	for _, f := range out.Failures {
		failed = append(failed, string(f.FailureCode)+" "+idString(*f.ImageId))
	}
	if want := []string{d + " a", d2 + " solo"}; !slices.Equal(deleted, want) {
		t.Fatalf("BatchDeleteImage deleted %v; want %v", deleted, want)
	}
	if want := []string{"ImageReferencedByManifestList " + d3 + " -", "ImageNotFound  absent"}; !slices.Equal(failed, want) {
		t.Fatalf("BatchDeleteImage failures %v; want %v", failed, want)
	}
	if want := sorted(d+" b", d3+" child", sha([]byte(idx))+" multi"); !slices.Equal(listIDs(t, e.c, "app", ""), want) {
		t.Fatalf("images after BatchDeleteImage = %v; want %v", listIDs(t, e.c, "app", ""), want)
	}
	// By digest: the image and all its tags.
	out, err = e.c.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String("app"), ImageIds: []types.ImageIdentifier{{ImageDigest: aws.String(d)}}})
	if err != nil || len(out.ImageIds) != 1 || idString(out.ImageIds[0]) != d+" b" {
		t.Fatalf("BatchDeleteImage(digest) = %+v, %v", out, err)
	}
	resp, _ = e.http(http.MethodGet, "/v2/app/manifests/b", nil)
	if resp.StatusCode != 404 {
		t.Fatalf("GET deleted tag = %d; want 404", resp.StatusCode)
	}
}

func TestLayerUpload(t *testing.T) {
	e := newEnv(t)
	e.createRepo("app")
	layer := bytes.Repeat([]byte("0123456789"), 100)
	d := sha(layer)
	up, err := e.c.InitiateLayerUpload(ctx, &ecr.InitiateLayerUploadInput{RepositoryName: aws.String("app")})
	if err != nil || aws.ToString(up.UploadId) == "" || aws.ToInt64(up.PartSize) <= 0 {
		t.Fatalf("InitiateLayerUpload = %+v, %v", up, err)
	}
	id := up.UploadId
	part := func(first, last int64) (*ecr.UploadLayerPartOutput, error) {
		return e.c.UploadLayerPart(ctx, &ecr.UploadLayerPartInput{RepositoryName: aws.String("app"), UploadId: id,
			PartFirstByte: aws.Int64(first), PartLastByte: aws.Int64(last), LayerPartBlob: layer[first : last+1]})
	}
	if out, err := part(0, 399); err != nil || aws.ToInt64(out.LastByteReceived) != 399 {
		t.Fatalf("UploadLayerPart(0-399) = %+v, %v", out, err)
	}
	_, err = part(500, 999)
	wantError(t, "UploadLayerPart(gap)", err, "InvalidLayerPartException", "")
	_, err = part(100, 499)
	wantError(t, "UploadLayerPart(overlap)", err, "InvalidLayerPartException", "")
	_, err = e.c.CompleteLayerUpload(ctx, &ecr.CompleteLayerUploadInput{RepositoryName: aws.String("app"), UploadId: id, LayerDigests: []string{d}})
	wantError(t, "CompleteLayerUpload(incomplete)", err, "InvalidLayerException", "")

	up, _ = e.c.InitiateLayerUpload(ctx, &ecr.InitiateLayerUploadInput{RepositoryName: aws.String("app")})
	id = up.UploadId
	if _, err := part(0, 399); err != nil {
		t.Fatal(err)
	}
	if out, err := part(400, 999); err != nil || aws.ToInt64(out.LastByteReceived) != 999 {
		t.Fatalf("UploadLayerPart(400-999) = %+v, %v", out, err)
	}
	done, err := e.c.CompleteLayerUpload(ctx, &ecr.CompleteLayerUploadInput{RepositoryName: aws.String("app"), UploadId: id, LayerDigests: []string{d}})
	if err != nil || aws.ToString(done.LayerDigest) != d {
		t.Fatalf("CompleteLayerUpload = %+v, %v", done, err)
	}
	resp, body := e.http(http.MethodGet, "/v2/app/blobs/"+d, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, layer) {
		t.Fatalf("GET uploaded layer = %d, %d bytes", resp.StatusCode, len(body))
	}
	_, err = e.c.CompleteLayerUpload(ctx, &ecr.CompleteLayerUploadInput{RepositoryName: aws.String("app"), UploadId: id, LayerDigests: []string{d}})
	wantError(t, "CompleteLayerUpload(finished upload)", err, "LayerAlreadyExistsException", "")
	up, _ = e.c.InitiateLayerUpload(ctx, &ecr.InitiateLayerUploadInput{RepositoryName: aws.String("app")})
	_, err = e.c.CompleteLayerUpload(ctx, &ecr.CompleteLayerUploadInput{RepositoryName: aws.String("app"), UploadId: up.UploadId, LayerDigests: []string{sha(nil)}})
	wantError(t, "CompleteLayerUpload(empty)", err, "EmptyUploadException", "")
	_, err = e.c.UploadLayerPart(ctx, &ecr.UploadLayerPartInput{RepositoryName: aws.String("app"), UploadId: aws.String("00000000-0000-4000-8000-000000000000"),
		PartFirstByte: aws.Int64(0), PartLastByte: aws.Int64(0), LayerPartBlob: []byte("x")})
	wantError(t, "UploadLayerPart(unknown upload)", err, "UploadNotFoundException", "")
	_, err = e.other.UploadLayerPart(ctx, &ecr.UploadLayerPartInput{RepositoryName: aws.String("app"), UploadId: up.UploadId,
		PartFirstByte: aws.Int64(0), PartLastByte: aws.Int64(0), LayerPartBlob: []byte("x")})
	wantError(t, "UploadLayerPart as another account", err, "RepositoryNotFoundException", "")
}

// TestBatchDeleteImageSequences: each image ID of a BatchDeleteImage sees
// what the IDs before it deleted. The repository holds A (tags a and b),
// S (tag solo), C (tag child) and the index I (tag multi) that lists C.
func TestBatchDeleteImageSequences(t *testing.T) {
	e := newEnv(t)
	for i, tc := range []struct {
		name     string
		ids      []string // tag:T, digest:X or both:X:T
		deleted  []string // X T, or X - for no tag
		failures []string // code X T
		left     []string
	}{
		{"both tags of one image", []string{"tag:a", "tag:b"},
			[]string{"@A a", "@A b"}, nil, []string{"@C child", "@I multi", "@S solo"}},
		{"an image, then its tag", []string{"digest:@A", "tag:a"},
			[]string{"@A a", "@A b"}, []string{"ImageNotFound - a"}, []string{"@C child", "@I multi", "@S solo"}},
		{"a last tag, then its image", []string{"tag:solo", "digest:@S"},
			[]string{"@S solo"}, []string{"ImageNotFound @S -"}, []string{"@A a", "@A b", "@C child", "@I multi"}},
		{"a listed image's last tag, then the image", []string{"tag:child", "digest:@C"},
			[]string{"@C child"}, []string{"ImageReferencedByManifestList @C - [@I]"}, []string{"@A a", "@A b", "@C -", "@I multi", "@S solo"}},
		{"an index, then the image it listed", []string{"digest:@I", "digest:@C"},
			[]string{"@I multi", "@C child"}, nil, []string{"@A a", "@A b", "@S solo"}},
		{"a listed image, then its index", []string{"digest:@C", "digest:@I"},
			[]string{"@I multi"}, []string{"ImageReferencedByManifestList @C - [@I]"}, []string{"@A a", "@A b", "@C child", "@S solo"}},
		{"one tag twice", []string{"tag:a", "tag:a"},
			[]string{"@A a"}, []string{"ImageNotFound - a"}, []string{"@A b", "@C child", "@I multi", "@S solo"}},
		{"a tag, then the image by digest and that tag", []string{"tag:a", "both:@A:a"},
			[]string{"@A a"}, []string{"ImageNotFound @A a"}, []string{"@A b", "@C child", "@I multi", "@S solo"}},
		{"a tag, then the image by digest and its other tag", []string{"tag:a", "both:@A:b"},
			[]string{"@A a", "@A b"}, nil, []string{"@C child", "@I multi", "@S solo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := fmt.Sprintf("seq%d", i)
			e.createRepo(repo)
			m, a := e.pushImage(repo, "a", []byte(`{"i":1}`))
			e.http(http.MethodPut, "/v2/"+repo+"/manifests/b", m, "Content-Type", registry.MediaTypeDockerManifest)
			_, solo := e.pushImage(repo, "solo", []byte(`{"i":2}`))
			_, child := e.pushImage(repo, "child", []byte(`{"i":3}`))
			idx := `{"schemaVersion":2,"mediaType":"` + registry.MediaTypeOCIIndex + `","manifests":[{"mediaType":"` + registry.MediaTypeDockerManifest + `","digest":"` + child + `","size":10}]}`
			if resp, body := e.http(http.MethodPut, "/v2/"+repo+"/manifests/multi", []byte(idx), "Content-Type", registry.MediaTypeOCIIndex); resp.StatusCode != 201 {
				t.Fatalf("PUT index = %d %s", resp.StatusCode, body)
			}
			names := strings.NewReplacer("@A", a, "@S", solo, "@C", child, "@I", sha([]byte(idx)))
			var ids []types.ImageIdentifier
			for _, id := range tc.ids {
				kind, ref, _ := strings.Cut(id, ":")
				switch kind {
				case "tag":
					ids = append(ids, types.ImageIdentifier{ImageTag: aws.String(ref)})
				case "digest":
					ids = append(ids, types.ImageIdentifier{ImageDigest: aws.String(names.Replace(ref))})
				case "both":
					x, tag, _ := strings.Cut(ref, ":")
					ids = append(ids, types.ImageIdentifier{ImageDigest: aws.String(names.Replace(x)), ImageTag: aws.String(tag)})
				}
			}
			out, err := e.c.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String(repo), ImageIds: ids})
			if err != nil {
				t.Fatal(err)
			}
			var deleted, failed []string
			for _, id := range out.ImageIds {
				deleted = append(deleted, idString(id))
			}
			for _, f := range out.Failures {
				s := string(f.FailureCode) + " " + idString(*f.ImageId)
				if f.FailureCode == types.ImageFailureCodeImageReferencedByManifestList {
					s += " " + strings.TrimPrefix(aws.ToString(f.FailureReason), "Requested image referenced by manifest list: ")
				}
				failed = append(failed, strings.Replace(s, "  ", " - ", 1))
			}
			replaceAll := func(ss []string) []string {
				var out []string
				for _, s := range ss {
					out = append(out, names.Replace(s))
				}
				return out
			}
			if want := replaceAll(tc.deleted); !slices.Equal(deleted, want) {
				t.Errorf("BatchDeleteImage(%v) deleted %v; want %v", tc.ids, deleted, want)
			}
			if want := replaceAll(tc.failures); !slices.Equal(failed, want) {
				t.Errorf("BatchDeleteImage(%v) failures %v; want %v", tc.ids, failed, want)
			}
			if got, want := listIDs(t, e.c, repo, ""), sorted(replaceAll(tc.left)...); !slices.Equal(got, want) {
				t.Errorf("images after BatchDeleteImage(%v) = %v; want %v", tc.ids, got, want)
			}
		})
	}
}
