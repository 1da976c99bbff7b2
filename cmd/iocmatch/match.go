package main

import (
	"context"
	"errors"
)

// runMatch is not built yet; its issue replaces this file.
func runMatch(ctx context.Context, e *env, args []string) error {
	return errors.New("match: not implemented yet")
}
