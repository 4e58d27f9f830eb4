package ecr

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/awsjson"
	"github.com/berthhq/berth/internal/registry"
)

// partSize is the part size InitiateLayerUpload asks for (10 MiB). A part
// in base64 stays within the gateway's request body limit.
const partSize = 10 << 20

type Layer struct {
	LayerDigest       string  `json:"layerDigest"`
	LayerAvailability string  `json:"layerAvailability"`
	LayerSize         *int64  `json:"layerSize,omitempty"`
	MediaType         *string `json:"mediaType,omitempty"`
}

type LayerFailure struct {
	LayerDigest   *string `json:"layerDigest,omitempty"`
	FailureCode   string  `json:"failureCode"`
	FailureReason string  `json:"failureReason"`
}

type BatchCheckLayerAvailabilityInput struct {
	RegistryID     *string  `json:"registryId"`
	RepositoryName *string  `json:"repositoryName"`
	LayerDigests   []string `json:"layerDigests"`
}

type BatchCheckLayerAvailabilityOutput struct {
	Layers   []Layer        `json:"layers"`
	Failures []LayerFailure `json:"failures"`
}

func (a *API) BatchCheckLayerAvailability(ctx context.Context, in *BatchCheckLayerAvailabilityInput) (*BatchCheckLayerAvailabilityOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if len(in.LayerDigests) < 1 || len(in.LayerDigests) > 100 {
		return nil, constraint("layerDigests", "Member must have length between 1 and 100")
	}
	if _, _, err := a.repository(s, name); err != nil {
		return nil, err
	}
	out := &BatchCheckLayerAvailabilityOutput{Layers: []Layer{}, Failures: []LayerFailure{}}
	for _, ld := range in.LayerDigests {
		if ld == "" {
			out.Failures = append(out.Failures, LayerFailure{FailureCode: "MissingLayerDigest", FailureReason: "Missing layer digest"})
			continue
		}
		d, ok := registry.ParseDigest(ld)
		if !ok {
			out.Failures = append(out.Failures, LayerFailure{LayerDigest: ptr(ld), FailureCode: "InvalidLayerDigest", FailureReason: "Invalid layer digest"})
			continue
		}
		size, ok := a.reg.BlobSize(s, name, d)
		if !ok {
			out.Layers = append(out.Layers, Layer{LayerDigest: ld, LayerAvailability: "UNAVAILABLE"})
			continue
		}
		out.Layers = append(out.Layers, Layer{LayerDigest: ld, LayerAvailability: "AVAILABLE", LayerSize: ptr(size)})
	}
	return out, nil
}

type InitiateLayerUploadInput struct {
	RegistryID     *string `json:"registryId"`
	RepositoryName *string `json:"repositoryName"`
}

type InitiateLayerUploadOutput struct {
	UploadID string `json:"uploadId"`
	PartSize int64  `json:"partSize"`
}

func (a *API) InitiateLayerUpload(ctx context.Context, in *InitiateLayerUploadInput) (*InitiateLayerUploadOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	id, err := a.reg.StartUpload(s, name, "sha256")
	if err != nil {
		return nil, err
	}
	return &InitiateLayerUploadOutput{UploadID: id, PartSize: partSize}, nil
}

type UploadLayerPartInput struct {
	RegistryID     *string `json:"registryId"`
	RepositoryName *string `json:"repositoryName"`
	UploadID       *string `json:"uploadId"`
	PartFirstByte  *int64  `json:"partFirstByte"`
	PartLastByte   *int64  `json:"partLastByte"`
	LayerPartBlob  *string `json:"layerPartBlob"` // base64
}

type UploadLayerPartOutput struct {
	RegistryID       string `json:"registryId"`
	RepositoryName   string `json:"repositoryName"`
	UploadID         string `json:"uploadId"`
	LastByteReceived int64  `json:"lastByteReceived"`
}

func uploadNotFound(s registry.Scope, name, id string) *awsapi.Error {
	return &awsapi.Error{Code: "UploadNotFoundException", Message: fmt.Sprintf(
		"The upload with id '%s' does not exist in the repository with name '%s' in the registry with id '%s'", id, name, s.Account)}
}

