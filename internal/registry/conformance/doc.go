// Package conformance runs the OCI distribution-spec conformance suite
// (github.com/opencontainers/distribution-spec/conformance, pinned as a tool
// in go.mod) against Berth's registry as part of `go test ./...`: the
// registry and the ECR API on one loopback test server, the repositories
// created and the password fetched through the ECR API as a user would, and
// the suite's own binary driving /v2/. Every check of the suite must pass.
//
// It holds only tests. It may import the registry, the ECR API and their
// test helpers; nothing imports it.
package conformance
