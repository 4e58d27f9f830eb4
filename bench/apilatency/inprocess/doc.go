// Package inprocess holds a Go benchmark that serves signed DescribeClusters
// from a Berth server running in the test process, so that `go test
// -cpuprofile` shows where the server spends its CPU. It has no code of its
// own; the load benchmark is the apilatency command one directory up.
package inprocess
