package stixpattern

import (
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Pattern is a parsed STIX 2.1 pattern. It is immutable after Parse and
// safe for concurrent use by any number of goroutines (Match and
// Translate only read it).
type Pattern struct {
	// Root is the pattern's observation expression.
	Root *ObservationExpr
}

// String renders the pattern canonically: single spaces, upper-case
// keywords, "=" for "==" and "!=" for "<>", parentheses only where the
// tree needs them. Parse(p.String()) yields a pattern equal to p.
func (p *Pattern) String() string {
	if p == nil || p.Root == nil {
		return ""
	}
	var b strings.Builder
	p.Root.write(&b, precFollowedBy)
	return b.String()
}

// ObsOp is the node type of an observation expression.
type ObsOp uint8

// Observation expression node types.
const (
	ObsSimple     ObsOp = iota // [ comparison-expression ]
	ObsAnd                     // every Arg is matched, by distinct observations
	ObsOr                      // some Arg is matched
	ObsFollowedBy              // Args[0] is matched, then Args[1] (exactly two Args)
)

var obsOpNames = [...]string{ObsSimple: "[]", ObsAnd: "AND", ObsOr: "OR", ObsFollowedBy: "FOLLOWEDBY"}

// String returns "[]", "AND", "OR" or "FOLLOWEDBY".
func (o ObsOp) String() string {
	if int(o) < len(obsOpNames) {
		return obsOpNames[o]
	}
	return "ObsOp(" + strconv.Itoa(int(o)) + ")"
}

// ObservationExpr is a node of the observation-expression tree.
//
// ObsSimple nodes hold Comparison. ObsAnd and ObsOr are n-ary (two or
// more Args; nested nodes of the same operator without qualifiers are
// flattened by Parse, since the operators are associative). ObsFollowedBy
// is binary and left-associative: "a FOLLOWEDBY b FOLLOWEDBY c" is
// FollowedBy(FollowedBy(a, b), c). Qualifiers apply to the node, in
// order: "([a] AND [b]) WITHIN 5 SECONDS" is an ObsAnd node with one
// qualifier.
type ObservationExpr struct {
	Op         ObsOp
	Comparison *ComparisonExpr // ObsSimple only
	Args       []*ObservationExpr
	Qualifiers []Qualifier
}

// QualKind is the kind of an observation qualifier.
type QualKind uint8

// Qualifier kinds.
const (
	QualWithin    QualKind = iota // WITHIN n SECONDS
	QualRepeats                   // REPEATS n TIMES
	QualStartStop                 // START t'..' STOP t'..'
)

// Qualifier restricts the observations that may match an observation
// expression.
type Qualifier struct {
	Kind    QualKind
	Seconds float64 // QualWithin: the window, > 0
	Times   int64   // QualRepeats: the repetition count, >= 1
	Start   Literal // QualStartStop: a LitTimestamp
	Stop    Literal // QualStartStop: a LitTimestamp
}

// String renders the qualifier ("WITHIN 5 SECONDS", "REPEATS 2 TIMES",
// "START t'...' STOP t'...'").
func (q Qualifier) String() string {
	switch q.Kind {
	case QualWithin:
		return "WITHIN " + formatSeconds(q.Seconds) + " SECONDS"
	case QualRepeats:
		return "REPEATS " + strconv.FormatInt(q.Times, 10) + " TIMES"
	default:
		return "START " + q.Start.String() + " STOP " + q.Stop.String()
	}
}

func formatSeconds(f float64) string {
	if f == float64(int64(f)) && f < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return formatFloat(f)
}

// CmpOp is the node type of a comparison expression.
type CmpOp uint8

// Comparison expression node types.
const (
	CmpLeaf CmpOp = iota // a single comparison (Comparison is set)
	CmpAnd               // every Arg holds for the same object
	CmpOr                // some Arg holds
)

// ComparisonExpr is a node of the boolean tree inside an observation
// expression's brackets. CmpAnd and CmpOr nodes have two or more Args
// and are flattened by Parse; AND binds tighter than OR.
type ComparisonExpr struct {
	Op         CmpOp
	Args       []*ComparisonExpr
	Comparison *Comparison // CmpLeaf only
}

// Operator is a comparison operator.
type Operator uint8

// Comparison operators. "==" parses as OpEq and "<>" as OpNeq.
const (
	OpEq Operator = iota
	OpNeq
	OpGt
	OpLt
	OpGe
	OpLe
	OpIn
	OpLike
	OpMatches
	OpIsSubset
	OpIsSuperset
	OpExists
)

var operatorNames = [...]string{
	OpEq: "=", OpNeq: "!=", OpGt: ">", OpLt: "<", OpGe: ">=", OpLe: "<=", OpIn: "IN",
	OpLike: "LIKE", OpMatches: "MATCHES", OpIsSubset: "ISSUBSET", OpIsSuperset: "ISSUPERSET", OpExists: "EXISTS",
}

// String returns the operator as written in a pattern.
func (o Operator) String() string {
	if int(o) < len(operatorNames) {
		return operatorNames[o]
	}
	return "Operator(" + strconv.Itoa(int(o)) + ")"
}

// Comparison is one property test: "Path [NOT] Op Value", "Path [NOT] IN
// (Set...)" or "EXISTS Path".
type Comparison struct {
	Path    ObjectPath
	Op      Operator
	Negated bool      // the NOT prefix to the operator (never with OpExists)
	Value   Literal   // every Op but OpIn and OpExists
	Set     []Literal // OpIn: the members, possibly none
}

// StepKind is the kind of an object path step.
type StepKind uint8

// Path step kinds.
const (
	StepKey   StepKind = iota // .name or .'quoted name' (and the first property)
	StepIndex                 // [n]; a negative n counts from the end
	StepAny                   // [*]
)

// PathStep is one step of an object path.
type PathStep struct {
	Kind  StepKind
	Key   string // StepKey
	Index int64  // StepIndex
}

// ObjectPath selects values of objects of one type: "file:hashes.'SHA-256'"
// is {Type: "file", Steps: [hashes, SHA-256]}. Steps[0] is always a key
// (the first property). A key ending in "_ref" or "_refs" dereferences
// to the referenced object(s) of the same observation.
type ObjectPath struct {
	Type  string
	Steps []PathStep
}

// String renders the path canonically: keys that are plain identifiers
// unquoted, others quoted.
func (p ObjectPath) String() string {
	var b strings.Builder
	p.write(&b)
	return b.String()
}

func (p ObjectPath) write(b *strings.Builder) {
	b.WriteString(p.Type)
	b.WriteByte(':')
	for i, s := range p.Steps {
		switch s.Kind {
		case StepKey:
			if i > 0 {
				b.WriteByte('.')
			}
			if isPlainIdent(s.Key) {
				b.WriteString(s.Key)
			} else {
				writeQuoted(b, s.Key)
			}
		case StepIndex:
			b.WriteByte('[')
			b.WriteString(strconv.FormatInt(s.Index, 10))
			b.WriteByte(']')
		case StepAny:
			b.WriteString("[*]")
		}
	}
}

// isPlainIdent reports whether s can be written as an unquoted property
// name: [A-Za-z_][A-Za-z0-9_]* and not a keyword or boolean.
func isPlainIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	_, kw := keywords[s]
	return !kw && s != "true" && s != "false"
}

