package taxii

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// addSeeds adds the raw inputs in <repo>/testdata/fuzz/<f's name>/ to f's
// corpus. It does what engine/internal/fuzzseed.Add does, which Go's
// internal-package rule keeps out of reach of packages under feeds/.
func addSeeds(f *testing.F) {
	f.Helper()
	dir, err := os.Getwd()
	if err != nil {
		f.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			f.Fatal("addSeeds: go.mod not found")
		}
		dir = parent
	}
	seedDir := filepath.Join(dir, "testdata", "fuzz", f.Name())
	ents, err := os.ReadDir(seedDir)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		f.Fatal(err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(seedDir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}
