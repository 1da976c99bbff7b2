package stixpattern

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// addSeeds adds the raw inputs in <repo>/testdata/fuzz/<f's name>/ to f's
// seed corpus, in name order. It does what engine/internal/fuzzseed.Add
// does; Go's internal-package rule keeps packages under feeds/ from
// importing that.
func addSeeds(f *testing.F) {
	f.Helper()
	dir := filepath.Join("..", "..", "testdata", "fuzz", f.Name())
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		f.Fatalf("seeds: %v", err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			f.Fatalf("seeds: %v", err)
		}
		f.Add(b)
	}
}
