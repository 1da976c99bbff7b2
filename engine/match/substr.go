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

// acMatcher is iocmatch's own compact Aho-Corasick automaton, the default.
// Compared with cfMatcher it never allocates when nothing matches (no
// sync.Pool whose contents the GC drops), never mutates itself while
// matching, and stores edges in flat sorted arrays (~25 bytes per trie
// node instead of ~4 KiB) plus at most maxDense dense rows.
//
// States are int32 numbered in breadth-first order; state 0 is the root.
// The first nd <= maxDense states (the shallow ones, where a scan spends
// most of its time) also have a full 256-entry transition row with
// failures resolved, so that most bytes cost one array load.
type acMatcher struct {
	root      [256]int32 // root transitions; 0 means "stay at root"
	nd        int32      // states [0, nd) have a row in dense
	dense     [][256]int32
	edgeStart []int32 // edges of state s: [edgeStart[s], edgeStart[s+1])
	edgeByte  []byte  // sorted per state
	edgeNext  []int32
	fail      []int32 // failure link
	out       []int32 // pattern ending at the state, or -1
	dict      []int32 // nearest state on the failure chain with out >= 0, or 0
}

// newACMatcher builds the automaton for distinct, non-empty patterns.
func newACMatcher(patterns []string) *acMatcher {
	// Build the trie with temporary per-state child maps.
	children := []map[byte]int32{{}}
	out := []int32{-1}
	for pi, p := range patterns {
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := p[i]
			t, ok := children[s][c]
			if !ok {
				t = int32(len(children))
				children = append(children, map[byte]int32{})
				out = append(out, -1)
				children[s][c] = t
			}
			s = t
		}
		out[s] = int32(pi)
	}
	n := len(children)
	m := &acMatcher{
		edgeStart: make([]int32, n+1),
		fail:      make([]int32, n),
		out:       out,
		dict:      make([]int32, n),
	}
	// Flatten edges, sorted by byte.
	for s := 0; s < n; s++ {
		m.edgeStart[s] = int32(len(m.edgeByte))
		for c := 0; c < 256; c++ {
			if t, ok := children[s][byte(c)]; ok {
				m.edgeByte = append(m.edgeByte, byte(c))
				m.edgeNext = append(m.edgeNext, t)
			}
		}
	}
	m.edgeStart[n] = int32(len(m.edgeByte))
	for c, t := range children[0] {
		m.root[c] = t
	}
	// Failure and dictionary links, breadth first.
	queue := make([]int32, 0, n)
	for c := 0; c < 256; c++ {
		if t := m.root[c]; t != 0 {
			queue = append(queue, t) // fail = 0, dict = 0
		}
	}
	order := []int32{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		order = append(order, s)
		for i := m.edgeStart[s]; i < m.edgeStart[s+1]; i++ {
			c, t := m.edgeByte[i], m.edgeNext[i]
			m.fail[t] = m.step(m.fail[s], c)
			f := m.fail[t]
			if m.out[f] >= 0 {
				m.dict[t] = f
			} else {
				m.dict[t] = m.dict[f]
			}
			queue = append(queue, t)
		}
	}
	m.renumber(order)
	// Dense rows for the shallowest states. A state's failure target is
	// shallower, so it has a smaller number and its row is ready.
	nd := min(n, maxDense)
	m.dense = make([][256]int32, nd)
	m.dense[0] = m.root
	for s := 1; s < nd; s++ {
		row, frow := &m.dense[s], &m.dense[m.fail[s]]
		for c := 0; c < 256; c++ {
			if t := m.edge(int32(s), byte(c)); t >= 0 {
				row[c] = t
			} else {
				row[c] = frow[c]
			}
		}
	}
	m.nd = int32(nd)
	// Flag, in every transition target, the states that report a pattern,
	// so that the scan loop tests one sign bit instead of two arrays.
	flag := func(t int32) int32 {
		if t != 0 && (m.out[t] >= 0 || m.dict[t] != 0) {
			return t | outFlag
		}
		return t
	}
	for c := range m.root {
		m.root[c] = flag(m.root[c])
	}
	for i := range m.dense {
		for c := range m.dense[i] {
			m.dense[i][c] = flag(m.dense[i][c])
		}
	}
	for i := range m.edgeNext {
		m.edgeNext[i] = flag(m.edgeNext[i])
	}
	return m
}

