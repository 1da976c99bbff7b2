package lists

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"testing"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// Benchmarks of the list readers, each with a baseline doing the least
// work the format needs on the same input, so results read as ratios:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./feeds/lists/ > new.txt && benchstat new.txt

// ipsumLike is n lines "a.b.c.d<TAB>count" from a fixed seed.
func ipsumLike(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.WriteString("# IPsum-like\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%d.%d.%d.%d\t%d\n", rng.IntN(223)+1, rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(10)+1)
	}
	return b.Bytes()
}

func BenchmarkReadPlainIPs(b *testing.B) {
	data := ipsumLike(20000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		inds, _, err := ReadPlain(bytes.NewReader(data), Options{Feed: "ipsum"})
		if err != nil || len(inds) < 19000 {
			b.Fatal(err, len(inds))
		}
	}
}

// BenchmarkReadPlainIPsBaseline splits lines and parses the address only.
func BenchmarkReadPlainIPsBaseline(b *testing.B) {
	data := ipsumLike(20000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		sc := bufio.NewScanner(bytes.NewReader(data))
		n := 0
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) == 0 || line[0] == '#' {
				continue
			}
			if i := bytes.IndexByte(line, '\t'); i > 0 {
				line = line[:i]
			}
			if _, err := netip.ParseAddr(string(line)); err == nil {
				n++
			}
		}
		if n < 19000 {
			b.Fatal(n)
		}
	}
}

func jsonLines(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		ind := ioc.Indicator{ID: fmt.Sprintf("indicator--%08d", i), Kind: ioc.KindDomain, Value: fmt.Sprintf("host%d.malware-c2.example", i),
			Feed: "f", Confidence: 80, Labels: []string{"malicious-activity"}, Context: ioc.Context{Malware: []string{"SampleRAT"}}}
		j, _ := json.Marshal(ind)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func BenchmarkReadJSONLines(b *testing.B) {
	data := jsonLines(5000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		inds, _, err := ReadJSONLines(bytes.NewReader(data), Options{})
		if err != nil || len(inds) != 5000 {
			b.Fatal(err, len(inds))
		}
	}
}

// BenchmarkReadJSONLinesBaseline decodes the same lines with encoding/json only.
func BenchmarkReadJSONLinesBaseline(b *testing.B) {
	data := jsonLines(5000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		sc := bufio.NewScanner(bytes.NewReader(data))
		n := 0
		for sc.Scan() {
			var ind ioc.Indicator
			if err := json.Unmarshal(sc.Bytes(), &ind); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 5000 {
			b.Fatal(n)
		}
	}
}

// BenchmarkReadPlainIpsumCorpus reads the real ipsum list when the shared
// corpus is present (it is not part of the project).
func BenchmarkReadPlainIpsumCorpus(b *testing.B) {
	data, err := os.ReadFile("/work/shared/corpus/lists/ipsum.txt")
	if err != nil {
		b.Skip("corpus not present")
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ReadPlain(bytes.NewReader(data), Options{Feed: "ipsum"}); err != nil {
			b.Fatal(err)
		}
	}
}
