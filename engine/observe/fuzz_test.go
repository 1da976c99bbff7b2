package observe

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
	"github.com/iocmatch/iocmatch/engine/ioc"
)

func addFixtureSeeds(f *testing.F) {
	for _, ev := range benchEvents {
		f.Add(ev.data)
	}
}

// FuzzObserveJSON: the walker accepts exactly what encoding/json.Valid
// accepts (limits aside), never panics, and every observable satisfies
// the normalisation contract, for a fixed format and for auto-detection.
func FuzzObserveJSON(f *testing.F) {
	fuzzseed.Add(f)
	addFixtureSeeds(f)
	f.Add([]byte(`{"a":[1,-0.5e+3,true,false,null,"\u00e9\ud83d"]}`))
	f.Add([]byte(`{"source.ip":"::ffff:1.2.3.4","url":{"full":"HTTP://X.example:80/a%41?b#c"}}`))
	f.Add([]byte(`{"Hashes":"MD5=44D88612FEA8A8F36DE82E1278ABB02F","QueryResults":"type:  5 a.example;::ffff:1.2.3.4;"}`))
	f.Add([]byte(`{"a":01}`))
	f.Add([]byte(`[`))
	o, err := New(Options{MaxEventBytes: 1 << 22, MaxFields: 1 << 20, MaxDepth: MaxDepthLimit})
	if err != nil {
		f.Fatal(err)
	}
	var res Result
	f.Fuzz(func(t *testing.T, data []byte) {
		err := o.Observe(data, FormatECS, &res)
		if errors.Is(err, ErrTooDeep) {
			return // encoding/json allows 10000 levels; we stop earlier
		}
		if valid := validObject(data); valid != (err == nil) {
			t.Fatalf("json.Valid (object) = %v, Observe error = %v, input %q", valid, err, data)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Offset < 0 || e.Offset > len(data) {
				t.Fatalf("error %v is not an *Error with an offset within the input", err)
			}
			return
		}
		checkObservables(t, "json", 1, &res)
		for _, f := range []Format{FormatAuto, FormatZeek, FormatEVE, FormatSysmon} {
			if err := o.Observe(data, f, &res); err == nil {
				checkObservables(t, f.String(), 1, &res)
			}
		}
	})
}

// FuzzObserveRaw: raw lines never panic and yield only normalised
// observables.
func FuzzObserveRaw(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte(benchEvents[4].data))
	f.Add([]byte(`serial 5C:9C:AA:01:02:03:04:05 ::ffff:203.0.113.66 fe80::1%eth0 [2001:db8::1]:443`))
	f.Add([]byte(`from=<Phish@Malware-C2.example> http://EVIL.test:80/a(b).`))
	f.Add([]byte(`md5=44D88612FEA8A8F36DE82E1278ABB02F x.zip /index.html 1.2.3.4:80`))
	o, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	var res Result
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := o.Observe(data, FormatRaw, &res); err != nil {
			if !errors.Is(err, ErrBinary) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		checkObservables(t, "raw", 1, &res)
	})
}

// FuzzSysmonHashes: the Hashes and QueryResults parsers never panic and
// emit only normalised hashes, addresses and domains.
func FuzzSysmonHashes(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte("SHA1=3395856CE81F2B7382DEE72602F798B642F14140,MD5=44D88612FEA8A8F36DE82E1278ABB02F,SHA256=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08,IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744"))
	f.Add([]byte("md5 = 44d88612fea8a8f36de82e1278abb02f , ,="))
	f.Add([]byte("type:  5 cdn.example;::ffff:203.0.113.66;2001:db8::1;"))
	o, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	var res Result
	f.Fuzz(func(t *testing.T, data []byte) {
		res.Observables = res.Observables[:0]
		o.res, o.vbuf = &res, o.vbuf[:0]
		o.emitHashes(data, ioc.RoleAny, "Hashes")
		for _, ob := range res.Observables {
			if !ob.Kind.IsHash() {
				t.Fatalf("Hashes gave %s", ob.Kind)
			}
		}
		o.emitDNSResults(data, ioc.RoleAny, "QueryResults")
		checkObservables(t, "hashes", 1, &res)
	})
}

// FuzzObserveURL: whenever the allocation-free URL normaliser accepts a
// URL, ioc.NormalizeURL accepts it too and gives the same result.
func FuzzObserveURL(f *testing.F) {
	fuzzseed.Add(f)
	for _, s := range []string{
		"http://evil-update.test/payload.exe", "HTTPS://Evil.COM:443", "http://1.2.3.4:8080/a?b=c",
		"ftp://x.example:21/%41%2f", "http://x.example./?", "http://a_b.example/~x;y=1@z", "http://x:/", "http://x.example?q",
		"http://01.2.3.4/", "http://x.example/a%zz", "http://[::1]/", "http://u@x/",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := appendURLFast(nil, data)
		if !ok {
			return
		}
		want, err := ioc.NormalizeURL(string(data))
		if err != nil {
			t.Fatalf("fast path accepted %q, NormalizeURL: %v", data, err)
		}
		if string(got) != want {
			t.Fatalf("fast path %q = %q, NormalizeURL = %q", data, got, want)
		}
	})
}

// FuzzObserveDomain: the ASCII domain and IPv4 fast paths agree with
// ioc.NormalizeDomain and netip.ParseAddr.
func FuzzObserveDomain(f *testing.F) {
	fuzzseed.Add(f)
	for _, s := range []string{"Evil.COM.", "a..b", "1.2.3.4", "01.2.3.4", "_dmarc.x", "256.1.1.1", "a-.b", ".", "x.", "1.2.3.4."} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, ok := parseIPv4(data)
		na, err := netip.ParseAddr(string(data))
		if ok != (err == nil && na.Is4()) || ok && a != na {
			t.Fatalf("parseIPv4(%q) = %v %v, netip: %v %v", data, a, ok, na, err)
		}
		v := trimSpace(data)
		if !isASCII(v) {
			return
		}
		got, ok := appendDomainASCII(nil, v)
		want, err := ioc.NormalizeDomain(string(v))
		if ok != (err == nil) || ok && string(got) != want {
			t.Fatalf("appendDomainASCII(%q) = %q %v, NormalizeDomain = %q %v", v, got, ok, want, err)
		}
	})
}
