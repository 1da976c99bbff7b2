package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iocmatch/iocmatch/bench/gen"
)

// Baseline stream and subjects (JetStream mode), named apart from any
// iocmatch deployment sharing an external server.
const (
	baselineStream  = "IOCBENCH_BASELINE"
	baselinePrefix  = "iocbench.baseline."
	baselineDurable = "iocbench-baseline"
)

type coreSender struct{ nc *nats.Conn }

func (s coreSender) publish(subj string, data []byte) error { return s.nc.Publish(subj, data) }
func (s coreSender) flush(context.Context) error            { return s.nc.FlushTimeout(30 * time.Second) }

type jsSender struct {
	js   jetstream.JetStream
	errs *atomic.Uint64
}

func (s jsSender) publish(subj string, data []byte) error {
	_, err := s.js.PublishAsync(subj, data, jetstream.WithStallWait(30*time.Second))
	return err
}

func (s jsSender) flush(ctx context.Context) error {
	select {
	case <-s.js.PublishAsyncComplete():
		if n := s.errs.Load(); n > 0 {
			return fmt.Errorf("%d publishes not acknowledged", n)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func connectSenders(w *workload, url, name string, js bool, errs *atomic.Uint64) ([]sender, func(), error) {
	var conns []*nats.Conn
	closeAll := func() {
		for _, nc := range conns {
			nc.Close()
		}
	}
	out := make([]sender, 0, w.cfg.Publishers)
	for k := range w.cfg.Publishers {
		nc, err := connect(url, fmt.Sprintf("%s-pub-%d", name, k))
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		conns = append(conns, nc)
		if !js {
			out = append(out, coreSender{nc: nc})
			continue
		}
		j, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096),
			jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) { errs.Add(1) }))
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("bench: jetstream: %w", err)
		}
		out = append(out, jsSender{js: j, errs: errs})
	}
	return out, closeAll, nil
}

// runBaseline moves the workload through raw NATS: core pub→sub, or
// JetStream publish (async, acknowledged) → pull consumer with explicit
// acks, on a file-backed work-queue stream like the engine's events
// stream.
func runBaseline(ctx context.Context, w *workload, url string) (*Phase, error) {
	name := "nats-core"
	if w.cfg.Mode == "jetstream" {
		name = "jetstream"
	}
	pr := &phaseRun{w: w, name: "baseline " + name, subjects: make([]string, len(w.poolAll))}
	for i, ev := range w.poolAll {
		pr.subjects[i] = baselinePrefix + ev.Format
	}
	p := &Phase{Name: name}

	sub, err := connect(url, "iocmatch-bench-baseline-sub")
	if err != nil {
		return nil, err
	}
	defer sub.Close()

	var received atomic.Uint64
	var mu sync.Mutex // lat: callbacks may outlive a stalled phase
	lat := make([]int64, 0, max(w.cfg.Events, 1024))
	record := func(data []byte) {
		now := time.Now().UnixNano()
		if seq, ok := gen.FindSeq(data); ok {
			if t := pr.ts.get(seq); t > 0 {
				mu.Lock()
				lat = append(lat, now-t)
				mu.Unlock()
			}
		}
		received.Add(1)
	}
	pr.done = received.Load

	var cleanup func()
	if w.cfg.Mode == "core" {
		s, err := sub.Subscribe(baselinePrefix+">", func(m *nats.Msg) { record(m.Data) })
		if err != nil {
			return nil, fmt.Errorf("bench: baseline subscribe: %w", err)
		}
		_ = s.SetPendingLimits(-1, -1) // never drop: the window bounds what is in flight
		if err := sub.Flush(); err != nil {
			return nil, fmt.Errorf("bench: baseline subscribe: %w", err)
		}
		cleanup = func() { _ = s.Unsubscribe() }
	} else {
		js, err := jetstream.New(sub)
		if err != nil {
			return nil, fmt.Errorf("bench: jetstream: %w", err)
		}
		_ = js.DeleteStream(ctx, baselineStream) // a leftover from an interrupted run
		st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: baselineStream, Subjects: []string{baselinePrefix + ">"},
			Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Discard: jetstream.DiscardNew})
		if err != nil {
			return nil, fmt.Errorf("bench: baseline stream: %w", err)
		}
		cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: baselineDurable,
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, MaxAckPending: 8192})
		if err != nil {
			return nil, fmt.Errorf("bench: baseline consumer: %w", err)
		}
		cc, err := cons.Consume(func(m jetstream.Msg) {
			record(m.Data())
			_ = m.Ack()
		}, jetstream.PullMaxMessages(256))
		if err != nil {
			return nil, fmt.Errorf("bench: baseline consume: %w", err)
		}
		cleanup = func() {
			cc.Stop()
			dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = js.DeleteStream(dctx, baselineStream)
			cancel()
		}
	}
	defer cleanup()

	senders, closeSenders, err := connectSenders(w, url, "iocmatch-bench-baseline", w.cfg.Mode == "jetstream", &pr.pubErrs)
	if err != nil {
		return nil, err
	}
	defer closeSenders()

	resetOK := resetPeakRSS()
	cpu0 := cpuTime()
	stopProgress := pr.startProgress()
	perr := pr.publish(ctx, senders)
	end, stalled := pr.wait(ctx)
	stopProgress()
	p.CPUSeconds = (cpuTime() - cpu0).Seconds()
	p.PeakRSS, p.PeakRSSReset = peakRSS(), resetOK
	if perr != nil && !errors.Is(perr, context.Canceled) {
		return nil, perr
	}
	cleanup()
	cleanup = func() {}
	p.Processed = received.Load()
	p.Stalled = stalled
	pr.finish(p, end)
	mu.Lock()
	p.Latency = summarize(lat)
	mu.Unlock()
	if stalled && !strings.Contains(name, "core") {
		return p, fmt.Errorf("bench: baseline %s stalled: %d of %d messages received", name, p.Processed, p.Published)
	}
	return p, nil
}
