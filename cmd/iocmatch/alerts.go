package main

import (
	"context"
	"errors"
)

// runAlerts is not built yet; its issue replaces this file.
func runAlerts(ctx context.Context, e *env, args []string) error {
	return errors.New("alerts: not implemented yet")
}
