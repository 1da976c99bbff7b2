package taxii

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
)

func TestParseContentRange(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ItemRange
		err  string
	}{
		{"items 0-9/100", ItemRange{0, 9, 100}, ""},
		{"items=10-19/20", ItemRange{10, 19, 20}, ""},
		{"Items 5-5/*", ItemRange{5, 5, -1}, ""},
		{" items  0-0/1 ", ItemRange{0, 0, 1}, ""},
		{"bytes 0-9/100", ItemRange{}, "want"},
		{"items 0-9", ItemRange{}, "no /TOTAL"},
		{"items 9/10", ItemRange{}, "no FIRST-LAST"},
		{"items 9-0/10", ItemRange{}, "before first"},
		{"items 0-10/10", ItemRange{}, "not below total"},
		{"items -1-3/10", ItemRange{}, "first"},
		{"items 0-+3/10", ItemRange{}, "last"},
		{"items 0-3/x", ItemRange{}, "total"},
		{"items 0-99999999999999999999/*", ItemRange{}, "last"},
		{"", ItemRange{}, "want"},
	} {
		got, err := ParseContentRange(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %v, %v", tc.in, got, err)
		}
		if err == nil {
			if back, err := ParseContentRange(got.String()); err != nil || back != got {
				t.Errorf("%q: round trip %v, %v", got.String(), back, err)
			}
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{"99999999999", 24 * time.Hour, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"Sun, 01 Mar 2026 11:00:00 GMT", 0, true},
		{"", 0, false},
		{"-5", 0, false},
		{"soon", 0, false},
	} {
		got, ok := ParseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q: got %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDecodeEnvelope(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Envelope
		nobj     int
		err      string
	}{
		{"empty envelope", `{}`, Envelope{}, 0, ""},
		{"2.1 page", `{"more": true, "next": "abc", "objects": [{"type":"indicator"}, {"type":"malware"}]}`, Envelope{More: true, Next: "abc"}, 2, ""},
		{"numeric next", `{"more": true, "next": 200}`, Envelope{More: true, Next: "200"}, 0, ""},
		{"null next", `{"more": false, "next": null}`, Envelope{}, 0, ""},
		{"2.0 bundle", `{"type": "bundle", "id": "bundle--1", "spec_version": "2.0", "objects": [{"type":"indicator"}]}`, Envelope{Bundle: true, ID: "bundle--1"}, 1, ""},
		{"leading space", " \n{\"objects\": []}", Envelope{}, 0, ""},
		{"not a bundle", `{"type": "indicator"}`, Envelope{}, 0, `STIX "indicator" object`},
		{"null object", `{"objects": [null]}`, Envelope{}, 0, "objects[0] is null"},
		{"array", `[]`, Envelope{}, 0, "want a JSON object"},
		{"empty", ``, Envelope{}, 0, "empty body"},
		{"truncated", `{"objects": [{"a":`, Envelope{}, 0, "invalid JSON"},
		{"wrong type", `{"objects": {"a": 1}}`, Envelope{}, 0, "offset"},
		{"more not bool", `{"more": 1}`, Envelope{}, 0, "offset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeEnvelope([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.More != tc.want.More || got.Next != tc.want.Next || got.Bundle != tc.want.Bundle || got.ID != tc.want.ID || len(got.Objects) != tc.nobj {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func TestDecodeResources(t *testing.T) {
	if d, err := DecodeDiscovery([]byte(`{"title": "T", "api_roots": ["/a/"]}`)); err != nil || d.Title != "T" {
		t.Errorf("discovery: %+v %v", d, err)
	}
	if _, err := DecodeDiscovery([]byte(`{"hello": 1}`)); err == nil || !strings.Contains(err.Error(), "not a TAXII discovery") {
		t.Errorf("non-discovery: %v", err)
	}
	if r, err := DecodeAPIRoot([]byte(`{"title": "R", "versions": ["application/taxii+json;version=2.1"], "max_content_length": 10}`)); err != nil || r.MaxContentLength != 10 {
		t.Errorf("api root: %+v %v", r, err)
	}
	if _, err := DecodeAPIRoot([]byte(`{"max_content_length": -1}`)); err == nil {
		t.Error("negative max_content_length accepted")
	}
	if cs, err := DecodeCollections([]byte(`{}`)); err != nil || len(cs) != 0 {
		t.Errorf("no collections: %v %v", cs, err)
	}
	if _, err := DecodeCollections([]byte(`{"collections": [{"title": "no id"}]}`)); err == nil || !strings.Contains(err.Error(), `collections[0] ("no id") has no id`) {
		t.Errorf("collection without id: %v", err)
	}
	if _, err := DecodeCollection([]byte(`{"title": "x"}`)); err == nil {
		t.Error("collection without id accepted")
	}
	m, err := DecodeManifestRecord([]byte(`{"id": "indicator--1", "date_added": "2026-01-01T00:00:00.123456Z", "versions": ["a", "b"], "media_types": ["application/vnd.oasis.stix+json; version=2.0"]}`))
	if err != nil || m.Version != "b" || m.MediaType == "" || m.DateAdded.Nanosecond() != 123456000 {
		t.Errorf("2.0 manifest record: %+v %v", m, err)
	}
	if _, err := DecodeManifestRecord([]byte(`{"id": "x", "date_added": "yesterday"}`)); err == nil || !strings.Contains(err.Error(), "manifest record x") {
		t.Errorf("bad date_added: %v", err)
	}
	e, ok := DecodeError([]byte(`{"title": "Oops", "http_status": 500, "error_code": 12, "details": {"a": 1}}`))
	if !ok || e.HTTPStatus != "500" || e.ErrorCode != "12" || e.Details["a"] != "1" || e.String() != "Oops (error_code 12)" {
		t.Errorf("error: %+v %v", e, ok)
	}
	if _, ok := DecodeError([]byte(`{"more": false}`)); ok {
		t.Error("an envelope taken for an error")
	}
	if v := mediaVersion("application/taxii+json; version=2.1"); v != Version21 {
		t.Errorf("mediaVersion 2.1: %q", v)
	}
	if v := mediaVersion("application/vnd.oasis.stix+json; version=2.0"); v != Version20 {
		t.Errorf("mediaVersion 2.0: %q", v)
	}
	if v := mediaVersion("application/json"); v != VersionAuto {
		t.Errorf("mediaVersion json: %q", v)
	}
}

// FuzzTAXIIEnvelope checks that the page decoder never panics and that
// what it accepts is consistent: every object is valid JSON and not null.
func FuzzTAXIIEnvelope(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte(`{"more": true, "next": "x", "objects": [{"type": "indicator", "id": "indicator--1"}]}`))
	f.Add([]byte(`{"type": "bundle", "id": "bundle--1", "objects": []}`))
	f.Add([]byte(`{"next": 12.5e3}`))
	f.Add([]byte(`<html></html>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := DecodeEnvelope(b)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		for i, o := range env.Objects {
			if !json.Valid(o) || string(o) == "null" {
				t.Fatalf("objects[%d] = %q accepted", i, o)
			}
		}
	})
}

// FuzzTAXIIResources runs the small resource decoders (discovery, API
// root, collections, manifest record, error message) on one input.
func FuzzTAXIIResources(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte(`{"title": "T", "default": "/a/", "api_roots": ["/a/", "https://h/b/"]}`))
	f.Add([]byte(`{"collections": [{"id": "c", "title": "C", "can_read": true, "can_write": false, "media_types": []}]}`))
	f.Add([]byte(`{"id": "indicator--1", "date_added": "2026-01-01T00:00:00Z", "version": "2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"title": "Error", "http_status": "404", "details": {"k": [1, 2]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := DecodeDiscovery(b); err == nil && d.Title == "" && d.Default == "" && len(d.APIRoots) == 0 {
			t.Fatal("empty discovery accepted")
		}
		if r, err := DecodeAPIRoot(b); err == nil && r.MaxContentLength < 0 {
			t.Fatal("negative max_content_length accepted")
		}
		if cs, err := DecodeCollections(b); err == nil {
			for _, c := range cs {
				if c.ID == "" {
					t.Fatal("collection without id accepted")
				}
			}
		}
		if m, err := DecodeManifestRecord(b); err == nil && (m.ID == "" || m.Version != "" && len(m.Versions) == 0) {
			t.Fatalf("bad manifest record accepted: %+v", m)
		}
		if e, ok := DecodeError(b); ok && e.Title == "" && e.Description == "" {
			t.Fatal("empty error accepted")
		}
	})
}

// FuzzTAXIIContentRange checks that accepted ranges are consistent and
// survive a round trip through String.
func FuzzTAXIIContentRange(f *testing.F) {
	fuzzseed.Add(f)
	for _, s := range []string{"items 0-9/100", "items=0-0/*", "items 5-4/10", "bytes 0-1/2", "items 0-9223372036854775807/*"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseContentRange(string(b))
		if err != nil {
			return
		}
		if r.First < 0 || r.Last < r.First || r.Total < -1 || r.Total >= 0 && r.Last >= r.Total {
			t.Fatalf("inconsistent range accepted: %+v", r)
		}
		back, err := ParseContentRange(r.String())
		if err != nil || back != r {
			t.Fatalf("round trip of %q: %+v %v", r.String(), back, err)
		}
	})
}
