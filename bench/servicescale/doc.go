// Package servicescale holds the service scale-out benchmark
// (performance.md §3(d)): a Berth service going from 0 to 50 tasks against a
// Docker Swarm service of the same image on the same engine going from 0 to
// 50 replicas, interleaved, timed from Docker's event stream, next to the
// engine's own floor (50 direct create + start at concurrency 1, 4 and 8).
// It is a test gated by BERTH_BENCH=1, so the ordinary `go test ./...` skips
// it; see README.md for how to run it and the figures.
//
// The benchmark drives a built berth binary from outside through the ECS
// API, and the engine (Swarm included) through the Moby client, with what it
// shares with bench/runtask in bench/internal/benchkit. It may import only
// internal/testapp/testimage, internal/berthproc and the agent's label names
// from Berth.
package servicescale
