package stixpattern

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SyntaxError is a pattern that does not conform to the STIX 2.1
// patterning grammar. Pos is the byte offset in the pattern where the
// problem was found.
type SyntaxError struct {
	Pos int
	Msg string
}

// Error returns "at offset N: <message>".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("at offset %d: %s", e.Pos, e.Msg)
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tLBrack
	tRBrack
	tLParen
	tRParen
	tColon
	tDot
	tComma
	tStar
	tEq
	tNeq
	tLt
	tLe
	tGt
	tGe
	tIdent // [A-Za-z_][A-Za-z0-9_-]*, not a keyword
	tString
	tInt
	tFloat
	tBinary
	tHex
	tTimestamp
	tBool
	tKeyword // AND, OR, NOT, ... (text holds which)
)

type token struct {
	kind tokKind
	pos  int
	text string // source text of the token
	lit  Literal
}

// keywords are the reserved words of the grammar; they are case-sensitive
// (upper case), as in the STIX 2.1 grammar.
var keywords = map[string]struct{}{
	"AND": {}, "OR": {}, "NOT": {}, "FOLLOWEDBY": {}, "LIKE": {}, "MATCHES": {},
	"ISSUPERSET": {}, "ISSUBSET": {}, "EXISTS": {}, "LAST": {}, "IN": {}, "START": {},
	"STOP": {}, "SECONDS": {}, "WITHIN": {}, "REPEATS": {}, "TIMES": {},
}

// describe renders a token for "found ..." in error messages.
func (t token) describe() string {
	if t.kind == tEOF {
		return "end of pattern"
	}
	s := t.text
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return "'" + s + "'"
}

type lexer struct {
	src string
	pos int
}

// isSpace reports the grammar's whitespace characters.
func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\r', '\n', '\v', '\f', 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '-'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skip skips whitespace and comments.
func (l *lexer) skip() error {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c < utf8.RuneSelf {
			if c == '/' && strings.HasPrefix(l.src[l.pos:], "/*") {
				end := strings.Index(l.src[l.pos+2:], "*/")
				if end < 0 {
					return &SyntaxError{l.pos, "unterminated comment"}
				}
				l.pos += 2 + end + 2
				continue
			}
			if c == '/' && strings.HasPrefix(l.src[l.pos:], "//") {
				end := strings.IndexAny(l.src[l.pos:], "\r\n")
				if end < 0 {
					l.pos = len(l.src)
				} else {
					l.pos += end
				}
				continue
			}
			if isSpace(rune(c)) {
				l.pos++
				continue
			}
			return nil
		}
		r, n := utf8.DecodeRuneInString(l.src[l.pos:])
		if !isSpace(r) {
			return nil
		}
		l.pos += n
	}
	return nil
}

