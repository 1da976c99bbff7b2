package engine

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/iocmatch/iocmatch/engine/alert"
	"github.com/iocmatch/iocmatch/engine/allowlist"
	"github.com/iocmatch/iocmatch/engine/ioc"
)

// TestSuppression: an allowlisted value, an indicator below the minimum
// confidence and a throttled repeat produce no alert and are counted;
// published alerts reach the OnAlert hook (webhook, sightings).
func TestSuppression(t *testing.T) {
	h := newHarness(t, nil)
	list, err := allowlist.ParseLocal(strings.NewReader("ipv4:203.0.113.66\n"), "local-test")
	if err != nil {
		t.Fatal(err)
	}
	al, err := allowlist.New(list)
	if err != nil {
		t.Fatal(err)
	}
	low := indicator(t, "ind-low", ioc.KindDomain, "low-confidence.test", ioc.Context{})
	low.Confidence = 10
	snap := compile(t, append(sampleIndicators(t), low)...)

	opts := testOptions()
	opts.MinConfidence = 50
	opts.Throttle = alert.ThrottleOptions{Window: time.Hour, Entity: alert.EntitySourceIP}
	var mu sync.Mutex
	var hooked []string
	r := h.startWith(opts, func(d *Deps) {
		d.OnAlert = func(p Published) {
			mu.Lock()
			hooked = append(hooked, p.Alert.ID)
			mu.Unlock()
			if !strings.HasPrefix(p.Subject, "iocmatch.alerts.") || len(p.JSON) == 0 {
				t.Errorf("hook got subject %q, %d bytes", p.Subject, len(p.JSON))
			}
		}
	}, snap)
	r.e.SetAllowlist(al)

	ecs := func(id, src, dst, dns string) string {
		return `{"@timestamp":"2026-03-01T10:00:00Z","ecs":{"version":"8.11.0"},"event":{"id":"` + id + `"},"source":{"ip":"` + src + `"},"destination":{"ip":"` + dst + `"},"dns":{"question":{"name":"` + dns + `"}}}`
	}
	evs := []event{
		// 203.0.113.66 is allowlisted: only the domain alerts.
		{"iocmatch.events.ecs", ecs("s1", "10.0.0.1", "203.0.113.66", "x.malware-c2.example"), []string{"ind-domain"}},
		// Allowlisted address only: no alert.
		{"iocmatch.events.ecs", ecs("s2", "10.0.0.2", "203.0.113.66", "ok.example"), nil},
		// Low-confidence indicator only: no alert.
		{"iocmatch.events.ecs", ecs("s3", "10.0.0.3", "192.0.2.1", "low-confidence.test"), nil},
		// Same indicator, same source as s1 within the window: throttled.
		{"iocmatch.events.ecs", ecs("s4", "10.0.0.1", "192.0.2.1", "y.malware-c2.example"), nil},
		// Same indicator, another source: alerts.
		{"iocmatch.events.ecs", ecs("s5", "10.0.0.5", "192.0.2.1", "z.malware-c2.example"), []string{"ind-domain"}},
	}
	for _, ev := range evs { // one at a time: throttling depends on order
		h.publish([]event{ev})
		h.waitDrained(10 * time.Second)
	}
	r.stop(t)
	h.checkAlerts(evs)
	if got := r.e.Stats().Suppressed; got != 4 {
		t.Errorf("suppressed %d, want 4 (2 allowlist, 1 confidence, 1 throttle)", got)
	}
	if n := testutil.ToFloat64(r.m.Suppressed.WithLabelValues("allowlist")); n != 2 {
		t.Errorf("suppressed{allowlist} = %v, want 2", n)
	}
	if n := testutil.ToFloat64(r.m.Suppressed.WithLabelValues("throttle")); n != 1 {
		t.Errorf("suppressed{throttle} = %v, want 1", n)
	}
	if n := testutil.ToFloat64(r.m.Suppressed.WithLabelValues("min_confidence")); n != 1 {
		t.Errorf("suppressed{min_confidence} = %v, want 1", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hooked) != 2 {
		t.Errorf("OnAlert called %d times, want 2", len(hooked))
	}
}
