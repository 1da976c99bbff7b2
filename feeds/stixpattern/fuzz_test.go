package stixpattern

import (
	"errors"
	"reflect"
	"testing"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
)

// FuzzPatternParse checks that Parse never panics, that errors are
// *SyntaxError values with an offset inside the input, and that accepted
// patterns round-trip through String and translate without panicking.
func FuzzPatternParse(f *testing.F) {
	fuzzseed.Add(f)
	for _, s := range specExamples {
		f.Add([]byte(s))
	}
	f.Add([]byte(`[a:b = 'x\'y\\z'] WITHIN .5 SECONDS`))
	f.Add([]byte(`[a:'-'[-1][*].'\'' NOT ISSUPERSET '::/0']`))
	f.Fuzz(func(t *testing.T, data []byte) {
		src := string(data)
		p, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T %v is not a *SyntaxError", src, err, err)
			}
			if se.Pos < 0 || se.Pos > len(src) {
				t.Fatalf("Parse(%q) error offset %d outside the input", src, se.Pos)
			}
			return
		}
		s := p.String()
		q, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its rendering %q does not parse: %v", src, s, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip of %q through %q changed the pattern", src, s)
		}
		if s2 := q.String(); s2 != s {
			t.Fatalf("rendering not stable: %q then %q", s, s2)
		}
		tr := Translate(p)
		for _, e := range tr.Exprs {
			if err := e.Validate(); err != nil {
				t.Fatalf("Translate(%q) produced an invalid expression %s: %v", src, e, err)
			}
		}
	})
}

// fuzzObserved is the observed-data FuzzPatternEval evaluates against.
const fuzzObserved = `[` + basicBundle + `,` + refBundle20 + `,` + timeline + `]`

// FuzzPatternEval checks that evaluating any valid pattern against a
// fixed set of observed-data never panics and fails only with an
// *EvalError or ErrTooComplex.
func FuzzPatternEval(f *testing.F) {
	fuzzseed.Add(f)
	for _, s := range specExamples {
		f.Add([]byte(s))
	}
	f.Add([]byte(`[x-thing:list[*] = 'b'] AND [file:name = 'a.exe'] REPEATS 2 TIMES`))
	f.Add([]byte(`[file:name = 'a.exe'] FOLLOWEDBY [file:name = 'b.exe'] WITHIN 30 SECONDS`))
	f.Add([]byte(`[network-traffic:dst_ref.value ISSUBSET '203.0.113.0/24']`))
	obs, err := ParseObservedBundle([]byte(fuzzObserved), "")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(string(data))
		if err != nil {
			return
		}
		_, err = p.match(obs, 50_000)
		var ee *EvalError
		if err != nil && !errors.As(err, &ee) && !errors.Is(err, ErrTooComplex) {
			t.Fatalf("Match(%s): unexpected error %T %v", p, err, err)
		}
	})
}
