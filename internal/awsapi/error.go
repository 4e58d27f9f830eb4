package awsapi

import (
	"fmt"
	"net/http"
)

// Error is an AWS API error: the code clients type the error by, the message
// they show, and the HTTP status.
type Error struct {
	Code    string
	Message string
	Status  int  // 0 means 400
	Server  bool // a fault of the service (Receiver), not of the caller (Sender)
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func (e *Error) status() int {
	if e.Status != 0 {
		return e.Status
	}
	if e.Server {
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// Errorf returns a client (400) error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
