package alert

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var now = time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

// sample indicators, after the bundled sample feed (sample-iocs).
func sampleIndicators() map[string]*ioc.Indicator {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return map[string]*ioc.Indicator{
		"domain": {
			ID: "indicator--0b8f3c1e-7b0e-4c55-9d6a-1f1d2c3b4a01", Kind: ioc.KindDomain, Value: "malware-c2.example",
			Pattern: "[domain-name:value = 'malware-c2.example']", Feed: "sample", Provider: "Sample CTI",
			Confidence: 85, Name: "SampleRAT C2 domain", Description: "Command and control domain of SampleRAT.",
			Labels: []string{"malicious-activity", "tlp:amber"}, ValidFrom: created, Created: created, Modified: created,
			Context: ioc.Context{
				Malware: []string{"SampleRAT"}, IntrusionSets: []string{"SAMPLE SPIDER"},
				Techniques: []ioc.Technique{{ID: "T1071.001", Name: "Web Protocols"}},
				KillChain:  []string{"mitre-attack:command-and-control"},
				References: []ioc.Reference{{Source: "mitre-attack", URL: "https://attack.mitre.org/techniques/T1071/001/", ExternalID: "T1071.001"}, {Source: "sample-report", URL: "https://cti.example/reports/samplerat"}},
			},
		},
		"ipv4": {
			ID: "indicator--0b8f3c1e-7b0e-4c55-9d6a-1f1d2c3b4a03", Kind: ioc.KindIPv4, Value: "203.0.113.66",
			Feed: "sample", Confidence: 90, Context: ioc.Context{Malware: []string{"SampleRAT"}},
		},
		"cidr": {
			ID: "sample:cidr4:198.51.100.0/24", Kind: ioc.KindCIDRv4, Value: "198.51.100.0/24",
			Feed: "sample", Confidence: 60, Context: ioc.Context{ThreatActors: []string{"Sample Actor"}},
		},
		"url": {
			ID: "indicator--0b8f3c1e-7b0e-4c55-9d6a-1f1d2c3b4a06", Kind: ioc.KindURL, Value: "http://evil-update.test/payload.exe",
			Feed: "sample", Confidence: 70,
			Context: ioc.Context{Malware: []string{"FakeUpdater"}, Techniques: []ioc.Technique{{ID: "T1105", Name: "Ingress Tool Transfer"}}},
		},
		"sha256": {
			ID: "indicator--0b8f3c1e-7b0e-4c55-9d6a-1f1d2c3b4a07", Kind: ioc.KindSHA256,
			Value: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			Feed:  "sample", Context: ioc.Context{Malware: []string{"SampleRAT"}},
		},
		"regkey": {
			ID: "sample:registry-key:x", Kind: ioc.KindRegistryKey,
			Value: `hkey_local_machine\software\microsoft\windows\currentversion\run\samplerat`,
			Feed:  "other", Confidence: 20, Context: ioc.Context{Techniques: []ioc.Technique{{ID: "T1547.001"}}},
		},
		"cmdline": {
			ID: "sample:command-line:-EncodedCommand JAB", Kind: ioc.KindCommandLine, Value: "-EncodedCommand JAB",
			Feed: "sample", Confidence: 40, Labels: []string{"TLP:GREEN"},
			Context: ioc.Context{Techniques: []ioc.Technique{{ID: "T1059.001", Name: "PowerShell"}, {ID: "T1059", Name: "Command and Scripting Interpreter"}},
				KillChain: []string{"mitre-attack:execution", "lockheed:installation"}},
		},
		"compound": {
			ID: "indicator--0b8f3c1e-7b0e-4c55-9d6a-1f1d2c3b4a0d", Kind: ioc.KindCompound,
			Pattern: "[network-traffic:dst_ref.value = '203.0.113.80' AND network-traffic:dst_port = 4444]",
			Expr: ioc.And(
				ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindIPv4, Role: ioc.RoleDst}, Op: ioc.PredEq, Values: []string{"203.0.113.80"}}),
				ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindPort, Role: ioc.RoleDst}, Op: ioc.PredEq, Values: []string{"4444"}}),
			),
			Feed: "sample", Confidence: 50,
		},
	}
}

