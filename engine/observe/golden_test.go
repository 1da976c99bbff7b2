package observe

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// render writes the result of one event in the golden format.
func render(w *bytes.Buffer, n int, res *Result, err error) {
	if err != nil {
		fmt.Fprintf(w, "#%d error: %v\n", n, err)
		return
	}
	fmt.Fprintf(w, "#%d format=%s id=%q ts=%q\n", n, res.Format, res.EventID, res.Timestamp)
	for _, ob := range res.Observables {
		fmt.Fprintf(w, "  %-12s %-3s %-28s %q\n", ob.Kind, ob.Role, ob.Field, ob.Value)
	}
}

// TestGolden observes every line of the testdata fixtures with FormatAuto
// and compares the rendered observables with testdata/<name>.golden. Run
// `go test ./engine/observe -run TestGolden -update` to rewrite them.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "testdata/raw.log", sampleEvents, sampleRaw)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			o, err := New(Options{})
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var out bytes.Buffer
			var res Result
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 1<<20)
			n := 0
			for sc.Scan() {
				n++
				err := o.Observe(sc.Bytes(), FormatAuto, &res)
				render(&out, n, &res, err)
				checkObservables(t, file, n, &res)
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			golden := file[:len(file)-len(filepath.Ext(file))] + ".golden"
			if !strings.HasPrefix(file, "testdata/") {
				golden = "testdata/sample_" + strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)) + ".golden"
			}
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("%s differs from %s (run with -update to accept):\n%s", file, golden, out.String())
			}
		})
	}
}

// TestBuiltinProfilesGolden keeps a reviewed list of every builtin field
// mapping in testdata/builtin_profiles.golden (run with -update after a
// deliberate change).
func TestBuiltinProfilesGolden(t *testing.T) {
	var out bytes.Buffer
	for _, p := range BuiltinProfiles() {
		fmt.Fprintf(&out, "profile %s (format %s)\n", p.Name, p.Format)
		for _, fm := range p.Fields {
			kind := "-"
			if fm.Kind != 0 {
				kind = fm.Kind.String()
			}
			fmt.Fprintf(&out, "  %-48s %-12s %-3s %s\n", fm.Field, kind, fm.Role, fm.As)
		}
		for _, tf := range p.TextFields {
			fmt.Fprintf(&out, "  %-48s %-12s %-3s %s\n", tf, "text", "any", ExtractText)
		}
	}
	const golden = "testdata/builtin_profiles.golden"
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("builtin profiles differ from %s (run with -update to accept):\n%s", golden, out.String())
	}
}
