// Package allowlist decides whether an observed value is known benign, so
// that a match on it is suppressed (and counted) instead of alerted.
//
// Sources are MISP warninglists (a directory of */list.json files in the
// format of github.com/MISP/misp-warninglists) and local allowlist files
// (one value per line, optional "kind:" prefix, # comments).
//
// Contract:
//   - An *Allowlist is immutable once built by New or Load and safe for
//     any number of concurrent readers; to change it, build a new one and
//     swap it in (Holder wraps an atomic.Pointer for that, e.g. on SIGHUP).
//     A nil *Allowlist allows nothing.
//   - Allowed does not allocate (regex lists aside): IP lookups use a
//     gaissmai/bart table, exact and hostname lookups hash sets (walking
//     the parent domains), substring lists a sparse Aho-Corasick automaton.
//     It is meant for the hit path (once per indicator hit).
//   - Bad input never panics: a malformed list file is an error naming the
//     file (and line for local files); an entry a list cannot use (a regex
//     RE2 cannot express, a value of no applicable kind) is skipped and
//     reported in ListInfo.Skipped, never silently.
//
// Warninglist semantics (type → how an entry matches a value of a kind
// the list applies to, see matching_attributes below):
//   - cidr: the address is inside the prefix (a bare address is a /32 or
//     /128; 4-in-6 entries are unmapped). Applies to IP kinds, and to the
//     host of a URL when the list applies to URLs.
//   - hostname: the domain is the entry or a subdomain of it (leading and
//     trailing dots ignored). For URLs and e-mail addresses, their host.
//   - string: exact equality with the value normalised for the kind (hash
//     case, domain case and trailing dot, IP forms). An entry with a
//     leading "." ("…google.com" style) has hostname semantics. For URLs
//     and e-mail addresses a domain entry is compared with their host.
//   - substring: the value contains the entry (case-folded for kinds whose
//     values are lower-case: domains, URLs, e-mails, hashes).
//   - regex: PHP-style "/re/flags" translated to Go RE2 (flags i, m, s, U;
//     g, u, D ignored); RE2 has no look-around or back-references, so such
//     entries are skipped and reported.
//
// matching_attributes (MISP attribute types) map to ioc kinds: ip-src,
// ip-dst, ip-src|port, ip-dst|port, domain|ip → ipv4+ipv6; hostname,
// domain, domain|ip, hostname|port → domain; url, uri, link → url;
// email, email-src, email-dst, target-email, whois-registrant-email,
// dns-soa-email → email; md5, sha1, sha256, sha512 and their filename|
// and x509-fingerprint- forms → the hash kinds; ja3-fingerprint-md5 →
// ja3; user-agent; filename; regkey. Types with no ioc kind (sha224,
// ssdeep, phone-number...) are ignored; a list without
// matching_attributes applies to every kind its type fits.
//
// Local files: each line is a value, optionally prefixed by an ioc kind
// name and a colon ("domain:intranet.example", "cidr:10.0.0.0/8",
// "sha256:…"); without a prefix the kind is inferred (IP, CIDR, hash by
// length, URL, e-mail, domain). IPs and CIDRs allow addresses; a domain
// allows itself and its subdomains, also as the host of a URL or e-mail;
// other kinds are exact. "#" starts a comment (at line start or after
// white space).
package allowlist

