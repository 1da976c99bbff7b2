package alert

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// enc appends JSON to a byte slice. It tracks only whether the next
// member or element needs a leading comma: opening an object or array
// clears the flag, writing a value or closing a container sets it.
type enc struct {
	b     []byte
	comma bool
}

func (e *enc) sep() {
	if e.comma {
		e.b = append(e.b, ',')
	}
	e.comma = true
}

func (e *enc) key(k string) {
	e.sep()
	e.b = appendString(e.b, k)
	e.b = append(e.b, ':')
	e.comma = false
}

func (e *enc) openObj()  { e.sep(); e.b = append(e.b, '{'); e.comma = false }
func (e *enc) closeObj() { e.b = append(e.b, '}'); e.comma = true }
func (e *enc) openArr()  { e.sep(); e.b = append(e.b, '['); e.comma = false }
func (e *enc) closeArr() { e.b = append(e.b, ']'); e.comma = true }

// objKey opens the object member k.
func (e *enc) objKey(k string) { e.key(k); e.openObj() }

func (e *enc) str(s string) { e.sep(); e.b = appendString(e.b, s) }

func (e *enc) int(n int64) { e.sep(); e.b = strconv.AppendInt(e.b, n, 10) }

func (e *enc) bool(v bool) { e.sep(); e.b = strconv.AppendBool(e.b, v) }

// raw appends an already encoded, compact JSON value.
func (e *enc) raw(v []byte) { e.sep(); e.b = append(e.b, v...) }

// strField writes k: v, omitting it when v is empty.
func (e *enc) strField(k, v string) {
	if v == "" {
		return
	}
	e.key(k)
	e.str(v)
}

// timeField writes k: RFC 3339 time in UTC, omitting the zero time.
func (e *enc) timeField(k string, t time.Time) {
	if t.IsZero() {
		return
	}
	e.key(k)
	e.sep()
	e.b = appendTime(e.b, t)
}

// strsField writes k: [v...], omitting it when vs is empty.
func (e *enc) strsField(k string, vs []string) {
	if len(vs) == 0 {
		return
	}
	e.key(k)
	e.openArr()
	for _, v := range vs {
		e.str(v)
	}
	e.closeArr()
}

// appendTime appends t in UTC as an RFC 3339 JSON string with
// nanoseconds as needed.
func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Control characters are
// escaped, invalid UTF-8 is replaced by U+FFFD, and U+2028/U+2029 are
// escaped so the output is also safe to embed in JavaScript.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
