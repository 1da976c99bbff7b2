package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func day(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }

// ind makes a valid atomic indicator; modified is a day number.
func ind(id, value string, modified int) *ioc.Indicator {
	k, v, err := ioc.Normalize(ioc.KindDomain, value)
	if err != nil {
		panic(err)
	}
	return &ioc.Indicator{ID: id, Kind: k, Value: v, Modified: day(modified), Created: t0}
}

func withValidity(i *ioc.Indicator, from, until int) *ioc.Indicator {
	if from >= 0 {
		i.ValidFrom = day(from)
	}
	if until >= 0 {
		i.ValidUntil = day(until)
	}
	return i
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{Clock: func() time.Time { return day(100) }})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// activeKeys renders Active as "id=value" strings.
func activeKeys(s *Store, now time.Time) []string {
	var out []string
	for _, i := range s.Active(now) {
		out = append(out, i.ID+"="+i.Value)
	}
	return out
}

func TestLifecycle(t *testing.T) {
	type op struct {
		name    string
		do      func(s *Store) (Change, error)
		want    Change
		active  []string // at day 10
		bumped  bool     // Version changes
		wantErr string
	}
	inc := func(feed string, revoked []string, inds ...*ioc.Indicator) func(s *Store) (Change, error) {
		return func(s *Store) (Change, error) { return s.ApplyIncremental(feed, inds, revoked) }
	}
	rep := func(feed string, inds ...*ioc.Indicator) func(s *Store) (Change, error) {
		return func(s *Store) (Change, error) { return s.ReplaceFeed(feed, inds) }
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{"newer modified replaces, same or older ignored", []op{
			{name: "add", do: inc("taxii", nil, ind("indicator--a", "a.example", 1), ind("indicator--b", "b.example", 1)), want: Change{Added: 2}, active: []string{"indicator--a=a.example", "indicator--b=b.example"}, bumped: true},
			{name: "newer", do: inc("taxii", nil, ind("indicator--a", "a2.example", 2)), want: Change{Updated: 1}, active: []string{"indicator--a=a2.example", "indicator--b=b.example"}, bumped: true},
			{name: "same", do: inc("taxii", nil, ind("indicator--a", "a3.example", 2)), want: Change{Ignored: 1}, active: []string{"indicator--a=a2.example", "indicator--b=b.example"}},
			{name: "older", do: inc("taxii", nil, ind("indicator--a", "a0.example", 1)), want: Change{Ignored: 1}, active: []string{"indicator--a=a2.example", "indicator--b=b.example"}},
		}},
		{"revoked removes and is never re-added", []op{
			{name: "add", do: inc("taxii", nil, ind("indicator--a", "a.example", 1), ind("indicator--b", "b.example", 1)), want: Change{Added: 2}, active: []string{"indicator--a=a.example", "indicator--b=b.example"}, bumped: true},
			{name: "revoke", do: inc("taxii", []string{"indicator--a"}), want: Change{Removed: 1}, active: []string{"indicator--b=b.example"}, bumped: true},
			{name: "older copy later", do: inc("taxii", nil, ind("indicator--a", "a.example", 5)), want: Change{Ignored: 1}, active: []string{"indicator--b=b.example"}},
			{name: "revoke unknown", do: inc("taxii", []string{"indicator--zz"}), want: Change{}, active: []string{"indicator--b=b.example"}},
		}},
		{"a group of atoms is replaced as a whole", []op{
			{name: "two atoms", do: inc("taxii", nil, ind("indicator--a", "x.example", 1), ind("indicator--a", "y.example", 1)), want: Change{Added: 1}, active: []string{"indicator--a=x.example", "indicator--a=y.example"}, bumped: true},
			{name: "one atom now", do: inc("taxii", nil, ind("indicator--a", "z.example", 2)), want: Change{Updated: 1}, active: []string{"indicator--a=z.example"}, bumped: true},
		}},
		{"replace feed drops values no longer carried", []op{
			{name: "v1", do: rep("list", ind("list:domain:a.example", "a.example", 0), ind("list:domain:b.example", "b.example", 0)), want: Change{Added: 2}, active: []string{"list:domain:a.example=a.example", "list:domain:b.example=b.example"}, bumped: true},
			{name: "same again", do: rep("list", ind("list:domain:a.example", "a.example", 0), ind("list:domain:b.example", "b.example", 0)), want: Change{Ignored: 2}, active: []string{"list:domain:a.example=a.example", "list:domain:b.example=b.example"}},
			{name: "b dropped, c added", do: rep("list", ind("list:domain:a.example", "a.example", 0), ind("list:domain:c.example", "c.example", 0)), want: Change{Added: 1, Removed: 1, Ignored: 1}, active: []string{"list:domain:a.example=a.example", "list:domain:c.example=c.example"}, bumped: true},
			{name: "context changed", do: rep("list", func() *ioc.Indicator {
				i := ind("list:domain:a.example", "a.example", 0)
				i.Description = "now with text"
				return i
			}(), ind("list:domain:c.example", "c.example", 0)), want: Change{Updated: 1, Ignored: 1}, active: []string{"list:domain:a.example=a.example", "list:domain:c.example=c.example"}, bumped: true},
			{name: "empty", do: rep("list"), want: Change{Removed: 2}, active: nil, bumped: true},
		}},
		{"feeds are independent", []op{
			{name: "f1", do: rep("f1", ind("same-id", "a.example", 0)), want: Change{Added: 1}, active: []string{"same-id=a.example"}, bumped: true},
			{name: "f2", do: rep("f2", ind("same-id", "b.example", 0)), want: Change{Added: 1}, active: []string{"same-id=a.example", "same-id=b.example"}, bumped: true},
			{name: "f1 empty", do: rep("f1"), want: Change{Removed: 1}, active: []string{"same-id=b.example"}, bumped: true},
		}},
		{"validity window", []op{
			{name: "add", do: inc("t", nil, withValidity(ind("indicator--past", "p.example", 1), 0, 5), withValidity(ind("indicator--now", "n.example", 1), 5, 20), withValidity(ind("indicator--future", "f.example", 1), 11, -1), withValidity(ind("indicator--edge", "e.example", 1), 10, 11)), want: Change{Added: 4}, active: []string{"indicator--edge=e.example", "indicator--now=n.example"}, bumped: true},
		}},
		{"bad input changes nothing", []op{
			{name: "add", do: inc("t", nil, ind("indicator--a", "a.example", 1)), want: Change{Added: 1}, active: []string{"indicator--a=a.example"}, bumped: true},
			{name: "invalid indicator", do: inc("t", nil, ind("indicator--b", "b.example", 1), &ioc.Indicator{ID: "indicator--c", Kind: ioc.KindDomain, Value: "NOT NORMAL"}), wantErr: "indicator #1", active: []string{"indicator--a=a.example"}},
			{name: "nil indicator", do: rep("t", nil), wantErr: "indicator #0 is nil", active: []string{"indicator--a=a.example"}},
			{name: "empty feed name", do: rep(""), wantErr: "empty feed name", active: []string{"indicator--a=a.example"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, t.TempDir())
			for _, o := range tt.ops {
				v := s.Version()
				ch, err := o.do(s)
				if o.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), o.wantErr) {
						t.Fatalf("%s: err = %v, want %q", o.name, err, o.wantErr)
					}
				} else if err != nil {
					t.Fatalf("%s: %v", o.name, err)
				}
				if ch != o.want {
					t.Errorf("%s: change = %+v, want %+v", o.name, ch, o.want)
				}
				if got := activeKeys(s, day(10)); !reflect.DeepEqual(got, o.active) {
					t.Errorf("%s: active = %q, want %q", o.name, got, o.active)
				}
				if bumped := s.Version() != v; bumped != o.bumped {
					t.Errorf("%s: version bumped = %v, want %v", o.name, bumped, o.bumped)
				}
			}
		})
	}
}

