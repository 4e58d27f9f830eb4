// Package fake is an in-memory runtime.Runtime for fast, deterministic
// tests: no engine, no processes, no network.
//
// Images must be added first (AddImage, AddImageConfig). Containers go
// through created -> running -> exited as on Docker, with Docker's create
// validation, host-port conflicts at start, names, labels, events and
// volumes. A container whose command runs /testapp behaves as
// internal/testapp would with the same flags (-exit, -sleep, -ignore-sigterm,
// -term-exit, -term-delay, -alloc-mib against MemoryBytes, -unhealthy-after
// with a health check, -write against read-only mounts, -listen served
// through HTTPGet); any other process runs until signalled.
//
// Time passes only through the time package, so tests under
// testing/synctest see a 30 s stop timeout or a 1 s health interval pass at
// once; outside a bubble they take real time.
//
// Test hooks inject faults: FailNextPull, FailNextCreate, FailNextStart,
// Restart (an engine restart, with or without live-restore), Kill,
// SetUnreachable.
//
// It imports only runtime, errdefs and the standard library (plus
// distribution/reference to validate image references).
package fake
