package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBenchSmoke runs `iocmatch bench` briefly; it asserts correctness
// and the shape of the output, never speed.
func TestBenchSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"core table", []string{"bench", "--events", "2000", "--indicators", "500", "--hit-ratio", "0.1", "--format", "mixed"},
			[]string{"correctness: PASS", "nats-core", "iocmatch core", "engine ÷ baseline", "p99.9"}},
		{"jetstream", []string{"bench", "--mode", "jetstream", "--events", "1000", "--indicators", "300", "--hit-ratio", "0.2", "--format", "eve", "--publishers", "2"},
			[]string{"correctness: PASS", "jetstream", "iocmatch jetstream"}},
		{"feed file", []string{"bench", "--events", "500", "--indicators-from", "../../testdata/sample/feed.stix.json", "--hit-ratio", "0.5", "--format", "zeek"},
			[]string{"correctness: PASS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(ctx, append([]string{"--log-format", "json", "--log-level", "warn"}, tc.args...), strings.NewReader(""), &out, &errb)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestBenchJSONAndSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("sweep: several runs")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"--log-level", "warn", "bench", "--events", "1000", "--indicators", "200", "--hit-ratio", "0.05", "--json"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var r struct {
		Engine struct {
			Processed int `json:"processed"`
		} `json:"engine"`
		Correct struct {
			Pass bool `json:"pass"`
		} `json:"correctness"`
		Targets []struct{ Name string } `json:"targets"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	if !r.Correct.Pass || r.Engine.Processed != 1000 || len(r.Targets) == 0 {
		t.Fatalf("json result %+v", r)
	}

	dir := t.TempDir()
	out.Reset()
	code = run(ctx, []string{"--log-level", "warn", "bench", "--sweep", "--sweep-max-indicators", "10000", "--events", "1000",
		"--indicators", "1000", "--sweep-point", "300ms", "--out", dir}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("sweep exit %d: %s\n%s", code, out.String(), errb.String())
	}
	svg, err := os.ReadFile(filepath.Join(dir, "bench-sweep-core.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(svg, []byte("<svg")) || bytes.Count(svg, []byte("<polyline")) < 4 {
		t.Errorf("svg:\n%s", svg)
	}
	js, err := os.ReadFile(filepath.Join(dir, "bench-sweep-core.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sr struct {
		ByIndicators []struct{ Indicators int } `json:"by_indicators"`
		ByLoad       []struct{ Load float64 }   `json:"by_load"`
	}
	if err := json.Unmarshal(js, &sr); err != nil {
		t.Fatal(err)
	}
	if len(sr.ByIndicators) != 2 || len(sr.ByLoad) != 5 {
		t.Errorf("sweep points: %+v", sr)
	}
}

func TestBenchUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--mode", "udp"},
		{"bench", "--events", "10", "--duration", "1s"},
		{"bench", "--format", "csv"},
		{"bench", "extra"},
		{"bench", "--indicators-from", "/nonexistent/feed.json"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), append([]string{"--log-level", "error"}, args...), strings.NewReader(""), &out, &errb); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}