// next returns the next token.
func (l *lexer) next() (token, error) {
	if err := l.skip(); err != nil {
		return token{}, err
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tEOF, pos: start}, nil
	}
	c := l.src[l.pos]
	one := func(k tokKind) (token, error) {
		l.pos++
		return token{kind: k, pos: start, text: l.src[start:l.pos]}, nil
	}
	two := func(k tokKind) (token, error) {
		l.pos += 2
		return token{kind: k, pos: start, text: l.src[start:l.pos]}, nil
	}
	peek := byte(0)
	if l.pos+1 < len(l.src) {
		peek = l.src[l.pos+1]
	}
	switch c {
	case '[':
		return one(tLBrack)
	case ']':
		return one(tRBrack)
	case '(':
		return one(tLParen)
	case ')':
		return one(tRParen)
	case ':':
		return one(tColon)
	case ',':
		return one(tComma)
	case '*':
		return one(tStar)
	case '=':
		if peek == '=' {
			return two(tEq)
		}
		return one(tEq)
	case '!':
		if peek == '=' {
			return two(tNeq)
		}
		return token{}, &SyntaxError{start, "unexpected character '!' (did you mean '!='?)"}
	case '<':
		if peek == '>' {
			return two(tNeq)
		}
		if peek == '=' {
			return two(tLe)
		}
		return one(tLt)
	case '>':
		if peek == '=' {
			return two(tGe)
		}
		return one(tGt)
	case '\'':
		s, err := l.quoted(start)
		if err != nil {
			return token{}, err
		}
		return token{kind: tString, pos: start, text: l.src[start:l.pos], lit: Literal{Kind: LitString, Str: s}}, nil
	case '.':
		if isDigit(peek) {
			return l.number(start)
		}
		return one(tDot)
	case '+', '-':
		if isDigit(peek) || peek == '.' {
			return l.number(start)
		}
		return token{}, &SyntaxError{start, fmt.Sprintf("unexpected character %q", c)}
	}
	if isDigit(c) {
		return l.number(start)
	}
	if (c == 'b' || c == 'h' || c == 't') && peek == '\'' {
		return l.prefixed(start, c)
	}
	if isIdentStart(c) {
		for l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
			l.pos++
		}
		text := l.src[start:l.pos]
		if _, ok := keywords[text]; ok {
			return token{kind: tKeyword, pos: start, text: text}, nil
		}
		if text == "true" || text == "false" {
			return token{kind: tBool, pos: start, text: text, lit: Literal{Kind: LitBool, Bool: text == "true"}}, nil
		}
		return token{kind: tIdent, pos: start, text: text}, nil
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	if r == utf8.RuneError {
		return token{}, &SyntaxError{start, "invalid UTF-8"}
	}
	return token{}, &SyntaxError{start, fmt.Sprintf("unexpected character %q", r)}
}

// quoted scans a string literal starting at the quote at l.pos and returns
// its unescaped value. Only \' and \\ are escapes.
func (l *lexer) quoted(start int) (string, error) {
	l.pos++ // opening quote
	var b strings.Builder
	for {
		if l.pos >= len(l.src) {
			return "", &SyntaxError{start, "unterminated string literal"}
		}
		c := l.src[l.pos]
		switch c {
		case '\'':
			l.pos++
			s := b.String()
			if !utf8.ValidString(s) {
				return "", &SyntaxError{start, "string literal is not valid UTF-8"}
			}
			return s, nil
		case '\\':
			if l.pos+1 < len(l.src) && (l.src[l.pos+1] == '\'' || l.src[l.pos+1] == '\\') {
				b.WriteByte(l.src[l.pos+1])
				l.pos += 2
				continue
			}
			return "", &SyntaxError{l.pos, "invalid escape in string literal: only \\' and \\\\ are allowed (write \\\\ for a backslash)"}
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
}

// number scans an int or float literal.
func (l *lexer) number(start int) (token, error) {
	i := l.pos
	if l.src[i] == '+' || l.src[i] == '-' {
		i++
	}
	intStart := i
	for i < len(l.src) && isDigit(l.src[i]) {
		i++
	}
	intDigits := l.src[intStart:i]
	if i < len(l.src) && l.src[i] == '.' && i+1 < len(l.src) && isDigit(l.src[i+1]) {
		i++
		for i < len(l.src) && isDigit(l.src[i]) {
			i++
		}
		l.pos = i
		text := l.src[start:i]
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return token{}, &SyntaxError{start, fmt.Sprintf("invalid float %s", text)}
		}
		return token{kind: tFloat, pos: start, text: text, lit: Literal{Kind: LitFloat, Float: f}}, nil
	}
	if intDigits == "" {
		return token{}, &SyntaxError{start, "invalid number"}
	}
	if len(intDigits) > 1 && intDigits[0] == '0' {
		return token{}, &SyntaxError{start, fmt.Sprintf("invalid integer %s: leading zero", l.src[start:i])}
	}
	l.pos = i
	text := l.src[start:i]
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return token{}, &SyntaxError{start, fmt.Sprintf("integer %s out of range", text)}
	}
	return token{kind: tInt, pos: start, text: text, lit: Literal{Kind: LitInt, Int: n}}, nil
}

