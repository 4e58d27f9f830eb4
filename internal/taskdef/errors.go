package taskdef

import "fmt"

// ECS error names that RegisterTaskDefinition validation returns.
const (
	CodeClientException           = "ClientException"
	CodeInvalidParameterException = "InvalidParameterException"
)

// Error is a validation failure. Code is the ECS error name ("ClientException"
// or "InvalidParameterException") and Message the text AWS returns.
type Error struct{ Code, Message string }

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// clientErr returns a ClientException, the error ECS uses for nearly every
// task definition problem.
func clientErr(format string, args ...any) *Error {
	return &Error{Code: CodeClientException, Message: fmt.Sprintf(format, args...)}
}

// paramErr returns an InvalidParameterException.
func paramErr(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidParameterException, Message: fmt.Sprintf(format, args...)}
}
