package observe

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"unicode/utf8"
	"unsafe"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// Normalisers. Each fast path handles ASCII input without allocating and
// produces exactly what ioc.Normalize produces for the same kind; input
// the fast path does not handle goes to ioc.Normalize (the slow path,
// which allocates). The property "ioc.Normalize(kind, Value) == Value for
// every emitted observable" is tested and fuzzed.

// bstr views b as a string without copying. The string must not outlive
// the call it is passed to.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func trimSpace(b []byte) []byte {
	if len(b) > 0 && b[0] > ' ' && b[len(b)-1] > ' ' {
		return b // the common case; every space byte is <= ' '
	}
	for len(b) > 0 && isASCIISpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isASCIISpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isASCII(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&msb != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

var lowerTab = func() (t [256]byte) {
	for i := range t {
		t[i] = lower(byte(i))
	}
	return t
}()

func appendLower(dst, s []byte) []byte {
	n := len(dst)
	dst = append(dst, s...)
	for i := n; i < len(dst); i++ {
		dst[i] = lowerTab[dst[i]]
	}
	return dst
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// parseIPv4 parses a dotted quad exactly as netip.ParseAddr does (four
// decimal fields 0-255, no leading zeros), without allocating on failure.
func parseIPv4(s []byte) (netip.Addr, bool) {
	var a [4]byte
	field, val, digits := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && val == 0 {
				return netip.Addr{}, false // leading zero
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return netip.Addr{}, false
			}
		case c == '.':
			if digits == 0 || field == 3 {
				return netip.Addr{}, false
			}
			a[field] = byte(val)
			field++
			val, digits = 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if field != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	a[3] = byte(val)
	return netip.AddrFrom4(a), true
}

// maybeIPv6 cheaply rejects strings that cannot be an IPv6 address, so
// that netip.ParseAddr (which allocates its error) is rarely called in
// vain: hex digits, colons and dots only, at least two colons, and either
// "::" or seven colons (six with an embedded IPv4).
func maybeIPv6(s []byte) bool {
	if len(s) < 2 || len(s) > 45 {
		return false
	}
	colons, dots, double := 0, 0, false
	for i, c := range s {
		switch {
		case c == ':':
			colons++
			if i > 0 && s[i-1] == ':' {
				double = true
			}
		case c == '.':
			dots++
		case isHexDigit(c):
		default:
			return false
		}
	}
	if colons < 2 || colons > 7 {
		return false
	}
	if dots > 0 && dots != 3 {
		return false
	}
	return double || colons == 7 || colons == 6 && dots == 3
}

// parseAddr parses an IPv4 or IPv6 address (no zone), unmapped.
func parseAddr(s []byte) (netip.Addr, bool) {
	if a, ok := parseIPv4(s); ok {
		return a, true
	}
	if !maybeIPv6(s) {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(bstr(s))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// appendDomainASCII appends the canonical form of the ASCII domain s
// (already trimmed) as ioc.NormalizeDomain computes it, or reports false
// if NormalizeDomain would reject it (including IP literals).
func appendDomainASCII(dst, s []byte) ([]byte, bool) {
	if len(s) > 0 && s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	if len(s) == 0 || len(s) > 253 {
		return dst, false
	}
	label := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if label == 0 || label > 63 {
				return dst, false
			}
			label = 0
			continue
		}
		c := s[i]
		if !(isAlnum(c) || c == '-' || c == '_') {
			return dst, false
		}
		label++
	}
	if _, ok := parseIPv4(s); ok {
		return dst, false
	}
	return appendLower(dst, s), true
}

// URL normalisation, fast path.

func pathByteOK(c byte) bool {
	if isAlnum(c) {
		return true
	}
	switch c {
	case '-', '.', '_', '~', '/', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@':
		return true
	}
	return false
}

var defaultPort = map[string]string{"http": "80", "https": "443", "ftp": "21", "ws": "80", "wss": "443"}

// appendURLFast appends the ioc.NormalizeURL form of s for the common
// shape scheme://host[:port][/path][?query] with an ASCII domain or IPv4
// host and a path of characters that need no escaping. It reports false
// for anything else, which the caller sends to the slow path.
func appendURLFast(dst, s []byte) ([]byte, bool) {
	i := bytes.Index(s, []byte("://"))
	if i <= 0 || bytes.IndexByte(s, '#') >= 0 {
		return dst, false
	}
	scheme := s[:i]
	if !isLetter(scheme[0]) {
		return dst, false
	}
	for _, c := range scheme {
		if !(isAlnum(c) || c == '+' || c == '-' || c == '.') {
			return dst, false
		}
	}
	rest := s[i+3:]
	end := 0
	for end < len(rest) && rest[end] != '/' && rest[end] != '?' {
		end++
	}
	auth, tail := rest[:end], rest[end:]
	host, port := auth, []byte(nil)
	if j := bytes.IndexByte(auth, ':'); j >= 0 {
		host, port = auth[:j], auth[j+1:]
		for _, c := range port {
			if !isDigit(c) {
				return dst, false
			}
		}
	}
	if len(host) == 0 {
		return dst, false
	}
	start := len(dst)
	dst = appendLower(dst, scheme)
	dst = append(dst, "://"...)
	if a, ok := parseIPv4(host); ok {
		dst = a.AppendTo(dst)
	} else {
		var ok bool
		if dst, ok = appendDomainASCII(dst, host); !ok {
			return dst[:start], false
		}
	}
	if len(port) > 0 && defaultPort[bstr(dst[start:start+len(scheme)])] != bstr(port) {
		dst = append(dst, ':')
		dst = append(dst, port...)
	}
	path, query, hasQuery := tail, []byte(nil), false
	if j := bytes.IndexByte(tail, '?'); j >= 0 {
		path, query, hasQuery = tail[:j], tail[j+1:], true
	}
	for k := 0; k < len(path); k++ {
		c := path[k]
		if c == '%' {
			if k+2 >= len(path) || !isHexDigit(path[k+1]) || !isHexDigit(path[k+2]) {
				return dst[:start], false
			}
			k += 2
			continue
		}
		if !pathByteOK(c) {
			return dst[:start], false
		}
	}
	for _, c := range query {
		if c <= ' ' || c >= 0x7f {
			return dst[:start], false
		}
	}
	if len(path) == 0 {
		dst = append(dst, '/')
	} else {
		dst = append(dst, path...)
	}
	if hasQuery {
		dst = append(dst, '?')
		dst = append(dst, query...)
	}
	return dst, true
}

// Emitters: each appends zero or more observables to the current result.

func (o *Observer) add(k ioc.Kind, r ioc.Role, a netip.Addr, v []byte, field string) {
	if len(o.res.Observables) >= o.maxObs {
		o.res.Truncated = true
		return
	}
	o.res.Observables = append(o.res.Observables, ioc.Observable{Kind: k, Role: r, Addr: a, Value: v, Field: field})
}

// vslice returns the bytes appended to vbuf since start, capacity-limited.
func (o *Observer) vslice(start int) []byte {
	return o.vbuf[start:len(o.vbuf):len(o.vbuf)]
}

func (o *Observer) emitAddr(a netip.Addr, r ioc.Role, field string) {
	start := len(o.vbuf)
	o.vbuf = a.AppendTo(o.vbuf)
	o.add(ioc.AddrKind(a), r, a, o.vslice(start), field)
}

// slow normalises v with ioc.Normalize (allocating) and emits it if the
// kind is unchanged (or is the other address family).
func (o *Observer) slow(k ioc.Kind, r ioc.Role, v []byte, field string) {
	nk, s, err := ioc.Normalize(k, string(v))
	if err != nil || s == "" {
		return
	}
	// ioc.Normalize is not idempotent on some odd inputs (e.g. a URL whose
	// query ends in spaces after trailing Unicode space): emit only values
	// that are their own normal form, so they can equal an indicator.
	if k2, s2, err := ioc.Normalize(nk, s); err != nil || k2 != nk || s2 != s {
		return
	}
	if nk != k && !(k == ioc.KindIPv4 || k == ioc.KindIPv6) {
		return
	}
	if nk == ioc.KindIPv4 || nk == ioc.KindIPv6 {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return
		}
		o.emitAddr(a, r, field)
		return
	}
	start := len(o.vbuf)
	o.vbuf = append(o.vbuf, s...)
	o.add(nk, r, netip.Addr{}, o.vslice(start), field)
}

// emitKind normalises v as kind k and emits it; invalid values are
// skipped.
func (o *Observer) emitKind(k ioc.Kind, r ioc.Role, raw []byte, field string) {
	v := trimSpace(raw)
	if len(v) == 0 {
		return
	}
	switch k {
	case ioc.KindIPv4, ioc.KindIPv6:
		if a, ok := parseAddr(v); ok {
			o.emitAddr(a, r, field)
		}
	case ioc.KindDomain:
		o.emitDomain(v, r, field, false)
	case ioc.KindURL:
		o.emitURL(v, r, field)
	case ioc.KindEmail:
		o.emitEmail(v, r, field)
	case ioc.KindMD5, ioc.KindSHA1, ioc.KindSHA256, ioc.KindSHA512, ioc.KindJA3, ioc.KindJA3S:
		o.emitHex(k, v, r, field)
	case ioc.KindJA4, ioc.KindProcessName, ioc.KindProtocol:
		if !isASCII(v) {
			o.slow(k, r, v, field)
			return
		}
		start := len(o.vbuf)
		o.vbuf = appendLower(o.vbuf, v)
		o.add(k, r, netip.Addr{}, o.vslice(start), field)
	case ioc.KindRegistryKey:
		o.emitRegistry(v, r, field)
	case ioc.KindFileName, ioc.KindFilePath, ioc.KindUserAgent, ioc.KindCommandLine, ioc.KindText:
		o.emitExact(k, raw, r, field)
	case ioc.KindPort:
		n := 0
		for _, c := range v {
			if !isDigit(c) {
				return
			}
			n = n*10 + int(c-'0')
			if n > 65535 {
				return
			}
		}
		start := len(o.vbuf)
		o.vbuf = appendUint(o.vbuf, n)
		o.add(k, r, netip.Addr{}, o.vslice(start), field)
	}
}

func appendUint(dst []byte, n int) []byte {
	var b [8]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

// emitExact emits an exact-match kind: the value as it is (valid UTF-8
// forced, like encoding/json does), unless it is blank.
func (o *Observer) emitExact(k ioc.Kind, v []byte, r ioc.Role, field string) {
	if len(trimSpace(v)) == 0 {
		return
	}
	if !utf8.Valid(v) {
		start := len(o.vbuf)
		o.vbuf = appendValidUTF8(o.vbuf, v)
		v = o.vslice(start)
		if len(bytes.TrimSpace(v)) == 0 {
			return
		}
	} else if !isASCII(v) && len(bytes.TrimSpace(v)) == 0 {
		return // only Unicode spaces
	}
	o.add(k, r, netip.Addr{}, v, field)
}

func appendValidUTF8(dst, s []byte) []byte {
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		if r == utf8.RuneError && n == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, s[:n]...)
		}
		s = s[n:]
	}
	return dst
}

