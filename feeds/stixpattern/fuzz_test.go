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

// fuzzObservedPatterns are evaluated against every input
// FuzzObservedBundle decodes: property, reference and observation
// expressions, so decoded objects of any shape go through Match.
var fuzzObservedPatterns = []string{
	`[ipv4-addr:value = '198.51.100.1']`,
	`[network-traffic:dst_ref.value ISSUBSET '198.51.100.0/24' AND network-traffic:dst_port > 0]`,
	`[file:hashes.'SHA-256' = 'x' OR file:name LIKE '%.exe']`,
	`[x-thing:list[*] = 'b'] FOLLOWEDBY [file:name MATCHES '^a'] WITHIN 30 SECONDS`,
	`[EXISTS domain-name:resolves_to_refs[*].value] REPEATS 2 TIMES`,
}

// FuzzObservedBundle checks that ParseObservedBundle never panics for any
// input and STIX version, that what it accepts satisfies the documented
// invariants (number_observed >= 1, last_observed not before
// first_observed, Keys listing exactly the Objects), and that patterns
// evaluated against the decoded observations fail only with an
// *EvalError or ErrTooComplex.
func FuzzObservedBundle(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte(basicBundle))
	f.Add([]byte(refBundle20))
	f.Add([]byte(timeline))
	f.Add([]byte(`{"type":"observed-data","id":"observed-data--1","first_observed":"2020-01-01T00:00:00Z","last_observed":"2020-01-01T00:00:00Z","number_observed":1,"object_refs":["x--1"]}`))
	f.Add([]byte(`[{"type":"observed-data","first_observed":"2020-01-01T00:00:00Z","last_observed":"2019-01-01T00:00:00Z","number_observed":0,"objects":{"0":1}}]`))
	pats := make([]*Pattern, len(fuzzObservedPatterns))
	for i, s := range fuzzObservedPatterns {
		p, err := Parse(s)
		if err != nil {
			f.Fatalf("Parse(%q): %v", s, err)
		}
		pats[i] = p
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, version := range []string{"", "2.0", "2.1"} {
			obs, err := ParseObservedBundle(data, version)
			if err != nil {
				if obs != nil {
					t.Fatalf("version %q: error %v with a non-nil result", version, err)
				}
				continue
			}
			for i, od := range obs {
				if od.NumberObserved < 1 {
					t.Fatalf("version %q: observation %d: number_observed %d accepted", version, i, od.NumberObserved)
				}
				if od.LastObserved.Before(od.FirstObserved) {
					t.Fatalf("version %q: observation %d: last_observed before first_observed accepted", version, i)
				}
				if len(od.Keys) != len(od.Objects) {
					t.Fatalf("version %q: observation %d: %d keys for %d objects", version, i, len(od.Keys), len(od.Objects))
				}
				for _, k := range od.Keys {
					if _, ok := od.Objects[k]; !ok {
						t.Fatalf("version %q: observation %d: key %q has no object", version, i, k)
					}
				}
			}
			for _, p := range pats {
				_, err := p.match(obs, 50_000)
				var ee *EvalError
				if err != nil && !errors.As(err, &ee) && !errors.Is(err, ErrTooComplex) {
					t.Fatalf("version %q: Match(%s): unexpected error %T %v", version, p, err, err)
				}
			}
		}
	})
}
