// Package feeds loads threat intelligence into the engine's indicator
// model (engine/ioc). LoadFile and LoadDir read a file or a directory in
// any supported format, detected from the name and the content:
//
//   - STIX 2.0/2.1 bundles and TAXII envelopes (package feeds/stix),
//   - MISP events, MISP search results and MISP feed directories
//     (package feeds/misp),
//   - the engine's JSON lines, CSV "kind,value[,description]" and plain
//     one-value-per-line lists such as ipsum (package feeds/lists),
//
// gzip-compressed or not. Bad records never stop a load: they are skipped
// and reported in the LoadReport with the file and line (or object), as
// are STIX patterns that cannot be honoured on the event stream; only
// unreadable or unrecognisable input is an error, naming the file.
//
// Every returned indicator passes (*ioc.Indicator).Validate, carries its
// feed name, and is active at some time at or after LoadOptions.Now
// (expired ones are dropped and counted). The functions keep no state and
// are safe for concurrent use.
//
// Sub-packages: feeds/lists, feeds/stix, feeds/misp (formats), feeds/store
// (the persisted indicator store with lifecycle).
package feeds

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/feeds/lists"
	"github.com/iocmatch/iocmatch/feeds/misp"
	"github.com/iocmatch/iocmatch/feeds/stix"
)

// Format is an input format.
type Format string

// Input formats.
const (
	FormatAuto      Format = ""      // detect from the name and the content
	FormatJSONLines Format = "jsonl" // one ioc.Indicator JSON per line
	FormatCSV       Format = "csv"   // kind,value[,description]
	FormatList      Format = "list"  // one value per line (ipsum TSV and hosts files too)
	FormatSTIX      Format = "stix"  // STIX 2.0/2.1 bundle or TAXII envelope
	FormatMISP      Format = "misp"  // MISP event(s)
)

// ParseFormat parses a format name: auto, jsonl (json, ndjson), csv, list
// (txt, tsv, plain), stix, misp. Unknown names are an error naming s.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return FormatAuto, nil
	case "jsonl", "json", "ndjson", "jsonlines":
		return FormatJSONLines, nil
	case "csv":
		return FormatCSV, nil
	case "list", "txt", "tsv", "plain", "text":
		return FormatList, nil
	case "stix", "stix2", "taxii":
		return FormatSTIX, nil
	case "misp":
		return FormatMISP, nil
	}
	return FormatAuto, fmt.Errorf("unknown feed format %q (want auto, jsonl, csv, list, stix or misp)", s)
}

// LoadOptions configures LoadFile, LoadDir and Load.
type LoadOptions struct {
	// Feed is the feed name stamped on the indicators (JSON lines that
	// name their own feed keep it) and part of list ids. Default: the
	// file's base name without extensions (the directory's for LoadDir).
	Feed string
	// Format forces a format; FormatAuto (the zero value) detects it.
	Format Format
	// Kind is the kind of every value of a plain list; ioc.KindInvalid
	// (the zero value) infers each value's kind.
	Kind ioc.Kind
	// Confidence (0-100) is set where the source gives none.
	Confidence int
	// Now is the clock that decides expiry; nil means time.Now.
	// Indicators whose valid_until is at or before Now are dropped and
	// counted in LoadReport.Expired.
	Now func() time.Time
	// MISPAllAttributes includes MISP attributes whose to_ids is false.
	MISPAllAttributes bool
	// Strict turns every skipped record into an error.
	Strict bool
	// STIXTranslator overrides the STIX pattern translator (nil: the
	// default, feeds/stixpattern).
	STIXTranslator stix.PatternTranslator
}

// Skipped is a record that was not turned into indicators.
type Skipped struct {
	Where  string `json:"where"` // "file:line" or "file: object <id or #index>"
	Reason string `json:"reason"`
}