// prefixed scans b'..', h'..' or t'..'.
func (l *lexer) prefixed(start int, prefix byte) (token, error) {
	end := strings.IndexByte(l.src[start+2:], '\'')
	if end < 0 {
		return token{}, &SyntaxError{start, "unterminated literal"}
	}
	body := l.src[start+2 : start+2+end]
	l.pos = start + 2 + end + 1
	text := l.src[start:l.pos]
	switch prefix {
	case 'b':
		if !validBase64(body) {
			return token{}, &SyntaxError{start, fmt.Sprintf("invalid binary literal %s: want padded standard base64", text)}
		}
		data, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return token{}, &SyntaxError{start, fmt.Sprintf("invalid binary literal %s: %v", text, err)}
		}
		return token{kind: tBinary, pos: start, text: text, lit: Literal{Kind: LitBinary, Bytes: data}}, nil
	case 'h':
		if len(body)%2 != 0 {
			return token{}, &SyntaxError{start, fmt.Sprintf("invalid hex literal %s: odd number of digits", text)}
		}
		data, err := hex.DecodeString(body)
		if err != nil {
			return token{}, &SyntaxError{start, fmt.Sprintf("invalid hex literal %s: %v", text, err)}
		}
		if data == nil {
			data = []byte{}
		}
		return token{kind: tHex, pos: start, text: text, lit: Literal{Kind: LitHex, Bytes: data}}, nil
	default:
		t, err := parseTimestamp(body)
		if err != nil {
			return token{}, &SyntaxError{start, fmt.Sprintf("invalid timestamp literal %s: %v", text, err)}
		}
		return token{kind: tTimestamp, pos: start, text: text, lit: Literal{Kind: LitTimestamp, Str: body, Time: t}}, nil
	}
}

// validBase64 checks the grammar's BinaryLiteral body: groups of four
// base64 characters, the last possibly padded, at least one group.
func validBase64(s string) bool {
	if len(s) == 0 || len(s)%4 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
		if !ok {
			if c != '=' || i < len(s)-2 || (i == len(s)-2 && s[len(s)-1] != '=') {
				return false
			}
		}
	}
	return true
}

// parseTimestamp parses the STIX timestamp form YYYY-MM-DDTHH:MM:SS[.s+]Z
// (upper-case T and Z, UTC). A leap second (60) is accepted and rolls
// over into the next minute.
func parseTimestamp(s string) (time.Time, error) {
	const base = "2006-01-02T15:04:05"
	if len(s) < len(base)+1 || s[len(s)-1] != 'Z' {
		return time.Time{}, fmt.Errorf("want YYYY-MM-DDTHH:MM:SS[.fraction]Z")
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			if !isDigit(s[i]) {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
	if s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, fmt.Errorf("want YYYY-MM-DDTHH:MM:SS[.fraction]Z")
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return time.Time{}, fmt.Errorf("want YYYY-MM-DDTHH:MM:SS[.fraction]Z")
	}
	nanos := 0
	rest := s[19 : len(s)-1]
	if rest != "" {
		if rest[0] != '.' || len(rest) < 2 {
			return time.Time{}, fmt.Errorf("want YYYY-MM-DDTHH:MM:SS[.fraction]Z")
		}
		digits := rest[1:]
		for i := 0; i < len(digits); i++ {
			if !isDigit(digits[i]) {
				return time.Time{}, fmt.Errorf("bad fraction of a second %q", rest)
			}
			if i < 9 {
				nanos = nanos*10 + int(digits[i]-'0')
			}
		}
		for i := len(digits); i < 9; i++ {
			nanos *= 10
		}
	}
	if month < 1 || month > 12 {
		return time.Time{}, fmt.Errorf("month %02d out of range", month)
	}
	if hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, fmt.Errorf("time of day %s out of range", s[11:19])
	}
	if day < 1 || day > daysIn(year, month) {
		return time.Time{}, fmt.Errorf("day %02d out of range for %04d-%02d", day, year, month)
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC), nil
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
