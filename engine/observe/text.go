package observe

import (
	"bytes"
	"encoding/binary"
	"net/netip"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// Free-text scanning (raw lines, message fields, command lines).
//
// A text is cut into URLs and tokens. URLs are found at "://" with an
// http, https or ftp scheme and run to the next space, quote, '<', '>' or
// similar; trailing punctuation is dropped. Tokens are runs of letters,
// digits and . - _ : @ + outside URLs, classified as:
//   - e-mail: local@domain with a plausible domain;
//   - IPv6: two or more colons that netip parses, except colon-separated
//     two-digit hex groups without "::" (TLS serials, MAC-like values,
//     e.g. 5C:9C:AA:01:02:03:04:05 parses as IPv6 but is not one);
//     other tokens with colons are split at the colons ("1.2.3.4:443",
//     "md5:<hex>");
//   - IPv4: a dotted quad as netip parses it (no leading zeros);
//   - hash: every run of exactly 32, 40, 64 or 128 hex digits bounded by
//     non-hex characters (also inside tokens and URLs). Free text has no
//     field names, so a 32-hex certificate serial or a random id of that
//     length is emitted as an MD5: it can only match an equal MD5
//     indicator, a collision that is a real (if small) false-positive risk;
//   - domain: at least two labels, a top-level label of two or more
//     letters, not a common file extension that is not a TLD (exe, dll,
//     html, log, ...), and not a path segment (preceded by '/' or '\').
//     File names with extensions that ARE top-level domains (.zip, .mov,
//     .sh, .py, .pl, .md) are emitted as domains: they cost a lookup and
//     only match a domain indicator of the same name, while skipping them
//     would miss real C2 domains under those TLDs. Non-ASCII (IDN) names
//     in free text are not extracted (URLs with IDN hosts are).

// tokenByte marks bytes that may be part of a free-text token.
var tokenByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range ".-_:@+" {
		t[c] = true
	}
	return t
}()

// tokenMark flags the token bytes that make a token worth classifying.
var tokenMark = func() (t [256]byte) {
	t['.'], t[':'], t['@'] = 1, 1, 1
	return t
}()

// urlEnd marks bytes that end a URL in free text.
var urlEnd = func() (t [256]bool) {
	for c := 0; c <= ' '; c++ {
		t[c] = true
	}
	for _, c := range "\"'<>`\\{}|^\x7f" {
		t[c] = true
	}
	return t
}()

// notTLD lists file extensions that are not delegated top-level domains,
// so a token ending in one of them is a file name, not a domain.
var notTLD = map[string]bool{
	"exe": true, "dll": true, "sys": true, "bat": true, "cmd": true, "vbs": true, "vbe": true,
	"js": true, "jse": true, "wsf": true, "hta": true, "scr": true, "cpl": true, "msi": true, "lnk": true,
	"tmp": true, "log": true, "txt": true, "html": true, "htm": true, "php": true, "asp": true,
	"aspx": true, "jsp": true, "cgi": true, "json": true, "xml": true, "yml": true, "yaml": true,
	"ini": true, "cfg": true, "conf": true, "jpg": true, "jpeg": true, "png": true, "gif": true,
	"svg": true, "css": true, "pdf": true, "doc": true, "docx": true, "xls": true, "xlsx": true,
	"ppt": true, "pptx": true, "gz": true, "tar": true, "tgz": true, "bz": true, "rar": true,
	"iso": true, "bin": true, "dat": true, "db": true, "jar": true, "pem": true, "crt": true,
	"key": true, "csv": true, "bak": true, "old": true, "swp": true, "lock": true, "pid": true,
	"sock": true, "ico": true, "woff": true, "map": true, "class": true, "java": true, "img": true,
	"vhd": true, "dmp": true, "evtx": true, "etl": true, "ocx": true, "drv": true, "dylib": true,
}

