package main

import (
	"context"
	"errors"
)

// runStix is not built yet; its issue replaces this file.
func runStix(ctx context.Context, e *env, args []string) error {
	return errors.New("stix: not implemented yet")
}
