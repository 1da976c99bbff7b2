package observe

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON walker: a strict, bounded, allocation-free tokenizer over one
// event. It tracks the dotted path of the current value in o.path and
// hands each scalar to o.leaf. It accepts exactly what encoding/json.Valid
// accepts (strings are not checked for valid UTF-8, as in encoding/json),
// within the limits of Options.

// strSpecial marks the bytes that end a fast run inside a JSON string.
var strSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'] = true
	t['\\'] = true
	return t
}()

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// specialIn8 reports whether any of the 8 bytes of w is '"', '\\' or below
// 0x20 (SWAR: a byte is zero after XOR with the pattern iff it matched).
// The test is exact (no false positives or negatives).
func specialIn8(w uint64) bool { return specialMask8(w) != 0 }

// specialMask8 returns the bytes of w that specialIn8 looks for as their
// high bits; the lowest set bit marks the first such byte exactly (a
// borrow only propagates upwards from a matching byte, so higher bits
// may be false positives).
func specialMask8(w uint64) uint64 {
	q := w ^ ('"' * lsb)
	b := w ^ ('\\' * lsb)
	return ((q-lsb)&^q | (b-lsb)&^b | (w-0x20*lsb)&^w) & msb
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (o *Observer) skipWS() {
	if o.pos < len(o.data) && o.data[o.pos] > ' ' {
		return // the common case: no white space
	}
	o.skipWSSlow()
}

func (o *Observer) skipWSSlow() {
	d := o.data
	i := o.pos
	for i < len(d) && isWS(d[i]) {
		i++
	}
	o.pos = i
}

// walk checks and walks one JSON document.
func (o *Observer) walk(data []byte, f Format) error {
	o.data = data
	o.pos = 0
	o.path = o.path[:0]
	o.fields = 0
	o.skip = false
	o.curFormat = f
	o.skipWS()
	if err := o.value(0); err != nil {
		return err
	}
	o.skipWS()
	if o.pos != len(data) {
		return o.malformed("invalid character %q after top-level value", data[o.pos])
	}
	return nil
}

func (o *Observer) malformed(format string, args ...any) error {
	return newError(ErrMalformed, o.curFormat, o.pos, format, args...)
}

func (o *Observer) eof(what string) error {
	return newError(ErrMalformed, o.curFormat, o.pos, "unexpected end of input in %s", what)
}

func (o *Observer) value(depth int) error {
	d := o.data
	if o.pos >= len(d) {
		return o.eof("value")
	}
	o.fields++
	if o.fields > o.maxFields {
		return newError(ErrTooManyFields, o.curFormat, o.pos, "more than %d values", o.maxFields)
	}
	switch c := d[o.pos]; c {
	case '{':
		if depth+1 > o.maxDepth {
			return newError(ErrTooDeep, o.curFormat, o.pos, "nesting deeper than %d", o.maxDepth)
		}
		return o.object(depth + 1)
	case '[':
		if depth+1 > o.maxDepth {
			return newError(ErrTooDeep, o.curFormat, o.pos, "nesting deeper than %d", o.maxDepth)
		}
		return o.array(depth + 1)
	case '"':
		start := o.pos + 1
		end, esc, err := o.str()
		if err != nil {
			return err
		}
		if !o.skip {
			o.leaf(d[start:end], esc, false)
		}
		return nil
	case 't':
		return o.literal("true")
	case 'f':
		return o.literal("false")
	case 'n':
		return o.literal("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			start := o.pos
			if err := o.number(); err != nil {
				return err
			}
			if !o.skip {
				o.leaf(d[start:o.pos], false, true)
			}
			return nil
		}
		return o.malformed("invalid character %q looking for a value", c)
	}
}

func (o *Observer) literal(lit string) error {
	d := o.data
	for i := 0; i < len(lit); i++ {
		if o.pos+i >= len(d) {
			o.pos += i
			return o.eof("literal " + lit)
		}
		if d[o.pos+i] != lit[i] {
			o.pos += i
			return o.malformed("invalid character %q in literal %s", d[o.pos], lit)
		}
	}
	o.pos += len(lit)
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (o *Observer) number() error {
	d := o.data
	i := o.pos
	if d[i] == '-' {
		i++
	}
	switch {
	case i >= len(d):
		o.pos = i
		return o.eof("number")
	case d[i] == '0':
		i++
	case d[i] >= '1' && d[i] <= '9':
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	default:
		o.pos = i
		return o.malformed("invalid character %q in number", d[i])
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || !isDigit(d[i]) {
			o.pos = i
			if i >= len(d) {
				return o.eof("number")
			}
			return o.malformed("invalid character %q after decimal point in number", d[i])
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			o.pos = i
			if i >= len(d) {
				return o.eof("number")
			}
			return o.malformed("invalid character %q in exponent of number", d[i])
		}
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	}
	o.pos = i
	return nil
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// str scans the string whose opening quote is at o.pos; it returns the
// offset of the closing quote and whether the string has escapes, and
// leaves o.pos after the closing quote.
func (o *Observer) str() (end int, esc bool, err error) {
	if end, esc, ok := strEnd(o.data, o.pos); ok {
		o.pos = end + 1
		return end, esc, nil
	}
	return o.strErr()
}

// skipPlain returns the offset of the first '"', '\\' or control byte at
// or after d[i] (len(d) when there is none), testing 8 bytes at a time.
func skipPlain(d []byte, i int) int {
	for i+8 <= len(d) {
		if m := specialMask8(binary.LittleEndian.Uint64(d[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(d) && !strSpecial[d[i]] {
		i++
	}
	return i
}

// strEnd is the hot path of str, on local variables only: it returns
// the offset of the closing quote of the string whose opening quote is at
// d[i] and whether the string has escapes, or ok false when the string is
// malformed or unterminated (strErr then says why, and where).
func strEnd(d []byte, i int) (end int, esc, ok bool) {
	i++
	for {
		i = skipPlain(d, i)
		if i >= len(d) {
			return 0, false, false
		}
		switch d[i] {
		case '"':
			return i, esc, true
		case '\\':
			esc = true
			i++
			if i >= len(d) {
				return 0, false, false
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+5 > len(d) || !isHexDigit(d[i+1]) || !isHexDigit(d[i+2]) || !isHexDigit(d[i+3]) || !isHexDigit(d[i+4]) {
					return 0, false, false
				}
				i += 5
			default:
				return 0, false, false
			}
		default:
			return 0, false, false
		}
	}
}

// strErr scans the malformed string whose opening quote is at o.pos and
// returns the error naming the first fault, with o.pos at it.
func (o *Observer) strErr() (end int, esc bool, err error) {
	d := o.data
	i := o.pos + 1
	for {
		i = skipPlain(d, i)
		if i >= len(d) {
			o.pos = i
			return 0, false, o.eof("string")
		}
		switch c := d[i]; c {
		case '"':
			o.pos = i + 1
			return i, esc, nil
		case '\\':
			esc = true
			i++
			if i >= len(d) {
				o.pos = i
				return 0, false, o.eof("string escape")
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				i++
				for k := 0; k < 4; k++ {
					if i >= len(d) {
						o.pos = i
						return 0, false, o.eof("string escape")
					}
					if !isHexDigit(d[i]) {
						o.pos = i
						return 0, false, o.malformed("invalid character %q in \\u escape", d[i])
					}
					i++
				}
			default:
				o.pos = i
				return 0, false, o.malformed("invalid escape character %q in string", d[i])
			}
		default:
			o.pos = i
			return 0, false, o.malformed("control character %#02x in string", c)
		}
	}
}

// skipWSAt returns the offset of the first byte at or after i in d that
// is not white space.
func skipWSAt(d []byte, i int) int {
	for i < len(d) && d[i] <= ' ' && isWS(d[i]) {
		i++
	}
	return i
}

// object walks the object whose '{' is at o.pos. The scan position and
// the path are kept in locals (i, path) and written back to o.pos and
// o.path only around calls that use them.
func (o *Observer) object(depth int) error {
	d := o.data
	i := skipWSAt(d, o.pos+1) // after '{'
	if i < len(d) && d[i] == '}' {
		o.pos = i + 1
		return nil
	}
	path := o.path
	base := len(path)
	// Inside a subtree without mapped paths (o.skip) the walker only
	// checks the syntax: no paths, no lookups.
	skipping := o.skip
	// Windows event data as name/value pairs, {"Data":[{"@Name":"Image","#text":"C:\\x.exe"}]},
	// gives the value at the path <parent>.Image.
	pairs := !skipping && isDataPath(path)
	var pname, ptext []byte
	var pnameEsc, ptextEsc bool
	for {
		if i >= len(d) {
			o.pos = i
			return o.eof("object")
		}
		if d[i] != '"' {
			o.pos = i
			return o.malformed("invalid character %q looking for an object key", d[i])
		}
		ks := i + 1
		ke, esc, ok := strEnd(d, i)
		if !ok {
			o.pos = i
			_, _, err := o.strErr()
			return err
		}
		if !skipping {
			path = path[:base]
			if base > 0 {
				path = append(path, '.')
			}
			if esc {
				path = appendUnescaped(path, d[ks:ke])
			} else {
				path = append(path, d[ks:ke]...)
			}
		}
		i = skipWSAt(d, ke+1)
		if i >= len(d) {
			o.pos = i
			return o.eof("object")
		}
		if d[i] != ':' {
			o.pos = i
			return o.malformed("invalid character %q after object key", d[i])
		}
		i = skipWSAt(d, i+1)
		o.pos = i
		o.path = path
		switch {
		case i >= len(d):
			return o.eof("value")
		case d[i] == '"':
			// A string value, the common case, without a call to value.
			o.fields++
			if o.fields > o.maxFields {
				return newError(ErrTooManyFields, o.curFormat, i, "more than %d values", o.maxFields)
			}
			vs := i + 1
			ve, vesc, ok := strEnd(d, i)
			if !ok {
				_, _, err := o.strErr()
				return err
			}
			i = ve + 1
			if pk := pairKey(pairs && !esc, d[ks:ke]); pk == 1 {
				pname, pnameEsc = d[vs:ve], vesc
			} else if pk == 2 {
				ptext, ptextEsc = d[vs:ve], vesc
			} else if !skipping {
				o.leaf(d[vs:ve], vesc, false)
			}
		case !skipping && (d[i] == '{' || d[i] == '[') && !o.mayMap(path):
			o.skip = true
			err := o.value(depth)
			o.skip = false
			if err != nil {
				return err
			}
			i = o.pos
		default:
			if err := o.value(depth); err != nil {
				return err
			}
			i = o.pos
		}
		path = o.path[:base]
		i = skipWSAt(d, i)
		if i >= len(d) {
			o.pos = i
			return o.eof("object")
		}
		switch d[i] {
		case ',':
			i = skipWSAt(d, i+1)
		case '}':
			o.pos = i + 1
			o.path = path
			if pname != nil && ptext != nil {
				o.pairLeaf(base, pname, pnameEsc, ptext, ptextEsc)
			}
			return nil
		default:
			o.pos = i
			return o.malformed("invalid character %q after object value", d[i])
		}
	}
}

// mayMap reports whether the container at path may hold a mapped path:
// path is a mapped or signature path (array elements share it) or a
// prefix of one ending before a '.', or its last segment is "Data"
// (name/value pairs, whose paths drop the "Data"), or it is empty (the
// keys of an object at the empty path, under the key "", start a path
// afresh).
func (o *Observer) mayMap(path []byte) bool {
	if len(path) == 0 {
		return true
	}
	if ps := o.paths.lookup(path); ps != nil && ps.mayMap {
		return true
	}
	return isDataPath(path)
}

// isDataPath reports whether path's last segment is "Data".
func isDataPath(path []byte) bool {
	n := len(path)
	return n >= 4 && string(path[n-4:]) == "Data" && (n == 4 || path[n-5] == '.')
}

// pairKey classifies a key of a name/value pair object: 1 for the name,
// 2 for the value, 0 otherwise (or when pairs is false).
func pairKey(pairs bool, key []byte) int {
	if !pairs {
		return 0
	}
	switch string(key) {
	case "@Name", "Name":
		return 1
	case "#text", "text", "Value", "content":
		return 2
	}
	return 0
}

// pairLeaf hands the value of a name/value pair to leaf at the path
// <parent of Data>.<name>, then restores o.path (which ends in "Data" at
// length base).
func (o *Observer) pairLeaf(base int, name []byte, nameEsc bool, text []byte, textEsc bool) {
	parent := base - len("Data")
	o.path = o.path[:parent] // keeps the '.' before Data, if any
	if nameEsc {
		o.path = appendUnescaped(o.path, name)
	} else {
		o.path = append(o.path, name...)
	}
	o.leaf(text, textEsc, false)
	o.path = append(o.path[:parent], "Data"...)
}

func (o *Observer) array(depth int) error {
	d := o.data
	o.pos++ // '['
	o.skipWS()
	if o.pos < len(d) && d[o.pos] == ']' {
		o.pos++
		return nil
	}
	for {
		if err := o.value(depth); err != nil {
			return err
		}
		o.skipWS()
		if o.pos >= len(d) {
			return o.eof("array")
		}
		switch d[o.pos] {
		case ',':
			o.pos++
			o.skipWS()
		case ']':
			o.pos++
			return nil
		default:
			return o.malformed("invalid character %q after array element", d[o.pos])
		}
	}
}

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	default:
		return rune(c - 'A' + 10)
	}
}

// getu4 decodes the \uXXXX escape at s[0:6], or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		if !isHexDigit(c) {
			return -1
		}
		r = r<<4 | hexVal(c)
	}
	return r
}

// appendUnescaped appends the unescaped form of the raw (already checked)
// string contents s to dst, as encoding/json decodes it: invalid
// surrogates become U+FFFD. Invalid UTF-8 is kept as it is.
func appendUnescaped(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := i + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(s) {
			break
		}
		switch s[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := getu4(s[i:])
			if r < 0 {
				return dst
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2 := getu4(s[i:]); r2 >= 0 {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						i += 6
						dst = utf8.AppendRune(dst, dec)
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[i+1])
		}
		i += 2
	}
	return dst
}