func ipObs(s string, r ioc.Role, field string) ioc.Observable {
	a := netip.MustParseAddr(s)
	return ioc.Observable{Kind: ioc.AddrKind(a), Role: r, Addr: a, Value: []byte(a.String()), Field: field}
}

func obs(k ioc.Kind, r ioc.Role, v, field string) ioc.Observable {
	return ioc.Observable{Kind: k, Role: r, Value: []byte(v), Field: field}
}

type goldenCase struct {
	name string
	in   Input
}

func goldenCases() []goldenCase {
	inds := sampleIndicators()
	return []goldenCase{
		{"ip_zeek", Input{
			Event:     []byte(`{"ts":1767225600.123456,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"192.0.2.10","id.orig_p":49152,"id.resp_h":"203.0.113.66","id.resp_p":443,"proto":"tcp"}`),
			Format:    "zeek",
			EventID:   []byte("CHhAvVGS1DHFjwGM9"),
			Timestamp: []byte("1767225600.123456"),
			Observables: []ioc.Observable{
				ipObs("192.0.2.10", ioc.RoleSrc, "id.orig_h"), obs(ioc.KindPort, ioc.RoleSrc, "49152", "id.orig_p"),
				ipObs("203.0.113.66", ioc.RoleDst, "id.resp_h"), obs(ioc.KindPort, ioc.RoleDst, "443", "id.resp_p"),
				obs(ioc.KindProtocol, ioc.RoleAny, "tcp", "proto"),
			},
			Hits:   []match.Hit{{Indicator: inds["ipv4"], Obs: 2}},
			Source: "iocmatch.events.zeek",
		}},
		{"cidr_eve", Input{
			Event:     []byte(`{"timestamp":"2026-01-01T00:00:01.000000+0000","flow_id":1234567890,"event_type":"flow","src_ip":"198.51.100.23","src_port":51515,"dest_ip":"192.0.2.10","dest_port":22,"proto":"TCP"}`),
			Format:    "eve",
			EventID:   []byte("1234567890"),
			Timestamp: []byte("2026-01-01T00:00:01.000000+0000"),
			Observables: []ioc.Observable{
				ipObs("198.51.100.23", ioc.RoleSrc, "src_ip"), obs(ioc.KindPort, ioc.RoleSrc, "51515", "src_port"),
				ipObs("192.0.2.10", ioc.RoleDst, "dest_ip"), obs(ioc.KindPort, ioc.RoleDst, "22", "dest_port"),
			},
			Hits:   []match.Hit{{Indicator: inds["cidr"], Obs: 0}},
			Source: "iocmatch.events.eve",
		}},
		{"domain_suffix_ecs", Input{
			Event: []byte(`{"@timestamp":"2026-01-01T00:00:02.000Z","ecs":{"version":"8.11.0"},"event":{"id":"dns-0001","kind":"event","category":["network"]},` +
				`"host":{"name":"ws-042"},"user":{"name":"alice"},"source":{"ip":"192.0.2.10","port":53211},"destination":{"ip":"192.0.2.53","port":53},` +
				`"dns":{"question":{"name":"a.b.Malware-C2.example"}},"data_stream":{"dataset":"zeek.dns"},"threat":{"x":1},"message":"dns query"}`),
			Format:    "ecs",
			EventID:   []byte("dns-0001"),
			Timestamp: []byte("2026-01-01T00:00:02.000Z"),
			Observables: []ioc.Observable{
				ipObs("192.0.2.10", ioc.RoleSrc, "source.ip"), obs(ioc.KindPort, ioc.RoleSrc, "53211", "source.port"),
				ipObs("192.0.2.53", ioc.RoleDst, "destination.ip"), obs(ioc.KindPort, ioc.RoleDst, "53", "destination.port"),
				obs(ioc.KindDomain, ioc.RoleAny, "a.b.malware-c2.example", "dns.question.name"),
				obs(ioc.KindText, ioc.RoleAny, "dns query", "message"),
			},
			Hits:   []match.Hit{{Indicator: inds["domain"], Obs: 4}},
			Source: "iocmatch.events.ecs",
		}},
		{"url_ecs_dotted", Input{
			Event: []byte(`{"@timestamp":"2026-01-01T00:00:03Z","url.full":"http://EVIL-UPDATE.test/payload.exe#x","source.ip":"192.0.2.11","host.name":"ws-007",` +
				"\n" + `"user_agent.original":"curl/8.0"}`),
			Format: "ecs",
			Observables: []ioc.Observable{
				obs(ioc.KindURL, ioc.RoleAny, "http://evil-update.test/payload.exe", "url.full"),
				obs(ioc.KindDomain, ioc.RoleDst, "evil-update.test", "url.full"),
				ipObs("192.0.2.11", ioc.RoleSrc, "source.ip"),
			},
			Hits:   []match.Hit{{Indicator: inds["url"], Obs: 0}},
			Source: "events.jsonl",
		}},
		{"hash_sysmon", Input{
			Event: []byte(`{"EventID":1,"UtcTime":"2026-01-01 00:00:04.000","Computer":"WS-042.corp.example","EventData":{"User":"CORP\\bob","Image":"C:\\Users\\bob\\payload.exe",` +
				`"Hashes":"MD5=44D88612FEA8A8F36DE82E1278ABB02F,SHA256=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"}}`),
			Format:    "sysmon",
			Timestamp: []byte("2026-01-01 00:00:04.000"),
			Observables: []ioc.Observable{
				obs(ioc.KindFilePath, ioc.RoleAny, `C:\Users\bob\payload.exe`, "Image"),
				obs(ioc.KindMD5, ioc.RoleAny, "44d88612fea8a8f36de82e1278abb02f", "Hashes"),
				obs(ioc.KindSHA256, ioc.RoleAny, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "Hashes"),
			},
			Hits:   []match.Hit{{Indicator: inds["sha256"], Obs: 2}},
			Source: "iocmatch.events.sysmon",
		}},
		{"cmdline_sysmon", Input{
			Event:     []byte(`{"EventID":1,"EventRecordID":77,"UtcTime":"2026-01-01 00:00:07.000","Computer":"WS-043","EventData":{"CommandLine":"powershell.exe -nop -EncodedCommand JABzAD0A"}}`),
			Format:    "sysmon",
			EventID:   []byte("77"),
			Timestamp: []byte("2026-01-01 00:00:07.000"),
			Observables: []ioc.Observable{
				obs(ioc.KindCommandLine, ioc.RoleAny, "powershell.exe -nop -EncodedCommand JABzAD0A", "EventData.CommandLine"),
			},
			Hits:   []match.Hit{{Indicator: inds["cmdline"], Obs: 0}},
			Source: "iocmatch.events.sysmon",
		}},
		{"compound_and_ip_ecs", Input{
			Event:   []byte(`{"@timestamp":"2026-01-01T00:00:05Z","event":{"id":"fw-77"},"source":{"ip":"192.0.2.12"},"destination":{"ip":"203.0.113.80","port":4444},"related":{"ip":["192.0.2.12","203.0.113.80"]}}`),
			Format:  "ecs",
			EventID: []byte("fw-77"),
			Observables: []ioc.Observable{
				ipObs("192.0.2.12", ioc.RoleSrc, "source.ip"),
				ipObs("203.0.113.80", ioc.RoleDst, "destination.ip"), obs(ioc.KindPort, ioc.RoleDst, "4444", "destination.port"),
				ipObs("203.0.113.66", ioc.RoleAny, "related.ip"),
			},
			Hits:   []match.Hit{{Indicator: inds["compound"], Obs: -1}, {Indicator: inds["ipv4"], Obs: 3}},
			Source: "iocmatch.events.ecs",
		}},
		{"regkey_raw", Input{
			Event:  []byte("Jan  1 00:00:06 ws-042 agent: set HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\SampleRAT = \"\x01\xff\""),
			Format: "raw",
			Observables: []ioc.Observable{
				obs(ioc.KindRegistryKey, ioc.RoleAny, `hkey_local_machine\software\microsoft\windows\currentversion\run\samplerat`, "message"),
			},
			Hits:   []match.Hit{{Indicator: inds["regkey"], Obs: 0}},
			Source: "raw.log",
		}},
	}
}

