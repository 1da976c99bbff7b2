package taxii

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Version is a TAXII protocol version.
type Version string

// Supported versions. VersionAuto (the empty string) negotiates: 2.1
// first, then 2.0.
const (
	VersionAuto Version = ""
	Version21   Version = "2.1"
	Version20   Version = "2.0"
)

// Media types of the two protocol versions.
const (
	MediaTAXII21 = "application/taxii+json;version=2.1"
	MediaTAXII20 = "application/vnd.oasis.taxii+json; version=2.0"
	MediaSTIX20  = "application/vnd.oasis.stix+json; version=2.0"
)

// Discovery is the server's discovery resource. Default and APIRoots are
// resolved to absolute URLs ending in "/".
type Discovery struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Contact     string   `json:"contact,omitempty"`
	Default     string   `json:"default,omitempty"`
	APIRoots    []string `json:"api_roots,omitempty"`
	URL         string   `json:"-"` // where the document was found (without credentials)
	Version     Version  `json:"-"` // the protocol version the server speaks
}

// APIRoot is the information resource of an API root.
type APIRoot struct {
	Title            string   `json:"title"`
	Description      string   `json:"description,omitempty"`
	Versions         []string `json:"versions,omitempty"`
	MaxContentLength int64    `json:"max_content_length,omitempty"`
	URL              string   `json:"-"` // absolute URL of the API root, ending in "/"
}

// Collection describes one collection of an API root.
type Collection struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Alias       string   `json:"alias,omitempty"` // 2.1 only
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types,omitempty"`
}

// ManifestRecord is one entry of a collection manifest. TAXII 2.1 gives
// one record per object version (Version, MediaType); 2.0 one record per
// object with all its versions (Versions, MediaTypes). The decoder fills
// both forms: Versions always holds every version listed, and Version the
// last of them.
type ManifestRecord struct {
	ID         string    `json:"id"`
	DateAdded  time.Time `json:"date_added,omitzero"`
	Version    string    `json:"version,omitempty"`
	Versions   []string  `json:"versions,omitempty"`
	MediaType  string    `json:"media_type,omitempty"`
	MediaTypes []string  `json:"media_types,omitempty"`
}

// Error is a TAXII error message, as servers return it with a 4xx or 5xx
// status.
type Error struct {
	Title           string            `json:"title"`
	Description     string            `json:"description,omitempty"`
	ErrorID         string            `json:"error_id,omitempty"`
	ErrorCode       string            `json:"error_code,omitempty"`
	HTTPStatus      string            `json:"http_status,omitempty"`
	ExternalDetails string            `json:"external_details,omitempty"`
	Details         map[string]string `json:"details,omitempty"`
}

// String renders the error as "title: description (error_code X)".
func (e *Error) String() string {
	s := e.Title
	if e.Description != "" && e.Description != e.Title {
		if s != "" {
			s += ": "
		}
		s += e.Description
	}
	if e.ErrorCode != "" {
		s += " (error_code " + e.ErrorCode + ")"
	}
	return s
}

// Envelope is one page of objects (or manifest records) as a server sends
// it: a TAXII 2.1 envelope, or a TAXII 2.0 STIX bundle (More and Next
// then stay unset; 2.0 pages by HTTP Range).
type Envelope struct {
	More    bool
	Next    string
	Objects []json.RawMessage
	Bundle  bool   // the body was a STIX bundle ("type": "bundle")
	ID      string // the bundle id, if any
}

// jsonError turns a decoding error into one naming the byte offset.
func jsonError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at offset %d: %w", se.Offset, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("unexpected JSON %s at offset %d (field %q): %w", te.Value, te.Offset, te.Field, err)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// decodeObject decodes body, which must be one JSON object, into v.
func decodeObject(body []byte, v any) error {
	t := bytes.TrimLeft(body, " \t\r\n")
	if len(t) == 0 {
		return errors.New("empty body, want a JSON object")
	}
	if t[0] != '{' {
		return fmt.Errorf("invalid JSON at offset %d: want a JSON object, got %q", len(body)-len(t), clip(t, 20))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return jsonError(err)
	}
	return nil
}

// flexString decodes a JSON string or number (servers disagree on the
// type of http_status and next) into a string; null is "".
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or number, got %s", clip(b, 20))
	}
	*f = flexString(n.String())
	return nil
}

