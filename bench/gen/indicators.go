// Package gen generates seeded, reproducible benchmark workloads for
// iocmatch: a realistic mix of indicators and log events (ECS, Zeek,
// Suricata EVE, raw syslog and Apache lines) carrying planted hits at a
// configured ratio in the fields a real log would carry them.
//
// Values are drawn from disjoint name spaces so that the expected outcome
// of every event is known by construction: indicator domains have
// second-level labels starting with "qz" (background domains never do),
// indicator addresses come from ranges the background never uses, and
// hashes are random (a collision has probability ~2^-128). A background
// event therefore never matches a generated indicator, and a planted event
// matches (at least) its planted indicator.
//
// Every event carries its sequence number as SeqDigits decimal digits at
// a known offset (in the event id field where the format has one), so
// that a harness can patch a pooled event with a fresh number before
// publishing it and correlate alerts with events.
//
// Generators are pure functions of their seed and the sequence number;
// the values they return may be used from any goroutine, and an
// *Events is safe for concurrent use.
package gen

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// Mix gives the share of each indicator kind; the shares need not sum to
// one (they are normalised). Compound indicators are
// domain-AND-destination-port or address-AND-destination-port
// expressions, the shape STIX patterns such as
// [domain-name:value = 'x' AND network-traffic:dst_port = 8443] compile to.
type Mix struct {
	Domain, IPv4, IPv6, CIDRv4, CIDRv6, URL, SHA256, SHA1, MD5, JA3, Compound float64
}

// DefaultMix is a mix shaped like commercial and open feeds: mostly
// domains, addresses, URLs and file hashes, a few networks, TLS
// fingerprints and compound patterns.
func DefaultMix() Mix {
	return Mix{Domain: 0.28, IPv4: 0.20, IPv6: 0.04, CIDRv4: 0.04, CIDRv6: 0.01, URL: 0.15,
		SHA256: 0.14, SHA1: 0.04, MD5: 0.06, JA3: 0.02, Compound: 0.02}
}

// Feed is the feed name of generated indicators.
const Feed = "bench"

var (
	indTLDs = []string{"com", "net", "org", "info", "biz", "xyz", "top", "ru", "io", "cc", "online", "site"}
	// Indicator address ranges; the background never draws from these.
	indV4Nets = []netip.Prefix{
		netip.MustParsePrefix("5.0.0.0/8"), netip.MustParsePrefix("45.0.0.0/8"),
		netip.MustParsePrefix("91.0.0.0/8"), netip.MustParsePrefix("185.0.0.0/8"),
		netip.MustParsePrefix("193.0.0.0/8"), netip.MustParsePrefix("194.0.0.0/8"),
	}
	indV6Net = netip.MustParsePrefix("2a0b::/16")
	// CIDR indicators live in ranges of their own so that prefixes never
	// swallow the background.
	indCIDRv4Nets = []netip.Prefix{netip.MustParsePrefix("77.0.0.0/8"), netip.MustParsePrefix("89.0.0.0/8")}
	indCIDRv6Net  = netip.MustParsePrefix("2a0c::/16")
	compoundPorts = []string{"8443", "4444", "1337", "8080", "6667"}
	urlPaths      = []string{"/gate.php", "/wp-content/plugins/x/upd.php", "/admin/login", "/api/v1/beacon",
		"/download/invoice.zip", "/images/logo.png", "/index.html", "/cgi-bin/luci", "/update", "/s/"}
)

const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"

func label(r *rand.Rand, prefix string, n int) string {
	b := make([]byte, 0, len(prefix)+n)
	b = append(b, prefix...)
	for range n {
		b = append(b, alnum[r.IntN(26)]) // letters only: never a hex run
	}
	return string(b)
}

func randHex(r *rand.Rand, n int) string {
	b := make([]byte, n/2)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return hex.EncodeToString(b)
}

func randAddrIn(r *rand.Rand, p netip.Prefix) netip.Addr {
	a := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range a {
		if (i+1)*8 <= bits {
			continue
		}
		rb := byte(r.Uint32())
		if i*8 < bits { // partial byte: keep the prefix bits
			keep := byte(0xff << (8 - (bits - i*8)))
			rb = a[i]&keep | rb&^keep
		}
		a[i] = rb
	}
	ad, _ := netip.AddrFromSlice(a)
	return ad
}

// indDomain returns an indicator domain: qz<letters>.<tld>, sometimes
// below a subdomain (cdn.qzabc.net).
func indDomain(r *rand.Rand) string {
	d := label(r, "qz", 6+r.IntN(8)) + "." + indTLDs[r.IntN(len(indTLDs))]
	if r.IntN(5) == 0 {
		d = []string{"cdn", "mail", "api", "update", "login"}[r.IntN(5)] + "." + d
	}
	return d
}

