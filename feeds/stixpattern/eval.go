package stixpattern

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// EvalError is a pattern that cannot be evaluated against the given
// observed-data: a MATCHES regex RE2 does not support, a set mixing
// types, an invalid CIDR operand, a timestamp literal compared with a
// string that is not a timestamp, a malformed reference.
type EvalError struct {
	Comparison string // the comparison being evaluated, canonical form
	Msg        string
}

// Error returns "<comparison>: <message>".
func (e *EvalError) Error() string { return e.Comparison + ": " + e.Msg }

// compiled is a comparison prepared for evaluation.
type compiled struct {
	c      *Comparison
	re     *regexp.Regexp // LIKE, MATCHES
	reBin  *regexp.Regexp // MATCHES on binary values (nil: pattern has code points >= 256)
	likeOK bool           // LIKE on binary: pattern is binary-convertible
	pfx    netip.Prefix   // ISSUBSET / ISSUPERSET operand
	set    []Literal      // IN
}

func compileComparison(c *Comparison) (*compiled, error) {
	cc := &compiled{c: c}
	fail := func(format string, args ...any) error {
		return &EvalError{Comparison: c.String(), Msg: fmt.Sprintf(format, args...)}
	}
	switch c.Op {
	case OpIn:
		if err := checkHomogeneous(c); err != nil {
			return nil, fail("set literal must hold values of one type")
		}
		cc.set = c.Set
	case OpLike:
		body := likeBody(c.Value.Str)
		re, err := regexp.Compile(`(?s)^(?:` + body + `)$`)
		if err != nil {
			return nil, fail("LIKE pattern: %v", err)
		}
		cc.re = re
		cc.likeOK = latin1Only(norm.NFC.String(c.Value.Str))
	case OpMatches:
		src := norm.NFC.String(c.Value.Str)
		re, err := regexp.Compile(src)
		if err != nil {
			return nil, fail("regular expression not supported by RE2 (Go regexp): %v", err)
		}
		cc.re = re
		if latin1Only(src) {
			cc.reBin = re
		}
	case OpIsSubset, OpIsSuperset:
		p, err := parseCIDR(c.Value.Str)
		if err != nil {
			return nil, fail("%v", err)
		}
		cc.pfx = p
	}
	return cc, nil
}

func latin1Only(s string) bool {
	for _, r := range s {
		if r >= 256 {
			return false
		}
	}
	return true
}

