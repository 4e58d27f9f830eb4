// Package registry is Berth's OCI registry: the distribution API (spec 1.1)
// under /v2/ on the API port, a content-addressed blob store on local disk,
// and the repository metadata (repositories, manifests, tags, blob links,
// referrers) in the state store's document table, which the ECR API shares.
//
// Clients authenticate as docker does with ECR: Basic "AWS:<token>", where
// the token is one MintToken signed (GetAuthorizationToken hands them out).
// Every repository belongs to the token's account and region.
//
// Run collects unreferenced blobs while the registry serves; blobs are
// verified against their digests when written and again when read.
//
// It imports errdefs and state; the ECR API (package ecr), the server
// wiring and the agent's image pulls import it.
package registry
