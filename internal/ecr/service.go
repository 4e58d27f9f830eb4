package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/registry"
	"github.com/berthhq/berth/internal/state"
)

// TargetPrefix is the X-Amz-Target prefix of the ECR API.
const TargetPrefix = "AmazonEC2ContainerRegistry_V20150921"

// Config configures the ECR API.
type Config struct {
	// Host is the registry host repository URIs start with; empty means
	// the registry's.
	Host   string
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// LifecycleInterval is how often Run evaluates every lifecycle policy
	// even when nothing was pushed (1 hour); pushes trigger an evaluation
	// of their repository at once.
	LifecycleInterval time.Duration
}

// API serves the ECR operations over the registry's metadata.
type API struct {
	store    *state.Store
	reg      *registry.Registry
	log      *slog.Logger
	now      func() time.Time
	host     string
	interval time.Duration

	// evaluated remembers, per repository document key, what Run last
	// evaluated; only Run touches it.
	evaluated map[string]evaluation
}

// New returns the ECR API over store and reg.
func New(cfg Config, store *state.Store, reg *registry.Registry) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Host == "" {
		cfg.Host = reg.Host()
	}
	if cfg.LifecycleInterval == 0 {
		cfg.LifecycleInterval = time.Hour
	}
	return &API{store: store, reg: reg, log: cfg.Logger.With("component", "ecr"), now: cfg.Now,
		host: cfg.Host, interval: cfg.LifecycleInterval, evaluated: map[string]evaluation{}}
}

// Service returns the ECR API's registration with the gateway.
func (a *API) Service() *awsapi.JSONService {
	return &awsapi.JSONService{
		SigningName:     "ecr",
		TargetPrefix:    TargetPrefix,
		JSONVersion:     "1.1",
		ServerErrorCode: "ServerException",
		MapError:        mapError,
		Ops: map[string]awsapi.JSONHandler{
			"CreateRepository":              awsapi.JSON(a.CreateRepository),
			"DescribeRepositories":          awsapi.JSON(a.DescribeRepositories),
			"DeleteRepository":              awsapi.JSON(a.DeleteRepository),
			"PutImageTagMutability":         awsapi.JSON(a.PutImageTagMutability),
			"PutImageScanningConfiguration": awsapi.JSON(a.PutImageScanningConfiguration),
			"DescribeImages":                awsapi.JSON(a.DescribeImages),
			"ListImages":                    awsapi.JSON(a.ListImages),
			"BatchGetImage":                 awsapi.JSON(a.BatchGetImage),
			"BatchDeleteImage":              awsapi.JSON(a.BatchDeleteImage),
			"PutImage":                      awsapi.JSON(a.PutImage),
			"GetAuthorizationToken":         awsapi.JSON(a.GetAuthorizationToken),
			"DescribeRegistry":              awsapi.JSON(a.DescribeRegistry),
			"BatchCheckLayerAvailability":   awsapi.JSON(a.BatchCheckLayerAvailability),
			"InitiateLayerUpload":           awsapi.JSON(a.InitiateLayerUpload),
			"UploadLayerPart":               awsapi.JSON(a.UploadLayerPart),
			"CompleteLayerUpload":           awsapi.JSON(a.CompleteLayerUpload),
			"GetDownloadUrlForLayer":        awsapi.JSON(a.GetDownloadUrlForLayer),
			"GetRepositoryPolicy":           awsapi.JSON(a.GetRepositoryPolicy),
			"SetRepositoryPolicy":           awsapi.JSON(a.SetRepositoryPolicy),
			"DeleteRepositoryPolicy":        awsapi.JSON(a.DeleteRepositoryPolicy),
			"PutLifecyclePolicy":            awsapi.JSON(a.PutLifecyclePolicy),
			"GetLifecyclePolicy":            awsapi.JSON(a.GetLifecyclePolicy),
			"DeleteLifecyclePolicy":         awsapi.JSON(a.DeleteLifecyclePolicy),
			"StartLifecyclePolicyPreview":   awsapi.JSON(a.StartLifecyclePolicyPreview),
			"GetLifecyclePolicyPreview":     awsapi.JSON(a.GetLifecyclePolicyPreview),
			"TagResource":                   awsapi.JSON(a.TagResource),
			"UntagResource":                 awsapi.JSON(a.UntagResource),
			"ListTagsForResource":           awsapi.JSON(a.ListTagsForResource),
			"StartImageScan":                awsapi.JSON(a.StartImageScan),
			"DescribeImageScanFindings":     awsapi.JSON(a.DescribeImageScanFindings),
		},
	}
}

