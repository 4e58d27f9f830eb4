//go:build !linux

package store

import "os"

// datasync flushes f's data to stable storage.
func datasync(f *os.File) error { return fsync(f) }
