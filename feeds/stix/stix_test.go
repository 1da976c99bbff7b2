package stix

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
	"github.com/iocmatch/iocmatch/engine/ioc"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const ts = `"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z"`

// obj renders a STIX 2.1 object of type typ with id typ--<uuid n> and the extra JSON members.
func obj(typ string, n int, extra string) string {
	s := fmt.Sprintf(`{"type":%q,"spec_version":"2.1","id":%q,%s`, typ, id(typ, n), ts)
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

func id(typ string, n int) string { return fmt.Sprintf("%s--00000000-0000-4000-8000-%012d", typ, n) }

func rel(n int, src, typ, dst string) string {
	return obj("relationship", n, fmt.Sprintf(`"relationship_type":%q,"source_ref":%q,"target_ref":%q`, typ, src, dst))
}

func indicator(n int, pattern string, extra string) string {
	e := fmt.Sprintf(`"pattern":%q,"pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"`, pattern)
	if extra != "" {
		e += "," + extra
	}
	return obj("indicator", n, e)
}

func bundle(objs ...string) []byte {
	return []byte(`{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000000","objects":[` + strings.Join(objs, ",") + `]}`)
}

func convert(t *testing.T, data ...[]byte) Result {
	t.Helper()
	c := NewConverter(Options{Feed: "f", Confidence: 30})
	for _, d := range data {
		c.AddBundle(d)
	}
	return c.Result()
}

func TestIndicatorFields(t *testing.T) {
	r := convert(t, bundle(
		obj("identity", 1, `"name":"ACME CERT","identity_class":"organization"`),
		indicator(2, "[domain-name:value = 'Evil.Example'] OR [ipv4-addr:value = '203.0.113.5']",
			`"name":"n","description":"d","labels":["l1"],"indicator_types":["malicious-activity","l1"],"confidence":77,
			 "valid_until":"2027-01-01T00:00:00Z","created_by_ref":"`+id("identity", 1)+`",
			 "external_references":[{"source_name":"ticket","url":"https://t.example/1","external_id":"T-1"},{"source_name":"empty"}],
			 "kill_chain_phases":[{"kill_chain_name":"lockheed-martin-cyber-kill-chain","phase_name":"delivery"}]`),
		indicator(3, "[ipv4-addr:value = '192.0.2.1']", `"created_by_ref":"`+id("identity", 99)+`"`),
	))
	if len(r.Report.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Report.Errors)
	}
	if len(r.Indicators) != 3 {
		t.Fatalf("got %d indicators, want 3", len(r.Indicators))
	}
	a, b := r.Indicators[0], r.Indicators[1]
	if a == b {
		t.Fatal("atoms share a pointer")
	}
	if a.Kind != ioc.KindDomain || a.Value != "evil.example" || b.Kind != ioc.KindIPv4 || b.Value != "203.0.113.5" {
		t.Errorf("atoms = %s %q, %s %q", a.Kind, a.Value, b.Kind, b.Value)
	}
	for _, x := range []*ioc.Indicator{a, b} {
		if x.ID != id("indicator", 2) || x.Feed != "f" || x.Provider != "ACME CERT" || x.Confidence != 77 || x.Name != "n" || x.Description != "d" ||
			!reflect.DeepEqual(x.Labels, []string{"l1", "malicious-activity"}) || x.ValidUntil.Year() != 2027 || x.ValidFrom.Year() != 2026 ||
			x.Pattern != "[domain-name:value = 'Evil.Example'] OR [ipv4-addr:value = '203.0.113.5']" {
			t.Errorf("fields: %+v", x)
		}
		if want := []ioc.Reference{{Source: "ticket", URL: "https://t.example/1", ExternalID: "T-1"}}; !reflect.DeepEqual(x.Context.References, want) {
			t.Errorf("references = %+v", x.Context.References)
		}
		if want := []string{"lockheed-martin-cyber-kill-chain:delivery"}; !reflect.DeepEqual(x.Context.KillChain, want) {
			t.Errorf("kill chain = %v", x.Context.KillChain)
		}
	}
	c := r.Indicators[2]
	if c.Provider != id("identity", 99) || c.Confidence != 30 {
		t.Errorf("unknown identity / default confidence: provider %q confidence %d", c.Provider, c.Confidence)
	}
}

