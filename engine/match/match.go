// Package match compiles indicators into an immutable Snapshot and matches
// the observables of one event against it.
//
// Contract:
//   - Compile validates every indicator (ioc.Indicator.Validate) and builds
//     per-kind exact sets (each behind a Bloom pre-filter that is always
//     confirmed by the exact set), a CIDR trie (longest prefix wins), a
//     domain suffix set, an Aho-Corasick automaton for substring
//     indicators and anchored programs for compound expressions.
//   - A Snapshot is immutable after Compile: Match is pure (no I/O, no
//     clock, no locks, no package state), safe for any number of concurrent
//     callers, and does not allocate when nothing matches (with the default
//     "bart" CIDR table; see Options.CIDR).
//   - Match reports at most one Hit per *ioc.Indicator: indicators are
//     identified by pointer, never by ID (several indicators may share an
//     ID). Validity times are not checked: compile only active indicators.
//   - Holder publishes a Snapshot to concurrent readers and swaps it
//     atomically.
//
// Matching semantics (see the project's design notes):
//   - IP observables (KindIPv4/KindIPv6 with Addr set, unmapped) hit single
//     address indicators and the most specific CIDR indicators containing
//     the address (every indicator sharing that exact prefix).
//   - Domain observables hit domain indicators equal to the name or to one
//     of its parent domains (evil.com hits a.b.evil.com, not notevil.com).
//   - URL observables hit URL indicators exactly, and their host is checked
//     as a domain or an address. E-mail observables hit e-mail indicators
//     exactly and their domain part is checked as a domain.
//   - Hashes, JA3/JA3S/JA4, file names and paths, user agents, registry
//     keys and process names hit indicators of the same kind exactly.
//   - KindCommandLine indicators are substrings searched in KindCommandLine
//     observables; KindSubstring indicators are searched in KindText and
//     KindCommandLine observables.
//   - Compound indicators are evaluated exactly (ioc.Predicate semantics)
//     for the events that contain one of their anchors: an Eq/In value,
//     an address in a CIDR predicate's prefix, or a literal that a
//     Contains or a regex needs (one automaton per observable kind);
//     failing that, an observable kind every satisfying event has; the
//     few compounds with no anchor (e.g. NOT(...) at the top) are
//     evaluated on every event. Stats reports the counts.
package match

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// Options tune Compile. The zero value selects the defaults.
type Options struct {
	// CIDR selects the CIDR trie implementation: "bart" (the default,
	// github.com/gaissmai/bart) or "cidranger" (github.com/yl2chen/cidranger,
	// which allocates on every IP lookup and is much slower; kept for
	// comparison).
	CIDR string
	// BloomFPRate is the false-positive rate the Bloom pre-filters are
	// sized for, in (0, 1); 0 means the default 0.01.
	BloomFPRate float64
	// DisableBloom drops the Bloom pre-filters: every lookup goes straight
	// to the exact set. Results are identical either way. Measured at 1M
	// indicators (BenchmarkMatchStructure1M) a Go map miss is cheaper
	// than the Bloom test in front of it (1.3x-3x per lookup), so
	// latency-sensitive deployments should set it.
	DisableBloom bool
	// Automaton selects the Aho-Corasick implementation for substring
	// indicators: "compact" (the default, this package's own automaton:
	// allocation-free when nothing matches, ~16 bytes per trie node) or
	// "cloudflare" (github.com/cloudflare/ahocorasick: ~4 KiB per trie
	// node, and its thread-safe matching allocates whenever the GC has
	// emptied its sync.Pool). Results are identical. The literal anchors
	// of compound indicators always use the compact automaton.
	Automaton string
	// Clock times Compile for Stats.CompileDuration; nil means time.Now.
	Clock func() time.Time
}

// Values of Options.CIDR and Options.Automaton (the first of each pair is
// the default) and the default Bloom false-positive rate.
const (
	CIDRBart            = "bart"
	CIDRCIDRanger       = "cidranger"
	AutomatonCompact    = "compact"
	AutomatonCloudflare = "cloudflare"
	// DefaultBloomFPRate is the default Options.BloomFPRate.
	DefaultBloomFPRate = 0.01
)

// Hit is one matched indicator.
type Hit struct {
	// Indicator is the matched indicator (the pointer given to Compile).
	Indicator *ioc.Indicator
	// Obs is the index, in the observables passed to Match, of the first
	// observable that matched; -1 when a compound expression matched as a
	// whole.
	Obs int32
}

