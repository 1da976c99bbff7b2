package alert

import (
	"crypto/sha1"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"
)

// stixNamespace is iocmatch's UUIDv5 namespace for the STIX ids it
// derives (sightings, its identity, indicators without a STIX id):
// 1d5e4b0a-7f3c-4e7a-9b1d-6c2a8f0e3b57.
func stixNamespace() [16]byte {
	return [16]byte{0x1d, 0x5e, 0x4b, 0x0a, 0x7f, 0x3c, 0x4e, 0x7a, 0x9b, 0x1d, 0x6c, 0x2a, 0x8f, 0x0e, 0x3b, 0x57}
}

// identityEpoch is the fixed created/modified time of identities, so that
// the identity object is the same in every bundle.
func identityEpoch() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// uuid5 returns the RFC 9562 version 5 (SHA-1, name-based) UUID of name
// in iocmatch's namespace.
func uuid5(name string) string { return uuid5ns(stixNamespace(), name) }

// uuid5ns returns the version 5 UUID of name in namespace ns.
func uuid5ns(ns [16]byte, name string) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// Identity is the STIX identity that sights (where_sighted_refs and
// created_by_ref of the sightings).
type Identity struct {
	ID   string // "identity--<uuid>"
	Name string
}

// NewIdentity returns the identity named name ("iocmatch" when empty)
// with a deterministic id derived from the name.
func NewIdentity(name string) Identity {
	if name == "" {
		name = "iocmatch"
	}
	return Identity{ID: "identity--" + uuid5("identity\x00"+name), Name: name}
}

// AppendJSON appends the STIX 2.1 identity object (identity_class
// "system", fixed created/modified).
func (id Identity) AppendJSON(dst []byte) []byte {
	e := enc{b: dst}
	e.openObj()
	e.strField("type", "identity")
	e.strField("spec_version", "2.1")
	e.strField("id", id.ID)
	e.key("created")
	e.sep()
	e.b = appendSTIXTime(e.b, identityEpoch())
	e.key("modified")
	e.sep()
	e.b = appendSTIXTime(e.b, identityEpoch())
	e.strField("name", id.Name)
	e.strField("identity_class", "system")
	e.closeObj()
	return e.b
}

// Sighting is a STIX 2.1 sighting of one indicator by iocmatch.
type Sighting struct {
	ID               string // "sighting--<uuid5 of alert id and sighting_of_ref>"
	Created          time.Time
	Modified         time.Time
	FirstSeen        time.Time
	LastSeen         time.Time
	Count            int64
	SightingOfRef    string   // the indicator's STIX id
	ObservedDataRefs []string // optional; set by the caller
	WhereSightedRefs []string // the sighting identity
	CreatedByRef     string
	Description      string
	AlertID          string // x_iocmatch_alert_id
}

// Sightings returns one sighting per distinct indicator id of the alert,
// in indicator id order. For each:
//   - sighting_of_ref is the indicator id when it is a STIX id
//     ("<type>--<uuid>"), else "indicator--" + a UUIDv5 of the id (list
//     and MISP indicators have no STIX id; the derived id is stable);
//   - count is 1 plus the alerts a Throttle suppressed for it, first_seen
//     the first of those (else the event time) and last_seen the event
//     time (the event's timestamp when it parses, else the alert's);
//   - created and modified are the alert's timestamp;
//   - the id is a UUIDv5 of the alert id and sighting_of_ref, so the
//     same alert always yields the same sightings.
func Sightings(a *Alert, who Identity) []Sighting {
	seen := eventTime(a.EventTimestamp)
	if seen.IsZero() {
		seen = a.Timestamp
	}
	// Group the enrichments by indicator id (they are sorted by Build, but
	// an Alert may be assembled by hand).
	sup := map[string]int64{}
	var ids []string
	for i := range a.Enrichments {
		en := &a.Enrichments[i]
		id := en.Indicator.ID
		if _, ok := sup[id]; !ok {
			ids = append(ids, id)
		}
		sup[id] = max(sup[id], en.SuppressedCount)
	}
	slices.Sort(ids)
	msg := a.Message()
	out := make([]Sighting, 0, len(ids))
	for _, id := range ids {
		ref := id
		if !isSTIXID(ref) {
			ref = "indicator--" + uuid5("indicator\x00"+id)
		}
		s := Sighting{
			ID:               "sighting--" + uuid5("sighting\x00"+a.ID+"\x00"+ref),
			Created:          a.Timestamp,
			Modified:         a.Timestamp,
			FirstSeen:        seen,
			LastSeen:         seen,
			Count:            1 + sup[id],
			SightingOfRef:    ref,
			WhereSightedRefs: []string{who.ID},
			CreatedByRef:     who.ID,
			Description:      msg,
			AlertID:          a.ID,
		}
		if sup[id] > 0 && !a.SuppressedSince.IsZero() && a.SuppressedSince.Before(s.FirstSeen) {
			s.FirstSeen = a.SuppressedSince
		}
		s.Count = min(s.Count, 999_999_999)
		out = append(out, s)
	}
	return out
}

