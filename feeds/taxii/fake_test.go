package taxii

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file holds in-process fake TAXII servers written from the TAXII
// 2.1 and 2.0 specifications, and helpers shared by the tests.

// fakeObj is one object version stored in a fake collection.
type fakeObj struct {
	ID          string
	Type        string
	Modified    string // the version
	SpecVersion string
	Added       time.Time
}

func (o fakeObj) raw() json.RawMessage {
	m := map[string]any{"type": o.Type, "id": o.ID, "created": o.Modified, "modified": o.Modified}
	if o.SpecVersion != "" && o.SpecVersion != "2.0" {
		m["spec_version"] = o.SpecVersion
	}
	if o.Type == "indicator" {
		m["pattern"] = "[ipv4-addr:value = '198.51.100.1']"
		m["pattern_type"] = "stix"
		m["valid_from"] = o.Modified
	}
	b, _ := json.Marshal(m)
	return b
}

// fakeCollection is a collection of a fake server.
type fakeCollection struct {
	Info    Collection
	Objects []fakeObj // kept sorted by Added
}

// fakeServer is a fake TAXII server. version selects 2.1 or 2.0
// behaviour (media types, paging, envelope vs bundle, manifest shape).
type fakeServer struct {
	t       testing.TB
	version Version

	mu             sync.Mutex
	discoveryPath  string
	discoveryRoots []string
	defaultRoot    string
	roots          map[string]map[string]*fakeCollection // root path ("/api1/") -> collection id -> collection
	maxPage        int                                   // server-side page size cap (0: unlimited)
	pageByDate     bool                                  // 2.1: more without next (client must use Date-Added-Last)
	unknownTotal   bool                                  // 2.0: Content-Range total "*"
	auth           func(r *http.Request) bool
	faults         []func(w http.ResponseWriter, r *http.Request) bool // consumed in order; true = handled
	requests       []string                                            // request URIs
	headers        []http.Header
}

func newFake(t testing.TB, v Version) *fakeServer {
	f := &fakeServer{t: t, version: v, roots: map[string]map[string]*fakeCollection{}}
	if v == Version20 {
		f.discoveryPath = "/taxii/"
	} else {
		f.discoveryPath = "/taxii2/"
	}
	return f
}

func (f *fakeServer) start() *httptest.Server {
	srv := httptest.NewServer(f)
	f.t.Cleanup(srv.Close)
	return srv
}

func (f *fakeServer) addCollection(root, id string, objs ...fakeObj) *fakeCollection {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.roots[root] == nil {
		f.roots[root] = map[string]*fakeCollection{}
	}
	c := &fakeCollection{Info: Collection{ID: id, Title: "Collection " + id, CanRead: true, MediaTypes: []string{"application/stix+json;version=2.1"}}}
	c.Objects = append(c.Objects, objs...)
	slices.SortStableFunc(c.Objects, func(a, b fakeObj) int { return a.Added.Compare(b.Added) })
	f.roots[root][id] = c
	return c
}

func (f *fakeServer) addObjects(root, id string, objs ...fakeObj) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.roots[root][id]
	c.Objects = append(c.Objects, objs...)
	slices.SortStableFunc(c.Objects, func(a, b fakeObj) int { return a.Added.Compare(b.Added) })
}

func (f *fakeServer) fault(fn func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	f.faults = append(f.faults, fn)
	f.mu.Unlock()
}

