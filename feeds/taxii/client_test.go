package taxii

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// sleeps records the waits of a client's injected Sleep.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

// testClient builds a client for url with a fake clock and sleep; the
// jitter returns its maximum so that backoff waits are predictable.
func testClient(t *testing.T, u string, mod func(*Config)) (*Client, *sleeps, *bytes.Buffer) {
	t.Helper()
	sl := &sleeps{}
	cfg := Config{
		URL:    u,
		Now:    func() time.Time { return t0 },
		Sleep:  sl.sleep,
		Jitter: func(max time.Duration) time.Duration { return max },
	}
	if mod != nil {
		mod(&cfg)
	}
	var logBuf bytes.Buffer
	c, err := New(cfg, zerolog.New(&syncWriter{w: &logBuf}).Level(zerolog.DebugLevel))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, sl, &logBuf
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// pull collects every object id of a collection.
func pull(t *testing.T, c *Client, root, coll string, f Filter) ([]string, []Page, error) {
	t.Helper()
	var ids []string
	var pages []Page
	err := c.Objects(context.Background(), root, coll, f, func(p Page) error {
		pages = append(pages, p)
		for _, o := range p.Objects {
			var v struct{ ID string }
			if err := json.Unmarshal(o, &v); err != nil {
				t.Fatalf("page %d: object: %v", p.Number, err)
			}
			ids = append(ids, v.ID)
		}
		return nil
	})
	return ids, pages, err
}

func objIDs(objs []fakeObj) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.ID
	}
	return out
}

func TestDiscovery(t *testing.T) {
	f := newFake(t, Version21)
	f.discoveryRoots = []string{"https://other.example/api3/", "/api1/", "api2", "ftp://bad.example/x/", "/trailing"}
	f.defaultRoot = "/api1/"
	srv := f.start()
	host := strings.TrimPrefix(srv.URL, "http://")
	want := []string{"https://other.example/api3/", srv.URL + "/api1/", srv.URL + "/api2/", srv.URL + "/trailing/"}
	for _, tc := range []struct{ name, url string }{
		{"base", srv.URL},
		{"base slash", srv.URL + "/"},
		{"discovery", srv.URL + "/taxii2/"},
		{"discovery no slash", srv.URL + "/taxii2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := testClient(t, tc.url, nil)
			d, err := c.Discovery(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if d.Title != "Fake TAXII 2.1" || d.Version != Version21 || c.Version() != Version21 {
				t.Errorf("got title %q version %q/%q", d.Title, d.Version, c.Version())
			}
			if d.Default != srv.URL+"/api1/" {
				t.Errorf("default = %q", d.Default)
			}
			if !slices.Equal(d.APIRoots, want) {
				t.Errorf("api_roots = %q, want %q", d.APIRoots, want)
			}
			if d.URL != "http://"+host+"/taxii2/" {
				t.Errorf("URL = %q", d.URL)
			}
		})
	}
}

func TestDiscoveryNotFound(t *testing.T) {
	f := newFake(t, Version21)
	f.discoveryPath = "/elsewhere/"
	srv := f.start()
	c, _, _ := testClient(t, srv.URL, nil)
	_, err := c.Discovery(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"no discovery resource found", srv.URL + "/taxii2/", srv.URL + "/taxii/", "Not Found"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

func TestVersionNegotiation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server Version
		url    string
		cfg    Version
		want   Version
	}{
		{"auto finds 2.1", Version21, "", VersionAuto, Version21},
		{"auto finds 2.0 at /taxii/", Version20, "", VersionAuto, Version20},
		{"auto 2.0 by explicit URL", Version20, "/taxii/", VersionAuto, Version20},
		{"configured 2.0", Version20, "", Version20, Version20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.server)
			f.discoveryRoots = []string{"/api1/"}
			f.addCollection("/api1/", "c1", seq("aaaaaaaa", 3, t0)...)
			srv := f.start()
			c, _, _ := testClient(t, srv.URL+tc.url, func(c *Config) { c.Version = tc.cfg })
			d, err := c.Discovery(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if d.Version != tc.want || c.Version() != tc.want {
				t.Fatalf("version %q/%q, want %q", d.Version, c.Version(), tc.want)
			}
			ids, _, err := pull(t, c, "api1", "c1", Filter{})
			if err != nil || len(ids) != 3 {
				t.Fatalf("pull: %d ids, %v", len(ids), err)
			}
		})
	}
}