// Stats describes a compiled Snapshot.
type Stats struct {
	Indicators int              // indicators compiled
	ByKind     map[ioc.Kind]int // indicators per kind (compounds under KindCompound)
	// Compounds by how Match finds their candidate events: by anchor
	// values (every satisfying event has an observable equal to one of
	// them (Eq/In), inside one of them (CIDR) or containing one of them
	// (Contains, a regex's literal prefix)), by the kinds of observable
	// every satisfying event must contain, or on every event.
	CompoundsValueAnchored int
	CompoundsKindAnchored  int
	CompoundsUnanchored    int
	SubstringPatterns      int           // distinct patterns in the Aho-Corasick automaton
	CIDRPrefixes           int           // distinct prefixes in the CIDR table
	CIDR                   string        // the CIDR table implementation
	Automaton              string        // the Aho-Corasick implementation
	Bloom                  bool          // whether Bloom pre-filters are used
	CompileDuration        time.Duration // wall time of Compile
	// ApproxBytes estimates the heap the Snapshot holds beyond the
	// indicators themselves (maps, Bloom bits, tries, automaton). It is an
	// estimate from entry counts, not a measurement.
	ApproxBytes int64
}

// Snapshot is a compiled, immutable set of indicators. All methods are
// safe for concurrent use by any number of goroutines.
type Snapshot struct {
	inds  []*ioc.Indicator
	multi multiRefs

	ip4    arrSet[[4]byte]
	ip6    arrSet[[16]byte]
	cidr   prefixTable
	domain strSet
	url    strSet
	email  strSet
	md5    arrSet[[16]byte]
	ja3    arrSet[[16]byte]
	ja3s   arrSet[[16]byte]
	sha1   arrSet[[20]byte]
	sha256 arrSet[[32]byte]
	sha512 arrSet[[64]byte]
	// exact string kinds: file name/path, user agent, JA4, registry key, process name
	strs [numKinds]*strSet

	subs      substringMatcher // nil when there are no substring indicators
	subRefs   []int32          // pattern index -> ref
	hasCmd    bool             // some KindCommandLine indicator exists
	hasSubstr bool             // some KindSubstring indicator exists

	cmp compounds

	stats Stats
}

// numKinds bounds ioc.Kind values used as array indexes.
const numKinds = 32

// Len returns the number of indicators compiled.
func (s *Snapshot) Len() int { return len(s.inds) }

// Stats returns the snapshot's statistics. The ByKind map is a fresh copy.
func (s *Snapshot) Stats() Stats {
	st := s.stats
	st.ByKind = make(map[ioc.Kind]int, len(s.stats.ByKind))
	for k, v := range s.stats.ByKind {
		st.ByKind[k] = v
	}
	return st
}

// Match appends to dst the hits of one event's observables and returns
// it. At most one Hit is appended per indicator: the first observable in
// order that matched it (Obs -1 for compounds). Atomic hits come first,
// in observable order, then compound hits. Match reads obs and never
// keeps it. Safe for concurrent use.
//
// IP observables should carry Addr (engine/observe sets it); when Addr is
// unset, Value is parsed. Match does not allocate when nothing matches,
// except with the "cidranger" table, which allocates on every IP lookup,
// and when an unset Addr's Value or an all-digit URL host fails to parse
// as an address (the parse error allocates). Hits may allocate (dst
// growth, the automaton's result list).
func (s *Snapshot) Match(obs []ioc.Observable, dst []Hit) []Hit {
	start := len(dst)
	var kinds uint64
	for i := range obs {
		o := &obs[i]
		oi := int32(i)
		if o.Kind < numKinds {
			kinds |= 1 << o.Kind
		}
		switch o.Kind {
		case ioc.KindIPv4, ioc.KindIPv6:
			a := o.Addr
			if !a.IsValid() {
				a = parseAddr(o.Value)
			}
			dst = s.matchAddr(a, oi, dst, start)
		case ioc.KindDomain:
			dst = s.matchDomain(o.Value, oi, dst, start)
		case ioc.KindURL:
			if ref, ok := s.url.lookup(o.Value); ok {
				dst = s.emit(dst, start, ref, oi, false)
			}
			host := ioc.URLHostBytes(o.Value)
			if len(host) > 0 {
				if looksLikeAddr(host) {
					if a := parseAddr(host); a.IsValid() {
						dst = s.matchAddr(a, oi, dst, start)
						break
					}
				}
				dst = s.matchDomain(host, oi, dst, start)
			}
		case ioc.KindEmail:
			if ref, ok := s.email.lookup(o.Value); ok {
				dst = s.emit(dst, start, ref, oi, false)
			}
			if at := lastIndexByte(o.Value, '@'); at >= 0 && at+1 < len(o.Value) {
				dst = s.matchDomain(o.Value[at+1:], oi, dst, start)
			}
		case ioc.KindMD5, ioc.KindJA3, ioc.KindJA3S, ioc.KindSHA1, ioc.KindSHA256, ioc.KindSHA512:
			dst = s.matchHash(o.Kind, o.Value, oi, dst, start)
		case ioc.KindFileName, ioc.KindFilePath, ioc.KindUserAgent, ioc.KindJA4, ioc.KindRegistryKey, ioc.KindProcessName:
			if set := s.strs[o.Kind]; set != nil {
				if ref, ok := set.lookup(o.Value); ok {
					dst = s.emit(dst, start, ref, oi, false)
				}
			}
		case ioc.KindCommandLine:
			dst = s.matchSubstrings(o.Value, oi, false, dst, start)
		case ioc.KindText:
			dst = s.matchSubstrings(o.Value, oi, true, dst, start)
		}
	}
	if s.cmp.n > 0 {
		dst = s.cmp.match(kinds, obs, dst, start)
	}
	return dst
}

