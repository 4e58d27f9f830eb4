// Package keyring is Berth's envelope encryption for secrets at rest (SSM
// SecureString values, Secrets Manager secret values).
//
// Every Seal draws a fresh 256-bit data key and encrypts the value with it
// (AES-256-GCM); the data key is then wrapped (AES-256-GCM) by the current
// generation of the master key. The master key generations live in a 0600
// file outside the state store, so that a copy of the store, a raft snapshot
// or a backup holds only ciphertext. The caller's associated data (owner ARN
// and version) is bound into the value, and the wrapped data key is bound to
// the value's ciphertext, so that no stored envelope can be moved to another
// owner or version, nor its data key to another envelope.
//
// Rotate adds a generation; Run re-wraps every stored envelope under it
// through the Holders (the API packages that store envelopes) and only then
// retires the older generations from the file. A crash at any point leaves a
// key file that opens every envelope stored.
//
// It imports only the standard library.
package keyring