func (f *fakeServer) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// seq makes n indicator objects added one second apart from base.
func seq(prefix string, n int, base time.Time) []fakeObj {
	out := make([]fakeObj, n)
	for i := range out {
		out[i] = fakeObj{
			ID:          fmt.Sprintf("indicator--%s-0000-4000-8000-%012d", prefix, i),
			Type:        "indicator",
			Modified:    "2026-01-01T00:00:00.000Z",
			SpecVersion: "2.1",
			Added:       base.Add(time.Duration(i) * time.Second),
		}
	}
	return out
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func (f *fakeServer) mediaTAXII() string {
	if f.version == Version20 {
		return MediaTAXII20
	}
	return MediaTAXII21
}

func (f *fakeServer) writeJSON(w http.ResponseWriter, status int, ct string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		f.t.Errorf("fake: marshal: %v", err)
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (f *fakeServer) taxiiError(w http.ResponseWriter, status int, title string) {
	f.writeJSON(w, status, f.mediaTAXII(), map[string]any{"title": title, "description": "fake server: " + title, "http_status": strconv.Itoa(status)})
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.RequestURI())
	f.headers = append(f.headers, r.Header.Clone())
	var fault func(http.ResponseWriter, *http.Request) bool
	if len(f.faults) > 0 {
		fault = f.faults[0]
		f.faults = f.faults[1:]
	}
	f.mu.Unlock()
	if fault != nil && fault(w, r) {
		return
	}
	if f.auth != nil && !f.auth(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="taxii"`)
		f.taxiiError(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	// Content negotiation (TAXII 2.1 section 1.6.8, 2.0 section 1.6.6).
	accept := r.Header.Get("Accept")
	wantTAXII := "application/taxii+json"
	if f.version == Version20 {
		wantTAXII = "application/vnd.oasis.taxii+json"
	}
	objects := strings.HasSuffix(r.URL.Path, "/objects/")
	ok := strings.Contains(accept, wantTAXII)
	if f.version == Version20 && objects {
		ok = strings.Contains(accept, "application/vnd.oasis.stix+json")
	}
	if f.version == Version21 && !strings.Contains(accept, "version=2.1") {
		ok = false
	}
	if !ok {
		f.taxiiError(w, http.StatusNotAcceptable, "Not Acceptable")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := r.URL.Path
	if p == f.discoveryPath {
		d := map[string]any{"title": "Fake TAXII " + string(f.version), "api_roots": f.discoveryRoots}
		if f.defaultRoot != "" {
			d["default"] = f.defaultRoot
		}
		f.writeJSON(w, 200, f.mediaTAXII(), d)
		return
	}
	for root, cols := range f.roots {
		if !strings.HasPrefix(p, root) {
			continue
		}
		rest := strings.Split(strings.TrimSuffix(strings.TrimPrefix(p, root), "/"), "/")
		switch {
		case len(rest) == 1 && rest[0] == "":
			f.writeJSON(w, 200, f.mediaTAXII(), map[string]any{"title": "root " + root, "versions": []string{f.mediaTAXII()}, "max_content_length": 1 << 20})
			return
		case len(rest) == 1 && rest[0] == "collections":
			ids := make([]string, 0, len(cols))
			for id := range cols {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			list := []Collection{}
			for _, id := range ids {
				list = append(list, cols[id].Info)
			}
			f.writeJSON(w, 200, f.mediaTAXII(), map[string]any{"collections": list})
			return
		case len(rest) >= 2 && rest[0] == "collections":
			c := cols[rest[1]]
			if c == nil {
				f.taxiiError(w, 404, "Collection not found")
				return
			}
			switch {
			case len(rest) == 2:
				f.writeJSON(w, 200, f.mediaTAXII(), c.Info)
			case len(rest) == 3 && (rest[2] == "objects" || rest[2] == "manifest"):
				f.serveObjects(w, r, c, rest[2] == "manifest")
			default:
				f.taxiiError(w, 404, "Not Found")
			}
			return
		}
	}
	f.taxiiError(w, 404, "Not Found")
}

// selectObjects applies added_after and the match filters (TAXII 2.1
// section 3.4; 2.0 section 3.5).
func (f *fakeServer) selectObjects(w http.ResponseWriter, r *http.Request, c *fakeCollection) ([]fakeObj, bool) {
	q := r.URL.Query()
	var after time.Time
	if s := q.Get("added_after"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			f.taxiiError(w, 400, "Bad added_after")
			return nil, false
		}
		after = t
	}
	split := func(k string) []string {
		if v := q.Get(k); v != "" {
			return strings.Split(v, ",")
		}
		return nil
	}
	types, ids, versions, specs := split("match[type]"), split("match[id]"), split("match[version]"), split("match[spec_version]")
	if len(versions) == 0 {
		versions = []string{"last"}
	}
	var out []fakeObj
	for _, o := range c.Objects {
		if !after.IsZero() && !o.Added.After(after) {
			continue
		}
		if len(types) > 0 && !slices.Contains(types, o.Type) || len(ids) > 0 && !slices.Contains(ids, o.ID) {
			continue
		}
		if len(specs) > 0 && !slices.Contains(specs, o.SpecVersion) {
			continue
		}
		out = append(out, o)
	}
	if slices.Contains(versions, "all") {
		return out, true
	}
	first, last := map[string]string{}, map[string]string{}
	for _, o := range out {
		if f, ok := first[o.ID]; !ok || o.Modified < f {
			first[o.ID] = o.Modified
		}
		if l, ok := last[o.ID]; !ok || o.Modified > l {
			last[o.ID] = o.Modified
		}
	}
	var kept []fakeObj
	for _, o := range out {
		if slices.Contains(versions, "last") && o.Modified == last[o.ID] || slices.Contains(versions, "first") && o.Modified == first[o.ID] ||
			slices.Contains(versions, o.Modified) {
			kept = append(kept, o)
		}
	}
	return kept, true
}

func (f *fakeServer) serveObjects(w http.ResponseWriter, r *http.Request, c *fakeCollection, manifest bool) {
	sel, ok := f.selectObjects(w, r, c)
	if !ok {
		return
	}
	ct := f.mediaTAXII()
	if f.version == Version20 && !manifest {
		ct = MediaSTIX20
	}
	status := 200
	var page []fakeObj
	var more bool
	var next string
	var contentRange string
	if f.version == Version20 {
		first, last := 0, len(sel)-1
		ranged := false
		if h := r.Header.Get("Range"); h != "" {
			spec, ok := strings.CutPrefix(h, "items=")
			a, b, ok2 := strings.Cut(spec, "-")
			fi, err1 := strconv.Atoi(a)
			la, err2 := strconv.Atoi(b)
			if !ok || !ok2 || err1 != nil || err2 != nil || la < fi {
				f.taxiiError(w, 400, "Bad Range")
				return
			}
			if fi >= len(sel) {
				w.Header().Set("Content-Range", fmt.Sprintf("items */%d", len(sel)))
				f.taxiiError(w, http.StatusRequestedRangeNotSatisfiable, "Range Not Satisfiable")
				return
			}
			first, last, ranged = fi, min(la, len(sel)-1), true
		}
		if f.maxPage > 0 && last-first+1 > f.maxPage {
			last, ranged = first+f.maxPage-1, true
		}
		if len(sel) > 0 {
			page = sel[first : last+1]
		}
		if ranged {
			status = http.StatusPartialContent
			total := strconv.Itoa(len(sel))
			if f.unknownTotal {
				total = "*"
			}
			contentRange = fmt.Sprintf("items %d-%d/%s", first, last, total)
		}
	} else {
		start := 0
		if n := r.URL.Query().Get("next"); n != "" {
			v, err := strconv.Atoi(strings.TrimPrefix(n, "tok-"))
			if err != nil || v < 0 || v > len(sel) {
				f.taxiiError(w, 400, "Bad next")
				return
			}
			start = v
		}
		limit := len(sel)
		if l := r.URL.Query().Get("limit"); l != "" {
			v, err := strconv.Atoi(l)
			if err != nil || v <= 0 {
				f.taxiiError(w, 400, "Bad limit")
				return
			}
			limit = v
		}
		if f.maxPage > 0 {
			limit = min(limit, f.maxPage)
		}
		end := min(start+limit, len(sel))
		page = sel[start:end]
		more = end < len(sel)
		if more && !f.pageByDate {
			next = "tok-" + strconv.Itoa(end)
		}
	}
	if len(page) > 0 {
		w.Header().Set("X-TAXII-Date-Added-First", FormatTimestamp(page[0].Added))
		w.Header().Set("X-TAXII-Date-Added-Last", FormatTimestamp(page[len(page)-1].Added))
	}
	if contentRange != "" {
		w.Header().Set("Content-Range", contentRange)
	}
	var objs []any
	for _, o := range page {
		switch {
		case manifest && f.version == Version20:
			objs = append(objs, map[string]any{"id": o.ID, "date_added": FormatTimestamp(o.Added), "versions": []string{o.Modified}, "media_types": []string{MediaSTIX20}})
		case manifest:
			objs = append(objs, map[string]any{"id": o.ID, "date_added": FormatTimestamp(o.Added), "version": o.Modified, "media_type": "application/stix+json;version=" + o.SpecVersion})
		default:
			objs = append(objs, o.raw())
		}
	}
	var body map[string]any
	switch {
	case f.version == Version20 && !manifest:
		body = map[string]any{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "spec_version": "2.0"}
		if len(objs) > 0 {
			body["objects"] = objs
		}
	case f.version == Version20:
		body = map[string]any{}
		if len(objs) > 0 {
			body["objects"] = objs
		}
	default:
		body = map[string]any{"more": more}
		if next != "" {
			body["next"] = next
		}
		if len(objs) > 0 {
			body["objects"] = objs
		}
	}
	f.writeJSON(w, status, ct, body)
}
