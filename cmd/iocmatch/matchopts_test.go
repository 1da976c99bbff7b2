package main

import (
	"strings"
	"testing"
)

// TestMatchMatcherOptions: --bloom=false and --automaton cloudflare give
// the same alerts as the defaults; a bad --automaton is a usage error
// naming the flag and the value.
func TestMatchMatcherOptions(t *testing.T) {
	_, want, _ := matchRun(t, nil, "--indicators", matchSampleJSONL, "--now", matchNow, matchFixtureEvents)
	if want == "" {
		t.Fatal("no alerts with the default options")
	}
	for _, args := range [][]string{
		{"--bloom=false"},
		{"--automaton", "cloudflare"},
		{"--bloom=false", "--automaton", "compact"},
	} {
		code, got, stderr := matchRun(t, nil, append(append([]string{"--indicators", matchSampleJSONL, "--now", matchNow}, args...), matchFixtureEvents)...)
		if code != 0 || got != want {
			t.Errorf("%v: exit %d, output differs from the defaults: %v\n%s", args, code, got != want, stderr)
		}
	}
	code, _, stderr := matchRun(t, nil, "--indicators", matchSampleJSONL, "--automaton", "radix", matchFixtureEvents)
	if code != 2 || !strings.Contains(stderr, `--automaton "radix"`) {
		t.Errorf("bad --automaton: exit %d, stderr %q", code, stderr)
	}
}