func (o *Observer) emitHex(k ioc.Kind, v []byte, r ioc.Role, field string) {
	if len(v) != ioc.HexLen(k) {
		return
	}
	for _, c := range v {
		if !isHexDigit(c) {
			return
		}
	}
	start := len(o.vbuf)
	o.vbuf = appendLower(o.vbuf, v)
	o.add(k, r, netip.Addr{}, o.vslice(start), field)
}

// emitDomain emits v (trimmed) as a domain, or as an address when it is
// an IP literal. With plausible set (free text) it also requires a
// plausible top-level label and rejects common file extensions.
func (o *Observer) emitDomain(v []byte, r ioc.Role, field string, plausible bool) {
	if a, ok := parseAddr(v); ok {
		o.emitAddr(a, r, field)
		return
	}
	if !isASCII(v) {
		if !plausible {
			o.slow(ioc.KindDomain, r, v, field)
		}
		return
	}
	start := len(o.vbuf)
	var ok bool
	if o.vbuf, ok = appendDomainASCII(o.vbuf, v); !ok {
		o.vbuf = o.vbuf[:start]
		return
	}
	if plausible && !plausibleDomain(o.vbuf[start:]) {
		o.vbuf = o.vbuf[:start]
		return
	}
	o.add(ioc.KindDomain, r, netip.Addr{}, o.vslice(start), field)
}

