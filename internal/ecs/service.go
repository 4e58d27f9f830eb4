package ecs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
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
	// AgentGrace is how long after its last heartbeat an instance's agent
	// still counts as connected.
	AgentGrace time.Duration
	// TargetGroup looks up an ELBv2 target group of a tenancy: whether it
	// exists and the load balancers that forward to it. Nil means the
	// server has no load balancers, and services cannot name any.
	TargetGroup func(account, region, arn string) (loadBalancers []string, ok bool)
}

// API serves the ECS operations.
type API struct {
	store       *state.Store
	log         *slog.Logger
	now         func() time.Time
	agentGrace  time.Duration
	targetGroup func(account, region, arn string) ([]string, bool)
	cands       state.Candidates // RunTask's placement candidates
}

// New returns the ECS API over store.
func New(cfg Config, store *state.Store) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AgentGrace == 0 {
		cfg.AgentGrace = 30 * time.Second
	}
	return &API{store: store, log: cfg.Logger.With("component", "ecs"), now: cfg.Now, agentGrace: cfg.AgentGrace, targetGroup: cfg.TargetGroup}
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
			"CreateCluster":                 awsapi.JSON(a.CreateCluster),
			"DescribeClusters":              awsapi.JSON(a.DescribeClusters),
			"ListClusters":                  awsapi.JSON(a.ListClusters),
			"UpdateCluster":                 awsapi.JSON(a.UpdateCluster),
			"UpdateClusterSettings":         awsapi.JSON(a.UpdateClusterSettings),
			"DeleteCluster":                 awsapi.JSON(a.DeleteCluster),
			"PutClusterCapacityProviders":   awsapi.JSON(a.PutClusterCapacityProviders),
			"DescribeCapacityProviders":     awsapi.JSON(a.DescribeCapacityProviders),
			"RegisterTaskDefinition":        awsapi.JSON(a.RegisterTaskDefinition),
			"DescribeTaskDefinition":        awsapi.JSON(a.DescribeTaskDefinition),
			"ListTaskDefinitions":           awsapi.JSON(a.ListTaskDefinitions),
			"ListTaskDefinitionFamilies":    awsapi.JSON(a.ListTaskDefinitionFamilies),
			"DeregisterTaskDefinition":      awsapi.JSON(a.DeregisterTaskDefinition),
			"DeleteTaskDefinitions":         awsapi.JSON(a.DeleteTaskDefinitions),
			"TagResource":                   awsapi.JSON(a.TagResource),
			"UntagResource":                 awsapi.JSON(a.UntagResource),
			"ListTagsForResource":           awsapi.JSON(a.ListTagsForResource),
			"RunTask":                       awsapi.JSON(a.RunTask),
			"StartTask":                     awsapi.JSON(a.StartTask),
			"StopTask":                      awsapi.JSON(a.StopTask),
			"DescribeTasks":                 awsapi.JSON(a.DescribeTasks),
			"ListTasks":                     awsapi.JSON(a.ListTasks),
			"DescribeContainerInstances":    awsapi.JSON(a.DescribeContainerInstances),
			"ListContainerInstances":        awsapi.JSON(a.ListContainerInstances),
			"DeregisterContainerInstance":   awsapi.JSON(a.DeregisterContainerInstance),
			"UpdateContainerInstancesState": awsapi.JSON(a.UpdateContainerInstancesState),
			"PutAttributes":                 awsapi.JSON(a.PutAttributes),
			"DeleteAttributes":              awsapi.JSON(a.DeleteAttributes),
			"ListAttributes":                awsapi.JSON(a.ListAttributes),
			"CreateService":                 awsapi.JSON(a.CreateService),
			"UpdateService":                 awsapi.JSON(a.UpdateService),
			"DeleteService":                 awsapi.JSON(a.DeleteService),
			"DescribeServices":              awsapi.JSON(a.DescribeServices),
			"ListServices":                  awsapi.JSON(a.ListServices),
			"ListServiceDeployments":        awsapi.JSON(a.ListServiceDeployments),
			"DescribeServiceDeployments":    awsapi.JSON(a.DescribeServiceDeployments),
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
		case "service":
			return &awsapi.Error{Code: "ServiceNotFoundException", Message: e.Message}
		}
		return &awsapi.Error{Code: "ResourceNotFoundException", Message: e.Message}
	case errors.Is(e, errdefs.ErrAlreadyExists):
		return &awsapi.Error{Code: "InvalidParameterException", Message: e.Message}
	case errors.Is(e, errdefs.ErrInvalidArgument):
		if e.Reason == "client" || e.Kind == "task-definition" {
			return &awsapi.Error{Code: "ClientException", Message: e.Message}
		}
		return &awsapi.Error{Code: "InvalidParameterException", Message: e.Message}
	case errors.Is(e, errdefs.ErrLimitExceeded):
		return &awsapi.Error{Code: "LimitExceededException", Message: e.Message}
	case errors.Is(e, errdefs.ErrConflict) && e.Reason == state.ReasonContainsInstances:
		return &awsapi.Error{Code: "ClusterContainsContainerInstancesException", Message: "The Cluster cannot be deleted while Container Instances are active or draining."}
	case errors.Is(e, errdefs.ErrConflict) && e.Reason == state.ReasonContainsTasks:
		return &awsapi.Error{Code: "ClusterContainsTasksException", Message: "The Cluster cannot be deleted while Tasks are active."}
	case errors.Is(e, errdefs.ErrConflict) && e.Reason == state.ReasonContainsServices:
		return &awsapi.Error{Code: "ClusterContainsServicesException", Message: "The Cluster cannot be deleted while Services are active."}
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

// Optimistic writes retry a conflict for this long at most before reporting
// it; each retry waits a little, with jitter so that writers that collided
// do not collide again.
const (
	conflictRetryBudget = 5 * time.Second
	conflictMaxBackoff  = 20 * time.Millisecond
)

// retryConflicts runs an optimistic read-modify-write until it does not
// conflict with a concurrent writer, for a bounded time.
func retryConflicts[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	deadline := time.Now().Add(conflictRetryBudget)
	for attempt := 1; ; attempt++ {
		v, err := fn()
		if !errors.Is(err, errdefs.ErrConflict) || time.Now().After(deadline) {
			return v, err
		}
		backoff := min(time.Duration(attempt)*time.Millisecond, conflictMaxBackoff)
		backoff += rand.N(backoff)
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(backoff):
		}
	}
}