// LiteralKind is the type of a constant in a pattern.
type LiteralKind uint8

// Literal kinds.
const (
	LitInt       LiteralKind = iota // 42, -7
	LitFloat                        // 1.5, -.5
	LitString                       // 'text'
	LitBool                         // true, false
	LitBinary                       // b'base64'
	LitHex                          // h'hex'
	LitTimestamp                    // t'2016-01-02T03:04:05Z'
)

var literalKindNames = [...]string{
	LitInt: "int", LitFloat: "float", LitString: "string", LitBool: "bool",
	LitBinary: "binary", LitHex: "hex", LitTimestamp: "timestamp",
}

// String returns the kind's name ("int", "string", ...).
func (k LiteralKind) String() string {
	if int(k) < len(literalKindNames) {
		return literalKindNames[k]
	}
	return "LiteralKind(" + strconv.Itoa(int(k)) + ")"
}

// Literal is a constant. Exactly the field of its Kind is meaningful;
// LitTimestamp keeps both the instant (Time, UTC) and the text between
// the quotes (Str), which String renders unchanged.
type Literal struct {
	Kind  LiteralKind
	Int   int64
	Float float64
	Str   string // LitString: the unescaped value; LitTimestamp: the text
	Bool  bool
	Bytes []byte // LitBinary, LitHex: the decoded bytes
	Time  time.Time
}

// String renders the literal as it is written in a pattern.
func (l Literal) String() string {
	var b strings.Builder
	l.write(&b)
	return b.String()
}

func (l Literal) write(b *strings.Builder) {
	switch l.Kind {
	case LitInt:
		b.WriteString(strconv.FormatInt(l.Int, 10))
	case LitFloat:
		b.WriteString(formatFloat(l.Float))
	case LitString:
		writeQuoted(b, l.Str)
	case LitBool:
		b.WriteString(strconv.FormatBool(l.Bool))
	case LitBinary:
		b.WriteString("b'")
		b.WriteString(base64.StdEncoding.EncodeToString(l.Bytes))
		b.WriteByte('\'')
	case LitHex:
		b.WriteString("h'")
		b.WriteString(hex.EncodeToString(l.Bytes))
		b.WriteByte('\'')
	case LitTimestamp:
		b.WriteString("t'")
		b.WriteString(l.Str)
		b.WriteByte('\'')
	}
}

