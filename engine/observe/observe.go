// Package observe turns one log event into typed observables: the IP
// addresses, domains, URLs, hashes, e-mail addresses, file and process
// names, registry keys, ports, protocols and free text that the matcher
// (engine/match) looks up, each with the event field it came from.
//
// Supported encodings (Format): ECS JSON, Zeek JSON, Suricata EVE JSON,
// Sysmon / Windows event JSON and raw text lines; FormatAuto detects the
// format per event (a JSON object is classified by key signatures,
// anything else is a raw line). Which JSON field yields which observable
// is data (Profile, FieldMap): BuiltinProfiles cover the common fields,
// and users add or replace profiles with LoadProfile.
//
// JSON is decoded by a strict, bounded, allocation-free walker (it
// accepts exactly what encoding/json.Valid accepts, within
// Options.MaxEventBytes, MaxFields and MaxDepth). Values are normalised
// as ioc.Normalize does for their kind, so an observable equals the
// indicator it should match byte for byte. On typical events Observe does
// not allocate; rare inputs (non-ASCII domains, unusual URLs) take a slow
// path through ioc.Normalize that does.
//
// Detection (FormatAuto): an event whose first non-space byte is '{' is
// JSON, anything else a raw line. A JSON event is EVE if it has
// event_type and one of src_ip, dest_ip, flow_id, timestamp; Zeek if it
// has ts and one of uid, fuid, id.orig_h, id_orig_h, _path,
// certificate.serial/subject; ECS if it has ecs.version; Sysmon if it has
// a Sysmon or Windows key (EventID, Image, Hashes, UtcTime, ProcessGuid,
// Channel, EventData.*, event_data.*, winlog.*, Event.System.*); ECS
// otherwise. A JSON event with no mapped field of its detected format is
// scanned as text (Result.Format FormatRaw, Field "event.original"), so
// that logs of unknown shape still yield addresses, domains, URLs and
// hashes. Winlogbeat
// events (ECS with winlog.event_data) are ECS, and the ECS profile maps
// the Sysmon fields under winlog.event_data too.
//
// Fields: a path is the dotted key path, the same for nested objects and
// dotted keys; array elements share their array's path. Observable.Field
// is the mapped path, a string of the profile (never built per event).
// Zeek http host+uri, EVE http.hostname+http.url and ECS url.domain+url.path
// are joined into a URL (http unless a url-scheme field says otherwise,
// the port from a url-port field when the host has none), emitted with
// the path's field name, without allocating on the fast path.
//
// Windows event data given as name/value pairs (XML converted to JSON:
// {"EventData":{"Data":[{"@Name":"Image","#text":"C:\\x.exe"}]}}) is read as
// if flat: the value has the path EventData.Image. Pair objects are those
// under a key "Data" with a name key ("@Name", "Name") and a value key
// ("#text", "text", "Value", "content").
//
// Not handled: defanged indicators in text (hxxp://,
// evil[.]com); IDN names in free text (IDN hosts of URLs are handled).
//
// An Observer is not safe for concurrent use: use one per worker
// goroutine. The observables it returns alias its buffers and the event.
package observe

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// Options configure an Observer. Zero values take the defaults.
type Options struct {
	MaxEventBytes int // longest event accepted; default 1 MiB
	MaxFields     int // most JSON values (scalars and containers) in one event; default 4096
	MaxDepth      int // deepest JSON nesting; default 32, at most MaxDepthLimit
	// MaxObservables caps the observables of one event (a 1 MiB line of
	// addresses would otherwise give 100k); the rest are dropped and
	// Result.Truncated is set. Default 4096.
	MaxObservables int
	// Profiles are added to the builtins: a profile named like a builtin
	// ("ecs", "zeek", "eve", "sysmon") replaces it (its Format must be the
	// builtin's); any other profile extends the profile of its Format with
	// its fields. Each is validated; errors name the profile.
	Profiles []Profile
}

// Defaults.
const (
	DefaultMaxEventBytes  = 1 << 20
	DefaultMaxFields      = 4096
	DefaultMaxDepth       = 32
	DefaultMaxObservables = 4096
	// MaxDepthLimit bounds Options.MaxDepth (the walker recurses once per
	// level), as encoding/json bounds its nesting.
	MaxDepthLimit = 10000
)

// Result is what Observe found in one event. Observables, EventID and
// Timestamp alias the Observer's buffers and the event: they are valid
// until the next call of Observe on the same Observer. Reuse one Result
// per worker so that Observables keeps its capacity.
type Result struct {
	Format      Format           // the format used (the detected one with FormatAuto)
	Observables []ioc.Observable // truncated and refilled by each call
	EventID     []byte           // the event's own id (ECS event.id, Zeek uid, EVE flow_id, Sysmon EventRecordID); nil if none
	Timestamp   []byte           // the event's timestamp text (@timestamp, ts, timestamp, UtcTime); nil if none
	Truncated   bool             // observables beyond Options.MaxObservables were dropped
}

