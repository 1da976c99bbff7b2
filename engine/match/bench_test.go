package match

// Benchmarks. The 1M-indicator data is generated (seeded) once per
// process, never committed. Compare runs with:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./engine/match/ | tee new.txt
//	benchstat old.txt new.txt
//
// Baselines measured in the same run: cidranger vs bart (Options.CIDR),
// map-only vs Bloom+map (Options.DisableBloom), cloudflare vs compact
// Aho-Corasick (Options.Automaton).

import (
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"testing"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

var (
	bench1MOnce sync.Once
	bench1M     []*ioc.Indicator
	snapMu      sync.Mutex
	snaps       = map[string]*Snapshot{}
)

func inds1M() []*ioc.Indicator {
	bench1MOnce.Do(func() { bench1M = mixedIndicators(1_000_000, 1) })
	return bench1M
}

func snap1M(b *testing.B, opts Options) *Snapshot { return snapOf(b, opts, false) }

// snapOf compiles (once) the 1M indicators, or with atomicOnly only the
// exact-set and CIDR ones (no substrings, no compounds), to measure
// those structures alone.
func snapOf(b *testing.B, opts Options, atomicOnly bool) *Snapshot {
	b.Helper()
	key := fmt.Sprintf("%+v/%v", opts, atomicOnly)
	snapMu.Lock()
	defer snapMu.Unlock()
	if s, ok := snaps[key]; ok {
		return s
	}
	inds := inds1M()
	if atomicOnly {
		var only []*ioc.Indicator
		for _, ind := range inds {
			if ind.Kind != ioc.KindCompound && ind.Kind != ioc.KindSubstring && ind.Kind != ioc.KindCommandLine {
				only = append(only, ind)
			}
		}
		inds = only
	}
	s, err := Compile(inds, opts)
	if err != nil {
		b.Fatal(err)
	}
	snaps[key] = s
	return s
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkCompile1M compiles 1M mixed indicators (plus 1000 substring,
// 1000 command-line and 1000 compound ones) and reports the heap the
// Snapshot holds beyond the indicators, per indicator.
func BenchmarkCompile1M(b *testing.B) {
	for _, opts := range []Options{{CIDR: CIDRBart}, {CIDR: CIDRBart, DisableBloom: true}, {CIDR: CIDRCIDRanger}} {
		b.Run(fmt.Sprintf("cidr=%s/bloom=%v", opts.CIDR, !opts.DisableBloom), func(b *testing.B) {
			inds := inds1M()
			b.ReportAllocs()
			var s *Snapshot
			var bytes uint64
			for b.Loop() {
				b.StopTimer()
				s = nil
				before := heapInUse()
				b.StartTimer()
				var err error
				s, err = Compile(inds, opts)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				bytes = heapInUse() - before
				b.StartTimer()
			}
			b.ReportMetric(float64(bytes)/float64(len(inds)), "heapB/indicator")
			b.ReportMetric(float64(s.Stats().ApproxBytes)/float64(len(inds)), "approxB/indicator")
			runtime.KeepAlive(s)
		})
	}
}

// BenchmarkMatchTypicalEvent1M matches a typical ECS event (9
// observables: 2 IPs, port, domain, URL, user agent, SHA-256, process
// name, command line) against the 1M snapshot.
func BenchmarkMatchTypicalEvent1M(b *testing.B) {
	for _, opts := range []Options{{CIDR: CIDRBart}, {CIDR: CIDRBart, DisableBloom: true}, {CIDR: CIDRCIDRanger}} {
		for _, hit := range []bool{false, true} {
			name := fmt.Sprintf("cidr=%s/bloom=%v/hit=%v", opts.CIDR, !opts.DisableBloom, hit)
			b.Run(name, func(b *testing.B) {
				s := snap1M(b, opts)
				ev := typicalEvent(hit)
				dst := make([]Hit, 0, 16)
				if n := len(s.Match(ev, dst)); (n > 0) != hit {
					b.Fatalf("hit=%v but %d hits", hit, n)
				}
				b.ReportAllocs()
				for b.Loop() {
					dst = s.Match(ev, dst[:0])
				}
			})
		}
	}
}

// BenchmarkMatchTypicalEventAtomic1M is BenchmarkMatchTypicalEvent1M
// against the ~1M exact-set and CIDR indicators only (no substring or
// compound indicators): the cost of the atomic structures alone.
func BenchmarkMatchTypicalEventAtomic1M(b *testing.B) {
	for _, bloom := range []bool{true, false} {
		for _, hit := range []bool{false, true} {
			b.Run(fmt.Sprintf("bloom=%v/hit=%v", bloom, hit), func(b *testing.B) {
				s := snapOf(b, Options{DisableBloom: !bloom}, true)
				ev := typicalEvent(hit)
				dst := make([]Hit, 0, 16)
				if n := len(s.Match(ev, dst)); (n > 0) != hit {
					b.Fatalf("hit=%v but %d hits", hit, n)
				}
				b.ReportAllocs()
				for b.Loop() {
					dst = s.Match(ev, dst[:0])
				}
			})
		}
	}
}

// BenchmarkMatchParallel1M runs the no-hit typical event from all
// GOMAXPROCS goroutines against one shared snapshot.
func BenchmarkMatchParallel1M(b *testing.B) {
	s := snap1M(b, Options{})
	ev := typicalEvent(false)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		dst := make([]Hit, 0, 16)
		for pb.Next() {
			dst = s.Match(ev, dst[:0])
		}
	})
}

// BenchmarkMatchStructure1M matches one observable of each structure
// alone against the ~1M exact-set and CIDR indicators (no substrings, no
// compounds), on the miss path (the common case), with and without the
// Bloom pre-filters: map-only is the baseline that tells whether the
// Bloom filter pays for itself. BenchmarkMatchCompounds1M and
// BenchmarkAutomaton measure the other structures.
func BenchmarkMatchStructure1M(b *testing.B) {
	cases := []struct {
		name string
		obs  ioc.Observable
	}{
		{"ipv4-miss", ob(ioc.KindIPv4, ioc.RoleDst, "destination.ip", "203.0.113.99")},
		{"ipv4-in-cidr", ob(ioc.KindIPv4, ioc.RoleDst, "destination.ip", "10.0.0.1")},
		{"ipv6-miss", ob(ioc.KindIPv6, ioc.RoleDst, "destination.ip", "2a00:1450:4001::1")},
		{"ipv6-in-shared-cidr", ob(ioc.KindIPv6, ioc.RoleDst, "destination.ip", "2001:db9::1")}, // ~150 indicators share 2001:d00::/24
		{"domain-miss-4labels", ob(ioc.KindDomain, ioc.RoleDst, "dns.question.name", "a.cdn.example-shop.test")},
		{"url-miss", ob(ioc.KindURL, ioc.RoleDst, "url.full", "https://www.example-shop.test/cart/checkout?item=42")},
		{"sha256-miss", ob(ioc.KindSHA256, ioc.RoleAny, "file.hash.sha256", "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae")},
		{"md5-miss", ob(ioc.KindMD5, ioc.RoleAny, "file.hash.md5", "0cc175b9c0f1b6a831c399e269772661")},
		{"filename-miss", ob(ioc.KindFileName, ioc.RoleAny, "file.name", "report.docx")},
		{"cmdline-miss-80B", ob(ioc.KindCommandLine, ioc.RoleAny, "process.command_line", `"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --lang=en`)},
	}
	for _, bloom := range []bool{true, false} {
		for _, c := range cases {
			b.Run(fmt.Sprintf("%s/bloom=%v", c.name, bloom), func(b *testing.B) {
				s := snapOf(b, Options{DisableBloom: !bloom}, true)
				obs := []ioc.Observable{c.obs}
				dst := make([]Hit, 0, 16)
				b.ReportAllocs()
				for b.Loop() {
					dst = s.Match(obs, dst[:0])
				}
			})
		}
	}
}

// BenchmarkMatchCompounds1M matches observables against the 1000
// compounds of the 1M set alone (Stats reports how they are anchored):
// the typical event, and a single port observable.
func BenchmarkMatchCompounds1M(b *testing.B) {
	var cmps []*ioc.Indicator
	for _, ind := range inds1M() {
		if ind.Kind == ioc.KindCompound {
			cmps = append(cmps, ind)
		}
	}
	s, err := Compile(cmps, Options{})
	if err != nil {
		b.Fatal(err)
	}
	st := s.Stats()
	b.Logf("%d compounds: %d value-anchored, %d kind-anchored, %d unanchored", len(cmps), st.CompoundsValueAnchored, st.CompoundsKindAnchored, st.CompoundsUnanchored)
	for name, ev := range map[string][]ioc.Observable{
		"typical-event": typicalEvent(false),
		"port-only":     {ob(ioc.KindPort, ioc.RoleDst, "destination.port", "443")},
	} {
		b.Run(name, func(b *testing.B) {
			dst := make([]Hit, 0, 16)
			b.ReportAllocs()
			for b.Loop() {
				dst = s.Match(ev, dst[:0])
			}
		})
	}
}

// BenchmarkPrefixTable1M compares the two CIDR tables on 1M random
// prefixes (80% IPv4 /8-/32, 20% IPv6 /16-/128): heap per prefix and
// lookup time of random addresses.
func BenchmarkPrefixTable1M(b *testing.B) {
	g := newGen(3)
	const n = 1_000_000
	prefixes := make([]netip.Prefix, 0, n)
	seen := map[netip.Prefix]bool{}
	for len(prefixes) < n {
		var p netip.Prefix
		if g.r.IntN(5) < 4 {
			p, _ = g.ip4().Prefix(8 + g.r.IntN(25))
		} else {
			p, _ = g.ip6().Prefix(16 + g.r.IntN(113))
		}
		if !seen[p] {
			seen[p] = true
			prefixes = append(prefixes, p)
		}
	}
	seen = nil
	addrs := make([]netip.Addr, 4096)
	for i := range addrs {
		if i%5 == 4 {
			addrs[i] = g.ip6()
		} else {
			addrs[i] = g.ip4()
		}
	}
	for _, name := range []string{CIDRBart, CIDRCIDRanger} {
		var t prefixTable
		var bytes uint64
		b.Run("build/"+name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				t = nil
				before := heapInUse()
				b.StartTimer()
				t, _ = newPrefixTable(name)
				for i, p := range prefixes {
					if err := t.insert(p, int32(i)); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				bytes = heapInUse() - before
				b.StartTimer()
			}
			b.ReportMetric(float64(bytes)/n, "heapB/prefix")
			b.ReportMetric(float64(bytes)/(1<<20), "heapMiB")
		})
		if t == nil { // build was filtered out
			t, _ = newPrefixTable(name)
			for i, p := range prefixes {
				_ = t.insert(p, int32(i))
			}
		}
		b.Run("lookup/"+name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				t.lookup(addrs[i&4095])
				i++
			}
		})
	}
}