// A 2.0 server reached without discovery: the API root request is
// negotiated (406 to the 2.1 media type, then 2.0).
func TestNegotiationAtAPIRoot(t *testing.T) {
	f := newFake(t, Version20)
	f.addCollection("/api1/", "c1", seq("bbbbbbbb", 4, t0)...)
	srv := f.start()
	c, _, _ := testClient(t, srv.URL, nil)
	ids, _, err := pull(t, c, "/api1/", "c1", Filter{})
	if err != nil || len(ids) != 4 {
		t.Fatalf("pull: %d ids, %v", len(ids), err)
	}
	if c.Version() != Version20 {
		t.Fatalf("version %q", c.Version())
	}
}

func TestAPIRootForms(t *testing.T) {
	f := newFake(t, Version21)
	f.addCollection("/api1/", "c1")
	srv := f.start()
	for _, root := range []string{"api1", "/api1", "api1/", "/api1/", srv.URL + "/api1", srv.URL + "/api1/"} {
		t.Run(root, func(t *testing.T) {
			c, _, _ := testClient(t, srv.URL+"/taxii2/", nil)
			a, err := c.APIRoot(context.Background(), root)
			if err != nil {
				t.Fatal(err)
			}
			if a.Title != "root /api1/" || a.URL != srv.URL+"/api1/" || a.MaxContentLength != 1<<20 {
				t.Errorf("got %+v", a)
			}
		})
	}
	c, _, _ := testClient(t, srv.URL, nil)
	for _, bad := range []string{"", "ftp://x/api1/", "http://u:p@h/api1/"} {
		if _, err := c.APIRoot(context.Background(), bad); err == nil {
			t.Errorf("root %q: no error", bad)
		} else if strings.Contains(err.Error(), ":p@") {
			t.Errorf("root %q: error shows credentials: %v", bad, err)
		}
	}
}

func TestCollections(t *testing.T) {
	f := newFake(t, Version21)
	f.addCollection("/api1/", "91a7b528-80eb-42ed-a74d-c6fbd5a26116")
	f.addCollection("/api1/", "52892447-4d7e-4f70-b94d-d7f22742ff63")
	f.addCollection("/empty/", "x")
	srv := f.start()
	c, _, _ := testClient(t, srv.URL, nil)
	cs, err := c.Collections(context.Background(), "api1")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].ID != "52892447-4d7e-4f70-b94d-d7f22742ff63" || !cs[0].CanRead || cs[0].Title == "" {
		t.Fatalf("collections %+v", cs)
	}
	col, err := c.Collection(context.Background(), "api1", cs[1].ID)
	if err != nil || col.ID != cs[1].ID {
		t.Fatalf("collection: %+v %v", col, err)
	}
	_, err = c.Collection(context.Background(), "api1", "nope")
	if err == nil || !strings.Contains(err.Error(), "Collection not found") || !strings.Contains(err.Error(), "status 404") ||
		!strings.Contains(err.Error(), srv.URL+"/api1/collections/nope/") {
		t.Fatalf("missing collection: %v", err)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.TAXII == nil || se.TAXII.HTTPStatus != "404" {
		t.Fatalf("want a *StatusError with the TAXII error, got %#v", err)
	}
}

