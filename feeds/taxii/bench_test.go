package taxii

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

// Run: go test -run '^$' -bench . -benchmem -count 6 ./feeds/taxii/ | tee new.txt; benchstat old.txt new.txt

// envelopeBody is a 2.1 page of n indicators of realistic size.
func envelopeBody(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"more": true, "next": "abc", "objects": [`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"indicator","spec_version":"2.1","id":"indicator--%08d-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"C2 %d","pattern":"[ipv4-addr:value = '198.51.%d.%d']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","labels":["malicious-activity"],"external_references":[{"source_name":"x","url":"https://example.com/%d"}]}`, i, i, i/256%256, i%256, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkDecodeEnvelope compares the page decoder (objects kept raw)
// with a baseline generic decode of the same page into maps.
func BenchmarkDecodeEnvelope(b *testing.B) {
	body := envelopeBody(1000)
	b.Run("DecodeEnvelope", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := DecodeEnvelope(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-json-map", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var v map[string]any
			if err := json.Unmarshal(body, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkObjectsPull pulls 10,000 objects in pages of 1,000 from the
// in-process fake server (HTTP over loopback included).
func BenchmarkObjectsPull(b *testing.B) {
	f := newFake(b, Version21)
	f.addCollection("/api1/", "c1", seq("bench000", 10000, t0)...)
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := New(Config{URL: srv.URL, Version: Version21}, discardLog())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := c.Objects(context.Background(), "api1", "c1", Filter{Limit: 1000}, func(p Page) error {
			n += len(p.Objects)
			return nil
		})
		if err != nil || n != 10000 {
			b.Fatalf("%d objects, %v", n, err)
		}
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "objects/s")
}
