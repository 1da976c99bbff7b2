package match

import (
	"bytes"
	"fmt"
	"net/netip"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// refMatcher is the slow, obviously-correct matcher the Snapshot is
// checked against. It shares no code with the Snapshot: plain Go maps
// keyed by the indicators' normalised text, CIDRs found by trying every
// prefix length of the address, domains by trying every suffix made with
// strings.Split, substrings and compounds by a linear scan over all of
// them with strings.Contains and a direct walk of the ioc.Expr tree.
type refMatcher struct {
	exact     map[refKey][]*ioc.Indicator
	cidrs     map[netip.Prefix][]*ioc.Indicator
	cidrBits  []int            // prefix lengths present, longest first (both families)
	substr    []*ioc.Indicator // KindSubstring and KindCommandLine
	compounds []*ioc.Indicator
	normVals  map[*ioc.Predicate][]string
	addrVals  map[*ioc.Predicate][]netip.Addr
	regexes   map[*ioc.Predicate]*regexp.Regexp
}

func newRef(inds []*ioc.Indicator) *refMatcher {
	r := &refMatcher{exact: map[refKey][]*ioc.Indicator{}, cidrs: map[netip.Prefix][]*ioc.Indicator{},
		normVals: map[*ioc.Predicate][]string{}, addrVals: map[*ioc.Predicate][]netip.Addr{}, regexes: map[*ioc.Predicate]*regexp.Regexp{}}
	for _, ind := range inds {
		switch ind.Kind {
		case ioc.KindCIDRv4, ioc.KindCIDRv6:
			p := netip.MustParsePrefix(ind.Value)
			r.cidrs[p] = append(r.cidrs[p], ind)
			if !slices.Contains(r.cidrBits, p.Bits()) {
				r.cidrBits = append(r.cidrBits, p.Bits())
			}
		case ioc.KindSubstring, ioc.KindCommandLine:
			r.substr = append(r.substr, ind)
		case ioc.KindCompound:
			r.compounds = append(r.compounds, ind)
			r.prepare(ind.Expr)
		default:
			k := ind.Kind
			if k == ioc.KindIPv6 {
				k = ioc.KindIPv4
			}
			key := refKey{k, ind.Value}
			r.exact[key] = append(r.exact[key], ind)
		}
	}
	slices.Sort(r.cidrBits)
	slices.Reverse(r.cidrBits)
	return r
}

func (r *refMatcher) prepare(e *ioc.Expr) {
	if e.Pred != nil {
		p := e.Pred
		if p.Op == ioc.PredEq || p.Op == ioc.PredIn {
			for _, v := range p.Values {
				_, nv, err := ioc.Normalize(p.Target.Kind, v)
				if err != nil {
					panic(err)
				}
				r.normVals[p] = append(r.normVals[p], nv)
				if a, err := netip.ParseAddr(nv); err == nil {
					r.addrVals[p] = append(r.addrVals[p], a)
				}
			}
		}
		if p.Op == ioc.PredRegex {
			r.regexes[p] = regexp.MustCompile(p.Regex)
		}
	}
	for _, a := range e.Args {
		r.prepare(a)
	}
}

func (r *refMatcher) lookup(k ioc.Kind, v string) []*ioc.Indicator {
	if k == ioc.KindIPv6 {
		k = ioc.KindIPv4
	}
	return r.exact[refKey{k, v}]
}

type refKey struct {
	kind  ioc.Kind // IPv6 folded into IPv4
	value string
}

func (r *refMatcher) addrHits(a netip.Addr) []*ioc.Indicator {
	a = a.Unmap()
	out := append([]*ioc.Indicator(nil), r.lookup(ioc.KindIPv4, a.String())...)
	// every prefix length present, longest first (a prefix length longer
	// than the address is skipped by Prefix's error)
	for _, bits := range r.cidrBits {
		p, err := a.Prefix(bits)
		if err != nil {
			continue
		}
		if inds, ok := r.cidrs[p]; ok {
			return append(out, inds...)
		}
	}
	return out
}

func (r *refMatcher) domainHits(name string) []*ioc.Indicator {
	var out []*ioc.Indicator
	labels := strings.Split(name, ".")
	for i := range labels {
		out = append(out, r.lookup(ioc.KindDomain, strings.Join(labels[i:], "."))...)
	}
	return out
}

// hits returns the indicators one observable matches (duplicates allowed).
func (r *refMatcher) hits(o *ioc.Observable) []*ioc.Indicator {
	v := string(o.Value)
	switch o.Kind {
	case ioc.KindIPv4, ioc.KindIPv6:
		a, ok := refAddr(o)
		if !ok {
			return nil
		}
		return r.addrHits(a)
	case ioc.KindDomain:
		return r.domainHits(v)
	case ioc.KindURL:
		out := r.lookup(ioc.KindURL, v)
		host := ioc.URLHost(v)
		if a, err := netip.ParseAddr(host); err == nil {
			return append(out, r.addrHits(a)...)
		}
		if host != "" {
			out = append(out, r.domainHits(host)...)
		}
		return out
	case ioc.KindEmail:
		out := r.lookup(ioc.KindEmail, v)
		if at := strings.LastIndex(v, "@"); at >= 0 && at+1 < len(v) {
			out = append(out, r.domainHits(v[at+1:])...)
		}
		return out
	case ioc.KindCommandLine, ioc.KindText:
		var out []*ioc.Indicator
		for _, ind := range r.substr {
			if ind.Kind == ioc.KindCommandLine && o.Kind != ioc.KindCommandLine {
				continue
			}
			if strings.Contains(v, ind.Value) {
				out = append(out, ind)
			}
		}
		return out
	case ioc.KindPort, ioc.KindProtocol:
		return nil
	}
	// hashes are case-insensitive hex; other exact kinds are compared as they are
	if ioc.HexLen(o.Kind) > 0 {
		v = strings.ToLower(v)
	}
	return r.lookup(o.Kind, v)
}

// refAddr is the observable's address: Addr, or Value parsed when Addr
// is unset; unmapped; zoned addresses are not addresses.
func refAddr(o *ioc.Observable) (netip.Addr, bool) {
	a := o.Addr
	if !a.IsValid() {
		var err error
		if a, err = netip.ParseAddr(string(o.Value)); err != nil {
			return netip.Addr{}, false
		}
	}
	if a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func (r *refMatcher) match(obs []ioc.Observable) map[*ioc.Indicator]int32 {
	out := map[*ioc.Indicator]int32{}
	for i := range obs {
		for _, ind := range r.hits(&obs[i]) {
			if _, ok := out[ind]; !ok {
				out[ind] = int32(i)
			}
		}
	}
	for _, ind := range r.compounds {
		if r.eval(ind.Expr, obs) {
			out[ind] = -1
		}
	}
	return out
}

func (r *refMatcher) eval(e *ioc.Expr, obs []ioc.Observable) bool {
	switch e.Op {
	case ioc.OpAnd:
		for _, a := range e.Args {
			if !r.eval(a, obs) {
				return false
			}
		}
		return true
	case ioc.OpOr:
		for _, a := range e.Args {
			if r.eval(a, obs) {
				return true
			}
		}
		return false
	case ioc.OpNot:
		return !r.eval(e.Args[0], obs)
	}
	p := e.Pred
	var selected []*ioc.Observable
	for i := range obs {
		o := &obs[i]
		kindOK := o.Kind == p.Target.Kind
		if p.Target.Kind == ioc.KindIPv4 || p.Target.Kind == ioc.KindIPv6 {
			kindOK = o.Kind == ioc.KindIPv4 || o.Kind == ioc.KindIPv6
		}
		if kindOK && (p.Target.Role == ioc.RoleAny || p.Target.Role == o.Role) && (p.Target.Field == "" || p.Target.Field == o.Field) {
			selected = append(selected, o)
		}
	}
	if p.Op == ioc.PredExists {
		return (len(selected) > 0) != p.Negate
	}
	for _, o := range selected {
		if r.sat(p, o) != p.Negate {
			return true
		}
	}
	return false
}

func (r *refMatcher) sat(p *ioc.Predicate, o *ioc.Observable) bool {
	switch p.Op {
	case ioc.PredEq, ioc.PredIn:
		if p.Target.Kind == ioc.KindIPv4 || p.Target.Kind == ioc.KindIPv6 {
			a, ok := refAddr(o)
			for _, want := range r.addrVals[p] {
				if ok && a == want {
					return true
				}
			}
			return false
		}
		for _, want := range r.normVals[p] {
			if string(o.Value) == want {
				return true
			}
		}
	case ioc.PredContains:
		for _, want := range p.Values {
			if strings.Contains(string(o.Value), want) {
				return true
			}
		}
	case ioc.PredCIDR:
		a, ok := refAddr(o)
		for _, pf := range p.Prefixes {
			if ok && pf.Masked().Contains(a) {
				return true
			}
		}
	case ioc.PredRegex:
		return r.regexes[p].Match(o.Value)
	case ioc.PredLt, ioc.PredLe, ioc.PredGt, ioc.PredGe:
		n, err := strconv.ParseInt(string(o.Value), 10, 64)
		if err != nil {
			return false
		}
		switch p.Op {
		case ioc.PredLt:
			return n < p.Num
		case ioc.PredLe:
			return n <= p.Num
		case ioc.PredGt:
			return n > p.Num
		}
		return n >= p.Num
	}
	return false
}

// eventGen builds events with planted hits and near misses from the
// indicator set.
type eventGen struct {
	*gen
	inds []*ioc.Indicator
}

// plant returns an observable derived from a random indicator: a hit or
// a near miss.
func (g *eventGen) plant() []ioc.Observable {
	ind := g.inds[g.r.IntN(len(g.inds))]
	miss := g.r.IntN(4) == 0
	roles := []ioc.Role{ioc.RoleAny, ioc.RoleSrc, ioc.RoleDst}
	role := roles[g.r.IntN(3)]
	switch ind.Kind {
	case ioc.KindIPv4, ioc.KindIPv6:
		a := netip.MustParseAddr(ind.Value)
		if miss {
			a = a.Next()
		}
		if a.Is4() && g.r.IntN(4) == 0 {
			m := netip.AddrFrom16(a.As16()) // 4-in-6 form
			return []ioc.Observable{{Kind: ioc.KindIPv6, Role: role, Field: "ip", Addr: m, Value: []byte(m.String())}}
		}
		if g.r.IntN(5) == 0 {
			host := a.String()
			if a.Is6() {
				host = "[" + host + "]"
			}
			return []ioc.Observable{ob(ioc.KindURL, role, "url.full", "http://"+host+"/x")}
		}
		return []ioc.Observable{ob(ioc.KindIPv4, role, "destination.ip", a.String())}
	case ioc.KindCIDRv4, ioc.KindCIDRv6:
		p := netip.MustParsePrefix(ind.Value)
		a := g.inPrefix(p)
		if miss {
			// just outside: the address right after the last one of the prefix
			last := p.Addr()
			for range 1 {
				b := last.AsSlice()
				for bit := p.Bits(); bit < len(b)*8; bit++ {
					b[bit/8] |= 1 << (7 - bit%8)
				}
				last, _ = netip.AddrFromSlice(b)
			}
			if n := last.Next(); n.IsValid() {
				a = n
			}
		}
		return []ioc.Observable{ob(ioc.KindIPv4, role, "source.ip", a.String())}
	case ioc.KindDomain:
		d := ind.Value
		switch {
		case miss:
			d = "not" + d // notevil.com trap
		case g.r.IntN(2) == 0:
			d = g.label() + "." + d
		}
		switch g.r.IntN(4) {
		case 0:
			return []ioc.Observable{ob(ioc.KindURL, role, "url.full", g.url(d))}
		case 1:
			return []ioc.Observable{ob(ioc.KindEmail, role, "email.from.address", "someone@"+d)}
		}
		return []ioc.Observable{ob(ioc.KindDomain, role, "dns.question.name", d)}
	case ioc.KindURL:
		u := ind.Value
		if miss {
			u += "&x=1"
		}
		return []ioc.Observable{ob(ioc.KindURL, role, "url.full", u)}
	case ioc.KindEmail:
		e := ind.Value
		if miss {
			e = "x" + e
		}
		return []ioc.Observable{ob(ioc.KindEmail, role, "email.to.address", e)}
	case ioc.KindSubstring, ioc.KindCommandLine:
		v := ind.Value
		if miss {
			v = v[:len(v)-1]
		}
		k := ioc.KindCommandLine
		if g.r.IntN(2) == 0 {
			k = ioc.KindText
		}
		return []ioc.Observable{ob(k, ioc.RoleAny, "message", "prefix "+v+" suffix "+g.label())}
	case ioc.KindCompound:
		return g.satisfy(ind.Expr, miss)
	}
	v := ind.Value
	if miss {
		if ind.Kind.IsHash() || ioc.HexLen(ind.Kind) > 0 {
			v = v[:len(v)-1] + "0"
			if v == ind.Value {
				v = v[:len(v)-1] + "1"
			}
		} else {
			v += "x"
		}
	}
	k := ind.Kind
	if ioc.HexLen(k) == 32 && g.r.IntN(4) == 0 {
		k = hashKinds[g.r.IntN(len(hashKinds))] // same hex as another kind: a trap
	}
	return []ioc.Observable{ob(k, role, "f", v)}
}

// satisfy returns observables drawn from the leaves of e (a best effort
// to satisfy it; the reference decides).
func (g *eventGen) satisfy(e *ioc.Expr, miss bool) []ioc.Observable {
	var out []ioc.Observable
	var walk func(e *ioc.Expr)
	walk = func(e *ioc.Expr) {
		for _, a := range e.Args {
			if e.Op == ioc.OpOr && g.r.IntN(2) == 0 {
				continue
			}
			walk(a)
		}
		p := e.Pred
		if p == nil {
			return
		}
		role := p.Target.Role
		if miss && g.r.IntN(2) == 0 {
			role = ioc.Role(g.r.IntN(3))
		}
		field := p.Target.Field
		if field == "" {
			field = "f"
		}
		switch p.Op {
		case ioc.PredEq, ioc.PredIn:
			v := p.Values[g.r.IntN(len(p.Values))]
			if p.Target.Kind == ioc.KindPort && g.r.IntN(3) == 0 {
				v = "53"
			}
			out = append(out, ob(p.Target.Kind, role, field, v))
		case ioc.PredContains:
			k := p.Target.Kind
			v := "x" + p.Values[0] + "y"
			if k == ioc.KindURL {
				v = "http://h.test" + "/" + strings.TrimPrefix(p.Values[0], "/") + "z"
			}
			out = append(out, ob(k, role, field, v))
		case ioc.PredCIDR:
			out = append(out, ob(ioc.KindIPv4, role, field, g.inPrefix(p.Prefixes[0]).String()))
		case ioc.PredRegex:
			out = append(out, ob(p.Target.Kind, role, field, "zz"+p.Regex[:2]+strconv.Itoa(g.r.IntN(99))))
		case ioc.PredExists:
			v := "x.exe"
			switch p.Target.Kind {
			case ioc.KindIPv4:
				v = "192.0.2.77"
			case ioc.KindDomain:
				v = "exists.test"
			case ioc.KindEmail:
				v = "a@b.test"
			case ioc.KindURL:
				v = "http://exists.test/"
			}
			if g.r.IntN(2) == 0 {
				out = append(out, ob(p.Target.Kind, role, field, v))
			}
		case ioc.PredLt, ioc.PredLe, ioc.PredGt, ioc.PredGe:
			out = append(out, ob(p.Target.Kind, role, field, strconv.FormatInt(p.Num+int64(g.r.IntN(3))-1, 10)))
		}
	}
	walk(e)
	return out
}

// noise returns a random observable that almost never matches.
func (g *eventGen) noise() ioc.Observable {
	switch g.r.IntN(8) {
	case 0:
		return ob(ioc.KindIPv4, ioc.RoleSrc, "source.ip", g.ip4().String())
	case 1:
		return ob(ioc.KindIPv6, ioc.RoleDst, "destination.ip", g.ip6().String())
	case 2:
		return ob(ioc.KindDomain, ioc.RoleAny, "dns.question.name", g.domain())
	case 3:
		return ob(ioc.KindPort, ioc.RoleDst, "destination.port", strconv.Itoa(g.r.IntN(65536)))
	case 4:
		return ob(ioc.KindURL, ioc.RoleAny, "url.full", g.url(g.domain()))
	case 5:
		return ob(ioc.KindText, ioc.RoleAny, "message", "GET /"+g.label()+" 200 "+g.label())
	case 6:
		return ob(ioc.KindSHA256, ioc.RoleAny, "file.hash.sha256", g.hexN(64))
	}
	return ob(ioc.KindFileName, ioc.RoleAny, "file.name", g.label()+".exe")
}

func (g *eventGen) event() []ioc.Observable {
	var obs []ioc.Observable
	n := g.r.IntN(10)
	for range n {
		if g.r.IntN(3) == 0 {
			obs = append(obs, g.plant()...)
		} else {
			obs = append(obs, g.noise())
		}
	}
	return obs
}

// TestMatchAgainstReference compares the Snapshot with the reference
// matcher on 100k seeded random indicators of mixed kinds and 100k
// events with planted hits and near misses, for both CIDR tables and
// with and without Bloom filters.
func TestMatchAgainstReference(t *testing.T) {
	nInds, nEvents := 100_000, 100_000
	if testing.Short() {
		nInds, nEvents = 20_000, 10_000
	}
	g := newGen(42)
	var inds []*ioc.Indicator
	for range nInds {
		ind := g.atomic()
		if len(inds) > 0 && g.r.IntN(100) == 0 { // shared value, distinct indicator
			prev := inds[g.r.IntN(len(inds))]
			if prev.Kind.IsAtomic() {
				ind.Kind, ind.Value = prev.Kind, prev.Value
			}
		}
		if len(inds) > 0 && g.r.IntN(200) == 0 { // shared id
			ind.ID = inds[g.r.IntN(len(inds))].ID
		}
		inds = append(inds, ind)
	}
	for range 150 {
		inds = append(inds, g.substring(ioc.KindSubstring), g.substring(ioc.KindCommandLine))
	}
	for range 120 {
		inds = append(inds, g.compound())
	}
	ref := newRef(inds)
	eg := &eventGen{gen: g, inds: inds}
	events := make([][]ioc.Observable, nEvents)
	want := make([][]Hit, nEvents)
	totalHits := 0
	kindsHit := map[ioc.Kind]int{}
	t0 := time.Now()
	for i := range events {
		events[i] = eg.event()
	}
	// The reference is read-only: compute it on every CPU.
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(events); i += workers {
				for ind, oi := range ref.match(events[i]) {
					want[i] = append(want[i], Hit{Indicator: ind, Obs: oi})
				}
			}
		}()
	}
	wg.Wait()
	for i := range want {
		for _, h := range want[i] {
			kindsHit[h.Indicator.Kind]++
		}
		totalHits += len(want[i])
	}
	t.Logf("reference: %v", time.Since(t0))
	t.Logf("%d indicators, %d events, %d reference hits, by kind %v", len(inds), nEvents, totalHits, kindsHit)
	for _, k := range []ioc.Kind{ioc.KindIPv4, ioc.KindIPv6, ioc.KindCIDRv4, ioc.KindCIDRv6, ioc.KindDomain, ioc.KindURL,
		ioc.KindEmail, ioc.KindMD5, ioc.KindSHA256, ioc.KindSubstring, ioc.KindCommandLine, ioc.KindCompound} {
		if kindsHit[k] == 0 {
			t.Errorf("no planted hit of kind %s: the test is too weak", k)
		}
	}
	for _, tc := range []struct {
		opts   Options
		events int
	}{
		{Options{CIDR: CIDRBart}, nEvents},
		{Options{CIDR: CIDRCIDRanger}, nEvents},
		{Options{CIDR: CIDRBart, DisableBloom: true}, nEvents / 5},
		{Options{CIDR: CIDRBart, Automaton: AutomatonCloudflare}, nEvents / 5},
	} {
		opts := tc.opts
		t.Run(fmt.Sprintf("%s/bloom=%v/%s", opts.CIDR, !opts.DisableBloom, opts.Automaton), func(t *testing.T) {
			t.Parallel() // read-only sharing of inds, events and want
			s, err := Compile(inds, opts)
			if err != nil {
				t.Fatal(err)
			}
			var dst []Hit
			bad := 0
			t0 := time.Now()
			defer func() { t.Logf("match: %v", time.Since(t0)) }()
			for i, ev := range events[:tc.events] {
				dst = s.Match(ev, dst[:0])
				if diff := diffHits(dst, want[i]); diff != "" {
					bad++
					if bad <= 5 {
						t.Errorf("event %d %s: %s", i, fmtObs(ev), diff)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d events differ", bad, len(events))
			}
		})
	}
}

func diffHits(got []Hit, wantHits []Hit) string {
	if sameHits(got, wantHits) {
		return ""
	}
	var b strings.Builder
	want := make(map[*ioc.Indicator]int32, len(wantHits))
	for _, h := range wantHits {
		want[h.Indicator] = h.Obs
	}
	seen := map[*ioc.Indicator]bool{}
	for _, h := range got {
		if seen[h.Indicator] {
			fmt.Fprintf(&b, "duplicate hit %s %s; ", h.Indicator.ID, h.Indicator.Value)
		}
		seen[h.Indicator] = true
		w, ok := want[h.Indicator]
		switch {
		case !ok:
			fmt.Fprintf(&b, "extra %s %s=%q@%d; ", h.Indicator.ID, h.Indicator.Kind, h.Indicator.Value, h.Obs)
		case w != h.Obs:
			fmt.Fprintf(&b, "%s %q obs %d, want %d; ", h.Indicator.ID, h.Indicator.Value, h.Obs, w)
		}
	}
	for ind, w := range want {
		if !seen[ind] {
			fmt.Fprintf(&b, "missing %s %s=%q expr=%v @%d; ", ind.ID, ind.Kind, ind.Value, ind.Expr, w)
		}
	}
	return b.String()
}

func fmtObs(obs []ioc.Observable) string {
	var b bytes.Buffer
	for _, o := range obs {
		fmt.Fprintf(&b, "[%s/%s@%s %q] ", o.Kind, o.Role, o.Field, o.Value)
	}
	return b.String()
}

// sameHits is the fast path of diffHits: equal as sets, no duplicates.
func sameHits(got, want []Hit) bool {
	if len(got) != len(want) {
		return false
	}
	for i, g := range got {
		for _, h := range got[:i] {
			if h.Indicator == g.Indicator {
				return false
			}
		}
		found := false
		for _, w := range want {
			if w == g {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
