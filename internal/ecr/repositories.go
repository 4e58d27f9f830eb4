package ecr

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsjson"
	"github.com/berthhq/berth/internal/registry"
)

var (
	// repositoryNameRE is ECR's pattern for repository names.
	repositoryNameRE = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	accountRE        = regexp.MustCompile(`^[0-9]{12}$`)
	exclusionRE      = regexp.MustCompile(`^[0-9a-zA-Z._*-]{1,128}$`)
)

func checkRepositoryName(name string) error {
	switch {
	case len(name) < 2:
		return constraint("repositoryName", "Member must have length greater than or equal to 2")
	case len(name) > 256:
		return constraint("repositoryName", "Member must have length less than or equal to 256")
	case !repositoryNameRE.MatchString(name):
		return constraint("repositoryName", "must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*'")
	}
	return nil
}

// Tag is a resource tag.
type Tag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

type ExclusionFilter struct {
	FilterType *string `json:"filterType"`
	Filter     *string `json:"filter"`
}

type ScanningConfiguration struct {
	ScanOnPush bool `json:"scanOnPush"`
}

type EncryptionConfiguration struct {
	EncryptionType *string `json:"encryptionType"`
	KMSKey         *string `json:"kmsKey,omitempty"`
}

// Repository is ECR's Repository shape.
type Repository struct {
	RepositoryArn                      string                   `json:"repositoryArn"`
	RegistryID                         string                   `json:"registryId"`
	RepositoryName                     string                   `json:"repositoryName"`
	RepositoryURI                      string                   `json:"repositoryUri"`
	CreatedAt                          awsjson.Time             `json:"createdAt"`
	ImageTagMutability                 string                   `json:"imageTagMutability"`
	ImageTagMutabilityExclusionFilters []ExclusionFilter        `json:"imageTagMutabilityExclusionFilters,omitempty"`
	ImageScanningConfiguration         ScanningConfiguration    `json:"imageScanningConfiguration"`
	EncryptionConfiguration            *EncryptionConfiguration `json:"encryptionConfiguration"`
}

func repositoryARN(s registry.Scope, name string) string {
	return "arn:aws:ecr:" + s.Region + ":" + s.Account + ":repository/" + name
}

func (a *API) render(s registry.Scope, repo *registry.Repository, st *settings) Repository {
	out := Repository{
		RepositoryArn: repositoryARN(s, repo.Name), RegistryID: s.Account, RepositoryName: repo.Name,
		RepositoryURI: a.host + "/" + repo.Name, CreatedAt: awsjson.At(repo.CreatedAt),
		ImageTagMutability:                 repo.Mutability,
		ImageTagMutabilityExclusionFilters: renderFilters(repo.Exclusions),
		ImageScanningConfiguration:         ScanningConfiguration{ScanOnPush: st.ScanOnPush},
		EncryptionConfiguration:            &EncryptionConfiguration{EncryptionType: ptr(st.EncryptionType)},
	}
	if out.ImageTagMutability == "" {
		out.ImageTagMutability = registry.Mutable
	}
	if st.KMSKey != "" {
		out.EncryptionConfiguration.KMSKey = ptr(st.KMSKey)
	}
	return out
}

func renderFilters(ex []string) []ExclusionFilter {
	var out []ExclusionFilter
	for _, f := range ex {
		out = append(out, ExclusionFilter{FilterType: ptr("WILDCARD"), Filter: ptr(f)})
	}
	return out
}

func ptr[T any](v T) *T { return &v }

var mutabilities = []string{registry.Mutable, registry.Immutable, registry.ImmutableWithExclusion, registry.MutableWithExclusion}

