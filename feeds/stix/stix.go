// Package stix converts STIX 2.1 and 2.0 objects into engine indicators
// (engine/ioc). It reads bundles, TAXII envelopes and single objects, and
// bundles that mix 2.0 and 2.1 objects.
//
// A Converter accumulates objects, page by page as TAXII delivers them,
// and Result resolves everything added so far:
//
//   - every indicator whose pattern_type is "stix" (or absent, as in 2.0)
//     is translated by a PatternTranslator (by default the feeds/stixpattern
//     parser and translator): each atom becomes one ioc.Indicator and each
//     single-observation expression one KindCompound indicator, all with
//     ID = the STIX id and Pattern = the source pattern;
//   - patterns of other types (sigma, snort, yara, suricata, pcre...),
//     patterns the event stream cannot honour, and patterns that need
//     correlation across events are reported (Report.Unsupported,
//     Report.NeedsCorrelation), never silently dropped;
//   - the indicator's context is carried over: name, description, labels
//     and indicator_types, confidence (2.1; Options.Confidence otherwise),
//     validity, created/modified, created_by_ref as the identity's name,
//     external references, kill chain phases, and through relationships
//     (indicates, related-to, uses, attributed-to) the related malware,
//     threat actors, intrusion sets, campaigns and ATT&CK techniques
//     (attack-pattern external id from source "mitre-attack"). Context is
//     followed transitively where it matters: an indicator that indicates
//     a malware gets the intrusion sets, actors and campaigns that use it,
//     and a campaign or intrusion set brings what it is attributed to;
//   - versions: of several versions of one id the newest "modified" wins
//     (same or older ones are ignored); a revoked newest version is listed
//     in Result.Revoked and yields no indicators.
//
// Unknown and non-indicator object types are counted and otherwise
// ignored (an ATT&CK bundle has thousands). A malformed object is an error
// naming its index and id; it is counted in Report.Errors and the
// converter goes on with the next one.
//
// Indicators sharing a STIX id are distinct pointers but share their
// Labels and Context slices: treat returned indicators as immutable.
package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// Atom is one fast-path value of a translated pattern: the pattern
// matches an event when any atom does.
type Atom struct {
	Kind  ioc.Kind
	Value string
}

// Translation is what a pattern becomes on the event stream (see
// feeds/stixpattern.Translate, which this mirrors).
type Translation struct {
	Atoms            []Atom
	Exprs            []*ioc.Expr // single-observation compound expressions
	NeedsCorrelation bool        // spans several events: not evaluable per event
	Unsupported      string      // non-empty: why it cannot be honoured
}

// PatternTranslator parses and translates a STIX pattern. An error means
// the pattern is not valid STIX patterning; it names the position.
type PatternTranslator func(pattern string) (Translation, error)

// Options configures a Converter.
type Options struct {
	// Feed is stamped on every indicator.
	Feed string
	// Confidence (0-100) is used where an indicator has none (always for
	// STIX 2.0, which has no confidence property).
	Confidence int
	// Translate translates STIX patterns; nil uses DefaultTranslator.
	Translate PatternTranslator
}

// PatternIssue is a pattern that is reported instead of converted.
type PatternIssue struct {
	ID          string `json:"id"`
	PatternType string `json:"pattern_type"`
	Pattern     string `json:"pattern"`
	Reason      string `json:"reason"`
}

// ObjectError is a malformed object.
type ObjectError struct {
	Index int    `json:"index"` // 0-based position among all objects added; -1 for errors found by Result
	ID    string `json:"id,omitempty"`
	Err   string `json:"error"`
}

// Error renders "object #index (id): err".
func (e ObjectError) Error() string {
	switch {
	case e.Index < 0:
		return fmt.Sprintf("stix: object %s: %s", e.ID, e.Err)
	case e.ID != "":
		return fmt.Sprintf("stix: object #%d (%s): %s", e.Index, e.ID, e.Err)
	}
	return fmt.Sprintf("stix: object #%d: %s", e.Index, e.Err)
}