import (
	"bytes"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"sync/atomic"

	"github.com/gaissmai/bart"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// List types.
const (
	TypeCIDR      = "cidr"
	TypeString    = "string"
	TypeHostname  = "hostname"
	TypeSubstring = "substring"
	TypeRegex     = "regex"
	TypeLocal     = "local" // a local allowlist file
)

// List is one parsed allowlist, ready to be combined by New.
type List struct {
	Name        string     // short name: the warninglist directory name, or the local file's base name
	Title       string     // the warninglist's "name" (human title); the file name for local lists
	Description string     // the warninglist's description
	Source      string     // file it was read from
	Type        string     // cidr, string, hostname, substring, regex or local
	Version     int        // warninglist version; 0 for local lists
	Kinds       []ioc.Kind // kinds the list applies to
	Skipped     []string   // entries not usable, with the reason

	entries []entry
}

// entry is one usable value of a list: for each kind it applies to, what
// to insert where.
type entry struct {
	kind   ioc.Kind
	how    how
	value  string       // exact / suffix / substring value, normalised for kind
	prefix netip.Prefix // cidr
	re     *regexp.Regexp
}

type how uint8

const (
	howExact     how = iota // value equals
	howSuffix               // domain: value is the entry or a subdomain; url/email: host is
	howHostExact            // url/email: host equals
	howPrefix               // IP inside prefix (for url: host IP)
	howSubstring            // value contains
	howRegex                // value matches
)

// ListInfo describes a loaded list (for logs, metrics and `status`).
type ListInfo struct {
	Name    string
	Title   string
	Type    string
	Source  string
	Entries int        // usable entries
	Kinds   []ioc.Kind // kinds it applies to
	Skipped []string   // entries not usable, with the reason
}

// table holds every entry that applies to one kind.
type table struct {
	exact     map[string]int32
	suffix    map[string]int32
	hostExact map[string]int32
	prefixes  *bart.Table[int32]
	subSet    map[string]int32 // substring -> first list (build time only)
	subs      *substrMatcher
	regexes   []regexEntry
}

type regexEntry struct {
	re   *regexp.Regexp
	list int32
}

// Allowlist is the union of several lists, compiled into per-kind lookup
// structures. Immutable; safe for concurrent use. The zero value and nil
// allow nothing.
type Allowlist struct {
	lists  []ListInfo
	tables []*table // indexed by ioc.Kind
}

// New compiles lists into an Allowlist. When several lists hold the same
// value, the first list (in argument order) is reported.
func New(lists ...*List) (*Allowlist, error) {
	maxKind := ioc.KindInvalid
	for _, k := range ioc.Kinds() {
		maxKind = max(maxKind, k)
	}
	a := &Allowlist{tables: make([]*table, int(maxKind)+1)}
	for _, l := range lists {
		if l == nil {
			continue
		}
		a.lists = append(a.lists, ListInfo{Name: l.Name, Title: l.Title, Type: l.Type, Source: l.Source,
			Entries: countValues(l.entries), Kinds: l.Kinds, Skipped: l.Skipped})
		idx := int32(len(a.lists) - 1)
		for _, e := range l.entries {
			t := a.table(e.kind)
			switch e.how {
			case howExact:
				putFirst(&t.exact, e.value, idx)
			case howSuffix:
				putFirst(&t.suffix, e.value, idx)
			case howHostExact:
				putFirst(&t.hostExact, e.value, idx)
			case howPrefix:
				if t.prefixes == nil {
					t.prefixes = new(bart.Table[int32])
				}
				if _, exists := t.prefixes.Get(e.prefix); !exists {
					t.prefixes.Insert(e.prefix, idx)
				}
			case howSubstring:
				putFirst(&t.subSet, e.value, idx)
			case howRegex:
				t.regexes = append(t.regexes, regexEntry{re: e.re, list: idx})
			}
		}
	}
	for k, t := range a.tables {
		if t != nil && len(t.subSet) > 0 {
			pats := slices.Sorted(maps.Keys(t.subSet))
			lists := make([]int32, len(pats))
			for i, p := range pats {
				lists[i] = t.subSet[p]
			}
			t.subSet = nil
			t.subs = newSubstrMatcher(pats, lists, foldsCase(ioc.Kind(k)))
		}
	}
	return a, nil
}

// countValues counts the distinct source values of a list's entries
// (an entry applied to several kinds counts once).
func countValues(es []entry) int {
	seen := make(map[string]struct{}, len(es))
	for _, e := range es {
		k := e.value
		switch e.how {
		case howPrefix:
			k = e.prefix.String()
		case howRegex:
			k = e.re.String()
		}
		seen[k] = struct{}{}
	}
	return len(seen)
}

func putFirst(m *map[string]int32, k string, v int32) {
	if *m == nil {
		*m = make(map[string]int32)
	}
	if _, ok := (*m)[k]; !ok {
		(*m)[k] = v
	}
}

func (a *Allowlist) table(k ioc.Kind) *table {
	if a.tables[k] == nil {
		a.tables[k] = &table{}
	}
	return a.tables[k]
}

// foldsCase reports whether values of kind k are lower-case once
// normalised (so substring entries are case-folded to match them).
func foldsCase(k ioc.Kind) bool {
	switch k {
	case ioc.KindDomain, ioc.KindURL, ioc.KindEmail, ioc.KindRegistryKey, ioc.KindJA4:
		return true
	}
	return k.IsHash() || k == ioc.KindJA3 || k == ioc.KindJA3S
}

// Lists describes the lists of a, in the order given to New.
func (a *Allowlist) Lists() []ListInfo {
	if a == nil {
		return nil
	}
	return a.lists
}

// Len returns the number of lists in a.
func (a *Allowlist) Len() int {
	if a == nil {
		return 0
	}
	return len(a.lists)
}

// Allowed reports whether value, an observable of kind, is allowlisted,
// and by which list (its Name). For IP kinds addr is used when valid, else
// value is parsed. value must be normalised for kind as ioc.Normalize
// does (observables from engine/observe are). Safe for concurrent use.
func (a *Allowlist) Allowed(kind ioc.Kind, value []byte, addr netip.Addr) (listName string, ok bool) {
	if a == nil || int(kind) >= len(a.tables) {
		return "", false
	}
	t := a.tables[kind]
	if t == nil {
		return "", false
	}
	idx, ok := t.lookup(kind, value, addr)
	if !ok {
		return "", false
	}
	return a.lists[idx].Name, true
}

func (t *table) lookup(kind ioc.Kind, value []byte, addr netip.Addr) (int32, bool) {
	switch kind {
	case ioc.KindIPv4, ioc.KindIPv6:
		if !addr.IsValid() {
			var err error
			if addr, err = netip.ParseAddr(string(value)); err != nil {
				return 0, false
			}
		}
		if t.prefixes != nil {
			if idx, ok := t.prefixes.Lookup(addr.Unmap()); ok {
				return idx, true
			}
		}
	case ioc.KindCIDRv4, ioc.KindCIDRv6:
		if t.prefixes != nil {
			if p, err := ioc.ParsePrefix(string(value)); err == nil {
				if _, idx, ok := t.prefixes.LookupPrefixLPM(p); ok {
					return idx, true
				}
			}
		}
	}
	if idx, ok := t.exact[string(value)]; ok {
		return idx, true
	}
	switch kind {
	case ioc.KindDomain:
		if idx, ok := suffixLookup(t.suffix, value); ok {
			return idx, true
		}
	case ioc.KindURL, ioc.KindEmail:
		var host []byte
		if kind == ioc.KindURL {
			host = ioc.URLHostBytes(value)
		} else if i := bytes.LastIndexByte(value, '@'); i >= 0 {
			host = value[i+1:]
		}
		if len(host) > 0 {
			if idx, ok := t.hostExact[string(host)]; ok {
				return idx, true
			}
			if idx, ok := suffixLookup(t.suffix, host); ok {
				return idx, true
			}
			if t.prefixes != nil && kind == ioc.KindURL && looksLikeIP(host) {
				if ip, err := netip.ParseAddr(string(host)); err == nil {
					if idx, ok := t.prefixes.Lookup(ip.Unmap()); ok {
						return idx, true
					}
				}
			}
		}
	}
	if t.subs != nil {
		if idx, ok := t.subs.match(value); ok {
			return idx, true
		}
	}
	for _, r := range t.regexes {
		if r.re.Match(value) {
			return r.list, true
		}
	}
	return 0, false
}

// looksLikeIP reports whether h may be an IP literal (digits and dots,
// or a colon): the only hosts worth netip.ParseAddr, whose error for a
// name would allocate.
func looksLikeIP(h []byte) bool {
	if bytes.IndexByte(h, ':') >= 0 {
		return true
	}
	for _, c := range h {
		if c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return len(h) > 0
}

// suffixLookup looks name and each parent domain of it up in m
// ("a.b.example" tries "a.b.example", "b.example", "example").
func suffixLookup(m map[string]int32, name []byte) (int32, bool) {
	if len(m) == 0 {
		return 0, false
	}
	for {
		if idx, ok := m[string(name)]; ok {
			return idx, true
		}
		i := 0
		for i < len(name) && name[i] != '.' {
			i++
		}
		if i >= len(name)-1 {
			return 0, false
		}
		name = name[i+1:]
	}
}

// AllowedHit reports whether the observable that produced a hit on ind is
// allowlisted. It checks the observable as observed; when the indicator's
// kind differs from the observable's (a URL's host matched a domain or IP
// indicator, an e-mail's domain matched a domain indicator), it also checks
// that host under the indicator's kind, so that a list of benign domains
// also covers URLs on them when the alert is about the domain. A nil obs
// (a compound expression matched as a whole) is never allowlisted.
func (a *Allowlist) AllowedHit(ind *ioc.Indicator, obs *ioc.Observable) (listName string, ok bool) {
	if a == nil || obs == nil {
		return "", false
	}
	if name, ok := a.Allowed(obs.Kind, obs.Value, obs.Addr); ok {
		return name, true
	}
	if ind == nil || ind.Kind == obs.Kind {
		return "", false
	}
	var host string
	switch obs.Kind {
	case ioc.KindURL:
		host = ioc.URLHost(string(obs.Value))
	case ioc.KindEmail:
		if i := bytes.LastIndexByte(obs.Value, '@'); i >= 0 {
			host = string(obs.Value[i+1:])
		}
	default:
		return "", false
	}
	if host == "" {
		return "", false
	}
	switch ind.Kind {
	case ioc.KindDomain:
		return a.Allowed(ioc.KindDomain, []byte(host), netip.Addr{})
	case ioc.KindIPv4, ioc.KindIPv6, ioc.KindCIDRv4, ioc.KindCIDRv6:
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return "", false
		}
		ip = ip.Unmap()
		return a.Allowed(ioc.AddrKind(ip), []byte(host), ip)
	}
	return "", false
}

// Holder holds the allowlist in force; Store swaps a new one in
// atomically (readers never see a half-built list). The zero Holder holds
// nil (allows nothing). Safe for concurrent use.
type Holder struct{ p atomic.Pointer[Allowlist] }

// Load returns the allowlist in force (possibly nil).
func (h *Holder) Load() *Allowlist { return h.p.Load() }

// Store makes a the allowlist in force.
func (h *Holder) Store(a *Allowlist) { h.p.Store(a) }
