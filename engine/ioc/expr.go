package ioc

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// ExprOp is the node type of a compound expression.
type ExprOp uint8

// Expression node types.
const (
	OpPred ExprOp = iota // a leaf: Pred is set
	OpAnd                // every Arg holds
	OpOr                 // at least one Arg holds
	OpNot                // the single Arg does not hold
)

var exprOpNames = [...]string{OpPred: "pred", OpAnd: "and", OpOr: "or", OpNot: "not"}

// String returns "pred", "and", "or" or "not".
func (o ExprOp) String() string {
	if int(o) < len(exprOpNames) {
		return exprOpNames[o]
	}
	return fmt.Sprintf("exprop(%d)", uint8(o))
}

// MarshalText implements encoding.TextMarshaler.
func (o ExprOp) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (o *ExprOp) UnmarshalText(b []byte) error {
	for i, n := range exprOpNames {
		if n == string(b) {
			*o = ExprOp(i)
			return nil
		}
	}
	return fmt.Errorf("unknown expression op %q (want pred, and, or, not)", b)
}

// Expr is a boolean expression over the observables of one event. It is
// how a STIX comparison expression such as
//
//	[network-traffic:dst_ref.value = '1.2.3.4' AND network-traffic:dst_port = 443]
//
// maps onto the engine without loss:
//
//	And(Pred{Target{KindIPv4, RoleDst}, PredEq, "1.2.3.4"}, Pred{Target{KindPort, RoleDst}, PredEq, "443"})
type Expr struct {
	Op   ExprOp     `json:"op"`
	Args []*Expr    `json:"args,omitempty"`
	Pred *Predicate `json:"pred,omitempty"`
}

// PredOp is the comparison a Predicate applies.
type PredOp uint8

// Predicate operators.
const (
	PredEq       PredOp = iota // value equals one of Values (normalised for the target kind)
	PredIn                     // alias of PredEq with several Values (set membership)
	PredContains               // value contains one of Values as a substring (case-sensitive)
	PredCIDR                   // Addr is inside one of Prefixes
	PredRegex                  // value matches Regex (RE2 syntax, linear time)
	PredExists                 // an observable of the target exists
	PredLt                     // numeric value < Num (ports and other numbers)
	PredLe                     // numeric value <= Num
	PredGt                     // numeric value > Num
	PredGe                     // numeric value >= Num
)

var predOpNames = [...]string{
	PredEq: "eq", PredIn: "in", PredContains: "contains", PredCIDR: "cidr",
	PredRegex: "regex", PredExists: "exists", PredLt: "lt", PredLe: "le", PredGt: "gt", PredGe: "ge",
}

// String returns the operator's name.
func (o PredOp) String() string {
	if int(o) < len(predOpNames) {
		return predOpNames[o]
	}
	return fmt.Sprintf("predop(%d)", uint8(o))
}

// MarshalText implements encoding.TextMarshaler.
func (o PredOp) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (o *PredOp) UnmarshalText(b []byte) error {
	for i, n := range predOpNames {
		if n == string(b) {
			*o = PredOp(i)
			return nil
		}
	}
	return fmt.Errorf("unknown predicate op %q", b)
}

// Target selects the observables a predicate applies to: those of Kind
// (and of Role unless RoleAny); when Field is set, only those extracted
// from that event field. For Kind == KindIPv4 or KindIPv6 a target
// selects addresses of either family.
type Target struct {
	Kind  Kind   `json:"kind"`
	Role  Role   `json:"role,omitzero"`
	Field string `json:"field,omitempty"`
}

// String renders the target as "kind", "kind/role" or "kind@field".
func (t Target) String() string {
	s := t.Kind.String()
	if t.Role != RoleAny {
		s += "/" + t.Role.String()
	}
	if t.Field != "" {
		s += "@" + t.Field
	}
	return s
}

// Predicate is a leaf of a compound expression. It holds for an event
// when at least one observable selected by Target satisfies Op (or, with
// Negate, when at least one selected observable does NOT satisfy Op; this
// is the STIX meaning of "!=" and "NOT"). When no observable is selected
// the predicate is false, negated or not, except PredExists with Negate,
// which is true exactly when none is selected.
type Predicate struct {
	Target   Target         `json:"target"`
	Op       PredOp         `json:"op"`
	Negate   bool           `json:"negate,omitempty"`
	Values   []string       `json:"values,omitempty"`   // Eq/In/Contains: normalised for Target.Kind
	Prefixes []netip.Prefix `json:"prefixes,omitempty"` // CIDR
	Regex    string         `json:"regex,omitempty"`    // Regex: RE2 source
	Num      int64          `json:"num,omitempty"`      // Lt/Le/Gt/Ge
}

