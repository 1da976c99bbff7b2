package alert

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
)

// FuzzAlertBuild builds alerts for arbitrary event bytes (taken as the
// raw event, the matched value and the event id) in every format: the
// document must always be one line of valid JSON whose event.original
// is the event, and the sighting bundle valid JSON too.
func FuzzAlertBuild(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte(`{"@timestamp":"2026-01-01T00:00:00Z","source":{"ip":"192.0.2.1"},"host.name":"h","event":{"id":"x"}}`))
	f.Add([]byte(`{"ts":1.5,"uid":"C","id.orig_h":"192.0.2.1","x":[1,2,{"y":null}]}`))
	f.Add([]byte("raw line \xff\xfe with \u2028 and \"quotes\"\n"))
	f.Add([]byte(`{"a":"\ud800","b":1e999}`))
	f.Add([]byte(`{"source.ip":"1.2.3.4","source":{"port":1}}`))
	inds := sampleIndicators()
	b := NewBuilder(Options{MaxOriginalBytes: 4096})
	formats := []string{"ecs", "zeek", "eve", "sysmon", "raw", ""}
	f.Fuzz(func(t *testing.T, event []byte) {
		for i, format := range formats {
			in := Input{
				Event: event, Format: format, Now: time.Unix(1, 0),
				Observables: []ioc.Observable{
					{Kind: ioc.KindIPv4, Role: ioc.RoleSrc, Addr: netip.MustParseAddr("192.0.2.1"), Field: "source.ip"},
					{Kind: ioc.KindText, Value: event, Field: "message"},
					{Kind: ioc.KindPort, Role: ioc.RoleDst, Value: event, Field: "destination.port"},
				},
				Hits: []match.Hit{{Indicator: inds["ipv4"], Obs: 0}, {Indicator: inds["domain"], Obs: 1}, {Indicator: inds["compound"], Obs: -1}},
			}
			if i%2 == 0 {
				in.EventID, in.Timestamp = event, event
			}
			a, err := b.Build(in)
			if err != nil {
				t.Fatal(err)
			}
			out := a.AppendJSON(nil)
			if !json.Valid(out) {
				t.Fatalf("format %q: invalid JSON: %s", format, out)
			}
			var doc struct {
				Event struct{ Original string }
			}
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatal(err)
			}
			if !a.OriginalTruncated && doc.Event.Original != string([]rune(string(event))) {
				t.Fatalf("event.original %q, want %q", doc.Event.Original, event)
			}
			if s := AppendSightingBundle(nil, &a, NewIdentity("x")); !json.Valid(s) {
				t.Fatalf("invalid sighting bundle: %s", s)
			}
		}
	})
}
