package alert

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
)

// ECSVersion is the ECS version the alert documents follow (ecs.version).
const ECSVersion = "8.16.0"

// Dataset is the alerts' event.dataset.
const Dataset = "iocmatch.alert"

// MatchType is the value of threat.enrichments.matched.type. Kibana shows
// enrichments of this type as indicator matches (as opposed to its own
// investigation-time enrichments).
const MatchType = "indicator_match_rule"

// DefaultMaxOriginalBytes is the default cap on event.original.
const DefaultMaxOriginalBytes = 1 << 20

// DefaultECSFieldsets lists the top-level keys of an ECS event copied
// into its alert (see Options.ECSFieldsets). The alert's own fields
// (@timestamp, ecs, event, message, threat, iocmatch) are never copied,
// and neither is data_stream, which would route the alert into the
// event's data stream.
func DefaultECSFieldsets() []string {
	return []string{
		"agent", "client", "cloud", "container", "destination", "device", "dns", "email",
		"file", "group", "host", "http", "labels", "log", "network", "observer",
		"orchestrator", "organization", "package", "process", "registry", "related",
		"rule", "server", "service", "source", "tags", "tls", "url", "user", "user_agent",
		"vulnerability", "winlog",
	}
}

// reservedKeys are the alert's own top-level keys.
func reservedKey(k string) bool {
	switch k {
	case "@timestamp", "ecs", "event", "message", "threat", "iocmatch", "data_stream":
		return true
	}
	return false
}

// Options configure a Builder. The zero value is valid.
type Options struct {
	// OmitOriginal leaves event.original and the parsed copy of the
	// event out of the alert (the alert then only carries what matched
	// and the entity fields derived from the observables).
	OmitOriginal bool
	// MaxOriginalBytes caps event.original; a longer event is cut at a
	// UTF-8 boundary and iocmatch.original_truncated is set. The parsed
	// copy is kept whole. 0 means DefaultMaxOriginalBytes; negative
	// means no cap.
	MaxOriginalBytes int
	// ECSFieldsets are the top-level keys copied from an ECS event into
	// the alert (dotted keys count by their first component: "source.ip"
	// belongs to "source"). A fieldset whose value is not a JSON object
	// ("source": "x"; tags excepted) is not copied, so that it cannot
	// break the alert's ECS mapping. nil means DefaultECSFieldsets(); an
	// empty non-nil slice copies nothing (the event is then kept under
	// iocmatch.event like other formats).
	ECSFieldsets []string
}

// Input is one matched event handed to Build: its bytes, what
// engine/observe extracted from it (copy the fields of observe.Result)
// and what engine/match found. Build copies what it keeps: the slices
// may alias buffers the caller reuses after Build returns.
type Input struct {
	Event       []byte           // the event's raw bytes as received
	Format      string           // the format observe used, observe.Result.Format.String() ("ecs", "zeek", ...)
	EventID     []byte           // observe.Result.EventID: the event's own id, nil if none
	Timestamp   []byte           // observe.Result.Timestamp: the event's own timestamp, nil if none
	Observables []ioc.Observable // observe.Result.Observables, which Hits index
	Hits        []match.Hit      // the hits of engine/match for Observables; at least one
	Source      string           // where the event came from (e.g. its NATS subject, a file name)
	Now         time.Time        // processing time: the alert's @timestamp
}

// FormatECS is the Input.Format of ECS events, whose fieldsets are
// merged into the alert.
const FormatECS = "ecs"

// Builder builds alerts. It is immutable and safe for concurrent use.
type Builder struct {
	opts      Options
	fieldsets map[string]bool
}

// NewBuilder returns a Builder for opts.
func NewBuilder(opts Options) *Builder {
	if opts.MaxOriginalBytes == 0 {
		opts.MaxOriginalBytes = DefaultMaxOriginalBytes
	}
	fs := opts.ECSFieldsets
	if fs == nil {
		fs = DefaultECSFieldsets()
	}
	b := &Builder{opts: opts, fieldsets: make(map[string]bool, len(fs))}
	for _, f := range fs {
		if !reservedKey(f) {
			b.fieldsets[f] = true
		}
	}
	return b
}

