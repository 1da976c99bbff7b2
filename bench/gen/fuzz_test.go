package gen

import (
	"bytes"
	"testing"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
)

// FuzzBenchFindSeq checks the alert correlator's parser: it never panics,
// a number it returns is SeqDigits digits right after a marker, and a
// number written with SetSeq after a marker is always found.
func FuzzBenchFindSeq(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte(`{"event":{"id":"bench-000000000042"}}`))
	f.Add([]byte(`{"iocmatch":{"indicator_ids":["bench--domain--1"]},"event":{"original":"{\"flow_id\":1000000000001234}"}}`))
	f.Add([]byte(`Cbench12345678901`))
	f.Add([]byte(`rid=bench-bench-000000000007`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		n, ok := FindSeq(doc)
		if ok {
			if n > MaxSeq {
				t.Fatalf("seq %d above MaxSeq", n)
			}
			var want [SeqDigits]byte
			_ = SetSeq(want[:], 0, n)
			found := false
			for _, m := range seqMarkers {
				found = found || bytes.Contains(doc, append([]byte(m), want[:]...))
			}
			if !found {
				t.Fatalf("FindSeq = %d but no marker precedes those digits in %q", n, doc)
			}
		}
		// Planting a number after a marker in front of any document is
		// always found (the first marker wins).
		ev := append([]byte(seqMarkers[0]+"000000000000 "), doc...)
		if err := SetSeq(ev, len(seqMarkers[0]), 987654321); err != nil {
			t.Fatal(err)
		}
		if n, ok := FindSeq(ev); !ok || n != 987654321 {
			t.Fatalf("planted seq not found: %d %v in %q", n, ok, ev)
		}
	})
}
