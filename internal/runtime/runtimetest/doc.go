// Package runtimetest is the behaviour suite every runtime.Runtime must pass:
// runtime/fake runs it in memory under testing/synctest, runtime/docker on a
// real Docker Engine with images of internal/testapp. Each subtest is one
// behaviour a user of Berth would see (exit codes, stop timeouts, OOM kills,
// port bindings, health checks, events, volumes).
//
// It imports only runtime and errdefs from Berth, and the standard library.
package runtimetest