// Indicators returns n indicators of the given mix, reproducible from
// seed. Each value is normalised (ioc.Normalize) and unique; ids are
// "bench--<kind>--<n>". Indicator i depends only on seed and i.
func Indicators(n int, seed uint64, mix Mix) ([]*ioc.Indicator, error) {
	if n < 0 {
		return nil, fmt.Errorf("gen: indicator count %d < 0", n)
	}
	shares := []float64{mix.Domain, mix.IPv4, mix.IPv6, mix.CIDRv4, mix.CIDRv6, mix.URL, mix.SHA256, mix.SHA1, mix.MD5, mix.JA3, mix.Compound}
	kinds := []ioc.Kind{ioc.KindDomain, ioc.KindIPv4, ioc.KindIPv6, ioc.KindCIDRv4, ioc.KindCIDRv6, ioc.KindURL,
		ioc.KindSHA256, ioc.KindSHA1, ioc.KindMD5, ioc.KindJA3, ioc.KindCompound}
	var total float64
	for _, s := range shares {
		if s < 0 {
			return nil, fmt.Errorf("gen: negative share in mix %+v", mix)
		}
		total += s
	}
	if total == 0 {
		return nil, fmt.Errorf("gen: empty mix %+v", mix)
	}
	cum := make([]float64, len(shares))
	acc := 0.0
	for i, s := range shares {
		acc += s / total
		cum[i] = acc
	}
	out := make([]*ioc.Indicator, 0, n)
	seen := make(map[string]struct{}, n)
	for i := 0; len(out) < n; i++ {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		u := r.Float64()
		k := kinds[len(kinds)-1]
		for j, c := range cum {
			if u < c {
				k = kinds[j]
				break
			}
		}
		ind, err := indicator(r, k)
		if err != nil {
			return nil, err
		}
		key := ind.Kind.String() + "|" + ind.Value
		if ind.Kind == ioc.KindCompound {
			key = ind.Expr.String()
		}
		if _, dup := seen[key]; dup {
			continue
		}
		seen[key] = struct{}{}
		ind.ID = "bench--" + ind.Kind.String() + "--" + strconv.Itoa(len(out))
		ind.Feed = Feed
		ind.Confidence = 50 + r.IntN(50)
		ind.Labels = []string{"malicious-activity"}
		out = append(out, ind)
	}
	return out, nil
}

func indicator(r *rand.Rand, k ioc.Kind) (*ioc.Indicator, error) {
	var raw string
	switch k {
	case ioc.KindDomain:
		raw = indDomain(r)
	case ioc.KindIPv4:
		raw = randAddrIn(r, indV4Nets[r.IntN(len(indV4Nets))]).String()
	case ioc.KindIPv6:
		raw = randAddrIn(r, indV6Net).String()
	case ioc.KindCIDRv4:
		bits := []int{16, 20, 22, 24, 24, 24, 28}[r.IntN(7)]
		raw = netip.PrefixFrom(randAddrIn(r, indCIDRv4Nets[r.IntN(len(indCIDRv4Nets))]), bits).Masked().String()
	case ioc.KindCIDRv6:
		bits := []int{32, 40, 48, 48, 56, 64}[r.IntN(6)]
		raw = netip.PrefixFrom(randAddrIn(r, indCIDRv6Net), bits).Masked().String()
	case ioc.KindURL:
		raw = "http://" + indDomain(r) + urlPaths[r.IntN(len(urlPaths))] + "?id=" + strconv.Itoa(r.IntN(1e6))
		if r.IntN(3) == 0 {
			raw = "https://" + randAddrIn(r, indV4Nets[r.IntN(len(indV4Nets))]).String() + urlPaths[r.IntN(len(urlPaths))]
		}
	case ioc.KindSHA256:
		raw = randHex(r, 64)
	case ioc.KindSHA1:
		raw = randHex(r, 40)
	case ioc.KindMD5, ioc.KindJA3:
		raw = randHex(r, 32)
	case ioc.KindCompound:
		port := compoundPorts[r.IntN(len(compoundPorts))]
		var first ioc.Predicate
		if r.IntN(2) == 0 {
			first = ioc.Predicate{Target: ioc.Target{Kind: ioc.KindDomain, Role: ioc.RoleDst}, Op: ioc.PredEq, Values: []string{indDomain(r)}}
		} else {
			first = ioc.Predicate{Target: ioc.Target{Kind: ioc.KindIPv4, Role: ioc.RoleDst}, Op: ioc.PredEq,
				Values: []string{randAddrIn(r, indV4Nets[r.IntN(len(indV4Nets))]).String()}}
		}
		e := ioc.And(ioc.Pred(first), ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindPort, Role: ioc.RoleDst}, Op: ioc.PredEq, Values: []string{port}}))
		return &ioc.Indicator{Kind: ioc.KindCompound, Expr: e}, nil
	}
	nk, v, err := ioc.Normalize(k, raw)
	if err != nil {
		return nil, fmt.Errorf("gen: %s %q: %w", k, raw, err)
	}
	return &ioc.Indicator{Kind: nk, Value: v}, nil
}
