package feeds

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
	"github.com/iocmatch/iocmatch/engine/ioc"
)

const sampleDir = "../testdata/sample"

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		name string
		head string
		want Format
	}{
		{"feed.json", `{"type": "bundle", "id": "bundle--1", "objects": [`, FormatSTIX},
		{"x", `{"id":"bundle--1","objects":[{"type":"indicator"`, FormatSTIX},
		{"page.json", `{"more": true, "objects": []}`, FormatSTIX},
		{"one.json", `{"type":"indicator","spec_version":"2.1","id":"indicator--1","pattern":"[a:b = 1]"}`, FormatSTIX},
		{"event.json", "\ufeff  {\"Event\": {\"info\": \"x\"", FormatMISP},
		{"search.json", `{"response": [{"Event": {}}]}`, FormatMISP},
		{"events.json", `[{"Event": {}}]`, FormatMISP},
		{"objs.json", `[{"type":"malware","id":"malware--1"}]`, FormatSTIX},
		{"objs.jsonl", `{"type":"indicator","id":"indicator--1","pattern":"[a:b = 1]"}` + "\n" + `{"type":"malware"`, FormatSTIX},
		{"inds.json", `{"id":"a","kind":"domain","value":"a.example"}` + "\n" + `{"kind":"ipv4"`, FormatJSONLines},
		{"inds.ndjson", ``, FormatJSONLines},
		{"ioc.csv.gz", "domain,a.example\n", FormatCSV},
		{"noext", "# comment\nkind,value\n", FormatCSV},
		{"noext", "ip,203.0.113.1\n", FormatCSV},
		{"ipsum.txt", "# IPsum\n1.2.3.4\t3\n", FormatList},
		{"list", "a.example\nb.example\n", FormatList},
		{"weird.json", `{"foo": 1}`, FormatList},
		{"comma-values", "a.example,b.example\n", FormatList},
	}
	for _, tt := range tests {
		if got := DetectFormat(tt.name, []byte(tt.head)); got != tt.want {
			t.Errorf("DetectFormat(%q, %q) = %q, want %q", tt.name, tt.head, got, tt.want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": FormatAuto, "AUTO": FormatAuto, "ndjson": FormatJSONLines, "tsv": FormatList, "stix": FormatSTIX, "misp": FormatMISP, "csv": FormatCSV} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("ParseFormat(xml) err = %v", err)
	}
}

func kindsOf(inds []*ioc.Indicator) map[string]int {
	m := map[string]int{}
	for _, i := range inds {
		m[i.Kind.String()]++
	}
	return m
}

func TestLoadSampleForms(t *testing.T) {
	tests := []struct {
		file  string
		n     int
		feed  string
		idPfx string
	}{
		{"indicators.jsonl", 13, "sample", "indicator--"},
		{"indicators.csv", 12, "indicators", "indicators:"},
		{"indicators.txt", 9, "indicators", "indicators:"},
		{"feed.stix.json", 12, "feed", "indicator--"}, // the JA3 pattern is reported until the translator maps it
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			inds, rep, err := LoadFile(filepath.Join(sampleDir, tt.file), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(inds) < tt.n || rep.Indicators != len(inds) || rep.SkippedCount != 0 {
				t.Errorf("%d indicators (want >= %d), report %s", len(inds), tt.n, rep)
			}
			for _, i := range inds {
				if err := i.Validate(); err != nil {
					t.Error(err)
				}
				if i.Feed != tt.feed || !strings.HasPrefix(i.ID, tt.idPfx) {
					t.Errorf("feed %q id %q, want feed %q id prefix %q", i.Feed, i.ID, tt.feed, tt.idPfx)
				}
			}
			byKind := map[string]int{}
			for k, n := range rep.ByKind {
				byKind[k.String()] = n
			}
			if got := kindsOf(inds); !reflect.DeepEqual(byKind, got) {
				t.Errorf("report by kind %v, indicators %v", byKind, got)
			}
		})
	}
}

