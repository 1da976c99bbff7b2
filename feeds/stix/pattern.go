package stix

import (
	"github.com/iocmatch/iocmatch/feeds/stixpattern"
)

// DefaultTranslator parses a STIX pattern with feeds/stixpattern and
// translates it onto the engine model. A syntax error is returned as is
// (it names the offset).
func DefaultTranslator(pattern string) (Translation, error) {
	p, err := stixpattern.Parse(pattern)
	if err != nil {
		return Translation{}, err
	}
	t := stixpattern.Translate(p)
	out := Translation{Exprs: t.Exprs, NeedsCorrelation: t.NeedsCorrelation, Unsupported: t.Unsupported}
	if len(t.Atoms) > 0 {
		out.Atoms = make([]Atom, len(t.Atoms))
		for i, a := range t.Atoms {
			out.Atoms[i] = Atom{Kind: a.Kind, Value: a.Value}
		}
	}
	return out, nil
}
