package match

import (
	"github.com/cloudflare/ahocorasick"
)

// substringMatcher finds which of a fixed set of distinct patterns occur
// in a text. Implementations are immutable after construction and safe
// for concurrent use.
type substringMatcher interface {
	// matchAll returns the indexes of every pattern occurring in v
	// (overlapping ones included), each once, in any order; nil (without
	// allocating) when none occurs.
	matchAll(v []byte) []int
	// approxBytes estimates the automaton's heap size.
	approxBytes() int64
}

// cfMatcher wraps github.com/cloudflare/ahocorasick.
//
// Findings from its source (v0.0.0-20240916140611-054963ec9396):
//   - Matcher.Match mutates per-node counters: it is NOT safe for
//     concurrent use, so we call MatchThreadSafe, which deduplicates
//     through a sync.Pool of maps (lock-free fast path; the first call on
//     each P allocates a map sized to the trie).
//   - It reports every overlapping pattern (output node plus suffix
//     links), each once per call; the result slice is allocated only when
//     something matched.
//   - Duplicate patterns keep only the last index, so patterns must be
//     distinct (Compile deduplicates them).
//   - Every trie node holds two [256]*node arrays: ~4 KiB per node, i.e.
//     ~4 KiB per pattern byte not shared with another pattern's prefix.
//     Fine for thousands of patterns, not for hundreds of thousands.
type cfMatcher struct {
	m     *ahocorasick.Matcher
	nodes int // upper bound of trie nodes
}

func newCFMatcher(patterns []string) *cfMatcher {
	n := 1
	for _, p := range patterns {
		n += len(p)
	}
	return &cfMatcher{m: ahocorasick.NewStringMatcher(patterns), nodes: n}
}

func (c *cfMatcher) matchAll(v []byte) []int { return c.m.MatchThreadSafe(v) }

// approxBytes: 2*256 pointers plus a few words per node, an upper bound.
func (c *cfMatcher) approxBytes() int64 { return int64(c.nodes) * (2*256*8 + 64) }
