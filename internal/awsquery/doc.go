// Package awsquery is the wire codec of the AWS awsQuery protocol, which STS,
// IAM, ELBv2 and legacy CloudWatch speak: it decodes an
// application/x-www-form-urlencoded request into a Go struct (Decode) and
// writes a Go struct, or an error, as the XML response AWS sends
// (WriteResponse, WriteError).
//
// The codec follows the Smithy awsQuery specification and its protocol
// compliance tests. Go types map to shapes through the `query` struct tag;
// per-type plans are built once and cached. It knows nothing of any one
// service: routing on Action/Version, required members and the mapping of a
// *DecodeError to a service's error code belong to the API packages.
//
// It imports only the standard library.
package awsquery
