package poll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/feeds"
	"github.com/iocmatch/iocmatch/feeds/store"
	"github.com/iocmatch/iocmatch/feeds/taxii"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	s, err := store.Open(dir, store.Options{Clock: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// scripted is a Source whose refreshes return scripted errors.
type scripted struct {
	mu    sync.Mutex
	errs  []error
	calls int
}

func (s *scripted) Refresh(ctx context.Context, feed string, st Store) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	var err error
	if len(s.errs) > 0 {
		err, s.errs = s.errs[0], s.errs[1:]
	}
	return Result{Stats: store.FetchStats{Objects: s.calls}}, err
}

// timers is a fake Options.After: each request is reported on req and
// fires when the test sends on fire.
type timers struct {
	req  chan time.Duration
	fire chan time.Time
}

func newTimers() *timers {
	return &timers{req: make(chan time.Duration), fire: make(chan time.Time)}
}

func (tm *timers) after(d time.Duration) <-chan time.Time {
	tm.req <- d
	return tm.fire
}

func (tm *timers) next(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-tm.req:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no timer requested")
		return 0
	}
}

func TestSchedulerBackoffAndTrigger(t *testing.T) {
	st := openStore(t, t.TempDir())
	boom := errors.New("server down")
	src := &scripted{errs: []error{nil, boom, boom, boom, boom, nil}}
	tm := newTimers()
	var mu sync.Mutex
	var refreshes []Refresh
	s, err := New([]Feed{{Name: "intel", Source: src, Interval: 10 * time.Minute}}, st, Options{
		Now: func() time.Time { return t0 }, After: tm.after, Rand: func() float64 { return 0.5 }, ErrorBackoff: time.Minute,
		OnRefresh: func(r Refresh) { mu.Lock(); refreshes = append(refreshes, r); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()

	// success, then 4 failures (backoff 1m, 2m, 4m, 8m capped at 10m... 8m < 10m), then success.
	want := []time.Duration{10 * time.Minute, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute}
	for i, w := range want {
		if d := tm.next(t); d != w {
			t.Fatalf("wait %d = %v, want %v", i, d, w)
		}
		if i == 2 {
			stt := s.Status()[0]
			if stt.ConsecutiveErrors != 2 || stt.LastErrorMsg != "server down" || stt.NextRun != t0.Add(w) {
				t.Errorf("status after 2 failures: %+v", stt)
			}
			if ss, _ := st.Status("intel"); ss.ConsecutiveErrors != 2 || ss.LastErrorMsg != "server down" {
				t.Errorf("store status: %+v", ss)
			}
		}
		if i < len(want)-1 {
			tm.fire <- t0
		}
	}
	// A trigger refreshes at once, without the timer firing.
	if !s.Trigger("intel") || s.Trigger("nope") {
		t.Fatal("Trigger")
	}
	if d := tm.next(t); d != 10*time.Minute {
		t.Fatalf("after trigger: wait %v", d)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	stt := s.Status()[0]
	if stt.Refreshes != 7 || stt.ConsecutiveErrors != 0 || stt.Running || stt.LastSuccess.IsZero() {
		t.Errorf("final status %+v", stt)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(refreshes) != 7 || refreshes[1].Err == nil || refreshes[5].Err != nil {
		t.Errorf("OnRefresh calls: %d", len(refreshes))
	}
}

// A feed with Interval 0 is refreshed at start and on Trigger only; a
// failure is retried with the error backoff; RefreshAll before Run means
// Run does not refresh it again at once.
func TestSchedulerStaticFeed(t *testing.T) {
	st := openStore(t, t.TempDir())
	src := &scripted{errs: []error{nil, errors.New("boom")}}
	tm := newTimers()
	refreshed := make(chan Refresh, 10)
	s, err := New([]Feed{{Name: "mem", Source: src}}, st, Options{After: tm.after, Rand: func() float64 { return 0.5 },
		OnRefresh: func(r Refresh) { refreshed <- r }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RefreshAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-refreshed
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	time.Sleep(50 * time.Millisecond) // Run is running
	if err := s.RefreshAll(ctx); err == nil {
		t.Error("RefreshAll while Run runs succeeded")
	}
	select {
	case r := <-refreshed:
		t.Fatalf("Run refreshed %s again at once", r.Feed)
	case d := <-tm.req:
		t.Fatalf("timer of %v requested for a static feed", d)
	case <-time.After(100 * time.Millisecond):
	}
	s.Trigger("mem")
	if r := <-refreshed; r.Err == nil {
		t.Fatal("second refresh: want the scripted error")
	}
	if d := tm.next(t); d != time.Minute {
		t.Fatalf("retry after a failure of a static feed: %v, want the 1m error backoff", d)
	}
	tm.fire <- time.Time{}
	if r := <-refreshed; r.Err != nil {
		t.Fatal(r.Err)
	}
	cancel()
	<-done
	if n := src.calls; n != 3 {
		t.Fatalf("%d refreshes, want 3", n)
	}
}

func TestSchedulerJitter(t *testing.T) {
	st := openStore(t, t.TempDir())
	for _, tc := range []struct {
		r    float64
		want time.Duration
	}{{0, 9 * time.Minute}, {0.5, 10 * time.Minute}, {0.75, 10*time.Minute + 30*time.Second}} {
		s, err := New([]Feed{{Name: "f", Source: &scripted{}, Interval: 10 * time.Minute}}, st, Options{Rand: func() float64 { return tc.r }})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.wait(10*time.Minute, 0); got != tc.want {
			t.Errorf("rand %v: wait %v, want %v", tc.r, got, tc.want)
		}
	}
}

func TestSchedulerValidation(t *testing.T) {
	st := openStore(t, t.TempDir())
	src := &scripted{}
	for _, tc := range []struct {
		feeds []Feed
		want  string
	}{
		{[]Feed{{Name: "a b", Source: src, Interval: time.Minute}}, `name "a b"`},
		{[]Feed{{Name: "a", Source: src, Interval: time.Minute}, {Name: "a", Source: src, Interval: time.Minute}}, `duplicate feed name "a"`},
		{[]Feed{{Name: "a", Interval: time.Minute}}, "no source"},
		{[]Feed{{Name: "a", Source: src, Interval: -time.Second}}, "interval"},
	} {
		if _, err := New(tc.feeds, st, Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	if _, err := New(nil, nil, Options{}); err == nil {
		t.Error("nil store accepted")
	}
}

// ---- TAXII source against a fake TAXII 2.1 server ----

type stixInd struct {
	id, value, modified string
	revoked             bool
	added               time.Time
}

type fakeTAXII struct {
	mu       sync.Mutex
	objs     []stixInd // sorted by added
	failPage int       // fail requests for this page number (1-based) of each pull with 500; 0: never
	queries  []string
}

func (f *fakeTAXII) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", taxii.MediaTAXII21)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch r.URL.Path {
	case "/taxii2/":
		reply(200, map[string]any{"title": "fake", "default": "/api1/", "api_roots": []string{"/api1/"}})
	case "/api1/":
		reply(200, map[string]any{"title": "api1"})
	case "/api1/collections/":
		reply(200, map[string]any{"collections": []map[string]any{{"id": "c1", "title": "C1", "can_read": true}, {"id": "w", "title": "W", "can_read": false}}})
	case "/api1/collections/c1/objects/":
		q := r.URL.Query()
		f.queries = append(f.queries, r.URL.RawQuery)
		after, _ := time.Parse(time.RFC3339Nano, q.Get("added_after"))
		var sel []stixInd
		for _, o := range f.objs {
			if after.IsZero() || o.added.After(after) {
				sel = append(sel, o)
			}
		}
		start, _ := strconv.Atoi(q.Get("next"))
		limit, _ := strconv.Atoi(q.Get("limit"))
		page := start/max(limit, 1) + 1
		if f.failPage > 0 && page == f.failPage {
			reply(500, map[string]any{"title": "boom"})
			return
		}
		end := min(start+limit, len(sel))
		var objs []map[string]any
		for _, o := range sel[start:end] {
			m := map[string]any{"type": "indicator", "spec_version": "2.1", "id": o.id, "created": "2026-01-01T00:00:00Z", "modified": o.modified,
				"pattern": "[ipv4-addr:value = '" + o.value + "']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"}
			if o.revoked {
				m["revoked"] = true
			}
			objs = append(objs, m)
		}
		if end > start {
			w.Header().Set("X-TAXII-Date-Added-Last", taxii.FormatTimestamp(sel[end-1].added))
		}
		env := map[string]any{"more": end < len(sel), "objects": objs}
		if end < len(sel) {
			env["next"] = strconv.Itoa(end)
		}
		reply(200, env)
	default:
		reply(404, map[string]any{"title": "Not Found"})
	}
}

func (f *fakeTAXII) add(objs ...stixInd) {
	f.mu.Lock()
	f.objs = append(f.objs, objs...)
	f.mu.Unlock()
}

func indID(i int) string { return fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i) }

func activeValues(st *store.Store, feed string) []string {
	var out []string
	for _, ind := range st.Active(t0) {
		if ind.Feed == feed {
			out = append(out, ind.Value)
		}
	}
	slices.Sort(out)
	return out
}

func newTAXIIClient(t *testing.T, url string) *taxii.Client {
	t.Helper()
	c, err := taxii.New(taxii.Config{URL: url, Retry: taxii.RetryPolicy{MaxAttempts: 1}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTAXIISourceIncremental(t *testing.T) {
	f := &fakeTAXII{}
	for i := range 5 {
		f.add(stixInd{id: indID(i), value: fmt.Sprintf("198.51.100.%d", i), modified: "2026-01-01T00:00:00Z", added: t0.Add(time.Duration(i) * time.Second)})
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	dir := t.TempDir()
	st := openStore(t, dir)
	src := NewTAXIISource(newTAXIIClient(t, srv.URL), TAXIIOptions{Limit: 2})

	res, err := src.Refresh(context.Background(), "intel", st)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Objects != 5 || res.Change.Added != 5 || res.Stats.ByKind[ioc.KindIPv4] != 5 {
		t.Fatalf("first pull: %+v", res)
	}
	key := CheckpointKey(srv.URL+"/api1/", "c1")
	if cp := st.Checkpoint("intel", key); cp != taxii.FormatTimestamp(t0.Add(4*time.Second)) {
		t.Fatalf("checkpoint %q", cp)
	}
	// New objects: a new indicator, a new version of #1 with another
	// value, and #2 revoked.
	f.add(
		stixInd{id: indID(5), value: "198.51.100.5", modified: "2026-01-01T00:00:00Z", added: t0.Add(10 * time.Second)},
		stixInd{id: indID(1), value: "198.51.100.101", modified: "2026-02-01T00:00:00Z", added: t0.Add(11 * time.Second)},
		stixInd{id: indID(2), value: "198.51.100.2", modified: "2026-02-01T00:00:00Z", revoked: true, added: t0.Add(12 * time.Second)},
	)
	// A restart: a new source and the store reopened from disk.
	_ = st.Close()
	st = openStore(t, dir)
	src = NewTAXIISource(newTAXIIClient(t, srv.URL), TAXIIOptions{APIRoot: "api1", Collections: []string{"c1"}, Limit: 2})
	res, err = src.Refresh(context.Background(), "intel", st)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Objects != 3 {
		t.Fatalf("incremental pull saw %d objects, want 3", res.Stats.Objects)
	}
	want := []string{"198.51.100.0", "198.51.100.101", "198.51.100.3", "198.51.100.4", "198.51.100.5"}
	if got := activeValues(st, "intel"); !slices.Equal(got, want) {
		t.Fatalf("active %v, want %v", got, want)
	}
	f.mu.Lock()
	lastQ := f.queries[len(f.queries)-2]
	f.mu.Unlock()
	if !strings.Contains(lastQ, "added_after=2026-03-01T00%3A00%3A04Z") {
		t.Fatalf("incremental pull query %q", lastQ)
	}
}

// A pull failing on page 3 keeps pages 1-2 (applied, checkpoint past
// them); the next refresh continues from there.
func TestTAXIISourcePartialFailure(t *testing.T) {
	f := &fakeTAXII{failPage: 3}
	for i := range 6 {
		f.add(stixInd{id: indID(i), value: fmt.Sprintf("198.51.100.%d", i), modified: "2026-01-01T00:00:00Z", added: t0.Add(time.Duration(i) * time.Second)})
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	st := openStore(t, t.TempDir())
	src := NewTAXIISource(newTAXIIClient(t, srv.URL), TAXIIOptions{Collections: []string{"c1"}, Limit: 2})
	res, err := src.Refresh(context.Background(), "intel", st)
	if err == nil || !strings.Contains(err.Error(), "page 3") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("error %v", err)
	}
	if res.Change.Added != 4 || len(activeValues(st, "intel")) != 4 {
		t.Fatalf("kept %+v", res)
	}
	f.mu.Lock()
	f.failPage = 0
	f.mu.Unlock()
	res, err = src.Refresh(context.Background(), "intel", st)
	if err != nil || res.Stats.Objects != 2 || len(activeValues(st, "intel")) != 6 {
		t.Fatalf("resume: %+v %v", res, err)
	}
}

// The scheduler drives a TAXII feed and a list file end to end.
func TestSchedulerEndToEnd(t *testing.T) {
	f := &fakeTAXII{}
	f.add(stixInd{id: indID(0), value: "203.0.113.9", modified: "2026-01-01T00:00:00Z", added: t0})
	srv := httptest.NewServer(f)
	defer srv.Close()
	list := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(list, []byte("192.0.2.1\nevil.example # c2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, t.TempDir())
	refreshed := make(chan Refresh, 10)
	s, err := New([]Feed{
		{Name: "taxii", Source: NewTAXIISource(newTAXIIClient(t, srv.URL), TAXIIOptions{}), Interval: time.Hour},
		{Name: "list", Source: NewFileSource(list, feeds.LoadOptions{}), Interval: time.Hour},
	}, st, Options{OnRefresh: func(r Refresh) { refreshed <- r }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	for range 2 {
		select {
		case r := <-refreshed:
			if r.Err != nil {
				t.Fatalf("%s: %v", r.Feed, r.Err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no refresh")
		}
	}
	cancel()
	<-done
	if got := activeValues(st, "taxii"); !slices.Equal(got, []string{"203.0.113.9"}) {
		t.Errorf("taxii feed: %v", got)
	}
	if got := activeValues(st, "list"); !slices.Equal(got, []string{"192.0.2.1", "evil.example"}) {
		t.Errorf("list feed: %v", got)
	}
	for _, stt := range s.Status() {
		if stt.LastSuccess.IsZero() || stt.Refreshes != 1 {
			t.Errorf("status %+v", stt)
		}
	}
}

func TestFileSource(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "l.csv")
	write := func(s string) {
		if err := os.WriteFile(list, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ipv4,192.0.2.1\ndomain,evil.example\nsha256," + strings.Repeat("a", 64) + "\n")
	st := openStore(t, t.TempDir())
	src := NewFileSource(list, feeds.LoadOptions{})
	res, err := src.Refresh(context.Background(), "l", st)
	if err != nil || res.Change.Added != 3 || res.Stats.Objects != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	// Unchanged: not reloaded.
	res, err = src.Refresh(context.Background(), "l", st)
	if err != nil || res.Change != (store.Change{}) || res.Stats.Objects != 3 {
		t.Fatalf("unchanged: %+v %v", res, err)
	}
	// A line removed: the indicator goes.
	write("ipv4,192.0.2.1\ndomain,evil.example\n")
	res, err = src.Refresh(context.Background(), "l", st)
	if err != nil || res.Change.Removed != 1 {
		t.Fatalf("after removal: %+v %v", res, err)
	}
	// The file disappears: an error; the content stays.
	_ = os.Remove(list)
	if _, err := src.Refresh(context.Background(), "l", st); err == nil || !strings.Contains(err.Error(), list) {
		t.Fatalf("missing file: %v", err)
	}
	if got := activeValues(st, "l"); !slices.Equal(got, []string{"192.0.2.1", "evil.example"}) {
		t.Fatalf("content after a failed refresh: %v", got)
	}
}

// rejectingStore is a store whose ApplyIncremental fails.
type rejectingStore struct{ *store.Store }

func (rejectingStore) ApplyIncremental(string, []*ioc.Indicator, []string) (store.Change, error) {
	return store.Change{}, errors.New("disk full")
}

// The checkpoint and the STIX context move only after the store accepted
// the data: a rejected apply leaves both as they were, and the next
// refresh asks for the same objects again.
func TestTAXIISourceCheckpointAfterStore(t *testing.T) {
	f := &fakeTAXII{}
	f.add(stixInd{id: indID(0), value: "198.51.100.7", modified: "2026-01-01T00:00:00Z", added: t0})
	srv := httptest.NewServer(f)
	defer srv.Close()
	st := openStore(t, t.TempDir())
	src := NewTAXIISource(newTAXIIClient(t, srv.URL), TAXIIOptions{Collections: []string{"c1"}})
	if _, err := src.Refresh(context.Background(), "intel", rejectingStore{st}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("error %v, want the store's", err)
	}
	key := CheckpointKey(srv.URL+"/api1/", "c1")
	if cp := st.Checkpoint("intel", key); cp != "" {
		t.Fatalf("checkpoint moved to %q although the store rejected the data", cp)
	}
	if b, _ := st.Blob("intel", ContextBlobName(key)); b != nil {
		t.Fatalf("STIX context saved although the store rejected the data: %s", b)
	}
	res, err := src.Refresh(context.Background(), "intel", st)
	if err != nil || res.Change.Added != 1 || st.Checkpoint("intel", key) == "" {
		t.Fatalf("retry: %+v %v", res, err)
	}
	if b, err := st.Blob("intel", ContextBlobName(key)); err != nil || b == nil {
		t.Fatalf("STIX context not saved after an accepted poll: %q %v", b, err)
	}
}