func TestSweepAndNextTransition(t *testing.T) {
	s := open(t, t.TempDir())
	_, err := s.ApplyIncremental("t", []*ioc.Indicator{
		withValidity(ind("indicator--a", "a1.example", 1), 0, 5),
		withValidity(ind("indicator--a", "a2.example", 1), 0, 8), // same group, later expiry
		withValidity(ind("indicator--b", "b.example", 1), 3, -1),
		withValidity(ind("indicator--c", "c.example", 1), -1, 2),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.NextTransition(day(1)), day(2); !got.Equal(want) {
		t.Errorf("NextTransition(day 1) = %v, want %v", got, want)
	}
	if got, want := s.NextTransition(day(5)), day(8); !got.Equal(want) {
		t.Errorf("NextTransition(day 5) = %v, want %v", got, want)
	}
	if got := s.NextTransition(day(8)); !got.IsZero() {
		t.Errorf("NextTransition(day 8) = %v, want zero", got)
	}
	v := s.Version()
	n, err := s.Sweep(day(5))
	if err != nil || n != 2 {
		t.Fatalf("Sweep(day 5) = %d, %v; want 2 removed", n, err)
	}
	if s.Version() == v {
		t.Error("Sweep did not bump the version")
	}
	if got, want := activeKeys(s, day(6)), []string{"indicator--a=a2.example", "indicator--b=b.example"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after sweep: %q, want %q", got, want)
	}
	v = s.Version()
	if n, err := s.Sweep(day(5)); n != 0 || err != nil || s.Version() != v {
		t.Errorf("second Sweep = %d, %v, version bumped %v; want a no-op", n, err, s.Version() != v)
	}
	// The sweep is persisted.
	s.Close()
	s2 := open(t, s.dir)
	if got := s2.Len(); got != 2 {
		t.Errorf("after reopen: %d indicators, want 2", got)
	}
}

func compound(id string) *ioc.Indicator {
	return &ioc.Indicator{ID: id, Kind: ioc.KindCompound, Pattern: "[network-traffic:dst_port = 4444]", Modified: day(1),
		Expr: &ioc.Expr{Op: ioc.OpAnd, Args: []*ioc.Expr{
			{Op: ioc.OpPred, Pred: &ioc.Predicate{Target: ioc.Target{Kind: ioc.KindIPv4, Role: ioc.RoleDst}, Op: ioc.PredEq, Values: []string{"203.0.113.80"}}},
			{Op: ioc.OpPred, Pred: &ioc.Predicate{Target: ioc.Target{Kind: ioc.KindPort, Role: ioc.RoleDst}, Op: ioc.PredEq, Values: []string{"4444"}}},
		}}}
}

func TestPersistenceRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	full := ind("indicator--a", "a.example", 1)
	full.Context = ioc.Context{Malware: []string{"SampleRAT"}, Techniques: []ioc.Technique{{ID: "T1071.001", Name: "Web Protocols"}}}
	full.Labels = []string{"malicious-activity"}
	full.Confidence = 85
	full.ValidFrom = day(0)
	mustApply(t, s, "taxii", []*ioc.Indicator{full, compound("indicator--c")}, []string{"indicator--gone"})
	if _, err := s.ReplaceFeed("list", []*ioc.Indicator{ind("list:domain:b.example", "b.example", 0)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheckpoint("taxii", "collection-1", "2026-01-02T00:00:00Z"); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordSuccess("taxii", FetchStats{Objects: 12, ByKind: map[ioc.Kind]int{ioc.KindDomain: 1}, Unsupported: 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordError("list", errors.New("http 503")); err != nil {
		t.Fatal(err)
	}
	before := dump(t, s.Active(day(10)))
	statuses := s.Statuses()
	s.Close()

	s2 := open(t, dir)
	if got := dump(t, s2.Active(day(10))); got != before {
		t.Errorf("after reopen:\n%s\nwant\n%s", got, before)
	}
	if got := s2.Checkpoint("taxii", "collection-1"); got != "2026-01-02T00:00:00Z" {
		t.Errorf("checkpoint = %q", got)
	}
	if got := s2.Statuses(); !reflect.DeepEqual(got, statuses) {
		t.Errorf("statuses after reopen = %+v, want %+v", got, statuses)
	}
	st, ok := s2.Status("list")
	if !ok || st.LastErrorMsg != "http 503" || st.ConsecutiveErrors != 1 || !st.LastError.Equal(day(100)) || st.Indicators != 1 {
		t.Errorf("list status = %+v", st)
	}
	// The tombstone survived: the revoked id stays out.
	ch, err := s2.ApplyIncremental("taxii", []*ioc.Indicator{ind("indicator--gone", "g.example", 9)}, nil)
	if err != nil || ch.Ignored != 1 {
		t.Errorf("re-adding a revoked id after reopen: %+v, %v", ch, err)
	}
	if err := s2.RemoveFeed("taxii"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s2.Status("taxii"); ok {
		t.Error("status of a removed feed still there")
	}
	if s2.Checkpoint("taxii", "collection-1") != "" {
		t.Error("checkpoint of a removed feed still there")
	}
}

func mustApply(t *testing.T, s *Store, feed string, inds []*ioc.Indicator, revoked []string) {
	t.Helper()
	if _, err := s.ApplyIncremental(feed, inds, revoked); err != nil {
		t.Fatal(err)
	}
}

func dump(t *testing.T, inds []*ioc.Indicator) string {
	t.Helper()
	var b strings.Builder
	for _, i := range inds {
		j, err := json.Marshal(i)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestCrashRecovery(t *testing.T) {
	feedFile := feedFileName("taxii")
	setup := func(t *testing.T) string {
		dir := t.TempDir()
		s := open(t, dir)
		mustApply(t, s, "taxii", []*ioc.Indicator{ind("indicator--a", "a.example", 1)}, nil)
		mustApply(t, s, "taxii", []*ioc.Indicator{ind("indicator--b", "b.example", 1)}, nil) // .prev holds only a
		if err := s.SetCheckpoint("taxii", "c1", "T1"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCheckpoint("other", "c1", "T2"); err != nil {
			t.Fatal(err)
		}
		s.Close()
		return dir
	}
	tests := []struct {
		name       string
		damage     func(t *testing.T, dir string)
		wantErr    string // Open fails naming this
		wantActive []string
		checkpoint string // of taxii/c1 after recovery
		other      string // of other/c1 ("T2" unless state.json was recovered from .prev)
	}{
		{"leftover temp file", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, feedFile+".tmp-123"), "{\"format\":")
		}, "", []string{"indicator--a=a.example", "indicator--b=b.example"}, "T1", "T2"},
		{"truncated feed file falls back to prev", func(t *testing.T, dir string) {
			truncate(t, filepath.Join(dir, feedFile), 30)
		}, "", []string{"indicator--a=a.example"}, "", "T2"},
		{"flipped byte falls back to prev", func(t *testing.T, dir string) {
			p := filepath.Join(dir, feedFile)
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0x20
			writeFile(t, p, string(b))
		}, "", []string{"indicator--a=a.example"}, "", "T2"},
		{"crash between renames", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, feedFile))
		}, "", []string{"indicator--a=a.example"}, "T1", "T2"},
		{"both copies corrupt", func(t *testing.T, dir string) {
			truncate(t, filepath.Join(dir, feedFile), 10)
			truncate(t, filepath.Join(dir, feedFile+".prev"), 10)
		}, feedFile, nil, "", ""},
		{"corrupt and no prev", func(t *testing.T, dir string) {
			truncate(t, filepath.Join(dir, feedFile), 10)
			os.Remove(filepath.Join(dir, feedFile+".prev"))
		}, feedFile, nil, "", ""},
		{"corrupt state falls back to prev", func(t *testing.T, dir string) {
			truncate(t, filepath.Join(dir, "state.json"), 5)
		}, "", []string{"indicator--a=a.example", "indicator--b=b.example"}, "T1", ""}, // .prev predates the last SetCheckpoint
		{"corrupt state without prev", func(t *testing.T, dir string) {
			truncate(t, filepath.Join(dir, "state.json"), 5)
			os.Remove(filepath.Join(dir, "state.json.prev"))
		}, "state.json", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := setup(t)
			tt.damage(t, dir)
			s, err := Open(dir, Options{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Open err = %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			if got := activeKeys(s, day(10)); !reflect.DeepEqual(got, tt.wantActive) {
				t.Errorf("active = %q, want %q", got, tt.wantActive)
			}
			if got := s.Checkpoint("taxii", "c1"); got != tt.checkpoint {
				t.Errorf("taxii checkpoint = %q, want %q", got, tt.checkpoint)
			}
			if got := s.Checkpoint("other", "c1"); got != tt.other {
				t.Errorf("other feed's checkpoint = %q, want %q", got, tt.other)
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("temp file %s not removed", e.Name())
				}
			}
			// The store is writable and the repaired state survives another reopen.
			mustApply(t, s, "taxii", []*ioc.Indicator{ind("indicator--z", "z.example", 1)}, nil)
			want := activeKeys(s, day(10))
			s.Close()
			s2 := open(t, dir)
			if got := activeKeys(s2, day(10)); !reflect.DeepEqual(got, want) {
				t.Errorf("after repair and reopen: %q, want %q", got, want)
			}
		})
	}
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, p string, n int64) {
	t.Helper()
	if err := os.Truncate(p, n); err != nil {
		t.Fatal(err)
	}
}

func TestWriteFailureChangesNothing(t *testing.T) {
	dir := t.TempDir()
	fail := false
	s, err := Open(dir, Options{Sync: func(f *os.File) error {
		if fail {
			return errors.New("disk on fire")
		}
		return f.Sync()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustApply(t, s, "t", []*ioc.Indicator{ind("indicator--a", "a.example", 1)}, nil)
	v := s.Version()
	fail = true
	if _, err := s.ApplyIncremental("t", []*ioc.Indicator{ind("indicator--b", "b.example", 1)}, nil); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v, want the sync failure", err)
	}
	if err := s.SetCheckpoint("t", "k", "v"); err == nil {
		t.Fatal("SetCheckpoint succeeded with a failing disk")
	}
	if s.Version() != v || s.Len() != 1 || s.Checkpoint("t", "k") != "" {
		t.Errorf("state changed after failed writes: version %d->%d, len %d", v, s.Version(), s.Len())
	}
	fail = false
	s.Close()
	s2 := open(t, dir)
	if got := activeKeys(s2, day(10)); !reflect.DeepEqual(got, []string{"indicator--a=a.example"}) {
		t.Errorf("after reopen: %q", got)
	}
}

func TestLockAndClose(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open err = %v, want 'in use'", err)
	}
	s.Close()
	if _, err := s.ReplaceFeed("x", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
	s2 := open(t, dir) // the lock is released
	_ = s2
}

func TestConcurrentUse(t *testing.T) {
	s := open(t, t.TempDir())
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			feed := fmt.Sprintf("feed%d", w%2)
			for i := 0; i < 25; i++ {
				id := fmt.Sprintf("indicator--%d-%d", w, i%5)
				if _, err := s.ApplyIncremental(feed, []*ioc.Indicator{ind(id, fmt.Sprintf("v%d-%d.example", w, i), i+1)}, nil); err != nil {
					t.Error(err)
					return
				}
				if err := s.SetCheckpoint(feed, "k", fmt.Sprint(i)); err != nil {
					t.Error(err)
				}
				if i%7 == 0 {
					s.RecordSuccess(feed, FetchStats{Objects: i})
				}
			}
		}(w)
	}
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				for _, x := range s.Active(day(1000)) {
					_ = x.Value
				}
				_ = s.Version()
				_ = s.Statuses()
				_ = s.Checkpoint("feed0", "k")
			}
		}()
	}
	wg.Wait()
	if got := s.Len(); got != 20 {
		t.Errorf("len = %d, want 20 (4 writers x 5 ids)", got)
	}
	for _, x := range s.Active(day(1000)) {
		if !strings.HasSuffix(x.Value, "-24.example") && !strings.Contains(x.Value, "-2") {
			// Each id's newest version is its last write (i = 20..24).
			t.Errorf("stale value %s for %s", x.Value, x.ID)
		}
	}
}