// matchAddr looks an address up in the single-address sets and the CIDR
// table.
func (s *Snapshot) matchAddr(a netip.Addr, oi int32, dst []Hit, start int) []Hit {
	if !a.IsValid() {
		return dst
	}
	a = a.Unmap()
	if a.Is4() {
		k := a.As4()
		if ref, ok := s.ip4.lookup(k, k[:]); ok {
			dst = s.emit(dst, start, ref, oi, false)
		}
	} else {
		k := a.As16()
		if ref, ok := s.ip6.lookup(k, k[:]); ok {
			dst = s.emit(dst, start, ref, oi, false)
		}
	}
	if s.cidr != nil {
		if ref, ok := s.cidr.lookup(a); ok {
			dst = s.emit(dst, start, ref, oi, false)
		}
	}
	return dst
}

// matchDomain looks up name and each of its parent domains.
func (s *Snapshot) matchDomain(name []byte, oi int32, dst []Hit, start int) []Hit {
	if s.domain.m == nil {
		return dst
	}
	for len(name) > 0 {
		if ref, ok := s.domain.lookup(name); ok {
			dst = s.emit(dst, start, ref, oi, false)
		}
		j := indexByte(name, '.')
		if j < 0 {
			break
		}
		name = name[j+1:]
	}
	return dst
}

// matchHash decodes a hex observable and looks it up in a binary-keyed set.
func (s *Snapshot) matchHash(kind ioc.Kind, v []byte, oi int32, dst []Hit, start int) []Hit {
	var (
		ref int32
		ok  bool
	)
	switch kind {
	case ioc.KindMD5, ioc.KindJA3, ioc.KindJA3S:
		set := &s.md5
		if kind == ioc.KindJA3 {
			set = &s.ja3
		} else if kind == ioc.KindJA3S {
			set = &s.ja3s
		}
		var k [16]byte
		if set.m != nil && decodeHex(k[:], v) {
			ref, ok = set.lookup(k, k[:])
		}
	case ioc.KindSHA1:
		var k [20]byte
		if s.sha1.m != nil && decodeHex(k[:], v) {
			ref, ok = s.sha1.lookup(k, k[:])
		}
	case ioc.KindSHA256:
		var k [32]byte
		if s.sha256.m != nil && decodeHex(k[:], v) {
			ref, ok = s.sha256.lookup(k, k[:])
		}
	case ioc.KindSHA512:
		var k [64]byte
		if s.sha512.m != nil && decodeHex(k[:], v) {
			ref, ok = s.sha512.lookup(k, k[:])
		}
	}
	if ok {
		dst = s.emit(dst, start, ref, oi, false)
	}
	return dst
}

// matchSubstrings runs the automaton over v. onlySubstring restricts hits
// to KindSubstring indicators (for KindText observables).
func (s *Snapshot) matchSubstrings(v []byte, oi int32, onlySubstring bool, dst []Hit, start int) []Hit {
	if s.subs == nil || (onlySubstring && !s.hasSubstr) || (!onlySubstring && !s.hasCmd && !s.hasSubstr) {
		return dst
	}
	for _, pat := range s.subs.matchAll(v) {
		dst = s.emit(dst, start, s.subRefs[pat], oi, onlySubstring)
	}
	return dst
}

