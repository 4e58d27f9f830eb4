package registry

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// ErrorCode is an error code of the OCI distribution spec (plus ECR's
// TAG_INVALID). The ECR API maps these codes to its own error names.
type ErrorCode string

// The codes the registry answers with.
const (
	CodeBlobUnknown         ErrorCode = "BLOB_UNKNOWN"
	CodeBlobUploadInvalid   ErrorCode = "BLOB_UPLOAD_INVALID"
	CodeBlobUploadUnknown   ErrorCode = "BLOB_UPLOAD_UNKNOWN"
	CodeDigestInvalid       ErrorCode = "DIGEST_INVALID"
	CodeManifestBlobUnknown ErrorCode = "MANIFEST_BLOB_UNKNOWN"
	CodeManifestInvalid     ErrorCode = "MANIFEST_INVALID"
	CodeManifestUnknown     ErrorCode = "MANIFEST_UNKNOWN"
	CodeNameInvalid         ErrorCode = "NAME_INVALID"
	CodeNameUnknown         ErrorCode = "NAME_UNKNOWN"
	CodeSizeInvalid         ErrorCode = "SIZE_INVALID"
	CodeUnauthorized        ErrorCode = "UNAUTHORIZED"
	CodeDenied              ErrorCode = "DENIED"
	CodeUnsupported         ErrorCode = "UNSUPPORTED"
	CodeTooManyRequests     ErrorCode = "TOOMANYREQUESTS"
	CodeTagInvalid          ErrorCode = "TAG_INVALID"
	// Distribution's codes for server faults, which the spec leaves open.
	CodeUnknown     ErrorCode = "UNKNOWN"
	CodeUnavailable ErrorCode = "UNAVAILABLE"
)

// defaults are each code's HTTP status and the spec's message.
var defaults = map[ErrorCode]struct {
	status  int
	message string
}{
	CodeBlobUnknown:         {http.StatusNotFound, "blob unknown to registry"},
	CodeBlobUploadInvalid:   {http.StatusBadRequest, "blob upload invalid"},
	CodeBlobUploadUnknown:   {http.StatusNotFound, "blob upload unknown to registry"},
	CodeDigestInvalid:       {http.StatusBadRequest, "provided digest did not match uploaded content"},
	CodeManifestBlobUnknown: {http.StatusBadRequest, "manifest references a manifest or blob unknown to registry"},
	CodeManifestInvalid:     {http.StatusBadRequest, "manifest invalid"},
	CodeManifestUnknown:     {http.StatusNotFound, "manifest unknown to registry"},
	CodeNameInvalid:         {http.StatusBadRequest, "invalid repository name"},
	CodeNameUnknown:         {http.StatusNotFound, "repository name not known to registry"},
	CodeSizeInvalid:         {http.StatusBadRequest, "provided length did not match content length"},
	CodeUnauthorized:        {http.StatusUnauthorized, "authentication required"},
	CodeDenied:              {http.StatusForbidden, "requested access to the resource is denied"},
	CodeUnsupported:         {http.StatusMethodNotAllowed, "the operation is unsupported"},
	CodeTooManyRequests:     {http.StatusTooManyRequests, "too many requests"},
	CodeTagInvalid:          {http.StatusBadRequest, "manifest tag did not match URI"},
	CodeUnknown:             {http.StatusInternalServerError, "unknown error"},
	CodeUnavailable:         {http.StatusServiceUnavailable, "service unavailable"},
}

// Error is a registry error: an OCI code, a message, optional detail and
// the HTTP status it is answered with. Both the HTTP handlers and the ECR
// API see these; neither matches on the message.
type Error struct {
	Code    ErrorCode
	Message string
	Detail  any
	Status  int
	// Offset is, for out-of-order chunks, how many bytes the upload holds.
	Offset int64
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// HTTPStatus is the status the error is answered with.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return defaults[e.Code].status
}

// newError returns an error of code with the spec's message, or msg when
// given (formatted with args).
func newError(code ErrorCode, detail any, msg string, args ...any) *Error {
	e := &Error{Code: code, Message: defaults[code].message, Detail: detail}
	if msg != "" {
		e.Message = fmt.Sprintf(msg, args...)
	}
	return e
}

// errorBody is the spec's error envelope.
type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
	Detail  any       `json:"detail"`
}

func writeError(w http.ResponseWriter, e *Error) {
	b, _ := json.Marshal(errorBody{Errors: []errorEntry{{Code: e.Code, Message: e.Message, Detail: e.Detail}}})
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if e.Code == CodeTooManyRequests {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(e.HTTPStatus())
	_, _ = w.Write(b)
}
