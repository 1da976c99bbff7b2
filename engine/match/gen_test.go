package match

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// gen produces seeded random indicators and events for the reference
// test and the benchmarks. Values are built normalised.
type gen struct {
	r *rand.Rand
	n int // counter for unique ids
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

var tlds = []string{"com", "net", "org", "example", "test", "io", "ru", "cn"}

func (g *gen) label() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	n := 3 + g.r.IntN(8)
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[g.r.IntN(26+10*min(i, 1))] // first char a letter
	}
	return string(b)
}

func (g *gen) domain() string {
	d := g.label() + "." + tlds[g.r.IntN(len(tlds))]
	if g.r.IntN(3) == 0 {
		d = g.label() + "." + d
	}
	return d
}

func (g *gen) ip4() netip.Addr {
	// First octet 1-160: events can use 172.16.0.0/12 and 192.0.2.0/24
	// etc. for guaranteed misses.
	b := [4]byte{byte(1 + g.r.UintN(160)), byte(g.r.UintN(256)), byte(g.r.UintN(256)), byte(g.r.UintN(256))}
	return netip.AddrFrom4(b)
}

func (g *gen) ip6() netip.Addr {
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	for i := 4; i < 16; i++ {
		b[i] = byte(g.r.UintN(256))
	}
	if g.r.IntN(2) == 0 { // sparse: many zero bytes, like real addresses
		for i := 8; i < 14; i++ {
			b[i] = 0
		}
	}
	return netip.AddrFrom16(b)
}

// inPrefix returns a random address inside p.
func (g *gen) inPrefix(p netip.Prefix) netip.Addr {
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		for bit := p.Bits(); bit < 32; bit++ {
			if g.r.IntN(2) == 1 {
				b[bit/8] |= 1 << (7 - bit%8)
			}
		}
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	for bit := p.Bits(); bit < 128; bit++ {
		if g.r.IntN(2) == 1 {
			b[bit/8] |= 1 << (7 - bit%8)
		}
	}
	return netip.AddrFrom16(b)
}

func (g *gen) hexN(n int) string {
	b := make([]byte, n/2)
	for i := range b {
		b[i] = byte(g.r.UintN(256))
	}
	return hex.EncodeToString(b)
}

func (g *gen) url(host string) string {
	return fmt.Sprintf("http://%s/%s/%s.php?id=%d", host, g.label(), g.label(), g.r.IntN(1000))
}

var hashKinds = []ioc.Kind{ioc.KindMD5, ioc.KindSHA1, ioc.KindSHA256, ioc.KindSHA512, ioc.KindJA3, ioc.KindJA3S}

