// Package engine is the running iocmatch engine: it consumes events from
// NATS (engine/stream), decodes them and extracts observables
// (engine/observe), matches them against the current indicator Snapshot
// (engine/match), drops allowlisted and throttled hits (engine/allowlist,
// engine/alert), publishes ECS alerts back to NATS and only then
// acknowledges the events.
//
// # Guarantees (JetStream mode)
//
//   - An event is acknowledged only after every alert it produced is
//     stored by JetStream (publish acknowledgement), or after it was
//     stored on the dead-letter subject. If publishing fails, the event is
//     negatively acknowledged with a delay and comes back later.
//   - Alerts carry Nats-Msg-Id = the stable alert id: an event
//     redelivered after a crash yields the same id, which the alerts
//     stream drops as a duplicate within its duplicate window.
//   - Memory is bounded: Workers goroutines each hold one batch of at most
//     BatchSize events, plus the fetch buffer; the consumer's MaxAckPending
//     bounds what JetStream hands out. When the engine falls behind, the
//     backlog stays in the stream.
//   - The snapshot is loaded once per batch: a batch is matched entirely
//     against one snapshot; SetSnapshot never blocks matching and never
//     drops an event.
//   - Cancelling Run's context drains: fetching stops, the events already
//     received are processed, their alerts published and acknowledged,
//     the events acknowledged, then Run returns nil.
//
// In core mode the engine holds a queue-group subscription: at-most-once
// (no acks, no redelivery; an event in flight when the process dies is
// lost), lowest latency.
//
// The engine knows nothing of feeds: whoever owns the indicators compiles
// a Snapshot and calls SetSnapshot.
package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/alert"
	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
	"github.com/iocmatch/iocmatch/engine/metrics"
	"github.com/iocmatch/iocmatch/engine/observe"
	"github.com/iocmatch/iocmatch/engine/stream"
)

// Mode is the delivery mode.
type Mode uint8

// Delivery modes.
const (
	ModeJetStream Mode = iota // durable pull consumer, at-least-once events, exactly-once alerts (dedup)
	ModeCore                  // core NATS queue group, at-most-once
)

// ParseMode parses "jetstream" or "core".
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(s) {
	case "", "jetstream":
		return ModeJetStream, nil
	case "core":
		return ModeCore, nil
	}
	return 0, fmt.Errorf("engine: mode %q: want jetstream or core", s)
}

// String returns "jetstream" or "core".
func (m Mode) String() string {
	if m == ModeCore {
		return "core"
	}
	return "jetstream"
}

// Options configure an Engine. Zero fields take the defaults noted.
type Options struct {
	Mode     Mode
	Topology stream.Topology        // zero value: stream.DefaultTopology()
	Consumer stream.ConsumerOptions // JetStream consumer (AckWait, MaxAckPending, MaxDeliver)
	Fetch    stream.FetchOptions    // BatchSize (256), BatchWait, Buffer
	// Workers is the number of matching goroutines; 0 means GOMAXPROCS.
	Workers int
	// NakDelay is the redelivery delay after a transient failure
	// (publishing an alert failed); 0 means 2 s.
	NakDelay time.Duration
	// PublishTimeout bounds the wait for the alert acknowledgements of
	// one batch; 0 means 10 s. A timeout is a transient failure.
	PublishTimeout time.Duration
	// DefaultFormat is used when the subject's last token names no
	// format.
	DefaultFormat observe.Format
	// Observe configures the decoders (size, field and depth limits,
	// profiles). Events over Observe.MaxEventBytes are dead-lettered as
	// "too_large".
	Observe observe.Options
	// Alert configures the alert documents.
	Alert alert.Options
	// Throttle configures alert throttling; Window 0 disables it.
	Throttle alert.ThrottleOptions
	// MinConfidence drops hits of indicators whose confidence is known
	// (non-zero) and below it.
	MinConfidence int
	// CorePendingLimit bounds the messages buffered by the core-NATS
	// subscription before it drops (counted); 0 means 65536.
	CorePendingLimit int
	// PendingInterval is how often the consumer's backlog gauge is
	// refreshed; 0 means 5 s.
	PendingInterval time.Duration
}

