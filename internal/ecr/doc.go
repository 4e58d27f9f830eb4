// Package ecr implements the Amazon ECR API (awsJson 1.1,
// AmazonEC2ContainerRegistry_V20150921) over Berth's registry: repositories
// and their settings, images, tags and tag immutability, layer uploads,
// authorization tokens for docker login, repository policies, resource
// tags and lifecycle policies. Repository and image metadata is the
// registry's (package registry), so that what docker pushes and what the
// API reports are one and the same; ECR's own settings ride in the
// registry's repository documents.
//
// Run enforces lifecycle policies (after pushes and at least hourly) and
// completes lifecycle policy previews. Image scanning is not implemented:
// its operations say so.
//
// It imports awsapi, awsjson, errdefs, registry and state.
package ecr