func TestContextThroughRelationships(t *testing.T) {
	ind := id("indicator", 1)
	objs := []string{
		indicator(1, "[domain-name:value = 'c2.example']", ""),
		obj("malware", 2, `"name":"RAT","is_family":true`),
		obj("intrusion-set", 3, `"name":"SPIDER"`),
		obj("threat-actor", 4, `"name":"Actor"`),
		obj("campaign", 5, `"name":"Wave"`),
		obj("attack-pattern", 6, `"name":"Web Protocols","external_references":[{"source_name":"capec","external_id":"CAPEC-1"},{"source_name":"mitre-attack","external_id":"T1071.001"}]`),
		obj("attack-pattern", 7, `"name":"No ATT&CK id"`),
		obj("threat-actor", 8, `"name":"Related Actor"`),
		obj("malware", 9, `"name":"Revoked RAT","revoked":true`),
		obj("tool", 10, `"name":"Loader"`),
		obj("intrusion-set", 11, `"name":"Tool Users"`),
		obj("malware", 12, `"name":"Unrelated"`),
		rel(101, ind, "indicates", id("malware", 2)),
		rel(102, id("intrusion-set", 3), "uses", id("malware", 2)),
		rel(103, id("intrusion-set", 3), "attributed-to", id("threat-actor", 4)),
		rel(104, ind, "indicates", id("campaign", 5)),
		rel(105, id("campaign", 5), "attributed-to", id("intrusion-set", 3)),
		rel(106, ind, "indicates", id("attack-pattern", 6)),
		rel(107, ind, "indicates", id("attack-pattern", 7)),
		rel(108, id("threat-actor", 8), "related-to", ind), // related-to, either direction
		rel(109, ind, "indicates", id("malware", 9)),
		rel(110, ind, "indicates", id("tool", 10)),
		rel(111, id("intrusion-set", 11), "uses", id("tool", 10)),
		rel(112, id("intrusion-set", 11), "uses", id("malware", 12)), // not followed: the indicator does not indicate it
		obj("relationship", 113, `"relationship_type":"indicates","source_ref":"`+ind+`","target_ref":"`+id("malware", 12)+`","revoked":true`),
	}
	want := ioc.Context{
		Malware:       []string{"RAT"},
		ThreatActors:  []string{"Related Actor", "Actor"},
		IntrusionSets: []string{"Tool Users", "SPIDER"},
		Campaigns:     []string{"Wave"},
		Techniques:    []ioc.Technique{{ID: "T1071.001", Name: "Web Protocols"}},
	}
	norm := func(c ioc.Context) ioc.Context {
		for _, s := range [][]string{c.Malware, c.ThreatActors, c.IntrusionSets, c.Campaigns} {
			sort.Strings(s)
		}
		return c
	}
	// One bundle, and the same objects spread over pages in reverse order
	// (relationships before the objects they name).
	rev := make([]string, len(objs))
	for i, o := range objs {
		rev[len(objs)-1-i] = o
	}
	for name, pages := range map[string][][]byte{
		"one bundle":       {bundle(objs...)},
		"reversed, paged":  {bundle(rev[:10]...), bundle(rev[10:20]...), bundle(rev[20:]...)},
		"taxii envelopes":  {[]byte(`{"more":true,"objects":[` + strings.Join(objs[:12], ",") + `]}`), []byte(`{"objects":[` + strings.Join(objs[12:], ",") + `]}`)},
		"json array + obj": {[]byte(`[` + strings.Join(objs[1:], ",") + `]`), []byte(objs[0])},
	} {
		t.Run(name, func(t *testing.T) {
			r := convert(t, pages...)
			if len(r.Indicators) != 1 || len(r.Report.Errors) > 0 {
				t.Fatalf("indicators %d, errors %+v", len(r.Indicators), r.Report.Errors)
			}
			if got := norm(r.Indicators[0].Context); !reflect.DeepEqual(got, norm(want)) {
				t.Errorf("context =\n%+v\nwant\n%+v", got, norm(want))
			}
		})
	}
}

