package ioc

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Normalize returns the canonical form of value for kind, and the kind
// refined where the value decides it: an address given as KindIPv4 that is
// IPv6 becomes KindIPv6 (and the reverse), a CIDR of either family gets
// the right CIDR kind, and a prefix covering one address (/32, /128)
// becomes that address. Errors name the kind and the value.
//
// Canonical forms:
//   - addresses: netip text form, 4-in-6 unmapped ("::ffff:1.2.3.4" -> "1.2.3.4"), zones rejected;
//   - prefixes: masked ("10.1.2.3/8" -> "10.0.0.0/8");
//   - domains: lower-case, no trailing dot, IDN as punycode ("Bücher.example." -> "xn--bcher-kva.example");
//   - URLs: scheme and host lower-case, host as punycode, default port dropped, fragment dropped, empty path as "/";
//   - e-mail: lower-case, domain part as a domain;
//   - hashes and JA3/JA3S: lower-case hex of the kind's exact length;
//   - registry keys: hive spelled out (HKLM -> HKEY_LOCAL_MACHINE, \REGISTRY\MACHINE -> HKEY_LOCAL_MACHINE), case-folded, no trailing backslash;
//   - JA4 and process names: lower-case;
//   - file names, paths, user agents and substrings: unchanged (exact), but never empty.
func Normalize(kind Kind, value string) (Kind, string, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return kind, "", fmt.Errorf("%s: empty value", kind)
	}
	switch kind {
	case KindIPv4, KindIPv6:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return kind, "", fmt.Errorf("%s %q: %w", kind, value, err)
		}
		if a.Zone() != "" {
			return kind, "", fmt.Errorf("%s %q: zoned address", kind, value)
		}
		a = a.Unmap()
		return AddrKind(a), a.String(), nil
	case KindCIDRv4, KindCIDRv6:
		p, err := ParsePrefix(v)
		if err != nil {
			return kind, "", fmt.Errorf("%s %q: %w", kind, value, err)
		}
		if p.IsSingleIP() {
			return AddrKind(p.Addr()), p.Addr().String(), nil
		}
		if p.Addr().Is4() {
			return KindCIDRv4, p.String(), nil
		}
		return KindCIDRv6, p.String(), nil
	case KindDomain:
		d, err := NormalizeDomain(v)
		if err != nil {
			return kind, "", fmt.Errorf("domain %q: %w", value, err)
		}
		return kind, d, nil
	case KindURL:
		u, err := NormalizeURL(v)
		if err != nil {
			return kind, "", fmt.Errorf("url %q: %w", value, err)
		}
		return kind, u, nil
	case KindEmail:
		at := strings.LastIndexByte(v, '@')
		if at <= 0 || at == len(v)-1 || strings.ContainsAny(v, " \t<>") {
			return kind, "", fmt.Errorf("email %q: not local@domain", value)
		}
		d, err := NormalizeDomain(v[at+1:])
		if err != nil {
			return kind, "", fmt.Errorf("email %q: %w", value, err)
		}
		return kind, strings.ToLower(v[:at]) + "@" + d, nil
	case KindMD5, KindSHA1, KindSHA256, KindSHA512, KindJA3, KindJA3S:
		want := HexLen(kind)
		if len(v) != want {
			return kind, "", fmt.Errorf("%s %q: %d characters, want %d hex digits", kind, value, len(v), want)
		}
		if !IsHex(v) {
			return kind, "", fmt.Errorf("%s %q: not hexadecimal", kind, value)
		}
		return kind, strings.ToLower(v), nil
	case KindRegistryKey:
		return kind, NormalizeRegistryKey(v), nil
	case KindJA4, KindProcessName:
		return kind, strings.ToLower(v), nil
	case KindFileName, KindFilePath, KindUserAgent, KindCommandLine, KindSubstring, KindProtocol, KindText:
		if !utf8.ValidString(value) {
			return kind, "", fmt.Errorf("%s %q: invalid UTF-8", kind, value)
		}
		if kind == KindProtocol {
			return kind, strings.ToLower(v), nil
		}
		// Exact kinds keep their inner and outer spaces: a substring " -enc " is meant as written.
		return kind, value, nil
	case KindPort:
		n := 0
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c < '0' || c > '9' || n > 65535 {
				return kind, "", fmt.Errorf("port %q: not a number 0-65535", value)
			}
			n = n*10 + int(c-'0')
		}
		if n > 65535 {
			return kind, "", fmt.Errorf("port %q: not a number 0-65535", value)
		}
		return kind, fmt.Sprint(n), nil
	}
	return kind, "", fmt.Errorf("kind %s has no value to normalise", kind)
}

// AddrKind returns KindIPv4 for an IPv4 (or 4-in-6) address and KindIPv6
// otherwise.
func AddrKind(a netip.Addr) Kind {
	if a.Unmap().Is4() {
		return KindIPv4
	}
	return KindIPv6
}

// ParsePrefix parses a CIDR prefix (a bare address is taken as a
// full-length prefix), unmaps 4-in-6 prefixes of length >= 96 to IPv4, and
// returns it masked.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// HexLen returns the number of hex digits of a hash-like kind, or 0.
func HexLen(k Kind) int {
	switch k {
	case KindMD5, KindJA3, KindJA3S:
		return 32
	case KindSHA1:
		return 40
	case KindSHA256:
		return 64
	case KindSHA512:
		return 128
	}
	return 0
}