// Report says what the converter saw and did.
type Report struct {
	Objects          int              `json:"objects"`           // objects added, versions and bad ones included
	ByType           map[string]int   `json:"by_type,omitempty"` // objects added by STIX type
	IndicatorObjects int              `json:"indicator_objects"` // distinct indicator ids (newest versions)
	Indicators       int              `json:"indicators"`        // engine indicators produced
	ByKind           map[ioc.Kind]int `json:"by_kind,omitempty"`
	Unsupported      []PatternIssue   `json:"unsupported,omitempty"`
	NeedsCorrelation []PatternIssue   `json:"needs_correlation,omitempty"`
	Errors           []ObjectError    `json:"errors,omitempty"`
}

// Result is the conversion of everything added so far.
type Result struct {
	Indicators []*ioc.Indicator // sorted by STIX id; atoms in pattern order, then compounds
	Revoked    []string         // ids whose newest version is revoked, sorted
	Report     Report
}

// Converter accumulates STIX objects and converts them. It is not safe
// for concurrent use.
type Converter struct {
	opts    Options
	objects map[string]*object // newest version by id, relevant types only
	byType  map[string]int
	added   int
	errs    []ObjectError
	cache   map[string]translated // by id + modified + pattern
}

type translated struct {
	tr  Translation
	err error
}

// NewConverter returns an empty converter.
func NewConverter(opts Options) *Converter {
	if opts.Translate == nil {
		opts.Translate = DefaultTranslator
	}
	return &Converter{
		opts:    opts,
		objects: make(map[string]*object),
		byType:  make(map[string]int),
		cache:   make(map[string]translated),
	}
}

// object holds the properties of the STIX objects the converter uses.
type object struct {
	Type               string          `json:"type"`
	ID                 string          `json:"id"`
	SpecVersion        string          `json:"spec_version"`
	Created            string          `json:"created"`
	Modified           string          `json:"modified"`
	CreatedByRef       string          `json:"created_by_ref"`
	Revoked            bool            `json:"revoked"`
	Name               string          `json:"name"`
	Description        string          `json:"description"`
	Labels             []string        `json:"labels"`
	Confidence         *json.Number    `json:"confidence"`
	ExternalReferences []extRef        `json:"external_references"`
	KillChainPhases    []killChain     `json:"kill_chain_phases"`
	Pattern            string          `json:"pattern"`
	PatternType        string          `json:"pattern_type"`
	IndicatorTypes     []string        `json:"indicator_types"`
	ValidFrom          string          `json:"valid_from"`
	ValidUntil         string          `json:"valid_until"`
	RelationshipType   string          `json:"relationship_type"`
	SourceRef          string          `json:"source_ref"`
	TargetRef          string          `json:"target_ref"`
	Objects            json.RawMessage `json:"objects"` // a nested bundle passed to Add

	raw                                      json.RawMessage // the object as added (context objects only)
	created, modified, validFrom, validUntil time.Time
	confidence                               int
}

type extRef struct {
	SourceName  string `json:"source_name"`
	URL         string `json:"url"`
	ExternalID  string `json:"external_id"`
	Description string `json:"description"`
}

type killChain struct {
	KillChainName string `json:"kill_chain_name"`
	PhaseName     string `json:"phase_name"`
}

// relevant lists the object types the converter keeps.
var relevant = map[string]bool{
	"indicator": true, "relationship": true, "malware": true, "tool": true,
	"intrusion-set": true, "threat-actor": true, "campaign": true,
	"attack-pattern": true, "identity": true,
}

// Add adds one STIX object (2.0 or 2.1). Unknown types are counted and
// ignored. A malformed object returns an ObjectError (also kept in the
// report); the converter stays usable.
func (c *Converter) Add(raw json.RawMessage) error {
	idx := c.added
	c.added++
	var o object
	if err := json.Unmarshal(raw, &o); err != nil {
		return c.fail(idx, "", fmt.Errorf("not a STIX object: %w", err))
	}
	if o.Type == "" {
		return c.fail(idx, o.ID, errors.New("missing type"))
	}
	c.byType[o.Type]++
	if o.Type == "bundle" {
		return c.fail(idx, o.ID, errors.New("a bundle inside a bundle (use AddBundle)"))
	}
	if !relevant[o.Type] {
		return nil
	}
	if err := o.check(); err != nil {
		return c.fail(idx, o.ID, err)
	}
	if old, ok := c.objects[o.ID]; ok && !o.modified.After(old.modified) {
		return nil // same or older version
	}
	o.Objects = nil
	if o.Type != "indicator" {
		o.raw = o.minimal()
	}
	c.objects[o.ID] = &o
	return nil
}