// emitHost emits an address or a domain name; "host:port" and
// "[v6]:port" lose the port.
func (o *Observer) emitHost(raw []byte, r ioc.Role, field string) {
	v := trimSpace(raw)
	if len(v) == 0 {
		return
	}
	if v[0] == '[' {
		if j := bytes.IndexByte(v, ']'); j > 0 {
			v = v[1:j]
		}
	} else if j := bytes.IndexByte(v, ':'); j >= 0 && bytes.IndexByte(v[j+1:], ':') < 0 {
		v = v[:j] // host:port (an IPv6 address has more than one colon)
	}
	if len(v) > 2 && v[0] == '*' && v[1] == '.' {
		v = v[2:] // a certificate wildcard matches as its parent domain
	}
	if len(v) == 0 {
		return
	}
	o.emitDomain(v, r, field, false)
}

func (o *Observer) emitURL(v []byte, r ioc.Role, field string) {
	start := len(o.vbuf)
	if isASCII(v) {
		var ok bool
		if o.vbuf, ok = appendURLFast(o.vbuf, v); ok {
			o.add(ioc.KindURL, r, netip.Addr{}, o.vslice(start), field)
			return
		}
	}
	o.slow(ioc.KindURL, r, v, field)
}

// emitEmail emits an e-mail address; "Name <addr>" yields addr.
func (o *Observer) emitEmail(v []byte, r ioc.Role, field string) {
	if lt := bytes.LastIndexByte(v, '<'); lt >= 0 {
		if gt := bytes.IndexByte(v[lt:], '>'); gt > 0 {
			v = trimSpace(v[lt+1 : lt+gt])
		}
	}
	at := bytes.LastIndexByte(v, '@')
	if at <= 0 || at == len(v)-1 || bytes.ContainsAny(v, " \t<>") {
		return
	}
	if !isASCII(v) {
		o.slow(ioc.KindEmail, r, v, field)
		return
	}
	start := len(o.vbuf)
	o.vbuf = appendLower(o.vbuf, v[:at+1])
	var ok bool
	if o.vbuf, ok = appendDomainASCII(o.vbuf, v[at+1:]); !ok {
		o.vbuf = o.vbuf[:start]
		return
	}
	o.add(ioc.KindEmail, r, netip.Addr{}, o.vslice(start), field)
}

