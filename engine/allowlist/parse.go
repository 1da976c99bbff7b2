package allowlist

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// maxSkipped bounds the skipped entries kept per list (the count is exact).
const maxSkipped = 50

// Options says where Load reads lists from.
type Options struct {
	// WarninglistsDir is a directory of MISP warninglists: every
	// <WarninglistsDir>/<name>/list.json is a list named <name>. "" = none.
	WarninglistsDir string
	// Include restricts the warninglists to these (directory names or list
	// titles); empty = all. A name matching no list is an error.
	Include []string
	// Exclude skips these warninglists (directory names or list titles).
	Exclude []string
	// Files are local allowlist files (see the package doc).
	Files []string
}

// Load reads the warninglists and local files of opts and compiles them
// with New: warninglists in directory-name order, then local files in the
// given order. Errors name the file (and line for local files).
func Load(opts Options) (*Allowlist, error) {
	var lists []*List
	if opts.WarninglistsDir != "" {
		ls, err := loadDir(opts)
		if err != nil {
			return nil, err
		}
		lists = append(lists, ls...)
	}
	for _, path := range opts.Files {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("allowlist: %w", err)
		}
		l, err := ParseLocal(f, path)
		f.Close()
		if err != nil {
			return nil, err
		}
		lists = append(lists, l)
	}
	return New(lists...)
}

func loadDir(opts Options) ([]*List, error) {
	ents, err := os.ReadDir(opts.WarninglistsDir)
	if err != nil {
		return nil, fmt.Errorf("allowlist: warninglists dir: %w", err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	inSet := func(set []string, l *List) bool {
		for _, s := range set {
			if s == l.Name || s == l.Title {
				return true
			}
		}
		return false
	}
	found := map[string]bool{}
	var out []*List
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(opts.WarninglistsDir, e.Name(), "list.json")
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("allowlist: %w", err)
		}
		l, err := ParseWarninglist(data, path)
		if err != nil {
			return nil, err
		}
		if len(opts.Include) > 0 && !inSet(opts.Include, l) || inSet(opts.Exclude, l) {
			continue
		}
		found[l.Name], found[l.Title] = true, true
		out = append(out, l)
	}
	for _, n := range opts.Include {
		if !found[n] {
			return nil, fmt.Errorf("allowlist: include %q: no such warninglist in %s", n, opts.WarninglistsDir)
		}
	}
	return out, nil
}

// warninglist is the JSON shape of a MISP warninglist file.
type warninglist struct {
	Name               *string  `json:"name"`
	Description        string   `json:"description"`
	Version            int      `json:"version"`
	Type               *string  `json:"type"`
	MatchingAttributes []string `json:"matching_attributes"`
	List               []string `json:"list"`
}

// ParseWarninglist parses one MISP warninglist (list.json). source names
// the file in errors and is the list's Source; the list's Name is the
// name of the directory holding source (its Title the JSON "name").
func ParseWarninglist(data []byte, source string) (*List, error) {
	var w warninglist
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("allowlist: warninglist %s: %w", source, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("allowlist: warninglist %s: trailing data after the JSON object", source)
	}
	if w.Name == nil || *w.Name == "" {
		return nil, fmt.Errorf("allowlist: warninglist %s: missing \"name\"", source)
	}
	if w.Type == nil {
		return nil, fmt.Errorf("allowlist: warninglist %s: missing \"type\"", source)
	}
	if w.List == nil {
		return nil, fmt.Errorf("allowlist: warninglist %s: missing \"list\"", source)
	}
	typ := *w.Type
	switch typ {
	case TypeCIDR, TypeString, TypeHostname, TypeSubstring, TypeRegex:
	default:
		return nil, fmt.Errorf("allowlist: warninglist %s: type %q (want cidr, string, hostname, substring or regex)", source, typ)
	}
	name := filepath.Base(filepath.Dir(source))
	if name == "." || name == string(filepath.Separator) || name == "" {
		name = *w.Name
	}
	l := &List{Name: name, Title: *w.Name, Description: w.Description, Source: source, Type: typ, Version: w.Version}
	var unmapped []string
	if len(w.MatchingAttributes) == 0 {
		l.Kinds = defaultKinds(typ)
	} else {
		seen := map[ioc.Kind]bool{}
		for _, attr := range w.MatchingAttributes {
			ks := attrKinds(attr)
			if len(ks) == 0 {
				unmapped = append(unmapped, attr)
			}
			for _, k := range ks {
				if fitsType(typ, k) && !seen[k] {
					seen[k] = true
					l.Kinds = append(l.Kinds, k)
				}
			}
		}
		sort.Slice(l.Kinds, func(i, j int) bool { return l.Kinds[i] < l.Kinds[j] })
	}
	if len(l.Kinds) == 0 {
		l.Skipped = append(l.Skipped, fmt.Sprintf("whole list: matching_attributes %v map to no indicator kind", unmapped))
		return l, nil
	}
	skipped := 0
	for i, raw := range w.List {
		es, reason := warningEntries(typ, l.Kinds, raw)
		if reason != "" {
			skipped++
			if len(l.Skipped) < maxSkipped {
				l.Skipped = append(l.Skipped, fmt.Sprintf("list[%d] %q: %s", i, raw, reason))
			}
			continue
		}
		l.entries = append(l.entries, es...)
	}
	if skipped > len(l.Skipped) {
		l.Skipped = append(l.Skipped, fmt.Sprintf("... and %d more skipped entries", skipped-len(l.Skipped)))
	}
	return l, nil
}

