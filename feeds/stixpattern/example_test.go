package stixpattern_test

import (
	"fmt"

	"github.com/iocmatch/iocmatch/feeds/stixpattern"
)

func ExampleParse() {
	p, err := stixpattern.Parse(`[file:hashes.'SHA-256' == 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'] WITHIN 300.0 SECONDS`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p)
	_, err = stixpattern.Parse(`[file:name = 'a' and file:size = 1]`)
	fmt.Println(err)
	// Output:
	// [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'] WITHIN 300 SECONDS
	// at offset 17: expected ']', found 'and'
}

func ExamplePattern_Match() {
	bundle := []byte(`{"type": "bundle", "id": "bundle--1", "objects": [
	  {"type": "observed-data", "id": "observed-data--1", "spec_version": "2.1", "number_observed": 1,
	   "first_observed": "2024-05-01T10:00:00Z", "last_observed": "2024-05-01T10:00:00Z",
	   "object_refs": ["ipv4-addr--1", "network-traffic--1"]},
	  {"type": "ipv4-addr", "id": "ipv4-addr--1", "value": "203.0.113.7"},
	  {"type": "network-traffic", "id": "network-traffic--1", "dst_ref": "ipv4-addr--1", "dst_port": 443, "protocols": ["tcp"]}
	]}`)
	obs, err := stixpattern.ParseObservedBundle(bundle, "2.1")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, src := range []string{
		`[network-traffic:dst_ref.value ISSUBSET '203.0.113.0/24' AND network-traffic:dst_port = 443]`,
		`[network-traffic:dst_ref.value = '203.0.113.7' AND network-traffic:dst_port = 80]`,
		`[ipv4-addr:value = '203.0.113.7'] AND [ipv4-addr:value = '203.0.113.7']`,
	} {
		ok, err := stixpattern.MustParse(src).Match(obs)
		fmt.Println(ok, err)
	}
	// Output:
	// true <nil>
	// false <nil>
	// false <nil>
}

func ExampleTranslate() {
	for _, src := range []string{
		`[ipv4-addr:value = '198.51.100.7' OR domain-name:value = 'Evil.Example']`,
		`[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]`,
		`[file:name = 'a.exe'] FOLLOWEDBY [file:name = 'b.exe']`,
	} {
		t := stixpattern.Translate(stixpattern.MustParse(src))
		fmt.Printf("atoms=%v exprs=%v correlation=%v unsupported=%q\n", t.Atoms, t.Exprs, t.NeedsCorrelation, t.Unsupported)
	}
	// Output:
	// atoms=[ipv4:198.51.100.7 domain:evil.example] exprs=[] correlation=false unsupported=""
	// atoms=[] exprs=[(ipv4/dst eq ["198.51.100.7"] AND port/dst eq ["443"])] correlation=false unsupported=""
	// atoms=[] exprs=[] correlation=true unsupported="observation operator FOLLOWEDBY: needs correlation across events, not evaluable on one event"
}