// entry is one row of the path table: a profile field or a detection
// signature (sig != 0).
type entry struct {
	format Format
	sig    uint16
	fm     FieldMap
}

type pendingValue struct {
	ent int32
	num bool
	val []byte
}

// Observer decodes events and extracts their observables. It holds
// reusable buffers and is not safe for concurrent use; create one per
// goroutine with New (the compiled tables are small).
type Observer struct {
	maxBytes, maxFields, maxDepth, maxObs int

	profiles []Profile
	entries  []entry
	paths    pathTable // path -> entries[lo:hi], and the prefixes of mapped paths

	// Per-call state.
	data      []byte
	pos       int
	fields    int
	curFormat Format
	path      []byte
	skip      bool // walking a subtree without mapped paths (see mayMap)
	sig       uint16
	pending   []pendingValue
	sbuf      []byte // unescaped strings
	vbuf      []byte // normalised values
	spans     []span
	res       *Result
	urlHost   []byte
	urlPath   []byte
	urlPort   []byte
	urlScheme []byte
	urlField  string
	urlRole   ioc.Role
}

// New returns an Observer for opts. Errors name the bad option or
// profile.
func New(opts Options) (*Observer, error) {
	o := &Observer{maxBytes: opts.MaxEventBytes, maxFields: opts.MaxFields, maxDepth: opts.MaxDepth, maxObs: opts.MaxObservables}
	for _, lim := range []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxEventBytes", &o.maxBytes, DefaultMaxEventBytes},
		{"MaxFields", &o.maxFields, DefaultMaxFields},
		{"MaxDepth", &o.maxDepth, DefaultMaxDepth},
		{"MaxObservables", &o.maxObs, DefaultMaxObservables},
	} {
		if *lim.v < 0 {
			return nil, fmt.Errorf("observe: option %s = %d: must not be negative", lim.name, *lim.v)
		}
		if *lim.v == 0 {
			*lim.v = lim.def
		}
	}
	if o.maxDepth > MaxDepthLimit {
		return nil, fmt.Errorf("observe: option MaxDepth = %d: above the limit of %d", o.maxDepth, MaxDepthLimit)
	}
	profiles := BuiltinProfiles()
	for _, up := range opts.Profiles {
		if err := up.Validate(); err != nil {
			return nil, fmt.Errorf("observe: %w", err)
		}
		replaced := false
		for i := range profiles {
			if profiles[i].Name == up.Name {
				if profiles[i].Format != up.Format {
					return nil, fmt.Errorf("observe: profile %q: format %s, but it replaces the builtin %s profile", up.Name, up.Format, profiles[i].Format)
				}
				profiles[i] = clone(up)
				replaced = true
			}
		}
		if replaced {
			continue
		}
		for i := range profiles {
			if profiles[i].Format == up.Format {
				profiles[i].Fields = append(profiles[i].Fields, up.Fields...)
				profiles[i].TextFields = append(profiles[i].TextFields, up.TextFields...)
			}
		}
	}
	o.profiles = profiles
	for _, p := range profiles {
		for _, fm := range p.Fields {
			o.entries = append(o.entries, entry{format: p.Format, fm: fm})
		}
		for _, tf := range p.TextFields {
			o.entries = append(o.entries, entry{format: p.Format, fm: FieldMap{Field: tf, Kind: ioc.KindText, As: ExtractText}})
		}
	}
	for _, s := range signatures {
		o.entries = append(o.entries, entry{sig: s.bit, fm: FieldMap{Field: s.path}})
	}
	sort.SliceStable(o.entries, func(i, j int) bool { return o.entries[i].fm.Field < o.entries[j].fm.Field })
	n := 0 // paths and prefixes, at most
	for _, e := range o.entries {
		n += 1 + strings.Count(e.fm.Field, ".")
	}
	o.paths = newPathTable(n)
	for i := 0; i < len(o.entries); {
		j := i
		for j < len(o.entries) && o.entries[j].fm.Field == o.entries[i].fm.Field {
			j++
		}
		p := o.entries[i].fm.Field
		s := o.paths.slot(p)
		s.sp, s.mapped, s.mayMap = span{i, j}, true, true
		for k := 0; k < len(p); k++ {
			if p[k] == '.' {
				o.paths.slot(p[:k]).mayMap = true
			}
		}
		i = j
	}
	return o, nil
}

func clone(p Profile) Profile {
	p.Fields = append([]FieldMap(nil), p.Fields...)
	p.TextFields = append([]string(nil), p.TextFields...)
	return p
}

