package allowlist

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
	"github.com/iocmatch/iocmatch/engine/ioc"
)

func loadFixtures(t testing.TB, opts Options) *Allowlist {
	t.Helper()
	if opts.WarninglistsDir == "" {
		opts.WarninglistsDir = "testdata/warninglists"
	}
	a, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type check struct {
	kind  ioc.Kind
	value string
	list  string // "" = not allowed
}

func runChecks(t *testing.T, a *Allowlist, checks []check) {
	t.Helper()
	for _, c := range checks {
		var addr netip.Addr
		if c.kind == ioc.KindIPv4 || c.kind == ioc.KindIPv6 {
			addr = netip.MustParseAddr(c.value).Unmap()
		}
		got, ok := a.Allowed(c.kind, []byte(c.value), addr)
		if ok != (c.list != "") || got != c.list {
			t.Errorf("Allowed(%s, %q) = %q, %v; want %q", c.kind, c.value, got, ok, c.list)
		}
		// Without addr, the value is parsed: same answer.
		if addr.IsValid() {
			if got2, ok2 := a.Allowed(c.kind, []byte(c.value), netip.Addr{}); got2 != got || ok2 != ok {
				t.Errorf("Allowed(%s, %q) without addr = %q, %v; with addr %q, %v", c.kind, c.value, got2, ok2, got, ok)
			}
		}
	}
}

func TestCIDRList(t *testing.T) {
	a := loadFixtures(t, Options{Include: []string{"rfc1918", "v6"}})
	runChecks(t, a, []check{
		{ioc.KindIPv4, "10.1.2.3", "rfc1918"},
		{ioc.KindIPv4, "11.0.0.1", ""},
		{ioc.KindIPv4, "172.31.255.255", "rfc1918"},
		{ioc.KindIPv4, "172.32.0.0", ""},
		{ioc.KindIPv4, "192.168.7.7", "rfc1918"},
		{ioc.KindIPv6, "::ffff:10.9.9.9", "rfc1918"}, // 4-in-6 unmapped
		{ioc.KindIPv6, "fe80::1", "v6"},
		{ioc.KindIPv6, "fec0::1", ""},
		{ioc.KindIPv6, "2001:db8:aaaa::1", "v6"},
		{ioc.KindIPv6, "2001:db8:aaaa::2", ""},
		{ioc.KindIPv4, "146.112.61.104", "v6"},    // "::ffff:9270:3d68" entry unmapped
		{ioc.KindURL, "http://[fe80::5]/x", "v6"}, // list applies to url: host IP
		{ioc.KindURL, "http://10.0.0.1/x", ""},    // rfc1918 does not apply to url
		{ioc.KindDomain, "10.0.0.1.example", ""},  // cidr lists say nothing of domains
		{ioc.KindCIDRv4, "10.1.0.0/16", ""},       // warninglists apply to observed IPs only
		{ioc.KindMD5, "d41d8cd98f00b204e9800998ecf8427e", ""},
	})
}

func TestHostnameList(t *testing.T) {
	a := loadFixtures(t, Options{Include: []string{"hosts"}})
	runChecks(t, a, []check{
		{ioc.KindDomain, "cdn.example", "hosts"},
		{ioc.KindDomain, "a.b.cdn.example", "hosts"},
		{ioc.KindDomain, "notcdn.example", ""},
		{ioc.KindDomain, "cdn.example.evil.test", ""},
		{ioc.KindDomain, "update.example.org", "hosts"},
		{ioc.KindDomain, "x.update.example.org", "hosts"},
		{ioc.KindDomain, "example.org", ""},
		{ioc.KindDomain, "intranet.example", "hosts"}, // entry "Intranet.Example." normalised
		{ioc.KindURL, "https://img.cdn.example/a.png", "hosts"},
		{ioc.KindURL, "https://evil.test/cdn.example", ""},
		{ioc.KindEmail, "bob@cdn.example", ""}, // list does not apply to e-mails
	})
}

func TestStringList(t *testing.T) {
	a := loadFixtures(t, Options{Include: []string{"strings", "hashes"}})
	runChecks(t, a, []check{
		{ioc.KindDomain, "apple.example", "strings"},
		{ioc.KindDomain, "www.apple.example", ""}, // string: exact, not suffix
		{ioc.KindDomain, "google.example", "strings"},
		{ioc.KindDomain, "mail.google.example", "strings"}, // leading "." entry = hostname semantics
		{ioc.KindDomain, "tld", "strings"},
		{ioc.KindIPv4, "203.0.113.9", "strings"},
		{ioc.KindIPv4, "203.0.113.10", ""},
		{ioc.KindURL, "http://captive.example/hotspot.html", "strings"},
		{ioc.KindURL, "http://captive.example/other", ""},
		{ioc.KindURL, "https://apple.example/anything", "strings"}, // host exact
		{ioc.KindURL, "https://www.apple.example/", ""},
		{ioc.KindMD5, "d41d8cd98f00b204e9800998ecf8427e", "hashes"},
		{ioc.KindSHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "hashes"},
		{ioc.KindSHA512, "da39a3ee5e6b4b0d3255bfef95601890afd80709", ""}, // sha512 not in matching_attributes
		{ioc.KindSHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "hashes"},
		{ioc.KindSHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b856", ""},
	})
	var info ListInfo
	for _, li := range a.Lists() {
		if li.Name == "strings" {
			info = li
		}
	}
	if info.Title != "Exact strings" || len(info.Skipped) != 1 || !strings.Contains(info.Skipped[0], `"not a domain!"`) {
		t.Errorf("strings list info = %+v", info)
	}
}

func TestSubstringList(t *testing.T) {
	a := loadFixtures(t, Options{Include: []string{"substrings"}})
	runChecks(t, a, []check{
		{ioc.KindEmail, "x@mailinator.example", "substrings"},
		{ioc.KindEmail, "x@eu.0-mail.example", "substrings"},
		{ioc.KindEmail, "x@trash-mail.example", "substrings"}, // entry case-folded
		{ioc.KindEmail, "x@mail.example", ""},
		{ioc.KindDomain, "sub.mailinator.example", "substrings"},
		{ioc.KindURL, "http://mailinator.example/", ""}, // not a url list
	})
}

func TestRegexList(t *testing.T) {
	a := loadFixtures(t, Options{Include: []string{"regexes", "phones"}})
	runChecks(t, a, []check{
		{ioc.KindEmail, "security@corp.example", "regexes"},
		{ioc.KindEmail, "abuse@isp.example", "regexes"},
		{ioc.KindEmail, "bob@corp.example", ""},
		{ioc.KindEmail, "xsecurity@corp.example", ""},
		{ioc.KindDomain, "security.example", ""},
	})
	for _, li := range a.Lists() {
		switch li.Name {
		case "regexes":
			// One translated, look-behind and the x flag skipped with reasons.
			if li.Entries != 1 || len(li.Skipped) != 2 || !strings.Contains(li.Skipped[0], "RE2") || !strings.Contains(li.Skipped[1], `flag 'x'`) {
				t.Errorf("regexes info = %+v", li)
			}
		case "phones":
			if li.Entries != 0 || len(li.Kinds) != 0 || len(li.Skipped) != 1 {
				t.Errorf("phones info = %+v", li)
			}
		}
	}
}

func TestTranslateRegex(t *testing.T) {
	tests := []struct {
		in, match, noMatch string
		wantErr            bool
	}{
		{`/^abc$/i`, "ABC", "xabc", false},
		{`#a.b#s`, "a\nb", "ab", false},
		{`/x/g`, "axb", "ab", false},
		{`^bare$`, "bare", "bar", false},
		{`/a(?=b)/`, "", "", true},
		{`/a/e`, "", "", true},
		{`/(a)\1/`, "", "", true},
	}
	for _, tt := range tests {
		re, err := translateRegex(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("translateRegex(%q) err = %v", tt.in, err)
			continue
		}
		if err == nil && (!re.MatchString(tt.match) || re.MatchString(tt.noMatch)) {
			t.Errorf("translateRegex(%q) = %s: match(%q)=%v match(%q)=%v", tt.in, re, tt.match, re.MatchString(tt.match), tt.noMatch, re.MatchString(tt.noMatch))
		}
	}
}

func TestLocalFile(t *testing.T) {
	a := loadFixtures(t, Options{Include: []string{"rfc1918"}, Files: []string{"testdata/local.txt"}})
	runChecks(t, a, []check{
		{ioc.KindIPv4, "192.0.2.10", "local.txt"},
		{ioc.KindIPv4, "192.0.2.11", ""},
		{ioc.KindIPv4, "198.51.100.127", "local.txt"},
		{ioc.KindIPv4, "198.51.100.128", ""},
		{ioc.KindIPv4, "10.0.0.1", "rfc1918"}, // warninglists come first
		{ioc.KindCIDRv4, "198.51.100.0/26", "local.txt"},
		{ioc.KindCIDRv4, "198.51.100.0/24", ""}, // wider than the allowed prefix
		{ioc.KindDomain, "corp.example", "local.txt"},
		{ioc.KindDomain, "vpn.corp.example", "local.txt"},
		{ioc.KindDomain, "corp.example.evil.test", ""},
		{ioc.KindDomain, "build.internal.example", "local.txt"},
		{ioc.KindURL, "https://wiki.corp.example/page", "local.txt"}, // domain covers URL hosts
		{ioc.KindURL, "http://198.51.100.1/x", "local.txt"},
		{ioc.KindEmail, "anyone@corp.example", "local.txt"},
		{ioc.KindSHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "local.txt"},
		{ioc.KindMD5, "44d88612fea8a8f36de82e1278abb02f", "local.txt"},
		{ioc.KindURL, "http://portal.example/Login", "local.txt"},
		{ioc.KindURL, "http://portal.example/login", ""}, // URL paths are case-sensitive
		{ioc.KindFileName, "setup.exe", "local.txt"},
		{ioc.KindFileName, "Setup.exe", ""},
		{ioc.KindUserAgent, "Mozilla/5.0 (compatible; InternalScanner/1.0)", "local.txt"},
		{ioc.KindEmail, "ops@corp.example", "local.txt"},
	})
}

func TestLocalErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ok.example\nnot valid value!\n", "allow.txt:2: cannot tell the kind of"},
		{"ipv4:1.2.3\n", "allow.txt:1: ipv4 value"},
		{"compound:x\n", `allow.txt:1: kind "compound" cannot be allowlisted`},
		{"\n\n# c\nhttp://\n", "allow.txt:4: "},
	}
	for _, tt := range tests {
		_, err := ParseLocal(strings.NewReader(tt.in), "/etc/allow.txt")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseLocal(%q) = %v, want error containing %q", tt.in, err, tt.want)
		}
	}
}

func TestWarninglistErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{`, "x/list.json: unexpected EOF"},
		{`{"name":"n","type":"bloom","list":[]}`, `type "bloom"`},
		{`{"type":"cidr","list":[]}`, `missing "name"`},
		{`{"name":"n","list":[]}`, `missing "type"`},
		{`{"name":"n","type":"cidr"}`, `missing "list"`},
		{`{"name":"n","type":"cidr","list":[1]}`, "cannot unmarshal number"},
		{`{"name":"n","type":"cidr","list":[]} {}`, "trailing data"},
	}
	for _, tt := range tests {
		_, err := ParseWarninglist([]byte(tt.in), "x/list.json")
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "x/list.json") {
			t.Errorf("ParseWarninglist(%s) = %v, want error containing %q", tt.in, err, tt.want)
		}
	}
}

func TestLoadOptions(t *testing.T) {
	all := loadFixtures(t, Options{})
	if all.Len() != 8 {
		t.Errorf("loaded %d lists, want 8", all.Len())
	}
	ex := loadFixtures(t, Options{Exclude: []string{"rfc1918", "Known good hosts"}})
	if ex.Len() != 6 {
		t.Errorf("with exclusions: %d lists, want 6", ex.Len())
	}
	if _, ok := ex.Allowed(ioc.KindIPv4, []byte("10.0.0.1"), netip.Addr{}); ok {
		t.Error("excluded list still applies")
	}
	if _, err := Load(Options{WarninglistsDir: "testdata/warninglists", Include: []string{"nope"}}); err == nil ||
		!strings.Contains(err.Error(), `include "nope"`) {
		t.Errorf("unknown include: %v", err)
	}
	if _, err := Load(Options{WarninglistsDir: "testdata/missing"}); err == nil || !strings.Contains(err.Error(), "testdata/missing") {
		t.Errorf("missing dir: %v", err)
	}
	if _, err := Load(Options{Files: []string{"testdata/missing.txt"}}); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("missing file: %v", err)
	}
	// A corrupt list file fails the load and is named.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bad"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad", "list.json"), []byte(`{"name":`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Options{WarninglistsDir: dir}); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "bad", "list.json")) {
		t.Errorf("corrupt list: %v", err)
	}
}

func TestNilAndEmpty(t *testing.T) {
	var a *Allowlist
	if _, ok := a.Allowed(ioc.KindIPv4, []byte("10.0.0.1"), netip.Addr{}); ok {
		t.Error("nil allowlist allowed something")
	}
	if _, ok := a.AllowedHit(&ioc.Indicator{Kind: ioc.KindIPv4}, &ioc.Observable{Kind: ioc.KindIPv4, Value: []byte("10.0.0.1")}); ok {
		t.Error("nil allowlist allowed a hit")
	}
	if a.Len() != 0 || a.Lists() != nil {
		t.Error("nil allowlist has lists")
	}
	e, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Allowed(ioc.KindDomain, []byte("x.example"), netip.Addr{}); ok {
		t.Error("empty allowlist allowed something")
	}
	if _, ok := e.Allowed(ioc.Kind(200), []byte("x"), netip.Addr{}); ok {
		t.Error("out-of-range kind allowed")
	}
}

func TestAllowedHit(t *testing.T) {
	a := loadFixtures(t, Options{Include: []string{"hosts", "rfc1918"}})
	dom := &ioc.Indicator{ID: "d", Kind: ioc.KindDomain, Value: "cdn.example"}
	ip := &ioc.Indicator{ID: "i", Kind: ioc.KindCIDRv4, Value: "10.0.0.0/8"}
	url := &ioc.Indicator{ID: "u", Kind: ioc.KindURL, Value: "http://10.1.1.1/x"}
	tests := []struct {
		ind  *ioc.Indicator
		obs  *ioc.Observable
		want string
	}{
		{dom, &ioc.Observable{Kind: ioc.KindDomain, Value: []byte("a.cdn.example")}, "hosts"},
		{dom, &ioc.Observable{Kind: ioc.KindURL, Value: []byte("http://a.cdn.example/x")}, "hosts"},
		{ip, &ioc.Observable{Kind: ioc.KindURL, Value: []byte("http://10.1.1.1/x")}, "rfc1918"}, // URL host vs IP indicator
		{url, &ioc.Observable{Kind: ioc.KindURL, Value: []byte("http://10.1.1.1/x")}, ""},       // URL hit: rfc1918 is not a URL list
		{ip, &ioc.Observable{Kind: ioc.KindIPv4, Addr: netip.MustParseAddr("10.2.3.4"), Value: []byte("10.2.3.4")}, "rfc1918"},
		{dom, &ioc.Observable{Kind: ioc.KindEmail, Value: []byte("x@cdn.example")}, "hosts"},
		{dom, nil, ""},
		{nil, &ioc.Observable{Kind: ioc.KindURL, Value: []byte("http://a.cdn.example/")}, "hosts"}, // the URL list applies
	}
	for i, tt := range tests {
		got, ok := a.AllowedHit(tt.ind, tt.obs)
		if ok != (tt.want != "") || got != tt.want {
			t.Errorf("case %d: AllowedHit = %q, %v; want %q", i, got, ok, tt.want)
		}
	}
}

// TestSubstringReference checks the Aho-Corasick path against
// strings.Contains on seeded random data (overlapping patterns included).
func TestSubstringReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alpha := "abc.-"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		return string(b)
	}
	var lists []*List
	var pats [][]string
	for l := 0; l < 4; l++ {
		var ps []string
		li := &List{Name: fmt.Sprintf("l%d", l), Type: TypeSubstring, Kinds: []ioc.Kind{ioc.KindSubstring}}
		for i := 0; i < 40; i++ {
			p := word(2 + r.IntN(5))
			ps = append(ps, p)
			li.entries = append(li.entries, entry{kind: ioc.KindSubstring, how: howSubstring, value: p})
		}
		lists = append(lists, li)
		pats = append(pats, ps)
	}
	a, err := New(lists...)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20000; i++ {
		v := word(r.IntN(12))
		want := ""
		for l := range pats {
			for _, p := range pats[l] {
				if strings.Contains(v, p) {
					want = lists[l].Name
					break
				}
			}
			if want != "" {
				break
			}
		}
		got, _ := a.Allowed(ioc.KindSubstring, []byte(v), netip.Addr{})
		if got != want {
			t.Fatalf("Allowed(substring %q) = %q, reference %q", v, got, want)
		}
	}
}

// TestCIDRReference checks prefix lookups against a linear scan on
// seeded random prefixes and addresses.
func TestCIDRReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var prefixes []netip.Prefix
	li := &List{Name: "rand", Type: TypeCIDR, Kinds: []ioc.Kind{ioc.KindIPv4}}
	for i := 0; i < 1000; i++ {
		a := netip.AddrFrom4([4]byte{byte(r.IntN(4)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		p := netip.PrefixFrom(a, 8+r.IntN(25)).Masked()
		prefixes = append(prefixes, p)
		li.entries = append(li.entries, entry{kind: ioc.KindIPv4, how: howPrefix, prefix: p})
	}
	al, err := New(li)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20000; i++ {
		a := netip.AddrFrom4([4]byte{byte(r.IntN(5)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		want := false
		for _, p := range prefixes {
			if p.Contains(a) {
				want = true
				break
			}
		}
		if _, got := al.Allowed(ioc.KindIPv4, nil, a); got != want {
			t.Fatalf("Allowed(%s) = %v, reference %v", a, got, want)
		}
	}
}

// TestHolderConcurrent swaps allowlists while readers query (run with -race).
func TestHolderConcurrent(t *testing.T) {
	var h Holder
	a1 := loadFixtures(t, Options{Include: []string{"rfc1918"}})
	a2 := loadFixtures(t, Options{Include: []string{"hosts"}})
	h.Store(a1)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				a := h.Load()
				_, ok1 := a.Allowed(ioc.KindIPv4, []byte("10.0.0.1"), netip.Addr{})
				_, ok2 := a.Allowed(ioc.KindDomain, []byte("cdn.example"), netip.Addr{})
				if ok1 == ok2 { // each allowlist allows exactly one of the two
					t.Error("reader saw an inconsistent allowlist")
					return
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		if i%2 == 0 {
			h.Store(a2)
		} else {
			h.Store(a1)
		}
	}
	wg.Wait()
}

func TestAllocs(t *testing.T) {
	// Every list type but substring and regex (those may allocate).
	a := loadFixtures(t, Options{Include: []string{"rfc1918", "v6", "hosts", "strings", "hashes"}, Files: []string{"testdata/local.txt"}})
	ip := netip.MustParseAddr("11.0.0.1")
	dom := []byte("www.notcorp.example")
	sha := []byte("0000000000000000000000000000000000000000000000000000000000000000")
	url := []byte("https://www.notcorp.example:8443/path?q=1")
	if n := testing.AllocsPerRun(200, func() {
		a.Allowed(ioc.KindURL, url, netip.Addr{})
		a.Allowed(ioc.KindIPv4, nil, ip)
		a.Allowed(ioc.KindDomain, dom, netip.Addr{})
		a.Allowed(ioc.KindSHA256, sha, netip.Addr{})
	}); n != 0 {
		t.Errorf("Allowed allocates %v times on URL/IP/domain/hash misses", n)
	}
}

// FuzzAllowlistLocal: a local file never panics; every accepted line's
// value is then allowed under its kind.
func FuzzAllowlistLocal(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte("10.0.0.0/8\ndomain:x.example # c\n"))
	f.Add([]byte("url:http://a.example/p\nsha1:da39a3ee5e6b4b0d3255bfef95601890afd80709\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLocal(strings.NewReader(string(data)), "fuzz.txt")
		if err != nil {
			return
		}
		a, err := New(l)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range l.entries {
			var v string
			var addr netip.Addr
			switch e.how {
			case howPrefix:
				if e.kind != ioc.KindIPv4 && e.kind != ioc.KindIPv6 {
					continue
				}
				addr = e.prefix.Addr()
				v = addr.String()
				if ioc.AddrKind(addr) != e.kind {
					continue
				}
			case howExact, howSuffix:
				if e.kind != ioc.KindDomain && e.how == howSuffix {
					continue
				}
				v = e.value
			default:
				continue
			}
			if _, ok := a.Allowed(e.kind, []byte(v), addr); !ok {
				t.Fatalf("entry %s %q of an accepted file is not allowed", e.kind, v)
			}
		}
	})
}

// FuzzWarninglist: a warninglist file never panics.
func FuzzWarninglist(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte(`{"name":"n","type":"regex","list":["/a(/i","/x/"],"matching_attributes":["email-src"]}`))
	f.Add([]byte(`{"name":"n","type":"string","list":[".x.example","1.2.3.4"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseWarninglist(data, "fuzz/list.json")
		if err != nil {
			return
		}
		a, err := New(l)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range ioc.Kinds() {
			a.Allowed(k, []byte("a.b.example"), netip.Addr{})
		}
	})
}