func TestObjectsPagingByNext(t *testing.T) {
	objs := seq("cccccccc", 25, t0)
	for _, tc := range []struct {
		name      string
		limit     int
		maxPage   int
		wantPages int
	}{
		{"limit 10", 10, 0, 3},
		{"limit 1", 1, 0, 25},
		{"server caps at 7", 100, 7, 4},
		{"all in one", 0, 0, 1},
		{"exact multiple", 5, 0, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, Version21)
			f.maxPage = tc.maxPage
			f.addCollection("/api1/", "c1", objs...)
			srv := f.start()
			c, _, _ := testClient(t, srv.URL, func(c *Config) { c.Version = Version21 })
			ids, pages, err := pull(t, c, "api1", "c1", Filter{Limit: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids, objIDs(objs)) {
				t.Fatalf("ids %v", ids)
			}
			if len(pages) != tc.wantPages {
				t.Fatalf("%d pages, want %d", len(pages), tc.wantPages)
			}
			for i, p := range pages {
				last := i == len(pages)-1
				if p.Number != i+1 || p.More == last || p.Collection != "c1" || p.Version != Version21 {
					t.Errorf("page %d: number %d more %v", i, p.Number, p.More)
				}
				if p.DateAddedFirst.IsZero() || p.DateAddedLast.Before(p.DateAddedFirst) {
					t.Errorf("page %d: date added range %v %v", i, p.DateAddedFirst, p.DateAddedLast)
				}
			}
			reqs := f.requestLog()
			if tc.limit > 0 && !strings.Contains(reqs[0], "limit="+fmt.Sprint(tc.limit)) {
				t.Errorf("first request %q has no limit", reqs[0])
			}
			if len(pages) > 1 && !strings.Contains(reqs[1], "next=tok-") {
				t.Errorf("second request %q has no next", reqs[1])
			}
		})
	}
}

