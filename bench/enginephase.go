package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/bench/gen"
	"github.com/iocmatch/iocmatch/engine"
	"github.com/iocmatch/iocmatch/engine/match"
	"github.com/iocmatch/iocmatch/engine/stream"
)

// Topology is the engine topology the bench uses: the iocmatch defaults
// renamed (IOCBENCH_*, iocbench.*) so that a run against an external NATS
// never touches a deployment's streams. The bench deletes these streams
// when it is done.
func Topology() stream.Topology {
	t := stream.DefaultTopology()
	t.EventsStream = "IOCBENCH_EVENTS"
	t.EventsSubject = "iocbench.events.>"
	t.AlertsStream = "IOCBENCH_ALERTS"
	t.AlertsSubjectPrefix = "iocbench.alerts"
	t.DeadLetterStream = "IOCBENCH_DEADLETTER"
	t.DeadLetterSubjectPrefix = "iocbench.deadletter"
	t.Durable = "iocbench"
	t.QueueGroup = "iocbench"
	t.AlertsMaxAge = time.Hour
	t.DeadLetterMaxAge = time.Hour
	return t
}

// alertCheck correlates alerts with events (called from one subscription
// goroutine; read under mu).
type alertCheck struct {
	w  *workload
	pr *phaseRun

	mu       sync.Mutex
	seen     map[uint64]uint8
	lat      []int64
	corr     Correctness
	received atomic.Uint64
	good     uint64 // distinct expected events with a correct alert
}

func (c *alertCheck) onAlert(data []byte) {
	now := time.Now().UnixNano()
	seq, ok := gen.FindSeq(data)
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.received.Add(1)
	if !ok {
		c.corr.Extra++
		return
	}
	idx := seq % uint64(len(c.w.poolAll))
	if t := c.pr.ts.get(seq); t > 0 {
		c.lat = append(c.lat, now-t)
	} else {
		c.corr.Extra++ // never published
		return
	}
	if c.seen[seq]++; c.seen[seq] > 1 {
		c.corr.Duplicates++
		return
	}
	if !c.w.alerts[idx] {
		c.corr.Extra++
		return
	}
	if id := c.w.plantID[idx]; id != nil && !bytes.Contains(data, id) {
		c.corr.WrongIndicator++
		return
	}
	c.good++
}

// runEngine runs the engine in this process against the NATS at url and
// drives the workload through it.
func runEngine(ctx context.Context, w *workload, url string, snap *match.Snapshot) (*Phase, Correctness, error) {
	cfg := w.cfg
	topo := Topology()
	pr := &phaseRun{w: w, name: "engine " + cfg.Mode, subjects: w.subj}
	p := &Phase{Name: "iocmatch " + cfg.Mode}

	nc, err := connect(url, "iocmatch-bench-engine")
	if err != nil {
		return nil, Correctness{}, err
	}
	defer nc.Close()
	mode, err := engine.ParseMode(cfg.Mode)
	if err != nil {
		return nil, Correctness{}, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, Correctness{}, fmt.Errorf("bench: jetstream: %w", err)
	}
	for _, s := range []string{topo.EventsStream, topo.AlertsStream, topo.DeadLetterStream} {
		_ = js.DeleteStream(ctx, s) // leftovers of an interrupted run
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, s := range []string{topo.EventsStream, topo.AlertsStream, topo.DeadLetterStream} {
			_ = js.DeleteStream(dctx, s)
		}
	}()
	e, err := engine.New(engine.Options{Mode: mode, Topology: topo, Workers: cfg.Workers,
		Fetch: stream.FetchOptions{BatchSize: cfg.BatchSize}},
		engine.Deps{Conn: nc, Log: cfg.Log.Level(max(cfg.Log.GetLevel(), zerolog.WarnLevel))})
	if err != nil {
		return nil, Correctness{}, fmt.Errorf("bench: %w", err)
	}
	e.SetSnapshot(snap)

	// The alert subscriber, before anything is published.
	check := &alertCheck{w: w, pr: pr, seen: map[uint64]uint8{}, lat: make([]int64, 0, 1024)}
	asub, err := connect(url, "iocmatch-bench-alerts")
	if err != nil {
		return nil, Correctness{}, err
	}
	defer asub.Close()
	s, err := asub.Subscribe(topo.AlertsSubjectPrefix+".>", func(m *nats.Msg) { check.onAlert(m.Data) })
	if err != nil {
		return nil, Correctness{}, fmt.Errorf("bench: alerts subscribe: %w", err)
	}
	_ = s.SetPendingLimits(-1, -1)
	if err := asub.Flush(); err != nil {
		return nil, Correctness{}, fmt.Errorf("bench: alerts subscribe: %w", err)
	}

	ectx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEngine()
	runErr := make(chan error, 1)
	go func() { runErr <- e.Run(ectx) }()
	deadline := time.Now().Add(30 * time.Second)
	for e.Ready() != nil {
		select {
		case err := <-runErr:
			return nil, Correctness{}, fmt.Errorf("bench: engine stopped before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			return nil, Correctness{}, fmt.Errorf("bench: engine not ready after 30 s: %v", e.Ready())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := nc.Flush(); err != nil { // the engine's subscription is registered
		return nil, Correctness{}, fmt.Errorf("bench: %w", err)
	}

	pr.done = func() uint64 {
		st := e.Stats()
		return st.Events - min(st.Naks, st.Events)
	}
	pr.alerts = check.received.Load

	senders, closeSenders, err := connectSenders(w, url, "iocmatch-bench-engine", cfg.Mode == "jetstream", &pr.pubErrs)
	if err != nil {
		return nil, Correctness{}, err
	}
	defer closeSenders()

	resetOK := resetPeakRSS()
	cpu0 := cpuTime()
	stopProgress := pr.startProgress()
	perr := pr.publish(ctx, senders)
	end, stalled := pr.wait(ctx)
	// A little grace for late extra or duplicate alerts.
	time.Sleep(200 * time.Millisecond)
	stopProgress()
	p.CPUSeconds = (cpuTime() - cpu0).Seconds()
	p.PeakRSS, p.PeakRSSReset = peakRSS(), resetOK
	stopEngine()
	select {
	case err := <-runErr:
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, Correctness{}, fmt.Errorf("bench: engine: %w", err)
		}
	case <-time.After(30 * time.Second):
		return nil, Correctness{}, errors.New("bench: engine did not drain within 30 s")
	}
	if perr != nil {
		return nil, Correctness{}, perr
	}
	_ = s.Unsubscribe()

	st := e.Stats()
	p.Processed = pr.done()
	p.Naks = st.Naks
	p.Stalled = stalled
	check.mu.Lock()
	defer check.mu.Unlock()
	p.Alerts = check.received.Load()
	pr.finish(p, end)
	p.Latency = summarize(check.lat)
	corr := check.corr
	corr.Expected = pr.expected.Load()
	corr.Received = p.Alerts
	corr.Missing = corr.Expected - min(check.good, corr.Expected)
	if p.Published > p.Processed {
		corr.Unprocessed = p.Published - p.Processed
	}
	corr.DeadLetters = st.DeadLetters
	corr.Pass = corr.Missing == 0 && corr.Extra == 0 && corr.Duplicates == 0 && corr.WrongIndicator == 0 &&
		corr.Unprocessed == 0 && st.DeadLetters == 0 && p.PublishErrs == 0 && !stalled
	if st.DeadLetters > 0 {
		cfg.Log.Warn().Uint64("dead_letters", st.DeadLetters).Msg("bench: the engine dead-lettered generated events")
	}
	return p, corr, nil
}