// uploadError translates the registry's errors about upload sessions.
func uploadError(s registry.Scope, name, id string, err error) error {
	var re *registry.Error
	if !errors.As(err, &re) {
		return err
	}
	switch re.Code {
	case registry.CodeBlobUploadUnknown:
		return uploadNotFound(s, name, id)
	case registry.CodeBlobUploadInvalid, registry.CodeSizeInvalid:
		return &awsapi.Error{Code: "InvalidLayerPartException", Message: fmt.Sprintf(
			"The layer part for upload id '%s' is invalid: %s. The last valid byte received is %d.", id, re.Message, re.Offset-1)}
	case registry.CodeDigestInvalid:
		return &awsapi.Error{Code: "InvalidLayerException", Message: fmt.Sprintf(
			"The layer digest calculated for upload id '%s' does not match the expected digest", id)}
	}
	return err
}

func (a *API) UploadLayerPart(ctx context.Context, in *UploadLayerPartInput) (*UploadLayerPartOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	switch {
	case in.UploadID == nil:
		return nil, constraint("uploadId", "Member must not be null")
	case in.PartFirstByte == nil || *in.PartFirstByte < 0:
		return nil, constraint("partFirstByte", "Member must have value greater than or equal to 0")
	case in.PartLastByte == nil || *in.PartLastByte < 0:
		return nil, constraint("partLastByte", "Member must have value greater than or equal to 0")
	case in.LayerPartBlob == nil:
		return nil, constraint("layerPartBlob", "Member must not be null")
	}
	data, err := base64.StdEncoding.DecodeString(*in.LayerPartBlob)
	if err != nil {
		return nil, &awsapi.Error{Code: "SerializationException", Message: "layerPartBlob is not valid base64."}
	}
	if _, _, err := a.repository(s, name); err != nil {
		return nil, err
	}
	last, err := a.reg.WriteUploadPart(s, name, *in.UploadID, *in.PartFirstByte, *in.PartLastByte, data)
	if err != nil {
		return nil, uploadError(s, name, *in.UploadID, err)
	}
	return &UploadLayerPartOutput{RegistryID: s.Account, RepositoryName: name, UploadID: *in.UploadID, LastByteReceived: last}, nil
}

type CompleteLayerUploadInput struct {
	RegistryID     *string  `json:"registryId"`
	RepositoryName *string  `json:"repositoryName"`
	UploadID       *string  `json:"uploadId"`
	LayerDigests   []string `json:"layerDigests"`
}

type CompleteLayerUploadOutput struct {
	RegistryID     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
	UploadID       string `json:"uploadId"`
	LayerDigest    string `json:"layerDigest"`
}

func (a *API) CompleteLayerUpload(ctx context.Context, in *CompleteLayerUploadInput) (*CompleteLayerUploadOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if in.UploadID == nil {
		return nil, constraint("uploadId", "Member must not be null")
	}
	if len(in.LayerDigests) != 1 {
		return nil, invalidParam("Invalid parameter: exactly one layer digest must be specified.")
	}
	d, ok := registry.ParseDigest(in.LayerDigests[0])
	if !ok {
		return nil, &awsapi.Error{Code: "InvalidLayerException", Message: fmt.Sprintf("The layer digest '%s' is not a valid digest.", in.LayerDigests[0])}
	}
	if _, _, err := a.repository(s, name); err != nil {
		return nil, err
	}
	if _, exists := a.reg.BlobSize(s, name, d); exists {
		return nil, &awsapi.Error{Code: "LayerAlreadyExistsException", Message: fmt.Sprintf(
			"The layer with digest '%s' already exists in the repository with name '%s' in the registry with id '%s'", d, name, s.Account)}
	}
	if _, err := a.reg.CompleteUpload(ctx, s, name, *in.UploadID, d); err != nil {
		var re *registry.Error
		if errors.As(err, &re) && re.Code == registry.CodeBlobUploadInvalid {
			return nil, &awsapi.Error{Code: "EmptyUploadException", Message: fmt.Sprintf("The upload with id '%s' contains no layer parts.", *in.UploadID)}
		}
		return nil, uploadError(s, name, *in.UploadID, err)
	}
	return &CompleteLayerUploadOutput{RegistryID: s.Account, RepositoryName: name, UploadID: *in.UploadID, LayerDigest: string(d)}, nil
}

