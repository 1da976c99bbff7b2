package alert

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
)

// FuzzAlertJSONScan checks the member scanner and the compactor used on
// events against encoding/json on every valid UTF-8 JSON input: the same
// members (the last of duplicates), the same compact bytes.
func FuzzAlertJSONScan(f *testing.F) {
	fuzzseed.Add(f)
	for _, s := range []string{
		`{}`, ` { "a" : 1 , "b":[1, {"c":"}"}], "a":"x\"y" } `, `{"k\u00e9y":{"n":null,"t":true}}`,
		`{"host":{"name":"h"},"host.name":"d","user":{"name":"\u0062ob"}}`, `[1,2]`, `"s"`, `{"a":-1.5e3,"b":"\\"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Build only scans valid UTF-8 (encoding/json would replace bad bytes).
		if !json.Valid(b) || !utf8.Valid(b) {
			return
		}
		var want bytes.Buffer
		if err := json.Compact(&want, b); err != nil {
			t.Fatal(err)
		}
		if got := appendCompact(nil, bytes.TrimSpace(b)); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("appendCompact(%q) = %q, want %q", b, got, want.Bytes())
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) != nil {
			return // not an object
		}
		members := objectMembers(b)
		got := map[string][]byte{}
		for _, mem := range members {
			got[mem.key] = appendCompact(nil, mem.val)
		}
		if len(got) != len(m) {
			t.Fatalf("%q: %d distinct keys, encoding/json has %d", b, len(got), len(m))
		}
		for k, v := range m {
			var c bytes.Buffer
			json.Compact(&c, v)
			if !bytes.Equal(got[k], c.Bytes()) {
				t.Fatalf("%q: key %q = %q, want %q", b, k, got[k], c.Bytes())
			}
		}
	})
}

func TestLookupScalar(t *testing.T) {
	obj := []byte(`{"host":{"name":"nested","os":{"name":"linux"}},"host.ip":"192.0.2.1","n":42,"e":"","o":{"x":1},"u":{"name":"\u0062ob"},"w.x":{"y":"mixed"}}`)
	for path, want := range map[string]string{
		"host.name": "nested", "host.os.name": "linux", "host.ip": "192.0.2.1", "n": "42", "e": "", "o": "",
		"u.name": "bob", "w.x.y": "mixed", "missing": "", "host": "",
	} {
		got, _ := lookupScalar(obj, path, 0)
		if got != want {
			t.Errorf("lookupScalar(%s) = %q, want %q", path, got, want)
		}
	}
}
