package ecr

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsjson"
	"github.com/berthhq/berth/internal/registry"
)

// imageDigestRE is ECR's pattern for image digests.
var imageDigestRE = regexp.MustCompile(`^[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+$`)

type TagStatusFilter struct {
	TagStatus *string `json:"tagStatus"`
}

func tagStatus(f *TagStatusFilter) (string, error) {
	if f == nil || f.TagStatus == nil {
		return "ANY", nil
	}
	switch *f.TagStatus {
	case "TAGGED", "UNTAGGED", "ANY":
		return *f.TagStatus, nil
	}
	return "", constraint("filter.tagStatus", "Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]")
}

func keep(status string, img *registry.Image) bool {
	switch status {
	case "TAGGED":
		return len(img.Tags) > 0
	case "UNTAGGED":
		return len(img.Tags) == 0
	}
	return true
}

func describeID(id ImageID) string {
	d, t := "null", "null"
	if id.ImageDigest != nil {
		d = *id.ImageDigest
	}
	if id.ImageTag != nil {
		t = *id.ImageTag
	}
	return fmt.Sprintf("{imageDigest:'%s', imageTag:'%s'}", d, t)
}

func imageNotFound(s registry.Scope, repo string, id ImageID) *awsapi.Error {
	return &awsapi.Error{Code: "ImageNotFoundException", Message: fmt.Sprintf(
		"The image with imageId %s does not exist within the repository with name '%s' in the registry with id '%s'", describeID(id), repo, s.Account)}
}

// lookup finds the image an ImageID names among imgs, or reports the
// failure code and reason BatchGetImage and BatchDeleteImage use.
func lookup(imgs []*registry.Image, id ImageID) (*registry.Image, string, string) {
	if id.ImageDigest == nil && id.ImageTag == nil {
		return nil, "MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null"
	}
	if id.ImageDigest != nil && !imageDigestRE.MatchString(*id.ImageDigest) {
		return nil, "InvalidImageDigest", "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"
	}
	if id.ImageTag != nil && (len(*id.ImageTag) < 1 || len(*id.ImageTag) > 300) {
		return nil, "InvalidImageTag", "Invalid request parameters: image tag should have between 1 and 300 characters"
	}
	var byDigest, byTag *registry.Image
	for _, img := range imgs {
		if id.ImageDigest != nil && string(img.Digest) == *id.ImageDigest {
			byDigest = img
		}
		if id.ImageTag != nil && slices.Contains(img.Tags, *id.ImageTag) {
			byTag = img
		}
	}
	switch {
	case id.ImageDigest != nil && id.ImageTag != nil:
		if byDigest == nil || byTag == nil {
			return nil, "ImageNotFound", "Requested image not found"
		}
		if byDigest != byTag {
			return nil, "ImageTagDoesNotMatchDigest", "Invalid request parameters: image tag does not match digest"
		}
		return byDigest, "", ""
	case id.ImageDigest != nil:
		if byDigest == nil {
			return nil, "ImageNotFound", "Requested image not found"
		}
		return byDigest, "", ""
	}
	if byTag == nil {
		return nil, "ImageNotFound", "Requested image not found"
	}
	return byTag, "", ""
}

type ImageDetail struct {
	RegistryID             string       `json:"registryId"`
	RepositoryName         string       `json:"repositoryName"`
	ImageDigest            string       `json:"imageDigest"`
	ImageTags              []string     `json:"imageTags,omitempty"`
	ImageSizeInBytes       int64        `json:"imageSizeInBytes"`
	ImagePushedAt          awsjson.Time `json:"imagePushedAt"`
	ImageManifestMediaType string       `json:"imageManifestMediaType"`
	ArtifactMediaType      string       `json:"artifactMediaType,omitempty"`
	SubjectManifestDigest  string       `json:"subjectManifestDigest,omitempty"`
	ImageStatus            string       `json:"imageStatus"`
}