// Published is an alert that JetStream (or core NATS) accepted, handed to
// Deps.OnAlert for best-effort side outputs (webhook, STIX sightings).
// Alert and JSON are valid only during the OnAlert call: copy to keep.
type Published struct {
	Alert   *alert.Alert
	Subject string
	JSON    []byte // the encoded alert, as published; read-only
}

// Deps are the engine's collaborators.
type Deps struct {
	Conn    *nats.Conn       // required; the engine never closes it
	Log     zerolog.Logger   // no per-event lines
	Metrics *metrics.Metrics // nil: not counted
	Clock   func() time.Time // nil: time.Now
	// OnAlert, when set, is called (from a worker goroutine, after the
	// batch's alerts are acknowledged and before its events are) for
	// every published alert. It must not block for long; failures are
	// its own business (the alerts stream is the source of truth).
	OnAlert func(Published)
}

// Engine matches events from NATS against the current snapshot. Its
// methods are safe for concurrent use; Run is called once.
type Engine struct {
	opts      Options
	log       zerolog.Logger
	m         *metrics.Metrics
	clock     func() time.Time
	nc        *nats.Conn
	js        jetstream.JetStream
	pub       *stream.Publisher
	builder   *alert.Builder
	throttle  *alert.Throttle
	onAlert   func(Published)
	snap      match.Holder
	allow     atomic.Pointer[allowHolder]
	hasSnap   chan struct{}
	snapOnce  sync.Once
	running   atomic.Bool
	fetcher   atomic.Pointer[stream.Fetcher]
	stats     counters
	formatTok map[string]observe.Format
}

// counters are totals since New, for Stats.
type counters struct {
	events, alerts, deadLetters, naks, suppressed, batches atomic.Uint64
}

// Stats are an engine's totals since New.
type Stats struct {
	Events      uint64 // events handled (acked, dead-lettered or nak'ed)
	Alerts      uint64 // alerts published and acknowledged
	DeadLetters uint64 // events dead-lettered
	Naks        uint64 // events negatively acknowledged (transient failures)
	Suppressed  uint64 // hits dropped by allowlist, min confidence or throttle
	Batches     uint64
}

// Stats returns the engine's totals.
func (e *Engine) Stats() Stats {
	return Stats{
		Events: e.stats.events.Load(), Alerts: e.stats.alerts.Load(), DeadLetters: e.stats.deadLetters.Load(),
		Naks: e.stats.naks.Load(), Suppressed: e.stats.suppressed.Load(), Batches: e.stats.batches.Load(),
	}
}