// emitRegistry emits a registry key as ioc.NormalizeRegistryKey spells
// it.
func (o *Observer) emitRegistry(v []byte, r ioc.Role, field string) {
	if !isASCII(v) {
		o.slow(ioc.KindRegistryKey, r, v, field)
		return
	}
	start := len(o.vbuf)
	for _, c := range v {
		c = lower(c)
		if c == '/' {
			c = '\\'
		}
		o.vbuf = append(o.vbuf, c)
	}
	k := o.vbuf[start:]
	if n, hive, ok := ioc.RegistryHiveAt(k); ok {
		// Rewrite the hive in place: copy the rest after the long name.
		restStart := start + n
		o.vbuf = append(o.vbuf, hive...)
		o.vbuf = append(o.vbuf, o.vbuf[restStart:start+len(k)]...)
		m := copy(o.vbuf[start:], o.vbuf[start+len(k):])
		o.vbuf = o.vbuf[:start+m]
	}
	for len(o.vbuf) > start && o.vbuf[len(o.vbuf)-1] == '\\' {
		o.vbuf = o.vbuf[:len(o.vbuf)-1]
	}
	if len(o.vbuf) == start || isASCIISpace(o.vbuf[len(o.vbuf)-1]) {
		o.vbuf = o.vbuf[:start]
		return
	}
	o.add(ioc.KindRegistryKey, r, netip.Addr{}, o.vslice(start), field)
}