func TestVersionsAndRevocation(t *testing.T) {
	v := func(mod, value, extra string) string {
		s := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2026-01-01T00:00:00Z","modified":%q,"pattern":"[domain-name:value = '%s']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"`, id("indicator", 1), mod, value)
		if extra != "" {
			s += "," + extra
		}
		return s + "}"
	}
	tests := []struct {
		name    string
		objs    []string
		want    string // value of the surviving indicator, "" for none
		revoked bool
	}{
		{"newer wins", []string{v("2026-01-02T00:00:00Z", "old.example", ""), v("2026-01-03T00:00:00Z", "new.example", "")}, "new.example", false},
		{"older later is ignored", []string{v("2026-01-03T00:00:00Z", "new.example", ""), v("2026-01-02T00:00:00Z", "old.example", "")}, "new.example", false},
		{"same modified: first kept", []string{v("2026-01-03T00:00:00Z", "first.example", ""), v("2026-01-03T00:00:00Z", "second.example", "")}, "first.example", false},
		{"fractional seconds order", []string{v("2026-01-03T00:00:00.5Z", "later.example", ""), v("2026-01-03T00:00:00.25Z", "earlier.example", "")}, "later.example", false},
		{"revoked newest", []string{v("2026-01-02T00:00:00Z", "old.example", ""), v("2026-01-03T00:00:00Z", "old.example", `"revoked":true`)}, "", true},
		{"revoked older version is superseded", []string{v("2026-01-02T00:00:00Z", "old.example", `"revoked":true`), v("2026-01-03T00:00:00Z", "new.example", "")}, "new.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := convert(t, bundle(tt.objs...))
			var got string
			if len(r.Indicators) == 1 {
				got = r.Indicators[0].Value
			} else if len(r.Indicators) > 1 {
				t.Fatalf("%d indicators", len(r.Indicators))
			}
			if got != tt.want {
				t.Errorf("value = %q, want %q", got, tt.want)
			}
			if (len(r.Revoked) == 1) != tt.revoked {
				t.Errorf("revoked = %v, want revoked %v", r.Revoked, tt.revoked)
			}
		})
	}
}

func TestPatternsReported(t *testing.T) {
	r := convert(t, bundle(
		obj("indicator", 1, `"pattern":"title: x\ndetection: y","pattern_type":"sigma","valid_from":"2026-01-01T00:00:00Z"`),
		obj("indicator", 2, `"pattern":"alert tcp any any -> any 80 (msg:\"x\";)","pattern_type":"snort","valid_from":"2026-01-01T00:00:00Z"`),
		obj("indicator", 3, `"pattern":"rule x { condition: true }","pattern_type":"yara","valid_from":"2026-01-01T00:00:00Z"`),
		indicator(4, "[domain-name:value = 'a.example'] FOLLOWEDBY [domain-name:value = 'b.example']", ""),
		indicator(5, "[ipv4-addr:value = '192.0.2.1'] REPEATS 5 TIMES", ""),
		indicator(6, "[x509-certificate:serial_number = '01']", ""),
		indicator(7, "[domain-name:value = 'unterminated]", ""),
		indicator(8, "[domain-name:value = 'ok.example']", ""),
	))
	var types []string
	for _, u := range r.Report.Unsupported {
		types = append(types, u.ID[len(u.ID)-1:]+":"+u.PatternType)
		if u.Reason == "" || u.Pattern == "" {
			t.Errorf("issue without reason or pattern: %+v", u)
		}
	}
	if want := []string{"1:sigma", "2:snort", "3:yara", "6:stix"}; !reflect.DeepEqual(types, want) {
		t.Errorf("unsupported = %v, want %v (%+v)", types, want, r.Report.Unsupported)
	}
	var corr []string
	for _, u := range r.Report.NeedsCorrelation {
		corr = append(corr, u.ID[len(u.ID)-1:])
	}
	if want := []string{"4", "5"}; !reflect.DeepEqual(corr, want) {
		t.Errorf("needs correlation = %v, want %v", corr, want)
	}
	if len(r.Report.Errors) != 1 || r.Report.Errors[0].ID != id("indicator", 7) || !strings.Contains(r.Report.Errors[0].Error(), "offset") {
		t.Errorf("errors = %+v, want the syntax error of indicator 7 naming the offset", r.Report.Errors)
	}
	if len(r.Indicators) != 1 || r.Indicators[0].Value != "ok.example" {
		t.Errorf("indicators = %d", len(r.Indicators))
	}
	if r.Report.IndicatorObjects != 8 {
		t.Errorf("indicator objects = %d", r.Report.IndicatorObjects)
	}
}

