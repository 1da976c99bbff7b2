package stix

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// Benchmarks of the converter against a baseline that only decodes the
// same bundle into generic maps (the least any STIX consumer does):
//
//	go test -run '^$' -bench . -benchmem -count 6 ./feeds/stix/ > new.txt && benchstat new.txt

// genBundle has n indicators (domain, IP, hash patterns), n/10 malware
// each used by an intrusion set, and an indicates relationship per indicator.
func genBundle(n int) []byte {
	var objs []string
	for m := 0; m < n/10+1; m++ {
		objs = append(objs, obj("malware", 1_000_000+m, fmt.Sprintf(`"name":"Family %d","is_family":true`, m)))
		objs = append(objs, obj("intrusion-set", 2_000_000+m, fmt.Sprintf(`"name":"Set %d"`, m)))
		objs = append(objs, rel(3_000_000+m, id("intrusion-set", 2_000_000+m), "uses", id("malware", 1_000_000+m)))
	}
	for i := 0; i < n; i++ {
		var p string
		switch i % 3 {
		case 0:
			p = fmt.Sprintf("[domain-name:value = 'host%d.malware-c2.example']", i)
		case 1:
			p = fmt.Sprintf("[ipv4-addr:value = '10.%d.%d.%d']", i>>16&255, i>>8&255, i&255)
		default:
			p = fmt.Sprintf("[file:hashes.'SHA-256' = '%064x']", i)
		}
		objs = append(objs, indicator(i, p, `"confidence":70,"indicator_types":["malicious-activity"]`))
		objs = append(objs, rel(4_000_000+i, id("indicator", i), "indicates", id("malware", 1_000_000+i/10)))
	}
	return bundle(objs...)
}

func BenchmarkConvertBundle(b *testing.B) {
	data := genBundle(2000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c := NewConverter(Options{Feed: "bench"})
		if err := c.AddBundle(data); err != nil {
			b.Fatal(err)
		}
		if r := c.Result(); len(r.Indicators) != 2000 {
			b.Fatal(len(r.Indicators), r.Report.Errors)
		}
	}
}

// BenchmarkConvertBundleBaseline decodes the bundle into generic maps only.
func BenchmarkConvertBundleBaseline(b *testing.B) {
	data := genBundle(2000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var v struct {
			Objects []map[string]any `json:"objects"`
		}
		if err := json.Unmarshal(data, &v); err != nil || len(v.Objects) < 4000 {
			b.Fatal(err)
		}
	}
}

// BenchmarkConvertUnit42Corpus converts the Unit 42 playbooks when the
// shared corpus is present (it is not part of the project).
func BenchmarkConvertUnit42Corpus(b *testing.B) {
	data, err := os.ReadFile("/work/shared/corpus/stix/unit42/emotet.json")
	if err != nil {
		b.Skip("corpus not present")
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c := NewConverter(Options{Feed: "unit42"})
		c.AddBundle(data)
		if r := c.Result(); len(r.Indicators) == 0 {
			b.Fatal("no indicators")
		}
	}
}