// atomic returns one random atomic indicator of a mixed distribution
// resembling threat feeds: mostly addresses, domains, URLs and hashes.
func (g *gen) atomic() *ioc.Indicator {
	g.n++
	id := fmt.Sprintf("indicator--%08d", g.n)
	var k ioc.Kind
	var v string
	switch x := g.r.IntN(100); {
	case x < 20:
		k, v = ioc.KindIPv4, g.ip4().String()
	case x < 25:
		k, v = ioc.KindIPv6, g.ip6().String()
	case x < 33:
		p, _ := g.ip4().Prefix(8 + g.r.IntN(24))
		k, v = ioc.KindCIDRv4, p.String()
	case x < 36:
		p, _ := g.ip6().Prefix(24 + g.r.IntN(103))
		k, v = ioc.KindCIDRv6, p.String()
	case x < 60:
		k, v = ioc.KindDomain, g.domain()
	case x < 70:
		k, v = ioc.KindURL, g.url(g.domain())
	case x < 86:
		k = hashKinds[g.r.IntN(len(hashKinds))]
		v = g.hexN(ioc.HexLen(k))
	case x < 90:
		k, v = ioc.KindEmail, g.label()+"@"+g.domain()
	case x < 92:
		k, v = ioc.KindFileName, g.label()+".exe"
	case x < 93:
		k, v = ioc.KindFilePath, `C:\Users\Public\`+g.label()+".dll"
	case x < 94:
		k, v = ioc.KindUserAgent, "Mozilla/5.0 ("+g.label()+")"
	case x < 95:
		k, v = ioc.KindJA4, "t13d"+g.hexN(4)+"_"+g.hexN(12)
	case x < 96:
		k, v = ioc.KindRegistryKey, `hkey_local_machine\software\`+g.label()
	case x < 97:
		k, v = ioc.KindProcessName, g.label()+".exe"
	default:
		// duplicate value of an earlier kind with another id happens via dupOf in callers
		k, v = ioc.KindDomain, g.domain()
	}
	return &ioc.Indicator{ID: id, Kind: k, Value: v}
}

func (g *gen) substring(k ioc.Kind) *ioc.Indicator {
	g.n++
	return &ioc.Indicator{ID: fmt.Sprintf("indicator--%08d", g.n), Kind: k, Value: g.label() + g.label()[:2]}
}

func pr(k ioc.Kind, r ioc.Role, op ioc.PredOp, vals ...string) *ioc.Expr {
	return ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: k, Role: r}, Op: op, Values: vals})
}

// compound returns a random compound indicator from a few templates that
// cover every operator, with values drawn from the generator so that
// events can satisfy them.
func (g *gen) compound() *ioc.Indicator {
	g.n++
	id := fmt.Sprintf("indicator--%08d", g.n)
	var e *ioc.Expr
	port := fmt.Sprint(g.r.IntN(4) * 1000)
	t := g.r.IntN(11) // templates 0-9 and default (11) uniformly
	if t == 10 {
		t = 11
	}
	if g.r.IntN(100) == 0 {
		t = 10 // ~1% unanchored
	}
	switch t {
	case 0:
		e = ioc.And(pr(ioc.KindIPv4, ioc.RoleDst, ioc.PredEq, g.ip4().String()), pr(ioc.KindPort, ioc.RoleDst, ioc.PredEq, port))
	case 1:
		e = ioc.And(pr(ioc.KindDomain, ioc.RoleAny, ioc.PredEq, g.domain()),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindPort, Role: ioc.RoleDst}, Op: ioc.PredEq, Negate: true, Values: []string{"53"}}))
	case 2:
		e = ioc.Or(pr(ioc.KindURL, ioc.RoleAny, ioc.PredContains, "/"+g.label()[:3]), pr(ioc.KindUserAgent, ioc.RoleAny, ioc.PredEq, "Mozilla/5.0 ("+g.label()+")"))
	case 3:
		p, _ := g.ip4().Prefix(8 + g.r.IntN(16))
		e = ioc.And(ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindIPv4, Role: ioc.RoleSrc}, Op: ioc.PredCIDR, Prefixes: []netip.Prefix{p}}),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindPort}, Op: ioc.PredGe, Num: int64(g.r.IntN(4) * 1000)}))
	case 4:
		e = ioc.And(ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindText}, Op: ioc.PredRegex, Regex: g.label()[:2] + `[0-9]+`}),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindFileName}, Op: ioc.PredExists}))
	case 5:
		e = ioc.Or(pr(ioc.KindMD5, ioc.RoleAny, ioc.PredEq, g.hexN(32)), pr(ioc.KindSHA256, ioc.RoleAny, ioc.PredEq, g.hexN(64)))
	case 6:
		e = ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindDomain, Field: "dns.question.name"}, Op: ioc.PredEq, Values: []string{g.domain()}})
	case 7:
		var vals []string
		for range 12 {
			vals = append(vals, g.ip4().String())
		}
		e = ioc.And(pr(ioc.KindIPv4, ioc.RoleAny, ioc.PredIn, vals...),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindPort, Role: ioc.RoleDst}, Op: ioc.PredLt, Num: 1024}))
	case 8:
		e = ioc.And(ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindCommandLine}, Op: ioc.PredContains, Values: []string{g.label()[:3]}}),
			ioc.Not(ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindProcessName}, Op: ioc.PredEq, Values: []string{"explorer.exe"}})))
	case 9:
		e = ioc.And(pr(ioc.KindIPv6, ioc.RoleAny, ioc.PredEq, g.ip6().String()),
			ioc.Not(ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindEmail}, Op: ioc.PredExists})))
	case 10:
		// unanchored: holds for events with none of these kinds
		e = ioc.Not(ioc.Or(
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindIPv4}, Op: ioc.PredExists}),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindDomain}, Op: ioc.PredExists}),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindText}, Op: ioc.PredExists}),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindCommandLine}, Op: ioc.PredExists}),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindURL}, Op: ioc.PredExists}),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindSHA256}, Op: ioc.PredExists})))
	default:
		// value-anchored on a domain, the most common shape
		e = ioc.And(pr(ioc.KindDomain, ioc.RoleAny, ioc.PredEq, g.domain()),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindPort, Role: ioc.RoleDst}, Op: ioc.PredEq, Negate: true, Values: []string{"53"}}))
	}
	return &ioc.Indicator{ID: id, Kind: ioc.KindCompound, Expr: e}
}

// mixedIndicators returns n atomic indicators plus n/1000 substring and
// command-line indicators (min 1 each) and n/1000 compounds, capped at
// 1000 each (the Aho-Corasick library needs ~4 KiB per pattern byte).
// About 1% of values are duplicated under another id.
func mixedIndicators(n int, seed uint64) []*ioc.Indicator {
	g := newGen(seed)
	out := make([]*ioc.Indicator, 0, n+3*min(max(n/1000, 1), 1000))
	for range n {
		ind := g.atomic()
		if len(out) > 0 && g.r.IntN(100) == 0 {
			prev := out[g.r.IntN(len(out))]
			if prev.Kind.IsAtomic() {
				ind.Kind, ind.Value = prev.Kind, prev.Value
			}
		}
		out = append(out, ind)
	}
	extra := min(max(n/1000, 1), 1000)
	for range extra {
		out = append(out, g.substring(ioc.KindSubstring), g.substring(ioc.KindCommandLine), g.compound())
	}
	return out
}

// typicalEvent returns the observables of a typical ECS network/process
// event (~9 observables); with hit, the destination domain is one of
// mixedIndicators' domains (a subdomain of it).
func typicalEvent(hit bool) []ioc.Observable {
	dom := "www.example-shop.test"
	if hit {
		for _, ind := range mixedIndicators(100, 1) {
			if ind.Kind == ioc.KindDomain {
				dom = "cdn." + ind.Value
				break
			}
		}
	}
	return []ioc.Observable{
		ob(ioc.KindIPv4, ioc.RoleSrc, "source.ip", "172.16.3.4"),
		ob(ioc.KindIPv4, ioc.RoleDst, "destination.ip", "203.0.113.14"),
		ob(ioc.KindPort, ioc.RoleDst, "destination.port", "443"),
		ob(ioc.KindDomain, ioc.RoleDst, "url.domain", dom),
		ob(ioc.KindURL, ioc.RoleDst, "url.full", "https://"+dom+"/cart/checkout?item=42"),
		ob(ioc.KindUserAgent, ioc.RoleSrc, "user_agent.original", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"),
		ob(ioc.KindSHA256, ioc.RoleAny, "process.hash.sha256", "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"),
		ob(ioc.KindProcessName, ioc.RoleAny, "process.name", "chrome.exe"),
		ob(ioc.KindCommandLine, ioc.RoleAny, "process.command_line", `"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer`),
	}
}
