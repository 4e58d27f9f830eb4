package docker

import (
	"context"
	"errors"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/berthhq/berth/internal/errdefs"
)

// op says which call failed; create and start read some statuses
// differently.
type op int

const (
	opOther  op = iota
	opCreate    // 409 is a name in use; 500 is a spec the engine refused
	opStart     // 500 is a spec the engine could not run (port taken, no executable)
)

// classify wraps an engine error in one of errdefs' classes, keeping Docker's
// message. Context errors stay as they are; an error with no class is
// wrapped as is (callers treat it as an internal error).
func classify(err error, o op, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	class := classOf(err, o)
	if class == nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %v: %w", what, err, class)
}

func classOf(err error, o op) error {
	switch {
	case client.IsErrConnectionFailed(err), cerrdefs.IsUnavailable(err):
		return errdefs.ErrUnavailable
	case cerrdefs.IsNotFound(err):
		return errdefs.ErrNotFound
	case cerrdefs.IsConflict(err) && o == opCreate:
		return errdefs.ErrAlreadyExists
	case cerrdefs.IsConflict(err):
		return errdefs.ErrConflict
	case cerrdefs.IsInvalidArgument(err):
		return errdefs.ErrInvalidArgument
	case cerrdefs.IsUnauthorized(err), cerrdefs.IsPermissionDenied(err):
		return errdefs.ErrAccessDenied
	case (o == opCreate || o == opStart) && (cerrdefs.IsInternal(err) || cerrdefs.IsUnknown(err)):
		return errdefs.ErrInvalidArgument
	}
	return nil
}