func detail(s registry.Scope, repo string, img *registry.Image) ImageDetail {
	return ImageDetail{
		RegistryID: s.Account, RepositoryName: repo, ImageDigest: string(img.Digest), ImageTags: img.Tags,
		ImageSizeInBytes: img.ImageSize, ImagePushedAt: awsjson.At(img.PushedAt), ImageManifestMediaType: img.MediaType,
		ArtifactMediaType: img.ArtifactType, SubjectManifestDigest: string(img.Subject), ImageStatus: "ACTIVE",
	}
}

type DescribeImagesInput struct {
	RegistryID     *string          `json:"registryId"`
	RepositoryName *string          `json:"repositoryName"`
	ImageIDs       []ImageID        `json:"imageIds"`
	NextToken      *string          `json:"nextToken"`
	MaxResults     *int32           `json:"maxResults"`
	Filter         *TagStatusFilter `json:"filter"`
}

type DescribeImagesOutput struct {
	ImageDetails []ImageDetail `json:"imageDetails"`
	NextToken    *string       `json:"nextToken,omitempty"`
}

func (a *API) images(s registry.Scope, repo string) ([]*registry.Image, error) {
	imgs, err := a.reg.Images(s, repo)
	var re *registry.Error
	if errors.As(err, &re) && re.Code == registry.CodeNameUnknown {
		return nil, notFound(s.Account, repo)
	}
	return imgs, err
}

func (a *API) DescribeImages(ctx context.Context, in *DescribeImagesInput) (*DescribeImagesOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	status, err := tagStatus(in.Filter)
	if err != nil {
		return nil, err
	}
	imgs, err := a.images(s, name)
	if err != nil {
		return nil, err
	}
	out := &DescribeImagesOutput{ImageDetails: []ImageDetail{}}
	if len(in.ImageIDs) > 0 {
		if in.NextToken != nil || in.MaxResults != nil {
			return nil, invalidParam("Invalid parameter: nextToken and maxResults cannot be specified with imageIds.")
		}
		if len(in.ImageIDs) > 100 {
			return nil, constraint("imageIds", "Member must have length less than or equal to 100")
		}
		seen := map[registry.Digest]bool{}
		for _, id := range in.ImageIDs {
			if id.ImageDigest != nil && !imageDigestRE.MatchString(*id.ImageDigest) {
				return nil, constraint("imageIds.member.imageDigest", "must satisfy regular expression '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'")
			}
			img, code, _ := lookup(imgs, id)
			if code != "" {
				return nil, imageNotFound(s, name, id)
			}
			if !seen[img.Digest] {
				seen[img.Digest] = true
				out.ImageDetails = append(out.ImageDetails, detail(s, name, img))
			}
		}
		return out, nil
	}
	n, after, err := pageArgs(in.MaxResults, in.NextToken, 1000)
	if err != nil {
		return nil, err
	}
	for _, img := range imgs { // in digest order
		if string(img.Digest) <= after || !keep(status, img) {
			continue
		}
		if len(out.ImageDetails) == n {
			out.NextToken = encodeToken(out.ImageDetails[n-1].ImageDigest)
			break
		}
		out.ImageDetails = append(out.ImageDetails, detail(s, name, img))
	}
	return out, nil
}

type ListImagesInput struct {
	RegistryID     *string          `json:"registryId"`
	RepositoryName *string          `json:"repositoryName"`
	NextToken      *string          `json:"nextToken"`
	MaxResults     *int32           `json:"maxResults"`
	Filter         *TagStatusFilter `json:"filter"`
}

type ListImagesOutput struct {
	ImageIDs  []ImageID `json:"imageIds"`
	NextToken *string   `json:"nextToken,omitempty"`
}