// emitHashByLen emits a hex string as the hash kind of its length.
func (o *Observer) emitHashByLen(v []byte, r ioc.Role, field string) {
	if k := ioc.HashKindForLen(len(v)); k != ioc.KindInvalid {
		o.emitHex(k, v, r, field)
	}
}

// emitHashes parses a Sysmon Hashes list: "SHA1=..,MD5=..,SHA256=..,IMPHASH=..".
func (o *Observer) emitHashes(v []byte, r ioc.Role, field string) {
	for len(v) > 0 {
		var part []byte
		if j := bytes.IndexByte(v, ','); j >= 0 {
			part, v = v[:j], v[j+1:]
		} else {
			part, v = v, nil
		}
		part = trimSpace(part)
		eq := bytes.IndexByte(part, '=')
		if eq < 0 {
			o.emitHashByLen(part, r, field)
			continue
		}
		alg, h := trimSpace(part[:eq]), trimSpace(part[eq+1:])
		var k ioc.Kind
		switch {
		case asciiEqualFold(alg, "md5"):
			k = ioc.KindMD5
		case asciiEqualFold(alg, "sha1"), asciiEqualFold(alg, "sha-1"):
			k = ioc.KindSHA1
		case asciiEqualFold(alg, "sha256"), asciiEqualFold(alg, "sha-256"):
			k = ioc.KindSHA256
		case asciiEqualFold(alg, "sha512"), asciiEqualFold(alg, "sha-512"):
			k = ioc.KindSHA512
		default:
			continue // IMPHASH and other algorithms have no indicator kind
		}
		o.emitHex(k, h, r, field)
	}
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// emitDNSResults parses Sysmon QueryResults: "type:  5 cname.example;::ffff:192.0.2.1;".
func (o *Observer) emitDNSResults(v []byte, r ioc.Role, field string) {
	for len(v) > 0 {
		var part []byte
		if j := bytes.IndexByte(v, ';'); j >= 0 {
			part, v = v[:j], v[j+1:]
		} else {
			part, v = v, nil
		}
		part = trimSpace(part)
		if bytes.HasPrefix(part, []byte("type:")) {
			part = trimSpace(part[5:])
			for len(part) > 0 && isDigit(part[0]) {
				part = part[1:]
			}
			part = trimSpace(part)
		}
		if len(part) > 0 {
			o.emitDomain(part, r, field, false)
		}
	}
}

// emitPath emits a path as KindFilePath and its base name as k.
func (o *Observer) emitPath(k ioc.Kind, raw []byte, r ioc.Role, field string) {
	o.emitExact(ioc.KindFilePath, raw, r, field)
	if k == ioc.KindFilePath {
		return
	}
	v := trimSpace(raw)
	base := v
	for i := len(v) - 1; i >= 0; i-- {
		if v[i] == '/' || v[i] == '\\' {
			base = v[i+1:]
			break
		}
	}
	if len(base) == 0 {
		return
	}
	if k == ioc.KindProcessName {
		o.emitKind(k, r, base, field)
		return
	}
	o.emitExact(k, base, r, field)
}
