package refresh

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/match"
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

	src, err := NewTAXIISource(TAXIIFeed{Name: "taxii", URL: srv.URL + "/taxii2/", Every: time.Hour, Timeout: 5 * time.Second, MaxAttempts: 1}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, nil)
	var rec recorder
	m, err := New(st, Options{Sources: []Source{src}, Apply: rec.apply, Log: zerolog.Nop()})
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
