package feeds

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// seedInputs returns the raw inputs in <repo>/testdata/fuzz/<f's name>/:
// what engine/internal/fuzzseed does, which Go's internal-package rule
// keeps packages under feeds/ from importing.
func seedInputs(f *testing.F) [][]byte {
	f.Helper()
	dir := filepath.Join("..", "testdata", "fuzz", f.Name())
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		f.Fatalf("seeds: %v", err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	var out [][]byte
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			f.Fatalf("seeds: %v", err)
		}
		out = append(out, b)
	}
	return out
}
