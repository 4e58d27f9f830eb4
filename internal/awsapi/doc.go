// Package awsapi is Berth's AWS API gateway: one HTTP handler that routes a
// request to the API it is meant for (awsJson by X-Amz-Target, awsQuery by
// Action and Version), verifies its Signature V4, establishes the tenancy
// (account from the access key, region from the credential scope), decodes it,
// calls the operation and writes the response or the error in the form that
// API's protocol prescribes.
//
// It may import sigv4, awsquery, awsjson and errdefs; it knows no particular
// AWS service: API packages register their operations with it.
package awsapi