// TestAgainstReference drives the store with seeded random operations and
// compares Active with a plain map model after each step and after
// reopening.
func TestAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	dir := t.TempDir()
	s := open(t, dir)
	type entry struct {
		modified int
		values   []string
		until    int // -1: none
	}
	model := map[string]map[string]entry{} // feed -> id -> entry
	tomb := map[string]map[string]bool{}
	feeds := []string{"a", "b"}
	ids := []string{"indicator--1", "indicator--2", "indicator--3", "indicator--4", "indicator--5", "indicator--6"}
	mk := func(id string, mod, until, nvals int) ([]*ioc.Indicator, entry) {
		e := entry{modified: mod, until: until}
		var out []*ioc.Indicator
		for v := 0; v < nvals; v++ {
			val := fmt.Sprintf("v%d-%d.example", mod, v)
			i := ind(id, val, mod)
			if until >= 0 {
				i.ValidUntil = day(until)
			}
			out = append(out, i)
			e.values = append(e.values, val)
		}
		return out, e
	}
	now := 0
	for step := 0; step < 400; step++ {
		feed := feeds[rng.IntN(len(feeds))]
		if model[feed] == nil {
			model[feed] = map[string]entry{}
			tomb[feed] = map[string]bool{}
		}
		switch op := rng.IntN(10); {
		case op < 5: // incremental batch
			var inds []*ioc.Indicator
			var revoked []string
			batch := map[string]entry{}
			var order []string
			for n := rng.IntN(3) + 1; n > 0; n-- {
				id := ids[rng.IntN(len(ids))]
				if _, dup := batch[id]; dup {
					continue
				}
				until := -1
				if rng.IntN(3) == 0 {
					until = now + rng.IntN(20)
				}
				is, e := mk(id, rng.IntN(30), until, rng.IntN(2)+1)
				inds = append(inds, is...)
				batch[id] = e
				order = append(order, id)
			}
			if rng.IntN(5) == 0 {
				revoked = append(revoked, ids[rng.IntN(len(ids))])
			}
			if _, err := s.ApplyIncremental(feed, inds, revoked); err != nil {
				t.Fatal(err)
			}
			for _, id := range revoked {
				tomb[feed][id] = true
				delete(model[feed], id)
			}
			for _, id := range order {
				e := batch[id]
				cur, ok := model[feed][id]
				if tomb[feed][id] || (ok && e.modified <= cur.modified) {
					continue
				}
				model[feed][id] = e
			}
		case op < 7: // replace
			var inds []*ioc.Indicator
			next := map[string]entry{}
			for _, id := range ids {
				if rng.IntN(2) == 0 {
					is, e := mk(id, rng.IntN(30), -1, 1)
					inds = append(inds, is...)
					next[id] = e
				}
			}
			if _, err := s.ReplaceFeed(feed, inds); err != nil {
				t.Fatal(err)
			}
			model[feed] = next
		case op < 9: // time passes, sweep
			now += rng.IntN(5)
			if _, err := s.Sweep(day(now)); err != nil {
				t.Fatal(err)
			}
			for f := range model {
				for id, e := range model[f] {
					if e.until >= 0 && e.until <= now {
						delete(model[f], id)
					}
				}
			}
		default: // reopen
			s.Close()
			s = open(t, dir)
		}
		var want []string
		for f := range model {
			for id, e := range model[f] {
				if e.until >= 0 && e.until <= now {
					continue
				}
				for _, v := range e.values {
					want = append(want, f+"|"+id+"="+v)
				}
			}
		}
		sort.Strings(want)
		var got []string
		for _, i := range s.Active(day(now)) {
			got = append(got, feedOf(s, i)+"|"+i.ID+"="+i.Value)
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d: active\n%q\nwant\n%q", step, got, want)
		}
	}
}

