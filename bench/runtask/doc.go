// Package runtask holds the RunTask -> RUNNING overhead benchmark
// (performance.md §3(c)): Berth's RunTask against a direct Docker Engine
// create + start of the same container, interleaved, timed from Docker's
// event stream. It is a test gated by BERTH_BENCH=1, so the ordinary
// `go test ./...` skips it; see README.md for how to run it and the figures.
//
// The benchmark drives a built berth binary from outside through the ECS API,
// and the engine through the Moby client, with what it shares with the other
// engine benchmarks in bench/internal/benchkit. It may import only
// internal/testapp/testimage, internal/berthproc and the agent's label
// names from Berth.
package runtask
