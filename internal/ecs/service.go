package ecs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/state"
)

// TargetPrefix is the X-Amz-Target prefix of the ECS API.
const TargetPrefix = "AmazonEC2ContainerServiceV20141113"

// Config configures the ECS API.
type Config struct {
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// API serves the ECS operations.
type API struct {
	store *state.Store
	log   *slog.Logger
	now   func() time.Time
}

// New returns the ECS API over store.
func New(cfg Config, store *state.Store) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &API{store: store, log: cfg.Logger.With("component", "ecs"), now: cfg.Now}
}

// Service returns the ECS API's registration with the gateway.
func (a *API) Service() *awsapi.JSONService {
	return &awsapi.JSONService{
		SigningName:     "ecs",
		TargetPrefix:    TargetPrefix,
		JSONVersion:     "1.1",
		ServerErrorCode: "ServerException",
		MapError:        mapError,
		Ops: map[string]awsapi.JSONHandler{
			"CreateCluster":               awsapi.JSON(a.CreateCluster),
			"DescribeClusters":            awsapi.JSON(a.DescribeClusters),
			"ListClusters":                awsapi.JSON(a.ListClusters),
			"UpdateCluster":               awsapi.JSON(a.UpdateCluster),
			"UpdateClusterSettings":       awsapi.JSON(a.UpdateClusterSettings),
			"DeleteCluster":               awsapi.JSON(a.DeleteCluster),
			"PutClusterCapacityProviders": awsapi.JSON(a.PutClusterCapacityProviders),
			"DescribeCapacityProviders":   awsapi.JSON(a.DescribeCapacityProviders),
			"RegisterTaskDefinition":      awsapi.JSON(a.RegisterTaskDefinition),
			"DescribeTaskDefinition":      awsapi.JSON(a.DescribeTaskDefinition),
			"ListTaskDefinitions":         awsapi.JSON(a.ListTaskDefinitions),
			"ListTaskDefinitionFamilies":  awsapi.JSON(a.ListTaskDefinitionFamilies),
			"DeregisterTaskDefinition":    awsapi.JSON(a.DeregisterTaskDefinition),
			"DeleteTaskDefinitions":       awsapi.JSON(a.DeleteTaskDefinitions),
			"TagResource":                 awsapi.JSON(a.TagResource),
			"UntagResource":               awsapi.JSON(a.UntagResource),
			"ListTagsForResource":         awsapi.JSON(a.ListTagsForResource),
		},
	}
}

// mapError names the domain errors of the state store as ECS does.
func mapError(err error) *awsapi.Error {
	e, ok := errdefs.As(err)
	if !ok {
		if errors.Is(err, errdefs.ErrUnavailable) {
			return &awsapi.Error{Code: "ServerException", Message: "The service is temporarily unavailable; retry the request.", Status: 503, Server: true}
		}
		return nil
	}
	switch {
	case errors.Is(e, errdefs.ErrNotFound):
		switch e.Kind {
		case "cluster":
			return &awsapi.Error{Code: "ClusterNotFoundException", Message: e.Message}
		case "task-definition":
			return &awsapi.Error{Code: "ClientException", Message: e.Message}
		}
		return &awsapi.Error{Code: "ResourceNotFoundException", Message: e.Message}
	case errors.Is(e, errdefs.ErrInvalidArgument):
		if e.Reason == "client" || e.Kind == "task-definition" {
			return &awsapi.Error{Code: "ClientException", Message: e.Message}
		}
		return &awsapi.Error{Code: "InvalidParameterException", Message: e.Message}
	case errors.Is(e, errdefs.ErrLimitExceeded):
		return &awsapi.Error{Code: "LimitExceededException", Message: e.Message}
	case errors.Is(e, errdefs.ErrConflict):
		return &awsapi.Error{Code: "UpdateInProgressException", Message: "There is already a current update in progress for this resource; retry the request."}
	case errors.Is(e, errdefs.ErrUnavailable):
		return &awsapi.Error{Code: "ServerException", Message: "The service is temporarily unavailable; retry the request.", Status: 503, Server: true}
	}
	return nil
}

func invalidParam(format string, args ...any) *awsapi.Error {
	return &awsapi.Error{Code: "InvalidParameterException", Message: fmt.Sprintf(format, args...)}
}

func clientErr(format string, args ...any) *awsapi.Error {
	return &awsapi.Error{Code: "ClientException", Message: fmt.Sprintf(format, args...)}
}

// retryConflicts runs an optimistic read-modify-write until it does not
// conflict with a concurrent writer, a few times at most.
func retryConflicts[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for attempt := 0; attempt < 8; attempt++ {
		v, err = fn()
		if !errors.Is(err, errdefs.ErrConflict) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * time.Millisecond):
		}
	}
	return v, err
}