func TestBadObjects(t *testing.T) {
	c := NewConverter(Options{Feed: "f"})
	err := c.AddBundle(bundle(
		`"a string"`,
		`{"id":"indicator--x"}`,
		`{"type":"indicator","id":"malware--00000000-0000-4000-8000-000000000001","pattern":"[a:b = 1]"}`,
		`{"type":"indicator","id":"indicator--00000000-0000-4000-8000-000000000002","created":"yesterday","pattern":"[a:b = 1]"}`,
		`{"type":"indicator","id":"indicator--00000000-0000-4000-8000-000000000003","confidence":101,"pattern":"[a:b = 1]"}`,
		`{"type":"indicator","id":"indicator--00000000-0000-4000-8000-000000000004"}`,
		`{"type":"relationship","id":"relationship--00000000-0000-4000-8000-000000000005","relationship_type":"uses"}`,
		`{"type":"indicator","id":"indicator--00000000-0000-4000-8000-000000000006","pattern":"[a:b = 1]","valid_from":"2026-01-02T00:00:00Z","valid_until":"2026-01-01T00:00:00Z"}`,
		`{"type":"x-custom-thing","id":"x-custom-thing--1","whatever":[1,2,3]}`,
		`{"type":"marking-definition","id":"marking-definition--1"}`,
		indicator(9, "[domain-name:value = 'good.example']", ""),
	))
	if err == nil {
		t.Fatal("AddBundle returned no error for bad objects")
	}
	r := c.Result()
	var got []string
	for _, e := range r.Report.Errors {
		got = append(got, e.Error())
	}
	want := []string{
		"stix: object #0: not a STIX object: json: cannot unmarshal string into Go value of type stix.object",
		"stix: object #1 (indicator--x): missing type",
		`stix: object #2 (malware--00000000-0000-4000-8000-000000000001): id "malware--00000000-0000-4000-8000-000000000001" is not indicator--<uuid>`,
		`stix: object #3 (indicator--00000000-0000-4000-8000-000000000002): created "yesterday": not an RFC 3339 timestamp`,
		"stix: object #4 (indicator--00000000-0000-4000-8000-000000000003): confidence 101: want an integer 0-100",
		"stix: object #5 (indicator--00000000-0000-4000-8000-000000000004): indicator without pattern",
		"stix: object #6 (relationship--00000000-0000-4000-8000-000000000005): relationship without relationship_type, source_ref or target_ref",
		"stix: object #7 (indicator--00000000-0000-4000-8000-000000000006): valid_until 2026-01-01T00:00:00Z is not after valid_from 2026-01-02T00:00:00Z",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(r.Indicators) != 1 || r.Indicators[0].Value != "good.example" {
		t.Errorf("the good object was not kept: %d indicators", len(r.Indicators))
	}
	if r.Report.Objects != 11 || r.Report.ByType["x-custom-thing"] != 1 {
		t.Errorf("report counts: %+v", r.Report)
	}
	for _, in := range [][]byte{[]byte("not json"), []byte(`{"objects": 5}`), nil} {
		if err := NewConverter(Options{}).AddBundle(in); err == nil || !strings.Contains(err.Error(), "not STIX") {
			t.Errorf("AddBundle(%q) = %v, want ErrNotSTIX", in, err)
		}
	}
}

// TestSTIX20 checks 2.0 bundles (no spec_version, no pattern_type, labels
// required, no confidence) and bundles mixing 2.0 and 2.1 objects.
func TestSTIX20(t *testing.T) {
	b := []byte(`{"type":"bundle","id":"bundle--1","spec_version":"2.0","objects":[
	 {"type":"indicator","id":"indicator--00000000-0000-4000-8000-000000000001","created":"2017-01-01T00:00:00.000Z","modified":"2017-01-01T00:00:00.000Z",
	  "labels":["malicious-activity"],"pattern":"[file:hashes.'SHA-256' = '9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08']","valid_from":"2017-01-01T00:00:00Z"},
	 {"type":"malware","id":"malware--00000000-0000-4000-8000-000000000002","created":"2017-01-01T00:00:00.000Z","modified":"2017-01-01T00:00:00.000Z","labels":["trojan"],"name":"Old RAT"},
	 {"type":"relationship","id":"relationship--00000000-0000-4000-8000-000000000003","created":"2017-01-01T00:00:00.000Z","modified":"2017-01-01T00:00:00.000Z",
	  "relationship_type":"indicates","source_ref":"indicator--00000000-0000-4000-8000-000000000001","target_ref":"malware--00000000-0000-4000-8000-000000000002"},
	 ` + indicator(4, "[url:value = 'HTTP://Mixed.Example/x']", `"confidence":40`) + `
	]}`)
	r := convert(t, b)
	if len(r.Indicators) != 2 || len(r.Report.Errors) > 0 {
		t.Fatalf("indicators %d, errors %+v", len(r.Indicators), r.Report.Errors)
	}
	a := r.Indicators[0]
	if a.Kind != ioc.KindSHA256 || a.Value != "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" || a.Confidence != 30 ||
		!reflect.DeepEqual(a.Labels, []string{"malicious-activity"}) || !reflect.DeepEqual(a.Context.Malware, []string{"Old RAT"}) {
		t.Errorf("2.0 indicator = %+v", a)
	}
	if u := r.Indicators[1]; u.Kind != ioc.KindURL || u.Value != "http://mixed.example/x" || u.Confidence != 40 {
		t.Errorf("2.1 indicator in the same bundle = %+v", u)
	}
}

// TestSampleGolden converts the bundled sample feed and compares the
// indicators and the report with a golden file (go test -update rewrites it).
func TestSampleGolden(t *testing.T) {
	data, err := os.ReadFile("../../testdata/sample/feed.stix.json")
	if err != nil {
		t.Fatal(err)
	}
	c := NewConverter(Options{Feed: "sample"})
	if err := c.AddBundle(data); err != nil {
		t.Fatal(err)
	}
	r := c.Result()
	var b bytes.Buffer
	for _, ind := range r.Indicators {
		j, err := json.Marshal(ind)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	rep, _ := json.MarshalIndent(r.Report, "", "  ")
	b.WriteString("# report\n")
	b.Write(rep)
	b.WriteByte('\n')
	golden := filepath.Join("testdata", "sample.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("sample conversion differs from %s (go test -update to accept):\n%s", golden, b.String())
	}
	// Every indicator the converter yields is in the JSON-lines form of the sample.
	jl, err := os.ReadFile("../../testdata/sample/indicators.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(jl)), "\n") {
		lines[l] = true
	}
	for _, ind := range r.Indicators {
		j, _ := json.Marshal(ind)
		if !lines[string(j)] {
			t.Errorf("converted indicator not in indicators.jsonl:\n%s", j)
		}
	}
}

func TestResultIsRepeatable(t *testing.T) {
	c := NewConverter(Options{Feed: "f"})
	c.AddBundle(bundle(indicator(1, "[domain-name:value = 'a.example']", "")))
	r1 := c.Result()
	c.AddBundle(bundle(obj("malware", 2, `"name":"M"`), rel(3, id("indicator", 1), "indicates", id("malware", 2))))
	r2 := c.Result()
	if len(r1.Indicators) != 1 || len(r1.Indicators[0].Context.Malware) != 0 {
		t.Errorf("first result changed: %+v", r1.Indicators[0].Context)
	}
	if len(r2.Indicators) != 1 || !reflect.DeepEqual(r2.Indicators[0].Context.Malware, []string{"M"}) {
		t.Errorf("second result lacks the later relationship: %+v", r2.Indicators)
	}
}

func ExampleConverter() {
	c := NewConverter(Options{Feed: "intel"})
	// A TAXII collection delivers objects page by page; the relationship
	// may arrive after the indicator.
	c.AddBundle([]byte(`{"objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
	  "created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z",
	  "pattern":"[domain-name:value = 'malware-c2.example' OR ipv4-addr:value = '203.0.113.66']"}],"more":true}`))
	c.AddBundle([]byte(`{"objects":[
	  {"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","name":"SampleRAT","is_family":true},
	  {"type":"relationship","spec_version":"2.1","id":"relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z",
	   "relationship_type":"indicates","source_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","target_ref":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"}]}`))
	res := c.Result()
	for _, ind := range res.Indicators {
		fmt.Println(ind.Kind, ind.Value, ind.Context.Malware)
	}
	// Output:
	// domain malware-c2.example [SampleRAT]
	// ipv4 203.0.113.66 [SampleRAT]
}

func FuzzSTIXBundle(f *testing.F) {
	fuzzseed.Add(f)
	f.Add(bundle(indicator(1, "[domain-name:value = 'a.example']", ""), obj("malware", 2, `"name":"M"`), rel(3, id("indicator", 1), "indicates", id("malware", 2))))
	f.Add([]byte(`{"objects":[{"type":"indicator","id":"indicator--1","pattern":"[ipv4-addr:value ISSUBSET '10.0.0.0/8']","modified":"2026-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`[{"type":"relationship","id":"relationship--1","relationship_type":"related-to","source_ref":"a","target_ref":"a"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewConverter(Options{Feed: "z"})
		c.AddBundle(data)
		c.AddBundle(data) // the same objects again: versions
		r := c.Result()
		for _, ind := range r.Indicators {
			if err := ind.Validate(); err != nil {
				t.Fatalf("invalid indicator: %v", err)
			}
			if _, err := json.Marshal(ind); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestContextStateAcrossPolls: an incremental poll brings only a new
// indicator and its relationship; the malware and the intrusion set that
// uses it came in an earlier poll and are carried by ContextState.
func TestContextStateAcrossPolls(t *testing.T) {
	poll1 := NewConverter(Options{Feed: "f"})
	poll1.AddBundle(bundle(
		indicator(1, "[domain-name:value = 'old.example']", ""),
		obj("malware", 2, `"name":"RAT"`),
		obj("intrusion-set", 3, `"name":"SPIDER"`),
		rel(4, id("intrusion-set", 3), "uses", id("malware", 2)),
		rel(5, id("indicator", 1), "indicates", id("malware", 2)),
	))
	state := poll1.ContextState()
	if bytes.Contains(state, []byte(`"indicator"`)) && bytes.Contains(state, []byte(`"pattern"`)) {
		t.Errorf("context state holds indicators:\n%s", state)
	}
	poll2 := NewConverter(Options{Feed: "f"})
	if err := poll2.LoadContextState(state); err != nil {
		t.Fatal(err)
	}
	poll2.AddBundle(bundle(
		indicator(6, "[domain-name:value = 'new.example']", ""),
		rel(7, id("indicator", 6), "indicates", id("malware", 2)),
		// a new version of indicator 1: its relationship came in poll 1
		`{"type":"indicator","spec_version":"2.1","id":"`+id("indicator", 1)+`","created":"2026-01-01T00:00:00Z","modified":"2026-02-01T00:00:00Z","pattern":"[domain-name:value = 'old2.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`,
	))
	r := poll2.Result()
	if len(r.Indicators) != 2 {
		t.Fatalf("%d indicators", len(r.Indicators))
	}
	for _, ind := range r.Indicators {
		if !reflect.DeepEqual(ind.Context.Malware, []string{"RAT"}) || !reflect.DeepEqual(ind.Context.IntrusionSets, []string{"SPIDER"}) {
			t.Errorf("%s (%s): context %+v", ind.ID, ind.Value, ind.Context)
		}
	}
	if r.Report.Objects != 3 || r.Report.ByType["malware"] != 0 {
		t.Errorf("seeded objects counted in the report: %+v", r.Report)
	}
	// The state of poll 2 still carries poll 1's objects plus the new relationship.
	if s2 := poll2.ContextState(); !bytes.Contains(s2, []byte(id("relationship", 7))) || !bytes.Contains(s2, []byte(id("malware", 2))) {
		t.Errorf("poll 2 state lacks objects:\n%s", s2)
	}
	if err := NewConverter(Options{}).LoadContextState([]byte("{bad")); err == nil {
		t.Error("bad state accepted")
	}
	if err := NewConverter(Options{}).LoadContextState(nil); err != nil {
		t.Errorf("empty state: %v", err)
	}
}

func TestObjectStream(t *testing.T) {
	lines := indicator(1, "[domain-name:value = 'a.example']", "") + "\n" + obj("malware", 2, `"name":"M"`) + "\n" +
		rel(3, id("indicator", 1), "indicates", id("malware", 2)) + "\n"
	r := convert(t, []byte(lines))
	if len(r.Indicators) != 1 || !reflect.DeepEqual(r.Indicators[0].Context.Malware, []string{"M"}) {
		t.Fatalf("object stream: %+v", r)
	}
}
