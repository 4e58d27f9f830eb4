// Package errdefs holds the few classes of domain error that Berth's packages
// wrap at the source. Each API package translates them once, at its edge, into
// the error names of its AWS API.
package errdefs

import (
	"errors"
	"fmt"
)

// The classes. Wrap one with fmt.Errorf("...: %w", ErrNotFound) or build an
// *Error with New, which also carries the kind of resource involved.
var (
	ErrNotFound        = errors.New("not found")
	ErrAlreadyExists   = errors.New("already exists")
	ErrInvalidArgument = errors.New("invalid argument")
	ErrConflict        = errors.New("conflict")
	ErrLimitExceeded   = errors.New("limit exceeded")
	ErrAccessDenied    = errors.New("access denied")
	ErrUnavailable     = errors.New("unavailable")
)

// Error is a classified domain error about one kind of resource, with a
// message fit for the API caller.
type Error struct {
	Class   error  // one of the Err* classes above
	Kind    string // the resource kind, e.g. "cluster", "task-definition"
	Reason  string // a finer cause the edge may map to a specific AWS name, e.g. "contains-services"
	Message string // safe to show to the caller
}

func (e *Error) Error() string { return e.Message }

// Is makes errors.Is(err, ErrNotFound) true for an *Error of that class.
func (e *Error) Is(target error) bool { return e.Class == target }

// New returns an *Error of class about kind with a formatted message.
func New(class error, kind, format string, args ...any) *Error {
	return &Error{Class: class, Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// WithReason returns a copy of e carrying reason.
func (e *Error) WithReason(reason string) *Error {
	c := *e
	c.Reason = reason
	return &c
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
