package match

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// ind builds a validated atomic indicator with the given id.
func ind(t testing.TB, id string, k ioc.Kind, v string) *ioc.Indicator {
	t.Helper()
	nk, nv, err := ioc.Normalize(k, v)
	if err != nil {
		t.Fatalf("indicator %s: %v", id, err)
	}
	return &ioc.Indicator{ID: id, Kind: nk, Value: nv}
}

func cmpd(id string, e *ioc.Expr) *ioc.Indicator {
	return &ioc.Indicator{ID: id, Kind: ioc.KindCompound, Expr: e}
}

// ob builds a normalised observable as engine/observe would.
func ob(k ioc.Kind, r ioc.Role, field, v string) ioc.Observable {
	o := ioc.Observable{Kind: k, Role: r, Field: field, Value: []byte(v)}
	if k == ioc.KindIPv4 || k == ioc.KindIPv6 {
		a := netip.MustParseAddr(v).Unmap()
		o.Addr = a
		o.Kind = ioc.AddrKind(a)
		o.Value = []byte(a.String())
	}
	return o
}

func obIP(v string) ioc.Observable            { return ob(ioc.KindIPv4, ioc.RoleAny, "ip", v) }
func obDst(v string) ioc.Observable           { return ob(ioc.KindIPv4, ioc.RoleDst, "destination.ip", v) }
func obSrc(v string) ioc.Observable           { return ob(ioc.KindIPv4, ioc.RoleSrc, "source.ip", v) }
func obDom(v string) ioc.Observable           { return ob(ioc.KindDomain, ioc.RoleAny, "dns.question.name", v) }
func obK(k ioc.Kind, v string) ioc.Observable { return ob(k, ioc.RoleAny, "f", v) }

// hitIDs renders hits as sorted "id@obs" strings.
func hitIDs(hits []Hit) []string {
	out := make([]string, 0, len(hits))
	for _, h := range hits {
		out = append(out, fmt.Sprintf("%s@%d", h.Indicator.ID, h.Obs))
	}
	slices.Sort(out)
	return out
}