// checkMutability validates a tag mutability setting and its filters and
// returns the filters' patterns.
func checkMutability(m *string, filters []ExclusionFilter) (string, []string, error) {
	mode := registry.Mutable
	if m != nil {
		mode = *m
	}
	if !slices.Contains(mutabilities, mode) {
		return "", nil, constraint("imageTagMutability", "Member must satisfy enum value set: ["+strings.Join(mutabilities, ", ")+"]")
	}
	withExclusion := mode == registry.ImmutableWithExclusion || mode == registry.MutableWithExclusion
	switch {
	case withExclusion && len(filters) == 0:
		return "", nil, invalidParam("imageTagMutabilityExclusionFilters must be specified when imageTagMutability is %s.", mode)
	case !withExclusion && len(filters) > 0:
		return "", nil, invalidParam("imageTagMutabilityExclusionFilters can only be specified when imageTagMutability is %s or %s.", registry.ImmutableWithExclusion, registry.MutableWithExclusion)
	case len(filters) > 5:
		return "", nil, constraint("imageTagMutabilityExclusionFilters", "Member must have length less than or equal to 5")
	}
	var out []string
	for _, f := range filters {
		if f.FilterType == nil || *f.FilterType != "WILDCARD" {
			return "", nil, constraint("imageTagMutabilityExclusionFilters.member.filterType", "Member must satisfy enum value set: [WILDCARD]")
		}
		if f.Filter == nil || !exclusionRE.MatchString(*f.Filter) {
			return "", nil, constraint("imageTagMutabilityExclusionFilters.member.filter", "Member must satisfy regular expression pattern: ^[0-9a-zA-Z._*-]{1,128}$")
		}
		out = append(out, *f.Filter)
	}
	return mode, out, nil
}

// checkTags validates resource tags as ECR does.
func checkTags(tags []Tag) error {
	if len(tags) > 50 {
		return &awsapi.Error{Code: "TooManyTagsException", Message: "The tag limit of 50 for this resource was exceeded."}
	}
	for _, t := range tags {
		if t.Key == nil || len(*t.Key) < 1 || len(*t.Key) > 128 || strings.HasPrefix(strings.ToLower(*t.Key), "aws:") {
			return &awsapi.Error{Code: "InvalidTagParameterException", Message: "Invalid parameter: tag keys must have between 1 and 128 characters and must not start with 'aws:'."}
		}
		if t.Value == nil || len(*t.Value) > 256 {
			return &awsapi.Error{Code: "InvalidTagParameterException", Message: "Invalid parameter: tag values must have at most 256 characters."}
		}
	}
	return nil
}

// mergeTags sets the new tags over the old ones, keeping keys unique.
func mergeTags(old, add []Tag) []Tag {
	out := slices.Clone(old)
	for _, t := range add {
		i := slices.IndexFunc(out, func(o Tag) bool { return *o.Key == *t.Key })
		if i >= 0 {
			out[i] = t
		} else {
			out = append(out, t)
		}
	}
	return out
}

type CreateRepositoryInput struct {
	RegistryID                         *string                  `json:"registryId"`
	RepositoryName                     *string                  `json:"repositoryName"`
	Tags                               []Tag                    `json:"tags"`
	ImageTagMutability                 *string                  `json:"imageTagMutability"`
	ImageTagMutabilityExclusionFilters []ExclusionFilter        `json:"imageTagMutabilityExclusionFilters"`
	ImageScanningConfiguration         *ScanningConfiguration   `json:"imageScanningConfiguration"`
	EncryptionConfiguration            *EncryptionConfiguration `json:"encryptionConfiguration"`
}

type CreateRepositoryOutput struct {
	Repository Repository `json:"repository"`
}

func (a *API) CreateRepository(ctx context.Context, in *CreateRepositoryInput) (*CreateRepositoryOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	mode, filters, err := checkMutability(in.ImageTagMutability, in.ImageTagMutabilityExclusionFilters)
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	st := &settings{EncryptionType: "AES256", Tags: mergeTags(nil, in.Tags)}
	if in.ImageScanningConfiguration != nil {
		st.ScanOnPush = in.ImageScanningConfiguration.ScanOnPush
	}
	if ec := in.EncryptionConfiguration; ec != nil {
		if ec.EncryptionType == nil || !slices.Contains([]string{"AES256", "KMS", "KMS_DSSE"}, *ec.EncryptionType) {
			return nil, constraint("encryptionConfiguration.encryptionType", "Member must satisfy enum value set: [AES256, KMS, KMS_DSSE]")
		}
		st.EncryptionType = *ec.EncryptionType
		switch {
		case st.EncryptionType == "AES256" && ec.KMSKey != nil:
			return nil, invalidParam("Invalid parameter: kmsKey can only be specified when encryptionType is KMS or KMS_DSSE.")
		case ec.KMSKey != nil:
			st.KMSKey = *ec.KMSKey
		case st.EncryptionType != "AES256":
			// The AWS managed key of ECR in the account.
			st.KMSKey = "arn:aws:kms:" + s.Region + ":" + s.Account + ":alias/aws/ecr"
		}
	}
	repo := registry.Repository{Name: name, CreatedAt: a.now().UTC(), Mutability: mode, Exclusions: filters}
	st.store(&repo)
	created, err := a.reg.CreateRepository(ctx, s, repo)
	if err != nil {
		return nil, err
	}
	return &CreateRepositoryOutput{Repository: a.render(s, created, st)}, nil
}

