package misp

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
	"github.com/iocmatch/iocmatch/engine/ioc"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func line(i *ioc.Indicator) string {
	s := fmt.Sprintf("%s %s", i.ID, i.Kind)
	if i.Expr != nil {
		s += " " + i.Expr.String()
	} else {
		s += fmt.Sprintf(" %q", i.Value)
	}
	if i.Name != "" {
		s += " name=" + i.Name
	}
	return s
}

func TestParseEvent(t *testing.T) {
	inds, rep, err := ParseEvents(read(t, "event.json"), Options{Feed: "misp"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, i := range inds {
		got = append(got, line(i))
		if err := i.Validate(); err != nil {
			t.Error(err)
		}
	}
	want := []string{
		`5a3e0000-0000-4000-8000-00000000a001 domain "malware-c2.example"`,
		`5a3e0000-0000-4000-8000-00000000a002 ipv4 "203.0.113.66"`,
		`5a3e0000-0000-4000-8000-00000000a003 compound (ipv4/dst eq ["203.0.113.80"] AND port/dst eq ["4444"])`,
		`5a3e0000-0000-4000-8000-00000000a004 domain "evil-update.test"`,
		`5a3e0000-0000-4000-8000-00000000a004 ipv4 "198.51.100.7"`,
		`5a3e0000-0000-4000-8000-00000000a005 sha256 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" name=payload.exe`,
		`5a3e0000-0000-4000-8000-00000000a010 ja3 "e7d705a3286e19ea42f587b344ee6865"`,
		`5a3e0000-0000-4000-8000-00000000a011 registry-key "hkey_local_machine\\software\\microsoft\\windows\\currentversion\\run\\samplerat" name=C:\rat.exe`,
		`5a3e0000-0000-4000-8000-00000000a012 cidr4 "198.51.100.0/24"`,
		`5a3e0000-0000-4000-8000-00000000a101 email "phish@malware-c2.example"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("indicators:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rep.Events != 1 || rep.Attributes != 14 || rep.NotForIDS != 1 || rep.Deleted != 1 ||
		!reflect.DeepEqual(rep.UnknownTypes, map[string]int{"snort": 1, "email-subject": 1}) {
		t.Errorf("report = %+v", rep)
	}
	if len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0].Where, "attribute 5a3e0000-0000-4000-8000-00000000a008") || !strings.Contains(rep.Skipped[0].Reason, "not-an-ip") {
		t.Errorf("skipped = %+v", rep.Skipped)
	}
	d := inds[0]
	wantCtx := ioc.Context{
		Malware:       []string{"SampleRAT"},
		ThreatActors:  []string{"Sample Actor"},
		IntrusionSets: []string{"SAMPLE SPIDER"},
		Techniques:    []ioc.Technique{{ID: "T1071.001", Name: "Web Protocols"}},
		References:    []ioc.Reference{{Source: "misp", ExternalID: "5a3e0000-0000-4000-8000-00000000e001"}},
	}
	if !reflect.DeepEqual(d.Context, wantCtx) {
		t.Errorf("context = %+v\nwant %+v", d.Context, wantCtx)
	}
	if d.Confidence != 85 || d.Severity != "high" || d.Provider != "iocmatch sample CERT" || d.Description != "SampleRAT campaign indicators; C2" ||
		!reflect.DeepEqual(d.Labels, []string{"tlp:amber", "misp-category:Network activity"}) || d.Created.Unix() != 1767225600 || d.Feed != "misp" {
		t.Errorf("fields = %+v", d)
	}
	if l := inds[len(inds)-1].Labels; !reflect.DeepEqual(l, []string{"tlp:amber", "misp-category:Payload delivery", "misp-object:email"}) {
		t.Errorf("object attribute labels = %v", l)
	}
}

func TestAllAttributes(t *testing.T) {
	inds, rep, err := ParseEvents(read(t, "event.json"), Options{Feed: "misp", AllAttributes: true})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, i := range inds {
		if i.Kind == ioc.KindURL && i.Value == "http://evil-update.test/payload.exe" {
			found = true
		}
	}
	if !found || rep.NotForIDS != 0 {
		t.Errorf("to_ids=false attribute missing with AllAttributes (not for ids %d)", rep.NotForIDS)
	}
}

func TestSearchResultAndConfidence(t *testing.T) {
	inds, rep, err := ParseEvents(read(t, "search.json"), Options{Feed: "m", Confidence: 20})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Events != 2 || len(inds) != 2 {
		t.Fatalf("events %d, indicators %d", rep.Events, len(inds))
	}
	if inds[0].Confidence != 35 || inds[0].Severity != "low" || inds[0].Value != "b.example" {
		t.Errorf("threat level 3: %+v", inds[0])
	}
	if inds[1].Confidence != 20 || inds[1].Severity != "" || inds[1].ID != "m:sha1:3395856ce81f2b7382dee72602f798b642f14140" {
		t.Errorf("threat level 4 / no uuid: %+v", inds[1])
	}
}

func TestBadInput(t *testing.T) {
	for _, in := range []string{``, `nope`, `{}`, `{"response":[{"x":1}]}`, `[{"x":1}]`, `{"Event": "string"}`, `{"Event":{"Attribute":[{"value":{}}]}}`} {
		if _, _, err := ParseEvents([]byte(in), Options{}); err == nil || !strings.HasPrefix(err.Error(), "misp: ") {
			t.Errorf("ParseEvents(%q) err = %v", in, err)
		}
	}
}

func TestFeedDir(t *testing.T) {
	inds, rep, err := LoadFeedDir(filepath.Join("testdata", "feed"), Options{Feed: "circl"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, i := range inds {
		got = append(got, line(i))
	}
	want := []string{
		`5a3e0000-0000-4000-8000-00000000b001 compound (domain eq ["b.example"] AND port/dst eq ["8443"])`,
		`5a3e0000-0000-4000-8000-00000000b002 compound (ipv6/src eq ["2001:db8::5"] AND port/src eq ["53"])`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("indicators:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0].Where, "00000000e404.json") {
		t.Errorf("missing event file not reported: %+v", rep.Skipped)
	}
	if _, _, err := LoadFeedDir("testdata", Options{}); err == nil || !strings.Contains(err.Error(), "manifest.json") {
		t.Errorf("dir without manifest: %v", err)
	}
}

// TestGolden pins the full JSON of the converted event (go test -update).
func TestGolden(t *testing.T) {
	inds, _, err := ParseEvents(read(t, "event.json"), Options{Feed: "misp"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, i := range inds {
		j, _ := json.Marshal(i)
		b.Write(j)
		b.WriteByte('\n')
	}
	golden := filepath.Join("testdata", "event.golden.jsonl")
	if *update {
		os.WriteFile(golden, b.Bytes(), 0o644)
	}
	if want := read(t, "event.golden.jsonl"); !bytes.Equal(b.Bytes(), want) {
		t.Errorf("differs from %s (go test -update):\n%s", golden, b.String())
	}
}

func ExampleParseEvents() {
	ev := `{"Event":{"uuid":"5a3e0000-0000-4000-8000-00000000e009","info":"phishing wave","threat_level_id":"2",
	  "Tag":[{"name":"tlp:green"}],
	  "Attribute":[{"uuid":"5a3e0000-0000-4000-8000-00000000c001","type":"email-src","value":"phish@malware-c2.example","to_ids":true},
	               {"uuid":"5a3e0000-0000-4000-8000-00000000c002","type":"email-subject","value":"Invoice","to_ids":true}]}}`
	inds, rep, err := ParseEvents([]byte(ev), Options{Feed: "misp"})
	if err != nil {
		panic(err)
	}
	for _, i := range inds {
		fmt.Println(i.Kind, i.Value, i.Confidence, i.Labels)
	}
	fmt.Println("unknown types:", rep.UnknownTypes)
	// Output:
	// email phish@malware-c2.example 60 [tlp:green]
	// unknown types: map[email-subject:1]
}

func FuzzMISPEvent(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte(`{"Event":{"Attribute":[{"type":"ip-dst|port","value":"1.2.3.4|80","to_ids":true}]}}`))
	f.Add([]byte(`[{"Event":{"Object":[{"Attribute":[{"type":"domain|ip","value":"a.example|::1","to_ids":"1"}]}]}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inds, _, err := ParseEvents(data, Options{Feed: "z", AllAttributes: true})
		if err != nil {
			return
		}
		for _, i := range inds {
			if err := i.Validate(); err != nil {
				t.Fatalf("invalid indicator: %v", err)
			}
		}
	})
}

func TestAttributeGalaxy(t *testing.T) {
	inds, _, err := ParseEvents(read(t, "event.json"), Options{Feed: "misp"})
	if err != nil {
		t.Fatal(err)
	}
	if ip := inds[1]; ip.Value != "203.0.113.66" || !reflect.DeepEqual(ip.Context.Malware, []string{"SampleRAT"}) {
		t.Errorf("attribute galaxy not applied: %+v", ip.Context)
	}
}
