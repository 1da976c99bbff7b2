package match

import (
	"bytes"
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"regexp"
	"slices"

	"github.com/gaissmai/bart"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// compounds holds the compiled compound indicators and their anchors.
//
// Each compound is indexed by the strongest anchor found for it:
//   - value anchors: a set of (kind, value) such that every event that
//     satisfies the expression contains an observable with one of them
//     (an Eq/In predicate in an AND; every branch of an OR anchored);
//   - kind anchors: a set of observable kinds such that every satisfying
//     event contains an observable of one of them (every predicate but a
//     negated Exists needs an observable of its target kind);
//   - none: evaluated on every event (e.g. NOT(...) at the top).
type compounds struct {
	n     int
	progs []compound // all compounds

	// value anchors: addresses (unmapped, as 16 bytes) and strings by kind.
	anchorIP      map[[16]byte][]int32
	anchorStr     [numKinds]map[string][]int32
	hasStrAnchors bool
	// prefix anchors: an LPM table whose value indexes prefixCands, the
	// compounds of the prefix and of every anchor prefix containing it.
	prefixTable *bart.Table[int32]
	prefixCands [][]int32
	// literal anchors: per kind, an automaton over the literals whose
	// pattern i has candidates literalCands[kind][i].
	literalAC    [numKinds]*acMatcher
	literalCands [numKinds][][]int32
	hasLiterals  bool

	// while compiling
	prefixLists  map[netip.Prefix][]int32
	literalLists [numKinds]map[string][]int32

	byKinds    []kindGroup // kind-anchored compounds, grouped by mask
	unanchored []int32
}

type kindGroup struct {
	mask  uint64
	progs []int32
}

type compound struct {
	ind  *ioc.Indicator
	expr *cexpr
}

// cexpr is a compiled ioc.Expr.
type cexpr struct {
	op   ioc.ExprOp
	args []*cexpr
	p    *cpred
}

// cpred is a compiled ioc.Predicate.
type cpred struct {
	kind     ioc.Kind
	ipTarget bool
	role     ioc.Role
	field    string
	op       ioc.PredOp
	negate   bool
	vals     [][]byte            // Eq/In (normalised), Contains (as given)
	valSet   map[string]struct{} // Eq/In with many values
	addrs    []netip.Addr        // Eq/In on address targets
	addrSet  map[netip.Addr]struct{}
	prefixes []netip.Prefix
	re       *regexp.Regexp
	num      int64
}

const setThreshold = 8

func compileExpr(e *ioc.Expr) (*cexpr, error) {
	c := &cexpr{op: e.Op}
	if e.Op == ioc.OpPred {
		p, err := compilePred(e.Pred)
		if err != nil {
			return nil, err
		}
		c.p = p
		return c, nil
	}
	for _, a := range e.Args {
		ca, err := compileExpr(a)
		if err != nil {
			return nil, err
		}
		c.args = append(c.args, ca)
	}
	return c, nil
}

func isIPKind(k ioc.Kind) bool { return k == ioc.KindIPv4 || k == ioc.KindIPv6 }

func compilePred(p *ioc.Predicate) (*cpred, error) {
	c := &cpred{kind: p.Target.Kind, ipTarget: isIPKind(p.Target.Kind), role: p.Target.Role,
		field: p.Target.Field, op: p.Op, negate: p.Negate, num: p.Num}
	switch p.Op {
	case ioc.PredEq, ioc.PredIn:
		for _, v := range p.Values {
			k, nv, err := ioc.Normalize(p.Target.Kind, v)
			if err != nil {
				return nil, fmt.Errorf("predicate %s on %s: value %q: %w", p.Op, p.Target, v, err)
			}
			if c.ipTarget {
				if !isIPKind(k) {
					return nil, fmt.Errorf("predicate %s on %s: value %q is not an address", p.Op, p.Target, v)
				}
				c.addrs = append(c.addrs, netip.MustParseAddr(nv))
				continue
			}
			c.vals = append(c.vals, []byte(nv))
		}
		if len(c.addrs) > setThreshold {
			c.addrSet = make(map[netip.Addr]struct{}, len(c.addrs))
			for _, a := range c.addrs {
				c.addrSet[a] = struct{}{}
			}
		}
		if len(c.vals) > setThreshold {
			c.valSet = make(map[string]struct{}, len(c.vals))
			for _, v := range c.vals {
				c.valSet[string(v)] = struct{}{}
			}
		}
	case ioc.PredContains:
		for _, v := range p.Values {
			c.vals = append(c.vals, []byte(v))
		}
	case ioc.PredCIDR:
		for _, pf := range p.Prefixes {
			if !pf.IsValid() {
				return nil, fmt.Errorf("predicate cidr on %s: invalid prefix", p.Target)
			}
			pp, err := ioc.ParsePrefix(pf.String())
			if err != nil {
				return nil, fmt.Errorf("predicate cidr on %s: prefix %s: %w", p.Target, pf, err)
			}
			c.prefixes = append(c.prefixes, pp)
		}
	case ioc.PredRegex:
		re, err := regexp.Compile(p.Regex)
		if err != nil {
			return nil, fmt.Errorf("predicate regex on %s: %w", p.Target, err)
		}
		c.re = re
	}
	return c, nil
}

// selects reports whether o is selected by the predicate's target.
func (p *cpred) selects(o *ioc.Observable) bool {
	if p.ipTarget {
		if !isIPKind(o.Kind) {
			return false
		}
	} else if o.Kind != p.kind {
		return false
	}
	if p.role != ioc.RoleAny && o.Role != p.role {
		return false
	}
	return p.field == "" || o.Field == p.field
}

// sat reports whether o satisfies the predicate's operator (before Negate).
func (p *cpred) sat(o *ioc.Observable) bool {
	switch p.op {
	case ioc.PredEq, ioc.PredIn:
		if p.ipTarget {
			a := obsAddr(o)
			if !a.IsValid() {
				return false
			}
			if p.addrSet != nil {
				_, ok := p.addrSet[a]
				return ok
			}
			for _, x := range p.addrs {
				if x == a {
					return true
				}
			}
			return false
		}
		if p.valSet != nil {
			_, ok := p.valSet[string(o.Value)]
			return ok
		}
		for _, v := range p.vals {
			if bytes.Equal(o.Value, v) {
				return true
			}
		}
	case ioc.PredContains:
		for _, v := range p.vals {
			if bytes.Contains(o.Value, v) {
				return true
			}
		}
	case ioc.PredCIDR:
		a := obsAddr(o)
		if !a.IsValid() {
			return false
		}
		for _, pf := range p.prefixes {
			if pf.Contains(a) {
				return true
			}
		}
	case ioc.PredRegex:
		return p.re.Match(o.Value)
	case ioc.PredExists:
		return true
	case ioc.PredLt, ioc.PredLe, ioc.PredGt, ioc.PredGe:
		n, ok := parseInt(o.Value)
		if !ok {
			return false
		}
		switch p.op {
		case ioc.PredLt:
			return n < p.num
		case ioc.PredLe:
			return n <= p.num
		case ioc.PredGt:
			return n > p.num
		default:
			return n >= p.num
		}
	}
	return false
}

// obsAddr returns the observable's address, unmapped, parsing Value when
// Addr is unset.
func obsAddr(o *ioc.Observable) netip.Addr {
	if o.Addr.IsValid() {
		return o.Addr.Unmap()
	}
	return parseAddr(o.Value)
}

// parseInt parses an optionally signed decimal int64 (as strconv.ParseInt
// with base 10) without allocating.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxUint64-9)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return int64(-n), true
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// eval evaluates the expression over one event's observables.
func (e *cexpr) eval(obs []ioc.Observable) bool {
	switch e.op {
	case ioc.OpPred:
		return e.p.eval(obs)
	case ioc.OpAnd:
		for _, a := range e.args {
			if !a.eval(obs) {
				return false
			}
		}
		return true
	case ioc.OpOr:
		for _, a := range e.args {
			if a.eval(obs) {
				return true
			}
		}
		return false
	case ioc.OpNot:
		return !e.args[0].eval(obs)
	}
	return false
}

// eval implements ioc.Predicate's semantics: true when some selected
// observable satisfies the operator (with Negate: does not satisfy it);
// false when none is selected, except a negated Exists, which is true
// exactly when none is selected.
func (p *cpred) eval(obs []ioc.Observable) bool {
	for i := range obs {
		o := &obs[i]
		if !p.selects(o) {
			continue
		}
		if p.op == ioc.PredExists {
			return !p.negate
		}
		if p.sat(o) != p.negate {
			return true
		}
	}
	return p.op == ioc.PredExists && p.negate
}

// anchor is one key of a value anchor: an exact value (an address for
// IP targets), a CIDR prefix, or a literal that must occur in the value.
type anchor struct {
	class  anchorClass
	kind   ioc.Kind // target kind (exact, literal)
	addr   netip.Addr
	prefix netip.Prefix
	val    string
}

// anchorClass orders anchors from most to least selective.
type anchorClass uint8

const (
	anchorExact anchorClass = iota
	anchorAddr
	anchorPrefix
	anchorLiteral
)

// valueAnchors returns anchors every satisfying event must contain one
// of: an observable equal to an exact anchor, an address inside a prefix
// anchor, or a value containing a literal anchor.
func (e *cexpr) valueAnchors() ([]anchor, bool) {
	switch e.op {
	case ioc.OpPred:
		p := e.p
		if p.negate || p.kind >= numKinds {
			return nil, false
		}
		var out []anchor
		switch p.op {
		case ioc.PredEq, ioc.PredIn:
			for _, a := range p.addrs {
				out = append(out, anchor{class: anchorAddr, addr: a})
			}
			for _, v := range p.vals {
				out = append(out, anchor{class: anchorExact, kind: p.kind, val: string(v)})
			}
		case ioc.PredCIDR:
			if !p.ipTarget {
				return nil, false
			}
			for _, pf := range p.prefixes {
				out = append(out, anchor{class: anchorPrefix, prefix: pf})
			}
		case ioc.PredContains:
			if p.ipTarget {
				return nil, false
			}
			for _, v := range p.vals {
				if len(v) == 0 {
					return nil, false // every value contains ""
				}
				out = append(out, anchor{class: anchorLiteral, kind: p.kind, val: string(v)})
			}
		case ioc.PredRegex:
			// Every match begins with the literal prefix, so a value that
			// matches contains it.
			lit, _ := p.re.LiteralPrefix()
			if lit == "" || p.ipTarget {
				return nil, false
			}
			out = append(out, anchor{class: anchorLiteral, kind: p.kind, val: lit})
		}
		return out, len(out) > 0
	case ioc.OpAnd:
		var best []anchor
		found := false
		for _, a := range e.args {
			if an, ok := a.valueAnchors(); ok && (!found || betterAnchors(an, best)) {
				best, found = an, true
			}
		}
		return best, found
	case ioc.OpOr:
		var all []anchor
		for _, a := range e.args {
			an, ok := a.valueAnchors()
			if !ok {
				return nil, false
			}
			all = append(all, an...)
		}
		return all, true
	}
	return nil, false
}

// betterAnchors reports whether a is more selective than b: a lower worst
// class, then fewer anchors.
func betterAnchors(a, b []anchor) bool {
	ca, cb := worstClass(a), worstClass(b)
	if ca != cb {
		return ca < cb
	}
	return len(a) < len(b)
}

func worstClass(as []anchor) anchorClass {
	var c anchorClass
	for _, a := range as {
		c = max(c, a.class)
	}
	return c
}

func kindBit(k ioc.Kind) uint64 {
	if isIPKind(k) {
		return 1<<ioc.KindIPv4 | 1<<ioc.KindIPv6
	}
	if k >= numKinds {
		return 0
	}
	return 1 << k
}

// kindAnchors returns a set of kinds every satisfying event must contain
// an observable of (at least one of them).
func (e *cexpr) kindAnchors() (uint64, bool) {
	switch e.op {
	case ioc.OpPred:
		if e.p.op == ioc.PredExists && e.p.negate {
			return 0, false
		}
		return kindBit(e.p.kind), true
	case ioc.OpAnd:
		var best uint64
		found := false
		for _, a := range e.args {
			if m, ok := a.kindAnchors(); ok && (!found || bits.OnesCount64(m) < bits.OnesCount64(best)) {
				best, found = m, true
			}
		}
		return best, found
	case ioc.OpOr:
		var all uint64
		for _, a := range e.args {
			m, ok := a.kindAnchors()
			if !ok {
				return 0, false
			}
			all |= m
		}
		return all, true
	}
	return 0, false
}

// add compiles one compound indicator and indexes it.
func (c *compounds) add(ind *ioc.Indicator, st *Stats) error {
	ce, err := compileExpr(ind.Expr)
	if err != nil {
		return err
	}
	idx := int32(len(c.progs))
	c.progs = append(c.progs, compound{ind: ind, expr: ce})
	c.n++
	if ans, ok := ce.valueAnchors(); ok {
		for _, a := range ans {
			switch a.class {
			case anchorAddr:
				if c.anchorIP == nil {
					c.anchorIP = make(map[[16]byte][]int32)
				}
				k := a.addr.As16()
				c.anchorIP[k] = appendUnique(c.anchorIP[k], idx)
			case anchorExact:
				if c.anchorStr[a.kind] == nil {
					c.anchorStr[a.kind] = make(map[string][]int32)
					c.hasStrAnchors = true
				}
				c.anchorStr[a.kind][a.val] = appendUnique(c.anchorStr[a.kind][a.val], idx)
			case anchorPrefix:
				if c.prefixLists == nil {
					c.prefixLists = make(map[netip.Prefix][]int32)
				}
				c.prefixLists[a.prefix] = appendUnique(c.prefixLists[a.prefix], idx)
			case anchorLiteral:
				if c.literalLists[a.kind] == nil {
					c.literalLists[a.kind] = make(map[string][]int32)
				}
				c.literalLists[a.kind][a.val] = appendUnique(c.literalLists[a.kind][a.val], idx)
			}
		}
		st.CompoundsValueAnchored++
		return nil
	}
	if m, ok := ce.kindAnchors(); ok {
		for i := range c.byKinds {
			if c.byKinds[i].mask == m {
				c.byKinds[i].progs = append(c.byKinds[i].progs, idx)
				st.CompoundsKindAnchored++
				return nil
			}
		}
		c.byKinds = append(c.byKinds, kindGroup{mask: m, progs: []int32{idx}})
		st.CompoundsKindAnchored++
		return nil
	}
	c.unanchored = append(c.unanchored, idx)
	st.CompoundsUnanchored++
	return nil
}

// finish builds the prefix and literal anchor structures after the last
// add.
func (c *compounds) finish() {
	if len(c.prefixLists) > 0 {
		// Index the anchor prefixes in a temporary table to find each
		// one's supernets in O(depth) rather than comparing all pairs.
		all := new(bart.Table[int32])
		keys := make([]netip.Prefix, 0, len(c.prefixLists))
		for p := range c.prefixLists {
			all.Insert(p, int32(len(keys)))
			keys = append(keys, p)
		}
		c.prefixTable = new(bart.Table[int32])
		for _, p := range keys {
			// candidates of p: its own and those of every anchor prefix
			// containing it, so that one longest-prefix lookup finds all.
			cands := slices.Clone(c.prefixLists[p])
			for _, qi := range all.Supernets(p) {
				for _, x := range c.prefixLists[keys[qi]] {
					if !slices.Contains(cands, x) {
						cands = append(cands, x)
					}
				}
			}
			c.prefixTable.Insert(p, int32(len(c.prefixCands)))
			c.prefixCands = append(c.prefixCands, cands)
		}
		c.prefixLists = nil
	}
	for k, lits := range c.literalLists {
		if len(lits) == 0 {
			continue
		}
		pats := make([]string, 0, len(lits))
		for l := range lits {
			pats = append(pats, l)
		}
		slices.Sort(pats)
		c.literalAC[k] = newACMatcher(pats)
		c.literalCands[k] = make([][]int32, len(pats))
		for i, l := range pats {
			c.literalCands[k][i] = lits[l]
		}
		c.hasLiterals = true
		c.literalLists[k] = nil
	}
}

func appendUnique(s []int32, x int32) []int32 {
	if len(s) > 0 && s[len(s)-1] == x {
		return s
	}
	return append(s, x)
}

// match evaluates the compounds that are candidates for the event: those
// whose value anchor one of the observables holds, those whose anchor
// kinds are present, and the unanchored ones.
func (c *compounds) match(kinds uint64, obs []ioc.Observable, dst []Hit, start int) []Hit {
	if c.anchorIP != nil || c.hasStrAnchors || c.prefixTable != nil || c.hasLiterals {
		for i := range obs {
			dst = c.matchAnchors(&obs[i], obs, dst, start)
		}
	}
	return c.matchRest(kinds, obs, dst, start)
}

// matchAnchors evaluates the value-anchored compounds whose anchor o holds.
func (c *compounds) matchAnchors(o *ioc.Observable, obs []ioc.Observable, dst []Hit, start int) []Hit {
	if isIPKind(o.Kind) {
		if c.anchorIP == nil && c.prefixTable == nil {
			return dst
		}
		a := obsAddr(o)
		if !a.IsValid() {
			return dst
		}
		if c.anchorIP != nil {
			for _, idx := range c.anchorIP[a.As16()] {
				dst = c.evalInto(idx, obs, dst, start)
			}
		}
		if c.prefixTable != nil {
			if ci, ok := c.prefixTable.Lookup(a); ok {
				for _, idx := range c.prefixCands[ci] {
					dst = c.evalInto(idx, obs, dst, start)
				}
			}
		}
		return dst
	}
	if o.Kind >= numKinds {
		return dst
	}
	if m := c.anchorStr[o.Kind]; m != nil {
		for _, idx := range m[string(o.Value)] {
			dst = c.evalInto(idx, obs, dst, start)
		}
	}
	if ac := c.literalAC[o.Kind]; ac != nil {
		cands := c.literalCands[o.Kind]
		// Literals found twice in one value are evaluated once (up to 8
		// distinct literals are remembered; beyond, re-evaluation is
		// harmless: evalInto never adds a hit twice).
		var seen [8]int32
		nseen := 0
		ac.matchEach(o.Value, func(pat int32) {
			for _, x := range seen[:nseen] {
				if x == pat {
					return
				}
			}
			if nseen < len(seen) {
				seen[nseen] = pat
				nseen++
			}
			for _, idx := range cands[pat] {
				dst = c.evalInto(idx, obs, dst, start)
			}
		})
	}
	return dst
}

// matchRest evaluates the kind-anchored compounds whose kinds are present
// and the unanchored ones.
func (c *compounds) matchRest(kinds uint64, obs []ioc.Observable, dst []Hit, start int) []Hit {
	for i := range c.byKinds {
		g := &c.byKinds[i]
		if g.mask&kinds == 0 {
			continue
		}
		for _, idx := range g.progs {
			dst = c.evalInto(idx, obs, dst, start)
		}
	}
	for _, idx := range c.unanchored {
		dst = c.evalInto(idx, obs, dst, start)
	}
	return dst
}

func (c *compounds) evalInto(idx int32, obs []ioc.Observable, dst []Hit, start int) []Hit {
	p := &c.progs[idx]
	for i := start; i < len(dst); i++ {
		if dst[i].Indicator == p.ind {
			return dst
		}
	}
	if p.expr.eval(obs) {
		dst = append(dst, Hit{Indicator: p.ind, Obs: -1})
	}
	return dst
}
