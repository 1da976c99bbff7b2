package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name    string
		samples []int64
		want    Latency
	}{
		{"empty", nil, Latency{}},
		{"one", []int64{5}, Latency{Count: 1, P50: 5, P90: 5, P99: 5, P999: 5, Max: 5}},
		{"1..100 shuffled", shuffled(100), Latency{Count: 100, P50: 50, P90: 90, P99: 99, P999: 100, Max: 100}},
		{"1..1000 shuffled", shuffled(1000), Latency{Count: 1000, P50: 500, P90: 900, P99: 990, P999: 999, Max: 1000}},
	} {
		if got := summarize(tc.samples); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func shuffled(n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = int64(i + 1)
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(n, func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}

func TestTSTable(t *testing.T) {
	var tt tsTable
	for _, seq := range []uint64{0, 1, 65535, 65536, 1 << 20, maxTableSeq - 1} {
		if tt.get(seq) != 0 {
			t.Fatalf("seq %d set before being written", seq)
		}
		tt.set(seq, int64(seq)+7)
		if got := tt.get(seq); got != int64(seq)+7 {
			t.Fatalf("seq %d: got %d", seq, got)
		}
	}
	if tt.get(maxTableSeq) != 0 {
		t.Fatal("out of range seq returned a time")
	}
}

func TestProcessStats(t *testing.T) {
	if cpuTime() <= 0 {
		t.Error("cpuTime is zero")
	}
	if peakRSS() == 0 {
		t.Skip("no /proc/self/status VmHWM here")
	}
	resetPeakRSS() // best effort; never an error
	if peakRSS() == 0 {
		t.Error("peakRSS zero after reset")
	}
}

func sweepFixture() *SweepResult {
	res := func(eps, base float64, rss uint64, p50, p99 time.Duration) *Result {
		return &Result{Engine: Phase{EventsPerSec: eps, PeakRSS: rss, Latency: Latency{P50: p50, P99: p99}},
			Baseline: &Phase{EventsPerSec: base, Latency: Latency{P99: p99 / 2}}}
	}
	return &SweepResult{Mode: "core", MaxRate: 40000,
		ByIndicators: []SweepPoint{
			{Indicators: 1000, Result: res(50000, 150000, 100<<20, 0, 0)},
			{Indicators: 1_000_000, Result: res(30000, 150000, 1200<<20, 0, 0)},
		},
		ByLoad: []SweepPoint{
			{Load: 0.1, Result: res(4000, 4000, 0, 800*time.Microsecond, 3*time.Millisecond)},
			{Load: 1, Result: res(40000, 40000, 0, time.Millisecond, 120*time.Millisecond)},
		}}
}

func TestWriteSVGWellFormed(t *testing.T) {
	for _, sr := range []*SweepResult{sweepFixture(), {Mode: "jetstream"}} {
		var buf bytes.Buffer
		if err := WriteSVG(&buf, sr); err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(&buf)
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("SVG not well formed: %v", err)
			}
		}
	}
	var buf bytes.Buffer
	_ = WriteSVG(&buf, sweepFixture())
	s := buf.String()
	for _, want := range []string{"<polyline", "1.00M", "10%", "100%", "iocmatch p99", "raw NATS events/s", "NaN"} {
		if has := strings.Contains(s, want); has != (want != "NaN") {
			t.Errorf("SVG contains %q: %v", want, has)
		}
	}
}

func TestTargets(t *testing.T) {
	r := &Result{Mode: "core", Indicators: 1_000_000, CompileTime: 2 * time.Second, SnapshotHeapPerIndicator: 64,
		Rate: 20000, Engine: Phase{Latency: Latency{Count: 10, P99: 3 * time.Millisecond}}, Baseline: &Phase{Name: "nats-core"}, Ratio: 1}
	got := map[string]Target{}
	for _, tg := range Targets(r) {
		got[tg.Name[:8]] = tg
	}
	if tg := got["p99 even"]; !tg.Measured || tg.Met {
		t.Errorf("p99 3ms vs 2ms core: %+v", tg)
	}
	if tg := got["compile "]; !tg.Measured || !tg.Met {
		t.Errorf("compile 2s at 1M: %+v", tg)
	}
	if tg := got["throughp"]; tg.Measured {
		t.Errorf("throughput at a fixed rate counted as measured: %+v", tg)
	}
	r.Mode = "jetstream"
	for _, tg := range Targets(r) {
		if strings.HasPrefix(tg.Name, "p99") && !tg.Met {
			t.Errorf("p99 3ms vs 10ms jetstream: %+v", tg)
		}
	}
}
