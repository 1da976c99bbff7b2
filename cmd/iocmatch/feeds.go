package main

import (
	"context"
	"errors"
)

// runFeeds is not built yet; its issue replaces this file.
func runFeeds(ctx context.Context, e *env, args []string) error {
	return errors.New("feeds: not implemented yet")
}