// emit appends a hit for each indicator of ref that is not yet in
// dst[start:]. With onlySubstring, indicators of other kinds are skipped.
func (s *Snapshot) emit(dst []Hit, start int, ref int32, oi int32, onlySubstring bool) []Hit {
	if ref >= 0 {
		return s.emitOne(dst, start, ref, oi, onlySubstring)
	}
	g := -(ref + 1)
	members := s.multi.group(ref)
	if s.multi.mixed[g] {
		// A substring value shared by KindSubstring and KindCommandLine
		// indicators can be emitted in part (onlySubstring): check each.
		for _, idx := range members {
			dst = s.emitOne(dst, start, idx, oi, onlySubstring)
		}
		return dst
	}
	// A group of one kind is always emitted whole, so its first member
	// tells whether all are already in dst: one scan instead of one per
	// member (groups can be large: one value in many feeds).
	first := s.inds[members[0]]
	if onlySubstring && first.Kind != ioc.KindSubstring {
		return dst
	}
	for i := start; i < len(dst); i++ {
		if dst[i].Indicator == first {
			return dst
		}
	}
	for _, idx := range members {
		dst = append(dst, Hit{Indicator: s.inds[idx], Obs: oi})
	}
	return dst
}

func (s *Snapshot) emitOne(dst []Hit, start int, idx int32, oi int32, onlySubstring bool) []Hit {
	ind := s.inds[idx]
	if onlySubstring && ind.Kind != ioc.KindSubstring {
		return dst
	}
	return appendHit(dst, start, ind, oi)
}

// appendHit appends Hit{ind, oi} unless ind already has a hit in dst[start:].
func appendHit(dst []Hit, start int, ind *ioc.Indicator, oi int32) []Hit {
	for i := start; i < len(dst); i++ {
		if dst[i].Indicator == ind {
			return dst
		}
	}
	return append(dst, Hit{Indicator: ind, Obs: oi})
}

// multiRefs stores the indicator lists of values shared by several
// indicators. A ref >= 0 is a single indicator index; a ref < 0 is group
// -(ref+1), whose indicator indexes are inds[off[g]:off[g+1]].
type multiRefs struct {
	off   []int32
	inds  []int32
	mixed []bool // group g holds indicators of more than one kind
}

func (m *multiRefs) group(ref int32) []int32 {
	g := -(ref + 1)
	return m.inds[m.off[g]:m.off[g+1]]
}

// refBuilder accumulates refs while compiling.
type refBuilder struct {
	groups [][]int32
}

// add returns the ref for a value whose current ref is (old, had) after
// adding indicator idx.
func (b *refBuilder) add(old int32, had bool, idx int32) int32 {
	if !had {
		return idx
	}
	if old >= 0 {
		if old == idx {
			return old
		}
		b.groups = append(b.groups, []int32{old, idx})
		return -int32(len(b.groups))
	}
	g := -(old + 1)
	for _, x := range b.groups[g] {
		if x == idx {
			return old
		}
	}
	b.groups[g] = append(b.groups[g], idx)
	return old
}

func (b *refBuilder) build(inds []*ioc.Indicator) multiRefs {
	var m multiRefs
	if len(b.groups) == 0 {
		return m
	}
	m.off = make([]int32, 0, len(b.groups)+1)
	n := 0
	for _, g := range b.groups {
		n += len(g)
	}
	m.inds = make([]int32, 0, n)
	m.mixed = make([]bool, len(b.groups))
	for gi, g := range b.groups {
		m.off = append(m.off, int32(len(m.inds)))
		m.inds = append(m.inds, g...)
		for _, idx := range g[1:] {
			if inds[idx].Kind != inds[g[0]].Kind {
				m.mixed[gi] = true
			}
		}
	}
	m.off = append(m.off, int32(len(m.inds)))
	return m
}

func (b *refBuilder) count(ref int32) int {
	if ref >= 0 {
		return 1
	}
	return len(b.groups[-(ref + 1)])
}

func errIndicator(i int, ind *ioc.Indicator, err error) error {
	if ind == nil {
		return fmt.Errorf("match: indicator #%d: %w", i, err)
	}
	return fmt.Errorf("match: indicator %s (#%d): %w", ind.ID, i, err)
}