// attrKinds maps a MISP attribute type to the ioc kinds it covers.
func attrKinds(attr string) []ioc.Kind {
	switch strings.ToLower(strings.TrimSpace(attr)) {
	case "ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "ip":
		return []ioc.Kind{ioc.KindIPv4, ioc.KindIPv6}
	case "domain|ip":
		return []ioc.Kind{ioc.KindIPv4, ioc.KindIPv6, ioc.KindDomain}
	case "hostname", "domain", "hostname|port":
		return []ioc.Kind{ioc.KindDomain}
	case "url", "uri", "link":
		return []ioc.Kind{ioc.KindURL}
	case "email", "email-src", "email-dst", "target-email", "whois-registrant-email", "dns-soa-email":
		return []ioc.Kind{ioc.KindEmail}
	case "md5", "filename|md5", "x509-fingerprint-md5", "authentihash":
		return []ioc.Kind{ioc.KindMD5}
	case "sha1", "filename|sha1", "x509-fingerprint-sha1":
		return []ioc.Kind{ioc.KindSHA1}
	case "sha256", "filename|sha256", "x509-fingerprint-sha256":
		return []ioc.Kind{ioc.KindSHA256}
	case "sha512", "filename|sha512":
		return []ioc.Kind{ioc.KindSHA512}
	case "ja3-fingerprint-md5":
		return []ioc.Kind{ioc.KindJA3}
	case "user-agent":
		return []ioc.Kind{ioc.KindUserAgent}
	case "filename":
		return []ioc.Kind{ioc.KindFileName}
	case "regkey", "regkey|value":
		return []ioc.Kind{ioc.KindRegistryKey}
	}
	return nil
}

// fitsType reports whether a list of type typ can say anything about
// values of kind k.
func fitsType(typ string, k ioc.Kind) bool {
	switch typ {
	case TypeCIDR:
		return k == ioc.KindIPv4 || k == ioc.KindIPv6 || k == ioc.KindURL
	case TypeHostname:
		return k == ioc.KindDomain || k == ioc.KindURL || k == ioc.KindEmail
	}
	return k.IsAtomic() && k != ioc.KindCIDRv4 && k != ioc.KindCIDRv6
}

func defaultKinds(typ string) []ioc.Kind {
	var out []ioc.Kind
	for _, k := range ioc.Kinds() {
		if fitsType(typ, k) {
			out = append(out, k)
		}
	}
	return out
}