// DecodeEnvelope decodes a page of objects: a TAXII 2.1 envelope
// ({"more", "next", "objects"}) or a STIX bundle ({"type": "bundle",
// "objects"}) as TAXII 2.0 returns. An empty envelope ({}) has no objects.
// Objects are returned raw and unchecked (each is a JSON value copied from
// body); the STIX converter validates them one by one.
func DecodeEnvelope(body []byte) (Envelope, error) {
	var raw struct {
		Type    string            `json:"type"`
		ID      string            `json:"id"`
		More    *bool             `json:"more"`
		Next    flexString        `json:"next"`
		Objects []json.RawMessage `json:"objects"`
	}
	if err := decodeObject(body, &raw); err != nil {
		return Envelope{}, err
	}
	if raw.Type != "" && raw.Type != "bundle" {
		return Envelope{}, fmt.Errorf("body is a STIX %q object, want an envelope or a bundle", raw.Type)
	}
	env := Envelope{Next: string(raw.Next), Objects: raw.Objects, Bundle: raw.Type == "bundle", ID: raw.ID}
	if raw.More != nil {
		env.More = *raw.More
	}
	for i, o := range env.Objects {
		if len(o) == 0 || string(o) == "null" {
			return Envelope{}, fmt.Errorf("objects[%d] is null", i)
		}
	}
	return env, nil
}

// DecodeDiscovery decodes a discovery resource. Roots are returned as the
// server wrote them (see Client.Discovery for resolution). A JSON object
// with none of title, default and api_roots is not a discovery resource.
func DecodeDiscovery(body []byte) (*Discovery, error) {
	var d Discovery
	if err := decodeObject(body, &d); err != nil {
		return nil, err
	}
	if d.Title == "" && d.Default == "" && len(d.APIRoots) == 0 {
		return nil, errors.New("not a TAXII discovery resource (no title, default or api_roots)")
	}
	return &d, nil
}

// DecodeAPIRoot decodes an API root information resource.
func DecodeAPIRoot(body []byte) (*APIRoot, error) {
	var r APIRoot
	if err := decodeObject(body, &r); err != nil {
		return nil, err
	}
	if r.MaxContentLength < 0 {
		return nil, fmt.Errorf("max_content_length %d is negative", r.MaxContentLength)
	}
	return &r, nil
}

// DecodeCollections decodes the collections resource ({"collections":
// [...]}; an empty object means no collections). Every collection must
// have an id.
func DecodeCollections(body []byte) ([]Collection, error) {
	var r struct {
		Collections []Collection `json:"collections"`
	}
	if err := decodeObject(body, &r); err != nil {
		return nil, err
	}
	for i, c := range r.Collections {
		if c.ID == "" {
			return nil, fmt.Errorf("collections[%d] (%q) has no id", i, c.Title)
		}
	}
	return r.Collections, nil
}

// DecodeCollection decodes one collection resource.
func DecodeCollection(body []byte) (*Collection, error) {
	var c Collection
	if err := decodeObject(body, &c); err != nil {
		return nil, err
	}
	if c.ID == "" {
		return nil, errors.New("collection has no id")
	}
	return &c, nil
}

// DecodeManifestRecord decodes one manifest entry of either version.
func DecodeManifestRecord(raw []byte) (ManifestRecord, error) {
	var r struct {
		ID         string     `json:"id"`
		DateAdded  string     `json:"date_added"`
		Version    flexString `json:"version"`
		Versions   []string   `json:"versions"`
		MediaType  string     `json:"media_type"`
		MediaTypes []string   `json:"media_types"`
	}
	if err := decodeObject(raw, &r); err != nil {
		return ManifestRecord{}, err
	}
	if r.ID == "" {
		return ManifestRecord{}, errors.New("manifest record has no id")
	}
	m := ManifestRecord{ID: r.ID, Version: string(r.Version), Versions: r.Versions, MediaType: r.MediaType, MediaTypes: r.MediaTypes}
	if r.DateAdded != "" {
		t, err := ParseTimestamp(r.DateAdded)
		if err != nil {
			return ManifestRecord{}, fmt.Errorf("manifest record %s: date_added: %w", r.ID, err)
		}
		m.DateAdded = t
	}
	switch {
	case m.Version != "" && len(m.Versions) == 0:
		m.Versions = []string{m.Version}
	case m.Version == "" && len(m.Versions) > 0:
		m.Version = m.Versions[len(m.Versions)-1]
	}
	if m.MediaType == "" && len(m.MediaTypes) > 0 {
		m.MediaType = m.MediaTypes[0]
	}
	return m, nil
}

// DecodeError decodes a TAXII error message; ok is false when body is not
// one (not a JSON object, or without title and description).
func DecodeError(body []byte) (e *Error, ok bool) {
	var r struct {
		Title           string         `json:"title"`
		Description     string         `json:"description"`
		ErrorID         flexString     `json:"error_id"`
		ErrorCode       flexString     `json:"error_code"`
		HTTPStatus      flexString     `json:"http_status"`
		ExternalDetails string         `json:"external_details"`
		Details         map[string]any `json:"details"`
	}
	if decodeObject(body, &r) != nil || (r.Title == "" && r.Description == "") {
		return nil, false
	}
	e = &Error{Title: r.Title, Description: r.Description, ErrorID: string(r.ErrorID), ErrorCode: string(r.ErrorCode),
		HTTPStatus: string(r.HTTPStatus), ExternalDetails: r.ExternalDetails}
	if len(r.Details) > 0 {
		e.Details = make(map[string]string, len(r.Details))
		for k, v := range r.Details {
			e.Details[k] = fmt.Sprint(v)
		}
	}
	return e, true
}