func gz(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLoadGzipAndOptions(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(sampleDir, "feed.stix.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "intel.json.gz")
	os.WriteFile(p, gz(t, data), 0o644)
	inds, rep, err := LoadFile(p, LoadOptions{Confidence: 33})
	if err != nil {
		t.Fatal(err)
	}
	if len(inds) == 0 || inds[0].Feed != "intel" || len(rep.Unsupported)+len(inds) < 13 {
		t.Fatalf("gzip STIX: %d indicators, %s", len(inds), rep)
	}
	for _, i := range inds {
		if i.Confidence == 0 {
			t.Errorf("%s: default confidence not applied", i.ID)
		}
	}
	// A truncated gzip stream is an error naming the file.
	bad := filepath.Join(dir, "bad.txt.gz")
	z := gz(t, []byte(strings.Repeat("a.example\n", 1000)))
	os.WriteFile(bad, z[:len(z)/2], 0o644)
	if _, _, err := LoadFile(bad, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "bad.txt.gz") {
		t.Errorf("truncated gzip: %v", err)
	}
	// Kind for plain lists, forced format.
	lp := filepath.Join(dir, "ja3.lst")
	os.WriteFile(lp, []byte("e7d705a3286e19ea42f587b344ee6865\n"), 0o644)
	inds, _, err = LoadFile(lp, LoadOptions{Kind: ioc.KindJA3, Feed: "fp"})
	if err != nil || len(inds) != 1 || inds[0].Kind != ioc.KindJA3 || inds[0].ID != "fp:ja3:e7d705a3286e19ea42f587b344ee6865" {
		t.Errorf("ja3 list: %v %+v", err, inds)
	}
	if _, _, err := LoadFile(filepath.Join(dir, "missing"), LoadOptions{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
	if _, _, err := LoadFile(lp, LoadOptions{Format: "xml"}); err == nil {
		t.Error("unknown forced format accepted")
	}
	// Not STIX at all, though forced.
	if _, _, err := LoadFile(lp, LoadOptions{Format: FormatSTIX}); err == nil || !strings.Contains(err.Error(), "ja3.lst") {
		t.Errorf("forced stix on a list: %v", err)
	}
}

func TestExpiryAndStrict(t *testing.T) {
	in := `{"kind":"domain","value":"old.example","valid_until":"2026-01-01T00:00:00Z"}
{"kind":"domain","value":"new.example","valid_until":"2026-06-01T00:00:00Z"}
{"kind":"domain","value":"forever.example"}
{"kind":"nope","value":"x"}
`
	now := func() time.Time { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) }
	inds, rep, err := Load(strings.NewReader(in), "x.jsonl", LoadOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(inds) != 2 || rep.Expired != 1 || rep.SkippedCount != 1 || rep.Skipped[0].Where != "x.jsonl:4" {
		t.Errorf("%d indicators, report %+v", len(inds), rep)
	}
	if _, _, err := Load(strings.NewReader(in), "x.jsonl", LoadOptions{Now: now, Strict: true}); err == nil || !strings.Contains(err.Error(), "x.jsonl:4") {
		t.Errorf("strict: %v", err)
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	// The relationship and the malware are in another file than the indicator.
	write := func(name, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/indicators.json", `{"type":"bundle","id":"bundle--1","objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000001","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","pattern":"[domain-name:value = 'c2.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}]}`)
	write("b/context.json", `{"type":"bundle","id":"bundle--2","objects":[{"type":"malware","spec_version":"2.1","id":"malware--00000000-0000-4000-8000-000000000002","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","name":"RAT","is_family":true},{"type":"relationship","spec_version":"2.1","id":"relationship--00000000-0000-4000-8000-000000000003","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","relationship_type":"indicates","source_ref":"indicator--00000000-0000-4000-8000-000000000001","target_ref":"malware--00000000-0000-4000-8000-000000000002"}]}`)
	write("list.txt", "a.example\nc2.example\n")
	write("more.txt.gz", string(gz(t, []byte("a.example\nb.example\n"))))
	write(".hidden/x.txt", "hidden.example\n")
	write("README.md", "notes.example\n")
	inds, rep, err := LoadDir(dir, LoadOptions{Feed: "mixed"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, i := range inds {
		got = append(got, fmt.Sprintf("%s %s %v", i.ID, i.Value, i.Context.Malware))
	}
	sort.Strings(got)
	want := []string{
		"indicator--00000000-0000-4000-8000-000000000001 c2.example [RAT]",
		"mixed:domain:a.example a.example []",
		"mixed:domain:b.example b.example []",
		"mixed:domain:c2.example c2.example []",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadDir:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rep.Duplicates != 1 || len(rep.Files) != 4 || rep.SkippedCount != 1 || !strings.HasSuffix(rep.Skipped[0].Where, "README.md") {
		t.Errorf("report: %+v", rep)
	}

	// A MISP feed directory.
	inds, rep, err = LoadDir(filepath.Join("misp", "testdata", "feed"), LoadOptions{})
	if err != nil || len(inds) != 2 || inds[0].Feed != "feed" || rep.SkippedCount != 1 {
		t.Errorf("MISP feed dir: %v, %d indicators, %s", err, len(inds), rep)
	}
	if _, _, err := LoadDir(filepath.Join(dir, "nope"), LoadOptions{}); err == nil {
		t.Error("missing directory accepted")
	}
}

func TestLoadMISPFile(t *testing.T) {
	inds, rep, err := LoadFile(filepath.Join("misp", "testdata", "event.json"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(inds) != 10 || rep.UnknownTypes["snort"] != 1 || rep.SkippedCount != 1 || !strings.HasPrefix(rep.Skipped[0].Where, filepath.Join("misp", "testdata", "event.json")) {
		t.Errorf("%d indicators, %s, %+v", len(inds), rep, rep.Skipped)
	}
	inds, _, err = LoadFile(filepath.Join("misp", "testdata", "event.json"), LoadOptions{MISPAllAttributes: true})
	if err != nil || len(inds) != 11 {
		t.Errorf("all attributes: %v, %d", err, len(inds))
	}
}

func TestReportString(t *testing.T) {
	r := LoadReport{Files: []string{"a"}, Records: 5, Indicators: 3, ByKind: map[ioc.Kind]int{ioc.KindIPv4: 2, ioc.KindDomain: 1}, SkippedCount: 1,
		Unsupported: []PatternIssue{{}}, NeedsCorrelation: []PatternIssue{{}}, UnknownTypes: map[string]int{"snort": 2}, Revoked: []string{"x"}, Expired: 4, Duplicates: 1}
	want := "1 file(s), 5 record(s), 3 indicator(s) (ipv4 2, domain 1), 1 skipped, 1 duplicate(s), 1 unsupported pattern(s), 1 pattern(s) needing correlation, 1 unknown attribute type(s), 1 revoked, 4 expired"
	if got := r.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
	u := LoadReport{Unsupported: []PatternIssue{{PatternType: "sigma", Reason: "r1"}, {PatternType: "sigma", Reason: "r1"}, {PatternType: "stix", Reason: "r2"}}}
	if got := u.UnsupportedCounts(); !reflect.DeepEqual(got, map[string]int{"sigma: r1": 2, "stix: r2": 1}) {
		t.Errorf("UnsupportedCounts = %v", got)
	}
	var m LoadReport
	m.Merge(r)
	m.Merge(r)
	if m.Indicators != 6 || m.ByKind[ioc.KindIPv4] != 4 || m.UnknownTypes["snort"] != 4 || len(m.Files) != 2 || m.Expired != 8 {
		t.Errorf("Merge: %+v", m)
	}
}

func ExampleLoadFile() {
	inds, rep, err := LoadFile("../testdata/sample/indicators.csv", LoadOptions{Feed: "sample-csv"})
	if err != nil {
		panic(err)
	}
	fmt.Println(inds[0].ID)
	fmt.Println(rep)
	// Output:
	// sample-csv:domain:malware-c2.example
	// 1 file(s), 16 record(s), 12 indicator(s) (ipv4 1, ipv6 1, cidr4 1, domain 2, url 1, email 1, md5 1, sha256 1, ja3 1, registry-key 1, command-line 1), 0 skipped
}

// FuzzListLoadAuto feeds arbitrary input to format detection and the
// detected reader: never a panic, only valid indicators.
func FuzzListLoadAuto(f *testing.F) {
	for _, name := range []string{"indicators.jsonl", "indicators.csv", "indicators.txt", "feed.stix.json"} {
		b, err := os.ReadFile(filepath.Join(sampleDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Event":{"Attribute":[{"type":"domain","value":"a.example","to_ids":true}]}}`))
	fuzzseed.Add(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		inds, rep, err := Load(bytes.NewReader(data), "fuzz", LoadOptions{Now: func() time.Time { return time.Unix(0, 0) }})
		if err != nil {
			return
		}
		if rep.Indicators != len(inds) {
			t.Fatalf("report says %d, got %d", rep.Indicators, len(inds))
		}
		for _, i := range inds {
			if err := i.Validate(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
