package stixpattern

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// ErrTooComplex is returned (wrapped) by Match when the search for
// observations satisfying the pattern exceeds its work budget.
var ErrTooComplex = errors.New("pattern too complex to evaluate against this many observations")

// maxWork bounds the number of candidate bindings Match examines.
const maxWork = 2_000_000

// Match reports whether the pattern matches the observed-data, with the
// semantics of STIX 2.1 section 9:
//
//   - an observation expression [..] is matched by an observed-data that
//     has an object for which the comparison expression is true (every
//     comparison joined by AND holds for that same object, following
//     _ref/_refs to other objects of the same observed-data);
//   - an observed-data with number_observed n stands for n observations;
//     AND between observation expressions, FOLLOWEDBY and REPEATS need
//     distinct observations;
//   - A FOLLOWEDBY B holds when timestamps can be chosen within each
//     observed-data's [first_observed, last_observed] such that A's are no
//     later than B's (latest first_observed of A <= earliest last_observed
//     of B);
//   - WITHIN n SECONDS: all observations bound to the expression can be
//     placed within a window of n seconds (latest first_observed minus
//     earliest last_observed <= n);
//   - START s STOP e: every bound observation overlaps [s, e)
//     (first_observed < e and last_observed >= s); never true when s >= e;
//   - REPEATS n TIMES: n pairwise distinct sets of observations each
//     match the expression.
//
// Errors (*EvalError, or ErrTooComplex wrapped) name the comparison that
// could not be evaluated. Match is safe for concurrent use.
func (p *Pattern) Match(obs []*ObservedData) (bool, error) {
	return p.match(obs, maxWork)
}

// match is Match with a work budget (the number of candidate bindings
// examined before giving up with ErrTooComplex).
func (p *Pattern) match(obs []*ObservedData, budget int) (bool, error) {
	if p == nil || p.Root == nil {
		return false, errors.New("stixpattern: match: empty pattern")
	}
	m := &matcher{obs: obs, compiled: map[*Comparison]*compiled{}, budget: budget}
	for i, o := range obs {
		if o == nil {
			return false, fmt.Errorf("stixpattern: match: observed-data %d is nil", i)
		}
		if o.NumberObserved < 1 {
			return false, fmt.Errorf("stixpattern: match: observed-data %s: number_observed %d < 1", o.ID, o.NumberObserved)
		}
		if o.LastObserved.Before(o.FirstObserved) {
			return false, fmt.Errorf("stixpattern: match: observed-data %s: last_observed before first_observed", o.ID)
		}
		keys := o.Keys
		if keys == nil {
			for k := range o.Objects {
				keys = append(keys, k)
			}
			sort.Strings(keys)
		}
		m.keys = append(m.keys, keys)
	}
	if err := m.compile(p.Root); err != nil {
		return false, err
	}
	res, err := m.eval(p.Root)
	if err != nil {
		return false, err
	}
	return len(res) > 0, nil
}

type matcher struct {
	obs      []*ObservedData
	keys     [][]string
	compiled map[*Comparison]*compiled
	work     int
	budget   int
}

// compile prepares every comparison of the pattern (regexes, CIDRs,
// sets), so that a bad operand is reported whatever the data.
func (m *matcher) compile(e *ObservationExpr) error {
	if e.Op == ObsSimple {
		return m.compileCmp(e.Comparison)
	}
	for _, a := range e.Args {
		if err := m.compile(a); err != nil {
			return err
		}
	}
	return nil
}

func (m *matcher) compileCmp(c *ComparisonExpr) error {
	if c.Op == CmpLeaf {
		cc, err := compileComparison(c.Comparison)
		if err != nil {
			return err
		}
		m.compiled[c.Comparison] = cc
		return nil
	}
	for _, a := range c.Args {
		if err := m.compileCmp(a); err != nil {
			return err
		}
	}
	return nil
}

// slot is how many observations of one observed-data a binding uses.
type slot struct {
	obs int
	n   int64
}

// binding is a multiset of observations (sorted by obs). Observations of
// the same observed-data are interchangeable (they share its time
// window), so a binding records counts rather than instance identities.
type binding []slot

func (b binding) key() string {
	buf := make([]byte, 0, len(b)*12)
	for _, s := range b {
		buf = binary.AppendUvarint(buf, uint64(s.obs))
		buf = binary.AppendUvarint(buf, uint64(s.n))
	}
	return string(buf)
}

type bindingSet struct {
	list []binding
	seen map[string]struct{}
}

func (s *bindingSet) add(b binding) {
	if s.seen == nil {
		s.seen = map[string]struct{}{}
	}
	k := b.key()
	if _, ok := s.seen[k]; ok {
		return
	}
	s.seen[k] = struct{}{}
	s.list = append(s.list, b)
}

// merge adds two bindings, or returns ok=false when together they need
// more observations of an observed-data than it has.
func (m *matcher) merge(a, b binding) (binding, bool) {
	out := make(binding, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].obs < b[j].obs:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].obs < a[i].obs:
			out = append(out, b[j])
			j++
		default:
			n := a[i].n + b[j].n
			if n > m.obs[a[i].obs].NumberObserved {
				return nil, false
			}
			out = append(out, slot{a[i].obs, n})
			i++
			j++
		}
	}
	return out, true
}