// Alert is one alert: an event and the indicators it matched. It is a
// plain value; Build fills it and AppendJSON encodes it. Fields other
// than those documented as set by Build are zero until the caller (for
// instance a Throttle) sets them.
type Alert struct {
	ID             string    // stable id, 32 lower-case hex digits (see the package doc)
	Timestamp      time.Time // processing time (@timestamp)
	Source         string    // where the event came from
	Format         string    // the event format used by observe ("ecs", "zeek", ...)
	EventID        string    // the event's own id, "" if none
	EventTimestamp string    // the event's own timestamp as written in the event, "" if none

	// Original is a copy of the event bytes (at most MaxOriginalBytes);
	// nil with Options.OmitOriginal.
	Original          []byte
	OriginalTruncated bool

	// Enrichments has one entry per hit, sorted by indicator id, kind,
	// value, feed, matched value and field.
	Enrichments []Enrichment

	// Entities holds the network and host entities of the event, from
	// its observables (addresses, ports, hashes) and, for JSON events,
	// its host and user fields.
	Entities Entities

	// SuppressedCount is the number of alerts a Throttle suppressed for
	// this alert's indicators and entity since the previous alert (the
	// largest count among the enrichments kept), and SuppressedSince the
	// time of the first of them. Set by Throttle.Apply.
	SuppressedCount int64
	SuppressedSince time.Time

	// extra are the top-level members besides the alert's own: fields
	// copied from an ECS event and fields derived from the observables,
	// sorted by key, values compact JSON.
	extra []member
	// parsed is the original event as compact JSON, for JSON events not
	// merged (non-ECS formats); nil otherwise.
	parsed []byte
}

// member is one encoded top-level member.
type member struct {
	key string
	val []byte
}

// Enrichment is one hit: an indicator and what it matched in the event.
type Enrichment struct {
	Indicator *ioc.Indicator // shared, read-only
	// Matched is the observed value that matched (the event's value, e.g.
	// the subdomain that matched a domain indicator, the address inside a
	// CIDR indicator). For substring and command-line indicators it is
	// the substring found (the text it was found in is the event field).
	// For a compound indicator it is the indicator's pattern (or its
	// expression when it has no pattern).
	Matched string
	// Field is the event field Matched came from ("" for a compound).
	Field string
	// ObservedKind is the kind of the matching observable (KindCompound
	// for a compound match).
	ObservedKind ioc.Kind
	// SuppressedCount is the number of alerts a Throttle suppressed for
	// this indicator and entity since its previous alert.
	SuppressedCount int64
}

// Entities are the event's entities that throttling and the alert's
// entity fields use.
type Entities struct {
	SourceIP        string   // first source address observable
	DestinationIP   string   // first destination address observable
	SourcePort      string   // first source port observable
	DestinationPort string   // first destination port observable
	HostName        string   // host.name / host.hostname / winlog.computer_name / Computer
	UserName        string   // user.name / winlog.user.name / (event_data.)User
	IPs             []string // every address observable, sorted, unique
	Hosts           []string // every domain observable, sorted, unique
	Hashes          []string // every file hash observable, sorted, unique
}

// ErrNoHits is returned by Build for an input without hits.
var ErrNoHits = errors.New("alert: no hits")

