package alert

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
)

func TestUUID5(t *testing.T) {
	// RFC 9562 appendix A.4: the DNS namespace and "www.example.com".
	dns := [16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	if got, want := uuid5ns(dns, "www.example.com"), "2ed6657d-e927-568b-95e1-2665a8aea6a2"; got != want {
		t.Errorf("uuid5 = %s, want %s", got, want)
	}
	if !isSTIXID("sighting--" + uuid5("x")) {
		t.Error("derived id is not a STIX id")
	}
}

func TestIsSTIXID(t *testing.T) {
	for s, want := range map[string]bool{
		"indicator--0b8f3c1e-7b0e-4c55-9d6a-1f1d2c3b4a01": true,
		"x-custom--0b8f3c1e-7b0e-4c55-9d6a-1f1d2c3b4a01":  true,
		"indicator--0B8F3C1E-7b0e-4c55-9d6a-1f1d2c3b4a01": false,
		"indicator--0b8f3c1e7b0e-4c55-9d6a-1f1d2c3b4a01-": false,
		"Indicator--0b8f3c1e-7b0e-4c55-9d6a-1f1d2c3b4a01": false,
		"--0b8f3c1e-7b0e-4c55-9d6a-1f1d2c3b4a01":          false,
		"sample:ipv4:203.0.113.66":                        false,
		"5f2c1a2e-0000-4000-8000-000000000000":            false,
	} {
		if got := isSTIXID(s); got != want {
			t.Errorf("isSTIXID(%q) = %v", s, got)
		}
	}
}

func TestEventTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2026-01-01T00:00:02.5Z":          time.Date(2026, 1, 1, 0, 0, 2, 500_000_000, time.UTC),
		"2026-01-01T01:00:02+01:00":       time.Date(2026, 1, 1, 0, 0, 2, 0, time.UTC),
		"2026-01-01T00:00:01.000000+0000": time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC),
		"2026-01-01 00:00:04.000":         time.Date(2026, 1, 1, 0, 0, 4, 0, time.UTC),
		"1767225600.5":                    time.Date(2026, 1, 1, 0, 0, 0, 500_000_000, time.UTC),
		"":                                {},
		"yesterday":                       {},
		"-5":                              {},
	} {
		if got := eventTime(in); !got.Equal(want) {
			t.Errorf("eventTime(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestSightingBundleGolden(t *testing.T) {
	inds := sampleIndicators()
	in := goldenCaseNamed(t, "compound_and_ip_ecs") // two STIX ids
	in.in.Now = now.Add(time.Second)
	in.in.Timestamp = []byte("2026-03-14T09:26:53.589Z")
	in.in.Hits = append(in.in.Hits, match.Hit{Indicator: inds["cidr"], Obs: 0}) // a list id
	a, err := NewBuilder(Options{}).Build(in.in)
	if err != nil {
		t.Fatal(err)
	}
	a.SuppressedCount = 4
	a.SuppressedSince = now.Add(-time.Hour)
	for i := range a.Enrichments {
		if a.Enrichments[i].Indicator.Kind == ioc.KindIPv4 {
			a.Enrichments[i].SuppressedCount = 4
		}
	}
	who := NewIdentity("")
	out := AppendSightingBundle(nil, &a, who)
	if !json.Valid(out) {
		t.Fatalf("invalid JSON: %s", out)
	}
	var pretty bytes.Buffer
	json.Indent(&pretty, out, "", "  ")
	pretty.WriteByte('\n')
	checkGolden(t, filepath.Join("testdata", "sighting_bundle.json"), pretty.Bytes())

	var bundle struct {
		Type    string
		ID      string
		Objects []map[string]any
	}
	if err := json.Unmarshal(out, &bundle); err != nil {
		t.Fatal(err)
	}
	if bundle.Type != "bundle" || len(bundle.Objects) != 4 || bundle.Objects[0]["type"] != "identity" {
		t.Fatalf("bundle shape: %s", out)
	}
	refs := map[string]map[string]any{}
	for _, o := range bundle.Objects[1:] {
		if o["type"] != "sighting" || o["spec_version"] != "2.1" || !isSTIXID(o["id"].(string)) {
			t.Errorf("bad sighting %v", o)
		}
		if w := o["where_sighted_refs"].([]any); len(w) != 1 || w[0] != who.ID {
			t.Errorf("where_sighted_refs %v", w)
		}
		refs[o["sighting_of_ref"].(string)] = o
	}
	ip := refs[inds["ipv4"].ID]
	if ip == nil || ip["count"] != 5.0 || ip["first_seen"] != "2026-03-14T08:26:53.589Z" || ip["last_seen"] != "2026-03-14T09:26:53.589Z" || ip["created"] != "2026-03-14T09:26:54.589Z" {
		t.Errorf("ipv4 sighting: %v", ip)
	}
	if c := refs[inds["compound"].ID]; c == nil || c["count"] != 1.0 || c["first_seen"] != c["last_seen"] {
		t.Errorf("compound sighting: %v", c)
	}
	if l := refs["indicator--"+uuid5("indicator\x00"+inds["cidr"].ID)]; l == nil {
		t.Errorf("list indicator: no sighting with a derived id in %v", refs)
	}
	// Deterministic: the same alert gives the same bundle; another alert id other ids.
	if again := AppendSightingBundle(nil, &a, who); !bytes.Equal(again, out) {
		t.Error("bundle not deterministic")
	}
	b := a
	b.ID = "ffffffffffffffffffffffffffffffff"
	s1, s2 := Sightings(&a, who), Sightings(&b, who)
	if len(s1) != 3 || s1[0].ID == s2[0].ID || s1[0].SightingOfRef != s2[0].SightingOfRef {
		t.Errorf("sighting ids: %v vs %v", s1[0], s2[0])
	}
}
