// Package lists reads indicator lists in the simple line formats that
// threat-intelligence teams pass around, and turns them into engine
// indicators (engine/ioc):
//
//   - JSON lines of the engine model: one ioc.Indicator per line, kind by
//     name, compound indicators with "expr" (ReadJSONLines);
//   - CSV "kind,value[,description]", header optional (a header may also
//     name confidence, name, labels and id columns), quoted fields, lines
//     starting with '#' are comments (ReadCSV);
//   - plain lists, one value per line, '#' comments on their own line or
//     after whitespace, the kind given by the caller or inferred per value
//     (address, CIDR, hash by length, URL, e-mail, domain); tab- or
//     space-separated "value count" lines as published by ipsum, and hosts
//     files ("0.0.0.0 evil.example") are understood (ReadPlain).
//
// Every value is normalised with ioc.Normalize and every returned
// indicator passes (*ioc.Indicator).Validate. A bad line never stops a
// read: it is skipped and reported with its line number (Report.Skipped);
// only I/O errors and over-long lines are errors, and they name the
// source and line. Indicators without an id get the stable id
// ID(feed, kind, value), so that a refreshed list keeps its identities;
// within one read a repeated id is reported as a duplicate and kept once.
//
// The functions are safe for concurrent use; they keep no state.
package lists

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// MaxLineBytes is the longest line the readers accept; a longer line is
// an error naming the source and line (it is not a list any more).
const MaxLineBytes = 4 << 20

// Options configures a read. The zero value reads with feed "" and infers
// kinds.
type Options struct {
	// Feed is stamped on every indicator that does not name its own feed
	// (JSON lines may) and is part of generated ids.
	Feed string
	// Kind is the kind of every value of a plain list; ioc.KindInvalid
	// infers the kind of each value (see InferKind). Ignored by the CSV
	// and JSON readers, whose lines name their kind.
	Kind ioc.Kind
	// Confidence (0-100) is set on indicators that carry none.
	Confidence int
	// Source names the input in errors and skip reasons (a file name).
	Source string
}

// Skip is one line that was not turned into an indicator.
type Skip struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// Report says what a read did.
type Report struct {
	Lines      int              `json:"lines"`      // lines read, comments and blanks included
	Indicators int              `json:"indicators"` // indicators returned
	Duplicates int              `json:"duplicates"` // lines whose id repeated an earlier line's (dropped)
	Skipped    []Skip           `json:"skipped,omitempty"`
	ByKind     map[ioc.Kind]int `json:"by_kind,omitempty"`
}

func (r *Report) skip(line int, err error) {
	r.Skipped = append(r.Skipped, Skip{Line: line, Reason: err.Error()})
}

func (r *Report) count(ind *ioc.Indicator) {
	if r.ByKind == nil {
		r.ByKind = make(map[ioc.Kind]int)
	}
	r.ByKind[ind.Kind]++
	r.Indicators++
}

// ID returns the stable id of a list value: feed + ":" + kind + ":" + value
// (value normalised).
func ID(feed string, kind ioc.Kind, value string) string {
	return feed + ":" + kind.String() + ":" + value
}

// CompoundID returns the stable id of a compound indicator without an id:
// feed + ":compound:" + the first 16 hex digits of the SHA-256 of the
// expression's canonical text.
func CompoundID(feed string, e *ioc.Expr) string {
	sum := sha256.Sum256([]byte(e.String()))
	return feed + ":compound:" + hex.EncodeToString(sum[:8])
}

// InferKind guesses the kind of a list value and returns it normalised:
// an IP address, a CIDR prefix, a hash by its hex length (32 MD5, 40
// SHA-1, 64 SHA-256, 128 SHA-512), a URL (has "://"), an e-mail address
// (has '@'), else a domain name. A value that is none of these is an
// error naming it.
func InferKind(value string) (ioc.Kind, string, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return ioc.KindInvalid, "", errors.New("empty value")
	}
	if a, err := netip.ParseAddr(v); err == nil {
		if a.Zone() == "" && !a.Is4In6() {
			var buf [64]byte
			if string(a.AppendTo(buf[:0])) == v {
				return ioc.AddrKind(a), v, nil // already canonical: no copy
			}
		}
		return ioc.Normalize(ioc.AddrKind(a), v)
	}
	if strings.IndexByte(v, '/') > 0 && !strings.Contains(v, "://") {
		if _, err := ioc.ParsePrefix(v); err == nil {
			return ioc.Normalize(ioc.KindCIDRv4, v)
		}
	}
	if k := ioc.HashKindForLen(len(v)); k != ioc.KindInvalid && ioc.IsHex(v) {
		return ioc.Normalize(k, v)
	}
	if strings.Contains(v, "://") {
		return ioc.Normalize(ioc.KindURL, v)
	}
	if strings.IndexByte(v, '@') >= 0 {
		return ioc.Normalize(ioc.KindEmail, v)
	}
	if d, err := ioc.NormalizeDomain(v); err == nil && strings.IndexByte(d, '.') > 0 {
		return ioc.KindDomain, d, nil
	}
	return ioc.KindInvalid, "", fmt.Errorf("cannot infer the kind of %q (not an address, prefix, hash, URL, e-mail or domain)", value)
}

