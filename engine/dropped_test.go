package engine

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/iocmatch/iocmatch/engine/metrics"
)

// TestCoreModeDroppedCounted: in core mode a slow engine makes the
// subscription drop events; they are counted in
// iocmatch_events_dropped_total{reason="slow_consumer"}, and the count
// matches what the engine did not process.
func TestCoreModeDroppedCounted(t *testing.T) {
	h := newHarness(t, nil)
	for _, name := range []string{h.top.EventsStream, h.top.AlertsStream} {
		if err := h.js.DeleteStream(h.ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	opts := testOptions()
	opts.Mode = ModeCore
	opts.Workers = 1
	opts.Fetch.BatchSize = 1
	opts.Fetch.Buffer = 1
	opts.CorePendingLimit = 4
	opts.PendingInterval = 20 * time.Millisecond
	release := make(chan struct{})
	r := h.startWith(opts, func(d *Deps) {
		d.OnAlert = func(Published) { <-release } // the first alert stalls the only worker
	}, compile(t, sampleIndicators(t)...))
	dropped := func() float64 { return testutil.ToFloat64(r.m.EventsDropped.WithLabelValues(metrics.DropSlowConsumer)) }
	if n := dropped(); n != 0 {
		t.Fatalf("dropped before any event: %v", n)
	}
	evs := makeEvents(100)
	for _, ev := range evs {
		if err := h.nc.Publish(ev.subject, []byte(ev.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for dropped() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	// Everything not dropped is processed; the counter then covers the rest.
	for time.Now().Before(deadline) {
		if uint64(dropped())+r.e.Stats().Events == uint64(len(evs)) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.stop(t)
	n := dropped()
	if n == 0 {
		t.Fatal("no drop counted although the only worker was stalled")
	}
	if got := uint64(n) + r.e.Stats().Events; got != uint64(len(evs)) {
		t.Fatalf("dropped %v + processed %d = %d, want the %d published", n, r.e.Stats().Events, got, len(evs))
	}
}
