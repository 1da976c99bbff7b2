package allowlist

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// Benchmarks of Allowed per list type, on lists of realistic size built
// in memory (seeded, deterministic), with a linear scan over the same
// entries as the baseline (what a naive allowlist would do).
//
//	go test -run '^$' -bench . -benchmem -count 6 ./engine/allowlist/ | tee new.txt
//	benchstat old.txt new.txt

func benchLists(n int) (*Allowlist, []netip.Prefix, []string) {
	cidr := &List{Name: "cidr", Type: TypeCIDR}
	host := &List{Name: "hosts", Type: TypeHostname}
	var prefixes []netip.Prefix
	var hosts []string
	for i := 0; i < n; i++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(i >> 16), byte(i >> 8), byte(i), 0}), 24)
		prefixes = append(prefixes, p)
		for _, k := range []ioc.Kind{ioc.KindIPv4, ioc.KindIPv6} {
			cidr.entries = append(cidr.entries, entry{kind: k, how: howPrefix, prefix: p})
		}
		h := fmt.Sprintf("site%d.example", i)
		hosts = append(hosts, h)
		host.entries = append(host.entries, entry{kind: ioc.KindDomain, how: howSuffix, value: h})
	}
	a, err := New(cidr, host)
	if err != nil {
		panic(err)
	}
	return a, prefixes, hosts
}

func BenchmarkAllowedCIDR(b *testing.B) {
	a, prefixes, _ := benchLists(50000)
	hit := netip.MustParseAddr("0.100.7.9")
	miss := netip.MustParseAddr("200.1.2.3")
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			a.Allowed(ioc.KindIPv4, nil, hit)
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			a.Allowed(ioc.KindIPv4, nil, miss)
		}
	})
	b.Run("linear-baseline-miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, p := range prefixes {
				if p.Contains(miss) {
					break
				}
			}
		}
	})
}

func BenchmarkAllowedHostname(b *testing.B) {
	a, _, hosts := benchLists(50000)
	hit := []byte("a.b.site4242.example")
	miss := []byte("a.b.notasite.example")
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			a.Allowed(ioc.KindDomain, hit, netip.Addr{})
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			a.Allowed(ioc.KindDomain, miss, netip.Addr{})
		}
	})
	b.Run("linear-baseline-miss", func(b *testing.B) {
		b.ReportAllocs()
		m := string(miss)
		for b.Loop() {
			for _, h := range hosts {
				if m == h || strings.HasSuffix(m, "."+h) {
					break
				}
			}
		}
	})
}

func BenchmarkAllowedSubstring(b *testing.B) {
	l := &List{Name: "subs", Type: TypeSubstring}
	var subs []string
	for i := 0; i < 8000; i++ {
		s := fmt.Sprintf("mail%d.example", i)
		subs = append(subs, s)
		l.entries = append(l.entries, entry{kind: ioc.KindEmail, how: howSubstring, value: s})
	}
	a, err := New(l)
	if err != nil {
		b.Fatal(err)
	}
	miss := []byte("someone@corp.example")
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			a.Allowed(ioc.KindEmail, miss, netip.Addr{})
		}
	})
	b.Run("contains-baseline-miss", func(b *testing.B) {
		b.ReportAllocs()
		m := string(miss)
		for b.Loop() {
			for _, s := range subs {
				if strings.Contains(m, s) {
					break
				}
			}
		}
	})
}

// BenchmarkAllowedCorpus loads the real MISP warninglists when present
// (/work/shared/corpus/warninglists/lists; skipped otherwise).
func BenchmarkAllowedCorpus(b *testing.B) {
	dir := "/work/shared/corpus/warninglists/lists"
	if _, err := os.Stat(dir); err != nil {
		b.Skip("corpus not present")
	}
	a, err := Load(Options{WarninglistsDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	ip := netip.MustParseAddr("203.0.113.66")
	dom := []byte("malware-c2.example")
	b.Run("ip-miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			a.Allowed(ioc.KindIPv4, nil, ip)
		}
	})
	b.Run("domain-miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			a.Allowed(ioc.KindDomain, dom, netip.Addr{})
		}
	})
}