// mapError names the errors of the registry and the state store as ECR
// does. Operations translate the registry errors whose ECR name depends on
// the operation themselves.
func mapError(err error) *awsapi.Error {
	var re *registry.Error
	if errors.As(err, &re) {
		switch re.Code {
		case registry.CodeNameUnknown:
			return &awsapi.Error{Code: "RepositoryNotFoundException", Message: re.Message}
		case registry.CodeTagInvalid:
			return &awsapi.Error{Code: "ImageTagAlreadyExistsException", Message: re.Message}
		case registry.CodeTooManyRequests:
			return &awsapi.Error{Code: "LimitExceededException", Message: re.Message}
		case registry.CodeUnavailable:
			return unavailable()
		}
		return nil
	}
	e, ok := errdefs.As(err)
	if !ok {
		if errors.Is(err, errdefs.ErrUnavailable) {
			return unavailable()
		}
		return nil
	}
	switch {
	case errors.Is(e, errdefs.ErrAlreadyExists) && e.Kind == registry.KindRepository:
		return &awsapi.Error{Code: "RepositoryAlreadyExistsException", Message: e.Message}
	case errors.Is(e, errdefs.ErrConflict) && e.Reason == registry.ReasonNotEmpty:
		return &awsapi.Error{Code: "RepositoryNotEmptyException", Message: e.Message}
	case errors.Is(e, errdefs.ErrConflict), errors.Is(e, errdefs.ErrUnavailable):
		return unavailable()
	}
	return nil
}

func unavailable() *awsapi.Error {
	return &awsapi.Error{Code: "ServerException", Message: "The service is temporarily unavailable; retry the request.", Status: 503, Server: true}
}

func invalidParam(format string, args ...any) *awsapi.Error {
	return &awsapi.Error{Code: "InvalidParameterException", Message: fmt.Sprintf(format, args...)}
}

// constraint is ECR's wording of a parameter that fails a constraint.
func constraint(param, what string) *awsapi.Error {
	return invalidParam("Invalid parameter at '%s' failed to satisfy constraint: '%s'", param, what)
}

// caller returns the tenancy of the request.
func caller(ctx context.Context) registry.Scope {
	c := awsapi.CallerFrom(ctx)
	return registry.Scope{Account: c.Account, Region: c.Region}
}

// target resolves the (registryId, repositoryName) of a request to the
// caller's tenancy and a validated name. A registry of another account is
// one whose repositories the caller cannot see.
func target(ctx context.Context, registryID *string, name *string) (registry.Scope, string, error) {
	s := caller(ctx)
	if name == nil {
		return s, "", constraint("repositoryName", "Member must not be null")
	}
	if err := checkRepositoryName(*name); err != nil {
		return s, "", err
	}
	if registryID != nil && *registryID != s.Account {
		if !accountRE.MatchString(*registryID) {
			return s, "", constraint("registryId", "must satisfy regular expression '[0-9]{12}'")
		}
		return s, "", notFound(*registryID, *name)
	}
	return s, *name, nil
}

func notFound(account, name string) *awsapi.Error {
	return &awsapi.Error{Code: "RepositoryNotFoundException",
		Message: fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '%s'", name, account)}
}

// repository reads a repository and its ECR settings.
func (a *API) repository(s registry.Scope, name string) (*registry.Repository, *settings, error) {
	repo := a.reg.Repository(s, name)
	if repo == nil {
		return nil, nil, notFound(s.Account, name)
	}
	st, err := readSettings(repo)
	if err != nil {
		return nil, nil, err
	}
	return repo, st, nil
}

// settings are ECR's own settings of a repository, kept in the registry's
// repository document.
type settings struct {
	ScanOnPush     bool   `json:"scanOnPush,omitempty"`
	EncryptionType string `json:"encryptionType,omitempty"`
	KMSKey         string `json:"kmsKey,omitempty"`
	Tags           []Tag  `json:"tags,omitempty"`
	Policy         string `json:"policy,omitempty"`
	Lifecycle      string `json:"lifecycle,omitempty"`
	LifecycleSetAt int64  `json:"lifecycleSetAt,omitempty"`
}

func readSettings(repo *registry.Repository) (*settings, error) {
	st := &settings{}
	if len(repo.ECR) > 0 {
		if err := json.Unmarshal(repo.ECR, st); err != nil {
			return nil, fmt.Errorf("ecr: settings of %s: %w", repo.Name, err)
		}
	}
	if st.EncryptionType == "" {
		st.EncryptionType = "AES256"
	}
	return st, nil
}

func (st *settings) store(repo *registry.Repository) {
	b, err := json.Marshal(st)
	if err != nil {
		panic(err) // plain strings and bools
	}
	repo.ECR = b
}

// updateSettings changes a repository's ECR settings with fn, atomically.
func (a *API) updateSettings(ctx context.Context, s registry.Scope, name string, fn func(*registry.Repository, *settings) error) (*registry.Repository, *settings, error) {
	var out *settings
	repo, err := a.reg.UpdateRepository(ctx, s, name, func(r *registry.Repository) error {
		st, err := readSettings(r)
		if err != nil {
			return err
		}
		if err := fn(r, st); err != nil {
			return err
		}
		st.store(r)
		out = st
		return nil
	})
	if err != nil {
		var re *registry.Error
		if errors.As(err, &re) && re.Code == registry.CodeNameUnknown {
			return nil, nil, notFound(s.Account, name)
		}
		return nil, nil, err
	}
	return repo, out, nil
}