// ParseValue makes the indicator of one list value of the given kind
// (ioc.KindInvalid: inferred). Compound is not a list kind.
func ParseValue(value string, kind ioc.Kind, o Options) (*ioc.Indicator, error) {
	var (
		k   ioc.Kind
		v   string
		err error
	)
	switch {
	case kind == ioc.KindInvalid:
		k, v, err = InferKind(value)
	case kind.IsAtomic():
		k, v, err = ioc.Normalize(kind, value)
	default:
		return nil, fmt.Errorf("kind %s cannot be given as a list value", kind)
	}
	if err != nil {
		return nil, err
	}
	ind := &ioc.Indicator{ID: ID(o.Feed, k, v), Kind: k, Value: v, Feed: o.Feed, Confidence: o.Confidence}
	if err := ind.Validate(); err != nil {
		return nil, err
	}
	return ind, nil
}

// lineScanner reads lines (without the end of line, CR dropped, a leading
// UTF-8 BOM dropped) and numbers them.
type lineScanner struct {
	sc   *bufio.Scanner
	src  string
	line int
}

func newLineScanner(r io.Reader, src string) *lineScanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	return &lineScanner{sc: sc, src: src}
}

func (s *lineScanner) next() ([]byte, bool) {
	if !s.sc.Scan() {
		return nil, false
	}
	s.line++
	b := s.sc.Bytes()
	if s.line == 1 {
		b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	}
	return bytes.TrimSuffix(b, []byte("\r")), true
}

func (s *lineScanner) err() error {
	if err := s.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s:%d: line longer than %d bytes", s.src, s.line+1, MaxLineBytes)
		}
		return fmt.Errorf("%s:%d: %w", s.src, s.line+1, err)
	}
	return nil
}

// ReadPlain reads a plain list: one value per line. Blank lines and lines
// starting with '#' are ignored; for every kind except the free-text ones
// (substring, command-line, file name, file path, user agent, which take
// the whole line as written) the value is the first whitespace-separated
// field, a following "#..." or ";..." is a comment, a following number
// is a count (ipsum "value<TAB>count", kept as label "count:N"), and a
// hosts-file line "0.0.0.0 name" (or 127.0.0.1) yields name.
func ReadPlain(r io.Reader, o Options) ([]*ioc.Indicator, Report, error) {
	var (
		rep  Report
		out  []*ioc.Indicator
		seen = make(map[string]struct{})
	)
	s := newLineScanner(r, o.Source)
	for {
		b, ok := s.next()
		if !ok {
			break
		}
		rep.Lines++
		line := string(b)
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' {
			continue
		}
		ind, err := plainLine(line, o)
		if err != nil {
			rep.skip(s.line, err)
			continue
		}
		if _, dup := seen[ind.ID]; dup {
			rep.Duplicates++
			continue
		}
		seen[ind.ID] = struct{}{}
		rep.count(ind)
		out = append(out, ind)
	}
	return out, rep, s.err()
}

func freeText(k ioc.Kind) bool {
	switch k {
	case ioc.KindSubstring, ioc.KindCommandLine, ioc.KindFileName, ioc.KindFilePath, ioc.KindUserAgent:
		return true
	}
	return false
}

func plainLine(line string, o Options) (*ioc.Indicator, error) {
	if freeText(o.Kind) {
		return ParseValue(line, o.Kind, o)
	}
	var buf [3]string
	fields := splitFields(line, buf[:0])
	// Cut at an inline comment.
	for i, f := range fields {
		if i > 0 && (f[0] == '#' || f[0] == ';') {
			fields = fields[:i]
			break
		}
	}
	value := fields[0]
	var count string
	switch {
	case len(fields) == 1:
	case len(fields) == 2 && isDigits(fields[1]):
		count = fields[1]
	case len(fields) == 2 && (fields[0] == "0.0.0.0" || fields[0] == "127.0.0.1" || fields[0] == "::" || fields[0] == "::1"):
		value = fields[1] // hosts file
	default:
		rest := strings.TrimSpace(line[strings.Index(line, value)+len(value):])
		if i := strings.Index(rest, " #"); i >= 0 {
			rest = strings.TrimSpace(rest[:i])
		}
		return nil, fmt.Errorf("unexpected text after the value %q: %q", value, strings.Join(strings.Fields(rest), " "))
	}
	ind, err := ParseValue(value, o.Kind, o)
	if err != nil {
		return nil, err
	}
	if count != "" {
		ind.Labels = []string{"count:" + count}
	}
	return ind, nil
}

// splitFields appends up to cap(dst) whitespace-separated fields of s to
// dst (the last one holding the rest of the line when there are more),
// without allocating when dst has the capacity.
func splitFields(s string, dst []string) []string {
	for len(dst) < cap(dst) {
		s = strings.TrimLeft(s, " \t\v\f\r")
		if s == "" {
			return dst
		}
		if len(dst) == cap(dst)-1 {
			return append(dst, strings.TrimRight(s, " \t\v\f\r"))
		}
		i := strings.IndexAny(s, " \t\v\f\r")
		if i < 0 {
			return append(dst, s)
		}
		dst = append(dst, s[:i])
		s = s[i:]
	}
	return dst
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