// PatternIssue is an indicator pattern the engine cannot honour on the
// event stream, or can honour only with correlation across events.
type PatternIssue struct {
	Where       string `json:"where"` // the file
	ID          string `json:"id"`    // the STIX indicator id
	PatternType string `json:"pattern_type"`
	Pattern     string `json:"pattern"`
	Reason      string `json:"reason"`
}

// MaxSkippedListed caps LoadReport.Skipped; SkippedCount stays exact.
const MaxSkippedListed = 1000

// LoadReport says what a load did.
type LoadReport struct {
	Files            []string         `json:"files"`
	Records          int              `json:"records"`    // lines, STIX objects or MISP attributes read
	Indicators       int              `json:"indicators"` // indicators returned
	ByKind           map[ioc.Kind]int `json:"by_kind,omitempty"`
	Skipped          []Skipped        `json:"skipped,omitempty"`
	SkippedCount     int              `json:"skipped_count"`
	Duplicates       int              `json:"duplicates,omitempty"`
	Unsupported      []PatternIssue   `json:"unsupported,omitempty"`
	NeedsCorrelation []PatternIssue   `json:"needs_correlation,omitempty"`
	UnknownTypes     map[string]int   `json:"unknown_types,omitempty"` // MISP attribute types without an engine kind
	Revoked          []string         `json:"revoked,omitempty"`       // STIX ids revoked by the producer
	Expired          int              `json:"expired,omitempty"`
}

func (r *LoadReport) addSkip(where, reason string) {
	r.SkippedCount++
	if len(r.Skipped) < MaxSkippedListed {
		r.Skipped = append(r.Skipped, Skipped{Where: where, Reason: reason})
	}
}

func (r *LoadReport) countKinds(inds []*ioc.Indicator) {
	for _, ind := range inds {
		if r.ByKind == nil {
			r.ByKind = make(map[ioc.Kind]int)
		}
		r.ByKind[ind.Kind]++
	}
	r.Indicators += len(inds)
}

// Merge adds o's counts and lists to r.
func (r *LoadReport) Merge(o LoadReport) {
	r.Files = append(r.Files, o.Files...)
	r.Records += o.Records
	r.Indicators += o.Indicators
	for k, n := range o.ByKind {
		if r.ByKind == nil {
			r.ByKind = make(map[ioc.Kind]int)
		}
		r.ByKind[k] += n
	}
	for _, s := range o.Skipped {
		if len(r.Skipped) < MaxSkippedListed {
			r.Skipped = append(r.Skipped, s)
		}
	}
	r.SkippedCount += o.SkippedCount
	r.Duplicates += o.Duplicates
	r.Unsupported = append(r.Unsupported, o.Unsupported...)
	r.NeedsCorrelation = append(r.NeedsCorrelation, o.NeedsCorrelation...)
	for t, n := range o.UnknownTypes {
		if r.UnknownTypes == nil {
			r.UnknownTypes = make(map[string]int)
		}
		r.UnknownTypes[t] += n
	}
	r.Revoked = append(r.Revoked, o.Revoked...)
	r.Expired += o.Expired
}

// UnsupportedCounts groups Unsupported by pattern type and reason
// ("sigma: pattern type \"sigma\" is not evaluated on the event stream" -> 3),
// for a log line or a status page.
func (r LoadReport) UnsupportedCounts() map[string]int {
	if len(r.Unsupported) == 0 {
		return nil
	}
	m := make(map[string]int)
	for _, u := range r.Unsupported {
		m[u.PatternType+": "+u.Reason]++
	}
	return m
}