func TestMatchSemantics(t *testing.T) {
	pfx := func(s ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, x := range s {
			out = append(out, netip.MustParsePrefix(x))
		}
		return out
	}
	inds := []*ioc.Indicator{
		ind(t, "ip4", ioc.KindIPv4, "192.0.2.1"),
		ind(t, "ip6", ioc.KindIPv6, "2001:db8::1"),
		ind(t, "net8", ioc.KindCIDRv4, "10.0.0.0/8"),
		ind(t, "net16", ioc.KindCIDRv4, "10.1.0.0/16"),
		ind(t, "net16b", ioc.KindCIDRv4, "10.1.0.0/16"), // same prefix, another indicator
		ind(t, "net6-32", ioc.KindCIDRv6, "2001:db8::/32"),
		ind(t, "net6-48", ioc.KindCIDRv6, "2001:db8:1::/48"),
		ind(t, "dom", ioc.KindDomain, "evil.com"),
		ind(t, "dom-sub", ioc.KindDomain, "b.evil.com"),
		ind(t, "dom-ip-host", ioc.KindDomain, "c2.example"),
		ind(t, "url", ioc.KindURL, "http://bad.example/x?y=1"),
		ind(t, "email", ioc.KindEmail, "phish@lure.example"),
		ind(t, "md5", ioc.KindMD5, "d41d8cd98f00b204e9800998ecf8427e"),
		ind(t, "ja3", ioc.KindJA3, "e7d705a3286e19ea42f587b344ee6865"),
		ind(t, "sha256", ioc.KindSHA256, strings.Repeat("ab", 32)),
		ind(t, "fname", ioc.KindFileName, "mimikatz.exe"),
		ind(t, "reg", ioc.KindRegistryKey, `HKLM\Software\Evil`),
		ind(t, "cmd", ioc.KindCommandLine, "-enc JAB"),
		ind(t, "sub", ioc.KindSubstring, "cobaltstrike"),
		ind(t, "sub-overlap", ioc.KindSubstring, "strike"),
		// same id as "dom": two indicators sharing an id are distinct hits
		ind(t, "dom", ioc.KindDomain, "other.test"),
		cmpd("c-and", ioc.And(
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindIPv4, Role: ioc.RoleDst}, Op: ioc.PredEq, Values: []string{"198.51.100.7"}}),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindPort, Role: ioc.RoleDst}, Op: ioc.PredEq, Values: []string{"443"}}),
		)),
		cmpd("c-neg", ioc.And(
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindDomain}, Op: ioc.PredEq, Values: []string{"neg.example"}}),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindPort, Role: ioc.RoleDst}, Op: ioc.PredEq, Negate: true, Values: []string{"53"}}),
		)),
		cmpd("c-notexists", ioc.And(
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindUserAgent}, Op: ioc.PredContains, Values: []string{"curl/"}}),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindDomain}, Op: ioc.PredExists, Negate: true}),
		)),
		cmpd("c-exists", ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindJA4}, Op: ioc.PredExists})),
		cmpd("c-cidr6-port", ioc.And(
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindIPv6, Role: ioc.RoleSrc}, Op: ioc.PredCIDR, Prefixes: pfx("203.0.113.0/24")}),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindPort}, Op: ioc.PredGe, Num: 8000}),
		)),
		cmpd("c-regex-field", ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindURL, Field: "url.full"}, Op: ioc.PredRegex, Regex: `/wp-admin/.*\.php$`})),
		cmpd("c-not", ioc.Not(ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindText}, Op: ioc.PredExists}))),
		cmpd("c-domain-eq-exact", ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindDomain}, Op: ioc.PredEq, Values: []string{"EXACT.example."}})),
	}
	for _, opts := range []Options{{CIDR: CIDRBart}, {CIDR: CIDRCIDRanger, Automaton: AutomatonCloudflare}} {
		cidr := opts.CIDR
		s, err := Compile(inds, opts)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			obs  []ioc.Observable
			want []string
		}{
			{"ipv4 exact", []ioc.Observable{obIP("192.0.2.1")}, []string{"ip4@0"}},
			{"4-in-6 observable unmapped", []ioc.Observable{{Kind: ioc.KindIPv6, Addr: netip.MustParseAddr("::ffff:192.0.2.1"), Value: []byte("::ffff:192.0.2.1")}}, []string{"ip4@0"}},
			{"address without Addr is parsed", []ioc.Observable{{Kind: ioc.KindIPv4, Value: []byte("192.0.2.1")}}, []string{"ip4@0"}},
			{"ipv4 near miss", []ioc.Observable{obIP("192.0.2.2")}, nil},
			{"ipv6 exact", []ioc.Observable{obIP("2001:db8::1")}, []string{"ip6@0", "net6-32@0"}},
			{"cidr longest wins", []ioc.Observable{obIP("10.1.2.3")}, []string{"net16@0", "net16b@0"}},
			{"cidr shorter", []ioc.Observable{obIP("10.2.0.1")}, []string{"net8@0"}},
			{"ipv6 cidr longest", []ioc.Observable{obIP("2001:db8:1::99")}, []string{"net6-48@0"}},
			{"ipv6 cidr outside", []ioc.Observable{obIP("2001:db9::1")}, nil},
			{"first observable wins", []ioc.Observable{obIP("10.9.9.9"), obIP("10.8.8.8")}, []string{"net8@0"}},
			{"domain exact", []ioc.Observable{obDom("evil.com")}, []string{"dom@0"}},
			{"domain subdomain", []ioc.Observable{obDom("a.b.evil.com")}, []string{"dom-sub@0", "dom@0"}},
			{"domain trap notevil", []ioc.Observable{obDom("notevil.com")}, nil},
			{"domain trap suffix without dot", []ioc.Observable{obDom("xb.evil.co")}, nil},
			{"domain trap parent of indicator", []ioc.Observable{obDom("com")}, nil},
			{"shared id distinct pointer", []ioc.Observable{obDom("x.other.test")}, []string{"dom@0"}},
			{"url exact", []ioc.Observable{obK(ioc.KindURL, "http://bad.example/x?y=1")}, []string{"url@0"}},
			{"url other path", []ioc.Observable{obK(ioc.KindURL, "http://bad.example/x?y=2")}, nil},
			{"url host to domain", []ioc.Observable{obK(ioc.KindURL, "https://cdn.evil.com:8443/a")}, []string{"dom@0"}},
			{"url host to ip", []ioc.Observable{obK(ioc.KindURL, "http://192.0.2.1/a")}, []string{"ip4@0"}},
			{"url host to ipv6 cidr", []ioc.Observable{obK(ioc.KindURL, "http://[2001:db8:1::5]:8080/")}, []string{"net6-48@0"}},
			{"url userinfo trap", []ioc.Observable{obK(ioc.KindURL, "http://evil.com@good.example/")}, nil},
			{"email exact", []ioc.Observable{obK(ioc.KindEmail, "phish@lure.example")}, []string{"email@0"}},
			{"email domain", []ioc.Observable{obK(ioc.KindEmail, "ceo@mail.evil.com")}, []string{"dom@0"}},
			{"md5", []ioc.Observable{obK(ioc.KindMD5, "d41d8cd98f00b204e9800998ecf8427e")}, []string{"md5@0"}},
			{"md5 value as ja3 kind", []ioc.Observable{obK(ioc.KindJA3, "d41d8cd98f00b204e9800998ecf8427e")}, nil},
			{"ja3", []ioc.Observable{obK(ioc.KindJA3, "e7d705a3286e19ea42f587b344ee6865")}, []string{"ja3@0"}},
			{"hash bad hex", []ioc.Observable{obK(ioc.KindMD5, "z41d8cd98f00b204e9800998ecf8427e")}, nil},
			{"sha256", []ioc.Observable{obK(ioc.KindSHA256, strings.Repeat("ab", 32))}, []string{"sha256@0"}},
			{"file name exact", []ioc.Observable{obK(ioc.KindFileName, "mimikatz.exe")}, []string{"fname@0"}},
			{"file name case differs", []ioc.Observable{obK(ioc.KindFileName, "Mimikatz.exe")}, nil},
			{"registry", []ioc.Observable{obK(ioc.KindRegistryKey, `hkey_local_machine\software\evil`)}, []string{"reg@0"}},
			{"cmd in command line", []ioc.Observable{obK(ioc.KindCommandLine, "powershell -enc JABzAG")}, []string{"cmd@0"}},
			{"cmd not in text", []ioc.Observable{obK(ioc.KindText, "powershell -enc JABzAG")}, nil},
			{"substring in text, overlapping", []ioc.Observable{obK(ioc.KindText, "beacon cobaltstrike x")}, []string{"sub-overlap@0", "sub@0"}},
			{"substring in command line", []ioc.Observable{obK(ioc.KindCommandLine, "run strike")}, []string{"sub-overlap@0"}},
			{"substring not in domain", []ioc.Observable{obDom("cobaltstrike.test")}, nil},
			{"compound and", []ioc.Observable{obSrc("192.0.2.9"), obDst("198.51.100.7"), ob(ioc.KindPort, ioc.RoleDst, "destination.port", "443")}, []string{"c-and@-1"}},
			{"compound and wrong role", []ioc.Observable{obSrc("198.51.100.7"), ob(ioc.KindPort, ioc.RoleDst, "destination.port", "443")}, nil},
			{"compound and missing port", []ioc.Observable{obDst("198.51.100.7")}, nil},
			{"compound negate holds", []ioc.Observable{obDom("neg.example"), ob(ioc.KindPort, ioc.RoleDst, "p", "80")}, []string{"c-neg@-1"}},
			{"compound negate fails", []ioc.Observable{obDom("neg.example"), ob(ioc.KindPort, ioc.RoleDst, "p", "53")}, nil},
			{"compound negate no port selected", []ioc.Observable{obDom("neg.example")}, nil},
			{"compound not exists holds", []ioc.Observable{obK(ioc.KindUserAgent, "curl/8.0")}, []string{"c-notexists@-1"}},
			{"compound not exists fails", []ioc.Observable{obK(ioc.KindUserAgent, "curl/8.0"), obDom("x.test")}, nil},
			{"compound exists", []ioc.Observable{obK(ioc.KindJA4, "t13d1516h2_8daaf6152771_b186095e22b6")}, []string{"c-exists@-1"}},
			{"compound cidr 4 via ipv6 target", []ioc.Observable{obSrc("203.0.113.5"), ob(ioc.KindPort, ioc.RoleDst, "p", "8080")}, []string{"c-cidr6-port@-1"}},
			{"compound numeric below", []ioc.Observable{obSrc("203.0.113.5"), ob(ioc.KindPort, ioc.RoleDst, "p", "7999")}, nil},
			{"compound regex field", []ioc.Observable{ob(ioc.KindURL, ioc.RoleAny, "url.full", "http://x.test/wp-admin/a.php")}, []string{"c-regex-field@-1"}},
			{"compound regex other field", []ioc.Observable{ob(ioc.KindURL, ioc.RoleAny, "url.original", "http://x.test/wp-admin/a.php")}, nil},
			{"compound domain eq is exact", []ioc.Observable{obDom("exact.example")}, []string{"c-domain-eq-exact@-1"}},
			{"compound domain eq not suffix", []ioc.Observable{obDom("a.exact.example")}, nil},
			{"unanchored not", []ioc.Observable{}, []string{"c-not@-1"}},
		}
		for _, tc := range tests {
			t.Run(cidr+"/"+tc.name, func(t *testing.T) {
				obs := tc.obs
				want := tc.want
				// every event without text also satisfies c-not, except the explicit case
				hasText := slices.ContainsFunc(obs, func(o ioc.Observable) bool { return o.Kind == ioc.KindText })
				if !hasText && tc.name != "unanchored not" {
					want = append(slices.Clone(want), "c-not@-1")
				}
				slices.Sort(want)
				got := hitIDs(s.Match(obs, nil))
				if !slices.Equal(got, want) {
					t.Errorf("got %v, want %v", got, want)
				}
			})
		}
		st := s.Stats()
		if st.CompoundsUnanchored != 1 || st.CompoundsValueAnchored != 6 || st.CompoundsKindAnchored != 1 {
			t.Errorf("compound anchors: %+v", st)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	good := &ioc.Indicator{ID: "ok", Kind: ioc.KindDomain, Value: "ok.example"}
	tests := []struct {
		name string
		inds []*ioc.Indicator
		opts Options
		want string
	}{
		{"nil", []*ioc.Indicator{good, nil}, Options{}, "indicator #1: nil indicator"},
		{"not normalised", []*ioc.Indicator{{ID: "bad-dom", Kind: ioc.KindDomain, Value: "Evil.COM"}}, Options{}, "bad-dom"},
		{"empty id", []*ioc.Indicator{{Kind: ioc.KindDomain, Value: "x.example"}}, Options{}, "empty id"},
		{"bad expr", []*ioc.Indicator{{ID: "cx", Kind: ioc.KindCompound}}, Options{}, "cx"},
		{"bad eq value", []*ioc.Indicator{cmpd("cv", ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindIPv4}, Op: ioc.PredEq, Values: []string{"not-an-ip"}}))}, Options{}, "cv"},
		{"observable kind", []*ioc.Indicator{{ID: "port", Kind: ioc.KindPort, Value: "80"}}, Options{}, "port"},
		{"cidr impl", []*ioc.Indicator{good}, Options{CIDR: "patricia"}, `"patricia"`},
		{"fp rate", []*ioc.Indicator{good}, Options{BloomFPRate: 1.5}, "out of range"},
		{"automaton", []*ioc.Indicator{good}, Options{Automaton: "re2"}, `"re2"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.inds, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestBloomFalsePositivesNeverReachOutput builds filters with a 90%
// false-positive rate, checks that non-members really pass the filters,
// and that Match still reports nothing for them.
func TestBloomFalsePositivesNeverReachOutput(t *testing.T) {
	var inds []*ioc.Indicator
	for i := range 200 {
		inds = append(inds,
			ind(t, fmt.Sprint("d", i), ioc.KindDomain, fmt.Sprintf("bad%d.example", i)),
			ind(t, fmt.Sprint("i", i), ioc.KindIPv4, fmt.Sprintf("192.0.2.%d", i)),
			ind(t, fmt.Sprint("h", i), ioc.KindMD5, fmt.Sprintf("%032x", i)),
		)
	}
	s, err := Compile(inds, Options{BloomFPRate: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	bloomPass, checked := 0, 0
	var dst []Hit
	for i := range 2000 {
		d := fmt.Sprintf("good%d.example", i)
		a := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		h := fmt.Sprintf("%032x", i+1_000_000)
		k := a.As4()
		var hk [16]byte
		decodeHex(hk[:], []byte(h))
		if s.domain.bf.Test([]byte(d)) {
			bloomPass++
		}
		if s.ip4.bf.Test(k[:]) {
			bloomPass++
		}
		if s.md5.bf.Test(hk[:]) {
			bloomPass++
		}
		checked += 3
		dst = s.Match([]ioc.Observable{obDom(d), obIP(a.String()), obK(ioc.KindMD5, h)}, dst[:0])
		if len(dst) != 0 {
			t.Fatalf("false positive reached the output: %v", hitIDs(dst))
		}
	}
	if bloomPass < checked/2 {
		t.Fatalf("only %d of %d non-members passed the Bloom filters: the test does not exercise false positives", bloomPass, checked)
	}
	t.Logf("%d of %d non-members passed the Bloom filters and were rejected by the exact sets", bloomPass, checked)
}

func TestMatchNoHitDoesNotAllocate(t *testing.T) {
	inds := mixedIndicators(20000, 1)
	s, err := Compile(inds, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev := typicalEvent(false)
	dst := make([]Hit, 0, 16)
	if got := s.Match(ev, dst); len(got) != 0 {
		t.Fatalf("no-hit event matched %v", hitIDs(got))
	}
	allocs := testing.AllocsPerRun(200, func() { dst = s.Match(ev, dst[:0]) })
	if allocs != 0 {
		t.Fatalf("no-hit Match allocates %v times per call", allocs)
	}
	ev = typicalEvent(true)
	if got := s.Match(ev, dst[:0]); len(got) == 0 {
		t.Fatal("hit event matched nothing")
	}
}

func TestHolderSwap(t *testing.T) {
	var h Holder
	if h.Load() != nil {
		t.Fatal("zero Holder must hold nil")
	}
	a, _ := Compile(nil, Options{})
	b, _ := Compile(nil, Options{})
	if old := h.Store(a); old != nil {
		t.Fatal("first Store returned a snapshot")
	}
	if old := h.Store(b); old != a || h.Load() != b {
		t.Fatal("Store did not swap")
	}
}

func TestKindsFitArrays(t *testing.T) {
	for _, k := range ioc.Kinds() {
		if k >= numKinds {
			t.Fatalf("kind %s (%d) does not fit numKinds %d: raise numKinds", k, k, numKinds)
		}
	}
}

// TestAnchorCandidatesDoNotAllocate: an event that holds a compound's
// literal and prefix anchors but does not satisfy it allocates nothing.
func TestAnchorCandidatesDoNotAllocate(t *testing.T) {
	inds := []*ioc.Indicator{
		cmpd("lit", ioc.And(
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindURL}, Op: ioc.PredContains, Values: []string{"/checkout"}}),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindPort}, Op: ioc.PredEq, Values: []string{"8443"}}))),
		cmpd("re", ioc.And(
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindURL}, Op: ioc.PredRegex, Regex: `https://www\.[a-z]+`}),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindPort}, Op: ioc.PredEq, Values: []string{"8443"}}))),
		cmpd("net", ioc.And(
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindIPv4}, Op: ioc.PredCIDR, Prefixes: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindPort}, Op: ioc.PredEq, Values: []string{"8443"}}))),
	}
	s, err := Compile(inds, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.CompoundsValueAnchored != 3 {
		t.Fatalf("want 3 anchored compounds, got %+v", st)
	}
	ev := typicalEvent(false) // URL .../cart/checkout?..., destination 203.0.113.14, port 443
	dst := make([]Hit, 0, 4)
	if a := testing.AllocsPerRun(200, func() { dst = s.Match(ev, dst[:0]) }); a != 0 || len(dst) != 0 {
		t.Fatalf("allocs %v, hits %v", a, hitIDs(dst))
	}
	ev[2].Value = []byte("8443")
	if got := hitIDs(s.Match(ev, nil)); !slices.Equal(got, []string{"lit@-1", "net@-1", "re@-1"}) {
		t.Fatalf("hits %v", got)
	}
}