// minimal re-encodes a context object with only the properties the
// converter uses, so that ContextState stays small (an ATT&CK
// attack-pattern's description and detection text are dropped).
func (o *object) minimal() json.RawMessage {
	type ref struct {
		SourceName string `json:"source_name"`
		ExternalID string `json:"external_id,omitempty"`
	}
	m := struct {
		Type               string `json:"type"`
		ID                 string `json:"id"`
		SpecVersion        string `json:"spec_version,omitempty"`
		Created            string `json:"created,omitempty"`
		Modified           string `json:"modified,omitempty"`
		Revoked            bool   `json:"revoked,omitempty"`
		Name               string `json:"name,omitempty"`
		ExternalReferences []ref  `json:"external_references,omitempty"`
		RelationshipType   string `json:"relationship_type,omitempty"`
		SourceRef          string `json:"source_ref,omitempty"`
		TargetRef          string `json:"target_ref,omitempty"`
	}{o.Type, o.ID, o.SpecVersion, o.Created, o.Modified, o.Revoked, o.Name, nil, o.RelationshipType, o.SourceRef, o.TargetRef}
	if o.Type == "attack-pattern" {
		for _, r := range o.ExternalReferences {
			if r.ExternalID != "" && strings.HasPrefix(r.SourceName, "mitre-") {
				m.ExternalReferences = append(m.ExternalReferences, ref{r.SourceName, r.ExternalID})
			}
		}
	}
	b, _ := json.Marshal(m) // strings and bools only: cannot fail
	return b
}

