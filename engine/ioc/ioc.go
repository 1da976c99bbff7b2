// Package ioc is iocmatch's indicator model: the kinds of indicator the
// engine matches, the indicator record with the context an alert carries,
// compound expressions, and the observables that events are reduced to.
//
// The model is independent of STIX: feeds translate STIX, MISP and lists
// into these types, and the engine knows nothing of where they came from.
//
// Values stored in an Indicator are normalised (see Normalize); two
// indicators with the same Kind and Value match exactly the same events.
// Indicator values are immutable once handed to the engine: Compile and
// the matchers keep pointers to them and never copy.
package ioc

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Kind is the type of an indicator or of an observable.
type Kind uint8

// Indicator and observable kinds. The zero Kind is invalid.
//
// Atomic kinds (IPv4 .. KindSubstring) are matched by the fast structures of
// the engine; KindCompound indicators carry an Expr instead of a Value.
// KindPort, KindProtocol and KindText are observable-only kinds: events
// produce them and compound predicates may test them, but no atomic
// indicator has them.
const (
	KindInvalid     Kind = iota
	KindIPv4             // a single IPv4 address, "192.0.2.1"
	KindIPv6             // a single IPv6 address, "2001:db8::1"
	KindCIDRv4           // an IPv4 prefix, "192.0.2.0/24" (masked)
	KindCIDRv6           // an IPv6 prefix, "2001:db8::/32" (masked)
	KindDomain           // a domain name; matches itself and its subdomains
	KindURL              // a normalised absolute URL
	KindEmail            // an e-mail address, lower-cased
	KindMD5              // 32 lower-case hex digits
	KindSHA1             // 40 lower-case hex digits
	KindSHA256           // 64 lower-case hex digits
	KindSHA512           // 128 lower-case hex digits
	KindFileName         // a file name (no directory), exact
	KindFilePath         // a full file path, exact
	KindUserAgent        // an HTTP User-Agent, exact
	KindJA3              // JA3 client fingerprint (MD5 hex)
	KindJA3S             // JA3S server fingerprint (MD5 hex)
	KindJA4              // JA4 fingerprint, lower-case
	KindRegistryKey      // a Windows registry key, canonical hive, case-folded
	KindProcessName      // a process image name, exact
	KindCommandLine      // a substring of a process command line
	KindSubstring        // a substring of any free-text field
	KindCompound         // an AND/OR expression over one event (Indicator.Expr)

	KindPort     // observable only: a TCP/UDP port, decimal
	KindProtocol // observable only: a transport/application protocol name, lower-case
	KindText     // observable only: free text (a raw line, a message field)

	kindCount
)

var kindNames = [...]string{
	KindInvalid:     "invalid",
	KindIPv4:        "ipv4",
	KindIPv6:        "ipv6",
	KindCIDRv4:      "cidr4",
	KindCIDRv6:      "cidr6",
	KindDomain:      "domain",
	KindURL:         "url",
	KindEmail:       "email",
	KindMD5:         "md5",
	KindSHA1:        "sha1",
	KindSHA256:      "sha256",
	KindSHA512:      "sha512",
	KindFileName:    "filename",
	KindFilePath:    "filepath",
	KindUserAgent:   "user-agent",
	KindJA3:         "ja3",
	KindJA3S:        "ja3s",
	KindJA4:         "ja4",
	KindRegistryKey: "registry-key",
	KindProcessName: "process-name",
	KindCommandLine: "command-line",
	KindSubstring:   "substring",
	KindCompound:    "compound",
	KindPort:        "port",
	KindProtocol:    "protocol",
	KindText:        "text",
}

// String returns the kind's stable name, used in config, JSON, metrics
// labels and alert subjects.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Kinds lists every valid kind, in declaration order.
func Kinds() []Kind {
	out := make([]Kind, 0, kindCount-1)
	for k := KindIPv4; k < kindCount; k++ {
		out = append(out, k)
	}
	return out
}