func (a *API) ListImages(ctx context.Context, in *ListImagesInput) (*ListImagesOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	status, err := tagStatus(in.Filter)
	if err != nil {
		return nil, err
	}
	n, after, err := pageArgs(in.MaxResults, in.NextToken, 1000)
	if err != nil {
		return nil, err
	}
	imgs, err := a.images(s, name)
	if err != nil {
		return nil, err
	}
	// One entry per tag, one for an untagged image; in (digest, tag) order.
	type entry struct {
		key string
		id  ImageID
	}
	var entries []entry
	for _, img := range imgs {
		if !keep(status, img) {
			continue
		}
		d := string(img.Digest)
		if len(img.Tags) == 0 {
			entries = append(entries, entry{d, ImageID{ImageDigest: ptr(d)}})
		}
		for _, t := range img.Tags {
			entries = append(entries, entry{d + "\x00" + t, ImageID{ImageDigest: ptr(d), ImageTag: ptr(t)}})
		}
	}
	out := &ListImagesOutput{ImageIDs: []ImageID{}}
	last := ""
	for _, e := range entries {
		if e.key <= after {
			continue
		}
		if len(out.ImageIDs) == n {
			out.NextToken = encodeToken(last)
			break
		}
		out.ImageIDs = append(out.ImageIDs, e.id)
		last = e.key
	}
	return out, nil
}

type Image struct {
	RegistryID             string  `json:"registryId"`
	RepositoryName         string  `json:"repositoryName"`
	ImageID                ImageID `json:"imageId"`
	ImageManifest          string  `json:"imageManifest"`
	ImageManifestMediaType string  `json:"imageManifestMediaType"`
}

type ImageFailure struct {
	ImageID       ImageID `json:"imageId"`
	FailureCode   string  `json:"failureCode"`
	FailureReason string  `json:"failureReason"`
}

type BatchGetImageInput struct {
	RegistryID         *string   `json:"registryId"`
	RepositoryName     *string   `json:"repositoryName"`
	ImageIDs           []ImageID `json:"imageIds"`
	AcceptedMediaTypes []string  `json:"acceptedMediaTypes"`
}

type BatchGetImageOutput struct {
	Images   []Image        `json:"images"`
	Failures []ImageFailure `json:"failures"`
}

func checkImageIDs(ids []ImageID) error {
	if len(ids) == 0 {
		return constraint("imageIds", "Member must have length greater than or equal to 1")
	}
	if len(ids) > 100 {
		return constraint("imageIds", "Member must have length less than or equal to 100")
	}
	return nil
}

func (a *API) BatchGetImage(ctx context.Context, in *BatchGetImageInput) (*BatchGetImageOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if err := checkImageIDs(in.ImageIDs); err != nil {
		return nil, err
	}
	if len(in.AcceptedMediaTypes) > 100 {
		return nil, constraint("acceptedMediaTypes", "Member must have length less than or equal to 100")
	}
	imgs, err := a.images(s, name)
	if err != nil {
		return nil, err
	}
	out := &BatchGetImageOutput{Images: []Image{}, Failures: []ImageFailure{}}
	for _, id := range in.ImageIDs {
		img, code, reason := lookup(imgs, id)
		if code == "" && len(in.AcceptedMediaTypes) > 0 && !slices.Contains(in.AcceptedMediaTypes, img.MediaType) {
			code, reason = "ImageNotFound", "Requested image not found: its manifest media type "+img.MediaType+" is not among the accepted media types"
		}
		var body []byte
		if code == "" {
			if body, _, err = a.reg.ManifestContent(s, name, img.Digest); err != nil {
				var re *registry.Error
				if !errors.As(err, &re) {
					return nil, err
				}
				code, reason = "ImageNotFound", "Requested image not found"
			}
		}
		if code != "" {
			out.Failures = append(out.Failures, ImageFailure{ImageID: id, FailureCode: code, FailureReason: reason})
			continue
		}
		rid := ImageID{ImageDigest: ptr(string(img.Digest)), ImageTag: id.ImageTag}
		out.Images = append(out.Images, Image{RegistryID: s.Account, RepositoryName: name, ImageID: rid,
			ImageManifest: string(body), ImageManifestMediaType: img.MediaType})
	}
	return out, nil
}

type BatchDeleteImageInput struct {
	RegistryID     *string   `json:"registryId"`
	RepositoryName *string   `json:"repositoryName"`
	ImageIDs       []ImageID `json:"imageIds"`
}

