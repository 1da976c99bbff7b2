package alert

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// fakeClock is a settable clock for throttle tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func TestThrottleCheck(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		at         time.Duration // since t0
		ind, ent   string
		alertID    string
		allow      bool
		suppressed int64
		since      time.Duration // since t0, when suppressed > 0
	}
	for _, tc := range []struct {
		name   string
		window time.Duration
		max    int
		steps  []step
	}{
		{"disabled", 0, 0, []step{
			{0, "i", "e", "", true, 0, 0}, {0, "i", "e", "", true, 0, 0}, {time.Second, "i", "e", "", true, 0, 0},
		}},
		{"window then count", time.Minute, 0, []step{
			{0, "i", "e", "a1", true, 0, 0},
			{10 * time.Second, "i", "e", "a2", false, 0, 0},
			{20 * time.Second, "i", "e", "a3", false, 0, 0},
			{59*time.Second + 999*time.Millisecond, "i", "e", "a4", false, 0, 0},
			{time.Minute, "i", "e", "a5", true, 3, 10 * time.Second},
			{time.Minute + time.Second, "i", "e", "a6", false, 0, 0},
			{3 * time.Minute, "i", "e", "a7", true, 1, time.Minute + time.Second},
			{5 * time.Minute, "i", "e", "a8", true, 0, 0},
		}},
		{"keys are independent", time.Minute, 0, []step{
			{0, "i", "e1", "", true, 0, 0},
			{time.Second, "i", "e2", "", true, 0, 0},
			{time.Second, "j", "e1", "", true, 0, 0},
			{2 * time.Second, "i", "e1", "", false, 0, 0},
			{2 * time.Second, "i", "", "", true, 0, 0},
			{3 * time.Second, "i", "", "", false, 0, 0},
		}},
		{"redelivered alert passes again", time.Minute, 0, []step{
			{0, "i", "e", "a1", true, 0, 0},
			{time.Second, "i", "e", "a2", false, 0, 0},
			{2 * time.Second, "i", "e", "a1", true, 0, 0},
			{2 * time.Minute, "i", "e", "a3", true, 1, time.Second},
			{2*time.Minute + time.Second, "i", "e", "a3", true, 1, time.Second},
			{2*time.Minute + 2*time.Second, "i", "e", "a4", false, 0, 0},
		}},
		{"eviction forgets", time.Minute, 2, []step{
			{0, "i", "a", "", true, 0, 0},
			{0, "i", "b", "", true, 0, 0},
			{time.Second, "i", "a", "", false, 0, 0}, // a is now most recent
			{time.Second, "i", "c", "", true, 0, 0},  // evicts b
			{2 * time.Second, "i", "a", "", false, 0, 0},
			{2 * time.Second, "i", "b", "", true, 0, 0}, // b forgotten: passes; evicts c
			{3 * time.Second, "i", "c", "", true, 0, 0}, // c forgotten; evicts a (and its count of 2)
			{4 * time.Second, "i", "a", "", true, 0, 0},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{t: t0}
			th, err := NewThrottle(ThrottleOptions{Window: tc.window, MaxEntries: tc.max, Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				clk.Set(t0.Add(s.at))
				d := th.Check(s.ind, s.ent, s.alertID)
				var since time.Time
				if s.suppressed > 0 {
					since = t0.Add(s.since)
				}
				if d.Allow != s.allow || d.Suppressed != s.suppressed || !d.Since.Equal(since) {
					t.Errorf("step %d (%+v): got %+v", i, s, d)
				}
			}
		})
	}
}