// plausibleDomain reports whether the canonical domain d looks like a
// real name in free text (see the package comment in text.go).
func plausibleDomain(d []byte) bool {
	dot := bytes.LastIndexByte(d, '.')
	if dot <= 0 {
		return false
	}
	tld := d[dot+1:]
	if len(tld) < 2 {
		return false
	}
	for _, c := range tld {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	if d[0] == '-' || d[0] == '_' {
		return false
	}
	return !notTLD[bstr(tld)]
}

type span struct{ lo, hi int }

// scanText emits the URLs, addresses, domains, hashes and e-mail
// addresses found in s.
func (o *Observer) scanText(s []byte, r ioc.Role, field string) {
	o.spans = o.spans[:0]
	for off := 0; ; {
		j := bytes.Index(s[off:], []byte("://"))
		if j < 0 {
			break
		}
		j += off
		off = j + 3
		lo := j
		for lo > 0 && isLetter(s[lo-1]) {
			lo--
		}
		scheme := s[lo:j]
		if !(asciiEqualFold(scheme, "http") || asciiEqualFold(scheme, "https") || asciiEqualFold(scheme, "ftp")) {
			continue
		}
		if lo > 0 && (isAlnum(s[lo-1]) || s[lo-1] >= 0x80) {
			continue
		}
		hi := j + 3
		for hi < len(s) && !urlEnd[s[hi]] {
			hi++
		}
		for hi > j+3 && bytes.IndexByte([]byte(".,;:!?)]}"), s[hi-1]) >= 0 {
			hi--
		}
		off = hi
		if hi == j+3 {
			continue
		}
		o.emitURL(s[lo:hi], r, field)
		o.spans = append(o.spans, span{lo, hi})
	}
	o.scanTokens(s, r, field)
}

// scanTokens classifies the tokens of s (maximal runs of tokenByte) that
// have a '.', ':' or '@' or are at least 32 bytes long, left to right;
// other tokens cannot yield anything. Instead of classifying every byte
// it jumps to the next mark byte (SWAR, 8 bytes at a time) and probes
// one byte in 32 before it for a long token: a run of 32 or more token
// bytes that starts at or after i covers one of i+31, i+63, ...
// Tokens inside URLs found by scanText (o.spans) yield only hashes.
func (o *Observer) scanTokens(s []byte, r ioc.Role, field string) {
	sp := 0
	n := len(s)
	m := -1 // the next mark at or after i (valid when m >= i)
	for i := 0; i < n; {
		if m < i {
			m = nextMark(s, i)
		}
		// A long token before the mark? Probe i+31, i+63, ... below m.
		start, end := -1, -1
		for p := i + 31; p < m; p += 32 {
			if !tokenByte[s[p]] {
				continue
			}
			a, b := p, p+1
			for a > i && tokenByte[s[a-1]] {
				a--
			}
			for b < n && tokenByte[s[b]] {
				b++
			}
			if b-a >= 32 || b > m {
				start, end = a, b
				break
			}
			i = b // a short plain token: probe again after it
			p = b - 1
		}
		if start < 0 {
			if m >= n {
				return
			}
			a, b := m, m+1
			for a > i && tokenByte[s[a-1]] {
				a--
			}
			for b < n && tokenByte[s[b]] {
				b++
			}
			start, end = a, b
		}
		i = end
		for sp < len(o.spans) && o.spans[sp].hi <= start {
			sp++
		}
		tok := s[start:end]
		if sp < len(o.spans) && o.spans[sp].lo < end {
			o.scanHex(tok, r, field) // inside a URL: only hashes
			continue
		}
		var prev byte
		if start > 0 {
			prev = s[start-1]
		}
		o.token(tok, prev, r, field, 0)
	}
}

// nextMark returns the index of the first '.', ':' or '@' in s at or
// after i, or len(s).
func nextMark(s []byte, i int) int {
	for ; i+8 <= len(s); i += 8 {
		if markIn8(binary.LittleEndian.Uint64(s[i:])) {
			break
		}
	}
	for ; i < len(s); i++ {
		if tokenMark[s[i]] != 0 {
			return i
		}
	}
	return len(s)
}

// markIn8 reports whether any of the 8 bytes of w is '.', ':' or '@'
// (exact, as specialIn8).
func markIn8(w uint64) bool {
	d := w ^ ('.' * lsb)
	c := w ^ (':' * lsb)
	a := w ^ ('@' * lsb)
	return ((d-lsb)&^d|(c-lsb)&^c|(a-lsb)&^a)&msb != 0
}

// scanHex emits the hex runs of hash length in t bounded by non-hex bytes.
func (o *Observer) scanHex(t []byte, r ioc.Role, field string) {
	if len(t) < 32 {
		return
	}
	for i := 0; i < len(t); {
		if !isHexDigit(t[i]) {
			i++
			continue
		}
		start := i
		for i < len(t) && isHexDigit(t[i]) {
			i++
		}
		o.emitHashByLen(t[start:i], r, field)
	}
}

func trimTokenEdges(t []byte) []byte {
	for len(t) > 0 && (t[0] == '.' || t[0] == '-' || t[0] == '_' || t[0] == '+' || t[0] == '@') {
		t = t[1:]
	}
	for len(t) > 0 {
		c := t[len(t)-1]
		if c == '.' || c == '-' || c == '_' || c == '+' || c == '@' {
			t = t[:len(t)-1]
			continue
		}
		break
	}
	return t
}

// serialLike reports whether t is colon-separated two-digit hex groups
// without "::" (a certificate serial or a MAC-like value).
func serialLike(t []byte) bool {
	if bytes.Contains(t, []byte("::")) {
		return false
	}
	n := 0
	for _, c := range t {
		if c == ':' {
			if n != 2 {
				return false
			}
			n = 0
			continue
		}
		n++
	}
	return n == 2
}

func emailLocalByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '+' || c == '-'
}