type BatchDeleteImageOutput struct {
	ImageIDs []ImageID      `json:"imageIds"`
	Failures []ImageFailure `json:"failures"`
}

// BatchDeleteImage deletes images by digest (with all their tags) or
// removes tags; an image that loses its last tag is deleted too.
func (a *API) BatchDeleteImage(ctx context.Context, in *BatchDeleteImageInput) (*BatchDeleteImageOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if err := checkImageIDs(in.ImageIDs); err != nil {
		return nil, err
	}
	// The images are read once and kept up to date with this call's own
	// deletes, so that each ID is looked up as if read afresh.
	imgs, err := a.images(s, name)
	if err != nil {
		return nil, err
	}
	out := &BatchDeleteImageOutput{ImageIDs: []ImageID{}, Failures: []ImageFailure{}}
	for _, id := range in.ImageIDs {
		img, code, reason := lookup(imgs, id)
		if code != "" {
			out.Failures = append(out.Failures, ImageFailure{ImageID: id, FailureCode: code, FailureReason: reason})
			continue
		}
		d := string(img.Digest)
		if id.ImageDigest == nil {
			if _, err := a.reg.DeleteTag(ctx, s, name, *id.ImageTag, true); err != nil {
				if f, ok := deleteFailure(id, err); ok {
					out.Failures = append(out.Failures, f)
					continue
				}
				return nil, batchDeleteError(s, name, err)
			}
			// Its last tag gone, the image went too unless an index lists it.
			img.Tags = slices.DeleteFunc(slices.Clone(img.Tags), func(t string) bool { return t == *id.ImageTag })
			if len(img.Tags) == 0 && a.reg.Image(s, name, img.Digest) == nil {
				imgs = slices.DeleteFunc(imgs, func(i *registry.Image) bool { return i == img })
			}
			out.ImageIDs = append(out.ImageIDs, ImageID{ImageDigest: ptr(d), ImageTag: id.ImageTag})
			continue
		}
		tags, err := a.reg.DeleteManifest(ctx, s, name, img.Digest, true)
		if err != nil {
			if f, ok := deleteFailure(id, err); ok {
				out.Failures = append(out.Failures, f)
				continue
			}
			return nil, batchDeleteError(s, name, err)
		}
		imgs = slices.DeleteFunc(imgs, func(i *registry.Image) bool { return i == img })
		if len(tags) == 0 {
			out.ImageIDs = append(out.ImageIDs, ImageID{ImageDigest: ptr(d)})
		}
		for _, t := range tags {
			out.ImageIDs = append(out.ImageIDs, ImageID{ImageDigest: ptr(d), ImageTag: ptr(t)})
		}
	}
	return out, nil
}

// batchDeleteError is the error of a delete that is no image's failure: a
// repository deleted meanwhile is RepositoryNotFoundException, as reading
// its images again would have found.
func batchDeleteError(s registry.Scope, name string, err error) error {
	var re *registry.Error
	if errors.As(err, &re) && re.Code == registry.CodeNameUnknown {
		return notFound(s.Account, name)
	}
	return err
}

func deleteFailure(id ImageID, err error) (ImageFailure, bool) {
	var re *registry.Error
	if !errors.As(err, &re) {
		return ImageFailure{}, false
	}
	switch re.Code {
	case registry.CodeManifestUnknown:
		return ImageFailure{ImageID: id, FailureCode: "ImageNotFound", FailureReason: "Requested image not found"}, true
	case registry.CodeManifestInvalid: // referenced by an index
		var refs []string
		if ds, ok := re.Detail.([]registry.Digest); ok {
			for _, d := range ds {
				refs = append(refs, string(d))
			}
		}
		return ImageFailure{ImageID: id, FailureCode: "ImageReferencedByManifestList",
			FailureReason: "Requested image referenced by manifest list: [" + strings.Join(refs, ", ") + "]"}, true
	}
	return ImageFailure{}, false
}