func (m *matcher) latestFirst(b binding) time.Time {
	var t time.Time
	for i, s := range b {
		if f := m.obs[s.obs].FirstObserved; i == 0 || f.After(t) {
			t = f
		}
	}
	return t
}

func (m *matcher) earliestLast(b binding) time.Time {
	var t time.Time
	for i, s := range b {
		if l := m.obs[s.obs].LastObserved; i == 0 || l.Before(t) {
			t = l
		}
	}
	return t
}

// join returns the valid sums of a binding of l and one of r that pass keep.
func (m *matcher) join(l, r []binding, keep func(a, b binding) bool) ([]binding, error) {
	var out bindingSet
	for _, a := range l {
		for _, b := range r {
			m.work++
			if m.work > m.budget {
				return nil, fmt.Errorf("stixpattern: match: %w", ErrTooComplex)
			}
			if keep != nil && !keep(a, b) {
				continue
			}
			if s, ok := m.merge(a, b); ok {
				out.add(s)
			}
		}
	}
	return out.list, nil
}

// eval returns every binding (deduplicated) that satisfies e.
func (m *matcher) eval(e *ObservationExpr) ([]binding, error) {
	var res []binding
	switch e.Op {
	case ObsSimple:
		for i := range m.obs {
			ok, err := m.observationMatches(i, e.Comparison)
			if err != nil {
				return nil, err
			}
			if ok {
				res = append(res, binding{{obs: i, n: 1}})
			}
		}
	case ObsAnd, ObsOr, ObsFollowedBy:
		args := make([][]binding, len(e.Args))
		for i, a := range e.Args {
			r, err := m.eval(a)
			if err != nil {
				return nil, err
			}
			args[i] = r
		}
		switch e.Op {
		case ObsOr:
			var set bindingSet
			for _, r := range args {
				for _, b := range r {
					set.add(b)
				}
			}
			res = set.list
		case ObsAnd:
			res = args[0]
			for _, r := range args[1:] {
				var err error
				if res, err = m.join(res, r, nil); err != nil {
					return nil, err
				}
			}
		case ObsFollowedBy:
			var err error
			res, err = m.join(args[0], args[1], func(a, b binding) bool {
				return !m.latestFirst(a).After(m.earliestLast(b))
			})
			if err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("stixpattern: match: unknown observation operator %d", e.Op)
	}
	for _, q := range e.Qualifiers {
		var err error
		if res, err = m.qualify(res, q); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (m *matcher) qualify(in []binding, q Qualifier) ([]binding, error) {
	var out []binding
	switch q.Kind {
	case QualWithin:
		window := time.Duration(math.MaxInt64)
		if ns := q.Seconds * 1e9; ns < float64(math.MaxInt64) {
			window = time.Duration(math.Round(ns))
		}
		for _, b := range in {
			if m.latestFirst(b).Sub(m.earliestLast(b)) <= window {
				out = append(out, b)
			}
		}
	case QualStartStop:
		start, stop := q.Start.Time, q.Stop.Time
		if !start.Before(stop) {
			return nil, nil
		}
		for _, b := range in {
			ok := true
			for _, s := range b {
				o := m.obs[s.obs]
				if !(o.FirstObserved.Before(stop) && !o.LastObserved.Before(start)) {
					ok = false
					break
				}
			}
			if ok {
				out = append(out, b)
			}
		}
	case QualRepeats:
		if len(in) == 0 {
			return nil, nil
		}
		// n disjoint bindings need n observations at least: give up early
		// when the observed-data cannot supply them.
		var capacity int64
		used := map[int]bool{}
		for _, b := range in {
			for _, s := range b {
				if !used[s.obs] {
					used[s.obs] = true
					capacity += m.obs[s.obs].NumberObserved
				}
			}
		}
		if q.Times > capacity {
			return nil, nil
		}
		out = in
		for k := int64(2); k <= q.Times && len(out) > 0; k++ {
			var err error
			if out, err = m.join(out, in, nil); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// observationMatches reports whether observed-data i has an object for
// which the comparison expression holds. Every comparison is evaluated
// on every object of its type, so that an evaluation error surfaces
// whatever the order of the operands.
func (m *matcher) observationMatches(i int, c *ComparisonExpr) (bool, error) {
	env := objectEnv{od: m.obs[i]}
	matched := false
	for _, k := range m.keys[i] {
		obj := m.obs[i].Objects[k]
		ok, err := m.evalCmp(env, c, obj)
		if err != nil {
			return false, err
		}
		matched = matched || ok
	}
	return matched, nil
}

func (m *matcher) evalCmp(env objectEnv, c *ComparisonExpr, obj map[string]any) (bool, error) {
	switch c.Op {
	case CmpLeaf:
		if t, _ := obj["type"].(string); t != c.Comparison.Path.Type {
			return false, nil
		}
		return m.compiled[c.Comparison].test(env, obj)
	case CmpAnd:
		all := true
		for _, a := range c.Args {
			ok, err := m.evalCmp(env, a, obj)
			if err != nil {
				return false, err
			}
			all = all && ok
		}
		return all, nil
	default:
		anyOK := false
		for _, a := range c.Args {
			ok, err := m.evalCmp(env, a, obj)
			if err != nil {
				return false, err
			}
			anyOK = anyOK || ok
		}
		return anyOK, nil
	}
}
