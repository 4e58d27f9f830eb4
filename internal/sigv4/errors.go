package sigv4

import (
	"errors"
	"strconv"
	"strings"
)

// ErrKeyNotFound is wrapped by a KeyLookup when the access key id is unknown or inactive.
var ErrKeyNotFound = errors.New("access key not found")

// ErrorKind classifies why a request was rejected.
type ErrorKind int

const (
	ErrMissingAuth  ErrorKind = iota + 1 // neither Authorization header nor X-Amz-Algorithm query
	ErrIncomplete                        // malformed/incomplete Authorization or presigned parameters, unsupported algorithm, host not signed, a signed header absent, duplicate fields, two Authorization headers, X-Amz-Expires out of 1..604800
	ErrUnknownKey                        // lookup returned ErrKeyNotFound
	ErrInvalidToken                      // X-Amz-Security-Token does not match the credentials' token (or present for a key without one, or missing for a key with one)
	ErrSignature                         // signature mismatch
	ErrExpired                           // X-Amz-Date outside MaxSkew of now, or presigned URL past date+expires
	ErrScope                             // scope date != request date, region not a valid AWS-style region name, service != expected, terminator != aws4_request
)

var kindNames = [...]string{
	ErrMissingAuth:  "MissingAuth",
	ErrIncomplete:   "Incomplete",
	ErrUnknownKey:   "UnknownKey",
	ErrInvalidToken: "InvalidToken",
	ErrSignature:    "Signature",
	ErrExpired:      "Expired",
	ErrScope:        "Scope",
}

func (k ErrorKind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "ErrorKind(" + strconv.Itoa(int(k)) + ")"
}

// Error is a rejected request. Message is the text AWS sends to the client for
// the case; it never contains the secret or the expected signature.
type Error struct {
	Kind    ErrorKind
	Message string
}

func (e *Error) Error() string { return "sigv4: " + e.Kind.String() + ": " + e.Message }

func newError(k ErrorKind, msg string) *Error { return &Error{Kind: k, Message: msg} }

// Messages AWS sends (see the package tests for where each was confirmed).
const (
	msgMissingAuth        = "Request is missing Authentication Token"
	msgSignatureMismatch  = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgInvalidToken       = "The security token included in the request is invalid."
	msgHostNotSigned      = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	msgBothAuth           = "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
	msgReqCredential      = "Authorization header requires 'Credential' parameter. "
	msgReqSignature       = "Authorization header requires 'Signature' parameter. "
	msgReqSignedHeaders   = "Authorization header requires 'SignedHeaders' parameter. "
	msgReqDate            = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
	msgReexamineQuery     = "Re-examine the query-string parameters."
	msgCredentialParts    = "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '"
	msgInvalidRegion      = "Credential should be scoped to a valid region. "
	msgRequestExpired     = "Request has expired"
	msgExpiresNaN         = "X-Amz-Expires should be a number"
	msgExpiresNegative    = "X-Amz-Expires must be non-negative"
	msgExpiresZero        = "X-Amz-Expires must be at least 1 second"
	msgExpiresTooLarge    = "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds"
	msgContentSHAMismatch = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgUnsignedPayload    = "UNSIGNED-PAYLOAD is only accepted for presigned requests."
	msgTwoAuthHeaders     = "The request contains more than one Authorization header."
)

// clip bounds client-controlled text echoed in messages and replaces control
// characters, which have no place in an XML or JSON error body.
func clip(s string) string {
	const max = 256
	suffix := ""
	if len(s) > max {
		s, suffix = s[:max], "..."
	}
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		s = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return '?'
			}
			return r
		}, s)
	}
	return s + suffix
}