// BenchmarkAutomaton compares the compact automaton with
// github.com/cloudflare/ahocorasick on 1000 patterns: build, memory, and
// scanning a 200-byte text without hits, serially and in parallel.
func BenchmarkAutomaton(b *testing.B) {
	g := newGen(5)
	var patterns []string
	seen := map[string]bool{}
	for len(patterns) < 1000 {
		p := g.label() + g.label()
		if !seen[p] {
			seen[p] = true
			patterns = append(patterns, p)
		}
	}
	text := []byte(`Dec  3 17:43:30 web01 sshd[2231]: Failed password for invalid user admin from 203.0.113.9 port 52144 ssh2; "GET /index.html HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (X11; Linux x86_64)"`)
	builders := map[string]func([]string) substringMatcher{
		AutomatonCompact:    func(p []string) substringMatcher { return newACMatcher(p) },
		AutomatonCloudflare: func(p []string) substringMatcher { return newCFMatcher(p) },
	}
	for _, name := range []string{AutomatonCompact, AutomatonCloudflare} {
		var m substringMatcher
		b.Run("build/"+name, func(b *testing.B) {
			var bytes uint64
			for b.Loop() {
				b.StopTimer()
				m = nil
				before := heapInUse()
				b.StartTimer()
				m = builders[name](patterns)
				b.StopTimer()
				bytes = heapInUse() - before
				b.StartTimer()
			}
			b.ReportMetric(float64(bytes)/float64(len(patterns)), "heapB/pattern")
		})
		if m == nil { // build was filtered out
			m = builders[name](patterns)
		}
		if n := len(m.matchAll(text)); n != 0 {
			b.Fatalf("%d hits in the no-hit text", n)
		}
		b.Run("scan200B/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				m.matchAll(text)
			}
		})
		b.Run("scan200B-parallel/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(text)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m.matchAll(text)
				}
			})
		})
	}
}