// Profiles returns the profiles in effect (builtins merged with
// Options.Profiles), one per JSON format. The caller must not modify them.
func (o *Observer) Profiles() []Profile { return o.profiles }

// Observe decodes event in format f (FormatAuto: detected) and fills res:
// res.Observables is truncated and refilled, res.Format, EventID and
// Timestamp are set. The results alias the Observer's buffers and event
// and are valid until the next call. Errors are *Error (see ErrMalformed
// and the other sentinels); on error res holds no observables.
func (o *Observer) Observe(event []byte, f Format, res *Result) error {
	res.Observables = res.Observables[:0]
	res.EventID, res.Timestamp, res.Truncated = nil, nil, false
	res.Format = f
	o.vbuf = o.vbuf[:0]
	o.sbuf = o.sbuf[:0]
	o.pending = o.pending[:0]
	o.sig = 0
	o.res = res
	defer func() { o.res, o.data = nil, nil }()
	if f >= formatCount {
		return newError(ErrMalformed, f, -1, "unknown format %d", uint8(f))
	}
	if len(event) > o.maxBytes {
		return newError(ErrTooLarge, f, o.maxBytes, "event of %d bytes exceeds the limit of %d", len(event), o.maxBytes)
	}
	if f == FormatAuto {
		i := 0
		for i < len(event) && isWS(event[i]) {
			i++
		}
		if i == len(event) || event[i] != '{' {
			f = FormatRaw
		}
	}
	if f == FormatRaw {
		res.Format = FormatRaw
		return o.observeRaw(event)
	}
	if err := o.walk(event, f); err != nil {
		o.pending = o.pending[:0]
		return err
	}
	if f != FormatAuto {
		// A fixed JSON format needs an object; valid JSON of another type
		// (an array, a string, null) is reported, not silently empty.
		i := 0
		for i < len(event) && isWS(event[i]) {
			i++
		}
		if i == len(event) || event[i] != '{' {
			o.pending = o.pending[:0]
			return newError(ErrMalformed, f, i, "a %s event must be a JSON object", f)
		}
	}
	if f == FormatAuto {
		f = detect(o.sig)
		if !o.hasPending(f) {
			// JSON of no known shape (or only unmapped fields of a known
			// one): scan it as text rather than find nothing.
			res.Format = FormatRaw
			o.pending = o.pending[:0]
			o.emitExact(ioc.KindText, event, ioc.RoleAny, "event.original")
			o.scanText(event, ioc.RoleAny, "event.original")
			return nil
		}
	}
	res.Format = f
	o.urlHost, o.urlPath, o.urlPort, o.urlScheme = nil, nil, nil, nil
	for _, p := range o.pending {
		e := &o.entries[p.ent]
		if e.format != f {
			continue
		}
		o.extract(&e.fm, p.val, p.num)
	}
	if o.urlHost != nil && o.urlPath != nil {
		o.buildURL()
	}
	return nil
}

// hasPending reports whether a field of format f was seen.
func (o *Observer) hasPending(f Format) bool {
	for _, p := range o.pending {
		if o.entries[p.ent].format == f {
			return true
		}
	}
	return false
}

// leaf is called by the walker for each scalar value at o.path.
func (o *Observer) leaf(v []byte, esc, num bool) {
	p := o.path
	if len(p) == 0 {
		return
	}
	ps := o.paths.lookup(p)
	if ps == nil || !ps.mapped {
		return
	}
	sp := ps.sp
	unescaped := false
	for i := sp.lo; i < sp.hi; i++ {
		e := &o.entries[i]
		if e.sig != 0 {
			o.sig |= e.sig
			continue
		}
		if o.curFormat != FormatAuto && e.format != o.curFormat {
			continue
		}
		if esc && !unescaped {
			start := len(o.sbuf)
			o.sbuf = appendUnescaped(o.sbuf, v)
			v = o.sbuf[start:len(o.sbuf):len(o.sbuf)]
			unescaped = true
		}
		o.pending = append(o.pending, pendingValue{ent: int32(i), num: num, val: v})
	}
}

