package stixpattern

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"
)

// The reference below evaluates observation expressions the slow,
// literal way of the specification (and the OASIS matcher): every
// observed-data with number_observed n is n distinct observation
// instances, bindings are sets of instances, AND/FOLLOWEDBY/REPEATS need
// disjoint instance sets. Match counts observations per observed-data
// instead; the two must agree.

type inst struct{ obs, i int }

type refBinding []inst // sorted

func (b refBinding) key() string {
	var sb strings.Builder
	for _, x := range b {
		fmt.Fprintf(&sb, "%d.%d,", x.obs, x.i)
	}
	return sb.String()
}

func disjoint(a, b refBinding) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return false
			}
		}
	}
	return true
}

func union(a, b refBinding) refBinding {
	out := append(append(refBinding{}, a...), b...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].obs != out[j].obs {
			return out[i].obs < out[j].obs
		}
		return out[i].i < out[j].i
	})
	return out
}

type refEval struct{ obs []*ObservedData }

func (r refEval) latestFirst(b refBinding) time.Time {
	var t time.Time
	for k, x := range b {
		if f := r.obs[x.obs].FirstObserved; k == 0 || f.After(t) {
			t = f
		}
	}
	return t
}

func (r refEval) earliestLast(b refBinding) time.Time {
	var t time.Time
	for k, x := range b {
		if l := r.obs[x.obs].LastObserved; k == 0 || l.Before(t) {
			t = l
		}
	}
	return t
}

func dedup(in []refBinding) []refBinding {
	seen := map[string]bool{}
	var out []refBinding
	for _, b := range in {
		if k := b.key(); !seen[k] {
			seen[k] = true
			out = append(out, b)
		}
	}
	return out
}

func (r refEval) eval(t *testing.T, e *ObservationExpr) []refBinding {
	var res []refBinding
	switch e.Op {
	case ObsSimple:
		for i, o := range r.obs {
			m, err := (&Pattern{Root: &ObservationExpr{Op: ObsSimple, Comparison: e.Comparison}}).Match([]*ObservedData{o})
			if err != nil {
				t.Fatal(err)
			}
			if m {
				for k := 0; k < int(o.NumberObserved); k++ {
					res = append(res, refBinding{{i, k}})
				}
			}
		}
	case ObsOr:
		for _, a := range e.Args {
			res = append(res, r.eval(t, a)...)
		}
	case ObsAnd:
		res = r.eval(t, e.Args[0])
		for _, a := range e.Args[1:] {
			right := r.eval(t, a)
			var next []refBinding
			for _, x := range res {
				for _, y := range right {
					if disjoint(x, y) {
						next = append(next, union(x, y))
					}
				}
			}
			res = dedup(next)
		}
	case ObsFollowedBy:
		left, right := r.eval(t, e.Args[0]), r.eval(t, e.Args[1])
		for _, x := range left {
			for _, y := range right {
				if disjoint(x, y) && !r.latestFirst(x).After(r.earliestLast(y)) {
					res = append(res, union(x, y))
				}
			}
		}
	}
	res = dedup(res)
	for _, q := range e.Qualifiers {
		var out []refBinding
		switch q.Kind {
		case QualWithin:
			for _, b := range res {
				if r.latestFirst(b).Sub(r.earliestLast(b)) <= time.Duration(q.Seconds*1e9) {
					out = append(out, b)
				}
			}
		case QualStartStop:
			for _, b := range res {
				ok := q.Start.Time.Before(q.Stop.Time)
				for _, x := range b {
					o := r.obs[x.obs]
					ok = ok && o.FirstObserved.Before(q.Stop.Time) && !o.LastObserved.Before(q.Start.Time)
				}
				if ok {
					out = append(out, b)
				}
			}
		case QualRepeats:
			out = combos(res, int(q.Times))
		}
		res = dedup(out)
	}
	return res
}

// combos returns the unions of every n pairwise-disjoint bindings of in.
func combos(in []refBinding, n int) []refBinding {
	var out []refBinding
	var rec func(start int, acc refBinding, left int)
	rec = func(start int, acc refBinding, left int) {
		if left == 0 {
			out = append(out, acc)
			return
		}
		for i := start; i < len(in); i++ {
			if disjoint(acc, in[i]) {
				rec(i+1, union(acc, in[i]), left-1)
			}
		}
	}
	rec(0, nil, n)
	return out
}

// randomObservations builds observed-data with one x object each.
func randomObservations(r *rand.Rand, n int) []*ObservedData {
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	var objs []string
	for i := 0; i < n; i++ {
		first := base.Add(time.Duration(r.IntN(20)) * time.Second)
		last := first.Add(time.Duration(r.IntN(3)*r.IntN(6)) * time.Second)
		objs = append(objs, fmt.Sprintf(`{"type": "observed-data", "id": "observed-data--%d", "number_observed": %d, "first_observed": %q, "last_observed": %q, "objects": {"0": {"type": "x", "v": %d}}}`,
			i, 1+r.IntN(2), first.Format(time.RFC3339), last.Format(time.RFC3339), r.IntN(3)))
	}
	od, err := ParseObservedBundle([]byte("["+strings.Join(objs, ",")+"]"), "2.0")
	if err != nil {
		panic(err)
	}
	return od
}

// randomObsPattern renders a random observation expression over [x:v = k].
func randomObsPattern(r *rand.Rand, depth int) string {
	var s string
	if depth == 0 || r.IntN(3) == 0 {
		s = fmt.Sprintf("[x:v = %d]", r.IntN(3))
	} else {
		op := []string{"AND", "OR", "FOLLOWEDBY"}[r.IntN(3)]
		s = "(" + randomObsPattern(r, depth-1) + " " + op + " " + randomObsPattern(r, depth-1) + ")"
	}
	switch r.IntN(6) {
	case 0:
		s += fmt.Sprintf(" WITHIN %d SECONDS", 1+r.IntN(10))
	case 1:
		s += fmt.Sprintf(" REPEATS %d TIMES", 1+r.IntN(3))
	case 2:
		a := r.IntN(20)
		b := a + r.IntN(10)
		s += fmt.Sprintf(" START t'2020-01-01T00:00:%02dZ' STOP t'2020-01-01T00:00:%02dZ'", a, b)
	}
	return s
}

func TestMatchAgainstInstanceReference(t *testing.T) {
	r := rand.New(rand.NewPCG(20261203, 1))
	agree, matched := 0, 0
	for i := 0; i < 3000; i++ {
		obs := randomObservations(r, 1+r.IntN(4))
		src := randomObsPattern(r, 3)
		p, err := Parse(src)
		if err != nil {
			t.Fatalf("Parse(%s): %v", src, err)
		}
		got, err := p.Match(obs)
		if err != nil {
			t.Fatalf("Match(%s): %v", src, err)
		}
		want := len(refEval{obs}.eval(t, p.Root)) > 0
		if got != want {
			data, _ := json.Marshal(obs)
			t.Fatalf("Match(%s) = %v, reference %v\nobserved: %s", src, got, want, data)
		}
		agree++
		if got {
			matched++
		}
	}
	if matched < agree/10 || matched > agree*9/10 {
		t.Errorf("only %d of %d random cases matched: the generator does not exercise both outcomes", matched, agree)
	}
}