type GetDownloadURLForLayerInput struct {
	RegistryID     *string `json:"registryId"`
	RepositoryName *string `json:"repositoryName"`
	LayerDigest    *string `json:"layerDigest"`
}

type GetDownloadURLForLayerOutput struct {
	DownloadURL string `json:"downloadUrl"`
	LayerDigest string `json:"layerDigest"`
}

// GetDownloadUrlForLayer returns a URL on the registry that reads the layer
// for an hour without other credentials, as ECR's pre-signed URLs do.
func (a *API) GetDownloadUrlForLayer(ctx context.Context, in *GetDownloadURLForLayerInput) (*GetDownloadURLForLayerOutput, error) {
	s, name, err := target(ctx, in.RegistryID, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	if in.LayerDigest == nil {
		return nil, constraint("layerDigest", "Member must not be null")
	}
	if _, _, err := a.repository(s, name); err != nil {
		return nil, err
	}
	d, ok := registry.ParseDigest(*in.LayerDigest)
	if !ok {
		return nil, constraint("layerDigest", "must satisfy regular expression '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'")
	}
	if _, exists := a.reg.BlobSize(s, name, d); !exists {
		return nil, &awsapi.Error{Code: "LayersNotFoundException", Message: fmt.Sprintf(
			"The layer with digest '%s' does not exist in the repository with name '%s' in the registry with id '%s'", d, name, s.Account)}
	}
	u := a.reg.DownloadURL(s, awsapi.CallerFrom(ctx).PrincipalARN, name, d, a.now())
	return &GetDownloadURLForLayerOutput{DownloadURL: u, LayerDigest: string(d)}, nil
}

type GetAuthorizationTokenInput struct {
	RegistryIDs []string `json:"registryIds"`
}

type AuthorizationData struct {
	AuthorizationToken string       `json:"authorizationToken"`
	ExpiresAt          awsjson.Time `json:"expiresAt"`
	ProxyEndpoint      string       `json:"proxyEndpoint"`
}

type GetAuthorizationTokenOutput struct {
	AuthorizationData []AuthorizationData `json:"authorizationData"`
}

// GetAuthorizationToken returns a registry password for the caller, valid
// for 12 hours, as docker login's Basic credentials "AWS:<password>".
func (a *API) GetAuthorizationToken(ctx context.Context, in *GetAuthorizationTokenInput) (*GetAuthorizationTokenOutput, error) {
	if len(in.RegistryIDs) > 10 {
		return nil, constraint("registryIds", "Member must have length less than or equal to 10")
	}
	for _, id := range in.RegistryIDs {
		if !accountRE.MatchString(id) {
			return nil, constraint("registryIds.member", "must satisfy regular expression '[0-9]{12}'")
		}
	}
	c := awsapi.CallerFrom(ctx)
	tok, exp := a.reg.MintToken(c.Account, c.Region, c.PrincipalARN, a.now())
	return &GetAuthorizationTokenOutput{AuthorizationData: []AuthorizationData{{
		AuthorizationToken: base64.StdEncoding.EncodeToString([]byte("AWS:" + tok)),
		ExpiresAt:          awsjson.At(exp),
		ProxyEndpoint:      a.reg.Endpoint(),
	}}}, nil
}

type DescribeRegistryOutput struct {
	RegistryID               string                   `json:"registryId"`
	ReplicationConfiguration ReplicationConfiguration `json:"replicationConfiguration"`
}

type ReplicationConfiguration struct {
	Rules []struct{} `json:"rules"`
}

func (a *API) DescribeRegistry(ctx context.Context, _ *empty) (*DescribeRegistryOutput, error) {
	return &DescribeRegistryOutput{RegistryID: caller(ctx).Account, ReplicationConfiguration: ReplicationConfiguration{Rules: []struct{}{}}}, nil
}
