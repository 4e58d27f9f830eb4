// Package benchkit holds what Berth's end-to-end benchmarks on a real Docker
// engine share (bench/runtask, bench/servicescale): building and starting
// `berth dev` and waiting for its agent, the one Docker event subscription
// filtered by the test's label, the direct Engine create + start that
// Berth is measured against, the statistics (quantiles, medians, bootstrap
// intervals of a ratio of medians), the machine description, the CPU-busy
// measure of the pauses between arms and a recording Engine API proxy.
//
// It measures nothing by itself and decides nothing about a benchmark's
// figures or report. Like the benchmarks, it drives Berth from outside: it
// may import internal/berthproc, but no other part of Berth.
package benchkit