type DescribeRepositoriesInput struct {
	RegistryID      *string  `json:"registryId"`
	RepositoryNames []string `json:"repositoryNames"`
	NextToken       *string  `json:"nextToken"`
	MaxResults      *int32   `json:"maxResults"`
}

type DescribeRepositoriesOutput struct {
	Repositories []Repository `json:"repositories"`
	NextToken    *string      `json:"nextToken,omitempty"`
}

func (a *API) DescribeRepositories(ctx context.Context, in *DescribeRepositoriesInput) (*DescribeRepositoriesOutput, error) {
	s := caller(ctx)
	if in.RegistryID != nil && *in.RegistryID != s.Account {
		if len(in.RepositoryNames) > 0 {
			return nil, notFound(*in.RegistryID, in.RepositoryNames[0])
		}
		return &DescribeRepositoriesOutput{Repositories: []Repository{}}, nil
	}
	out := &DescribeRepositoriesOutput{Repositories: []Repository{}}
	if len(in.RepositoryNames) > 0 {
		if in.NextToken != nil || in.MaxResults != nil {
			return nil, invalidParam("Invalid parameter: nextToken and maxResults cannot be specified with repositoryNames.")
		}
		if len(in.RepositoryNames) > 100 {
			return nil, constraint("repositoryNames", "Member must have length less than or equal to 100")
		}
		for _, n := range in.RepositoryNames {
			if err := checkRepositoryName(n); err != nil {
				return nil, err
			}
			repo, st, err := a.repository(s, n)
			if err != nil {
				return nil, err
			}
			out.Repositories = append(out.Repositories, a.render(s, repo, st))
		}
		return out, nil
	}
	n, after, err := pageArgs(in.MaxResults, in.NextToken, 1000)
	if err != nil {
		return nil, err
	}
	for repo := range a.reg.Repositories(s, after) {
		if len(out.Repositories) == n {
			out.NextToken = encodeToken(out.Repositories[n-1].RepositoryName)
			break
		}
		st, err := readSettings(repo)
		if err != nil {
			return nil, err
		}
		out.Repositories = append(out.Repositories, a.render(s, repo, st))
	}
	return out, nil
}

type DeleteRepositoryInput struct {
	RegistryID     *string `json:"registryId"`
	RepositoryName *string `json:"repositoryName"`
	Force          bool    `json:"force"`
}

type DeleteRepositoryOutput struct {
	Repository Repository `json:"repository"`
}

func (a *API) DeleteRepository(ctx context.Context, in *DeleteRepositoryInput) (*DeleteRepositoryOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	repo, err := a.reg.DeleteRepository(ctx, s, name, in.Force, ownPrefixes(s, name)...)
	if err != nil {
		return nil, err
	}
	st, err := readSettings(repo)
	if err != nil {
		return nil, err
	}
	return &DeleteRepositoryOutput{Repository: a.render(s, repo, st)}, nil
}

type PutImageTagMutabilityInput struct {
	RegistryID                         *string           `json:"registryId"`
	RepositoryName                     *string           `json:"repositoryName"`
	ImageTagMutability                 *string           `json:"imageTagMutability"`
	ImageTagMutabilityExclusionFilters []ExclusionFilter `json:"imageTagMutabilityExclusionFilters"`
}

type PutImageTagMutabilityOutput struct {
	RegistryID                         string            `json:"registryId"`
	RepositoryName                     string            `json:"repositoryName"`
	ImageTagMutability                 string            `json:"imageTagMutability"`
	ImageTagMutabilityExclusionFilters []ExclusionFilter `json:"imageTagMutabilityExclusionFilters,omitempty"`
}

