package match

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
)

// naiveSubstrings is the reference: every pattern index contained in v.
func naiveSubstrings(patterns []string, v []byte) []int {
	var out []int
	for i, p := range patterns {
		if bytes.Contains(v, []byte(p)) {
			out = append(out, i)
		}
	}
	return out
}

func sortedHits(m substringMatcher, v []byte) []int {
	h := slices.Clone(m.matchAll(v))
	slices.Sort(h)
	return h
}

func TestAutomataTable(t *testing.T) {
	patterns := []string{"he", "she", "his", "hers", "s", "hershey", "-enc", "\x00\xff"}
	tests := []struct {
		text string
		want []string
	}{
		{"", nil},
		{"ushers", []string{"he", "she", "hers", "s"}},
		{"hershey", []string{"he", "hers", "s", "she", "hershey"}},
		{"HERS", nil},
		{"powershell -enc AA", []string{"he", "s", "she", "-enc"}},
		{"binary \x00\xff", []string{"\x00\xff"}},
		{"hi", nil},
	}
	for name, m := range map[string]substringMatcher{"compact": newACMatcher(patterns), "cloudflare": newCFMatcher(patterns)} {
		for _, tc := range tests {
			var want []int
			for _, w := range tc.want {
				want = append(want, slices.Index(patterns, w))
			}
			slices.Sort(want)
			if got := sortedHits(m, []byte(tc.text)); !slices.Equal(got, want) {
				t.Errorf("%s %q: got %v, want %v", name, tc.text, got, want)
			}
		}
	}
}

// TestAutomataRandom compares both automata with strings.Contains on a
// small alphabet, where patterns overlap, nest and share prefixes.
func TestAutomataRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcd"[r.IntN(4)]
		}
		return string(b)
	}
	for round := range 50 {
		seen := map[string]bool{}
		var patterns []string
		for range 1 + r.IntN(60) {
			p := word(1 + r.IntN(6))
			if !seen[p] {
				seen[p] = true
				patterns = append(patterns, p)
			}
		}
		ms := map[string]substringMatcher{"compact": newACMatcher(patterns), "cloudflare": newCFMatcher(patterns)}
		for range 200 {
			v := []byte(word(r.IntN(40)))
			want := naiveSubstrings(patterns, v)
			for name, m := range ms {
				if got := sortedHits(m, v); !slices.Equal(got, want) {
					t.Fatalf("round %d %s patterns %q text %q: got %v, want %v", round, name, patterns, v, got, want)
				}
			}
		}
	}
}

// TestAutomataRandomLarge uses enough patterns over a wide alphabet that
// the compact automaton has sparse states (beyond maxDense) with many
// edges (binary search).
func TestAutomataRandomLarge(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	word := func(n, k int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(k)]
		}
		return string(b)
	}
	seen := map[string]bool{}
	var patterns []string
	for len(patterns) < 3000 {
		// short prefixes over the whole alphabet give deep states many children
		p := word(2, 3) + word(1+r.IntN(8), len(alphabet))
		if !seen[p] {
			seen[p] = true
			patterns = append(patterns, p)
		}
	}
	m := newACMatcher(patterns)
	if len(m.fail) <= maxDense {
		t.Fatalf("only %d states: sparse states not exercised", len(m.fail))
	}
	cf := newCFMatcher(patterns)
	for range 3000 {
		v := []byte(word(r.IntN(60), len(alphabet)))
		if r.IntN(2) == 0 {
			v = append(v, patterns[r.IntN(len(patterns))]...)
			v = append(v, word(r.IntN(10), len(alphabet))...)
		}
		want := naiveSubstrings(patterns, v)
		if got := sortedHits(m, v); !slices.Equal(got, want) {
			t.Fatalf("compact: text %q: got %v, want %v", v, got, want)
		}
		if got := sortedHits(cf, v); !slices.Equal(got, want) {
			t.Fatalf("cloudflare: text %q: got %v, want %v", v, got, want)
		}
	}
}

func TestAutomatonNoHitDoesNotAllocate(t *testing.T) {
	m := newACMatcher([]string{"mimikatz", "-enc ", "invoke-expression", "cobaltstrike"})
	v := []byte(`"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --lang=en-US`)
	if a := testing.AllocsPerRun(100, func() { m.matchAll(v) }); a != 0 {
		t.Fatalf("compact automaton allocates %v times on a no-hit text", a)
	}
}

// FuzzMatchSubstrings splits the input into patterns (lines before a
// blank line) and a text, and checks both automata against the naive
// reference.
func FuzzMatchSubstrings(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte("he\nshe\nhers\n\nushers"))
	f.Add([]byte("a\naa\naaa\n\naaaa"))
	f.Fuzz(func(t *testing.T, in []byte) {
		head, text, _ := bytes.Cut(in, []byte("\n\n"))
		seen := map[string]bool{}
		var patterns []string
		for _, p := range strings.Split(string(head), "\n") {
			if p != "" && !seen[p] && len(patterns) < 64 {
				seen[p] = true
				patterns = append(patterns, p)
			}
		}
		if len(patterns) == 0 {
			return
		}
		want := naiveSubstrings(patterns, text)
		for name, m := range map[string]substringMatcher{"compact": newACMatcher(patterns), "cloudflare": newCFMatcher(patterns)} {
			if got := sortedHits(m, text); !slices.Equal(got, want) {
				t.Fatalf("%s: patterns %q text %q: got %v, want %v", name, patterns, text, got, want)
			}
		}
	})
}