// Build builds the alert of one matched event. It fails when the input
// is inconsistent (no hits, a hit without indicator, an observable index
// out of range); the error names the hit.
func (b *Builder) Build(in Input) (Alert, error) {
	if len(in.Hits) == 0 {
		return Alert{}, ErrNoHits
	}
	a := Alert{
		Timestamp:      in.Now,
		Source:         in.Source,
		Format:         in.Format,
		EventID:        validString(in.EventID),
		EventTimestamp: validString(in.Timestamp),
	}
	a.Enrichments = make([]Enrichment, 0, len(in.Hits))
	for i, h := range in.Hits {
		if h.Indicator == nil {
			return Alert{}, fmt.Errorf("alert: hit %d: nil indicator", i)
		}
		en := Enrichment{Indicator: h.Indicator}
		switch {
		case h.Obs == -1:
			en.ObservedKind = ioc.KindCompound
			en.Matched = h.Indicator.Pattern
			if en.Matched == "" && h.Indicator.Expr != nil {
				en.Matched = h.Indicator.Expr.String()
			}
		case h.Obs >= 0 && int(h.Obs) < len(in.Observables):
			o := &in.Observables[h.Obs]
			en.ObservedKind = o.Kind
			en.Field = o.Field
			en.Matched = obsValue(o)
			if k := h.Indicator.Kind; k == ioc.KindSubstring || k == ioc.KindCommandLine {
				// The text it was found in (a whole line, a command line) is
				// the event's field; the atomic value is the substring.
				en.Matched = h.Indicator.Value
			}
		default:
			return Alert{}, fmt.Errorf("alert: hit %d (indicator %s): observable index %d out of range [0,%d)",
				i, h.Indicator.ID, h.Obs, len(in.Observables))
		}
		a.Enrichments = append(a.Enrichments, en)
	}
	slices.SortFunc(a.Enrichments, compareEnrichments)
	a.Enrichments = slices.CompactFunc(a.Enrichments, func(x, y Enrichment) bool { return compareEnrichments(x, y) == 0 })

	a.ID = alertID(a.Format, a.EventID, a.EventTimestamp, in.Event, a.Enrichments)
	a.Entities = entitiesOf(in.Observables)

	if !b.opts.OmitOriginal {
		orig := in.Event
		if b.opts.MaxOriginalBytes > 0 && len(orig) > b.opts.MaxOriginalBytes {
			orig = cutUTF8(orig, b.opts.MaxOriginalBytes)
			a.OriginalTruncated = true
		}
		a.Original = bytes.Clone(orig)
	}
	b.addEventFields(&a, in.Event, in.Format == FormatECS)
	return a, nil
}

// addEventFields parses a JSON event: host and user entities, the ECS
// fieldsets merged at the top level (ECS events) or the compact parsed
// copy (other JSON events), and the entity fields derived from the
// observables where the event does not provide them.
func (b *Builder) addEventFields(a *Alert, event []byte, isECS bool) {
	trimmed := bytes.TrimSpace(event)
	isObject := len(trimmed) > 0 && trimmed[0] == '{' && utf8.Valid(trimmed) && json.Valid(trimmed)
	if isObject {
		a.Entities.HostName = firstString(trimmed, "host.name", "host.hostname", "winlog.computer_name", "Computer", "computer_name")
		a.Entities.UserName = firstString(trimmed, "user.name", "winlog.user.name", "winlog.event_data.User",
			"event_data.User", "EventData.User", "User")
	}
	have := map[string]bool{}
	if isObject && !b.opts.OmitOriginal {
		if isECS && len(b.fieldsets) > 0 {
			members := objectMembers(trimmed)
			// Keep the last of duplicate keys, as encoding/json does.
			last := make(map[string]int, len(members))
			for i, m := range members {
				last[m.key] = i
			}
			for i, m := range members {
				k := m.key
				if last[k] != i {
					continue
				}
				fs, _, dotted := strings.Cut(k, ".")
				if !b.fieldsets[fs] || reservedKey(k) {
					continue
				}
				// An ECS fieldset is an object (tags excepted): a scalar under
				// "source" would conflict with the ECS mapping and make the
				// whole alert unindexable, so it stays in event.original only.
				if !dotted && k != "tags" && !isJSONObject(m.val) {
					continue
				}
				a.extra = append(a.extra, member{key: k, val: appendCompact(nil, m.val)})
				have[fs] = true
			}
		} else {
			a.parsed = appendCompact(make([]byte, 0, len(trimmed)), trimmed)
		}
	}
	en := &a.Entities
	endpoint := func(name, ip, port string) {
		if have[name] || (ip == "" && port == "") {
			return
		}
		e := enc{}
		e.openObj()
		e.strField("ip", ip)
		if n, ok := parsePort(port); ok {
			e.key("port")
			e.int(n)
		}
		e.closeObj()
		a.extra = append(a.extra, member{key: name, val: e.b})
	}
	endpoint("source", en.SourceIP, en.SourcePort)
	endpoint("destination", en.DestinationIP, en.DestinationPort)
	if !have["related"] && (len(en.IPs)+len(en.Hosts)+len(en.Hashes) > 0) {
		e := enc{}
		e.openObj()
		e.strsField("hash", en.Hashes)
		e.strsField("hosts", en.Hosts)
		e.strsField("ip", en.IPs)
		e.closeObj()
		a.extra = append(a.extra, member{key: "related", val: e.b})
	}
	slices.SortFunc(a.extra, func(x, y member) int { return strings.Compare(x.key, y.key) })
}

