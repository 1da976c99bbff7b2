package lists

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// ReadJSONLines reads the engine's JSON-lines model: one ioc.Indicator
// JSON object per line (the output of `iocmatch feeds pull`). Blank lines
// and lines starting with '#' are ignored. See ParseJSONLine for what is
// done to each line. Exact duplicates (same id, kind, value and
// expression) are dropped and counted; distinct indicators sharing an id
// (the atoms of one STIX indicator) are all kept.
func ReadJSONLines(r io.Reader, o Options) ([]*ioc.Indicator, Report, error) {
	var (
		rep  Report
		out  []*ioc.Indicator
		seen = make(map[string]struct{})
	)
	s := newLineScanner(r, o.Source)
	for {
		b, ok := s.next()
		if !ok {
			break
		}
		rep.Lines++
		t := bytes.TrimSpace(b)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		ind, err := ParseJSONLine(t, o)
		if err != nil {
			rep.skip(s.line, err)
			continue
		}
		key := ind.ID + "\x00" + ind.Kind.String() + "\x00" + ind.Value
		if ind.Expr != nil {
			key += "\x00" + ind.Expr.String()
		}
		if _, dup := seen[key]; dup {
			rep.Duplicates++
			continue
		}
		seen[key] = struct{}{}
		rep.count(ind)
		out = append(out, ind)
	}
	return out, rep, s.err()
}

// ParseJSONLine decodes one indicator: the value is normalised for its
// kind (which may refine the kind, e.g. "ip" with an IPv6 value), the
// values of compound predicates are normalised for their target kinds,
// a missing id becomes ID(feed, kind, value) (CompoundID for compound
// ones), a missing feed becomes o.Feed and a missing confidence
// o.Confidence. The result passes Validate or an error says why.
func ParseJSONLine(line []byte, o Options) (*ioc.Indicator, error) {
	var ind ioc.Indicator
	if err := json.Unmarshal(line, &ind); err != nil {
		return nil, fmt.Errorf("not an indicator JSON object: %w", err)
	}
	if err := Finish(&ind, o); err != nil {
		return nil, err
	}
	return &ind, nil
}

// Finish completes and normalises a decoded indicator as ParseJSONLine
// describes. Exported for the other readers of the engine model.
func Finish(ind *ioc.Indicator, o Options) error {
	switch {
	case ind.Kind == ioc.KindInvalid:
		return errors.New("missing kind")
	case ind.Kind == ioc.KindCompound:
		if ind.Expr == nil {
			return errors.New("compound indicator without expr")
		}
		if err := NormalizeExpr(ind.Expr); err != nil {
			return err
		}
		ind.Value = ""
	case ind.Kind.IsAtomic():
		if ind.Expr != nil {
			return fmt.Errorf("%s indicator with an expr (only compound ones have one)", ind.Kind)
		}
		k, v, err := ioc.Normalize(ind.Kind, ind.Value)
		if err != nil {
			return err
		}
		ind.Kind, ind.Value = k, v
	default:
		return fmt.Errorf("kind %s cannot be an indicator", ind.Kind)
	}
	if ind.Feed == "" {
		ind.Feed = o.Feed
	}
	if ind.ID == "" {
		if ind.Kind == ioc.KindCompound {
			ind.ID = CompoundID(ind.Feed, ind.Expr)
		} else {
			ind.ID = ID(ind.Feed, ind.Kind, ind.Value)
		}
	}
	if ind.Confidence == 0 {
		ind.Confidence = o.Confidence
	}
	return ind.Validate()
}

// NormalizeExpr normalises, in place, the values of the equality and
// membership predicates of e for their target kinds and masks CIDR
// prefixes. Substring, regular-expression and numeric operands are left
// as written. An operand that is not a valid value of its target kind is
// an error naming it.
func NormalizeExpr(e *ioc.Expr) error {
	if e == nil {
		return errors.New("nil expression")
	}
	if e.Op != ioc.OpPred {
		for _, a := range e.Args {
			if err := NormalizeExpr(a); err != nil {
				return err
			}
		}
		return e.Validate()
	}
	p := e.Pred
	if p == nil {
		return errors.New("predicate node without predicate")
	}
	switch p.Op {
	case ioc.PredEq, ioc.PredIn:
		for i, v := range p.Values {
			_, nv, err := ioc.Normalize(p.Target.Kind, v)
			if err != nil {
				return fmt.Errorf("predicate on %s: %w", p.Target, err)
			}
			p.Values[i] = nv
		}
	case ioc.PredCIDR:
		for i, pf := range p.Prefixes {
			if !pf.IsValid() {
				return fmt.Errorf("predicate cidr on %s: invalid prefix", p.Target)
			}
			q, err := ioc.ParsePrefix(pf.String())
			if err != nil {
				return fmt.Errorf("predicate cidr on %s: %w", p.Target, err)
			}
			p.Prefixes[i] = q
		}
	}
	return e.Validate()
}