// ItemRange is a TAXII 2.0 "Content-Range: items First-Last/Total" value.
// Total is -1 when the server sent "*" (unknown).
type ItemRange struct {
	First, Last, Total int64
}

// String renders the range as in the header.
func (r ItemRange) String() string {
	t := "*"
	if r.Total >= 0 {
		t = strconv.FormatInt(r.Total, 10)
	}
	return fmt.Sprintf("items %d-%d/%s", r.First, r.Last, t)
}

// ParseContentRange parses a TAXII 2.0 Content-Range header value,
// "items 0-99/1000" (also "items=0-99/1000", and "*" for an unknown
// total). The range must be well formed: 0 <= First <= Last, and Last <
// Total when the total is known.
func ParseContentRange(s string) (ItemRange, error) {
	v := strings.TrimSpace(s)
	unit, rest, ok := strings.Cut(v, " ")
	if !ok {
		unit, rest, ok = strings.Cut(v, "=")
	}
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "items") {
		return ItemRange{}, fmt.Errorf("content-range %q: want \"items FIRST-LAST/TOTAL\"", s)
	}
	span, total, ok := strings.Cut(strings.TrimSpace(rest), "/")
	if !ok {
		return ItemRange{}, fmt.Errorf("content-range %q: no /TOTAL", s)
	}
	first, last, ok := strings.Cut(span, "-")
	if !ok {
		return ItemRange{}, fmt.Errorf("content-range %q: no FIRST-LAST", s)
	}
	r := ItemRange{Total: -1}
	var err error
	if r.First, err = parseCount(first); err != nil {
		return ItemRange{}, fmt.Errorf("content-range %q: first: %w", s, err)
	}
	if r.Last, err = parseCount(last); err != nil {
		return ItemRange{}, fmt.Errorf("content-range %q: last: %w", s, err)
	}
	if strings.TrimSpace(total) != "*" {
		if r.Total, err = parseCount(total); err != nil {
			return ItemRange{}, fmt.Errorf("content-range %q: total: %w", s, err)
		}
	}
	if r.Last < r.First {
		return ItemRange{}, fmt.Errorf("content-range %q: last %d before first %d", s, r.Last, r.First)
	}
	if r.Total >= 0 && r.Last >= r.Total {
		return ItemRange{}, fmt.Errorf("content-range %q: last %d not below total %d", s, r.Last, r.Total)
	}
	return r, nil
}

func parseCount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, fmt.Errorf("%q is not a non-negative integer", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a non-negative integer", s)
	}
	return n, nil
}

// ParseTimestamp parses a TAXII/STIX timestamp ("2016-01-01T01:01:01.123Z";
// any RFC 3339 form is accepted) and returns it in UTC.
func ParseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: want RFC 3339 (2006-01-02T15:04:05.000Z)", s)
	}
	return t.UTC(), nil
}

// FormatTimestamp formats t as TAXII wants it: UTC, "Z", with the
// fractional seconds t carries (up to nanoseconds).
func FormatTimestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// ParseRetryAfter parses a Retry-After header value: a number of seconds,
// or an HTTP date taken relative to now. ok is false when the value is
// absent or malformed. A date in the past gives 0.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(24*time.Hour/time.Second) {
			n = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d = t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}

// mediaVersion returns the TAXII version a Content-Type header names, or
// VersionAuto when it names none.
func mediaVersion(contentType string) Version {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return VersionAuto
	}
	switch mt {
	case "application/taxii+json":
		if params["version"] == "" || params["version"] == "2.1" {
			return Version21
		}
	case "application/vnd.oasis.taxii+json", "application/vnd.oasis.stix+json":
		if params["version"] == "" || params["version"] == "2.0" {
			return Version20
		}
	}
	return VersionAuto
}

// isJSONMediaType reports whether a Content-Type is one a TAXII server may
// legitimately send for a JSON body.
func isJSONMediaType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch mt {
	case "application/taxii+json", "application/stix+json", "application/vnd.oasis.taxii+json",
		"application/vnd.oasis.stix+json", "application/json":
		return true
	}
	return false
}

// looksHTML reports whether a response is an HTML page (typically a proxy
// or load balancer error page) rather than JSON.
func looksHTML(contentType string, body []byte) bool {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && (mt == "text/html" || mt == "application/xhtml+xml") {
		return true
	}
	t := bytes.TrimLeft(body, " \t\r\n\ufeff")
	return len(t) > 0 && t[0] == '<'
}

// clip returns at most n bytes of b as a printable string.
func clip(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return strings.ToValidUTF8(string(b), "?")
}