// And returns an expression that holds when every arg holds.
func And(args ...*Expr) *Expr { return &Expr{Op: OpAnd, Args: args} }

// Or returns an expression that holds when at least one arg holds.
func Or(args ...*Expr) *Expr { return &Expr{Op: OpOr, Args: args} }

// Not returns an expression that holds when arg does not.
func Not(arg *Expr) *Expr { return &Expr{Op: OpNot, Args: []*Expr{arg}} }

// Pred wraps a predicate as a leaf expression.
func Pred(p Predicate) *Expr { return &Expr{Op: OpPred, Pred: &p} }

// Validate checks the expression's shape: leaves have a predicate with a
// valid target and the operands its operator needs (a compilable regex,
// at least one value or prefix), And/Or have at least one argument, Not
// exactly one.
func (e *Expr) Validate() error {
	if e == nil {
		return errors.New("nil expression")
	}
	switch e.Op {
	case OpPred:
		if e.Pred == nil {
			return errors.New("predicate node without predicate")
		}
		return e.Pred.Validate()
	case OpAnd, OpOr:
		if len(e.Args) == 0 {
			return fmt.Errorf("%s without arguments", e.Op)
		}
	case OpNot:
		if len(e.Args) != 1 {
			return fmt.Errorf("not with %d arguments (want 1)", len(e.Args))
		}
	default:
		return fmt.Errorf("unknown expression op %d", e.Op)
	}
	for i, a := range e.Args {
		if err := a.Validate(); err != nil {
			return fmt.Errorf("%s argument %d: %w", e.Op, i, err)
		}
	}
	return nil
}

// Validate checks the predicate (see Expr.Validate).
func (p *Predicate) Validate() error {
	if p.Target.Kind == KindInvalid || p.Target.Kind == KindCompound || p.Target.Kind >= kindCount {
		return fmt.Errorf("predicate target %s: invalid kind", p.Target)
	}
	switch p.Op {
	case PredEq, PredIn, PredContains:
		if len(p.Values) == 0 {
			return fmt.Errorf("predicate %s on %s: no values", p.Op, p.Target)
		}
	case PredCIDR:
		if len(p.Prefixes) == 0 {
			return fmt.Errorf("predicate cidr on %s: no prefixes", p.Target)
		}
	case PredRegex:
		if _, err := regexp.Compile(p.Regex); err != nil {
			return fmt.Errorf("predicate regex on %s: %w", p.Target, err)
		}
	case PredExists, PredLt, PredLe, PredGt, PredGe:
	default:
		return fmt.Errorf("predicate on %s: unknown op %d", p.Target, p.Op)
	}
	return nil
}

// String renders the expression in a compact, stable, readable form, for
// logs and alert descriptions.
func (e *Expr) String() string {
	var b strings.Builder
	e.write(&b)
	return b.String()
}

func (e *Expr) write(b *strings.Builder) {
	if e == nil {
		b.WriteString("<nil>")
		return
	}
	switch e.Op {
	case OpPred:
		p := e.Pred
		if p == nil {
			b.WriteString("<nil pred>")
			return
		}
		if p.Negate {
			b.WriteString("NOT ")
		}
		b.WriteString(p.Target.String())
		b.WriteByte(' ')
		b.WriteString(p.Op.String())
		switch p.Op {
		case PredEq, PredIn, PredContains:
			fmt.Fprintf(b, " %q", p.Values)
		case PredCIDR:
			fmt.Fprintf(b, " %v", p.Prefixes)
		case PredRegex:
			fmt.Fprintf(b, " /%s/", p.Regex)
		case PredLt, PredLe, PredGt, PredGe:
			fmt.Fprintf(b, " %d", p.Num)
		}
	case OpNot:
		b.WriteString("NOT (")
		if len(e.Args) > 0 {
			e.Args[0].write(b)
		}
		b.WriteByte(')')
	default:
		b.WriteByte('(')
		for i, a := range e.Args {
			if i > 0 {
				b.WriteString(" " + strings.ToUpper(e.Op.String()) + " ")
			}
			a.write(b)
		}
		b.WriteByte(')')
	}
}
