package stixpattern

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// Atom is one value for the engine's fast structures: the pattern
// matches an event that has an observable equal to Value (as the engine
// defines equality for Kind). Value is normalised with ioc.Normalize.
type Atom struct {
	Kind  ioc.Kind
	Value string
}

// String renders the atom as "kind:value".
func (a Atom) String() string { return a.Kind.String() + ":" + a.Value }

// Translation is how a pattern maps onto the engine's per-event model.
//
// The pattern matches an event when any Atom or any Expr does. When
// Unsupported is non-empty, Atoms and Exprs are empty and the pattern
// cannot be honoured on the event stream; NeedsCorrelation says why in
// the common case of observation operators or qualifiers.
type Translation struct {
	Atoms            []Atom      // fast-path values; the pattern matches an event when any atom does
	Exprs            []*ioc.Expr // single-observation compound expressions, each evaluated exactly on one event (OR'ed with the atoms)
	NeedsCorrelation bool        // the pattern uses observation operators/qualifiers spanning several events: not evaluable per event yet
	Unsupported      string      // non-empty: why the pattern cannot be honoured on the event stream
}

// OK reports whether the translation can be used on the event stream.
func (t Translation) OK() bool { return t.Unsupported == "" && (len(t.Atoms) > 0 || len(t.Exprs) > 0) }

// Translate maps a pattern onto the engine's indicator model.
//
// A pattern is translatable when it is one observation expression, or an
// OR of observation expressions, without qualifiers; each comparison
// expression is then evaluated on a single event. Equality and set
// membership on well-known object paths at no particular role become
// Atoms when they are a top-level alternative of the pattern; all other
// supported comparisons become ioc.Expr trees (see the package
// documentation for the path table and the exact/approximated list).
// Anything whose meaning cannot be kept is reported in Unsupported with
// the reason; nothing is dropped silently.
//
// Translate is pure and safe for concurrent use.
func Translate(p *Pattern) Translation {
	if p == nil || p.Root == nil {
		return Translation{Unsupported: "empty pattern"}
	}
	var cmps []*ComparisonExpr
	if reason := collectObservations(p.Root, &cmps); reason != "" {
		return Translation{NeedsCorrelation: true, Unsupported: reason + ": needs correlation across events, not evaluable on one event"}
	}
	var tr Translation
	var never []string
	for _, c := range cmps {
		var disjuncts []*ComparisonExpr
		if c.Op == CmpOr {
			disjuncts = c.Args
		} else {
			disjuncts = []*ComparisonExpr{c}
		}
		for _, d := range disjuncts {
			if d.Op == CmpLeaf {
				atoms, ok, err := leafAtoms(d.Comparison)
				if err != nil {
					return Translation{Unsupported: err.Error()}
				}
				if ok {
					if len(atoms) == 0 {
						never = append(never, d.Comparison.String())
					}
					tr.Atoms = append(tr.Atoms, atoms...)
					continue
				}
			}
			e, err := translateCmp(d)
			if err != nil {
				return Translation{Unsupported: err.Error()}
			}
			if e == nil {
				never = append(never, d.String())
				continue
			}
			if err := e.Validate(); err != nil {
				return Translation{Unsupported: fmt.Sprintf("%s: %v", d, err)}
			}
			tr.Exprs = append(tr.Exprs, e)
		}
	}
	if len(tr.Atoms) == 0 && len(tr.Exprs) == 0 {
		return Translation{Unsupported: "can never match an event: " + strings.Join(never, "; ")}
	}
	tr.Atoms = dedupAtoms(tr.Atoms)
	return tr
}

// collectObservations gathers the comparison expressions of an OR of
// unqualified observation expressions, or returns why the pattern needs
// correlation.
func collectObservations(e *ObservationExpr, out *[]*ComparisonExpr) string {
	if len(e.Qualifiers) > 0 {
		return fmt.Sprintf("qualifier %s", e.Qualifiers[0].String())
	}
	switch e.Op {
	case ObsSimple:
		*out = append(*out, e.Comparison)
		return ""
	case ObsOr:
		for _, a := range e.Args {
			if r := collectObservations(a, out); r != "" {
				return r
			}
		}
		return ""
	default:
		return fmt.Sprintf("observation operator %s", e.Op)
	}
}

