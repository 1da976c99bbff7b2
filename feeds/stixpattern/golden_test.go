package stixpattern

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestTranslateGolden renders the translation of every pattern in
// testdata/patterns.txt; the result is reviewed in testdata/translate.golden.
func TestTranslateGolden(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "patterns.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p, err := Parse(line)
		if err != nil {
			t.Fatalf("Parse(%s): %v", line, err)
		}
		tr := Translate(p)
		fmt.Fprintf(&b, "%s\n", p)
		for _, a := range tr.Atoms {
			fmt.Fprintf(&b, "  atom: %s %s\n", a.Kind, a.Value)
		}
		for _, e := range tr.Exprs {
			fmt.Fprintf(&b, "  compound: %s\n", e)
		}
		if tr.NeedsCorrelation {
			fmt.Fprintf(&b, "  needs correlation\n")
		}
		if tr.Unsupported != "" {
			fmt.Fprintf(&b, "  unsupported: %s\n", tr.Unsupported)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "translate.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update to create it)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("translation differs from %s (go test -run Golden -update, then review the diff):\n%s", golden, got)
	}
}
