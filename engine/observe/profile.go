package observe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"go.yaml.in/yaml/v3"
)

// Extract says how the value of a mapped field is turned into
// observables.
type Extract uint8

// Extractors. The zero value, ExtractValue, normalises the value as the
// FieldMap's Kind.
const (
	// ExtractValue normalises the value as Kind and emits it. An address
	// kind accepts either family; a domain field holding an IP literal
	// yields an IP observable; KindText and KindCommandLine values are
	// emitted as they are.
	ExtractValue Extract = iota
	// ExtractHost classifies the value as an IP address or a domain name
	// (a trailing ":port" is dropped); anything else is ignored. Kind is
	// not used. For DNS answers, Host headers, related.hosts.
	ExtractHost
	// ExtractHash classifies a hex string by its length as MD5, SHA-1,
	// SHA-256 or SHA-512 (ECS related.hash). Kind is not used.
	ExtractHash
	// ExtractHashes parses a Sysmon "Hashes" list "SHA1=..,MD5=..,SHA256=..,IMPHASH=..".
	// IMPHASH (and any algorithm without an indicator kind) is skipped.
	// Kind is not used.
	ExtractHashes
	// ExtractPath emits the whole value as KindFilePath and its base
	// name (after the last '/' or '\') as Kind: KindFileName, or
	// KindProcessName (lower-cased); with KindFilePath only the path.
	ExtractPath
	// ExtractText emits the value as Kind (KindText by default, or
	// KindCommandLine) and scans it like a raw line for IP addresses,
	// domains, URLs, hashes and e-mail addresses.
	ExtractText
	// ExtractDNSResults parses a Sysmon QueryResults list
	// ("type:  5 cname.example;::ffff:192.0.2.1;") into addresses and names.
	ExtractDNSResults
	// ExtractURL emits an absolute URL as KindURL; a value starting with
	// '/' is kept as the path of a URL built from the event's ExtractURLHost
	// field (Zeek uri, EVE http.url, ECS url.original and url.path; the
	// first such path wins).
	ExtractURL
	// ExtractURLHost keeps the value (host[:port]) to build a URL with
	// the event's ExtractURL path. It emits nothing by itself: map the
	// same field a second time with ExtractHost to match the host.
	ExtractURLHost
	// ExtractURLPort keeps a port for the built URL (used when the host
	// value has none).
	ExtractURLPort
	// ExtractURLScheme keeps a scheme for the built URL (default "http").
	ExtractURLScheme
	// ExtractEventID sets Result.EventID (the first such field wins).
	ExtractEventID
	// ExtractTimestamp sets Result.Timestamp (the first such field wins).
	ExtractTimestamp
	extractCount
)

var extractNames = [...]string{
	ExtractValue:      "value",
	ExtractHost:       "host",
	ExtractHash:       "hash",
	ExtractHashes:     "hashes",
	ExtractPath:       "path",
	ExtractText:       "text",
	ExtractDNSResults: "dns-results",
	ExtractURL:        "url",
	ExtractURLHost:    "url-host",
	ExtractURLPort:    "url-port",
	ExtractURLScheme:  "url-scheme",
	ExtractEventID:    "event-id",
	ExtractTimestamp:  "timestamp",
}

// String returns the extractor's name as used in profile files.
func (e Extract) String() string {
	if int(e) < len(extractNames) {
		return extractNames[e]
	}
	return fmt.Sprintf("extract(%d)", uint8(e))
}

// ParseExtract parses an extractor name ("" is "value").
func ParseExtract(s string) (Extract, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	if n == "" {
		return ExtractValue, nil
	}
	for i, name := range extractNames {
		if n == name {
			return Extract(i), nil
		}
	}
	return ExtractValue, fmt.Errorf("unknown extractor %q (want one of %s)", s, strings.Join(extractNames[:], ", "))
}

// FieldMap maps one event field to observables.
//
// Field is the dotted path of the value: nested objects and dotted keys
// give the same path ({"source":{"ip":..}} and {"source.ip":..} are both
// "source.ip"), and array elements take the path of their array
// ("dns.answers.data" for each element of dns.answers). Field is also the
// Observable.Field of what the mapping emits. A path may be mapped more
// than once (e.g. as a host and as a URL host).
//
// Kind and Role are given to the emitted observables (some extractors
// decide the kind themselves); As says how the value is read, ExtractValue
// by default.
type FieldMap struct {
	Field string
	Kind  ioc.Kind
	Role  ioc.Role
	As    Extract
}

// Profile maps the fields of one JSON event format to observables. It is
// data: the builtins (BuiltinProfiles) and user profiles (LoadProfile)
// have the same shape. TextFields are free-text fields, scanned like raw
// lines and emitted as KindText (shorthand for FieldMaps with ExtractText).
type Profile struct {
	Name       string
	Format     Format
	Fields     []FieldMap
	TextFields []string
}

