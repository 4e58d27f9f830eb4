// Command apilatency measures the latency and throughput of Berth's ECS API
// under an open-loop load of signed DescribeClusters requests, next to a
// minimal net/http server that marks the floor of Go HTTP on the machine.
//
// It builds berth and the baseline, starts both pinned to one CPU, runs
// the generator pinned to another (by re-running itself under taskset), and
// interleaves the two systems step by step over a rate ladder. It may import
// only the AWS SDK and the standard library: it drives Berth from outside,
// as a client would. See README.md for how to run it and for results.
package main