// latin1 maps bytes to the string of the code points of the same values,
// the way STIX compares binary values with strings.
func latin1(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// latin1Bytes returns the bytes of a string whose code points are all
// below 256, or ok=false.
func latin1Bytes(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r >= 256 {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}

// objectEnv is one observation being evaluated.
type objectEnv struct {
	od *ObservedData
}

// values returns the values the path selects from root (an object of the
// path's type): keys step into dictionaries, [n] and [*] into lists, and
// _ref/_refs properties are replaced by the referenced objects of the same
// observation. Properties ending in _hex or _bin are decoded to bytes.
func (env objectEnv) values(root map[string]any, path ObjectPath, cmp string) ([]any, error) {
	cur := []any{root}
	for _, s := range path.Steps {
		var next []any
		switch s.Kind {
		case StepKey:
			for _, v := range cur {
				m, ok := v.(map[string]any)
				if !ok {
					continue
				}
				x, ok := m[s.Key]
				if !ok {
					continue
				}
				x, err := decodeSuffixed(s.Key, x)
				if err != nil {
					return nil, &EvalError{cmp, err.Error()}
				}
				switch {
				case strings.HasSuffix(s.Key, "_ref"):
					id, ok := x.(string)
					if !ok {
						return nil, &EvalError{cmp, fmt.Sprintf("reference property %s is not a string (got %s)", s.Key, jsonType(x))}
					}
					if obj, ok := env.od.Objects[id]; ok {
						next = append(next, obj)
					}
				case strings.HasSuffix(s.Key, "_refs"):
					list, ok := x.([]any)
					if !ok {
						return nil, &EvalError{cmp, fmt.Sprintf("reference list property %s is not a list (got %s)", s.Key, jsonType(x))}
					}
					var objs []any
					for _, r := range list {
						id, ok := r.(string)
						if !ok {
							return nil, &EvalError{cmp, fmt.Sprintf("a value of reference list property %s is not a string (got %s)", s.Key, jsonType(r))}
						}
						if obj, ok := env.od.Objects[id]; ok {
							objs = append(objs, obj)
						}
					}
					if len(objs) > 0 {
						next = append(next, objs)
					}
				default:
					next = append(next, x)
				}
			}
		case StepIndex:
			for _, v := range cur {
				l, ok := v.([]any)
				if !ok {
					continue
				}
				i := s.Index
				if i < 0 {
					i += int64(len(l))
				}
				if i >= 0 && i < int64(len(l)) {
					next = append(next, l[i])
				}
			}
		case StepAny:
			for _, v := range cur {
				if l, ok := v.([]any); ok {
					next = append(next, l...)
				}
			}
		}
		if len(next) == 0 {
			return nil, nil
		}
		cur = next
	}
	return cur, nil
}

// decodeSuffixed decodes the value of a property named *_hex (hex) or
// *_bin (base64) to bytes.
func decodeSuffixed(key string, v any) (any, error) {
	s, isStr := v.(string)
	switch {
	case strings.HasSuffix(key, "_hex"):
		if !isStr {
			return v, nil
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("property %s: invalid hex: %v", key, err)
		}
		return b, nil
	case strings.HasSuffix(key, "_bin"):
		if !isStr {
			return v, nil
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("property %s: invalid base64: %v", key, err)
		}
		return b, nil
	}
	return v, nil
}

// test evaluates the comparison on the object root: some selected value
// passes (with NOT applied per value).
func (cc *compiled) test(env objectEnv, root map[string]any) (bool, error) {
	c := cc.c
	cmp := c.String
	vals, err := env.values(root, c.Path, "")
	if err != nil {
		if ee, ok := err.(*EvalError); ok {
			ee.Comparison = cmp()
		}
		return false, err
	}
	if c.Op == OpExists {
		return len(vals) > 0, nil
	}
	for _, v := range vals {
		ok, err := cc.testValue(v)
		if err != nil {
			return false, &EvalError{Comparison: cmp(), Msg: err.Error()}
		}
		if ok != c.Negated {
			return true, nil
		}
	}
	return false, nil
}

// testValue is the positive test (before NOT) on one value. != is the
// negation of =.
func (cc *compiled) testValue(v any) (bool, error) {
	c := cc.c
	switch c.Op {
	case OpEq, OpNeq:
		eq, err := equal(c.Value, v)
		if err != nil {
			return false, err
		}
		return eq == (c.Op == OpEq), nil
	case OpLt, OpLe, OpGt, OpGe:
		r, ok, err := order(v, c.Value)
		if err != nil || !ok {
			return false, err
		}
		switch c.Op {
		case OpLt:
			return r < 0, nil
		case OpLe:
			return r <= 0, nil
		case OpGt:
			return r > 0, nil
		default:
			return r >= 0, nil
		}
	case OpIn:
		for _, m := range cc.set {
			eq, err := equal(m, v)
			if err != nil {
				return false, err
			}
			if eq {
				return true, nil
			}
		}
		return false, nil
	case OpLike:
		switch x := v.(type) {
		case string:
			return cc.re.MatchString(norm.NFC.String(x)), nil
		case []byte:
			if cc.likeOK && utf8.Valid(x) {
				return cc.re.MatchString(norm.NFC.String(string(x))), nil
			}
		}
		return false, nil
	case OpMatches:
		switch x := v.(type) {
		case string:
			return cc.re.MatchString(norm.NFC.String(x)), nil
		case []byte:
			if cc.reBin != nil {
				return cc.reBin.MatchString(latin1(x)), nil
			}
		}
		return false, nil
	case OpIsSubset, OpIsSuperset:
		s, ok := v.(string)
		if !ok {
			return false, nil
		}
		p, err := parseCIDR(s)
		if err != nil {
			return false, nil
		}
		if c.Op == OpIsSubset {
			return prefixContains(cc.pfx, p), nil
		}
		return prefixContains(p, cc.pfx), nil
	}
	return false, fmt.Errorf("operator %s not supported", c.Op)
}

// prefixContains reports whether outer contains all of inner.
func prefixContains(outer, inner netip.Prefix) bool {
	if outer.Addr().Is4() != inner.Addr().Is4() {
		return false
	}
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

// number is a JSON or literal number: an exact integer when it has one.
type number struct {
	isInt bool
	i     *big.Int
	f     float64
}

func jsonNumber(n json.Number) (number, bool) {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		i, ok := new(big.Int).SetString(s, 10)
		if ok {
			return number{isInt: true, i: i}, true
		}
	}
	f, err := n.Float64()
	if err != nil && !math.IsInf(f, 0) {
		return number{}, false
	}
	return number{f: f}, true
}

func literalNumber(l Literal) (number, bool) {
	switch l.Kind {
	case LitInt:
		return number{isInt: true, i: big.NewInt(l.Int)}, true
	case LitFloat:
		return number{f: l.Float}, true
	}
	return number{}, false
}

// cmpNumbers compares exactly (integers as integers, mixed as floats via
// big.Float so that large integers are not rounded).
func cmpNumbers(a, b number) int {
	if a.isInt && b.isInt {
		return a.i.Cmp(b.i)
	}
	fa, fb := a.bigFloat(), b.bigFloat()
	if fa == nil || fb == nil { // NaN cannot occur; infinities compare by sign
		return 0
	}
	return fa.Cmp(fb)
}

func (n number) bigFloat() *big.Float {
	if n.isInt {
		return new(big.Float).SetInt(n.i)
	}
	if math.IsNaN(n.f) {
		return nil
	}
	return big.NewFloat(n.f)
}

// equal reports whether value v equals literal l. Values of types that
// do not compare (a string and a number, a list and anything) are not
// equal. A string compared with a timestamp literal must be a timestamp.
func equal(l Literal, v any) (bool, error) {
	switch l.Kind {
	case LitInt, LitFloat:
		n, ok := v.(json.Number)
		if !ok {
			return false, nil
		}
		a, ok1 := literalNumber(l)
		b, ok2 := jsonNumber(n)
		return ok1 && ok2 && cmpNumbers(a, b) == 0, nil
	case LitString:
		switch x := v.(type) {
		case string:
			return x == l.Str, nil
		case []byte:
			b, ok := latin1Bytes(l.Str)
			return ok && bytes.Equal(b, x), nil
		}
		return false, nil
	case LitBool:
		b, ok := v.(bool)
		return ok && b == l.Bool, nil
	case LitBinary, LitHex:
		switch x := v.(type) {
		case []byte:
			return bytes.Equal(x, l.Bytes), nil
		case string:
			b, ok := latin1Bytes(x)
			return ok && bytes.Equal(b, l.Bytes), nil
		}
		return false, nil
	case LitTimestamp:
		s, ok := v.(string)
		if !ok {
			return false, nil
		}
		t, err := parseTimestamp(s)
		if err != nil {
			return false, fmt.Errorf("value %q compared with a timestamp is not a STIX timestamp: %v", s, err)
		}
		return t.Equal(l.Time), nil
	}
	return false, nil
}

// order compares value v with literal l: r < 0 when v < l. ok is false
// when the two do not order (then every ordering comparison is false).
func order(v any, l Literal) (r int, ok bool, err error) {
	switch l.Kind {
	case LitInt, LitFloat:
		n, isNum := v.(json.Number)
		if !isNum {
			return 0, false, nil
		}
		a, ok1 := jsonNumber(n)
		b, _ := literalNumber(l)
		if !ok1 {
			return 0, false, nil
		}
		return cmpNumbers(a, b), true, nil
	case LitString:
		switch x := v.(type) {
		case string:
			return strings.Compare(x, l.Str), true, nil
		case []byte:
			b, ok := latin1Bytes(l.Str)
			if !ok {
				return 0, false, nil
			}
			return bytes.Compare(x, b), true, nil
		}
	case LitBinary, LitHex:
		switch x := v.(type) {
		case []byte:
			return bytes.Compare(x, l.Bytes), true, nil
		case string:
			b, ok := latin1Bytes(x)
			if !ok {
				return 0, false, nil
			}
			return bytes.Compare(b, l.Bytes), true, nil
		}
	case LitTimestamp:
		s, isStr := v.(string)
		if !isStr {
			return 0, false, nil
		}
		t, err := parseTimestamp(s)
		if err != nil {
			return 0, false, fmt.Errorf("value %q compared with a timestamp is not a STIX timestamp: %v", s, err)
		}
		return t.Compare(l.Time), true, nil
	}
	return 0, false, nil
}
