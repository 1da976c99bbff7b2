package stixpattern

import (
	"encoding/json"
	"testing"
)

// Run and compare:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./feeds/stixpattern/ > new.txt
//	benchstat old.txt new.txt
//
// BenchmarkParseBaselineJSON decodes the STIX indicator objects that
// carry the same patterns: the cost a feed pays anyway per indicator, so
// Parse can be read as a ratio of it.

var benchPatterns = []string{
	`[ipv4-addr:value = '198.51.100.1' OR ipv4-addr:value = '203.0.113.33/32']`,
	`[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f']`,
	`[network-traffic:dst_ref.value ISSUBSET '198.51.100.0/24' AND network-traffic:dst_port IN (80, 443, 8080)]`,
	`[process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachine Root$'] FOLLOWEDBY [process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachineTrustedPublisher$'] WITHIN 300 SECONDS`,
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Parse(benchPatterns[i%len(benchPatterns)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseBaselineJSON(b *testing.B) {
	docs := make([][]byte, len(benchPatterns))
	for i, p := range benchPatterns {
		docs[i], _ = json.Marshal(map[string]any{
			"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
			"created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z",
			"pattern": p, "pattern_type": "stix", "valid_from": "2016-01-01T00:00:00Z",
		})
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var v map[string]any
		if err := json.Unmarshal(docs[i%len(docs)], &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTranslate(b *testing.B) {
	ps := make([]*Pattern, len(benchPatterns))
	for i, s := range benchPatterns {
		ps[i] = MustParse(s)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = Translate(ps[i%len(ps)])
	}
}

func BenchmarkMatch(b *testing.B) {
	obs, err := ParseObservedBundle([]byte(fuzzObserved), "")
	if err != nil {
		b.Fatal(err)
	}
	ps := []*Pattern{
		MustParse(`[network-traffic:dst_ref.value ISSUBSET '203.0.113.0/24' AND network-traffic:dst_port = 8443]`),
		MustParse(`([file:name = 'a.exe'] FOLLOWEDBY [file:name = 'b.exe']) WITHIN 30 SECONDS`),
		MustParse(`[file:name = 'a.exe' OR file:name = 'b.exe'] REPEATS 4 TIMES`),
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := ps[i%len(ps)].Match(obs); err != nil {
			b.Fatal(err)
		}
	}
}