// token classifies one free-text token (see the comment at the top of
// text.go).
func (o *Observer) token(t []byte, prev byte, r ioc.Role, field string, depth int) {
	t = trimTokenEdges(t)
	if len(t) < 3 || depth > 2 {
		return
	}
	if at := bytes.LastIndexByte(t, '@'); at >= 0 {
		local, dom := t[:at], t[at+1:]
		if bytes.IndexByte(dom, ':') < 0 && len(local) > 0 && bytes.IndexByte(local, '@') < 0 && bytes.IndexByte(local, ':') < 0 {
			ok := true
			for _, c := range local {
				if !emailLocalByte(c) {
					ok = false
					break
				}
			}
			if ok {
				start := len(o.vbuf)
				var dok bool
				o.vbuf = appendLower(o.vbuf, t[:at+1])
				if o.vbuf, dok = appendDomainASCII(o.vbuf, dom); dok && plausibleDomain(o.vbuf[start+at+1:]) {
					o.add(ioc.KindEmail, r, netip.Addr{}, o.vslice(start), field)
					o.scanHex(local, r, field)
					return
				}
				o.vbuf = o.vbuf[:start]
			}
		}
		for len(t) > 0 {
			j := bytes.IndexByte(t, '@')
			if j < 0 {
				o.token(t, '@', r, field, depth+1)
				break
			}
			o.token(t[:j], prev, r, field, depth+1)
			t, prev = t[j+1:], '@'
		}
		return
	}
	if bytes.IndexByte(t, ':') >= 0 {
		if maybeIPv6(t) && !serialLike(t) {
			if a, ok := parseAddr(t); ok {
				o.emitAddr(a, r, field)
				return
			}
		}
		for len(t) > 0 {
			j := bytes.IndexByte(t, ':')
			if j < 0 {
				o.token(t, ':', r, field, depth+1)
				break
			}
			o.token(t[:j], prev, r, field, depth+1)
			t, prev = t[j+1:], ':'
		}
		return
	}
	o.scanHex(t, r, field)
	if bytes.IndexByte(t, '.') < 0 {
		return
	}
	if a, ok := parseIPv4(t); ok {
		o.emitAddr(a, r, field)
		return
	}
	if prev == '/' || prev == '\\' {
		return // a path segment such as /index.html
	}
	o.emitDomain(t, r, field, true)
}
