package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// Store benchmarks. BenchmarkOpen (the restart path) has a baseline that
// only reads and JSON-decodes the same feed file, so it reads as a ratio:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./feeds/store/ > new.txt && benchstat new.txt

func benchInds(n, version int) []*ioc.Indicator {
	out := make([]*ioc.Indicator, n)
	for i := range out {
		out[i] = &ioc.Indicator{ID: fmt.Sprintf("indicator--%08d", i), Kind: ioc.KindDomain, Value: fmt.Sprintf("host%d.malware-c2.example", i),
			Modified: day(version), Confidence: 80, Labels: []string{"malicious-activity"}, Context: ioc.Context{Malware: []string{"SampleRAT"}}}
	}
	return out
}

const benchN = 20000

func BenchmarkReplaceFeedUnchanged(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	inds := benchInds(benchN, 1)
	if _, err := s.ReplaceFeed("f", inds); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ch, err := s.ReplaceFeed("f", inds); err != nil || ch.Changed() {
			b.Fatal(err, ch)
		}
	}
}

func BenchmarkApplyIncremental100(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.ApplyIncremental("f", benchInds(benchN, 1), nil); err != nil {
		b.Fatal(err)
	}
	v := 2
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ApplyIncremental("f", benchInds(100, v), nil); err != nil {
			b.Fatal(err)
		}
		v++
	}
}

func BenchmarkActive(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.ApplyIncremental("f", benchInds(benchN, 1), nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(s.Active(day(10))) != benchN {
			b.Fatal("wrong count")
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.ApplyIncremental("f", benchInds(benchN, 1), nil); err != nil {
		b.Fatal(err)
	}
	s.Close()
	b.ReportAllocs()
	for b.Loop() {
		s, err := Open(dir, Options{})
		if err != nil || s.Len() != benchN {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkOpenBaseline reads the same feed file and decodes each line.
func BenchmarkOpenBaseline(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.ApplyIncremental("f", benchInds(benchN, 1), nil); err != nil {
		b.Fatal(err)
	}
	s.Close()
	p := filepath.Join(dir, feedFileName("f"))
	b.ReportAllocs()
	for b.Loop() {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		n := 0
		for sc.Scan() {
			var ind ioc.Indicator
			json.Unmarshal(sc.Bytes(), &ind)
			n++
		}
		if n != benchN+2 {
			b.Fatal(n)
		}
	}
}
