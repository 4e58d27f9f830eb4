package secretsmanager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/keyring"
	"github.com/berthhq/berth/internal/state"
)

// TargetPrefix is the X-Amz-Target prefix of the Secrets Manager API.
const TargetPrefix = "secretsmanager"

// Config configures the Secrets Manager API.
type Config struct {
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// PurgeInterval is how often Run looks for secrets whose recovery window
	// has passed. Default one minute.
	PurgeInterval time.Duration
}

// API serves the Secrets Manager operations.
type API struct {
	store         *state.Store
	kr            *keyring.Keyring
	log           *slog.Logger
	now           func() time.Time
	purgeInterval time.Duration

	// sealMu is held for reading by each write that seals a value, from
	// the seal to the commit; RewrapAll takes it for writing once, as a
	// barrier, so that no envelope sealed under an older master key
	// generation is committed after its pass has read the store.
	sealMu sync.RWMutex
}

var _ keyring.Holder = (*API)(nil)

// New returns the Secrets Manager API over store, sealing values with kr.
func New(cfg Config, store *state.Store, kr *keyring.Keyring) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PurgeInterval <= 0 {
		cfg.PurgeInterval = time.Minute
	}
	return &API{
		store:         store,
		kr:            kr,
		log:           cfg.Logger.With("component", "secretsmanager"),
		now:           func() time.Time { return cfg.Now().UTC().Truncate(time.Millisecond) },
		purgeInterval: cfg.PurgeInterval,
	}
}

// Service returns the Secrets Manager API's registration with the gateway.
func (a *API) Service() *awsapi.JSONService {
	return &awsapi.JSONService{
		SigningName:     "secretsmanager",
		TargetPrefix:    TargetPrefix,
		JSONVersion:     "1.1",
		ServerErrorCode: "InternalServiceError",
		MapError:        mapError,
		Ops: map[string]awsapi.JSONHandler{
			"CreateSecret":             awsapi.JSON(a.CreateSecret),
			"DescribeSecret":           awsapi.JSON(a.DescribeSecret),
			"GetSecretValue":           awsapi.JSON(a.GetSecretValue),
			"BatchGetSecretValue":      awsapi.JSON(a.BatchGetSecretValue),
			"PutSecretValue":           awsapi.JSON(a.PutSecretValue),
			"UpdateSecret":             awsapi.JSON(a.UpdateSecret),
			"UpdateSecretVersionStage": awsapi.JSON(a.UpdateSecretVersionStage),
			"ListSecrets":              awsapi.JSON(a.ListSecrets),
			"ListSecretVersionIds":     awsapi.JSON(a.ListSecretVersionIds),
			"DeleteSecret":             awsapi.JSON(a.DeleteSecret),
			"RestoreSecret":            awsapi.JSON(a.RestoreSecret),
			"TagResource":              awsapi.JSON(a.TagResource),
			"UntagResource":            awsapi.JSON(a.UntagResource),
			"GetResourcePolicy":        awsapi.JSON(a.GetResourcePolicy),
			"PutResourcePolicy":        awsapi.JSON(a.PutResourcePolicy),
			"DeleteResourcePolicy":     awsapi.JSON(a.DeleteResourcePolicy),
			"GetRandomPassword":        awsapi.JSON(a.GetRandomPassword),
			"RotateSecret":             awsapi.JSON(a.RotateSecret),
			"CancelRotateSecret":       awsapi.JSON(a.CancelRotateSecret),
		},
	}
}

// mapError names the domain errors of the state store as Secrets Manager
// does. Conflicts that outlived the retries and an unavailable store are
// server faults, which SDKs retry.
func mapError(err error) *awsapi.Error {
	switch {
	case errors.Is(err, errdefs.ErrUnavailable):
		return &awsapi.Error{Code: "InternalServiceError", Message: "The service is temporarily unavailable; retry the request.", Status: 503, Server: true}
	case errors.Is(err, errdefs.ErrConflict):
		return &awsapi.Error{Code: "InternalServiceError", Message: "A concurrent change to the secret conflicted with this request; retry the request.", Server: true}
	}
	return nil
}

// The error texts AWS uses.
const (
	msgNotFound        = "Secrets Manager can't find the specified secret."
	msgMarkedDeleted   = "You can't perform this operation on the secret because it was marked for deletion."
	msgAlreadyDeleted  = "You tried to perform the operation on a secret that's currently marked deleted."
	msgCreateScheduled = "You can't create this secret because a secret with this name is already scheduled for deletion."
	msgBothValues      = "You can't specify both a binary secret value and a string secret value in the same secret."
	msgNeedValue       = "You must provide either SecretString or SecretBinary."
	msgNeedToken       = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
	msgVersionExists   = "You can't modify an existing version, you can only create new versions."
	msgDecrypt         = "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
	msgBadNextToken    = "The NextToken value is invalid."
)

func errNotFound() *awsapi.Error {
	return &awsapi.Error{Code: "ResourceNotFoundException", Message: msgNotFound}
}

func errMarkedDeleted() *awsapi.Error {
	return &awsapi.Error{Code: "InvalidRequestException", Message: msgMarkedDeleted}
}

func invalidParam(format string, args ...any) *awsapi.Error {
	return &awsapi.Error{Code: "InvalidParameterException", Message: fmt.Sprintf(format, args...)}
}

func invalidRequest(format string, args ...any) *awsapi.Error {
	return &awsapi.Error{Code: "InvalidRequestException", Message: fmt.Sprintf(format, args...)}
}

func notFoundf(format string, args ...any) *awsapi.Error {
	return &awsapi.Error{Code: "ResourceNotFoundException", Message: fmt.Sprintf(format, args...)}
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
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, ctx.Err()
		case <-t.C:
		}
	}
}
