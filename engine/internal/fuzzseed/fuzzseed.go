// Package fuzzseed is the old, internal path of engine/fuzzseed, kept only
// until the last test files importing it (engine/alert) move to
// github.com/iocmatch/iocmatch/engine/fuzzseed. Test-only; do not use in
// new code.
//
// Deprecated: use github.com/iocmatch/iocmatch/engine/fuzzseed.
package fuzzseed

import (
	"testing"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
)

// Add is fuzzseed.Add.
//
// Deprecated: use github.com/iocmatch/iocmatch/engine/fuzzseed.Add.
func Add(f *testing.F) { f.Helper(); fuzzseed.Add(f) }

// Inputs is fuzzseed.Inputs.
//
// Deprecated: use github.com/iocmatch/iocmatch/engine/fuzzseed.Inputs.
func Inputs(tb testing.TB, name string) [][]byte { tb.Helper(); return fuzzseed.Inputs(tb, name) }