// warningEntries turns one warninglist value into the entries of each
// kind it applies to, or returns why it applies to none.
func warningEntries(typ string, kinds []ioc.Kind, raw string) ([]entry, string) {
	v := strings.TrimSpace(raw)
	if v == "" {
		return nil, "empty value"
	}
	var out []entry
	switch typ {
	case TypeCIDR:
		p, err := ioc.ParsePrefix(v)
		if err != nil {
			return nil, "not an IP address or CIDR prefix"
		}
		for _, k := range kinds {
			out = append(out, entry{kind: k, how: howPrefix, prefix: p})
		}
	case TypeHostname:
		d, err := ioc.NormalizeDomain(strings.Trim(v, "."))
		if err != nil {
			return nil, "not a host name"
		}
		for _, k := range kinds {
			out = append(out, entry{kind: k, how: howSuffix, value: d})
		}
	case TypeString:
		for _, k := range kinds {
			if e, ok := stringEntry(k, v); ok {
				out = append(out, e)
			}
		}
	case TypeSubstring:
		for _, k := range kinds {
			s := v
			if foldsCase(k) {
				s = strings.ToLower(s)
			}
			out = append(out, entry{kind: k, how: howSubstring, value: s})
		}
	case TypeRegex:
		re, err := translateRegex(v)
		if err != nil {
			return nil, err.Error()
		}
		for _, k := range kinds {
			out = append(out, entry{kind: k, how: howRegex, re: re})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Sprintf("not a value of %s", kindNames(kinds))
	}
	return out, ""
}

func kindNames(ks []ioc.Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = k.String()
	}
	return strings.Join(s, ", ")
}

// stringEntry is the exact-match entry of a "string" list value for kind
// k, if v can be a value of k.
func stringEntry(k ioc.Kind, v string) (entry, bool) {
	hostKind := k == ioc.KindDomain || k == ioc.KindURL || k == ioc.KindEmail
	if strings.HasPrefix(v, ".") && hostKind {
		d, err := ioc.NormalizeDomain(strings.Trim(v, "."))
		if err != nil {
			return entry{}, false
		}
		return entry{kind: k, how: howSuffix, value: d}, true
	}
	switch k {
	case ioc.KindIPv4, ioc.KindIPv6:
		if strings.Contains(v, "/") {
			return entry{}, false
		}
		p, err := ioc.ParsePrefix(v)
		if err != nil {
			return entry{}, false
		}
		return entry{kind: k, how: howPrefix, prefix: p}, true
	case ioc.KindURL, ioc.KindEmail:
		if nk, nv, err := ioc.Normalize(k, v); err == nil && nk == k {
			return entry{kind: k, how: howExact, value: nv}, true
		}
		if d, err := ioc.NormalizeDomain(v); err == nil {
			return entry{kind: k, how: howHostExact, value: d}, true
		}
		if k == ioc.KindURL && !strings.Contains(v, "/") {
			if p, err := ioc.ParsePrefix(v); err == nil {
				return entry{kind: k, how: howPrefix, prefix: p}, true
			}
		}
		return entry{}, false
	}
	nk, nv, err := ioc.Normalize(k, v)
	if err != nil || nk != k {
		return entry{}, false
	}
	return entry{kind: k, how: howExact, value: nv}, true
}

// translateRegex turns a PHP (PCRE) regex literal "/re/flags" into a Go
// RE2 regexp. A value without delimiters is taken as a bare RE2 pattern.
func translateRegex(v string) (*regexp.Regexp, error) {
	src, flags := v, ""
	if len(v) >= 2 && strings.ContainsRune("/#~!@%|", rune(v[0])) {
		if end := strings.LastIndexByte(v, v[0]); end > 0 {
			src, flags = v[1:end], v[end+1:]
		}
	}
	var prefix strings.Builder
	for _, f := range flags {
		switch f {
		case 'i', 'm', 's', 'U':
			if prefix.Len() == 0 {
				prefix.WriteString("(?")
			}
			prefix.WriteRune(f)
		case 'g', 'u', 'D':
			// g: not a PCRE flag (JavaScript habit); u: UTF-8, RE2's default;
			// D: "$" only at the end, RE2's default without m.
		default:
			return nil, fmt.Errorf("regex flag %q has no RE2 equivalent", f)
		}
	}
	if prefix.Len() > 0 {
		prefix.WriteString(")")
	}
	re, err := regexp.Compile(prefix.String() + src)
	if err != nil {
		return nil, fmt.Errorf("regex not expressible in RE2 (no look-around or back-references): %v", err)
	}
	return re, nil
}

