package engine

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
	"github.com/iocmatch/iocmatch/engine/stream"
	"github.com/iocmatch/iocmatch/engine/testpki"
)

// TestEndToEnd publishes events of every format with planted matches
// and near misses and expects exactly the planted alerts, with context.
func TestEndToEnd(t *testing.T) {
	h := newHarness(t, nil)
	r := h.start(testOptions(), nil, compile(t, sampleIndicators(t)...))
	evs := makeEvents(20)
	h.publish(evs)
	h.waitDrained(30 * time.Second)
	r.stop(t)
	got := h.checkAlerts(evs)
	// Context travels with the alert.
	for _, a := range got {
		for _, id := range a.Iocmatch.IndicatorIDs {
			switch id {
			case "ind-domain":
				if !strings.Contains(a.raw, "SampleRAT") || !strings.Contains(a.raw, "T1071.001") {
					t.Errorf("domain alert without its malware/technique context: %s", a.raw)
				}
			case "ind-cidr":
				if !strings.Contains(a.raw, "Sample Actor") || !strings.Contains(a.raw, "198.51.100.23") {
					t.Errorf("cidr alert without actor or matched address: %s", a.raw)
				}
			}
		}
	}
	st := r.e.Stats()
	if st.Events != uint64(len(evs)) || st.DeadLetters != 0 || st.Naks != 0 {
		t.Errorf("stats %+v, want %d events, no dead letters, no naks", st, len(evs))
	}
}