// MarshalJSON implements json.Marshaler with AppendJSON.
func (s Sighting) MarshalJSON() ([]byte, error) { return s.AppendJSON(nil), nil }

// AppendJSON appends the STIX 2.1 sighting object to dst.
func (s Sighting) AppendJSON(dst []byte) []byte {
	e := enc{b: dst}
	e.openObj()
	e.strField("type", "sighting")
	e.strField("spec_version", "2.1")
	e.strField("id", s.ID)
	e.strField("created_by_ref", s.CreatedByRef)
	stixTime := func(k string, t time.Time) {
		if t.IsZero() {
			return
		}
		e.key(k)
		e.sep()
		e.b = appendSTIXTime(e.b, t)
	}
	stixTime("created", s.Created)
	stixTime("modified", s.Modified)
	stixTime("first_seen", s.FirstSeen)
	stixTime("last_seen", s.LastSeen)
	if s.Count > 0 {
		e.key("count")
		e.int(s.Count)
	}
	e.strField("sighting_of_ref", s.SightingOfRef)
	e.strsField("observed_data_refs", s.ObservedDataRefs)
	e.strsField("where_sighted_refs", s.WhereSightedRefs)
	e.strField("description", s.Description)
	e.strField("x_iocmatch_alert_id", s.AlertID)
	e.closeObj()
	return e.b
}

// AppendSightingBundle appends a STIX 2.1 bundle holding the identity
// and the alert's sightings (see Sightings). The bundle id is derived from
// the alert id, so the same alert always encodes to the same bundle.
func AppendSightingBundle(dst []byte, a *Alert, who Identity) []byte {
	e := enc{b: dst}
	e.openObj()
	e.strField("type", "bundle")
	e.strField("id", "bundle--"+uuid5("bundle\x00"+a.ID))
	e.key("objects")
	e.openArr()
	e.sep()
	e.b = who.AppendJSON(e.b)
	for _, s := range Sightings(a, who) {
		e.sep()
		e.b = s.AppendJSON(e.b)
	}
	e.closeArr()
	e.closeObj()
	return e.b
}

// appendSTIXTime appends t as a STIX timestamp string: UTC, "Z",
// millisecond precision.
func appendSTIXTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	return append(dst, '"')
}

// isSTIXID reports whether s looks like "<type>--<uuid>".
func isSTIXID(s string) bool {
	typ, u, ok := strings.Cut(s, "--")
	if !ok || typ == "" || len(u) != 36 {
		return false
	}
	for i := 0; i < len(typ); i++ {
		c := typ[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	for i := 0; i < 36; i++ {
		c := u[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// eventTime parses an event timestamp: RFC 3339 (ECS, Sysmon via
// winlog), Suricata's "2006-01-02T15:04:05.000000-0700", Sysmon's
// "2006-01-02 15:04:05.000" (UTC), or Zeek's epoch seconds. The zero
// time when none applies.
func eventTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 1e11 {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC().Truncate(time.Microsecond)
	}
	return time.Time{}
}
