//go:build !unix

package store

import "os"

// lockDir is a no-op where flock is not available: do not share a store
// directory between processes there.
func lockDir(dir string) (*os.File, error) { return nil, nil }

func unlockDir(f *os.File) error { return nil }
