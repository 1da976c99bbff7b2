// Package misp converts MISP events into engine indicators (engine/ioc).
//
// Input: a MISP event ({"Event": {...}}), the result of a MISP search
// ({"response": [{"Event": ...}, ...]}), a JSON array of events, or a MISP
// feed directory (manifest.json plus one <uuid>.json event per entry).
//
// Attributes of the event and of its objects (Object[].Attribute[]) become
// indicators when their to_ids flag is set (Options.AllAttributes takes
// every attribute); deleted attributes are skipped. The attribute type
// decides the kind:
//
//	ip-src, ip-dst                   ipv4/ipv6 (or cidr4/cidr6 for a prefix)
//	ip-src|port, ip-dst|port         compound: address AND port, with the src/dst role
//	hostname|port                    compound: domain AND destination port
//	domain, hostname                 domain
//	domain|ip                        two indicators: the domain and the address
//	url                              url
//	md5, sha1, sha256, sha512        the hash kind
//	filename|md5 .. filename|sha512  the hash (the file name goes into Name)
//	filename                         filename
//	email, email-src, email-dst      email
//	regkey, regkey|value             registry-key (the value goes into Name)
//	user-agent                       user-agent
//	ja3-fingerprint-md5              ja3
//
// Every other type (snort, yara, sigma, ssdeep, x509 fingerprints, AS,
// mutex, ...) has no exact engine kind: it is counted in
// Report.UnknownTypes, never silently dropped or approximated. Values that
// do not normalise for their kind are skipped and reported.
//
// Context: the event info (and the attribute comment) become the
// Description, the creator organisation the Provider, the event uuid a
// reference (source "misp"); tags of the event and of the attribute
// become Labels, except galaxy tags, which fill the context:
// misp-galaxy:threat-actor="X" a threat actor, misp-galaxy:mitre-attack-pattern="Name - T1059"
// a technique, misp-galaxy:mitre-intrusion-set="Name - G0007" an intrusion set,
// misp-galaxy:mitre-malware / mitre-tool / malpedia / ransomware / botnet /
// rat / tool="X" a malware name, and any other galaxy the label as written.
//
// Confidence: MISP has no confidence per attribute; the event's
// threat_level_id is mapped as 1 (High) -> 85, 2 (Medium) -> 60, 3 (Low)
// -> 35, 4 (Undefined) or absent -> Options.Confidence, and also given as
// Severity ("high", "medium", "low"). A tag misp:confidence-level or
// "confidence:N" is not interpreted.
//
// Ids: the attribute uuid (composite types give two indicators sharing
// it); an attribute without uuid gets feed:kind:value as list values do.
//
// The functions keep no state and are safe for concurrent use.
package misp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/feeds/lists"
)

// Options configures a conversion.
type Options struct {
	Feed          string // stamped on every indicator
	AllAttributes bool   // include attributes with to_ids false
	Confidence    int    // used when the threat level says nothing
}

// Skip is an attribute or event that was not converted.
type Skip struct {
	Where  string `json:"where"` // "event <uuid> attribute <uuid or #n>"
	Reason string `json:"reason"`
}

// Report says what a conversion did.
type Report struct {
	Events       int              `json:"events"`
	Attributes   int              `json:"attributes"`  // attributes read (objects' included)
	NotForIDS    int              `json:"not_for_ids"` // skipped because to_ids is false
	Deleted      int              `json:"deleted"`     // skipped because deleted
	ByKind       map[ioc.Kind]int `json:"by_kind,omitempty"`
	UnknownTypes map[string]int   `json:"unknown_types,omitempty"`
	Skipped      []Skip           `json:"skipped,omitempty"`
}

func (r *Report) merge(o Report) {
	r.Events += o.Events
	r.Attributes += o.Attributes
	r.NotForIDS += o.NotForIDS
	r.Deleted += o.Deleted
	for k, n := range o.ByKind {
		if r.ByKind == nil {
			r.ByKind = make(map[ioc.Kind]int)
		}
		r.ByKind[k] += n
	}
	for k, n := range o.UnknownTypes {
		if r.UnknownTypes == nil {
			r.UnknownTypes = make(map[string]int)
		}
		r.UnknownTypes[k] += n
	}
	r.Skipped = append(r.Skipped, o.Skipped...)
}

// flexBool decodes true/false, "1"/"0", "true"/"false" and 1/0.
type flexBool bool

