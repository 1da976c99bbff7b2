package main

import (
	"context"
	"errors"
)

// runPublish is not built yet; its issue replaces this file.
func runPublish(ctx context.Context, e *env, args []string) error {
	return errors.New("publish: not implemented yet")
}