// Validate checks the profile: a name, a JSON format (ecs, zeek, eve or
// sysmon), and for each field a path and a kind its extractor can emit.
// Errors name the profile and the field.
func (p *Profile) Validate() error {
	if strings.TrimSpace(p.Name) == "" {
		return errors.New("profile: empty name")
	}
	switch p.Format {
	case FormatECS, FormatZeek, FormatEVE, FormatSysmon:
	default:
		return fmt.Errorf("profile %q: format %s cannot have a profile (want ecs, zeek, eve or sysmon)", p.Name, p.Format)
	}
	for i, fm := range p.Fields {
		if err := fm.validate(); err != nil {
			return fmt.Errorf("profile %q: fields[%d] %q: %w", p.Name, i, fm.Field, err)
		}
	}
	for i, f := range p.TextFields {
		if strings.TrimSpace(f) == "" {
			return fmt.Errorf("profile %q: text_fields[%d]: empty field", p.Name, i)
		}
	}
	return nil
}

func (fm FieldMap) validate() error {
	if strings.TrimSpace(fm.Field) == "" || fm.Field != strings.TrimSpace(fm.Field) {
		return errors.New("empty field path or path with spaces around it")
	}
	if fm.As >= extractCount {
		return fmt.Errorf("unknown extractor %d", fm.As)
	}
	switch fm.As {
	case ExtractValue:
		switch fm.Kind {
		case ioc.KindInvalid, ioc.KindCIDRv4, ioc.KindCIDRv6, ioc.KindSubstring, ioc.KindCompound:
			return fmt.Errorf("extractor value: kind %s cannot be observed", fm.Kind)
		}
		if fm.Kind > ioc.KindText {
			return fmt.Errorf("extractor value: invalid kind %d", fm.Kind)
		}
	case ExtractPath:
		if fm.Kind != ioc.KindFileName && fm.Kind != ioc.KindProcessName && fm.Kind != ioc.KindFilePath {
			return fmt.Errorf("extractor path: kind %s (want filename, process-name or filepath)", fm.Kind)
		}
	case ExtractText:
		if fm.Kind != ioc.KindText && fm.Kind != ioc.KindCommandLine && fm.Kind != ioc.KindInvalid {
			return fmt.Errorf("extractor text: kind %s (want text or command-line)", fm.Kind)
		}
	}
	return nil
}

// profileDoc is the file form of a Profile.
type profileDoc struct {
	Name       string     `yaml:"name"`
	Format     string     `yaml:"format"`
	Fields     []fieldDoc `yaml:"fields"`
	TextFields []string   `yaml:"text_fields"`
}

type fieldDoc struct {
	Field string `yaml:"field"`
	Kind  string `yaml:"kind"`
	Role  string `yaml:"role"`
	As    string `yaml:"as"`
}

// LoadProfile reads a user profile in YAML or JSON:
//
//	name: cloudtrail
//	format: ecs            # the format whose builtin profile this extends or replaces
//	fields:
//	  - {field: sourceIPAddress, kind: ipv4, role: src}
//	  - {field: requestParameters.host, as: host, role: dst}
//	text_fields: [errorMessage]
//
// Decoding is strict: an unknown key is an error naming it. Kinds and
// roles use the names of ioc.ParseKind and ioc.ParseRole, extractors the
// names of ParseExtract. The result is validated (Profile.Validate).
func LoadProfile(r io.Reader) (Profile, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Profile{}, fmt.Errorf("profile: read: %w", err)
	}
	var doc profileDoc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return Profile{}, errors.New("profile: empty document")
		}
		return Profile{}, fmt.Errorf("profile: %w", err)
	}
	p := Profile{Name: doc.Name, TextFields: doc.TextFields}
	if p.Format, err = ParseFormat(doc.Format); err != nil {
		return Profile{}, fmt.Errorf("profile %q: format: %w", doc.Name, err)
	}
	for i, fd := range doc.Fields {
		fm := FieldMap{Field: fd.Field}
		if fd.Kind != "" {
			if fm.Kind, err = ioc.ParseKind(fd.Kind); err != nil {
				return Profile{}, fmt.Errorf("profile %q: fields[%d] %q: kind: %w", doc.Name, i, fd.Field, err)
			}
		}
		if fm.Role, err = ioc.ParseRole(fd.Role); err != nil {
			return Profile{}, fmt.Errorf("profile %q: fields[%d] %q: role: %w", doc.Name, i, fd.Field, err)
		}
		if fm.As, err = ParseExtract(fd.As); err != nil {
			return Profile{}, fmt.Errorf("profile %q: fields[%d] %q: as: %w", doc.Name, i, fd.Field, err)
		}
		p.Fields = append(p.Fields, fm)
	}
	if err := p.Validate(); err != nil {
		return Profile{}, err
	}
	return p, nil
}