// HashKindForLen returns the hash kind with n hex digits (MD5, SHA-1,
// SHA-256, SHA-512), or KindInvalid.
func HashKindForLen(n int) Kind {
	switch n {
	case 32:
		return KindMD5
	case 40:
		return KindSHA1
	case 64:
		return KindSHA256
	case 128:
		return KindSHA512
	}
	return KindInvalid
}

// IsHex reports whether s is non-empty and all hexadecimal digits.
func IsHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// errDomain is returned for names that cannot be a DNS domain.
var errDomain = errors.New("not a domain name")

// NormalizeDomain returns the canonical form of a domain name: lower-case,
// without a trailing dot, non-ASCII labels as punycode. It rejects empty
// labels, labels over 63 octets, names over 253 octets, characters other
// than letters, digits, '-' and '_', and IP address literals.
func NormalizeDomain(s string) (string, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	if s == "" {
		return "", errDomain
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		s = strings.ToLower(s)
	} else {
		a, err := idna.Lookup.ToASCII(s)
		if err != nil {
			// Lookup refuses some names that real malware uses (e.g. with '_');
			// fall back to plain punycode of the lower-cased labels.
			a, err = idna.Punycode.ToASCII(strings.ToLower(s))
			if err != nil {
				return "", fmt.Errorf("idna: %w", err)
			}
		}
		s = strings.ToLower(a)
	}
	if err := checkDomainASCII(s); err != nil {
		return "", err
	}
	return s, nil
}

// checkDomainASCII validates a lower-case ASCII domain name.
func checkDomainASCII(s string) error {
	if len(s) > 253 {
		return fmt.Errorf("%w: %d octets (max 253)", errDomain, len(s))
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return fmt.Errorf("%w: an IP address", errDomain)
	}
	label := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if label == 0 {
				return fmt.Errorf("%w: empty label", errDomain)
			}
			if label > 63 {
				return fmt.Errorf("%w: label of %d octets (max 63)", errDomain, label)
			}
			label = 0
			continue
		}
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%w: character %q", errDomain, c)
		}
		label++
	}
	return nil
}

var defaultPorts = map[string]string{"http": "80", "https": "443", "ftp": "21", "ws": "80", "wss": "443"}

// NormalizeURL returns the canonical form of an absolute URL: scheme and
// host lower-case, host as punycode (IP literals in netip form), default
// port dropped, fragment dropped, an empty path written "/". Path and query
// are kept as they are (their case and escaping are significant).
func NormalizeURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if u.Scheme == "" || u.Host == "" {
		return "", errors.New("not an absolute URL with a host")
	}
	scheme := strings.ToLower(u.Scheme)
	host := u.Hostname()
	port := u.Port()
	var h string
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		h = a.String()
		if a.Is6() {
			h = "[" + h + "]"
		}
	} else {
		h, err = NormalizeDomain(host)
		if err != nil {
			return "", fmt.Errorf("host %q: %w", host, err)
		}
	}
	if port != "" && defaultPorts[scheme] != port {
		h += ":" + port
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(scheme)
	b.WriteString("://")
	if u.User != nil {
		b.WriteString(u.User.String())
		b.WriteByte('@')
	}
	b.WriteString(h)
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	b.WriteString(p)
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteByte('?')
		b.WriteString(u.RawQuery)
	}
	return b.String(), nil
}

// URLHost returns the host of a normalised URL (without port or brackets),
// or "" when there is none. It does not allocate.
func URLHost(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return ""
	}
	h := u[i+3:]
	if j := strings.IndexAny(h, "/?#"); j >= 0 {
		h = h[:j]
	}
	if j := strings.LastIndexByte(h, '@'); j >= 0 {
		h = h[j+1:]
	}
	if strings.HasPrefix(h, "[") {
		if j := strings.IndexByte(h, ']'); j > 0 {
			return h[1:j]
		}
		return ""
	}
	if j := strings.LastIndexByte(h, ':'); j >= 0 {
		h = h[:j]
	}
	return h
}

var hives = []struct{ from, to string }{
	{`\registry\machine`, "hkey_local_machine"},
	{`\registry\user`, "hkey_users"},
	{"hklm", "hkey_local_machine"},
	{"hkcu", "hkey_current_user"},
	{"hkcr", "hkey_classes_root"},
	{"hku", "hkey_users"},
	{"hkcc", "hkey_current_config"},
}

// NormalizeRegistryKey case-folds a Windows registry key, spells out the
// hive (HKLM, HKCU, HKCR, HKU, HKCC, \REGISTRY\MACHINE, \REGISTRY\USER),
// turns '/' into '\' and drops a trailing backslash.
func NormalizeRegistryKey(s string) string {
	k := strings.ToLower(strings.TrimSpace(s))
	k = strings.ReplaceAll(k, "/", `\`)
	for _, h := range hives {
		if k == h.from || strings.HasPrefix(k, h.from+`\`) {
			k = h.to + k[len(h.from):]
			break
		}
	}
	return strings.TrimRight(k, `\`)
}
