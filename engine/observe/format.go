package observe

import (
	"fmt"
	"strings"
)

// Format is an event encoding. FormatAuto asks Observe to detect it per
// event.
type Format uint8

// Formats.
const (
	FormatAuto   Format = iota // detect per event: JSON key signatures, else a raw line
	FormatECS                  // Elastic Common Schema JSON (nested objects and/or dotted keys)
	FormatZeek                 // Zeek JSON logs (conn, dns, http, ssl, x509, files, smtp, notice...)
	FormatEVE                  // Suricata EVE JSON
	FormatSysmon               // Sysmon / Windows event JSON (flat, EventData, event_data, winlog.event_data)
	FormatRaw                  // one raw text line (syslog, access logs, anything)
	formatCount
)

var formatNames = [...]string{
	FormatAuto:   "auto",
	FormatECS:    "ecs",
	FormatZeek:   "zeek",
	FormatEVE:    "eve",
	FormatSysmon: "sysmon",
	FormatRaw:    "raw",
}

// String returns the format's name as ParseFormat accepts it.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("format(%d)", uint8(f))
}

// ParseFormat parses "auto", "ecs", "zeek", "eve", "sysmon" or "raw"
// (case-insensitive; "suricata" is accepted for "eve", "" for "auto").
// An unknown name is an error naming it.
func ParseFormat(s string) (Format, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	for i, name := range formatNames {
		if n == name {
			return Format(i), nil
		}
	}
	switch n {
	case "":
		return FormatAuto, nil
	case "suricata":
		return FormatEVE, nil
	case "windows", "winlog":
		return FormatSysmon, nil
	case "text", "syslog":
		return FormatRaw, nil
	}
	return FormatAuto, fmt.Errorf("unknown event format %q (want auto, ecs, zeek, eve, sysmon or raw)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (f Format) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler using ParseFormat.
func (f *Format) UnmarshalText(b []byte) error {
	v, err := ParseFormat(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}