// goldenCaseNamed returns the golden case named name.
func goldenCaseNamed(t testing.TB, name string) goldenCase {
	for _, tc := range goldenCases() {
		if tc.name == name {
			return tc
		}
	}
	t.Fatalf("no golden case %s", name)
	return goldenCase{}
}

func TestSubstringAtomic(t *testing.T) {
	tc := goldenCaseNamed(t, "cmdline_sysmon")
	a, err := NewBuilder(Options{}).Build(tc.in)
	if err != nil {
		t.Fatal(err)
	}
	if en := a.Enrichments[0]; en.Matched != "-EncodedCommand JAB" || en.Field != "EventData.CommandLine" {
		t.Errorf("substring hit: matched %q field %q, want the substring and the command line field", en.Matched, en.Field)
	}
}

func TestGolden(t *testing.T) {
	b := NewBuilder(Options{})
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Now = now
			a, err := b.Build(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			line := a.AppendJSON(nil)
			if !json.Valid(line) {
				t.Fatalf("invalid JSON: %s", line)
			}
			if bytes.ContainsAny(line, "\n\r") {
				t.Fatalf("alert JSON spans lines: %q", line)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, line, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			checkGolden(t, filepath.Join("testdata", tc.name+".json"), pretty.Bytes())
			// MarshalJSON agrees with AppendJSON.
			m, err := a.MarshalJSON()
			if err != nil || !bytes.Equal(m, line) {
				t.Fatalf("MarshalJSON differs from AppendJSON (err %v)", err)
			}
		})
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run go test -update to accept):\n--- got\n%s", path, got)
	}
}