// formatFloat renders f in the pattern grammar's float syntax
// ([+-]?[0-9]*.[0-9]+), which has no exponent.
func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// writeQuoted writes s as a pattern string literal, escaping ' and \.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\'' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('\'')
}

// Precedence levels for rendering observation expressions.
const (
	precFollowedBy = iota
	precOr
	precAnd
	precPrimary
)

func (e *ObservationExpr) prec() int {
	if len(e.Qualifiers) > 0 {
		return precPrimary
	}
	switch e.Op {
	case ObsFollowedBy:
		return precFollowedBy
	case ObsOr:
		return precOr
	case ObsAnd:
		return precAnd
	}
	return precPrimary
}

// String renders the observation expression canonically.
func (e *ObservationExpr) String() string {
	var b strings.Builder
	e.write(&b, precFollowedBy)
	return b.String()
}

// write renders e in a context that needs at least precedence min.
func (e *ObservationExpr) write(b *strings.Builder, min int) {
	paren := e.prec() < min
	if paren {
		b.WriteByte('(')
	}
	e.writeCore(b)
	for _, q := range e.Qualifiers {
		b.WriteByte(' ')
		b.WriteString(q.String())
	}
	if paren {
		b.WriteByte(')')
	}
}

// writeCore renders e without its qualifiers; with qualifiers, a compound
// core is parenthesised so that they apply to the whole of it.
func (e *ObservationExpr) writeCore(b *strings.Builder) {
	quals := len(e.Qualifiers) > 0
	switch e.Op {
	case ObsSimple:
		b.WriteByte('[')
		if e.Comparison != nil {
			e.Comparison.write(b, false)
		}
		b.WriteByte(']')
	case ObsAnd, ObsOr, ObsFollowedBy:
		if quals {
			b.WriteByte('(')
		}
		own := precFollowedBy
		switch e.Op {
		case ObsAnd:
			own = precAnd
		case ObsOr:
			own = precOr
		}
		for i, a := range e.Args {
			if i > 0 {
				b.WriteByte(' ')
				b.WriteString(e.Op.String())
				b.WriteByte(' ')
			}
			min := own
			if e.Op == ObsFollowedBy && i > 0 {
				min = own + 1 // left-associative: a right operand FOLLOWEDBY needs parentheses
			} else if e.Op != ObsFollowedBy {
				min = own + 1 // flattened n-ary: a nested node of the same op keeps its parentheses
			}
			a.write(b, min)
		}
		if quals {
			b.WriteByte(')')
		}
	}
}

// String renders the comparison expression canonically.
func (c *ComparisonExpr) String() string {
	var b strings.Builder
	c.write(&b, false)
	return b.String()
}

// write renders c; inAnd says the context is an AND operand, where an OR
// needs parentheses.
func (c *ComparisonExpr) write(b *strings.Builder, inAnd bool) {
	switch c.Op {
	case CmpLeaf:
		if c.Comparison != nil {
			c.Comparison.write(b)
		}
	case CmpAnd, CmpOr:
		paren := c.Op == CmpOr && inAnd || len(c.Args) == 1
		if paren {
			b.WriteByte('(')
		}
		for i, a := range c.Args {
			if i > 0 {
				if c.Op == CmpAnd {
					b.WriteString(" AND ")
				} else {
					b.WriteString(" OR ")
				}
			}
			// A nested node of the same operator keeps its parentheses.
			if a.Op == c.Op {
				b.WriteByte('(')
				a.write(b, false)
				b.WriteByte(')')
				continue
			}
			a.write(b, c.Op == CmpAnd)
		}
		if paren {
			b.WriteByte(')')
		}
	}
}

// String renders the comparison canonically.
func (c *Comparison) String() string {
	var b strings.Builder
	c.write(&b)
	return b.String()
}

func (c *Comparison) write(b *strings.Builder) {
	if c.Op == OpExists {
		b.WriteString("EXISTS ")
		c.Path.write(b)
		return
	}
	c.Path.write(b)
	b.WriteByte(' ')
	if c.Negated {
		b.WriteString("NOT ")
	}
	b.WriteString(c.Op.String())
	b.WriteByte(' ')
	if c.Op == OpIn {
		b.WriteByte('(')
		for i, v := range c.Set {
			if i > 0 {
				b.WriteString(", ")
			}
			v.write(b)
		}
		b.WriteByte(')')
		return
	}
	c.Value.write(b)
}
