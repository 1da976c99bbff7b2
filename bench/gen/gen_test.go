package gen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
	"github.com/iocmatch/iocmatch/engine/observe"
)

func TestIndicatorsValidUniqueReproducible(t *testing.T) {
	a, err := Indicators(5000, 7, DefaultMix())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Indicators(5000, 7, DefaultMix())
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[ioc.Kind]int{}
	ids := map[string]bool{}
	for i, ind := range a {
		if err := ind.Validate(); err != nil {
			t.Fatalf("indicator %d: %v", i, err)
		}
		if ids[ind.ID] {
			t.Fatalf("duplicate id %s", ind.ID)
		}
		ids[ind.ID] = true
		kinds[ind.Kind]++
		if ind.ID != b[i].ID || ind.Value != b[i].Value {
			t.Fatalf("indicator %d differs between runs: %+v vs %+v", i, ind, b[i])
		}
	}
	for _, k := range []ioc.Kind{ioc.KindDomain, ioc.KindIPv4, ioc.KindIPv6, ioc.KindCIDRv4, ioc.KindCIDRv6, ioc.KindURL,
		ioc.KindSHA256, ioc.KindSHA1, ioc.KindMD5, ioc.KindJA3, ioc.KindCompound} {
		if kinds[k] == 0 {
			t.Errorf("no %s indicator in the default mix: %v", k, kinds)
		}
	}
	if _, err := match.Compile(a, match.Options{}); err != nil {
		t.Fatal(err)
	}
	c, _ := Indicators(50, 8, DefaultMix())
	if c[0].Value == a[0].Value && c[1].Value == a[1].Value {
		t.Error("different seeds gave the same indicators")
	}
}

func TestIndicatorsBadInput(t *testing.T) {
	for _, tc := range []struct {
		n   int
		mix Mix
	}{{-1, DefaultMix()}, {10, Mix{}}, {10, Mix{Domain: -1, IPv4: 2}}} {
		if _, err := Indicators(tc.n, 1, tc.mix); err == nil {
			t.Errorf("Indicators(%d, %+v): no error", tc.n, tc.mix)
		}
	}
}

// oracle observes and matches an event the way the engine does.
type oracle struct {
	obs  *observe.Observer
	snap *match.Snapshot
	res  observe.Result
	hits []match.Hit
}

func (o *oracle) hitSet(t testing.TB, ev Event) []*ioc.Indicator {
	f, err := observe.ParseFormat(ev.Format)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.obs.Observe(ev.Data, f, &o.res); err != nil {
		t.Fatalf("event %s: %v\n%s", ev.Format, err, ev.Data)
	}
	o.hits = o.snap.Match(o.res.Observables, o.hits[:0])
	var out []*ioc.Indicator
	for _, h := range o.hits {
		out = append(out, h.Indicator)
	}
	return out
}