// String is a one-line summary: "3 files, 120 records, 98 indicators
// (domain 40, ipv4 58), 2 skipped, 1 unsupported pattern, ...".
func (r LoadReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d file(s), %d record(s), %d indicator(s)", len(r.Files), r.Records, r.Indicators)
	if len(r.ByKind) > 0 {
		kinds := make([]ioc.Kind, 0, len(r.ByKind))
		for k := range r.ByKind {
			kinds = append(kinds, k)
		}
		sort.Slice(kinds, func(i, j int) bool { return kinds[i] < kinds[j] })
		b.WriteString(" (")
		for i, k := range kinds {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", k, r.ByKind[k])
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, ", %d skipped", r.SkippedCount)
	if r.Duplicates > 0 {
		fmt.Fprintf(&b, ", %d duplicate(s)", r.Duplicates)
	}
	if len(r.Unsupported) > 0 {
		fmt.Fprintf(&b, ", %d unsupported pattern(s)", len(r.Unsupported))
	}
	if len(r.NeedsCorrelation) > 0 {
		fmt.Fprintf(&b, ", %d pattern(s) needing correlation", len(r.NeedsCorrelation))
	}
	if n := len(r.UnknownTypes); n > 0 {
		fmt.Fprintf(&b, ", %d unknown attribute type(s)", n)
	}
	if len(r.Revoked) > 0 {
		fmt.Fprintf(&b, ", %d revoked", len(r.Revoked))
	}
	if r.Expired > 0 {
		fmt.Fprintf(&b, ", %d expired", r.Expired)
	}
	return b.String()
}

// MaxFileBytes is the largest (decompressed) input Load accepts.
const MaxFileBytes = 2 << 30

// FeedName returns the default feed name for a path: its base name
// without extensions ("ipsum.txt.gz" -> "ipsum").
func FeedName(path string) string {
	base := filepath.Base(filepath.Clean(path))
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	return base
}

// LoadFile loads one file (see the package doc).
func LoadFile(path string, opts LoadOptions) ([]*ioc.Indicator, LoadReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, LoadReport{}, fmt.Errorf("feeds: %w", err)
	}
	defer f.Close()
	if opts.Feed == "" {
		opts.Feed = FeedName(path)
	}
	return Load(f, path, opts)
}

// Load loads one input read from r; name (a file name) is used for
// format detection and in messages.
func Load(r io.Reader, name string, opts LoadOptions) ([]*ioc.Indicator, LoadReport, error) {
	if opts.Feed == "" {
		opts.Feed = FeedName(name)
	}
	data, err := readAll(r, name)
	if err != nil {
		return nil, LoadReport{Files: []string{name}}, err
	}
	format := opts.Format
	if format == FormatAuto {
		format = DetectFormat(name, data)
	}
	inds, rep, err := loadData(data, name, format, opts)
	if err != nil {
		return nil, rep, err
	}
	return finish(inds, rep, opts)
}

// readAll reads r, transparently decompressing gzip (by magic bytes).
func readAll(r io.Reader, name string) ([]byte, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("feeds: %s: gzip: %w", name, err)
		}
		defer zr.Close()
		r = zr
	} else {
		r = br
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("feeds: %s: %w", name, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("feeds: %s: larger than %d bytes", name, MaxFileBytes)
	}
	return data, nil
}

// loadData parses data in the given format.
func loadData(data []byte, name string, format Format, opts LoadOptions) ([]*ioc.Indicator, LoadReport, error) {
	rep := LoadReport{Files: []string{name}}
	lo := lists.Options{Feed: opts.Feed, Kind: opts.Kind, Confidence: opts.Confidence, Source: name}
	var (
		inds []*ioc.Indicator
		lr   lists.Report
		err  error
	)
	switch format {
	case FormatJSONLines:
		inds, lr, err = lists.ReadJSONLines(bytes.NewReader(data), lo)
	case FormatCSV:
		inds, lr, err = lists.ReadCSV(bytes.NewReader(data), lo)
	case FormatList:
		inds, lr, err = lists.ReadPlain(bytes.NewReader(data), lo)
	case FormatSTIX:
		return loadSTIX([][]byte{data}, []string{name}, opts)
	case FormatMISP:
		return loadMISP(data, name, opts)
	default:
		return nil, rep, fmt.Errorf("feeds: %s: unknown format %q", name, format)
	}
	if err != nil {
		return nil, rep, fmt.Errorf("feeds: %w", err)
	}
	rep.Records = lr.Lines
	rep.Duplicates = lr.Duplicates
	for _, s := range lr.Skipped {
		rep.addSkip(fmt.Sprintf("%s:%d", name, s.Line), s.Reason)
	}
	return inds, rep, nil
}

