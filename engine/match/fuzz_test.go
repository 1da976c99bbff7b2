package match

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
	"github.com/iocmatch/iocmatch/engine/ioc"
)

// fuzzIndicators covers every structure of the Snapshot.
func fuzzIndicators(t testing.TB) []*ioc.Indicator {
	inds := []*ioc.Indicator{
		ind(t, "ip4", ioc.KindIPv4, "192.0.2.1"),
		ind(t, "ip6", ioc.KindIPv6, "2001:db8::1"),
		ind(t, "net8", ioc.KindCIDRv4, "10.0.0.0/8"),
		ind(t, "net24", ioc.KindCIDRv4, "10.1.2.0/24"),
		ind(t, "net6", ioc.KindCIDRv6, "2001:db8:1::/48"),
		ind(t, "dom", ioc.KindDomain, "evil.com"),
		ind(t, "dom2", ioc.KindDomain, "b.evil.com"),
		ind(t, "dom-num", ioc.KindDomain, "2.3"),
		ind(t, "url", ioc.KindURL, "http://bad.example/x"),
		ind(t, "email", ioc.KindEmail, "a@lure.example"),
		ind(t, "md5", ioc.KindMD5, "d41d8cd98f00b204e9800998ecf8427e"),
		ind(t, "ja3", ioc.KindJA3, "d41d8cd98f00b204e9800998ecf8427e"),
		ind(t, "sha1", ioc.KindSHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
		ind(t, "fname", ioc.KindFileName, "x.exe"),
		ind(t, "ua", ioc.KindUserAgent, "curl/8"),
		ind(t, "cmd", ioc.KindCommandLine, "-enc"),
		ind(t, "sub", ioc.KindSubstring, "evil"),
		ind(t, "sub2", ioc.KindSubstring, "vil"),
		cmpd("c1", ioc.And(pr(ioc.KindIPv4, ioc.RoleDst, ioc.PredEq, "192.0.2.9"), pr(ioc.KindPort, ioc.RoleAny, ioc.PredIn, "80", "443"))),
		cmpd("c2", ioc.Or(pr(ioc.KindDomain, ioc.RoleAny, ioc.PredEq, "x.test"), pr(ioc.KindText, ioc.RoleAny, ioc.PredContains, "boom"))),
		cmpd("c3", ioc.And(ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindPort}, Op: ioc.PredGt, Num: 1000}),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindIPv6}, Op: ioc.PredCIDR, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}))),
		cmpd("c4", ioc.Not(ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindURL}, Op: ioc.PredRegex, Regex: `^https?://`}))),
		cmpd("c5", ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindMD5}, Op: ioc.PredExists, Negate: true})),
		cmpd("c6", ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindPort}, Op: ioc.PredLe, Negate: true, Num: -5})),
	}
	return inds
}

// parseFuzzEvent reads observables, one per line: a kind byte, a role
// byte, then the value. IP observables get Addr from the value when it
// parses and the role byte is < 128 (otherwise Addr is left unset and
// Match must parse Value).
func parseFuzzEvent(in []byte) []ioc.Observable {
	kinds := ioc.Kinds()
	var obs []ioc.Observable
	for _, line := range bytes.Split(in, []byte("\n")) {
		if len(line) < 2 || len(obs) >= 32 {
			continue
		}
		o := ioc.Observable{Kind: kinds[int(line[0])%len(kinds)], Role: ioc.Role(line[1] % 3), Field: "f", Value: line[2:]}
		if (o.Kind == ioc.KindIPv4 || o.Kind == ioc.KindIPv6) && line[1] < 128 {
			if a, err := netip.ParseAddr(string(o.Value)); err == nil && a.Zone() == "" {
				o.Addr = a
			}
		}
		obs = append(obs, o)
	}
	return obs
}

// FuzzMatchObservables matches arbitrary observables (not necessarily
// normalised) against a fixed snapshot and checks the reference agrees
// and nothing panics.
func FuzzMatchObservables(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte("\x01\x02192.0.2.9\n\x17\x00443\n\x05\x00a.b.evil.com"))
	f.Add([]byte("\x06\x00http://[2001:db8:1::9]:81/x\n\x07\x00u@mail.evil.com"))
	f.Add([]byte("\x1a\x00boom evil\n\x15\x00ps -enc\n\x08\x00D41D8CD98F00B204E9800998ECF8427E"))
	inds := fuzzIndicators(f)
	ref := newRef(inds)
	snaps := []*Snapshot{}
	for _, o := range []Options{{}, {CIDR: CIDRCIDRanger, Automaton: AutomatonCloudflare, DisableBloom: true}} {
		s, err := Compile(inds, o)
		if err != nil {
			f.Fatal(err)
		}
		snaps = append(snaps, s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		obs := parseFuzzEvent(in)
		want := ref.match(obs)
		var wantHits []Hit
		for ind, oi := range want {
			wantHits = append(wantHits, Hit{Indicator: ind, Obs: oi})
		}
		for i, s := range snaps {
			if diff := diffHits(s.Match(obs, nil), wantHits); diff != "" {
				t.Fatalf("snapshot %d, event %s: %s", i, fmtObs(obs), diff)
			}
		}
	})
}