// New validates opts and returns an engine; nothing is started until Run.
func New(opts Options, deps Deps) (*Engine, error) {
	if deps.Conn == nil {
		return nil, errors.New("engine: no NATS connection")
	}
	if opts.Topology.EventsStream == "" {
		opts.Topology = stream.DefaultTopology()
	}
	if err := opts.Topology.Validate(); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.NakDelay <= 0 {
		opts.NakDelay = 2 * time.Second
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = 10 * time.Second
	}
	if opts.PendingInterval <= 0 {
		opts.PendingInterval = 5 * time.Second
	}
	if opts.MinConfidence < 0 || opts.MinConfidence > 100 {
		return nil, fmt.Errorf("engine: min confidence %d out of range 0-100", opts.MinConfidence)
	}
	// Validate the observer options once; each worker builds its own.
	if _, err := observe.New(opts.Observe); err != nil {
		return nil, fmt.Errorf("engine: observe options: %w", err)
	}
	clock := deps.Clock
	if clock == nil {
		clock = time.Now
	}
	e := &Engine{
		opts: opts, log: deps.Log, m: deps.Metrics, clock: clock, nc: deps.Conn,
		builder: alert.NewBuilder(opts.Alert), onAlert: deps.OnAlert, hasSnap: make(chan struct{}),
		formatTok: map[string]observe.Format{},
	}
	for _, f := range []observe.Format{observe.FormatAuto, observe.FormatECS, observe.FormatZeek, observe.FormatEVE, observe.FormatSysmon, observe.FormatRaw} {
		e.formatTok[f.String()] = f
	}
	if opts.Throttle.Window > 0 {
		to := opts.Throttle
		if to.Now == nil {
			to.Now = clock
		}
		t, err := alert.NewThrottle(to)
		if err != nil {
			return nil, fmt.Errorf("engine: throttle: %w", err)
		}
		e.throttle = t
	}
	if opts.Mode == ModeJetStream {
		// Every worker may have a whole batch of alerts (one per event) in
		// flight at once: never let the async window stall a batch.
		batch := opts.Fetch.BatchSize
		if batch <= 0 {
			batch = 256
		}
		js, err := jetstream.New(deps.Conn, jetstream.WithPublishAsyncMaxPending(max(2*opts.Workers*batch, 1024)))
		if err != nil {
			return nil, fmt.Errorf("engine: jetstream: %w", err)
		}
		e.js = js
		e.pub = stream.NewPublisher(deps.Conn, js)
	} else {
		e.pub = stream.NewPublisher(deps.Conn, nil)
	}
	return e, nil
}

// SetSnapshot makes s the snapshot matched from the next batch on. The
// batches being processed finish with the snapshot they started with. A
// nil s is ignored.
func (e *Engine) SetSnapshot(s *match.Snapshot) {
	if s == nil {
		return
	}
	e.snap.Store(s)
	e.snapOnce.Do(func() { close(e.hasSnap) })
}

// Snapshot returns the snapshot in force (nil before the first
// SetSnapshot).
func (e *Engine) Snapshot() *match.Snapshot { return e.snap.Load() }

// Allowlist decides whether a hit is known-benign and names the list that
// allows it; engine/allowlist's *Allowlist implements it. Implementations
// must be safe for concurrent readers.
type Allowlist interface {
	AllowedHit(ind *ioc.Indicator, obs *ioc.Observable) (list string, ok bool)
}

type allowHolder struct{ a Allowlist }

// SetAllowlist makes a the allowlist applied from the next batch on (nil:
// none). Swap a new one in on reload; batches in progress finish with
// the one they started with.
func (e *Engine) SetAllowlist(a Allowlist) {
	if a == nil {
		e.allow.Store(nil)
		return
	}
	e.allow.Store(&allowHolder{a: a})
}

// Ready returns nil when the engine is running, connected to NATS and has
// a snapshot; otherwise the reason it is not ready.
func (e *Engine) Ready() error {
	switch {
	case e.snap.Load() == nil:
		return errors.New("no indicator snapshot loaded yet")
	case !e.nc.IsConnected():
		return fmt.Errorf("not connected to NATS (%s)", e.nc.Status())
	case !e.running.Load() || e.fetcher.Load() == nil:
		return errors.New("engine not consuming yet")
	}
	return nil
}

// Setup creates the streams (and in JetStream mode the durable consumer)
// if absent. Run calls it; it is exported for tools and tests that want
// the topology without running the engine.
func (e *Engine) Setup(ctx context.Context) (jetstream.Consumer, error) {
	js := e.js
	if js == nil {
		var err error
		if js, err = jetstream.New(e.nc); err != nil {
			return nil, fmt.Errorf("engine: jetstream: %w", err)
		}
	}
	ensure := stream.EnsureStreams
	if e.opts.Mode == ModeCore {
		ensure = stream.EnsureOutputStreams
	}
	created, err := ensure(ctx, js, e.opts.Topology)
	if err != nil {
		if e.opts.Mode == ModeCore && errors.Is(err, jetstream.ErrJetStreamNotEnabled) {
			e.log.Warn().Err(err).Msg("core mode without JetStream: alerts are published but not stored")
			return nil, nil
		}
		return nil, fmt.Errorf("engine: %w", err)
	}
	for _, name := range created {
		e.log.Info().Str("stream", name).Msg("created stream")
	}
	if e.opts.Mode == ModeCore {
		return nil, nil
	}
	return stream.EnsureConsumer(ctx, js, e.opts.Topology, e.opts.Consumer)
}