// extract applies one field mapping to one value.
func (o *Observer) extract(fm *FieldMap, v []byte, num bool) {
	if num {
		switch {
		case fm.As == ExtractValue && (fm.Kind == ioc.KindPort || fm.Kind == ioc.KindText):
		case fm.As == ExtractURLPort, fm.As == ExtractEventID, fm.As == ExtractTimestamp:
		default:
			return
		}
	}
	if t := trimSpace(v); len(t) == 1 && t[0] == '-' {
		return // the "no value" marker of Sysmon, Zeek and web logs
	}
	switch fm.As {
	case ExtractValue:
		o.emitKind(fm.Kind, fm.Role, v, fm.Field)
	case ExtractHost:
		o.emitHost(v, fm.Role, fm.Field)
	case ExtractHash:
		o.emitHashByLen(trimSpace(v), fm.Role, fm.Field)
	case ExtractHashes:
		o.emitHashes(v, fm.Role, fm.Field)
	case ExtractPath:
		o.emitPath(fm.Kind, v, fm.Role, fm.Field)
	case ExtractText:
		k := fm.Kind
		if k == ioc.KindInvalid {
			k = ioc.KindText
		}
		o.emitExact(k, v, fm.Role, fm.Field)
		o.scanText(v, fm.Role, fm.Field)
	case ExtractDNSResults:
		o.emitDNSResults(v, fm.Role, fm.Field)
	case ExtractURL:
		t := trimSpace(v)
		if len(t) > 0 && t[0] == '/' {
			if o.urlPath == nil {
				o.urlPath = t
				o.urlField = fm.Field
				o.urlRole = fm.Role
			}
			return
		}
		if bytes.Contains(t, []byte("://")) {
			o.emitURL(t, fm.Role, fm.Field)
		}
	case ExtractURLHost:
		if t := trimSpace(v); o.urlHost == nil && len(t) > 0 {
			o.urlHost = t
		}
	case ExtractURLPort:
		if t := trimSpace(v); o.urlPort == nil && len(t) > 0 {
			o.urlPort = t
		}
	case ExtractURLScheme:
		if t := trimSpace(v); o.urlScheme == nil && len(t) > 0 {
			o.urlScheme = t
		}
	case ExtractEventID:
		if o.res.EventID == nil && len(v) > 0 {
			o.res.EventID = v
		}
	case ExtractTimestamp:
		if o.res.Timestamp == nil && len(v) > 0 {
			o.res.Timestamp = v
		}
	}
}

// buildURL emits the URL scheme://host[:port]path (Field: the path's
// field) of an event that gives them in separate fields (Zeek http host+uri, EVE http.hostname+url, ECS
// url.domain+url.path), unless the event already has that URL. It is
// allocation-free when the result takes the fast path.
func (o *Observer) buildURL() {
	start := len(o.vbuf)
	if o.urlScheme != nil {
		o.vbuf = append(o.vbuf, o.urlScheme...)
	} else {
		o.vbuf = append(o.vbuf, "http"...)
	}
	o.vbuf = append(o.vbuf, "://"...)
	colons := bytes.Count(o.urlHost, []byte(":"))
	if colons > 1 && o.urlHost[0] != '[' { // a bare IPv6 address
		o.vbuf = append(o.vbuf, '[')
		o.vbuf = append(o.vbuf, o.urlHost...)
		o.vbuf = append(o.vbuf, ']')
	} else {
		o.vbuf = append(o.vbuf, o.urlHost...)
	}
	if o.urlPort != nil && colons != 1 && !bytes.Contains(o.urlHost, []byte("]:")) {
		o.vbuf = append(o.vbuf, ':')
		o.vbuf = append(o.vbuf, o.urlPort...)
	}
	o.vbuf = append(o.vbuf, o.urlPath...)
	raw := o.vslice(start)
	n := len(o.res.Observables)
	o.emitURL(raw, o.urlRole, o.urlField)
	if len(o.res.Observables) > n {
		v := o.res.Observables[n].Value
		for _, ob := range o.res.Observables[:n] {
			if ob.Kind == ioc.KindURL && bytes.Equal(ob.Value, v) {
				o.res.Observables = o.res.Observables[:n]
				return
			}
		}
	}
}

// observeRaw handles one raw text line.
func (o *Observer) observeRaw(event []byte) error {
	ctl, high := 0, false
	for i := 0; i < len(event); {
		// Skip 8 bytes at a time while all are printable ASCII (0x20-0x7f).
		if i+8 <= len(event) {
			if w := binary.LittleEndian.Uint64(event[i:]); (w|(w-0x20*lsb))&msb == 0 {
				i += 8
				continue
			}
		}
		end := min(i+8, len(event))
		for ; i < end; i++ {
			c := event[i]
			if c < 0x20 {
				if c == 0 {
					return newError(ErrBinary, FormatRaw, i, "NUL byte")
				}
				if c != '\t' && c != '\n' && c != '\r' && c != 0x1b {
					ctl++
				}
			}
			high = high || c >= utf8.RuneSelf
		}
	}
	if ctl > 0 && ctl*10 > len(event) {
		return newError(ErrBinary, FormatRaw, -1, "%d control bytes in %d", ctl, len(event))
	}
	line := event
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	if high && !utf8.Valid(line) {
		start := len(o.vbuf)
		o.vbuf = appendValidUTF8(o.vbuf, line)
		line = o.vslice(start)
	}
	o.emitExact(ioc.KindText, line, ioc.RoleAny, "message")
	o.scanText(line, ioc.RoleAny, "message")
	return nil
}
