// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests the
// way the AWS front ends of the non-S3 services do: the Authorization header
// and the presigned query forms, the canonical request, the credential scope,
// the clock, the session token, and the error texts AWS sends for each case.
//
// The canonical URI is the path as sent (r.RequestURI), normalised (dot
// segments removed, "//" collapsed) and percent-encoded once more, as the
// AWS signers compute it for non-S3 services. Signers that do not normalise
// (aws-sdk-go-v2) sign the path as sent, encoded once more: that form is
// accepted too when it differs. Derived signing keys are cached per
// (secret, date, region, service).
//
// The package is a leaf: it imports the standard library only and nothing of
// Berth. Callers supply the access-key lookup (KeyLookup) and translate the
// returned *Error kinds into the error names of their protocol.
package sigv4