func dedupAtoms(in []Atom) []Atom {
	seen := make(map[Atom]bool, len(in))
	out := in[:0]
	for _, a := range in {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// class is what an object path means on the event stream.
type class uint8

const (
	clIP          class = iota + 1 // address observables (either family)
	clDomain                       // KindDomain
	clURL                          // KindURL
	clEmail                        // KindEmail
	clHash                         // a hash kind (field.kind)
	clFileName                     // KindFileName
	clDirPath                      // a file's directory, tested on KindFilePath
	clProcessName                  // KindProcessName
	clCommandLine                  // KindCommandLine
	clRegKey                       // KindRegistryKey
	clUserAgent                    // KindUserAgent
	clPort                         // KindPort
	clProtocol                     // KindProtocol
)

// field is the event-side meaning of a STIX object path.
type field struct {
	class  class
	kind   ioc.Kind // target kind
	role   ioc.Role
	family int // clIP: 4 or 6 when the object type fixes the family, 0 otherwise
}

// caseFolded reports classes whose observables are case-folded by
// ioc.Normalize: comparisons on them are case-insensitive.
func (f field) caseFolded() bool {
	switch f.class {
	case clDomain, clEmail, clHash, clProcessName, clRegKey, clProtocol:
		return true
	}
	return false
}

func (f field) target() ioc.Target { return ioc.Target{Kind: f.kind, Role: f.role} }

// singletonTypes are the object types of which an event describes at
// most one, so that AND of comparisons on one such object is exactly AND
// of predicates on the event: one connection (its src/dst endpoints and
// ports), one e-mail message. Files and processes are not: an event
// carries the process and its parent, loaded DLLs, attachments, each with
// names and hashes of the same kinds.
var singletonTypes = map[string]bool{
	"network-traffic": true, "email-message": true,
}

// severalReason explains why AND on an object type is not expressible.
func severalReason(typ string) string {
	switch typ {
	case "file":
		return "an event may carry several files (process image, parent image, loaded DLLs, attachments) with names and hashes of the same kinds"
	case "process":
		return "an event carries the process and its parent with names and command lines of the same kinds"
	}
	return "an event may carry several " + typ + " values"
}

// pathKey renders a path as "type:a.b[*].c" with keys unquoted.
func pathKey(p ObjectPath) string {
	var b strings.Builder
	b.WriteString(p.Type)
	b.WriteByte(':')
	for i, s := range p.Steps {
		switch s.Kind {
		case StepKey:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Key)
		case StepIndex:
			b.WriteString("[" + strconv.FormatInt(s.Index, 10) + "]")
		case StepAny:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

var pathTable = map[string]field{
	"ipv4-addr:value":                 {class: clIP, kind: ioc.KindIPv4, family: 4},
	"ipv6-addr:value":                 {class: clIP, kind: ioc.KindIPv4, family: 6},
	"network-traffic:src_ref.value":   {class: clIP, kind: ioc.KindIPv4, role: ioc.RoleSrc},
	"network-traffic:dst_ref.value":   {class: clIP, kind: ioc.KindIPv4, role: ioc.RoleDst},
	"network-traffic:src_port":        {class: clPort, kind: ioc.KindPort, role: ioc.RoleSrc},
	"network-traffic:dst_port":        {class: clPort, kind: ioc.KindPort, role: ioc.RoleDst},
	"network-traffic:protocols[*]":    {class: clProtocol, kind: ioc.KindProtocol},
	"domain-name:value":               {class: clDomain, kind: ioc.KindDomain},
	"url:value":                       {class: clURL, kind: ioc.KindURL},
	"email-addr:value":                {class: clEmail, kind: ioc.KindEmail},
	"email-message:from_ref.value":    {class: clEmail, kind: ioc.KindEmail, role: ioc.RoleSrc},
	"email-message:sender_ref.value":  {class: clEmail, kind: ioc.KindEmail, role: ioc.RoleSrc},
	"email-message:to_refs[*].value":  {class: clEmail, kind: ioc.KindEmail, role: ioc.RoleDst},
	"email-message:cc_refs[*].value":  {class: clEmail, kind: ioc.KindEmail, role: ioc.RoleDst},
	"email-message:bcc_refs[*].value": {class: clEmail, kind: ioc.KindEmail, role: ioc.RoleDst},
	"file:name":                       {class: clFileName, kind: ioc.KindFileName},
	"file:parent_directory_ref.path":  {class: clDirPath, kind: ioc.KindFilePath},
	"process:name":                    {class: clProcessName, kind: ioc.KindProcessName},
	"process:binary_ref.name":         {class: clProcessName, kind: ioc.KindProcessName},
	"process:image_ref.name":          {class: clProcessName, kind: ioc.KindProcessName},
	"process:command_line":            {class: clCommandLine, kind: ioc.KindCommandLine},
	"windows-registry-key:key":        {class: clRegKey, kind: ioc.KindRegistryKey},
	"network-traffic:extensions.http-request-ext.request_header.User-Agent": {class: clUserAgent, kind: ioc.KindUserAgent},
	"network-traffic:extensions.http-request-ext.request_header.user-agent": {class: clUserAgent, kind: ioc.KindUserAgent},
}

// hashPrefixes are the objects whose "hashes" dictionary maps to the
// engine's hash kinds.
var hashPrefixes = []string{"file:hashes.", "x509-certificate:hashes.", "process:binary_ref.hashes.", "process:image_ref.hashes."}

// hashKind maps a STIX hash key in any common spelling to a kind.
func hashKind(key string) ioc.Kind {
	k := strings.NewReplacer("-", "", "_", "").Replace(strings.ToUpper(key))
	switch k {
	case "MD5":
		return ioc.KindMD5
	case "SHA1":
		return ioc.KindSHA1
	case "SHA256":
		return ioc.KindSHA256
	case "SHA512":
		return ioc.KindSHA512
	}
	return ioc.KindInvalid
}

// lookupField returns the event-side meaning of a path.
func lookupField(p ObjectPath) (field, error) {
	key := pathKey(p)
	if f, ok := pathTable[key]; ok {
		return f, nil
	}
	for _, pre := range hashPrefixes {
		if strings.HasPrefix(key, pre) && len(p.Steps) >= 2 && p.Steps[len(p.Steps)-1].Kind == StepKey {
			if len(key)-len(pre) != len(p.Steps[len(p.Steps)-1].Key) {
				break
			}
			algo := p.Steps[len(p.Steps)-1].Key
			k := hashKind(algo)
			if k == ioc.KindInvalid {
				return field{}, fmt.Errorf("%s: hash algorithm %q has no observable kind (supported: MD5, SHA-1, SHA-256, SHA-512)", p, algo)
			}
			return field{class: clHash, kind: k}, nil
		}
	}
	return field{}, fmt.Errorf("%s: the event model has no observable for this object path", p)
}

// leafAtoms returns the atoms of a comparison that is a top-level
// alternative of the pattern, with ok=false when the comparison is not
// atom-shaped (it then becomes an Expr). ok with no atoms means the
// comparison can never match an event.
func leafAtoms(c *Comparison) ([]Atom, bool, error) {
	f, err := lookupField(c.Path)
	if err != nil || f.role != ioc.RoleAny || c.Negated {
		return nil, false, nil
	}
	switch f.class {
	case clDirPath, clPort, clProtocol:
		return nil, false, nil
	}
	var lits []Literal
	switch {
	case c.Op == OpEq && f.class != clCommandLine:
		lits = []Literal{c.Value}
	case c.Op == OpIn && f.class != clCommandLine:
		if err := checkHomogeneous(c); err != nil {
			return nil, false, err
		}
		lits = c.Set
	case c.Op == OpIsSubset && f.class == clIP:
		pfx, err := parseCIDR(c.Value.Str)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %v", c, err)
		}
		if !familyOK(f, pfx.Addr()) {
			return []Atom{}, true, nil
		}
		return []Atom{prefixAtom(pfx)}, true, nil
	case c.Op == OpLike && f.class == clCommandLine:
		sub, ok := likeContains(c.Value.Str)
		if !ok {
			return nil, false, nil
		}
		k, v, err := ioc.Normalize(ioc.KindCommandLine, sub)
		if err != nil || v != sub {
			return nil, false, nil
		}
		return []Atom{{Kind: k, Value: v}}, true, nil
	default:
		return nil, false, nil
	}
	atoms := []Atom{}
	for _, l := range lits {
		if l.Kind != LitString {
			continue // a type mismatch never equals
		}
		if f.class == clIP {
			pfx, isPrefix, err := parseIPValue(l.Str)
			if err != nil || !familyOK(f, pfx.Addr()) {
				continue // an event address is always valid and of its family
			}
			if isPrefix {
				atoms = append(atoms, prefixAtom(pfx))
			} else {
				atoms = append(atoms, Atom{Kind: ioc.AddrKind(pfx.Addr()), Value: pfx.Addr().String()})
			}
			continue
		}
		k, v, err := ioc.Normalize(f.kind, l.Str)
		if err != nil || k != f.kind {
			continue // not a value an event can carry
		}
		atoms = append(atoms, Atom{Kind: k, Value: v})
	}
	return atoms, true, nil
}

func prefixAtom(p netip.Prefix) Atom {
	if p.IsSingleIP() {
		return Atom{Kind: ioc.AddrKind(p.Addr()), Value: p.Addr().String()}
	}
	if p.Addr().Is4() {
		return Atom{Kind: ioc.KindCIDRv4, Value: p.String()}
	}
	return Atom{Kind: ioc.KindCIDRv6, Value: p.String()}
}

// familyOK reports whether an address of a's family can be the value of
// the field's object type.
func familyOK(f field, a netip.Addr) bool {
	switch f.family {
	case 4:
		return a.Is4()
	case 6:
		return a.Is6()
	}
	return true
}

// parseIPValue parses an address, or a CIDR prefix written with '/'.
func parseIPValue(s string) (netip.Prefix, bool, error) {
	if strings.Contains(s, "/") {
		p, err := ioc.ParsePrefix(s)
		return p, !p.IsSingleIP(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false, fmt.Errorf("%q is not an IP address", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), false, nil
}

// likeContains reports whether a LIKE pattern is exactly '%s%' with s
// free of wildcards, and returns s.
func likeContains(like string) (string, bool) {
	like = norm.NFC.String(like)
	if len(like) < 3 || like[0] != '%' || like[len(like)-1] != '%' {
		return "", false
	}
	s := like[1 : len(like)-1]
	if strings.ContainsAny(s, "%_") || s == "" {
		return "", false
	}
	return s, true
}

// checkHomogeneous rejects IN sets mixing types (ints and floats mix).
func checkHomogeneous(c *Comparison) error {
	if len(c.Set) == 0 {
		return nil
	}
	num := func(k LiteralKind) bool { return k == LitInt || k == LitFloat }
	first := c.Set[0].Kind
	for _, l := range c.Set[1:] {
		if l.Kind != first && !(num(l.Kind) && num(first)) {
			return fmt.Errorf("%s: set mixes %s and %s values", c, first, l.Kind)
		}
	}
	return nil
}

// translateCmp translates one alternative of a comparison expression to
// an ioc.Expr; nil means it can never match an event.
func translateCmp(d *ComparisonExpr) (*ioc.Expr, error) {
	var types []string
	collectTypes(d, &types)
	var alts []*ioc.Expr
	for _, t := range types {
		e, err := translateFor(d, t)
		if err != nil {
			return nil, err
		}
		if e != nil {
			alts = append(alts, e)
		}
	}
	return orOf(alts), nil
}

func collectTypes(d *ComparisonExpr, out *[]string) {
	if d.Op == CmpLeaf {
		if !slices.Contains(*out, d.Comparison.Path.Type) {
			*out = append(*out, d.Comparison.Path.Type)
		}
		return
	}
	for _, a := range d.Args {
		collectTypes(a, out)
	}
}

func orOf(alts []*ioc.Expr) *ioc.Expr {
	switch len(alts) {
	case 0:
		return nil
	case 1:
		return alts[0]
	}
	return ioc.Or(alts...)
}

// translateFor translates d for root objects of type typ: comparisons on
// other types are false for such an object.
func translateFor(d *ComparisonExpr, typ string) (*ioc.Expr, error) {
	switch d.Op {
	case CmpLeaf:
		if d.Comparison.Path.Type != typ {
			return nil, nil
		}
		return translateLeaf(d.Comparison)
	case CmpOr:
		var alts []*ioc.Expr
		for _, a := range d.Args {
			e, err := translateFor(a, typ)
			if err != nil {
				return nil, err
			}
			if e != nil {
				alts = append(alts, e)
			}
		}
		return orOf(alts), nil
	default: // CmpAnd
		// A conjunct on another type makes the whole conjunction false
		// for this root, whatever the others say.
		for _, a := range d.Args {
			if !mentionsType(a, typ) {
				return nil, nil
			}
		}
		var all []*ioc.Expr
		for _, a := range d.Args {
			e, err := translateFor(a, typ)
			if err != nil {
				return nil, err
			}
			if e == nil {
				return nil, nil
			}
			all = append(all, e)
		}
		if !singletonTypes[typ] {
			return nil, fmt.Errorf("%s: AND of comparisons on one %s object cannot be expressed per event: %s, and ioc predicates cannot be bound to the same one", d, typ, severalReason(typ))
		}
		return ioc.And(all...), nil
	}
}

func mentionsType(d *ComparisonExpr, typ string) bool {
	if d.Op == CmpLeaf {
		return d.Comparison.Path.Type == typ
	}
	for _, a := range d.Args {
		if mentionsType(a, typ) {
			return true
		}
	}
	return false
}

// translateLeaf translates one comparison; nil means never true.
func translateLeaf(c *Comparison) (*ioc.Expr, error) {
	f, err := lookupField(c.Path)
	if err != nil {
		return nil, err
	}
	t := f.target()
	exists := ioc.Pred(ioc.Predicate{Target: t, Op: ioc.PredExists})
	switch {
	case f.class == clDirPath:
		// A file has a parent directory when its path has a separator.
		exists = ioc.Pred(ioc.Predicate{Target: t, Op: ioc.PredRegex, Regex: `[\\/]`})
	case f.family != 0:
		// ioc address targets select both families: restrict to one by prefix.
		exists = ioc.Pred(ioc.Predicate{Target: t, Op: ioc.PredCIDR, Prefixes: []netip.Prefix{familyAll(f.family)}})
	}
	// negate turns a positive predicate (nil: never true for any value)
	// into the result of the comparison with its NOT/!= applied: STIX
	// negation holds for a value that fails the positive test, which is
	// every existing value when the positive test can never hold.
	negate := func(pos *ioc.Expr, neg bool) (*ioc.Expr, error) {
		if !neg {
			return pos, nil
		}
		if pos == nil {
			return exists, nil
		}
		if pos.Op != ioc.OpPred {
			return nil, fmt.Errorf("%s: negation of a compound test is not expressible per observable", c)
		}
		p := *pos.Pred
		if f.family != 0 {
			// "some address of this family fails the test": as a negated
			// prefix test that also fails for every address of the other
			// family.
			p = familyNegation(p, f.family)
		}
		p.Negate = !p.Negate
		return ioc.Pred(p), nil
	}
	switch c.Op {
	case OpExists:
		return exists, nil
	case OpEq, OpNeq, OpIn:
		lits := []Literal{c.Value}
		if c.Op == OpIn {
			if err := checkHomogeneous(c); err != nil {
				return nil, err
			}
			lits = c.Set
		}
		pos, err := eqPred(c, f, lits)
		if err != nil {
			return nil, err
		}
		return negate(pos, (c.Op == OpNeq) != c.Negated)
	case OpLt, OpLe, OpGt, OpGe:
		pos, err := orderPred(c, f)
		if err != nil {
			return nil, err
		}
		return negate(pos, c.Negated)
	case OpLike, OpMatches:
		if f.class == clPort {
			return negate(nil, c.Negated) // ports are integers: never a string match
		}
		if f.family != 0 {
			return nil, fmt.Errorf("%s: a text match on %s cannot be restricted to one address family (ioc address targets select both)", c, c.Path.Type)
		}
		var re string
		if c.Op == OpLike {
			if f.class != clDirPath && f.class != clIP {
				if sub, ok := likeContains(c.Value.Str); ok && !f.caseFolded() {
					return negate(ioc.Pred(ioc.Predicate{Target: t, Op: ioc.PredContains, Values: []string{sub}}), c.Negated)
				}
			}
			re = likeBody(c.Value.Str)
		} else {
			re = norm.NFC.String(c.Value.Str)
			if _, err := regexp.Compile(re); err != nil {
				return nil, fmt.Errorf("%s: regular expression not supported by RE2: %v", c, err)
			}
			if f.class == clDirPath {
				return nil, fmt.Errorf("%s: MATCHES on a directory path is not expressible on the file path observable", c)
			}
		}
		if f.class == clDirPath {
			re = `^(?:` + re + `)[\\/][^\\/]+$`
		} else if c.Op == OpLike {
			re = `^(?:` + re + `)$`
		}
		flags := "(?s)"
		if c.Op == OpMatches {
			flags = ""
		}
		if f.caseFolded() {
			flags = "(?i)" + flags
		}
		return negate(ioc.Pred(ioc.Predicate{Target: t, Op: ioc.PredRegex, Regex: flags + re}), c.Negated)
	case OpIsSubset, OpIsSuperset:
		if f.class != clIP {
			return negate(nil, c.Negated) // not an address: never contained
		}
		pfx, err := parseCIDR(c.Value.Str)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", c, err)
		}
		var pos *ioc.Expr
		switch {
		case !familyOK(f, pfx.Addr()):
		case c.Op == OpIsSubset:
			pos = ioc.Pred(ioc.Predicate{Target: t, Op: ioc.PredCIDR, Prefixes: []netip.Prefix{pfx}})
		case pfx.IsSingleIP():
			// An event carries single addresses: one contains only itself.
			pos = ioc.Pred(ioc.Predicate{Target: t, Op: ioc.PredEq, Values: []string{pfx.Addr().String()}})
		}
		return negate(pos, c.Negated)
	}
	return nil, fmt.Errorf("%s: operator %s not supported", c, c.Op)
}

// eqPred builds the positive equality/membership predicate.
func eqPred(c *Comparison, f field, lits []Literal) (*ioc.Expr, error) {
	t := f.target()
	var values []string
	var prefixes []netip.Prefix
	anyPrefix := false
	for _, l := range lits {
		switch f.class {
		case clPort:
			n, ok := integral(l)
			if !ok || n < 0 || n > 65535 {
				continue
			}
			values = append(values, strconv.FormatInt(n, 10))
		case clIP:
			if l.Kind != LitString {
				continue
			}
			pfx, isPrefix, err := parseIPValue(l.Str)
			if err != nil && f.family == 0 {
				if _, derr := ioc.NormalizeDomain(l.Str); derr == nil {
					return nil, fmt.Errorf("%s: %q is a domain name; the event model has only addresses for connection endpoints", c, l.Str)
				}
			}
			if err != nil || !familyOK(f, pfx.Addr()) {
				continue
			}
			anyPrefix = anyPrefix || isPrefix
			prefixes = append(prefixes, pfx)
			values = append(values, pfx.Addr().String())
		case clDirPath:
			if l.Kind != LitString || l.Str == "" {
				continue
			}
			values = append(values, l.Str)
		default:
			if l.Kind != LitString {
				continue
			}
			k, v, err := ioc.Normalize(f.kind, l.Str)
			if err != nil || k != f.kind {
				continue
			}
			values = append(values, v)
		}
	}
	if len(values) == 0 {
		return nil, nil
	}
	if f.class == clDirPath {
		alts := make([]string, len(values))
		for i, v := range values {
			alts[i] = regexp.QuoteMeta(v)
		}
		return ioc.Pred(ioc.Predicate{Target: t, Op: ioc.PredRegex, Regex: `^(?:` + strings.Join(alts, "|") + `)[\\/][^\\/]+$`}), nil
	}
	if anyPrefix {
		return ioc.Pred(ioc.Predicate{Target: t, Op: ioc.PredCIDR, Prefixes: prefixes}), nil
	}
	op := ioc.PredEq
	if len(values) > 1 {
		op = ioc.PredIn
	}
	return ioc.Pred(ioc.Predicate{Target: t, Op: op, Values: values}), nil
}

// integral returns the integer value of a numeric literal equal to an integer.
func integral(l Literal) (int64, bool) {
	switch l.Kind {
	case LitInt:
		return l.Int, true
	case LitFloat:
		if l.Float == math.Trunc(l.Float) && math.Abs(l.Float) < 1e15 {
			return int64(l.Float), true
		}
	}
	return 0, false
}

// orderPred builds the positive ordering predicate (ports only).
func orderPred(c *Comparison, f field) (*ioc.Expr, error) {
	if f.class != clPort {
		if c.Value.Kind != LitString {
			return nil, nil // a string never orders against a non-string
		}
		return nil, fmt.Errorf("%s: ordering comparison on %s has no ioc predicate", c, f.kind)
	}
	var x float64
	switch c.Value.Kind {
	case LitInt:
		x = float64(c.Value.Int)
	case LitFloat:
		x = c.Value.Float
	default:
		return nil, nil // an integer never orders against a non-number
	}
	// Integer ports: v > x  <=>  v >= floor(x)+1, v < x <=> v <= ceil(x)-1.
	var op ioc.PredOp
	var n float64
	switch c.Op {
	case OpGt:
		op, n = ioc.PredGe, math.Floor(x)+1
	case OpGe:
		op, n = ioc.PredGe, math.Ceil(x)
	case OpLt:
		op, n = ioc.PredLe, math.Ceil(x)-1
	case OpLe:
		op, n = ioc.PredLe, math.Floor(x)
	}
	if math.Abs(n) > 1e15 {
		n = math.Copysign(1e15, n)
	}
	return ioc.Pred(ioc.Predicate{Target: f.target(), Op: op, Num: int64(n)}), nil
}

// likeBody converts a LIKE pattern (NFC-normalised) to an unanchored
// RE2 body: % is any run of characters, _ any one character.
func likeBody(like string) string {
	like = norm.NFC.String(like)
	var b strings.Builder
	for _, r := range like {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	return b.String()
}

// parseCIDR parses the operand of ISSUBSET/ISSUPERSET: a CIDR prefix or a
// single address (a full-length prefix).
func parseCIDR(s string) (netip.Prefix, error) {
	p, err := ioc.ParsePrefix(s)
	if err != nil || (p.Addr().Zone() != "") {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR prefix", s)
	}
	return p, nil
}

// familyAll is the prefix of every address of a family (4 or 6).
func familyAll(family int) netip.Prefix {
	if family == 4 {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
}

// familyNegation rewrites a positive address predicate (PredEq, PredIn or
// PredCIDR of the family's addresses) as a PredCIDR that also holds for
// every address of the other family, so that its negation holds exactly
// for addresses of the family that fail the original test.
func familyNegation(p ioc.Predicate, family int) ioc.Predicate {
	var prefixes []netip.Prefix
	switch p.Op {
	case ioc.PredCIDR:
		prefixes = append(prefixes, p.Prefixes...)
	case ioc.PredEq, ioc.PredIn:
		for _, v := range p.Values {
			if a, err := netip.ParseAddr(v); err == nil {
				prefixes = append(prefixes, netip.PrefixFrom(a, a.BitLen()))
			}
		}
	}
	other := 6
	if family == 6 {
		other = 4
	}
	prefixes = append(prefixes, familyAll(other))
	return ioc.Predicate{Target: p.Target, Op: ioc.PredCIDR, Negate: p.Negate, Prefixes: prefixes}
}