// A server that says more=true but gives no next: the client continues
// with added_after = X-TAXII-Date-Added-Last.
func TestObjectsPagingByDateAdded(t *testing.T) {
	objs := seq("dddddddd", 10, t0)
	f := newFake(t, Version21)
	f.pageByDate = true
	f.addCollection("/api1/", "c1", objs...)
	srv := f.start()
	c, _, _ := testClient(t, srv.URL, nil)
	ids, pages, err := pull(t, c, "api1", "c1", Filter{Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, objIDs(objs)) || len(pages) != 3 {
		t.Fatalf("%d pages, ids %v", len(pages), ids)
	}
	reqs := f.requestLog()
	wantAfter := url.Values{"added_after": {FormatTimestamp(objs[3].Added)}}.Encode()
	if !slices.ContainsFunc(reqs, func(r string) bool { return strings.Contains(r, wantAfter) }) {
		t.Fatalf("no request with %s in %q", wantAfter, reqs)
	}
}

// Checkpoint continuity: a pull interrupted after a page resumes from
// that page's Date-Added-Last and misses nothing, duplicates nothing; a
// later pull from the final checkpoint gets only the new objects.
func TestCheckpointContinuity(t *testing.T) {
	objs := seq("eeeeeeee", 10, t0)
	f := newFake(t, Version21)
	f.addCollection("/api1/", "c1", objs...)
	srv := f.start()
	c, _, _ := testClient(t, srv.URL, nil)
	var committed []string
	var checkpoint time.Time
	stop := errors.New("crash")
	collect := func(failAt int) error {
		return c.Objects(context.Background(), "api1", "c1", Filter{Limit: 3, AddedAfter: checkpoint}, func(p Page) error {
			if p.Number == failAt {
				return stop
			}
			for _, o := range p.Objects {
				var v struct{ ID string }
				_ = json.Unmarshal(o, &v)
				committed = append(committed, v.ID)
			}
			checkpoint = p.DateAddedLast
			return nil
		})
	}
	err := collect(2)
	if !errors.Is(err, stop) || !strings.Contains(err.Error(), "collection c1 objects page 2") {
		t.Fatalf("interrupted pull: %v", err)
	}
	if err := collect(0); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(committed, objIDs(objs)) {
		t.Fatalf("after resume: %v", committed)
	}
	newer := seq("ffffffff", 2, t0.Add(time.Hour))
	f.addObjects("/api1/", "c1", newer...)
	committed = nil
	if err := collect(0); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(committed, objIDs(newer)) {
		t.Fatalf("incremental pull: %v", committed)
	}
	committed = nil
	if err := collect(0); err != nil || len(committed) != 0 {
		t.Fatalf("nothing new: %v %v", committed, err)
	}
}

func TestMatchFilters(t *testing.T) {
	id := "indicator--11111111-0000-4000-8000-000000000001"
	objs := []fakeObj{
		{ID: id, Type: "indicator", Modified: "2026-01-01T00:00:00.000Z", SpecVersion: "2.1", Added: t0},
		{ID: id, Type: "indicator", Modified: "2026-01-02T00:00:00.000Z", SpecVersion: "2.1", Added: t0.Add(time.Second)},
		{ID: "malware--22222222-0000-4000-8000-000000000002", Type: "malware", Modified: "2026-01-01T00:00:00.000Z", SpecVersion: "2.1", Added: t0.Add(2 * time.Second)},
		{ID: "indicator--33333333-0000-4000-8000-000000000003", Type: "indicator", Modified: "2026-01-01T00:00:00.000Z", SpecVersion: "2.0", Added: t0.Add(3 * time.Second)},
	}
	f := newFake(t, Version21)
	f.addCollection("/api1/", "c1", objs...)
	srv := f.start()
	for _, tc := range []struct {
		name  string
		f     Filter
		want  []int
		query string
	}{
		{"default last versions", Filter{}, []int{1, 2, 3}, ""},
		{"type indicator", Filter{Types: []string{"indicator"}}, []int{1, 3}, "match%5Btype%5D=indicator"},
		{"two types", Filter{Types: []string{"indicator", "malware"}}, []int{1, 2, 3}, "match%5Btype%5D=indicator%2Cmalware"},
		{"id all versions", Filter{IDs: []string{id}, Versions: []string{"all"}}, []int{0, 1}, "match%5Bversion%5D=all"},
		{"id first version", Filter{IDs: []string{id}, Versions: []string{"first"}}, []int{0}, "match%5Bid%5D=" + id},
		{"spec_version 2.0", Filter{SpecVersions: []string{"2.0"}}, []int{3}, "match%5Bspec_version%5D=2.0"},
		{"added_after", Filter{AddedAfter: t0.Add(time.Second)}, []int{2, 3}, "added_after=2026-01-02T03%3A04%3A06Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := testClient(t, srv.URL, nil)
			n0 := len(f.requestLog())
			var got []string
			err := c.Objects(context.Background(), "api1", "c1", tc.f, func(p Page) error {
				for _, o := range p.Objects {
					var v struct{ ID, Modified string }
					_ = json.Unmarshal(o, &v)
					got = append(got, v.ID+"@"+v.Modified)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, i := range tc.want {
				want = append(want, objs[i].ID+"@"+objs[i].Modified)
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
			if tc.query != "" && !slices.ContainsFunc(f.requestLog()[n0:], func(r string) bool { return strings.Contains(r, tc.query) }) {
				t.Errorf("no request with %q: %q", tc.query, f.requestLog()[n0:])
			}
		})
	}
	c, _, _ := testClient(t, srv.URL, nil)
	if err := c.Objects(context.Background(), "api1", "c1", Filter{Types: []string{"a,b"}}, func(Page) error { return nil }); err == nil {
		t.Error("a match value with a comma: no error")
	}
}

func TestManifest(t *testing.T) {
	objs := seq("12121212", 5, t0)
	for _, v := range []Version{Version21, Version20} {
		t.Run(string(v), func(t *testing.T) {
			f := newFake(t, v)
			f.addCollection("/api1/", "c1", objs...)
			srv := f.start()
			c, _, _ := testClient(t, srv.URL, nil)
			var recs []ManifestRecord
			pages := 0
			err := c.Manifest(context.Background(), "api1", "c1", Filter{Limit: 2}, func(p ManifestPage) error {
				pages++
				recs = append(recs, p.Records...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if pages != 3 || len(recs) != 5 {
				t.Fatalf("%d pages, %d records", pages, len(recs))
			}
			for i, r := range recs {
				if r.ID != objs[i].ID || !r.DateAdded.Equal(objs[i].Added) || r.Version != objs[i].Modified ||
					len(r.Versions) != 1 || r.MediaType == "" {
					t.Errorf("record %d: %+v", i, r)
				}
			}
		})
	}
}

func TestObjects20Range(t *testing.T) {
	objs := seq("20202020", 23, t0)
	for _, tc := range []struct {
		name         string
		limit        int
		maxPage      int
		unknownTotal bool
		wantPages    int
	}{
		{"no range: one 200 page", 0, 0, false, 1},
		{"range 10", 10, 0, false, 3},
		{"range 1", 1, 0, false, 23},
		{"server page size without client range", 0, 8, false, 3},
		{"server caps range", 10, 4, false, 6},
		{"unknown total ends at a short page", 10, 0, true, 3},
		{"unknown total, exact multiple, ends with 416", 23, 0, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, Version20)
			f.maxPage, f.unknownTotal = tc.maxPage, tc.unknownTotal
			f.addCollection("/api1/", "c1", objs...)
			srv := f.start()
			c, _, _ := testClient(t, srv.URL+"/taxii/", func(c *Config) { c.Version = Version20 })
			ids, pages, err := pull(t, c, "api1", "c1", Filter{Limit: tc.limit, Types: []string{"indicator"}})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids, objIDs(objs)) {
				t.Fatalf("ids %v", ids)
			}
			if len(pages) != tc.wantPages {
				t.Fatalf("%d pages, want %d", len(pages), tc.wantPages)
			}
			f.mu.Lock()
			h := f.headers[len(f.headers)-1]
			f.mu.Unlock()
			if !strings.Contains(h.Get("Accept"), "application/vnd.oasis.stix+json; version=2.0") {
				t.Errorf("Accept %q", h.Get("Accept"))
			}
			if tc.limit > 0 && h.Get("Range") == "" {
				t.Errorf("no Range header")
			}
		})
	}
	// A 2.0 collection with exactly one full page and unknown total: the
	// follow-up request gets 416, which ends the pull.
	f := newFake(t, Version20)
	f.unknownTotal = true
	f.addCollection("/api1/", "c1", objs[:5]...)
	srv := f.start()
	c, _, _ := testClient(t, srv.URL+"/taxii/", func(c *Config) { c.Version = Version20 })
	ids, _, err := pull(t, c, "api1", "c1", Filter{Limit: 5})
	if err != nil || len(ids) != 5 {
		t.Fatalf("%d ids, %v", len(ids), err)
	}
	if reqs := f.requestLog(); len(reqs) != 2 {
		t.Fatalf("requests %q", reqs)
	}
}

func TestCallbackError(t *testing.T) {
	f := newFake(t, Version21)
	f.addCollection("/api1/", "c1", seq("abababab", 5, t0)...)
	srv := f.start()
	c, _, _ := testClient(t, srv.URL, nil)
	sentinel := errors.New("disk full")
	err := c.Objects(context.Background(), "api1", "c1", Filter{Limit: 2}, func(p Page) error {
		if p.Number == 2 {
			return sentinel
		}
		return nil
	})
	if !errors.Is(err, sentinel) || !strings.Contains(err.Error(), "page 2") {
		t.Fatalf("got %v", err)
	}
}

func TestContextCancel(t *testing.T) {
	f := newFake(t, Version21)
	f.addCollection("/api1/", "c1", seq("cdcdcdcd", 5, t0)...)
	srv := f.start()
	c, _, _ := testClient(t, srv.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	err := c.Objects(ctx, "api1", "c1", Filter{Limit: 1}, func(p Page) error {
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if n := len(f.requestLog()); n > 3 {
		t.Fatalf("%d requests after cancel", n)
	}
}

func discardLog() zerolog.Logger { return zerolog.Nop() }

func TestResolveRoot(t *testing.T) {
	c, _, _ := testClient(t, "https://taxii.example:8443/taxii2/", nil)
	for _, in := range []string{"api1", "/api1", "api1/", "/api1/", "https://taxii.example:8443/api1"} {
		if got, err := c.ResolveRoot(in); err != nil || got != "https://taxii.example:8443/api1/" {
			t.Errorf("ResolveRoot(%q) = %q, %v", in, got, err)
		}
	}
	if got, err := c.ResolveRoot("https://other.example/r/"); err != nil || got != "https://other.example/r/" {
		t.Errorf("absolute root: %q %v", got, err)
	}
	if _, err := c.ResolveRoot(""); err == nil {
		t.Error("empty root accepted")
	}
	if _, err := c.ResolveRoot("http://taxii.example:8443/api1/"); err == nil || !strings.Contains(err.Error(), "in clear") {
		t.Errorf("https to http root: %v", err)
	}
}
