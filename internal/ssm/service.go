package ssm

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/berthhq/berth/internal/awsapi"
	"github.com/berthhq/berth/internal/errdefs"
	"github.com/berthhq/berth/internal/keyring"
	"github.com/berthhq/berth/internal/state"
)

// TargetPrefix is the X-Amz-Target prefix of the SSM API.
const TargetPrefix = "AmazonSSM"

// Config configures the SSM API.
type Config struct {
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// API serves the Parameter Store operations of SSM.
type API struct {
	store *state.Store
	kr    *keyring.Keyring
	log   *slog.Logger
	now   func() time.Time

	// sealMu is held shared by a write from the moment it seals a value
	// until its command is committed, and taken exclusively by RewrapAll
	// before it scans: an envelope sealed under a generation about to be
	// retired is then always in the store when the scan runs.
	sealMu sync.RWMutex
}

var _ keyring.Holder = (*API)(nil)

// New returns the SSM API over store, sealing SecureString values with kr.
func New(cfg Config, store *state.Store, kr *keyring.Keyring) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &API{store: store, kr: kr, log: cfg.Logger.With("component", "ssm"), now: cfg.Now}
}

// Service returns the SSM API's registration with the gateway.
func (a *API) Service() *awsapi.JSONService {
	return &awsapi.JSONService{
		SigningName:     "ssm",
		TargetPrefix:    TargetPrefix,
		JSONVersion:     "1.1",
		ServerErrorCode: "InternalServerError",
		MapError:        mapError,
		Ops: map[string]awsapi.JSONHandler{
			"PutParameter":            awsapi.JSON(a.PutParameter),
			"GetParameter":            awsapi.JSON(a.GetParameter),
			"GetParameters":           awsapi.JSON(a.GetParameters),
			"GetParametersByPath":     awsapi.JSON(a.GetParametersByPath),
			"GetParameterHistory":     awsapi.JSON(a.GetParameterHistory),
			"DescribeParameters":      awsapi.JSON(a.DescribeParameters),
			"DeleteParameter":         awsapi.JSON(a.DeleteParameter),
			"DeleteParameters":        awsapi.JSON(a.DeleteParameters),
			"LabelParameterVersion":   awsapi.JSON(a.LabelParameterVersion),
			"UnlabelParameterVersion": awsapi.JSON(a.UnlabelParameterVersion),
			"AddTagsToResource":       awsapi.JSON(a.AddTagsToResource),
			"RemoveTagsFromResource":  awsapi.JSON(a.RemoveTagsFromResource),
			"ListTagsForResource":     awsapi.JSON(a.ListTagsForResource),
		},
	}
}

// mapError names the store's error classes as SSM does.
func mapError(err error) *awsapi.Error {
	switch {
	case errors.Is(err, errdefs.ErrUnavailable):
		return &awsapi.Error{Code: "InternalServerError", Message: "The service is temporarily unavailable; retry the request.", Status: 503, Server: true}
	case errors.Is(err, errdefs.ErrConflict):
		return &awsapi.Error{Code: "TooManyUpdates", Message: "There are concurrent updates for a resource that supports one update at a time.", Status: 429}
	}
	return nil
}

// Errors of the parameter operations.
var (
	// AWS gives ParameterNotFound without a message.
	errParamNotFound = &awsapi.Error{Code: "ParameterNotFound"}
)

func versionNotFound(version int64, name string) *awsapi.Error {
	return awsapi.Errorf("ParameterVersionNotFound", "Systems Manager could not find version %d of %s. Verify the version and try again.", version, name)
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

// tenancy returns the caller's account and region.
func tenancy(ctx context.Context) (account, region string) {
	c := awsapi.CallerFrom(ctx)
	return c.Account, c.Region
}