func (a *API) PutImageTagMutability(ctx context.Context, in *PutImageTagMutabilityInput) (*PutImageTagMutabilityOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if in.ImageTagMutability == nil {
		return nil, constraint("imageTagMutability", "Member must not be null")
	}
	mode, filters, err := checkMutability(in.ImageTagMutability, in.ImageTagMutabilityExclusionFilters)
	if err != nil {
		return nil, err
	}
	repo, _, err := a.updateSettings(ctx, s, name, func(r *registry.Repository, _ *settings) error {
		r.Mutability, r.Exclusions = mode, filters
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &PutImageTagMutabilityOutput{RegistryID: s.Account, RepositoryName: name, ImageTagMutability: repo.Mutability,
		ImageTagMutabilityExclusionFilters: renderFilters(repo.Exclusions)}, nil
}

type PutImageScanningConfigurationInput struct {
	RegistryID                 *string                `json:"registryId"`
	RepositoryName             *string                `json:"repositoryName"`
	ImageScanningConfiguration *ScanningConfiguration `json:"imageScanningConfiguration"`
}

type PutImageScanningConfigurationOutput struct {
	RegistryID                 string                `json:"registryId"`
	RepositoryName             string                `json:"repositoryName"`
	ImageScanningConfiguration ScanningConfiguration `json:"imageScanningConfiguration"`
}

// PutImageScanningConfiguration stores the setting; Berth does not scan
// images yet, so scan on push has no effect.
func (a *API) PutImageScanningConfiguration(ctx context.Context, in *PutImageScanningConfigurationInput) (*PutImageScanningConfigurationOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if in.ImageScanningConfiguration == nil {
		return nil, constraint("imageScanningConfiguration", "Member must not be null")
	}
	_, st, err := a.updateSettings(ctx, s, name, func(_ *registry.Repository, st *settings) error {
		st.ScanOnPush = in.ImageScanningConfiguration.ScanOnPush
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &PutImageScanningConfigurationOutput{RegistryID: s.Account, RepositoryName: name,
		ImageScanningConfiguration: ScanningConfiguration{ScanOnPush: st.ScanOnPush}}, nil
}

type ImageID struct {
	ImageDigest *string `json:"imageDigest,omitempty"`
	ImageTag    *string `json:"imageTag,omitempty"`
}

type StartImageScanInput struct {
	RegistryID     *string  `json:"registryId"`
	RepositoryName *string  `json:"repositoryName"`
	ImageID        *ImageID `json:"imageId"`
}

type DescribeImageScanFindingsInput struct {
	RegistryID     *string  `json:"registryId"`
	RepositoryName *string  `json:"repositoryName"`
	ImageID        *ImageID `json:"imageId"`
}

type empty struct{}

// scanningUnsupported says plainly that Berth has no image scanner yet;
// the codes are the ones ECR's model gives these operations for an image
// that cannot be scanned and for a scan that does not exist.
const scanningUnsupported = "Image scanning is not supported by Berth yet."

func (a *API) StartImageScan(ctx context.Context, in *StartImageScanInput) (*empty, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if _, _, err := a.repository(s, name); err != nil {
		return nil, err
	}
	return nil, &awsapi.Error{Code: "UnsupportedImageTypeException", Message: scanningUnsupported}
}

func (a *API) DescribeImageScanFindings(ctx context.Context, in *DescribeImageScanFindingsInput) (*empty, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if _, _, err := a.repository(s, name); err != nil {
		return nil, err
	}
	return nil, &awsapi.Error{Code: "ScanNotFoundException", Message: scanningUnsupported + " No scan exists for the image."}
}

// Repository policies.

type SetRepositoryPolicyInput struct {
	RegistryID     *string `json:"registryId"`
	RepositoryName *string `json:"repositoryName"`
	PolicyText     *string `json:"policyText"`
	Force          bool    `json:"force"`
}

type RepositoryPolicyOutput struct {
	RegistryID     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
	PolicyText     string `json:"policyText"`
}

type RepositoryPolicyInput struct {
	RegistryID     *string `json:"registryId"`
	RepositoryName *string `json:"repositoryName"`
}

// checkPolicy accepts a JSON policy document with a Version and a non-empty
// Statement (an object or a list), as ECR's basic validation does.
func checkPolicy(text *string) error {
	bad := constraint("PolicyText", "Invalid repository policy provided")
	if text == nil {
		return constraint("policyText", "Member must not be null")
	}
	if len(*text) > 10240 {
		return constraint("policyText", "Member must have length less than or equal to 10240")
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(*text), &doc); err != nil {
		return bad
	}
	var version string
	if err := json.Unmarshal(doc["Version"], &version); err != nil || (version != "2012-10-17" && version != "2008-10-17") {
		return bad
	}
	stmt := doc["Statement"]
	var one map[string]json.RawMessage
	var many []map[string]json.RawMessage
	if json.Unmarshal(stmt, &one) == nil && len(one) > 0 {
		many = []map[string]json.RawMessage{one}
	} else if err := json.Unmarshal(stmt, &many); err != nil || len(many) == 0 {
		return bad
	}
	for _, st := range many {
		var effect string
		if err := json.Unmarshal(st["Effect"], &effect); err != nil || (effect != "Allow" && effect != "Deny") {
			return bad
		}
		if st["Action"] == nil && st["NotAction"] == nil {
			return bad
		}
	}
	return nil
}

func policyNotFound(s registry.Scope, name string) *awsapi.Error {
	return &awsapi.Error{Code: "RepositoryPolicyNotFoundException",
		Message: fmt.Sprintf("Repository policy does not exist for the repository with name '%s' in the registry with id '%s'", name, s.Account)}
}

func (a *API) SetRepositoryPolicy(ctx context.Context, in *SetRepositoryPolicyInput) (*RepositoryPolicyOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if err := checkPolicy(in.PolicyText); err != nil {
		return nil, err
	}
	if _, _, err := a.updateSettings(ctx, s, name, func(_ *registry.Repository, st *settings) error {
		st.Policy = *in.PolicyText
		return nil
	}); err != nil {
		return nil, err
	}
	return &RepositoryPolicyOutput{RegistryID: s.Account, RepositoryName: name, PolicyText: *in.PolicyText}, nil
}

func (a *API) GetRepositoryPolicy(ctx context.Context, in *RepositoryPolicyInput) (*RepositoryPolicyOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	_, st, err := a.repository(s, name)
	if err != nil {
		return nil, err
	}
	if st.Policy == "" {
		return nil, policyNotFound(s, name)
	}
	return &RepositoryPolicyOutput{RegistryID: s.Account, RepositoryName: name, PolicyText: st.Policy}, nil
}

func (a *API) DeleteRepositoryPolicy(ctx context.Context, in *RepositoryPolicyInput) (*RepositoryPolicyOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	var old string
	if _, _, err := a.updateSettings(ctx, s, name, func(_ *registry.Repository, st *settings) error {
		if st.Policy == "" {
			return policyNotFound(s, name)
		}
		old, st.Policy = st.Policy, ""
		return nil
	}); err != nil {
		return nil, err
	}
	return &RepositoryPolicyOutput{RegistryID: s.Account, RepositoryName: name, PolicyText: old}, nil
}

// Resource tags.

type TagResourceInput struct {
	ResourceArn *string `json:"resourceArn"`
	Tags        []Tag   `json:"tags"`
}

type UntagResourceInput struct {
	ResourceArn *string  `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}

type ListTagsForResourceInput struct {
	ResourceArn *string `json:"resourceArn"`
}

type ListTagsForResourceOutput struct {
	Tags []Tag `json:"tags"`
}

// arnRepository resolves a repository ARN of the caller's tenancy.
func arnRepository(ctx context.Context, arn *string) (registry.Scope, string, error) {
	s := caller(ctx)
	invalid := constraint("resourceArn", "Invalid ARN")
	if arn == nil {
		return s, "", invalid
	}
	parts := strings.SplitN(*arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] != "aws" || parts[2] != "ecr" || !strings.HasPrefix(parts[5], "repository/") {
		return s, "", invalid
	}
	name := strings.TrimPrefix(parts[5], "repository/")
	if err := checkRepositoryName(name); err != nil {
		return s, "", invalid
	}
	if parts[3] != s.Region || parts[4] != s.Account {
		return s, "", notFound(parts[4], name)
	}
	return s, name, nil
}

func (a *API) TagResource(ctx context.Context, in *TagResourceInput) (*empty, error) {
	s, name, err := arnRepository(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	_, _, err = a.updateSettings(ctx, s, name, func(_ *registry.Repository, st *settings) error {
		merged := mergeTags(st.Tags, in.Tags)
		if err := checkTags(merged); err != nil {
			return err
		}
		st.Tags = merged
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &empty{}, nil
}

func (a *API) UntagResource(ctx context.Context, in *UntagResourceInput) (*empty, error) {
	s, name, err := arnRepository(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	_, _, err = a.updateSettings(ctx, s, name, func(_ *registry.Repository, st *settings) error {
		st.Tags = slices.DeleteFunc(st.Tags, func(t Tag) bool { return slices.Contains(in.TagKeys, *t.Key) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &empty{}, nil
}

func (a *API) ListTagsForResource(ctx context.Context, in *ListTagsForResourceInput) (*ListTagsForResourceOutput, error) {
	s, name, err := arnRepository(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	_, st, err := a.repository(s, name)
	if err != nil {
		return nil, err
	}
	return &ListTagsForResourceOutput{Tags: append([]Tag{}, st.Tags...)}, nil
}
