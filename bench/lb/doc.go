// Command lb benchmarks Berth's application load balancer data plane
// (internal/lb) against nginx and against a backend directly
// (performance.md §3(h)): two small Go backends on loopback, then the same
// load through an lb.Plane listener (round robin over both), through nginx
// as a reverse proxy to both, and straight to one backend, in interleaved
// rounds. An open-loop generator at a ladder of constant rates gives
// latency percentiles; a closed-loop step gives each arm's peak
// throughput. See README.md for how to run it and the figures.
//
// It is a main package run with go run, so go test ./... never starts it.
// It imports internal/lb and internal/berthproc from Berth.
package main
