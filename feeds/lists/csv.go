package lists

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// CSV column roles.
const (
	colKind = iota
	colValue
	colDescription
	colConfidence
	colName
	colLabels
	colID
	numCols
)

// headerNames maps accepted header names (lower-case) to column roles.
var headerNames = map[string]int{
	"kind": colKind, "type": colKind, "ioc_type": colKind, "indicator_type": colKind,
	"value": colValue, "indicator": colValue, "ioc": colValue, "ioc_value": colValue,
	"description": colDescription, "comment": colDescription,
	"confidence": colConfidence,
	"name":       colName,
	"labels":     colLabels, "tags": colLabels,
	"id": colID,
}

// ReadCSV reads "kind,value[,description]" records. Lines starting with
// '#' are comments; fields may be quoted (RFC 4180). The first record is a
// header when its cells are all known column names (kind/type,
// value/indicator/ioc, description/comment, confidence, name,
// labels/tags separated by ';' or '|', id); a header may order the
// columns freely. Without a header the columns are kind, value and an
// optional description. Kinds are parsed with ioc.ParseKind (aliases such
// as "ip", "hostname", "sha-256" accepted).
func ReadCSV(r io.Reader, o Options) ([]*ioc.Indicator, Report, error) {
	var (
		rep  Report
		out  []*ioc.Indicator
		seen = make(map[string]struct{})
		cols = []int{colKind, colValue, colDescription}
	)
	s := newLineScanner(r, o.Source)
	// encoding/csv gives line numbers of its own input; feed it from the
	// line scanner so the BOM and CRs are handled once, and over-long
	// lines are an error.
	pr, pw := io.Pipe()
	go func() {
		for {
			b, ok := s.next()
			if !ok {
				pw.CloseWithError(s.err())
				return
			}
			if _, err := pw.Write(append(b, '\n')); err != nil {
				return
			}
		}
	}()
	defer pr.Close()
	cr := csv.NewReader(pr)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	first := true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			rep.Skipped = append(rep.Skipped, Skip{Line: pe.StartLine, Reason: pe.Err.Error()})
			continue
		}
		if err != nil {
			return out, rep, withSource(o.Source, err)
		}
		line, _ := cr.FieldPos(0)
		if first {
			first = false
			if h, ok := parseHeader(rec); ok {
				cols = h
				continue
			}
		}
		ind, err := csvRecord(rec, cols, o)
		if err != nil {
			rep.skip(line, err)
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
	rep.Lines = s.line
	return out, rep, nil
}

func withSource(src string, err error) error {
	if src == "" || strings.HasPrefix(err.Error(), src+":") {
		return err
	}
	return fmt.Errorf("%s: %w", src, err)
}

// parseHeader returns the column roles of a header record.
func parseHeader(rec []string) ([]int, bool) {
	cols := make([]int, len(rec))
	var have [numCols]bool
	for i, c := range rec {
		role, ok := headerNames[strings.ToLower(strings.TrimSpace(c))]
		if !ok || have[role] {
			return nil, false
		}
		have[role] = true
		cols[i] = role
	}
	if !have[colKind] || !have[colValue] {
		return nil, false
	}
	return cols, true
}

// ParseCSVRecord makes the indicator of one headerless record
// (kind, value[, description]).
func ParseCSVRecord(fields []string, o Options) (*ioc.Indicator, error) {
	return csvRecord(fields, []int{colKind, colValue, colDescription}, o)
}

func csvRecord(rec []string, cols []int, o Options) (*ioc.Indicator, error) {
	if len(rec) < 2 {
		return nil, fmt.Errorf("%d field(s), want kind,value[,description]", len(rec))
	}
	if len(rec) > len(cols) {
		return nil, fmt.Errorf("%d fields, want at most %d", len(rec), len(cols))
	}
	var cell [numCols]string
	var has [numCols]bool
	for i, v := range rec {
		cell[cols[i]] = v
		has[cols[i]] = true
	}
	if !has[colValue] {
		return nil, errors.New("missing value field")
	}
	kind, err := ioc.ParseKind(cell[colKind])
	if err != nil {
		return nil, err
	}
	if !kind.IsAtomic() {
		return nil, fmt.Errorf("kind %s cannot be given in CSV (compound indicators need the JSON-lines format)", kind)
	}
	value := cell[colValue]
	if !freeText(kind) {
		value = strings.TrimSpace(value)
	}
	ind, err := ParseValue(value, kind, o)
	if err != nil {
		return nil, err
	}
	ind.Description = strings.TrimSpace(cell[colDescription])
	ind.Name = strings.TrimSpace(cell[colName])
	if c := strings.TrimSpace(cell[colConfidence]); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 || n > 100 {
			return nil, fmt.Errorf("confidence %q: want an integer 0-100", c)
		}
		ind.Confidence = n
	}
	if l := strings.TrimSpace(cell[colLabels]); l != "" {
		for _, s := range strings.FieldsFunc(l, func(r rune) bool { return r == ';' || r == '|' }) {
			if s = strings.TrimSpace(s); s != "" {
				ind.Labels = append(ind.Labels, s)
			}
		}
	}
	if id := strings.TrimSpace(cell[colID]); id != "" {
		ind.ID = id
	}
	return ind, ind.Validate()
}
