package alert

import (
	"encoding/json"
	"testing"
)

// Benchmarks of building and encoding one alert (the ECS event with a
// domain hit), with encoding/json as a baseline: Marshal of the same
// document decoded into map[string]any (what a generic encoder would
// do), and Marshal of the Alert through its MarshalJSON.
//
//	go test -run '^$' -bench . -benchmem -count 6 ./engine/alert/ | tee bench.out
//	benchstat bench.out
func BenchmarkBuildAndEncode(b *testing.B) {
	tc := goldenCaseNamed(b, "domain_suffix_ecs")
	tc.in.Now = now
	bl := NewBuilder(Options{})
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		a, err := bl.Build(tc.in)
		if err != nil {
			b.Fatal(err)
		}
		buf = a.AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkAppendJSON(b *testing.B) {
	tc := goldenCaseNamed(b, "domain_suffix_ecs")
	tc.in.Now = now
	a, err := NewBuilder(Options{}).Build(tc.in)
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = a.AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkBaselineJSONMarshalMap encodes the same document with
// encoding/json from a map[string]any.
func BenchmarkBaselineJSONMarshalMap(b *testing.B) {
	tc := goldenCaseNamed(b, "domain_suffix_ecs")
	tc.in.Now = now
	a, err := NewBuilder(Options{}).Build(tc.in)
	if err != nil {
		b.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(a.AppendJSON(nil), &doc); err != nil {
		b.Fatal(err)
	}
	var n int
	b.ReportAllocs()
	for b.Loop() {
		out, err := json.Marshal(doc)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.SetBytes(int64(n))
}

func BenchmarkThrottleCheck(b *testing.B) {
	th, err := NewThrottle(ThrottleOptions{Window: 1 << 40, MaxEntries: 1000})
	if err != nil {
		b.Fatal(err)
	}
	ids := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		th.Check(ids[i&7], "192.0.2.1", "")
		i++
	}
}
