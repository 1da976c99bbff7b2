package refresh

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
	"github.com/iocmatch/iocmatch/feeds"
	"github.com/iocmatch/iocmatch/feeds/poll"
	"github.com/iocmatch/iocmatch/feeds/store"
)

// TestBundledSampleIsTestdata: the embedded copy of the sample feed is
// the repository's testdata/sample/feed.stix.json, byte for byte.
func TestBundledSampleIsTestdata(t *testing.T) {
	want, err := os.ReadFile("../../testdata/sample/feed.stix.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(BundledSample(), want) {
		t.Fatal("feeds/refresh/sample_feed.stix.json differs from testdata/sample/feed.stix.json: cp testdata/sample/feed.stix.json feeds/refresh/sample_feed.stix.json")
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder collects the applied snapshots.
type recorder struct {
	mu    sync.Mutex
	snaps []*match.Snapshot
}

func (r *recorder) apply(s *match.Snapshot) { r.mu.Lock(); r.snaps = append(r.snaps, s); r.mu.Unlock() }
func (r *recorder) last() *match.Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.snaps) == 0 {
		return nil
	}
	return r.snaps[len(r.snaps)-1]
}
func (r *recorder) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.snaps) }

func openStore(t *testing.T, clock func() time.Time) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// hits matches one IPv4 observable and returns the indicator values hit.
func hits(s *match.Snapshot, ip string) []string {
	a := netip.MustParseAddr(ip)
	obs := []ioc.Observable{{Kind: ioc.KindIPv4, Role: ioc.RoleDst, Addr: a, Value: []byte(ip), Field: "destination.ip"}}
	var out []string
	for _, h := range s.Match(obs, nil) {
		out = append(out, h.Indicator.Value)
	}
	return out
}

// TestFileFeedRemoval: a value dropped from a list file is gone from the
// next snapshot; an unchanged refresh compiles nothing new.
func TestFileFeedRemoval(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "blocklist.txt")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("# test list\n203.0.113.1\n203.0.113.2\n")
	st := openStore(t, nil)
	var rec recorder
	m, err := New(st, Options{Feeds: []poll.Feed{{Name: "block", Source: poll.NewFileSource(path, feeds.LoadOptions{}), Interval: time.Hour}}, Apply: rec.apply, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.RefreshAll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := hits(rec.last(), "203.0.113.2"); len(got) != 1 {
		t.Fatalf("203.0.113.2: hits %v, want 1", got)
	}
	if err := m.RefreshAll(ctx); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 1 {
		t.Fatalf("unchanged refresh compiled a new snapshot (%d snapshots)", rec.count())
	}
	write("203.0.113.1\n")
	if err := m.RefreshAll(ctx); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 2 {
		t.Fatalf("%d snapshots after a change, want 2", rec.count())
	}
	if got := hits(rec.last(), "203.0.113.2"); len(got) != 0 {
		t.Fatalf("removed indicator still matches: %v", got)
	}
	if got := hits(rec.last(), "203.0.113.1"); len(got) != 1 {
		t.Fatalf("kept indicator lost: %v", got)
	}
	// A failing feed keeps its content and reports the error.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	err = m.RefreshAll(ctx)
	if err == nil || !strings.Contains(err.Error(), "feed block") {
		t.Fatalf("error %v, want one naming the feed", err)
	}
	if got := hits(m.Snapshot(), "203.0.113.1"); len(got) != 1 {
		t.Fatalf("a failed refresh dropped the feed's indicators")
	}
	if stt, ok := st.Status("block"); !ok || stt.LastErrorMsg == "" {
		t.Fatalf("status %+v: want the last error recorded", stt)
	}
}

// TestExpiryRecompiles: an indicator whose valid_until passes leaves the
// snapshot without any store change.
func TestExpiryRecompiles(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	path := filepath.Join(dir, "inds.jsonl")
	lines := `{"id":"a","kind":"ipv4","value":"203.0.113.7","valid_until":"2026-03-01T12:30:00Z"}
{"id":"b","kind":"ipv4","value":"203.0.113.8"}
`
	if err := os.WriteFile(path, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, clock.Now)
	var rec recorder
	src := poll.NewFileSource(path, feeds.LoadOptions{Now: clock.Now})
	m, err := New(st, Options{Feeds: []poll.Feed{{Name: "f", Source: src, Interval: time.Hour}}, Apply: rec.apply, Clock: clock.Now, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RefreshAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := hits(rec.last(), "203.0.113.7"); len(got) != 1 {
		t.Fatalf("active indicator: hits %v", got)
	}
	clock.Add(time.Hour)
	if err := m.recompile(false); err != nil {
		t.Fatal(err)
	}
	if got := hits(rec.last(), "203.0.113.7"); len(got) != 0 {
		t.Fatalf("expired indicator still matches")
	}
	if got := hits(rec.last(), "203.0.113.8"); len(got) != 1 {
		t.Fatalf("unexpired indicator lost")
	}
}

// countingSource counts refreshes.
type countingSource struct {
	mu sync.Mutex
	n  int
}

func (c *countingSource) Refresh(context.Context, string, poll.Store) (poll.Result, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return poll.Result{}, nil
}
func (c *countingSource) count() int { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

// TestRunReload: Run does not refresh again what RefreshAll just did;
// Reload (SIGHUP) refreshes every feed from Run's scheduler.
func TestRunReload(t *testing.T) {
	st := openStore(t, nil)
	src := &countingSource{}
	var rec recorder
	m, err := New(st, Options{Feeds: []poll.Feed{{Name: "counting", Source: src, Interval: time.Hour}}, Apply: rec.apply, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RefreshAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	time.Sleep(50 * time.Millisecond)
	if n := src.count(); n != 1 {
		t.Fatalf("%d refreshes after RefreshAll and Run, want 1", n)
	}
	m.Reload()
	deadline := time.Now().Add(5 * time.Second)
	for src.count() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if src.count() != 2 || rec.count() != 1 {
		t.Fatalf("refreshes %d, snapshots %d after one Reload; want 2 and 1 (the first compile)", src.count(), rec.count())
	}
	if stt := m.Status(); len(stt) != 1 || stt[0].Refreshes != 2 {
		t.Fatalf("status %+v", stt)
	}
}

// TestSampleSource loads the bundled sample into a snapshot.
func TestSampleSource(t *testing.T) {
	st := openStore(t, nil)
	var rec recorder
	m, err := New(st, Options{Feeds: []poll.Feed{SampleFeed()}, Apply: rec.apply, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RefreshAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := hits(rec.last(), "203.0.113.66"); len(got) != 1 {
		t.Fatalf("sample indicator 203.0.113.66: hits %v", got)
	}
	if _, err := New(st, Options{Feeds: []poll.Feed{SampleFeed(), SampleFeed()}, Apply: rec.apply}); err == nil {
		t.Fatal("duplicate feed names accepted")
	}
}
