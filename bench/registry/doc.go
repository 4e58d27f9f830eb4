// Package registry holds the registry push/pull benchmark
// (performance.md §3(g)): Berth's OCI registry against Debian's
// docker-registry (CNCF distribution 2.8.2), both on loopback with
// filesystem storage, driven by one client (go-containerregistry) in
// interleaved rounds with fresh random content each round. It is a test
// gated by BERTH_BENCH=1, so the ordinary `go test ./...` runs only its small
// unit tests; see README.md for how to run it and the figures.
//
// It imports internal/registry and internal/state from Berth (the registry
// runs in the test process, served over a real loopback TCP listener).
package registry