// ParseLocal parses a local allowlist: one value per line, an optional
// "kind:" prefix (an ioc kind name, e.g. "domain:", "sha256:", "cidr:"),
// "#" comments at line start or after white space, blank lines ignored.
// Without a prefix the kind is inferred. A bad line is an error naming
// source:line. The list's Name is the base name of source.
func ParseLocal(r io.Reader, source string) (*List, error) {
	l := &List{Name: filepath.Base(source), Title: filepath.Base(source), Source: source, Type: TypeLocal}
	kinds := map[ioc.Kind]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if i := commentStart(text); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		kind, value, err := localValue(text)
		if err != nil {
			return nil, fmt.Errorf("allowlist: %s:%d: %w", source, line, err)
		}
		for _, e := range localEntries(kind, value) {
			l.entries = append(l.entries, e)
			kinds[e.kind] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("allowlist: %s:%d: %w", source, line+1, err)
	}
	for k := range kinds {
		l.Kinds = append(l.Kinds, k)
	}
	sort.Slice(l.Kinds, func(i, j int) bool { return l.Kinds[i] < l.Kinds[j] })
	return l, nil
}

// commentStart returns the index of a "#" that starts a comment: at the
// start of the line or after white space; -1 if none.
func commentStart(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return i
		}
	}
	return -1
}

// localValue parses "kind:value" or a bare value (kind inferred) and
// returns the normalised kind and value.
func localValue(text string) (ioc.Kind, string, error) {
	if i := strings.IndexByte(text, ':'); i > 0 && !strings.HasPrefix(text[i+1:], "//") {
		if k, err := ioc.ParseKind(text[:i]); err == nil {
			v := strings.TrimSpace(text[i+1:])
			if !k.IsAtomic() {
				return 0, "", fmt.Errorf("kind %q cannot be allowlisted", text[:i])
			}
			nk, nv, err := ioc.Normalize(k, v)
			if err != nil {
				return 0, "", fmt.Errorf("%s value %q: %w", k, v, err)
			}
			return nk, nv, nil
		}
	}
	return inferKind(text)
}

// inferKind guesses the kind of a bare value: IP, CIDR, hash by length,
// URL, e-mail, domain.
func inferKind(v string) (ioc.Kind, string, error) {
	try := func(k ioc.Kind) (ioc.Kind, string, error) {
		nk, nv, err := ioc.Normalize(k, v)
		if err != nil {
			return 0, "", fmt.Errorf("%q looks like a %s but: %w", v, k, err)
		}
		return nk, nv, nil
	}
	switch {
	case strings.Contains(v, "/") && !strings.Contains(v, "://"):
		if _, err := ioc.ParsePrefix(v); err == nil {
			return try(ioc.KindCIDRv4)
		}
	case strings.Contains(v, "://"):
		return try(ioc.KindURL)
	case strings.Contains(v, "@"):
		return try(ioc.KindEmail)
	}
	if _, err := ioc.ParsePrefix(v); err == nil {
		return try(ioc.KindIPv4)
	}
	if ioc.IsHex(v) {
		if k := ioc.HashKindForLen(len(v)); k != ioc.KindInvalid {
			return try(k)
		}
	}
	if d, err := ioc.NormalizeDomain(v); err == nil {
		return ioc.KindDomain, d, nil
	}
	return 0, "", fmt.Errorf("cannot tell the kind of %q: prefix it with a kind (e.g. \"filename:%s\")", v, v)
}

// localEntries turns a local value into entries: addresses and prefixes
// for every IP kind, domains for domains and the hosts of URLs and
// e-mails, anything else exact.
func localEntries(k ioc.Kind, v string) []entry {
	switch k {
	case ioc.KindIPv4, ioc.KindIPv6, ioc.KindCIDRv4, ioc.KindCIDRv6:
		p, err := ioc.ParsePrefix(v)
		if err != nil {
			return nil
		}
		var out []entry
		for _, kk := range []ioc.Kind{ioc.KindIPv4, ioc.KindIPv6, ioc.KindCIDRv4, ioc.KindCIDRv6, ioc.KindURL} {
			out = append(out, entry{kind: kk, how: howPrefix, prefix: p})
		}
		return out
	case ioc.KindDomain:
		return []entry{
			{kind: ioc.KindDomain, how: howSuffix, value: v},
			{kind: ioc.KindURL, how: howSuffix, value: v},
			{kind: ioc.KindEmail, how: howSuffix, value: v},
		}
	}
	return []entry{{kind: k, how: howExact, value: v}}
}