func isJSONObject(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && v[0] == '{'
}

func parsePort(s string) (int64, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, n <= 65535
}

// entitiesOf derives the entities from the observables.
func entitiesOf(obs []ioc.Observable) Entities {
	var en Entities
	for i := range obs {
		o := &obs[i]
		switch {
		case o.Kind == ioc.KindIPv4 || o.Kind == ioc.KindIPv6:
			v := obsValue(o)
			en.IPs = append(en.IPs, v)
			if o.Role == ioc.RoleSrc && en.SourceIP == "" {
				en.SourceIP = v
			}
			if o.Role == ioc.RoleDst && en.DestinationIP == "" {
				en.DestinationIP = v
			}
		case o.Kind == ioc.KindPort:
			if o.Role == ioc.RoleSrc && en.SourcePort == "" {
				en.SourcePort = string(o.Value)
			}
			if o.Role == ioc.RoleDst && en.DestinationPort == "" {
				en.DestinationPort = string(o.Value)
			}
		case o.Kind == ioc.KindDomain:
			en.Hosts = append(en.Hosts, string(o.Value))
		case o.Kind.IsHash():
			en.Hashes = append(en.Hashes, string(o.Value))
		}
	}
	en.IPs = sortedUnique(en.IPs)
	en.Hosts = sortedUnique(en.Hosts)
	en.Hashes = sortedUnique(en.Hashes)
	return en
}

// obsValue is the observable's value as a string (an address observable
// without Value renders its Addr).
func obsValue(o *ioc.Observable) string {
	if len(o.Value) > 0 {
		return string(o.Value)
	}
	if o.Addr.IsValid() {
		return o.Addr.String()
	}
	return ""
}

func compareEnrichments(x, y Enrichment) int {
	a, b := x.Indicator, y.Indicator
	if c := strings.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	if a.Kind != b.Kind {
		return int(a.Kind) - int(b.Kind)
	}
	if c := strings.Compare(a.Value, b.Value); c != 0 {
		return c
	}
	if c := strings.Compare(a.Feed, b.Feed); c != 0 {
		return c
	}
	if c := strings.Compare(x.Matched, y.Matched); c != 0 {
		return c
	}
	return strings.Compare(x.Field, y.Field)
}

// alertID computes the stable alert id (see the package doc).
func alertID(format, eventID, eventTS string, raw []byte, ens []Enrichment) string {
	h := sha256.New()
	var lb [binary.MaxVarintLen64]byte
	put := func(b []byte) {
		n := binary.PutUvarint(lb[:], uint64(len(b)))
		h.Write(lb[:n])
		h.Write(b)
	}
	put([]byte("iocmatch/alert/v1"))
	if eventID != "" {
		put([]byte("id"))
		put([]byte(format))
		put([]byte(eventID))
		put([]byte(eventTS))
	} else {
		put([]byte("raw"))
		put(raw)
	}
	ids := IndicatorIDs(ens)
	for _, id := range ids {
		put([]byte(id))
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}

// IndicatorIDs returns the sorted, unique indicator ids of ens.
func IndicatorIDs(ens []Enrichment) []string {
	ids := make([]string, 0, len(ens))
	for i := range ens {
		ids = append(ids, ens[i].Indicator.ID)
	}
	return sortedUnique(ids)
}

func sortedUnique(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}

// validString returns b as a string when it is valid UTF-8, else with
// invalid bytes replaced.
func validString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// cutUTF8 returns the longest prefix of b of at most n bytes that does
// not end inside a UTF-8 sequence.
func cutUTF8(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(b[i]) {
		i--
	}
	if i > 0 && !utf8.RuneStart(b[i]) {
		return b[:n]
	}
	return b[:i]
}

// firstString returns the first of paths that names a non-empty string
// (or a number) in the JSON object obj (see lookupScalar).
func firstString(obj []byte, paths ...string) string {
	for _, p := range paths {
		if v, ok := lookupScalar(obj, p, 0); ok {
			return v
		}
	}
	return ""
}
