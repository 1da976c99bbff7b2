package stixpattern

import (
	"fmt"
	"strings"
)

// maxDepth bounds the nesting of parentheses and brackets so that a
// hostile pattern cannot exhaust the stack.
const maxDepth = 200

// maxPatternLen bounds the size of a pattern accepted by Parse.
const maxPatternLen = 1 << 20

// Parse parses a STIX 2.1 pattern. Errors are *SyntaxError values naming
// the byte offset and what was expected. Parse never panics.
//
// Beyond the grammar, Parse enforces the constraints the specification
// states for literals and qualifiers: timestamps must be valid dates,
// WITHIN takes a positive number of seconds and REPEATS a positive count.
func Parse(src string) (*Pattern, error) {
	if len(src) > maxPatternLen {
		return nil, &SyntaxError{0, fmt.Sprintf("pattern of %d bytes is too long (max %d)", len(src), maxPatternLen)}
	}
	p := &parser{lex: lexer{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tEOF {
		return nil, &SyntaxError{0, "empty pattern: expected '[' or '('"}
	}
	root, err := p.followedBy()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.unexpected(expectAfterObservation(p.tok))
	}
	return &Pattern{Root: root}, nil
}

// MustParse is Parse for patterns known to be valid (tests, examples,
// constants); it panics on error.
func MustParse(src string) *Pattern {
	p, err := Parse(src)
	if err != nil {
		panic(fmt.Sprintf("stixpattern: MustParse(%q): %v", src, err))
	}
	return p
}

type parser struct {
	lex   lexer
	tok   token
	depth int
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) isKeyword(kw string) bool { return p.tok.kind == tKeyword && p.tok.text == kw }

func (p *parser) unexpected(expected string) error {
	return &SyntaxError{p.tok.pos, fmt.Sprintf("expected %s, found %s", expected, p.tok.describe())}
}

func (p *parser) expect(k tokKind, what string) error {
	if p.tok.kind != k {
		return p.unexpected(what)
	}
	return p.advance()
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return &SyntaxError{p.tok.pos, fmt.Sprintf("nesting deeper than %d levels", maxDepth)}
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func expectAfterObservation(t token) string {
	if t.kind == tKeyword {
		switch t.text {
		case "WITHIN", "REPEATS", "START", "AND", "OR", "FOLLOWEDBY":
		default:
			return "AND, OR, FOLLOWEDBY or a qualifier (WITHIN, REPEATS, START)"
		}
	}
	return "AND, OR, FOLLOWEDBY, a qualifier (WITHIN, REPEATS, START) or end of pattern"
}

// nary parses operand (kw operand)*, the grammar of both the observation
// and the comparison AND/OR levels. A lone operand is returned as is; two
// or more become, in order, the arguments of the node made by newNode
// (added with addArg, which splices same-operator operands).
func nary[E interface{ addArg(E) }](p *parser, kw string, operand func() (E, error), newNode func() E) (E, error) {
	var zero E
	first, err := operand()
	if err != nil {
		return zero, err
	}
	if !p.isKeyword(kw) {
		return first, nil
	}
	n := newNode()
	n.addArg(first)
	for p.isKeyword(kw) {
		if err := p.advance(); err != nil {
			return zero, err
		}
		a, err := operand()
		if err != nil {
			return zero, err
		}
		n.addArg(a)
	}
	return n, nil
}

// followedBy: orExpr (FOLLOWEDBY orExpr)*, left-associative.
func (p *parser) followedBy() (*ObservationExpr, error) {
	left, err := p.obsOr()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("FOLLOWEDBY") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		right, err := p.obsOr()
		if err != nil {
			return nil, err
		}
		left = &ObservationExpr{Op: ObsFollowedBy, Args: []*ObservationExpr{left, right}}
	}
	return left, nil
}

func (p *parser) obsOr() (*ObservationExpr, error) {
	return nary(p, "OR", p.obsAnd, func() *ObservationExpr { return &ObservationExpr{Op: ObsOr} })
}

func (p *parser) obsAnd() (*ObservationExpr, error) {
	return nary(p, "AND", p.obsPrimary, func() *ObservationExpr { return &ObservationExpr{Op: ObsAnd} })
}

// addArg appends a to n's arguments, splicing in the arguments of an
// unqualified node of the same (associative) operator.
func (n *ObservationExpr) addArg(a *ObservationExpr) {
	if a.Op == n.Op && len(a.Qualifiers) == 0 && (n.Op == ObsAnd || n.Op == ObsOr) {
		n.Args = append(n.Args, a.Args...)
		return
	}
	n.Args = append(n.Args, a)
}

// enclosed parses an opening bracket (the current token), inner, and the
// closing token close (named want in the error when it is missing).
func enclosed[T any](p *parser, close tokKind, want string, inner func() (T, error)) (T, error) {
	var zero T
	if err := p.advance(); err != nil {
		return zero, err
	}
	v, err := inner()
	if err != nil {
		return zero, err
	}
	if p.tok.kind != close {
		return zero, p.unexpected(want)
	}
	if err := p.advance(); err != nil {
		return zero, err
	}
	return v, nil
}

// obsPrimary: ('[' comparison ']' | '(' followedBy ')') qualifier*
func (p *parser) obsPrimary() (*ObservationExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	var e *ObservationExpr
	switch p.tok.kind {
	case tLBrack:
		c, err := enclosed(p, tRBrack, "']'", p.cmpOr)
		if err != nil {
			return nil, err
		}
		e = &ObservationExpr{Op: ObsSimple, Comparison: c}
	case tLParen:
		inner, err := enclosed(p, tRParen, "')'", p.followedBy)
		if err != nil {
			return nil, err
		}
		e = inner
	default:
		return nil, p.unexpected("'[' or '('")
	}
	for {
		q, ok, err := p.qualifier()
		if err != nil {
			return nil, err
		}
		if !ok {
			return e, nil
		}
		e.Qualifiers = append(e.Qualifiers, q)
	}
}

func (p *parser) qualifier() (Qualifier, bool, error) {
	if p.tok.kind != tKeyword {
		return Qualifier{}, false, nil
	}
	switch p.tok.text {
	case "WITHIN":
		if err := p.advance(); err != nil {
			return Qualifier{}, false, err
		}
		t := p.tok
		var secs float64
		switch t.kind {
		case tInt:
			secs = float64(t.lit.Int)
		case tFloat:
			secs = t.lit.Float
		default:
			return Qualifier{}, false, p.unexpected("a positive number of seconds")
		}
		if secs <= 0 || strings.HasPrefix(t.text, "-") {
			return Qualifier{}, false, &SyntaxError{t.pos, fmt.Sprintf("WITHIN %s: the number of seconds must be positive", t.text)}
		}
		if err := p.advance(); err != nil {
			return Qualifier{}, false, err
		}
		if !p.isKeyword("SECONDS") {
			return Qualifier{}, false, p.unexpected("SECONDS")
		}
		if err := p.advance(); err != nil {
			return Qualifier{}, false, err
		}
		return Qualifier{Kind: QualWithin, Seconds: secs}, true, nil
	case "REPEATS":
		if err := p.advance(); err != nil {
			return Qualifier{}, false, err
		}
		t := p.tok
		if t.kind != tInt || strings.HasPrefix(t.text, "-") {
			return Qualifier{}, false, p.unexpected("a positive integer")
		}
		if t.lit.Int < 1 {
			return Qualifier{}, false, &SyntaxError{t.pos, fmt.Sprintf("REPEATS %s: the count must be at least 1", t.text)}
		}
		if err := p.advance(); err != nil {
			return Qualifier{}, false, err
		}
		if !p.isKeyword("TIMES") {
			return Qualifier{}, false, p.unexpected("TIMES")
		}
		if err := p.advance(); err != nil {
			return Qualifier{}, false, err
		}
		return Qualifier{Kind: QualRepeats, Times: t.lit.Int}, true, nil
	case "START":
		if err := p.advance(); err != nil {
			return Qualifier{}, false, err
		}
		if p.tok.kind != tTimestamp {
			return Qualifier{}, false, p.unexpected("a timestamp literal t'...'")
		}
		start := p.tok.lit
		if err := p.advance(); err != nil {
			return Qualifier{}, false, err
		}
		if !p.isKeyword("STOP") {
			return Qualifier{}, false, p.unexpected("STOP")
		}
		if err := p.advance(); err != nil {
			return Qualifier{}, false, err
		}
		if p.tok.kind != tTimestamp {
			return Qualifier{}, false, p.unexpected("a timestamp literal t'...'")
		}
		stop := p.tok.lit
		if err := p.advance(); err != nil {
			return Qualifier{}, false, err
		}
		return Qualifier{Kind: QualStartStop, Start: start, Stop: stop}, true, nil
	}
	return Qualifier{}, false, nil
}

func (p *parser) cmpOr() (*ComparisonExpr, error) {
	return nary(p, "OR", p.cmpAnd, func() *ComparisonExpr { return &ComparisonExpr{Op: CmpOr} })
}

func (p *parser) cmpAnd() (*ComparisonExpr, error) {
	return nary(p, "AND", p.propTest, func() *ComparisonExpr { return &ComparisonExpr{Op: CmpAnd} })
}

func (n *ComparisonExpr) addArg(a *ComparisonExpr) {
	if a.Op == n.Op {
		n.Args = append(n.Args, a.Args...)
		return
	}
	n.Args = append(n.Args, a)
}

// propTest: '(' cmpOr ')' | EXISTS path | path NOT? op operand
func (p *parser) propTest() (*ComparisonExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	switch {
	case p.tok.kind == tLParen:
		return enclosed(p, tRParen, "')'", p.cmpOr)
	case p.isKeyword("EXISTS"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		path, err := p.objectPath()
		if err != nil {
			return nil, err
		}
		return &ComparisonExpr{Op: CmpLeaf, Comparison: &Comparison{Path: path, Op: OpExists}}, nil
	case p.tok.kind == tIdent:
	default:
		return nil, p.unexpected("an object path (type:property), EXISTS or '('")
	}
	path, err := p.objectPath()
	if err != nil {
		return nil, err
	}
	c := &Comparison{Path: path}
	if p.isKeyword("NOT") {
		c.Negated = true
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	opTok := p.tok
	switch {
	case opTok.kind == tEq, opTok.kind == tNeq:
		c.Op = OpEq
		if opTok.kind == tNeq {
			c.Op = OpNeq
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if c.Value, err = p.literal(true); err != nil {
			return nil, err
		}
	case opTok.kind == tLt, opTok.kind == tLe, opTok.kind == tGt, opTok.kind == tGe:
		switch opTok.kind {
		case tLt:
			c.Op = OpLt
		case tLe:
			c.Op = OpLe
		case tGt:
			c.Op = OpGt
		default:
			c.Op = OpGe
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if c.Value, err = p.literal(false); err != nil {
			return nil, err
		}
	case p.isKeyword("IN"):
		c.Op = OpIn
		if err := p.advance(); err != nil {
			return nil, err
		}
		if c.Set, err = p.setLiteral(); err != nil {
			return nil, err
		}
	case p.isKeyword("LIKE"), p.isKeyword("MATCHES"), p.isKeyword("ISSUBSET"), p.isKeyword("ISSUPERSET"):
		switch opTok.text {
		case "LIKE":
			c.Op = OpLike
		case "MATCHES":
			c.Op = OpMatches
		case "ISSUBSET":
			c.Op = OpIsSubset
		default:
			c.Op = OpIsSuperset
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tString {
			return nil, p.unexpected(fmt.Sprintf("a string literal after %s", opTok.text))
		}
		c.Value = p.tok.lit
		if err := p.advance(); err != nil {
			return nil, err
		}
	default:
		if c.Negated {
			return nil, p.unexpected("an operator after NOT (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)")
		}
		return nil, p.unexpected("a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET) or NOT")
	}
	return &ComparisonExpr{Op: CmpLeaf, Comparison: c}, nil
}

// literal parses a primitive literal (withBool) or an orderable one.
func (p *parser) literal(withBool bool) (Literal, error) {
	switch p.tok.kind {
	case tInt, tFloat, tString, tBinary, tHex, tTimestamp:
	case tBool:
		if !withBool {
			return Literal{}, p.unexpected("an orderable literal (number, string, binary, hex or timestamp)")
		}
	default:
		if withBool {
			return Literal{}, p.unexpected("a literal (number, string, boolean, binary, hex or timestamp)")
		}
		return Literal{}, p.unexpected("an orderable literal (number, string, binary, hex or timestamp)")
	}
	l := p.tok.lit
	return l, p.advance()
}

// setLiteral: '(' ')' | '(' literal (',' literal)* ')'
func (p *parser) setLiteral() ([]Literal, error) {
	if p.tok.kind != tLParen {
		return nil, p.unexpected("'(' starting a set")
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	set := []Literal{}
	if p.tok.kind == tRParen {
		return set, p.advance()
	}
	for {
		l, err := p.literal(true)
		if err != nil {
			return nil, err
		}
		set = append(set, l)
		switch p.tok.kind {
		case tComma:
			if err := p.advance(); err != nil {
				return nil, err
			}
		case tRParen:
			return set, p.advance()
		default:
			return nil, p.unexpected("',' or ')'")
		}
	}
}

// objectPath: type ':' (ident | string) ('.' (ident | string) | '[' (int | '*') ']')*
func (p *parser) objectPath() (ObjectPath, error) {
	if p.tok.kind != tIdent {
		return ObjectPath{}, p.unexpected("an object type")
	}
	path := ObjectPath{Type: p.tok.text}
	if err := p.advance(); err != nil {
		return ObjectPath{}, err
	}
	if p.tok.kind != tColon {
		return ObjectPath{}, p.unexpected("':' after the object type")
	}
	if err := p.advance(); err != nil {
		return ObjectPath{}, err
	}
	key, err := p.propertyName()
	if err != nil {
		return ObjectPath{}, err
	}
	path.Steps = append(path.Steps, PathStep{Kind: StepKey, Key: key})
	for {
		switch p.tok.kind {
		case tDot:
			if err := p.advance(); err != nil {
				return ObjectPath{}, err
			}
			key, err := p.propertyName()
			if err != nil {
				return ObjectPath{}, err
			}
			path.Steps = append(path.Steps, PathStep{Kind: StepKey, Key: key})
		case tFloat:
			// ".5" lexes as a float: a numeric property name is not allowed.
			if strings.HasPrefix(p.tok.text, ".") {
				return ObjectPath{}, &SyntaxError{p.tok.pos + 1, fmt.Sprintf("expected a property name after '.', found '%s'", p.tok.text[1:])}
			}
			return path, nil
		case tLBrack:
			if err := p.advance(); err != nil {
				return ObjectPath{}, err
			}
			switch p.tok.kind {
			case tStar:
				path.Steps = append(path.Steps, PathStep{Kind: StepAny})
			case tInt:
				path.Steps = append(path.Steps, PathStep{Kind: StepIndex, Index: p.tok.lit.Int})
			default:
				return ObjectPath{}, p.unexpected("a list index or '*'")
			}
			if err := p.advance(); err != nil {
				return ObjectPath{}, err
			}
			if p.tok.kind != tRBrack {
				return ObjectPath{}, p.unexpected("']' closing the list index")
			}
			if err := p.advance(); err != nil {
				return ObjectPath{}, err
			}
		default:
			return path, nil
		}
	}
}

// propertyName accepts an identifier without '-' or a quoted name.
func (p *parser) propertyName() (string, error) {
	switch p.tok.kind {
	case tIdent:
		if strings.Contains(p.tok.text, "-") {
			return "", &SyntaxError{p.tok.pos, fmt.Sprintf("property name %s contains '-': quote it as '%s'", p.tok.text, p.tok.text)}
		}
	case tString:
		name := p.tok.lit.Str
		return name, p.advance()
	default:
		return "", p.unexpected("a property name")
	}
	name := p.tok.text
	return name, p.advance()
}