// ParseKind returns the kind named s. Besides the canonical names it
// accepts common aliases ("ip" for an address of either family, "cidr",
// "hostname", "sha-256", "ipv4-addr", ...). The empty string and unknown
// names are an error naming s.
func ParseKind(s string) (Kind, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	for k := KindIPv4; k < kindCount; k++ {
		if kindNames[k] == n {
			return k, nil
		}
	}
	switch n {
	case "ip", "ip-addr", "ipv4-addr", "ip-src", "ip-dst", "ipaddress":
		return KindIPv4, nil // family is fixed by Normalize
	case "ipv6-addr":
		return KindIPv6, nil
	case "cidr", "net", "network", "prefix", "ip-range":
		return KindCIDRv4, nil // family is fixed by Normalize
	case "hostname", "fqdn", "domain-name", "host":
		return KindDomain, nil
	case "uri", "link":
		return KindURL, nil
	case "email-addr", "email-src", "email-dst", "mail":
		return KindEmail, nil
	case "sha-1":
		return KindSHA1, nil
	case "sha-256":
		return KindSHA256, nil
	case "sha-512":
		return KindSHA512, nil
	case "file-name", "file":
		return KindFileName, nil
	case "file-path", "path":
		return KindFilePath, nil
	case "useragent", "user_agent", "ua":
		return KindUserAgent, nil
	case "regkey", "registry", "windows-registry-key":
		return KindRegistryKey, nil
	case "process", "process_name", "image":
		return KindProcessName, nil
	case "cmdline", "command_line", "commandline":
		return KindCommandLine, nil
	case "string", "text-substring", "keyword":
		return KindSubstring, nil
	}
	return KindInvalid, fmt.Errorf("unknown indicator kind %q", s)
}