func (b *flexBool) UnmarshalJSON(d []byte) error {
	s := strings.Trim(string(d), `"`)
	switch strings.ToLower(s) {
	case "true", "1":
		*b = true
	case "false", "0", "", "null":
		*b = false
	default:
		return fmt.Errorf("not a boolean: %s", d)
	}
	return nil
}

// flexString decodes a string or a number as its text.
type flexString string

func (f *flexString) UnmarshalJSON(d []byte) error {
	if bytes.Equal(d, []byte("null")) {
		return nil
	}
	if len(d) > 0 && d[0] == '"' {
		var s string
		if err := json.Unmarshal(d, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(d, &n); err != nil {
		return fmt.Errorf("not a string or number: %s", d)
	}
	*f = flexString(n.String())
	return nil
}

type tag struct {
	Name string `json:"name"`
}

type attribute struct {
	UUID      string     `json:"uuid"`
	Type      string     `json:"type"`
	Category  string     `json:"category"`
	Value     flexString `json:"value"`
	ToIDS     flexBool   `json:"to_ids"`
	Deleted   flexBool   `json:"deleted"`
	Comment   string     `json:"comment"`
	Timestamp flexString `json:"timestamp"`
	Tag       []tag      `json:"Tag"`
	Galaxy    []galaxy   `json:"Galaxy"`
}

type object struct {
	Name      string      `json:"name"`
	UUID      string      `json:"uuid"`
	Deleted   flexBool    `json:"deleted"`
	Attribute []attribute `json:"Attribute"`
}

type org struct {
	Name string `json:"name"`
}

type galaxy struct {
	GalaxyCluster []struct {
		TagName string `json:"tag_name"`
	} `json:"GalaxyCluster"`
}

type event struct {
	UUID          string      `json:"uuid"`
	Info          string      `json:"info"`
	ThreatLevelID flexString  `json:"threat_level_id"`
	Timestamp     flexString  `json:"timestamp"`
	Orgc          org         `json:"Orgc"`
	Tag           []tag       `json:"Tag"`
	Galaxy        []galaxy    `json:"Galaxy"`
	Attribute     []attribute `json:"Attribute"`
	Object        []object    `json:"Object"`
}

type wrapped struct {
	Event *event `json:"Event"`
}

// ParseEvents converts {"Event": ...}, {"response": [{"Event": ...}]} or
// [{"Event": ...}, ...]. Input that is none of these is an error; bad
// attributes are skipped and reported.
func ParseEvents(data []byte, o Options) ([]*ioc.Indicator, Report, error) {
	t := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	var evs []*event
	switch {
	case len(t) > 0 && t[0] == '[':
		var ws []wrapped
		if err := json.Unmarshal(t, &ws); err != nil {
			return nil, Report{}, fmt.Errorf("misp: not an array of events: %w", err)
		}
		for i, w := range ws {
			if w.Event == nil {
				return nil, Report{}, fmt.Errorf("misp: array element %d: no \"Event\"", i)
			}
			evs = append(evs, w.Event)
		}
	default:
		var top struct {
			Event    *event    `json:"Event"`
			Response []wrapped `json:"response"`
		}
		if err := json.Unmarshal(t, &top); err != nil {
			return nil, Report{}, fmt.Errorf("misp: not a MISP event: %w", err)
		}
		switch {
		case top.Event != nil:
			evs = append(evs, top.Event)
		case top.Response != nil:
			for i, w := range top.Response {
				if w.Event == nil {
					return nil, Report{}, fmt.Errorf("misp: response element %d: no \"Event\"", i)
				}
				evs = append(evs, w.Event)
			}
		default:
			return nil, Report{}, errors.New(`misp: no "Event" or "response" object`)
		}
	}
	var (
		out []*ioc.Indicator
		rep Report
	)
	for _, ev := range evs {
		inds, r := convertEvent(ev, o)
		out = append(out, inds...)
		rep.merge(r)
	}
	return out, rep, nil
}

// LoadFeedDir reads a MISP feed directory: manifest.json lists the event
// uuids; each event is read from <uuid>.json. A listed event whose file
// is missing or unreadable is skipped and reported; an unreadable
// manifest is an error naming it.
func LoadFeedDir(dir string, o Options) ([]*ioc.Indicator, Report, error) {
	mpath := filepath.Join(dir, "manifest.json")
	b, err := os.ReadFile(mpath)
	if err != nil {
		return nil, Report{}, fmt.Errorf("misp: feed %s: %w", dir, err)
	}
	var manifest map[string]json.RawMessage
	if err := json.Unmarshal(b, &manifest); err != nil {
		return nil, Report{}, fmt.Errorf("misp: %s: not a MISP feed manifest: %w", mpath, err)
	}
	uuids := make([]string, 0, len(manifest))
	for u := range manifest {
		uuids = append(uuids, u)
	}
	sort.Strings(uuids)
	var (
		out []*ioc.Indicator
		rep Report
	)
	for _, u := range uuids {
		if strings.ContainsAny(u, `/\`) || u == "" || u == "." || u == ".." {
			rep.Skipped = append(rep.Skipped, Skip{Where: mpath, Reason: fmt.Sprintf("event uuid %q is not a file name", u)})
			continue
		}
		p := filepath.Join(dir, u+".json")
		data, err := os.ReadFile(p)
		if err != nil {
			rep.Skipped = append(rep.Skipped, Skip{Where: p, Reason: err.Error()})
			continue
		}
		inds, r, err := ParseEvents(data, o)
		if err != nil {
			rep.Skipped = append(rep.Skipped, Skip{Where: p, Reason: err.Error()})
			continue
		}
		out = append(out, inds...)
		rep.merge(r)
	}
	return out, rep, nil
}

// confidence maps a threat level to a confidence and a severity.
func confidence(level string, def int) (int, string) {
	switch strings.TrimSpace(level) {
	case "1":
		return 85, "high"
	case "2":
		return 60, "medium"
	case "3":
		return 35, "low"
	}
	return def, ""
}

var galaxyTag = regexp.MustCompile(`^misp-galaxy:([a-z0-9-]+)="(.*)"$`)
var techniqueID = regexp.MustCompile(`^(.*?)\s*-\s*(T\d{4}(?:\.\d{3})?)$`)
var groupID = regexp.MustCompile(`^(.*?)\s*-\s*([GS]\d{4})$`)

// applyTags adds tags to labels and context.
func applyTags(tags []string, labels *[]string, ctx *ioc.Context) {
	for _, t := range tags {
		m := galaxyTag.FindStringSubmatch(t)
		if m == nil {
			*labels = append(*labels, t)
			continue
		}
		kind, val := m[1], m[2]
		switch kind {
		case "threat-actor", "mitre-threat-actor":
			ctx.ThreatActors = append(ctx.ThreatActors, stripID(val))
		case "mitre-intrusion-set", "intrusion-set":
			ctx.IntrusionSets = append(ctx.IntrusionSets, stripID(val))
		case "mitre-attack-pattern", "mitre-enterprise-attack-attack-pattern", "mitre-mobile-attack-attack-pattern":
			if mm := techniqueID.FindStringSubmatch(val); mm != nil {
				ctx.Techniques = append(ctx.Techniques, ioc.Technique{ID: mm[2], Name: mm[1]})
			} else {
				*labels = append(*labels, t)
			}
		case "mitre-malware", "mitre-tool", "malpedia", "ransomware", "botnet", "rat", "tool", "banker", "stealer", "backdoor":
			ctx.Malware = append(ctx.Malware, stripID(val))
		case "campaign", "mitre-campaign":
			ctx.Campaigns = append(ctx.Campaigns, stripID(val))
		default:
			*labels = append(*labels, t)
		}
	}
}

func stripID(s string) string {
	if m := groupID.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return s
}

func tagNames(ts []tag) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		if t.Name != "" {
			out = append(out, t.Name)
		}
	}
	return out
}

// galaxyTags returns the tag names of galaxy clusters.
func galaxyTags(gs []galaxy) []string {
	var out []string
	for _, g := range gs {
		for _, c := range g.GalaxyCluster {
			if c.TagName != "" {
				out = append(out, c.TagName)
			}
		}
	}
	return out
}

func unixTime(s string) time.Time {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

func uniq(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(s))
	out := make([]string, 0, len(s))
	for _, v := range s {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func uniqTech(s []ioc.Technique) []ioc.Technique {
	seen := make(map[string]bool, len(s))
	var out []ioc.Technique
	for _, t := range s {
		if !seen[t.ID] {
			seen[t.ID] = true
			out = append(out, t)
		}
	}
	return out
}

// convertEvent converts one event's attributes and object attributes.
func convertEvent(ev *event, o Options) ([]*ioc.Indicator, Report) {
	rep := Report{Events: 1}
	conf, sev := confidence(string(ev.ThreatLevelID), o.Confidence)
	evTags := append(tagNames(ev.Tag), galaxyTags(ev.Galaxy)...)
	var out []*ioc.Indicator
	do := func(a *attribute, where, objName string) {
		rep.Attributes++
		if bool(a.Deleted) {
			rep.Deleted++
			return
		}
		if !bool(a.ToIDS) && !o.AllAttributes {
			rep.NotForIDS++
			return
		}
		specs, err := mapAttribute(a.Type, string(a.Value))
		if errors.Is(err, errUnknownType) {
			if rep.UnknownTypes == nil {
				rep.UnknownTypes = make(map[string]int)
			}
			rep.UnknownTypes[a.Type]++
			return
		}
		if err != nil {
			rep.Skipped = append(rep.Skipped, Skip{Where: where, Reason: fmt.Sprintf("%s %q: %v", a.Type, string(a.Value), err)})
			return
		}
		base := ioc.Indicator{
			ID:          a.UUID,
			Feed:        o.Feed,
			Provider:    ev.Orgc.Name,
			Confidence:  conf,
			Severity:    sev,
			Description: ev.Info,
			Created:     unixTime(string(a.Timestamp)),
			Modified:    unixTime(string(a.Timestamp)),
		}
		if a.Comment != "" {
			if base.Description != "" {
				base.Description += "; "
			}
			base.Description += a.Comment
		}
		var labels []string
		applyTags(evTags, &labels, &base.Context)
		applyTags(append(tagNames(a.Tag), galaxyTags(a.Galaxy)...), &labels, &base.Context)
		if a.Category != "" {
			labels = append(labels, "misp-category:"+a.Category)
		}
		if objName != "" {
			labels = append(labels, "misp-object:"+objName)
		}
		base.Labels = uniq(labels)
		base.Context.Malware = uniq(base.Context.Malware)
		base.Context.ThreatActors = uniq(base.Context.ThreatActors)
		base.Context.IntrusionSets = uniq(base.Context.IntrusionSets)
		base.Context.Campaigns = uniq(base.Context.Campaigns)
		base.Context.Techniques = uniqTech(base.Context.Techniques)
		if ev.UUID != "" {
			base.Context.References = []ioc.Reference{{Source: "misp", ExternalID: ev.UUID}}
		}
		var inds []*ioc.Indicator
		for _, s := range specs {
			ind := base
			ind.Kind, ind.Value, ind.Expr = s.kind, s.value, s.expr
			if s.name != "" {
				ind.Name = s.name
			}
			if ind.ID == "" {
				if s.expr != nil {
					ind.ID = lists.CompoundID(o.Feed, s.expr)
				} else {
					ind.ID = lists.ID(o.Feed, s.kind, s.value)
				}
			}
			if err := ind.Validate(); err != nil {
				rep.Skipped = append(rep.Skipped, Skip{Where: where, Reason: err.Error()})
				return
			}
			inds = append(inds, &ind)
		}
		for _, ind := range inds {
			if rep.ByKind == nil {
				rep.ByKind = make(map[ioc.Kind]int)
			}
			rep.ByKind[ind.Kind]++
		}
		out = append(out, inds...)
	}
	ename := ev.UUID
	if ename == "" {
		ename = fmt.Sprintf("%q", ev.Info)
	}
	for i := range ev.Attribute {
		a := &ev.Attribute[i]
		do(a, attrWhere(ename, a, i), "")
	}
	for oi := range ev.Object {
		ob := &ev.Object[oi]
		if bool(ob.Deleted) {
			rep.Deleted += len(ob.Attribute)
			rep.Attributes += len(ob.Attribute)
			continue
		}
		for i := range ob.Attribute {
			a := &ob.Attribute[i]
			do(a, fmt.Sprintf("event %s object %s %s", ename, ob.Name, attrWhere("", a, i)), ob.Name)
		}
	}
	return out, rep
}

func attrWhere(ev string, a *attribute, i int) string {
	w := fmt.Sprintf("attribute #%d", i)
	if a.UUID != "" {
		w = "attribute " + a.UUID
	}
	if ev != "" {
		w = "event " + ev + " " + w
	}
	return w
}

var errUnknownType = errors.New("unknown attribute type")

// spec is one indicator an attribute yields.
type spec struct {
	kind  ioc.Kind
	value string
	expr  *ioc.Expr
	name  string
}

// mapAttribute maps an attribute type and value to indicator specs (see
// the package doc). errUnknownType means the type has no engine kind.
func mapAttribute(typ, value string) ([]spec, error) {
	atom := func(k ioc.Kind, v string) ([]spec, error) {
		nk, nv, err := ioc.Normalize(k, v)
		if err != nil {
			return nil, err
		}
		return []spec{{kind: nk, value: nv}}, nil
	}
	ip := func(v string) ([]spec, error) {
		if strings.Contains(v, "/") {
			return atom(ioc.KindCIDRv4, v)
		}
		return atom(ioc.KindIPv4, v)
	}
	split := func(v string) (string, string, error) {
		a, b, ok := strings.Cut(v, "|")
		if !ok {
			return "", "", fmt.Errorf("composite type without '|' in the value")
		}
		return a, b, nil
	}
	// hostPort maps a "host|port" value to one compound indicator: the
	// host (normalized as hostKind, which may refine it, e.g. IPv4 to
	// IPv6) with hostRole AND the port with portRole.
	hostPort := func(hostKind ioc.Kind, hostRole, portRole ioc.Role) ([]spec, error) {
		h, p, err := split(value)
		if err != nil {
			return nil, err
		}
		k, hv, err := ioc.Normalize(hostKind, h)
		if err != nil {
			return nil, err
		}
		_, pv, err := ioc.Normalize(ioc.KindPort, p)
		if err != nil {
			return nil, err
		}
		return []spec{{kind: ioc.KindCompound, expr: and(
			pred(ioc.Target{Kind: k, Role: hostRole}, hv),
			pred(ioc.Target{Kind: ioc.KindPort, Role: portRole}, pv))}}, nil
	}
	switch strings.ToLower(typ) {
	case "ip-src", "ip-dst":
		return ip(value)
	case "ip-src|port", "ip-dst|port":
		role := ioc.RoleSrc
		if strings.HasPrefix(strings.ToLower(typ), "ip-dst") {
			role = ioc.RoleDst
		}
		return hostPort(ioc.KindIPv4, role, role)
	case "hostname|port":
		return hostPort(ioc.KindDomain, ioc.RoleAny, ioc.RoleDst)
	case "domain", "hostname":
		return atom(ioc.KindDomain, value)
	case "domain|ip":
		d, a, err := split(value)
		if err != nil {
			return nil, err
		}
		ds, err := atom(ioc.KindDomain, d)
		if err != nil {
			return nil, err
		}
		as, err := ip(a)
		if err != nil {
			return nil, err
		}
		return append(ds, as...), nil
	case "url":
		return atom(ioc.KindURL, value)
	case "md5":
		return atom(ioc.KindMD5, value)
	case "sha1":
		return atom(ioc.KindSHA1, value)
	case "sha256":
		return atom(ioc.KindSHA256, value)
	case "sha512":
		return atom(ioc.KindSHA512, value)
	case "filename|md5", "filename|sha1", "filename|sha256", "filename|sha512":
		name, h, err := split(value)
		if err != nil {
			return nil, err
		}
		k, _ := ioc.ParseKind(strings.TrimPrefix(strings.ToLower(typ), "filename|"))
		s, err := atom(k, h)
		if err != nil {
			return nil, err
		}
		s[0].name = name
		return s, nil
	case "filename":
		return atom(ioc.KindFileName, value)
	case "email", "email-src", "email-dst":
		return atom(ioc.KindEmail, value)
	case "regkey":
		return atom(ioc.KindRegistryKey, value)
	case "regkey|value":
		k, v, err := split(value)
		if err != nil {
			return nil, err
		}
		s, err := atom(ioc.KindRegistryKey, k)
		if err != nil {
			return nil, err
		}
		s[0].name = v
		return s, nil
	case "user-agent":
		return atom(ioc.KindUserAgent, value)
	case "ja3-fingerprint-md5":
		return atom(ioc.KindJA3, value)
	case "x509-fingerprint-md5":
		// Certificate fingerprints are matched as hashes of their kind in any
		// hash field, as the STIX x509-certificate:hashes.* translation does.
		return atom(ioc.KindMD5, value)
	case "x509-fingerprint-sha1":
		return atom(ioc.KindSHA1, value)
	case "x509-fingerprint-sha256":
		return atom(ioc.KindSHA256, value)
	}
	return nil, errUnknownType
}

func pred(t ioc.Target, v string) *ioc.Expr {
	return &ioc.Expr{Op: ioc.OpPred, Pred: &ioc.Predicate{Target: t, Op: ioc.PredEq, Values: []string{v}}}
}

func and(args ...*ioc.Expr) *ioc.Expr { return &ioc.Expr{Op: ioc.OpAnd, Args: args} }
