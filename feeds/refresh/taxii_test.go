package refresh

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
	"github.com/iocmatch/iocmatch/feeds/poll"
	"github.com/iocmatch/iocmatch/feeds/store"
	"github.com/iocmatch/iocmatch/feeds/taxii"
)

// fakeTAXII is a minimal TAXII 2.1 server with one API root and one
// collection whose objects carry an added date; it honours added_after.
type fakeTAXII struct {
	mu          sync.Mutex
	objects     []fakeObj
	afterSeen   []string // added_after of each objects request
	unreachable bool
}

type fakeObj struct {
	added time.Time
	raw   string
}

const taxiiType = "application/taxii+json;version=2.1"

func (f *fakeTAXII) handler(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.unreachable {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", taxiiType)
		switch r.URL.Path {
		case "/taxii2/":
			w.Write([]byte(`{"title":"fake","default":"/api1/","api_roots":["/api1/"]}`))
		case "/api1/":
			w.Write([]byte(`{"title":"api1","versions":["` + taxiiType + `"],"max_content_length":10485760}`))
		case "/api1/collections/":
			w.Write([]byte(`{"collections":[{"id":"c1","title":"intel","can_read":true,"can_write":false}]}`))
		case "/api1/collections/c1/objects/":
			after := r.URL.Query().Get("added_after")
			f.afterSeen = append(f.afterSeen, after)
			var at time.Time
			if after != "" {
				var err error
				if at, err = time.Parse(time.RFC3339Nano, after); err != nil {
					t.Errorf("added_after %q: %v", after, err)
				}
			}
			var objs []json.RawMessage
			var first, last time.Time
			for _, o := range f.objects {
				if !at.IsZero() && !o.added.After(at) {
					continue
				}
				objs = append(objs, json.RawMessage(o.raw))
				if first.IsZero() {
					first = o.added
				}
				last = o.added
			}
			if len(objs) > 0 {
				w.Header().Set("X-TAXII-Date-Added-First", first.Format(time.RFC3339Nano))
				w.Header().Set("X-TAXII-Date-Added-Last", last.Format(time.RFC3339Nano))
			}
			body, _ := json.Marshal(map[string]any{"more": false, "objects": objs})
			w.Write(body)
		default:
			http.NotFound(w, r)
		}
	})
}