// feedOf finds which feed holds the indicator pointer (the model's
// indicators carry no Feed field).
func feedOf(s *Store, x *ioc.Indicator) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for f, fd := range s.feeds {
		for _, g := range fd.groups {
			for _, i := range g.inds {
				if i == x {
					return f
				}
			}
		}
	}
	return "?"
}

func TestBlobs(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if b, err := s.Blob("taxii", "stix-context"); b != nil || err != nil {
		t.Fatalf("absent blob = %q, %v", b, err)
	}
	if err := s.SetBlob("taxii", "stix-context", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBlob("taxii", "stix-context", []byte(`[{"type":"malware"}]`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBlob("other", "x", []byte("keep")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBlob("", "x", []byte("a")); err == nil {
		t.Error("blob without feed accepted")
	}
	s.Close()
	s = open(t, dir)
	if b, err := s.Blob("taxii", "stix-context"); string(b) != `[{"type":"malware"}]` || err != nil {
		t.Fatalf("after reopen: %q, %v", b, err)
	}
	// A corrupt current copy falls back to the previous one; both corrupt is an error naming the file.
	p := filepath.Join(dir, blobFileName("taxii", "stix-context"))
	truncate(t, p, 20)
	if b, err := s.Blob("taxii", "stix-context"); string(b) != "v1" || err != nil {
		t.Errorf("corrupt blob: %q, %v; want the previous copy", b, err)
	}
	truncate(t, p+".prev", 3)
	if _, err := s.Blob("taxii", "stix-context"); err == nil || !strings.Contains(err.Error(), blobFileName("taxii", "stix-context")) {
		t.Errorf("both corrupt: %v", err)
	}
	if err := s.SetBlob("taxii", "stix-context", nil); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Blob("taxii", "stix-context"); b != nil || err != nil {
		t.Errorf("deleted blob = %q, %v", b, err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("deleted blob file still there: %v", err)
	}
	if err := s.RemoveFeed("other"); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Blob("other", "x"); b != nil {
		t.Error("blob of a removed feed still there")
	}
	if _, err := os.Stat(filepath.Join(dir, blobFileName("other", "x"))); !os.IsNotExist(err) {
		t.Errorf("blob file of a removed feed still there: %v", err)
	}
}

// TestInvalidStoredIndicatorDropped: a checksummed file whose indicator no
// longer validates (as after a normalisation change) opens without it and
// clears the feed's checkpoints.
func TestInvalidStoredIndicatorDropped(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	mustApply(t, s, "taxii", []*ioc.Indicator{ind("indicator--a", "a.example", 1), ind("indicator--b", "b.example", 1)}, nil)
	if err := s.SetCheckpoint("taxii", "c", "T"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	fd := newFeedData()
	for _, i := range []*ioc.Indicator{ind("indicator--a", "a.example", 1), {ID: "indicator--b", Kind: ioc.KindDomain, Value: "B.EXAMPLE", Modified: day(1)}} {
		line, _ := encodeIndicator(i)
		fd.groups[i.ID] = &group{modified: i.Modified, inds: []*ioc.Indicator{i}, lines: [][]byte{line}}
	}
	data, err := encodeFeed("taxii", fd)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, feedFileName("taxii")), string(data))
	s = open(t, dir)
	if got := activeKeys(s, day(10)); !reflect.DeepEqual(got, []string{"indicator--a=a.example"}) {
		t.Errorf("active = %q", got)
	}
	if s.Checkpoint("taxii", "c") != "" {
		t.Error("checkpoint kept after dropping stored indicators")
	}
	s.Close()
	s = open(t, dir) // the rewritten file is clean
	if got := s.Len(); got != 1 {
		t.Errorf("after reopen: %d", got)
	}
}
