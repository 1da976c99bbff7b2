// Package fuzzseed feeds the project's shared fuzz corpus to Go fuzz
// targets. It is a test-only helper: import it from _test.go files only
// (it takes a *testing.F / testing.TB). It lives outside engine/internal
// so that every package of the module (feeds/, cmd/, bench/) can use it.
// The corpus lives at the repository root in
// testdata/fuzz/<FuzzName>/, one raw input per file (not Go's encoded
// corpus format), so that every parser's seeds sit in one reviewed place.
// Inputs that `go test -fuzz` finds are written by Go next to the package
// (testdata/fuzz/<FuzzName>/ in the package directory) and run by plain
// `go test` from there too; copy the raw bytes of a new crasher to the
// shared corpus once it is fixed.
package fuzzseed

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// Add adds every file in <repo>/testdata/fuzz/<f's name>/ to f's seed
// corpus, in name order. A missing directory adds nothing; any other read
// error fails the test.
func Add(f *testing.F) {
	f.Helper()
	for _, b := range Inputs(f, f.Name()) {
		f.Add(b)
	}
}

// Inputs returns the raw inputs stored for the named fuzz target.
func Inputs(tb testing.TB, name string) [][]byte {
	tb.Helper()
	root, err := repoRoot()
	if err != nil {
		tb.Fatalf("fuzzseed: %v", err)
	}
	dir := filepath.Join(root, "testdata", "fuzz", name)
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		tb.Fatalf("fuzzseed: %v", err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	var out [][]byte
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatalf("fuzzseed: %v", err)
		}
		out = append(out, b)
	}
	return out
}

// repoRoot walks up from the working directory to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