func TestThrottleStats(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	th, err := NewThrottle(ThrottleOptions{Window: time.Minute, MaxEntries: 2, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	th.Check("i", "a", "")
	th.Check("i", "a", "")
	th.Check("i", "a", "")
	th.Check("i", "b", "")
	th.Check("i", "c", "") // evicts a (2 suppressed)
	got := th.Stats()
	want := ThrottleStats{Entries: 2, Allowed: 3, Suppressed: 2, Evicted: 1, EvictedSuppressed: 2}
	if got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}

func TestNewThrottleErrors(t *testing.T) {
	if _, err := NewThrottle(ThrottleOptions{Window: -1}); err == nil {
		t.Error("negative window accepted")
	}
	if _, err := NewThrottle(ThrottleOptions{MaxEntries: -1}); err == nil {
		t.Error("negative max entries accepted")
	}
}

func TestParseEntity(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Entity
		err  bool
	}{
		{"", EntityNone, false}, {"none", EntityNone, false}, {"source_ip", EntitySourceIP, false},
		{"source.ip", EntitySourceIP, false}, {"HOST", EntityHost, false}, {"user", EntityUser, false},
		{"mac", EntityNone, true},
	} {
		got, err := ParseEntity(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseEntity(%q) = %v, %v", tc.in, got, err)
		}
		if err == nil {
			if back, _ := ParseEntity(got.String()); back != got {
				t.Errorf("%v does not round-trip", got)
			}
		}
	}
}

func TestThrottleApply(t *testing.T) {
	inds := sampleIndicators()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	th, err := NewThrottle(ThrottleOptions{Window: time.Minute, Entity: EntitySourceIP, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(id, src string, names ...string) *Alert {
		a := &Alert{ID: id, Entities: Entities{SourceIP: src}}
		for _, n := range names {
			a.Enrichments = append(a.Enrichments, Enrichment{Indicator: inds[n]})
		}
		return a
	}
	if a := mk("1", "192.0.2.1", "ipv4"); !th.Apply(a) || len(a.Enrichments) != 1 || a.SuppressedCount != 0 {
		t.Fatalf("first alert: %+v", a)
	}
	clk.Set(clk.Now().Add(time.Second))
	if a := mk("2", "192.0.2.1", "ipv4"); th.Apply(a) {
		t.Fatal("second alert in window passed")
	}
	if a := mk("3", "192.0.2.2", "ipv4"); !th.Apply(a) {
		t.Fatal("other entity suppressed")
	}
	// Mixed: ipv4 suppressed, domain new: only the domain enrichment stays.
	clk.Set(clk.Now().Add(time.Second))
	a := mk("4", "192.0.2.1", "domain", "ipv4")
	if !th.Apply(a) || len(a.Enrichments) != 1 || a.Enrichments[0].Indicator != inds["domain"] || a.ID != "4" {
		t.Fatalf("mixed alert: %+v", a)
	}
	clk.Set(clk.Now().Add(time.Minute))
	a = mk("5", "192.0.2.1", "domain", "ipv4")
	if !th.Apply(a) || len(a.Enrichments) != 2 {
		t.Fatalf("after window: %+v", a)
	}
	if a.SuppressedCount != 2 || a.Enrichments[1].SuppressedCount != 2 || a.Enrichments[0].SuppressedCount != 0 {
		t.Errorf("suppressed counts: alert %d, enrichments %d %d", a.SuppressedCount, a.Enrichments[0].SuppressedCount, a.Enrichments[1].SuppressedCount)
	}
	if want := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC); !a.SuppressedSince.Equal(want) {
		t.Errorf("suppressed since %v, want %v", a.SuppressedSince, want)
	}
	if b := a.AppendJSON(nil); !containsAll(string(b), `"suppressed_count":2`, `"suppressed_since":"2026-01-01T00:00:01Z"`) {
		t.Errorf("suppression not encoded: %s", b)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// TestThrottleConcurrent hammers one throttle from several goroutines
// (run with -race): every check is either allowed or suppressed, and per
// key exactly one check passes per window.
func TestThrottleConcurrent(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	th, err := NewThrottle(ThrottleOptions{Window: time.Hour, MaxEntries: 1000, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	const workers, perWorker, keys = 8, 2000, 50
	var wg sync.WaitGroup
	allowed := make([]int, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				if th.Check(fmt.Sprint("ind", i%keys), "e", "").Allow {
					allowed[w]++
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range allowed {
		total += n
	}
	st := th.Stats()
	if total != keys || st.Allowed != keys || st.Suppressed != workers*perWorker-keys {
		t.Errorf("allowed %d (stats %+v), want %d", total, st, keys)
	}
}

// ExampleThrottle shows a throttle keyed on the source address.
func ExampleThrottle() {
	clock := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	th, _ := NewThrottle(ThrottleOptions{
		Window: 10 * time.Minute,
		Entity: EntitySourceIP,
		Now:    func() time.Time { return clock },
	})
	ind := &ioc.Indicator{ID: "feed:ipv4:203.0.113.66", Kind: ioc.KindIPv4, Value: "203.0.113.66"}
	alertFrom := func(id string) *Alert {
		return &Alert{ID: id, Entities: Entities{SourceIP: "192.0.2.10"}, Enrichments: []Enrichment{{Indicator: ind}}}
	}
	for i, step := range []time.Duration{0, time.Minute, 2 * time.Minute, 11 * time.Minute} {
		clock = clock.Add(step)
		a := alertFrom(fmt.Sprint("alert-", i))
		fmt.Println(a.ID, th.Apply(a), a.SuppressedCount)
	}
	// Output:
	// alert-0 true 0
	// alert-1 false 0
	// alert-2 false 0
	// alert-3 true 2
}