// finish drops expired indicators, counts, and applies Strict.
func finish(inds []*ioc.Indicator, rep LoadReport, opts LoadOptions) ([]*ioc.Indicator, LoadReport, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	t := now()
	kept := inds[:0]
	for _, ind := range inds {
		if !ind.ValidUntil.IsZero() && !t.Before(ind.ValidUntil) {
			rep.Expired++
			continue
		}
		kept = append(kept, ind)
	}
	rep.ByKind = nil
	rep.Indicators = 0
	rep.countKinds(kept)
	if opts.Strict && rep.SkippedCount > 0 {
		s := rep.Skipped[0]
		return nil, rep, fmt.Errorf("feeds: %s: %s (strict; %d record(s) skipped)", s.Where, s.Reason, rep.SkippedCount)
	}
	return kept, rep, nil
}

// DetectFormat decides the format of an input from its name and its first
// bytes (gzip already removed; head may be a prefix of the input):
//   - a JSON object with "type":"bundle", or with "objects", or a STIX
//     object ("type" and "spec_version"/"pattern"), is STIX;
//   - a JSON object with "Event" or "response", or an array of such, is MISP;
//   - a JSON object with "kind" (the engine model) is JSON lines;
//   - otherwise ".csv" names, or a first record "kind,value" whose kind
//     parses, are CSV; ".jsonl"/".ndjson" are JSON lines; the rest is a
//     plain list.
func DetectFormat(name string, head []byte) Format {
	base := strings.ToLower(filepath.Base(name))
	base = strings.TrimSuffix(base, ".gz")
	t := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		if f := sniffJSON(t); f != FormatAuto {
			return f
		}
	}
	switch {
	case strings.HasSuffix(base, ".jsonl"), strings.HasSuffix(base, ".ndjson"):
		return FormatJSONLines
	case strings.HasSuffix(base, ".csv"):
		return FormatCSV
	case strings.HasSuffix(base, ".txt"), strings.HasSuffix(base, ".tsv"), strings.HasSuffix(base, ".list"):
		return FormatList
	}
	if looksCSV(t) {
		return FormatCSV
	}
	return FormatList
}

// sniffJSON looks at the top-level keys of the first JSON value in t
// (which may be truncated).
func sniffJSON(t []byte) Format {
	dec := json.NewDecoder(bytes.NewReader(t))
	tok, err := dec.Token()
	if err != nil {
		return FormatAuto
	}
	if d, _ := tok.(json.Delim); d == '[' {
		// An array: MISP events [{"Event":..}] or STIX objects.
		tok, err = dec.Token()
		if d2, _ := tok.(json.Delim); err != nil || d2 != '{' {
			return FormatAuto
		}
		f := sniffObject(dec)
		if f == FormatJSONLines {
			return FormatAuto
		}
		return f
	}
	return sniffObject(dec)
}

// sniffObject reads the keys of the object whose '{' was just consumed.
func sniffObject(dec *json.Decoder) Format {
	var typ string
	stixish := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := tok.(string)
		switch key {
		case "Event", "response":
			return FormatMISP
		case "objects":
			return FormatSTIX
		case "spec_version", "pattern", "pattern_type":
			stixish = true
		case "kind":
			return FormatJSONLines
		}
		// Read the value: a scalar string is kept for "type"; nested
		// values are skipped token by token.
		tok, err = dec.Token()
		if err != nil {
			break
		}
		if key == "type" {
			typ, _ = tok.(string)
			if typ == "bundle" {
				return FormatSTIX
			}
		}
		if d, ok := tok.(json.Delim); ok && (d == '{' || d == '[') {
			depth := 1
			for depth > 0 {
				tok, err = dec.Token()
				if err != nil {
					return guess(typ, stixish)
				}
				if d, ok := tok.(json.Delim); ok {
					switch d {
					case '{', '[':
						depth++
					default:
						depth--
					}
				}
			}
		}
	}
	return guess(typ, stixish)
}