// ContextState returns the context objects added so far (every relevant
// object but indicators: relationships, malware, tools, intrusion sets,
// threat actors, campaigns, attack patterns, identities; newest versions)
// as a JSON array, sorted by id. A TAXII poller persists it (e.g.
// store.SetBlob) and hands it to LoadContextState of the next poll's
// converter, so that an incremental poll (added_after) that brings a new
// indicator, or a new version of one, still resolves relationships and
// names delivered by earlier polls.
func (c *Converter) ContextState() []byte {
	ids := make([]string, 0, len(c.objects))
	for id, o := range c.objects {
		if o.raw != nil {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var b bytes.Buffer
	b.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.Write(bytes.TrimSpace(c.objects[id].raw))
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// LoadContextState adds the objects of a ContextState (empty data adds
// nothing). They are versioned like any added object but not counted in
// the Report (they are not this poll's objects). Malformed data is an
// error and adds nothing of it.
func (c *Converter) LoadContextState(data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	var objs []json.RawMessage
	if err := json.Unmarshal(data, &objs); err != nil {
		return fmt.Errorf("stix: context state: %w", err)
	}
	sub := NewConverter(c.opts)
	for i, raw := range objs {
		if err := sub.Add(raw); err != nil {
			return fmt.Errorf("stix: context state object %d: %w", i, err)
		}
	}
	for id, o := range sub.objects {
		if o.Type == "indicator" {
			continue
		}
		if old, ok := c.objects[id]; ok && !o.modified.After(old.modified) {
			continue
		}
		c.objects[id] = o
	}
	return nil
}

func (c *Converter) fail(idx int, id string, err error) error {
	e := ObjectError{Index: idx, ID: id, Err: err.Error()}
	c.errs = append(c.errs, e)
	return e
}

// check validates the used properties and parses timestamps.
func (o *object) check() error {
	prefix, _, ok := strings.Cut(o.ID, "--")
	if !ok || prefix != o.Type {
		return fmt.Errorf("id %q is not %s--<uuid>", o.ID, o.Type)
	}
	var err error
	parse := func(name, s string, dst *time.Time) {
		if s == "" || err != nil {
			return
		}
		t, e := time.Parse(time.RFC3339Nano, s)
		if e != nil {
			err = fmt.Errorf("%s %q: not an RFC 3339 timestamp", name, s)
			return
		}
		*dst = t.UTC()
	}
	parse("created", o.Created, &o.created)
	parse("modified", o.Modified, &o.modified)
	parse("valid_from", o.ValidFrom, &o.validFrom)
	parse("valid_until", o.ValidUntil, &o.validUntil)
	if err != nil {
		return err
	}
	if o.modified.IsZero() {
		o.modified = o.created
	}
	if o.Confidence != nil {
		n, e := o.Confidence.Int64()
		if e != nil || n < 0 || n > 100 {
			return fmt.Errorf("confidence %s: want an integer 0-100", o.Confidence.String())
		}
		o.confidence = int(n)
	}
	switch o.Type {
	case "indicator":
		if o.Pattern == "" {
			return errors.New("indicator without pattern")
		}
		if !o.validUntil.IsZero() && !o.validFrom.IsZero() && !o.validUntil.After(o.validFrom) {
			return fmt.Errorf("valid_until %s is not after valid_from %s", o.ValidUntil, o.ValidFrom)
		}
	case "relationship":
		if o.RelationshipType == "" || o.SourceRef == "" || o.TargetRef == "" {
			return errors.New("relationship without relationship_type, source_ref or target_ref")
		}
	}
	return nil
}

// ErrNotSTIX is returned (wrapped) by AddBundle for input that is not a
// JSON bundle, envelope, array or object at all.
var ErrNotSTIX = errors.New("stix: not STIX JSON")

// AddBundle adds every object of a STIX bundle ({"type":"bundle",
// "objects":[...]}), a TAXII envelope ({"objects":[...], "more":...}), a
// JSON array of objects, a single object, or a stream of these (e.g.
// one STIX object per line). Malformed objects are
// skipped and returned as a joined error (at most the first 20 are
// listed); the good ones are kept. Input that is not JSON at all is an
// error.
func (c *Converter) AddBundle(data []byte) error {
	t := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	var objs []json.RawMessage
	switch {
	case len(t) > 0 && t[0] == '[':
		if err := json.Unmarshal(t, &objs); err != nil {
			return fmt.Errorf("%w: not a JSON array of objects: %v", ErrNotSTIX, err)
		}
	default:
		// One JSON value (bundle, envelope, object), or a stream of them
		// (STIX objects as JSON lines).
		dec := json.NewDecoder(bytes.NewReader(t))
		for {
			var raw json.RawMessage
			if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return fmt.Errorf("%w: not a bundle, envelope or object stream: %v", ErrNotSTIX, err)
			}
			var env struct {
				Type    *string           `json:"type"`
				Objects []json.RawMessage `json:"objects"`
			}
			if err := json.Unmarshal(raw, &env); err != nil {
				return fmt.Errorf("%w: not a bundle, envelope or object: %v", ErrNotSTIX, err)
			}
			if env.Type != nil && *env.Type != "bundle" {
				objs = append(objs, raw) // a single object
			} else {
				objs = append(objs, env.Objects...)
			}
		}
		if len(objs) == 0 && len(t) == 0 {
			return fmt.Errorf("%w: empty input", ErrNotSTIX)
		}
	}
	var errs []error
	n := 0
	for _, raw := range objs {
		if err := c.Add(raw); err != nil {
			n++
			if len(errs) < 20 {
				errs = append(errs, err)
			}
		}
	}
	if n > len(errs) {
		errs = append(errs, fmt.Errorf("stix: %d more bad objects", n-len(errs)))
	}
	return errors.Join(errs...)
}

// Result converts everything added so far. It may be called repeatedly
// (e.g. after each TAXII page); each call resolves relationships again.
func (c *Converter) Result() Result {
	rep := Report{Objects: c.added, ByType: make(map[string]int, len(c.byType)), Errors: append([]ObjectError(nil), c.errs...)}
	for t, n := range c.byType {
		rep.ByType[t] = n
	}
	g := c.graph()
	var (
		ids     []string
		revoked []string
	)
	for id, o := range c.objects {
		if o.Type == "indicator" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var out []*ioc.Indicator
	for _, id := range ids {
		o := c.objects[id]
		rep.IndicatorObjects++
		if o.Revoked {
			revoked = append(revoked, id)
			continue
		}
		pt := strings.ToLower(o.PatternType)
		if pt != "" && pt != "stix" {
			rep.Unsupported = append(rep.Unsupported, PatternIssue{ID: id, PatternType: o.PatternType, Pattern: o.Pattern,
				Reason: fmt.Sprintf("pattern type %q is not evaluated on the event stream", o.PatternType)})
			continue
		}
		tr, err := c.translate(o)
		if err != nil {
			rep.Errors = append(rep.Errors, ObjectError{Index: -1, ID: id, Err: "pattern: " + err.Error()})
			continue
		}
		issue := PatternIssue{ID: id, PatternType: "stix", Pattern: o.Pattern}
		switch {
		case tr.NeedsCorrelation:
			issue.Reason = tr.Unsupported
			if issue.Reason == "" {
				issue.Reason = "the pattern spans several observations (correlation across events is not evaluated)"
			}
			rep.NeedsCorrelation = append(rep.NeedsCorrelation, issue)
			continue
		case tr.Unsupported != "":
			issue.Reason = tr.Unsupported
			rep.Unsupported = append(rep.Unsupported, issue)
			continue
		case len(tr.Atoms) == 0 && len(tr.Exprs) == 0:
			issue.Reason = "the pattern translates to nothing the event stream can match"
			rep.Unsupported = append(rep.Unsupported, issue)
			continue
		}
		base := c.base(o, g)
		var inds []*ioc.Indicator
		var bad error
		for _, a := range tr.Atoms {
			ind := base
			ind.Kind, ind.Value = a.Kind, a.Value
			if err := ind.Validate(); err != nil {
				bad = err
				break
			}
			inds = append(inds, &ind)
		}
		for _, e := range tr.Exprs {
			if bad != nil {
				break
			}
			ind := base
			ind.Kind, ind.Expr = ioc.KindCompound, e
			if err := ind.Validate(); err != nil {
				bad = err
				break
			}
			inds = append(inds, &ind)
		}
		if bad != nil {
			rep.Errors = append(rep.Errors, ObjectError{Index: -1, ID: id, Err: "translation: " + bad.Error()})
			continue
		}
		out = append(out, inds...)
	}
	for _, ind := range out {
		if rep.ByKind == nil {
			rep.ByKind = make(map[ioc.Kind]int)
		}
		rep.ByKind[ind.Kind]++
	}
	rep.Indicators = len(out)
	return Result{Indicators: out, Revoked: revoked, Report: rep}
}

func (c *Converter) translate(o *object) (Translation, error) {
	key := o.ID + "\x00" + o.Modified + "\x00" + o.Pattern
	if t, ok := c.cache[key]; ok {
		return t.tr, t.err
	}
	tr, err := c.opts.Translate(o.Pattern)
	c.cache[key] = translated{tr, err}
	return tr, err
}

// base builds the indicator fields shared by all engine indicators of o.
func (c *Converter) base(o *object, g *graph) ioc.Indicator {
	ind := ioc.Indicator{
		ID:          o.ID,
		Pattern:     o.Pattern,
		Feed:        c.opts.Feed,
		Confidence:  c.opts.Confidence,
		Name:        o.Name,
		Description: o.Description,
		Labels:      uniq(append(append([]string(nil), o.Labels...), o.IndicatorTypes...)),
		ValidFrom:   o.validFrom,
		ValidUntil:  o.validUntil,
		Created:     o.created,
		Modified:    o.modified,
	}
	if o.Confidence != nil {
		ind.Confidence = o.confidence
	}
	if o.CreatedByRef != "" {
		ind.Provider = o.CreatedByRef
		if idt, ok := c.objects[o.CreatedByRef]; ok && idt.Name != "" && !idt.Revoked {
			ind.Provider = idt.Name
		}
	}
	for _, r := range o.ExternalReferences {
		if r.URL == "" && r.ExternalID == "" {
			continue
		}
		ind.Context.References = append(ind.Context.References, ioc.Reference{Source: r.SourceName, URL: r.URL, ExternalID: r.ExternalID})
	}
	for _, k := range o.KillChainPhases {
		if k.KillChainName != "" && k.PhaseName != "" {
			ind.Context.KillChain = append(ind.Context.KillChain, k.KillChainName+":"+k.PhaseName)
		}
	}
	ind.Context.KillChain = uniq(ind.Context.KillChain)
	g.context(o.ID, &ind.Context)
	return ind
}

func uniq(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	seen := make(map[string]struct{}, len(s))
	out := s[:0]
	for _, v := range s {
		if v == "" {
			continue
		}
		if _, ok := seen[v]; ok {
			continue
		}
		seen[v] = struct{}{}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