type PutImageInput struct {
	RegistryID             *string `json:"registryId"`
	RepositoryName         *string `json:"repositoryName"`
	ImageManifest          *string `json:"imageManifest"`
	ImageManifestMediaType *string `json:"imageManifestMediaType"`
	ImageTag               *string `json:"imageTag"`
	ImageDigest            *string `json:"imageDigest"`
}

type PutImageOutput struct {
	Image Image `json:"image"`
}

func (a *API) PutImage(ctx context.Context, in *PutImageInput) (*PutImageOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if in.ImageManifest == nil || len(*in.ImageManifest) == 0 {
		return nil, constraint("imageManifest", "Member must have length greater than or equal to 1")
	}
	if len(*in.ImageManifest) > 4<<20 {
		return nil, constraint("imageManifest", "Member must have length less than or equal to 4194304")
	}
	put := registry.ManifestPut{Body: []byte(*in.ImageManifest)}
	if in.ImageManifestMediaType != nil {
		put.MediaType = *in.ImageManifestMediaType
	}
	if in.ImageTag != nil {
		if !registry.ValidTag(*in.ImageTag) {
			return nil, constraint("imageTag", "must satisfy regular expression '[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}'")
		}
		put.Tags = []string{*in.ImageTag}
	}
	if in.ImageDigest != nil {
		d, ok := registry.ParseDigest(*in.ImageDigest)
		if !ok {
			return nil, constraint("imageDigest", "must satisfy regular expression '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'")
		}
		put.Digest = d
	}
	if _, _, err := a.repository(s, name); err != nil {
		return nil, err
	}
	res, err := a.reg.PutManifest(ctx, s, name, put)
	if err != nil {
		return nil, putImageError(s, name, in, err)
	}
	img := res.Image
	if res.Unchanged {
		msg := fmt.Sprintf("Image with digest '%s' ", img.Digest)
		if in.ImageTag != nil {
			msg += fmt.Sprintf("and tag '%s' ", *in.ImageTag)
		}
		msg += fmt.Sprintf("already exists in the repository with name '%s' in registry with id '%s'", name, s.Account)
		return nil, &awsapi.Error{Code: "ImageAlreadyExistsException", Message: msg}
	}
	return &PutImageOutput{Image: Image{RegistryID: s.Account, RepositoryName: name,
		ImageID:       ImageID{ImageDigest: ptr(string(img.Digest)), ImageTag: in.ImageTag},
		ImageManifest: *in.ImageManifest, ImageManifestMediaType: img.MediaType}}, nil
}

func putImageError(s registry.Scope, name string, in *PutImageInput, err error) error {
	var re *registry.Error
	if !errors.As(err, &re) {
		return err
	}
	switch re.Code {
	case registry.CodeManifestInvalid, registry.CodeSizeInvalid:
		return constraint("ImageManifest", re.Message)
	case registry.CodeDigestInvalid:
		return &awsapi.Error{Code: "ImageDigestDoesNotMatchException",
			Message: fmt.Sprintf("Provided digest '%s' does not match the digest of the image manifest", *in.ImageDigest)}
	case registry.CodeManifestBlobUnknown:
		missing, _ := re.Detail.(registry.MissingContent)
		if len(missing.Blobs) > 0 {
			return &awsapi.Error{Code: "LayersNotFoundException", Message: fmt.Sprintf(
				"Layers with digests '[%s]' required for pushing image into repository with name '%s' in the registry with id '%s' do not exist",
				strings.Join(missing.Blobs, ", "), name, s.Account)}
		}
		return &awsapi.Error{Code: "ReferencedImagesNotFoundException", Message: fmt.Sprintf(
			"Images with digests '[%s]' referenced by the manifest list do not exist in the repository with name '%s' in the registry with id '%s'",
			strings.Join(missing.Manifests, ", "), name, s.Account)}
	case registry.CodeTagInvalid:
		return &awsapi.Error{Code: "ImageTagAlreadyExistsException", Message: re.Message}
	}
	return err
}
