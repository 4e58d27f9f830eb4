// Package state is Berth's replicated state store: go-memdb tables written
// only by typed, deterministic commands that hashicorp/raft commits to a
// durable log before they are applied, and read lock-free from snapshots.
//
// Every object belongs to an (account, region) tenancy and carries the raft
// index that created it and last modified it. Commands carry every ID and
// timestamp they need: Apply never reads the clock or a random source, so
// replaying the log rebuilds exactly the same tables.
//
// The package may import Berth's model packages (errdefs, taskdef) but no API
// package, and it performs no network I/O of its own besides raft's.
package state