func TestSamePointerTwiceIsOneIndicator(t *testing.T) {
	a := ind(t, "a", ioc.KindDomain, "dup.example")
	b := ind(t, "a", ioc.KindDomain, "dup.example") // same id and value, another pointer
	s, err := Compile([]*ioc.Indicator{a, b, a}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 2 {
		t.Fatalf("Len = %d, want 2", s.Len())
	}
	hits := s.Match([]ioc.Observable{obDom("x.dup.example"), obDom("dup.example")}, nil)
	if len(hits) != 2 || hits[0].Indicator == hits[1].Indicator || hits[0].Obs != 0 || hits[1].Obs != 0 {
		t.Fatalf("hits %+v", hits)
	}
}

// TestNestedPrefixAnchors: compounds anchored on nested prefixes are all
// candidates for an address in the innermost one.
func TestNestedPrefixAnchors(t *testing.T) {
	mk := func(id, p string) *ioc.Indicator {
		return cmpd(id, ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindIPv4}, Op: ioc.PredCIDR, Prefixes: []netip.Prefix{netip.MustParsePrefix(p)}}))
	}
	s, err := Compile([]*ioc.Indicator{mk("n8", "10.0.0.0/8"), mk("n16", "10.1.0.0/16"), mk("n24", "10.1.2.0/24"), mk("other", "10.2.0.0/16"), mk("v6", "2001:db8::/32")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr string
		want []string
	}{
		{"10.1.2.3", []string{"n16@-1", "n24@-1", "n8@-1"}},
		{"10.1.3.3", []string{"n16@-1", "n8@-1"}},
		{"10.2.0.1", []string{"n8@-1", "other@-1"}},
		{"11.0.0.1", nil},
		{"2001:db8::5", []string{"v6@-1"}},
	} {
		if got := hitIDs(s.Match([]ioc.Observable{obIP(tc.addr)}, nil)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.addr, got, tc.want)
		}
	}
}