// Run sets up the streams, waits for the first snapshot, and processes
// events until ctx is cancelled, then drains (see the package doc) and
// returns nil. It returns an error when setup fails or the NATS
// connection is closed under it.
func (e *Engine) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("engine: Run called twice")
	}
	defer e.running.Store(false)
	defer e.fetcher.Store(nil)
	cons, err := e.Setup(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped before anything was fetched
		}
		return err
	}
	select {
	case <-e.hasSnap:
	case <-ctx.Done():
		return nil
	}
	var f *stream.Fetcher
	if e.opts.Mode == ModeCore {
		f = stream.NewCoreFetcher(e.nc, e.opts.Topology.EventsSubject, e.opts.Topology.QueueGroup, e.opts.CorePendingLimit, e.opts.Fetch, e.clock, e.log)
	} else {
		f = stream.NewJetStreamFetcher(cons, e.opts.Fetch, e.clock, e.log)
	}
	if err := f.Start(ctx); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	e.fetcher.Store(f)
	if cons != nil && e.m != nil {
		go e.watchPending(ctx, cons)
	}
	if e.opts.Mode == ModeCore {
		go e.watchDropped(ctx, f)
	}
	e.log.Info().Str("mode", e.opts.Mode.String()).Int("workers", e.opts.Workers).
		Str("subject", e.opts.Topology.EventsSubject).Msg("engine running")
	var wg sync.WaitGroup
	for i := range e.opts.Workers {
		w, err := e.newWorker(i)
		if err != nil {
			return err // cannot happen: options validated in New
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(f)
		}()
	}
	wg.Wait()
	if err := f.Err(); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	st := e.Stats()
	e.log.Info().Uint64("events", st.Events).Uint64("alerts", st.Alerts).Uint64("deadletters", st.DeadLetters).
		Msg("engine drained")
	return nil
}

// watchPending refreshes the consumer backlog gauge.
func (e *Engine) watchPending(ctx context.Context, cons jetstream.Consumer) {
	t := time.NewTicker(e.opts.PendingInterval)
	defer t.Stop()
	for {
		ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
		info, err := cons.Info(ictx)
		cancel()
		if err == nil {
			e.m.ConsumerPending.Set(float64(info.NumPending + uint64(info.NumAckPending)))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watchDropped counts (metrics EventsDropped{reason="slow_consumer"}) and
// warns when the core subscription drops events because the engine is too
// slow (at-most-once mode has no backlog to fall back on).
func (e *Engine) watchDropped(ctx context.Context, f *stream.Fetcher) {
	t := time.NewTicker(e.opts.PendingInterval)
	defer t.Stop()
	last := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n := f.Dropped(); n > last {
			if e.m != nil {
				e.m.EventsDropped.WithLabelValues(metrics.DropSlowConsumer).Add(float64(n - last))
			}
			e.log.Warn().Int("dropped", n-last).Int("dropped_total", n).
				Msg("core mode: events dropped by the subscription (engine too slow); use jetstream mode to keep a backlog")
			last = n
		}
	}
}

// formatOf returns the format named by the subject's last token.
func (e *Engine) formatOf(subject string) (observe.Format, string) {
	tok := subject
	if i := strings.LastIndexByte(subject, '.'); i >= 0 {
		tok = subject[i+1:]
	}
	if f, ok := e.formatTok[tok]; ok {
		return f, tok
	}
	return e.opts.DefaultFormat, "other"
}