func guess(typ string, stixish bool) Format {
	if typ != "" && (stixish || strings.Contains(typ, "-") || typ == "indicator" || typ == "malware" || typ == "relationship") {
		return FormatSTIX
	}
	return FormatAuto
}

// looksCSV reports whether the first non-comment line is "kind,value..."
// with a known kind (or a header).
func looksCSV(t []byte) bool {
	for len(t) > 0 {
		line := t
		if i := bytes.IndexByte(t, '\n'); i >= 0 {
			line, t = t[:i], t[i+1:]
		} else {
			t = nil
		}
		s := strings.TrimSpace(string(line))
		if s == "" || s[0] == '#' {
			continue
		}
		first, _, ok := strings.Cut(s, ",")
		if !ok {
			return false
		}
		first = strings.Trim(strings.TrimSpace(first), `"`)
		if _, err := ioc.ParseKind(first); err == nil {
			return true
		}
		switch strings.ToLower(first) {
		case "kind", "type", "value", "indicator", "ioc":
			return true // a header
		}
		return false
	}
	return false
}

// LoadDir loads every regular feed file under dir (recursively, in name
// order; hidden files and directories skipped; files whose extension is
// not a feed format's, such as README.md, skipped and reported) as one feed named opts.Feed
// (default: the directory's base name). A directory holding manifest.json
// is a MISP feed (manifest plus <uuid>.json events). All STIX files of the
// directory go through one converter, so relationships in one file give
// context to indicators in another. Indicators with the same id and
// value from several files are kept once.
func LoadDir(dir string, opts LoadOptions) ([]*ioc.Indicator, LoadReport, error) {
	if opts.Feed == "" {
		opts.Feed = filepath.Base(filepath.Clean(dir))
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err == nil {
		inds, rep, err := loadMISPDir(dir, opts)
		if err != nil {
			return nil, rep, err
		}
		return finish(inds, rep, opts)
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	var rep LoadReport
	kept := files[:0]
	for _, p := range files {
		if feedFileExt(p) {
			kept = append(kept, p)
		} else {
			rep.addSkip(p, "not a feed file (extension not one of "+strings.Join(feedExts, " ")+", optionally .gz)")
		}
	}
	files = kept
	if err != nil {
		return nil, LoadReport{}, fmt.Errorf("feeds: directory %s: %w", dir, err)
	}
	sort.Strings(files)
	var (
		all       []*ioc.Indicator
		stixData  [][]byte
		stixNames []string
	)
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return nil, rep, fmt.Errorf("feeds: %w", err)
		}
		data, err := readAll(f, p)
		f.Close()
		if err != nil {
			return nil, rep, err
		}
		format := opts.Format
		if format == FormatAuto {
			format = DetectFormat(p, data)
		}
		if format == FormatSTIX {
			stixData = append(stixData, data)
			stixNames = append(stixNames, p)
			continue
		}
		inds, r, err := loadData(data, p, format, opts)
		if err != nil {
			return nil, rep, err
		}
		rep.Merge(r)
		all = append(all, inds...)
	}
	if len(stixData) > 0 {
		inds, r, err := loadSTIX(stixData, stixNames, opts)
		if err != nil {
			return nil, rep, err
		}
		rep.Merge(r)
		all = append(all, inds...)
	}
	all = dedup(all, &rep)
	return finish(all, rep, opts)
}

// feedExts are the extensions LoadDir reads (besides none at all).
var feedExts = []string{".json", ".jsonl", ".ndjson", ".csv", ".txt", ".tsv", ".list", ".lst", ".stix"}