// taxiiFeed is a feed named "taxii" pulling every collection of the fake
// server at url.
func taxiiFeed(t *testing.T, url string) poll.Feed {
	t.Helper()
	c, err := taxii.New(taxii.Config{URL: url + "/taxii2/", Timeout: 5 * time.Second, Retry: taxii.RetryPolicy{MaxAttempts: 1}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return poll.Feed{Name: "taxii", Source: poll.NewTAXIISource(c, poll.TAXIIOptions{}), Interval: time.Hour}
}

func stixIndicator(id, modified, pattern string, revoked bool) string {
	rev := ""
	if revoked {
		rev = `,"revoked":true`
	}
	return `{"type":"indicator","spec_version":"2.1","id":"` + id + `","created":"2026-01-01T00:00:00.000Z","modified":"` + modified +
		`","pattern":"` + pattern + `","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"` + rev + `}`
}

// TestTAXIISource pulls incrementally: the checkpoint moves to the last
// added date, the next pull asks for what was added after it, and a
// revoked new version removes the indicator from the next snapshot.
func TestTAXIISource(t *testing.T) {
	fake := &fakeTAXII{}
	t0 := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	id := "indicator--11111111-1111-4111-8111-111111111111"
	fake.objects = []fakeObj{
		{t0, stixIndicator(id, "2026-01-01T00:00:00.000Z", "[ipv4-addr:value = '203.0.113.50']", false)},
		{t0.Add(time.Second), stixIndicator("indicator--22222222-2222-4222-8222-222222222222", "2026-01-01T00:00:00.000Z", "[domain-name:value = 'taxii-evil.test']", false)},
	}
	srv := httptest.NewServer(fake.handler(t))
	defer srv.Close()

	st := openStore(t, nil)
	var rec recorder
	m, err := New(st, Options{Feeds: []poll.Feed{taxiiFeed(t, srv.URL)}, Apply: rec.apply, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.RefreshAll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := hits(rec.last(), "203.0.113.50"); len(got) != 1 {
		t.Fatalf("TAXII indicator not matched: %v", got)
	}
	// Nothing new: the next pull asks for objects added after the last one.
	if err := m.RefreshAll(ctx); err != nil {
		t.Fatal(err)
	}
	fake.mu.Lock()
	seen := append([]string(nil), fake.afterSeen...)
	fake.mu.Unlock()
	if len(seen) != 2 || seen[0] != "" || !strings.HasPrefix(seen[1], "2026-02-01T10:00:01") {
		t.Fatalf("added_after of the pulls: %q, want \"\" then the last added date", seen)
	}
	if rec.count() != 1 {
		t.Fatalf("%d snapshots after an empty pull, want 1", rec.count())
	}

	// A revoked new version is added: the indicator disappears.
	fake.mu.Lock()
	fake.objects = append(fake.objects, fakeObj{t0.Add(time.Minute), stixIndicator(id, "2026-02-01T00:00:00.000Z", "[ipv4-addr:value = '203.0.113.50']", true)})
	fake.mu.Unlock()
	if err := m.RefreshAll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := hits(rec.last(), "203.0.113.50"); len(got) != 0 {
		t.Fatalf("revoked indicator still matches: %v", got)
	}
	var dom *match.Snapshot = rec.last()
	if dom.Len() != 1 {
		t.Fatalf("snapshot holds %d indicators, want the domain only", dom.Len())
	}

	// The server fails: the feed keeps its indicators, the error is recorded.
	fake.mu.Lock()
	fake.unreachable = true
	fake.mu.Unlock()
	if err := m.RefreshAll(ctx); err == nil {
		t.Fatal("a failing TAXII server reported no error")
	}
	if m.Snapshot().Len() != 1 {
		t.Fatal("a failed pull changed the snapshot")
	}
}

// TestTAXIIContextAcrossPolls: the malware and its `indicates`
// relationship arrive in one poll, the indicator in the next; the
// snapshot's hit (what the alert's threat enrichment is built from)
// carries the malware, also with a restart between the polls.
func TestTAXIIContextAcrossPolls(t *testing.T) {
	fake := &fakeTAXII{}
	t0 := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	indID := "indicator--33333333-3333-4333-8333-333333333333"
	malID := "malware--44444444-4444-4444-8444-444444444444"
	apID := "attack-pattern--55555555-5555-4555-8555-555555555555"
	fake.objects = []fakeObj{
		{t0, `{"type":"malware","spec_version":"2.1","id":"` + malID + `","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"CrossPollRAT","is_family":true}`},
		{t0, `{"type":"attack-pattern","spec_version":"2.1","id":"` + apID + `","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Web Protocols","external_references":[{"source_name":"mitre-attack","external_id":"T1071.001"}]}`},
		{t0, `{"type":"relationship","spec_version":"2.1","id":"relationship--66666666-6666-4666-8666-666666666666","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","relationship_type":"uses","source_ref":"` + malID + `","target_ref":"` + apID + `"}`},
		{t0.Add(time.Second), `{"type":"relationship","spec_version":"2.1","id":"relationship--77777777-7777-4777-8777-777777777777","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","relationship_type":"indicates","source_ref":"` + indID + `","target_ref":"` + malID + `"}`},
	}
	srv := httptest.NewServer(fake.handler(t))
	defer srv.Close()
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var rec recorder
	m, err := New(st, Options{Feeds: []poll.Feed{taxiiFeed(t, srv.URL)}, Apply: rec.apply, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RefreshAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := rec.last().Len(); n != 0 {
		t.Fatalf("%d indicators from a poll holding only context", n)
	}
	// A restart between the polls: the context comes from the store.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openStoreAt(t, dir)
	fake.mu.Lock()
	fake.objects = append(fake.objects, fakeObj{t0.Add(time.Minute), stixIndicator(indID, "2026-01-01T00:00:00.000Z", "[ipv4-addr:value = '203.0.113.77']", false)})
	fake.mu.Unlock()
	rec = recorder{}
	m, err = New(st, Options{Feeds: []poll.Feed{taxiiFeed(t, srv.URL)}, Apply: rec.apply, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RefreshAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	fake.mu.Lock()
	seen := append([]string(nil), fake.afterSeen...)
	fake.mu.Unlock()
	if len(seen) != 2 || !strings.HasPrefix(seen[1], "2026-02-01T10:00:01") {
		t.Fatalf("added_after of the pulls: %q", seen)
	}
	a := netip.MustParseAddr("203.0.113.77")
	hs := rec.last().Match([]ioc.Observable{{Kind: ioc.KindIPv4, Role: ioc.RoleDst, Addr: a, Value: []byte("203.0.113.77"), Field: "destination.ip"}}, nil)
	if len(hs) != 1 {
		t.Fatalf("%d hits, want 1", len(hs))
	}
	ctx := hs[0].Indicator.Context
	if !slices.Equal(ctx.Malware, []string{"CrossPollRAT"}) {
		t.Fatalf("hit context malware %v, want [CrossPollRAT] (from the previous poll)", ctx.Malware)
	}
}

func openStoreAt(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