func TestEventsPlantedHitsAndCleanBackground(t *testing.T) {
	inds, err := Indicators(3000, 11, DefaultMix())
	if err != nil {
		t.Fatal(err)
	}
	snap, err := match.Compile(inds, match.Options{})
	if err != nil {
		t.Fatal(err)
	}
	obs, err := observe.New(observe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := &oracle{obs: obs, snap: snap}
	for _, tc := range []struct {
		format string
		size   int
		ratio  float64
	}{
		{"ecs", 0, 0.3}, {"zeek", 0, 0.3}, {"eve", 0, 0.3}, {"raw", 0, 0.3}, {"mixed", 0, 0.5},
		{"ecs", 1000, 0.1}, {"raw", 400, 1}, {"eve", 300, 0},
	} {
		t.Run(fmt.Sprintf("%s/%d/%g", tc.format, tc.size, tc.ratio), func(t *testing.T) {
			g, err := NewEvents(inds, EventOptions{Format: tc.format, Size: tc.size, HitRatio: tc.ratio, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			planted, kinds := 0, map[ioc.Kind]int{}
			const n = 3000
			for seq := uint64(0); seq < n; seq++ {
				ev := g.Event(seq)
				if tc.format != "mixed" && ev.Format != tc.format {
					t.Fatalf("event %d: format %s", seq, ev.Format)
				}
				if ev.Format != "raw" && !json.Valid(ev.Data) {
					t.Fatalf("event %d: invalid JSON:\n%s", seq, ev.Data)
				}
				if bytes.IndexByte(ev.Data, '\n') >= 0 {
					t.Fatalf("event %d has a newline", seq)
				}
				lo, hi := 300, 1500
				if tc.size > 0 { // padded to the size, never cut
					lo, hi = tc.size, max(tc.size, 1500)
				}
				if len(ev.Data) < lo || len(ev.Data) > hi {
					t.Fatalf("event %d: %d bytes, want %d-%d:\n%s", seq, len(ev.Data), lo, hi, ev.Data)
				}
				if s, ok := FindSeq(ev.Data); !ok || s != seq {
					t.Fatalf("event %d: FindSeq = %d, %v", seq, s, ok)
				}
				if s, ok := ParseSeq(ev.Data[ev.SeqOffset:]); !ok || s != seq {
					t.Fatalf("event %d: seq at offset = %d, %v", seq, s, ok)
				}
				hits := o.hitSet(t, ev)
				if ev.Planted < 0 {
					if len(hits) != 0 {
						t.Fatalf("background event %d matched %s %q:\n%s", seq, hits[0].Kind, hits[0].Value, ev.Data)
					}
					continue
				}
				planted++
				p := inds[ev.Planted]
				kinds[p.Kind]++
				if !slices.Contains(hits, p) {
					t.Fatalf("event %d: planted %s %s %q not matched (hits %d):\n%s", seq, p.ID, p.Kind, p.Value+p.Expr.String(), len(hits), ev.Data)
				}
			}
			want := tc.ratio * n
			if float64(planted) < want*0.85 || float64(planted) > want*1.15+1 {
				t.Errorf("planted %d of %d, want about %g", planted, n, want)
			}
			if tc.ratio >= 0.3 && len(kinds) < 6 {
				t.Errorf("planted kinds %v: want a varied mix", kinds)
			}
		})
	}
}

func TestEventsReproducibleAndSeqPatch(t *testing.T) {
	inds, _ := Indicators(200, 1, DefaultMix())
	g, err := NewEvents(inds, EventOptions{Format: "mixed", HitRatio: 0.5, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(0); seq < 200; seq++ {
		a, b := g.Event(seq), g.Event(seq)
		if !bytes.Equal(a.Data, b.Data) || a.Planted != b.Planted {
			t.Fatalf("event %d not reproducible", seq)
		}
		if err := SetSeq(a.Data, a.SeqOffset, 123456789012); err != nil {
			t.Fatal(err)
		}
		if s, ok := FindSeq(a.Data); !ok || s != 123456789012 {
			t.Fatalf("patched event %d: FindSeq %d %v\n%s", seq, s, ok, a.Data)
		}
	}
	if err := SetSeq(make([]byte, 20), 0, MaxSeq+1); err == nil {
		t.Error("SetSeq accepted a number too large")
	}
	if err := SetSeq(make([]byte, 5), 0, 1); err == nil {
		t.Error("SetSeq accepted a short buffer")
	}
}

func TestNewEventsErrors(t *testing.T) {
	hashOnly, _ := Indicators(20, 1, Mix{JA3: 1})
	for _, tc := range []struct {
		name string
		inds []*ioc.Indicator
		opts EventOptions
	}{
		{"format", nil, EventOptions{Format: "csv"}},
		{"ratio", nil, EventOptions{HitRatio: 1.5}},
		{"size", nil, EventOptions{Size: -1}},
		{"nothing plantable", nil, EventOptions{HitRatio: 0.1}},
		{"ja3 in raw", hashOnly, EventOptions{Format: "raw", HitRatio: 0.1}},
	} {
		if _, err := NewEvents(tc.inds, tc.opts); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func ExampleNewEvents() {
	inds, _ := Indicators(100, 1, DefaultMix())
	g, _ := NewEvents(inds, EventOptions{Format: "zeek", HitRatio: 1, Seed: 1})
	ev := g.Event(42)
	seq, _ := FindSeq(ev.Data)
	fmt.Println(ev.Format, seq, ev.Planted >= 0)
	// Output: zeek 42 true
}

// BenchmarkEvent measures generating one event (the harness pre-generates
// a pool, so this is off the measured path).
//
//	go test -run '^$' -bench Event -count 6 ./bench/gen/ | tee new.txt && benchstat new.txt
func BenchmarkEvent(b *testing.B) {
	inds, _ := Indicators(1000, 1, DefaultMix())
	g, _ := NewEvents(inds, EventOptions{Format: "mixed", HitRatio: 0.1, Seed: 1})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = g.Event(uint64(i))
	}
}

// TestEventsNestedCIDRs plants hits among densely nested CIDR indicators:
// the expected indicator is the most specific prefix containing the
// planted address (longest prefix wins).
func TestEventsNestedCIDRs(t *testing.T) {
	inds, err := Indicators(20000, 5, Mix{CIDRv4: 1, CIDRv6: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := match.Compile(inds, match.Options{})
	if err != nil {
		t.Fatal(err)
	}
	obs, _ := observe.New(observe.Options{})
	o := &oracle{obs: obs, snap: snap}
	g, err := NewEvents(inds, EventOptions{Format: "mixed", HitRatio: 1, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(0); seq < 3000; seq++ {
		ev := g.Event(seq)
		p := inds[ev.Planted]
		if hits := o.hitSet(t, ev); !slices.Contains(hits, p) {
			t.Fatalf("event %d: planted %s %s not among %d hits:\n%s", seq, p.ID, p.Value, len(hits), ev.Data)
		}
	}
}