func feedFileExt(p string) bool {
	base := strings.TrimSuffix(strings.ToLower(filepath.Base(p)), ".gz")
	ext := filepath.Ext(base)
	if ext == "" {
		return true
	}
	for _, e := range feedExts {
		if ext == e {
			return true
		}
	}
	return false
}

// dedup keeps the first of indicators with the same id, kind, value and expression.
func dedup(inds []*ioc.Indicator, rep *LoadReport) []*ioc.Indicator {
	seen := make(map[string]struct{}, len(inds))
	out := inds[:0]
	for _, ind := range inds {
		key := ind.ID + "\x00" + ind.Kind.String() + "\x00" + ind.Value
		if ind.Expr != nil {
			key += "\x00" + ind.Expr.String()
		}
		if _, ok := seen[key]; ok {
			rep.Duplicates++
			continue
		}
		seen[key] = struct{}{}
		out = append(out, ind)
	}
	return out
}

func loadSTIX(data [][]byte, names []string, opts LoadOptions) ([]*ioc.Indicator, LoadReport, error) {
	rep := LoadReport{Files: names}
	c := stix.NewConverter(stix.Options{Feed: opts.Feed, Confidence: opts.Confidence, Translate: opts.STIXTranslator})
	where := strings.Join(names, ", ")
	for i, d := range data {
		if err := c.AddBundle(d); errors.Is(err, stix.ErrNotSTIX) {
			return nil, rep, fmt.Errorf("feeds: %s: %w", names[i], err)
		}
	}
	res := c.Result()
	r := res.Report
	rep.Records = r.Objects
	for _, e := range r.Errors {
		w := where + ": object " + e.ID
		if e.ID == "" {
			w = fmt.Sprintf("%s: object #%d", where, e.Index)
		}
		rep.addSkip(w, e.Err)
	}
	for _, u := range r.Unsupported {
		rep.Unsupported = append(rep.Unsupported, PatternIssue{Where: where, ID: u.ID, PatternType: u.PatternType, Pattern: u.Pattern, Reason: u.Reason})
	}
	for _, u := range r.NeedsCorrelation {
		rep.NeedsCorrelation = append(rep.NeedsCorrelation, PatternIssue{Where: where, ID: u.ID, PatternType: u.PatternType, Pattern: u.Pattern, Reason: u.Reason})
	}
	rep.Revoked = res.Revoked
	return res.Indicators, rep, nil
}

func loadMISP(data []byte, name string, opts LoadOptions) ([]*ioc.Indicator, LoadReport, error) {
	inds, r, err := misp.ParseEvents(data, misp.Options{Feed: opts.Feed, AllAttributes: opts.MISPAllAttributes, Confidence: opts.Confidence})
	if err != nil {
		return nil, LoadReport{Files: []string{name}}, fmt.Errorf("feeds: %s: %w", name, err)
	}
	return inds, mispReport(r, name), nil
}

func loadMISPDir(dir string, opts LoadOptions) ([]*ioc.Indicator, LoadReport, error) {
	inds, r, err := misp.LoadFeedDir(dir, misp.Options{Feed: opts.Feed, AllAttributes: opts.MISPAllAttributes, Confidence: opts.Confidence})
	if err != nil {
		return nil, LoadReport{Files: []string{dir}}, fmt.Errorf("feeds: %w", err)
	}
	return inds, mispReport(r, dir), nil
}

func mispReport(r misp.Report, name string) LoadReport {
	rep := LoadReport{Files: []string{name}, Records: r.Attributes}
	for _, s := range r.Skipped {
		w := s.Where
		if !strings.HasPrefix(w, name) {
			w = name + ": " + w
		}
		rep.addSkip(w, s.Reason)
	}
	for t, n := range r.UnknownTypes {
		if rep.UnknownTypes == nil {
			rep.UnknownTypes = make(map[string]int)
		}
		rep.UnknownTypes[t] += n
	}
	return rep
}