// MarshalText implements encoding.TextMarshaler.
func (k Kind) MarshalText() ([]byte, error) {
	if k == KindInvalid || k >= kindCount {
		return nil, fmt.Errorf("ioc: cannot marshal invalid kind %d", uint8(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler using ParseKind.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// IsAtomic reports whether k is an indicator kind matched by value
// (every indicator kind but KindCompound).
func (k Kind) IsAtomic() bool { return k >= KindIPv4 && k <= KindSubstring }

// IsHash reports whether k is one of the file hash kinds.
func (k Kind) IsHash() bool { return k >= KindMD5 && k <= KindSHA512 }

// Role says which side of a connection an observable belongs to.
type Role uint8

// Roles. RoleAny in a predicate target matches observables of any role.
const (
	RoleAny Role = iota
	RoleSrc
	RoleDst
)

// String returns "any", "src" or "dst".
func (r Role) String() string {
	switch r {
	case RoleSrc:
		return "src"
	case RoleDst:
		return "dst"
	}
	return "any"
}

// ParseRole parses "", "any", "src"/"source" and "dst"/"destination".
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(s) {
	case "", "any":
		return RoleAny, nil
	case "src", "source", "orig", "client":
		return RoleSrc, nil
	case "dst", "destination", "resp", "server":
		return RoleDst, nil
	}
	return RoleAny, fmt.Errorf("unknown role %q (want any, src or dst)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Indicator is one indicator of compromise with the context an alert
// carries. Value is normalised for Kind (see Normalize); compound
// indicators have Kind == KindCompound, an empty Value and a non-nil Expr.
type Indicator struct {
	ID          string    `json:"id"`                    // stable identity: STIX id, or feed + value
	Kind        Kind      `json:"kind"`                  // what Value is
	Value       string    `json:"value,omitempty"`       // normalised value (atomic kinds)
	Expr        *Expr     `json:"expr,omitempty"`        // compound kinds only
	Pattern     string    `json:"pattern,omitempty"`     // the source pattern, if any (e.g. STIX)
	Feed        string    `json:"feed,omitempty"`        // source feed name
	Provider    string    `json:"provider,omitempty"`    // producer identity (STIX created_by_ref name)
	Confidence  int       `json:"confidence,omitempty"`  // 0-100; 0 means unknown
	Severity    string    `json:"severity,omitempty"`    // optional free-form severity
	Name        string    `json:"name,omitempty"`        // short human name
	Description string    `json:"description,omitempty"` // free text
	Labels      []string  `json:"labels,omitempty"`      // labels / indicator_types / tags
	ValidFrom   time.Time `json:"valid_from,omitzero"`   // zero: always
	ValidUntil  time.Time `json:"valid_until,omitzero"`  // zero: never expires
	Created     time.Time `json:"created,omitzero"`      // first seen by the producer
	Modified    time.Time `json:"modified,omitzero"`     // version of this record
	Context     Context   `json:"context,omitzero"`      // related objects for the alert
}

// Context carries what an analyst wants next to a match: the related
// malware, actors, campaigns, ATT&CK techniques and references.
type Context struct {
	Malware       []string    `json:"malware,omitempty"`
	ThreatActors  []string    `json:"threat_actors,omitempty"`
	IntrusionSets []string    `json:"intrusion_sets,omitempty"`
	Campaigns     []string    `json:"campaigns,omitempty"`
	Techniques    []Technique `json:"techniques,omitempty"`
	KillChain     []string    `json:"kill_chain,omitempty"` // "kill_chain_name:phase_name"
	References    []Reference `json:"references,omitempty"`
}

// IsZero reports whether c carries nothing.
func (c Context) IsZero() bool {
	return len(c.Malware) == 0 && len(c.ThreatActors) == 0 && len(c.IntrusionSets) == 0 &&
		len(c.Campaigns) == 0 && len(c.Techniques) == 0 && len(c.KillChain) == 0 && len(c.References) == 0
}

// Technique is an ATT&CK technique, e.g. {ID: "T1071.001", Name: "Web Protocols"}.
type Technique struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Reference is an external reference (report, ticket, feed entry).
type Reference struct {
	Source     string `json:"source,omitempty"`
	URL        string `json:"url,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
}

// ActiveAt reports whether the indicator is valid at t: not before
// ValidFrom (when set) and strictly before ValidUntil (when set).
func (ind *Indicator) ActiveAt(t time.Time) bool {
	if !ind.ValidFrom.IsZero() && t.Before(ind.ValidFrom) {
		return false
	}
	if !ind.ValidUntil.IsZero() && !t.Before(ind.ValidUntil) {
		return false
	}
	return true
}

// Validate checks that the indicator is well formed: a valid kind, a
// normalised value for atomic kinds (Normalize(Kind, Value) returns Value
// unchanged), a valid expression for compound ones, confidence within
// 0-100. Errors name the indicator id and the bad field.
func (ind *Indicator) Validate() error {
	if ind.ID == "" {
		return fmt.Errorf("indicator %q: empty id", ind.Value)
	}
	if ind.Confidence < 0 || ind.Confidence > 100 {
		return fmt.Errorf("indicator %s: confidence %d out of range 0-100", ind.ID, ind.Confidence)
	}
	switch {
	case ind.Kind == KindCompound:
		if ind.Expr == nil {
			return fmt.Errorf("indicator %s: compound indicator without expr", ind.ID)
		}
		if err := ind.Expr.Validate(); err != nil {
			return fmt.Errorf("indicator %s: %w", ind.ID, err)
		}
	case ind.Kind.IsAtomic():
		k, v, err := Normalize(ind.Kind, ind.Value)
		if err != nil {
			return fmt.Errorf("indicator %s: %w", ind.ID, err)
		}
		if k != ind.Kind || v != ind.Value {
			return fmt.Errorf("indicator %s: value %q of kind %s is not normalised (want %s %q)", ind.ID, ind.Value, ind.Kind, k, v)
		}
	default:
		return fmt.Errorf("indicator %s: kind %s cannot be an indicator", ind.ID, ind.Kind)
	}
	return nil
}

// Observable is one typed value extracted from an event. Observables are
// produced by engine/observe and consumed by the matchers.
//
// Value holds the normalised value (lower-case domain, normalised URL,
// lower-case hex hash, decimal port...). It may alias a buffer owned by
// the producer and is only valid until the producer's next call: copy it
// to keep it. Addr is set for KindIPv4 and KindIPv6 observables (already
// unmapped from 4-in-6). Field names the event field the value came from
// ("destination.ip", "answers[2]", "message"); it is a string owned by
// the producer's profile and never built per event.
type Observable struct {
	Kind  Kind
	Role  Role
	Addr  netip.Addr
	Value []byte
	Field string
}