// TestDrainAcksInFlight: cancelling Run while events flow returns nil
// after every received event was handled: nothing stays un-acked.
func TestDrainAcksInFlight(t *testing.T) {
	h := newHarness(t, nil)
	opts := testOptions()
	opts.Consumer.AckWait = 30 * time.Second // a leftover would show as pending, not as a redelivery
	r := h.start(opts, nil, compile(t, sampleIndicators(t)...))
	evs := makeEvents(40)
	h.publish(evs)
	for r.e.Stats().Events < uint64(len(evs)/4) {
		time.Sleep(time.Millisecond)
	}
	r.stop(t)
	cons, err := h.js.Consumer(h.ctx, h.top.EventsStream, h.top.Durable)
	if err != nil {
		t.Fatal(err)
	}
	// Acks are fire-and-forget: give the server a moment.
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := cons.Info(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.NumAckPending == 0 {
			handled := r.e.Stats().Events
			if info.NumPending+handled != uint64(len(evs)) {
				t.Fatalf("handled %d + pending %d != published %d", handled, info.NumPending, len(evs))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events delivered but not acknowledged after drain", info.NumAckPending)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A second engine finishes the rest; every event alerts once.
	r2 := h.start(opts, nil, compile(t, sampleIndicators(t)...))
	h.waitDrained(30 * time.Second)
	r2.stop(t)
	h.checkAlerts(evs)
}

// TestCrashSafety stops an engine abruptly mid-stream (its connection
// closed: no drain, no acks), starts another: every event is processed
// and no alert is duplicated.
func TestCrashSafety(t *testing.T) {
	h := newHarness(t, nil)
	opts := testOptions()
	evs := makeEvents(60)
	h.publish(evs)
	for round := range 2 {
		nc, _ := h.connect()
		r := h.start(opts, nc, compile(t, sampleIndicators(t)...))
		// Crash once this engine has handled an eighth of the events (or
		// everything left): batches are in flight at that moment.
		target := uint64(len(evs) / 8)
		deadline := time.Now().Add(10 * time.Second)
		for r.e.Stats().Events < target && time.Now().Before(deadline) {
			time.Sleep(100 * time.Microsecond)
		}
		t.Logf("round %d: crashing after %d events handled", round, r.e.Stats().Events)
		nc.Close() // crash: in-flight batches lose their connection
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			t.Fatal("engine did not stop after its connection closed")
		}
		r.cancel()
	}
	r := h.start(opts, nil, compile(t, sampleIndicators(t)...))
	h.waitDrained(40 * time.Second)
	r.stop(t)
	h.checkAlerts(evs)
}

// TestBadInput: malformed JSON, a 10 MB event, binary garbage and an
// event with 10,000 fields each go to the dead-letter subject with their
// reason and original bytes; the events around them alert as usual.
func TestBadInput(t *testing.T) {
	h := newHarness(t, func(o *server.Options) { o.MaxPayload = 16 << 20 })
	h.nc, h.js = h.connect()
	h.ensureStreams()
	r := h.start(testOptions(), nil, compile(t, sampleIndicators(t)...))

	var many strings.Builder
	many.WriteString(`{"@timestamp":"2026-03-01T10:00:00Z"`)
	for i := range 10000 {
		fmt.Fprintf(&many, `,"f%d":%d`, i, i)
	}
	many.WriteString("}")
	big := `{"message":"` + strings.Repeat("A", 10<<20) + `"}`
	garbage := string([]byte{0x00, 0xff, 0xfe, 0x01, 0x02, 0x9c, 0x00, 0x00, 0x7f, 0x1b, 0x00, 0x10})
	bad := []struct {
		subject, data, reason string
	}{
		{"iocmatch.events.ecs", `{"event":{"id":"x"},"source":{"ip":"203.0.113.66"`, "malformed"},
		{"iocmatch.events.ecs", big, "too_large"},
		{"iocmatch.events.raw", garbage, "binary"},
		{"iocmatch.events.ecs", many.String(), "too_many_fields"},
	}
	good := makeEvents(2)
	var all []event
	for i, b := range bad {
		all = append(all, good[i*len(good)/len(bad):(i+1)*len(good)/len(bad)]...)
		all = append(all, event{subject: b.subject, data: b.data})
	}
	h.publish(all)
	h.waitDrained(30 * time.Second)
	r.stop(t)
	h.checkAlerts(good)

	dl := h.streamMsgs(h.top.DeadLetterStream)
	if len(dl) != len(bad) {
		t.Fatalf("%d dead letters, want %d", len(dl), len(bad))
	}
	for i, m := range dl {
		b := bad[i]
		if m.Subject != "iocmatch.deadletter."+b.reason || m.Header.Get(stream.HeaderReason) != b.reason {
			t.Errorf("dead letter %d: subject %s reason %q, want %s", i, m.Subject, m.Header.Get(stream.HeaderReason), b.reason)
		}
		if m.Header.Get(stream.HeaderSubject) != b.subject || m.Header.Get(stream.HeaderError) == "" {
			t.Errorf("dead letter %d: headers %v", i, m.Header)
		}
		if !bytes.Equal(m.Data, []byte(b.data)) {
			t.Errorf("dead letter %d (%s): body of %d bytes is not the original (%d bytes)", i, b.reason, len(m.Data), len(b.data))
		}
	}
	if st := r.e.Stats(); st.DeadLetters != uint64(len(bad)) {
		t.Errorf("stats: %d dead letters", st.DeadLetters)
	}
}

// TestHotSwap swaps snapshots while events flow: generation g holds one
// indicator "gen-g" for the value every event carries. No event is lost,
// every event alerts exactly once with exactly one generation's
// indicator (never none, never two: no half-built set), and after the
// last swap only the last generation matches.
func TestHotSwap(t *testing.T) {
	h := newHarness(t, nil)
	value := "203.0.113.99"
	other := "203.0.113.98"
	gen := func(g int) *match.Snapshot {
		// Every generation also carries many unrelated indicators so that
		// compiles take a while; the removed "gen-(g-1)" must not match.
		rng := rand.New(rand.NewPCG(uint64(g), 7))
		inds := []*ioc.Indicator{indicator(t, fmt.Sprintf("gen-%d", g), ioc.KindIPv4, value, ioc.Context{})}
		if g%2 == 1 { // odd generations also match the other value
			inds = append(inds, indicator(t, fmt.Sprintf("odd-%d", g), ioc.KindIPv4, other, ioc.Context{}))
		}
		for i := range 2000 {
			inds = append(inds, indicator(t, fmt.Sprintf("noise-%d-%d", g, i), ioc.KindDomain, fmt.Sprintf("n%d-%d.noise.test", i, rng.IntN(1e6)), ioc.Context{}))
		}
		return compile(t, inds...)
	}
	const gens = 8 // precompiled, swapped in a cycle while events flow
	snaps := make([]*match.Snapshot, gens)
	for g := range snaps {
		snaps[g] = gen(g)
	}
	r := h.start(testOptions(), nil, snaps[0])

	const n = 3000
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		for i := range n {
			ip := value
			if i%3 == 0 {
				ip = other
			}
			data := fmt.Sprintf(`{"@timestamp":"2026-03-01T10:00:00Z","ecs":{"version":"8.11.0"},"event":{"id":"hs-%d"},"destination":{"ip":%q}}`, i, ip)
			if _, err := h.js.PublishAsync("iocmatch.events.ecs", []byte(data)); err != nil {
				t.Error(err)
				return
			}
			if i%100 == 99 {
				<-h.js.PublishAsyncComplete()
			}
		}
		<-h.js.PublishAsyncComplete()
	}()
	swaps := 0
	deadline := time.Now().Add(40 * time.Second)
	for r.e.Stats().Events < n && time.Now().Before(deadline) {
		swaps++
		r.e.SetSnapshot(snaps[swaps%gens])
		time.Sleep(500 * time.Microsecond)
	}
	<-pubDone
	g := swaps
	final := gens // even: the "other" value no longer matches
	h.waitDrained(40 * time.Second)
	r.e.SetSnapshot(gen(final))
	// Events after the last swap.
	var late []event
	for i := range 50 {
		late = append(late, event{subject: "iocmatch.events.ecs", data: fmt.Sprintf(`{"@timestamp":"2026-03-01T10:00:00Z","ecs":{"version":"8.11.0"},"event":{"id":"late-%d"},"destination":{"ip":%q}}`, i, value), want: []string{fmt.Sprintf("gen-%d", final)}})
		late = append(late, event{subject: "iocmatch.events.ecs", data: fmt.Sprintf(`{"@timestamp":"2026-03-01T10:00:00Z","ecs":{"version":"8.11.0"},"event":{"id":"late-o-%d"},"destination":{"ip":%q}}`, i, other)})
	}
	h.publish(late)
	h.waitDrained(20 * time.Second)
	r.stop(t)

	alerts := h.alerts()
	seen := map[string]int{}
	seenGens := map[string]bool{}
	otherAlerts := 0
	for _, a := range alerts {
		seen[a.Iocmatch.EventID]++
		if len(a.Iocmatch.IndicatorIDs) != 1 {
			t.Fatalf("alert with indicators %v: want exactly one generation", a.Iocmatch.IndicatorIDs)
		}
		id := a.Iocmatch.IndicatorIDs[0]
		seenGens[id] = true
		if strings.HasPrefix(id, "odd-") {
			otherAlerts++
		}
		if strings.HasPrefix(a.Iocmatch.EventID, "late-") && id != fmt.Sprintf("gen-%d", final) {
			t.Fatalf("event %s after the last swap matched %s, want gen-%d", a.Iocmatch.EventID, id, final)
		}
	}
	var missing []string
	for i := range n {
		id := fmt.Sprintf("hs-%d", i)
		if i%3 != 0 && seen[id] != 1 {
			missing = append(missing, id)
		}
		if seen[id] > 1 {
			t.Fatalf("event %s: %d alerts", id, seen[id])
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d events without their alert (of %d alerts), e.g. %v", len(missing), len(alerts), missing[:min(5, len(missing))])
	}
	if st := r.e.Stats(); st.Events != n+uint64(len(late)) {
		t.Fatalf("engine handled %d events, want %d", st.Events, n+len(late))
	}
	t.Logf("%d snapshot swaps during %d events; %d generations seen in alerts, %d alerts from odd generations only", g, n, len(seenGens), otherAlerts)
}

// TestCoreMode: the queue-group subscription path (at-most-once).
func TestCoreMode(t *testing.T) {
	h := newHarness(t, nil)
	for _, name := range []string{h.top.EventsStream, h.top.AlertsStream} {
		if err := h.js.DeleteStream(h.ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	opts := testOptions()
	opts.Mode = ModeCore
	r := h.start(opts, nil, compile(t, sampleIndicators(t)...))
	if _, err := h.js.Stream(h.ctx, h.top.EventsStream); err == nil {
		t.Error("core mode created an events stream (it would store every event unconsumed)")
	}
	evs := makeEvents(3)
	// The engine subscribes once running; core publishes go to whoever
	// listens now. The events stream exists too (created by Setup) and
	// also stores them: tests read alerts, not events.
	for _, ev := range evs {
		if err := h.nc.Publish(ev.subject, []byte(ev.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for r.e.Stats().Events < uint64(len(evs)) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	r.stop(t)
	h.checkAlerts(evs)
}

// TestExternalAuthTLS runs the engine against a second server that
// requires TLS (custom CA) and a user/password.
func TestExternalAuthTLS(t *testing.T) {
	pki := testpki.New(t)
	h := newHarness(t, func(o *server.Options) {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: pki.ServerCert, KeyFile: pki.ServerKey})
		if err != nil {
			t.Fatal(err)
		}
		o.TLSConfig, o.TLS, o.TLSTimeout = tc, true, 2
		o.Username, o.Password = "engine", "pa55"
	})
	co := stream.ConnOptions{URL: h.srv.ClientURL(), User: "engine", Password: "pa55", CAFile: pki.CAFile}
	nc, err := stream.Connect(co, zeroLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	h.nc = nc
	if h.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Connect(stream.ConnOptions{URL: h.srv.ClientURL(), User: "engine", Password: "nope", CAFile: pki.CAFile}, zeroLog()); err == nil {
		t.Fatal("wrong password accepted")
	}
	if _, err := stream.Connect(stream.ConnOptions{URL: h.srv.ClientURL(), User: "engine", Password: "pa55"}, zeroLog()); err == nil {
		t.Fatal("server certificate from an unknown CA accepted")
	}
	enc, err := stream.Connect(co, zeroLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(enc.Close)
	r := h.start(testOptions(), enc, compile(t, sampleIndicators(t)...))
	evs := makeEvents(2)
	h.publish(evs)
	h.waitDrained(20 * time.Second)
	r.stop(t)
	h.checkAlerts(evs)
}

// TestPublishFailureNaks: when alerts cannot be stored (the alerts stream
// is gone), the events are nak'ed and redelivered, not acknowledged; once
// the stream is back they alert.
func TestPublishFailureNaks(t *testing.T) {
	h := newHarness(t, nil)
	opts := testOptions()
	opts.PublishTimeout = 2 * time.Second
	r := h.start(opts, nil, compile(t, sampleIndicators(t)...))
	if err := h.js.DeleteStream(h.ctx, h.top.AlertsStream); err != nil {
		t.Fatal(err)
	}
	evs := makeEvents(1)
	h.publish(evs)
	deadline := time.Now().Add(20 * time.Second)
	for r.e.Stats().Naks == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if r.e.Stats().Naks == 0 {
		t.Fatal("no event was nak'ed while alerts could not be published")
	}
	if _, err := stream.EnsureStreams(h.ctx, h.js, h.top); err != nil {
		t.Fatal(err)
	}
	h.waitDrained(30 * time.Second)
	r.stop(t)
	h.checkAlerts(evs)
}

// TestThroughputLatency measures the end-to-end path on this machine:
// events published to JetStream, matched, alerts stored and received by
// a subscriber. Numbers are logged, not asserted. It is skipped with
// -short and under the race detector (whose overhead makes the numbers
// meaningless); run it alone:
//
//	go test -run TestThroughputLatency -v ./engine/
func TestThroughputLatency(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("measurement: run without -race and -short")
	}
	h := newHarness(t, nil)
	opts := testOptions()
	opts.Fetch.BatchSize = 256
	opts.Consumer.MaxAckPending = 8192
	opts.Consumer.AckWait = 30 * time.Second
	r := h.start(opts, nil, compile(t, sampleIndicators(t)...))

	// Latency: every event alerts; the alert carries the event id; the
	// publish time is recorded per id.
	const nLat = 3000
	var mu sync.Mutex
	sent := make(map[string]time.Time, nLat)
	var lat []time.Duration
	got := make(chan struct{}, nLat)
	sub, err := h.nc.Subscribe(h.top.AlertsSubjectPrefix+".>", func(m *nats.Msg) {
		id := jsonString(m.Data, `"event_id":"`)
		now := time.Now()
		mu.Lock()
		if t0, ok := sent[id]; ok {
			lat = append(lat, now.Sub(t0))
			delete(sent, id)
			got <- struct{}{}
		}
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	tick := time.NewTicker(time.Second / 2000) // paced: latency, not queueing
	for i := range nLat {
		<-tick.C
		id := fmt.Sprintf("lat-%d", i)
		data := fmt.Sprintf(`{"@timestamp":"2026-03-01T10:00:00Z","ecs":{"version":"8.11.0"},"event":{"id":%q},"source":{"ip":"10.1.%d.%d"},"destination":{"ip":"203.0.113.66","port":443}}`, id, i/250, i%250)
		mu.Lock()
		sent[id] = time.Now()
		mu.Unlock()
		if _, err := h.js.PublishAsync("iocmatch.events.ecs", []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	tick.Stop()
	for range nLat {
		select {
		case <-got:
		case <-time.After(20 * time.Second):
			t.Fatalf("latency run: alerts missing (%d pending)", len(sent))
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }

	r.stop(t)
	t.Logf("end-to-end latency at 2000 events/s (%d events, every one alerting): p50 %s p90 %s p99 %s max %s",
		nLat, q(0.50), q(0.90), q(0.99), lat[len(lat)-1])

	// Throughput: a backlog drained as fast as the engine goes; once with
	// the test templates (8 of 13 events alert), once with 1 event in 100
	// alerting (closer to production traffic).
	for _, mix := range []struct {
		name string
		evs  []event
	}{
		{"templates (62% alerting)", makeEvents(800)},
		{"1% alerting", realisticEvents(10000)},
	} {
		if _, err := h.js.Stream(h.ctx, h.top.EventsStream); err != nil {
			t.Fatal(err)
		}
		h.publish(mix.evs)
		start := time.Now()
		r2 := h.start(opts, nil, compile(t, sampleIndicators(t)...))
		h.waitDrained(60 * time.Second)
		el := time.Since(start)
		r2.stop(t)
		t.Logf("throughput draining a backlog of %d events, %s (%d workers, batch %d, race detector %v): %.0f events/s",
			len(mix.evs), mix.name, opts.Workers, opts.Fetch.BatchSize, raceEnabled, float64(len(mix.evs))/el.Seconds())
	}
}

// realisticEvents returns n events of which 1 in 100 alerts.
func realisticEvents(n int) []event {
	out := make([]event, 0, n)
	for i := range n {
		ip := fmt.Sprintf("192.0.2.%d", i%250)
		if i%100 == 0 {
			ip = "203.0.113.66"
		}
		out = append(out, event{subject: "iocmatch.events.ecs", data: fmt.Sprintf(`{"@timestamp":"2026-03-01T10:00:00Z","ecs":{"version":"8.11.0"},"event":{"id":"r-%d","category":["network"]},"source":{"ip":"10.2.%d.%d","port":%d},"destination":{"ip":%q,"port":443,"domain":"www%d.example.com"},"network":{"transport":"tcp"},"user_agent":{"original":"Mozilla/5.0 (X11; Linux x86_64)"},"message":"connection established to upstream"}`, i, i/250%250, i%250, 1024+i%60000, ip, i%1000)})
	}
	return out
}

func jsonString(b []byte, key string) string {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return ""
	}
	rest := b[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

var _ = context.Background