// renumber renames the states so that order[i] becomes state i.
func (m *acMatcher) renumber(order []int32) {
	n := len(order)
	id := make([]int32, n)
	for i, s := range order {
		id[s] = int32(i)
	}
	for c := range m.root {
		m.root[c] = id[m.root[c]]
	}
	fail, out, dict := make([]int32, n), make([]int32, n), make([]int32, n)
	start := make([]int32, n+1)
	eb, en := make([]byte, 0, len(m.edgeByte)), make([]int32, 0, len(m.edgeNext))
	for i, s := range order {
		fail[i], out[i], dict[i] = id[m.fail[s]], m.out[s], id[m.dict[s]]
		start[i] = int32(len(eb))
		for e := m.edgeStart[s]; e < m.edgeStart[s+1]; e++ {
			eb = append(eb, m.edgeByte[e])
			en = append(en, id[m.edgeNext[e]])
		}
	}
	start[n] = int32(len(eb))
	m.fail, m.out, m.dict, m.edgeStart, m.edgeByte, m.edgeNext = fail, out, dict, start, eb, en
}

// outFlag marks, in transition targets, states that report a pattern.
const outFlag = -1 << 31

// maxDense bounds the dense transition rows (1 KiB each) per automaton.
const maxDense = 1024

// edge returns the child of s on c (flagged once the build is done), or
// -1.
func (m *acMatcher) edge(s int32, c byte) int32 {
	lo, hi := m.edgeStart[s], m.edgeStart[s+1]
	for hi-lo > 8 {
		mid := lo + (hi-lo)/2
		if m.edgeByte[mid] < c {
			lo = mid + 1
		} else {
			hi = mid + 1 // mid may be c: keep it in range
		}
	}
	for i := lo; i < hi; i++ {
		if m.edgeByte[i] == c {
			return m.edgeNext[i]
		}
	}
	return -1
}

// step is the automaton's transition function.
//
// s is an unflagged state; the result is flagged (see outFlag).
func (m *acMatcher) step(s int32, c byte) int32 {
	for s != 0 {
		if s < m.nd {
			return m.dense[s][c]
		}
		if t := m.edge(s, c); t != -1 {
			return t
		}
		s = m.fail[s]
	}
	return m.root[c]
}

func (m *acMatcher) matchAll(v []byte) []int {
	var hits []int
	s := int32(0) // flagged
	for _, c := range v {
		u := s &^ outFlag
		if u < m.nd {
			s = m.dense[u][c]
		} else {
			s = m.step(u, c)
		}
		if s >= 0 {
			continue
		}
		for t := s &^ outFlag; t != 0; t = m.dict[t] {
			if p := int(m.out[t]); p >= 0 && !containsInt(hits, p) {
				hits = append(hits, p)
			}
		}
	}
	return hits
}

// matchEach calls fn for each occurrence of a pattern in v (a pattern
// occurring twice is reported twice). It does not allocate.
func (m *acMatcher) matchEach(v []byte, fn func(pat int32)) {
	s := int32(0)
	for _, c := range v {
		u := s &^ outFlag
		if u < m.nd {
			s = m.dense[u][c]
		} else {
			s = m.step(u, c)
		}
		if s >= 0 {
			continue
		}
		for t := s &^ outFlag; t != 0; t = m.dict[t] {
			if p := m.out[t]; p >= 0 {
				fn(p)
			}
		}
	}
}

func containsInt(s []int, x int) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

func (m *acMatcher) approxBytes() int64 {
	n := int64(len(m.fail))
	return 256*4 + int64(len(m.dense))*256*4 + n*(4+4+4+4) + int64(len(m.edgeByte))*(1+4)
}