// TestECSFields checks the ECS contract of the documents field by field,
// independently of the golden files.
func TestECSFields(t *testing.T) {
	b := NewBuilder(Options{})
	cases := goldenCases()
	get := func(doc map[string]any, path string) any {
		if v, ok := doc[path]; ok { // a dotted key copied verbatim
			return v
		}
		var cur any = doc
		for _, p := range strings.Split(path, ".") {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = m[p]
		}
		return cur
	}
	for _, tc := range cases {
		tc.in.Now = now
		a, err := b.Build(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(a.AppendJSON(nil), &doc); err != nil {
			t.Fatal(err)
		}
		for path, want := range map[string]any{
			"event.kind": "alert", "event.dataset": Dataset, "event.id": a.ID, "ecs.version": ECSVersion,
			"iocmatch.alert_id": a.ID, "iocmatch.event_format": tc.in.Format, "iocmatch.source": tc.in.Source,
			"@timestamp": "2026-03-14T09:26:53.589Z", "iocmatch.suppressed_count": 0.0,
		} {
			if got := get(doc, path); got != want {
				t.Errorf("%s: %s = %v, want %v", tc.name, path, got, want)
			}
		}
		if got := get(doc, "event.original"); got != string([]rune(string(tc.in.Event))) {
			t.Errorf("%s: event.original = %q", tc.name, got)
		}
		ens, _ := get(doc, "threat.enrichments").([]any)
		if len(ens) != len(tc.in.Hits) {
			t.Fatalf("%s: %d enrichments, want %d", tc.name, len(ens), len(tc.in.Hits))
		}
		for _, x := range ens {
			en := x.(map[string]any)
			if get(en, "matched.type") != MatchType || get(en, "matched.id") == nil || get(en, "matched.occurred") == nil {
				t.Errorf("%s: bad matched object %v", tc.name, en["matched"])
			}
		}
	}
	// Specific mappings.
	check := func(name, path string, want any) {
		t.Helper()
		for _, tc := range cases {
			if tc.name != name {
				continue
			}
			tc.in.Now = now
			a, _ := b.Build(tc.in)
			var doc map[string]any
			json.Unmarshal(a.AppendJSON(nil), &doc)
			got, _ := json.Marshal(get(doc, path))
			w, _ := json.Marshal(want)
			if !bytes.Equal(got, w) {
				t.Errorf("%s: %s = %s, want %s", name, path, got, w)
			}
			return
		}
		t.Fatalf("no case %s", name)
	}
	check("domain_suffix_ecs", "host.name", "ws-042")
	check("domain_suffix_ecs", "source.port", 53211)
	check("domain_suffix_ecs", "data_stream", nil)
	check("domain_suffix_ecs", "threat.technique.id", []string{"T1071"})
	check("domain_suffix_ecs", "threat.technique.subtechnique.id", []string{"T1071.001"})
	check("domain_suffix_ecs", "threat.tactic.id", []string{"TA0011"})
	check("domain_suffix_ecs", "threat.software.name", []string{"SampleRAT"})
	check("domain_suffix_ecs", "threat.group.name", []string{"SAMPLE SPIDER"})
	check("domain_suffix_ecs", "threat.feed.name", "sample")
	check("domain_suffix_ecs", "iocmatch.event", nil)
	check("ip_zeek", "iocmatch.event.uid", "CHhAvVGS1DHFjwGM9")
	check("ip_zeek", "destination.ip", "203.0.113.66")
	check("ip_zeek", "destination.port", 443)
	check("ip_zeek", "related.ip", []string{"192.0.2.10", "203.0.113.66"})
	check("cidr_eve", "source.ip", "198.51.100.23")
	check("url_ecs_dotted", "url.full", "http://EVIL-UPDATE.test/payload.exe#x")
	check("hash_sysmon", "related.hash", []string{"44d88612fea8a8f36de82e1278abb02f", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"})
	check("compound_and_ip_ecs", "threat.feed.name", "sample")
	check("compound_and_ip_ecs", "related.ip", []string{"192.0.2.12", "203.0.113.80"})
	check("regkey_raw", "threat.feed.name", "other")
	check("cmdline_sysmon", "threat.technique.id", []string{"T1059"})
	check("cmdline_sysmon", "threat.technique.name", []string{"Command and Scripting Interpreter"})
	check("cmdline_sysmon", "threat.technique.subtechnique.name", []string{"PowerShell"})
	check("cmdline_sysmon", "threat.tactic.name", []string{"Execution"})
	check("cmdline_sysmon", "iocmatch.event.EventRecordID", 77)
}

func TestEntities(t *testing.T) {
	b := NewBuilder(Options{})
	ind := sampleIndicators()["ipv4"]
	for _, tc := range []struct {
		event, host, user string
	}{
		{`{"host":{"name":"a"},"user":{"name":"u"}}`, "a", "u"},
		{`{"host.name":"b","user.name":"v"}`, "b", "v"},
		{`{"host":{"hostname":"c"}}`, "c", ""},
		{`{"winlog":{"computer_name":"d","event_data":{"User":"CORP\\w"}}}`, "d", `CORP\w`},
		{`{"Computer":"e","EventData":{"User":"x"}}`, "e", "x"},
		{`{"host":"sensor-1"}`, "", ""},
		{`not json host.name=z`, "", ""},
		{`{"host":{"name":""}}`, "", ""},
	} {
		a, err := b.Build(Input{Event: []byte(tc.event), Format: "auto",
			Observables: []ioc.Observable{ipObs("203.0.113.66", ioc.RoleSrc, "x")},
			Hits:        []match.Hit{{Indicator: ind, Obs: 0}}, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if a.Entities.HostName != tc.host || a.Entities.UserName != tc.user || a.Entity(EntitySourceIP) != "203.0.113.66" {
			t.Errorf("%s: host %q user %q ip %q, want %q %q", tc.event, a.Entities.HostName, a.Entities.UserName, a.Entity(EntitySourceIP), tc.host, tc.user)
		}
		if a.Entity(EntityHost) != tc.host || a.Entity(EntityUser) != tc.user || a.Entity(EntityNone) != "" {
			t.Errorf("%s: Entity() disagrees with Entities", tc.event)
		}
	}
}

func TestAlertIDStable(t *testing.T) {
	inds := sampleIndicators()
	b := NewBuilder(Options{})
	base := func() Input {
		return Input{
			Event:       []byte(`{"event":{"id":"e1"},"destination":{"ip":"203.0.113.66"},"dns":{"question":{"name":"x.malware-c2.example"}}}`),
			Format:      "ecs",
			EventID:     []byte("e1"),
			Timestamp:   []byte("2026-01-01T00:00:00Z"),
			Observables: []ioc.Observable{ipObs("203.0.113.66", ioc.RoleDst, "destination.ip"), obs(ioc.KindDomain, ioc.RoleAny, "x.malware-c2.example", "dns.question.name")},
			Hits:        []match.Hit{{Indicator: inds["ipv4"], Obs: 0}, {Indicator: inds["domain"], Obs: 1}},
			Source:      "a",
			Now:         now,
		}
	}
	id := func(in Input) string {
		t.Helper()
		a, err := b.Build(in)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.ID) != 32 || strings.Trim(a.ID, "0123456789abcdef") != "" {
			t.Fatalf("id %q is not 32 hex digits", a.ID)
		}
		return a.ID
	}
	ref := id(base())
	same := map[string]func(*Input){
		"again":                 func(*Input) {},
		"other processing time": func(in *Input) { in.Now = now.Add(time.Hour) },
		"other source":          func(in *Input) { in.Source = "b" },
		"hits reordered":        func(in *Input) { in.Hits[0], in.Hits[1] = in.Hits[1], in.Hits[0] },
		"re-serialised event":   func(in *Input) { in.Event = []byte(`{"event": {"id": "e1"}}`) },
		"duplicate hit":         func(in *Input) { in.Hits = append(in.Hits, in.Hits[0]) },
		"same id, other pointer": func(in *Input) {
			c := *inds["ipv4"]
			in.Hits[0].Indicator = &c
		},
	}
	for name, f := range same {
		in := base()
		f(&in)
		if got := id(in); got != ref {
			t.Errorf("%s: id %s, want %s", name, got, ref)
		}
	}
	differ := map[string]func(*Input){
		"fewer indicators":   func(in *Input) { in.Hits = in.Hits[:1] },
		"other indicator":    func(in *Input) { in.Hits[1].Indicator = inds["url"] },
		"other event id":     func(in *Input) { in.EventID = []byte("e2") },
		"other timestamp":    func(in *Input) { in.Timestamp = []byte("2026-01-01T00:00:01Z") },
		"other format":       func(in *Input) { in.Format = "zeek" },
		"no event id":        func(in *Input) { in.EventID = nil },
		"extra indicator id": func(in *Input) { in.Hits = append(in.Hits, match.Hit{Indicator: inds["compound"], Obs: -1}) },
	}
	seen := map[string]string{ref: "base"}
	for name, f := range differ {
		in := base()
		f(&in)
		got := id(in)
		if prev, dup := seen[got]; dup {
			t.Errorf("%s: id %s equals that of %s", name, got, prev)
		}
		seen[got] = name
	}
	// Without an event id the raw bytes decide.
	in1, in2 := base(), base()
	in1.EventID, in2.EventID = nil, nil
	in2.Event = append([]byte(nil), in2.Event...)
	if id(in1) != id(in2) {
		t.Error("same raw bytes without event id: ids differ")
	}
	in2.Event = append(in2.Event, ' ')
	if id(in1) == id(in2) {
		t.Error("different raw bytes without event id: same id")
	}
}

func TestBuildErrors(t *testing.T) {
	b := NewBuilder(Options{})
	ind := sampleIndicators()["ipv4"]
	one := []ioc.Observable{ipObs("203.0.113.66", ioc.RoleDst, "d")}
	for _, tc := range []struct {
		name string
		in   Input
		want string
	}{
		{"no hits", Input{Observables: one}, "no hits"},
		{"nil indicator", Input{Observables: one, Hits: []match.Hit{{Obs: 0}}}, "hit 0: nil indicator"},
		{"obs out of range", Input{Observables: one, Hits: []match.Hit{{Indicator: ind, Obs: 1}}}, "observable index 1 out of range"},
		{"negative obs", Input{Observables: one, Hits: []match.Hit{{Indicator: ind, Obs: 0}, {Indicator: ind, Obs: -2}}}, "hit 1 (indicator " + ind.ID + "): observable index -2"},
	} {
		_, err := b.Build(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestOptions(t *testing.T) {
	tc := goldenCaseNamed(t, "domain_suffix_ecs")
	tc.in.Now = now
	doc := func(o Options) map[string]any {
		a, err := NewBuilder(o).Build(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(a.AppendJSON(nil), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := doc(Options{OmitOriginal: true})
	if _, ok := m["event"].(map[string]any)["original"]; ok {
		t.Error("OmitOriginal: event.original present")
	}
	if _, ok := m["host"]; ok {
		t.Error("OmitOriginal: host merged")
	}
	if m["source"].(map[string]any)["ip"] != "192.0.2.10" {
		t.Error("OmitOriginal: source.ip not derived from the observables")
	}
	m = doc(Options{MaxOriginalBytes: 10})
	if got := m["event"].(map[string]any)["original"]; got != string(tc.in.Event[:10]) {
		t.Errorf("MaxOriginalBytes: original %q", got)
	}
	if m["iocmatch"].(map[string]any)["original_truncated"] != true {
		t.Error("MaxOriginalBytes: original_truncated not set")
	}
	m = doc(Options{ECSFieldsets: []string{}})
	if _, ok := m["host"]; ok {
		t.Error("empty ECSFieldsets: host merged")
	}
	if _, ok := m["iocmatch"].(map[string]any)["event"].(map[string]any); !ok {
		t.Error("empty ECSFieldsets: parsed event not kept under iocmatch.event")
	}
	// A fieldset that is not an object is not copied (it would break the
	// ECS mapping); a dotted key and tags are.
	odd := tc.in
	odd.Event = []byte(`{"source":"192.0.2.10","host":["x"],"user.name":"bob","tags":["t1"],"dns":{"question":{"name":"a.malware-c2.example"}}}`)
	oa, err := NewBuilder(Options{}).Build(odd)
	if err != nil {
		t.Fatal(err)
	}
	var om map[string]any
	json.Unmarshal(oa.AppendJSON(nil), &om)
	if src, ok := om["source"].(map[string]any); !ok || src["ip"] != "192.0.2.10" {
		t.Errorf("scalar source: got %v, want the derived source object", om["source"])
	}
	if _, ok := om["host"]; ok || om["user.name"] != "bob" || om["tags"] == nil || om["dns"] == nil {
		t.Errorf("odd ECS event merged wrongly: %v", om)
	}
	m = doc(Options{ECSFieldsets: []string{"user", "event", "threat"}})
	if _, ok := m["host"]; ok || m["user"] == nil {
		t.Error("ECSFieldsets [user]: wrong merge")
	}
	if m["event"].(map[string]any)["kind"] != "alert" {
		t.Error("ECSFieldsets with reserved keys: event overwritten")
	}
}

func TestCutUTF8(t *testing.T) {
	s := []byte("aé€😀")
	for n := 0; n <= len(s); n++ {
		got := cutUTF8(s, n)
		if len(got) > n || !json.Valid(appendString(nil, string(got))) || !bytes.HasPrefix(s, got) {
			t.Fatalf("cut %d: %q", n, got)
		}
		if string(got) != strings.ToValidUTF8(string(got), "") {
			t.Errorf("cut %d: %q ends inside a rune", n, got)
		}
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "ctl\x00\x01\x1f\t\n\r", "é€😀", "bad\xff\xfeutf8", "\u2028\u2029", "<script>&"} {
		out := appendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, out, err)
		}
		if back != string([]rune(s)) {
			t.Errorf("%q -> %s -> %q", s, out, back)
		}
	}
}

func TestECSConfidence(t *testing.T) {
	for _, tc := range []struct {
		c    int
		want string
	}{{0, "Not Specified"}, {-1, "Not Specified"}, {1, "Low"}, {29, "Low"}, {30, "Medium"}, {69, "Medium"}, {70, "High"}, {100, "High"}} {
		if got := ECSConfidence(tc.c); got != tc.want {
			t.Errorf("ECSConfidence(%d) = %q, want %q", tc.c, got, tc.want)
		}
	}
}

func TestTLPMarking(t *testing.T) {
	for _, tc := range []struct {
		labels []string
		want   string
	}{
		{nil, ""}, {[]string{"malicious"}, ""}, {[]string{"TLP:AMBER+STRICT"}, "AMBER+STRICT"},
		{[]string{"x", "tlp:clear"}, "CLEAR"}, {[]string{"tlp:purple", "tlp:red"}, "RED"}, {[]string{"tlp"}, ""},
	} {
		if got := tlpMarking(tc.labels); got != tc.want {
			t.Errorf("tlpMarking(%q) = %q, want %q", tc.labels, got, tc.want)
		}
	}
}
