// Package refresh keeps the engine's indicator snapshot current: it
// drives the feed scheduler (feeds/poll: sources, intervals with jitter,
// error backoff, status in the store) over the indicator store
// (feeds/store), and whenever the store's content or the set of active
// indicators changes it compiles a new engine/match Snapshot off the hot
// path and hands it to Options.Apply (the engine swaps it in atomically).
//
// This is the feed-to-snapshot wiring that `iocmatch serve` runs; it
// lives under feeds/ because package engine must not import feeds.
//
// A snapshot is recompiled when:
//   - a refresh changed the store (Store.Version moved), including a
//     removed indicator, which is gone from the next snapshot;
//   - an indicator's valid_from or valid_until passed (Store.NextTransition);
//   - the expiry sweep removed expired indicators;
//   - Reload was called (SIGHUP) and the refreshes changed something.
//
// A Manager is safe for concurrent use: compiles are serialised by an
// internal lock.
package refresh

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/match"
	"github.com/iocmatch/iocmatch/engine/metrics"
	"github.com/iocmatch/iocmatch/feeds/poll"
	"github.com/iocmatch/iocmatch/feeds/store"
)

// sampleFeed is a copy of testdata/sample/feed.stix.json (a test checks
// they are identical), embedded so that `iocmatch serve` works from any
// directory with no configuration.
//
//go:embed sample_feed.stix.json
var sampleFeed []byte

// BundledSample returns the bundled sample STIX 2.1 feed (a copy).
func BundledSample() []byte { return bytes.Clone(sampleFeed) }

// SampleFeedName is the feed name of the bundled sample.
const SampleFeedName = "sample"

// SampleFeed returns the bundled sample as a feed named SampleFeedName,
// loaded at start and on Reload only.
func SampleFeed() poll.Feed {
	return poll.Feed{Name: SampleFeedName, Source: &poll.BytesSource{Filename: "feed.stix.json", Data: sampleFeed}}
}

// Options configure a Manager.
type Options struct {
	// Feeds are the scheduled feeds (names unique).
	Feeds []poll.Feed
	// Schedule configures the scheduler (jitter, error backoff, timers);
	// its Logger is replaced by Log, its Now defaults to Clock, and its
	// OnRefresh, if set, is called after the Manager's own handling.
	Schedule poll.Options
	// Match configures snapshot compilation.
	Match       match.Options
	ExpirySweep time.Duration // 0 means 1 minute
	Clock       func() time.Time
	Log         zerolog.Logger
	Metrics     *metrics.Metrics // nil: not counted
	// Apply receives every new snapshot (required).
	Apply func(*match.Snapshot)
}

// Manager refreshes feeds and recompiles snapshots.
type Manager struct {
	st      *store.Store
	opts    Options
	sched   *poll.Scheduler
	changed chan struct{} // a refresh finished: recompile if needed

	mu              sync.Mutex
	compiledVersion uint64
	nextTransition  time.Time
	compiled        bool
	last            *match.Snapshot
}

// New returns a Manager over st; nothing is fetched until RefreshAll or
// Run.
func New(st *store.Store, opts Options) (*Manager, error) {
	if st == nil || opts.Apply == nil {
		return nil, errors.New("refresh: store and Apply are required")
	}
	if opts.ExpirySweep <= 0 {
		opts.ExpirySweep = time.Minute
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	m := &Manager{st: st, opts: opts, changed: make(chan struct{}, 1)}
	so := opts.Schedule
	so.Logger = opts.Log
	if so.Now == nil {
		so.Now = opts.Clock
	}
	user := so.OnRefresh
	so.OnRefresh = func(r poll.Refresh) {
		m.onRefresh(r)
		if user != nil {
			user(r)
		}
	}
	sched, err := poll.New(opts.Feeds, st, so)
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	m.sched = sched
	return m, nil
}

// onRefresh counts a finished refresh and wakes Run to recompile.
func (m *Manager) onRefresh(r poll.Refresh) {
	if mt := m.opts.Metrics; mt != nil {
		if r.Err != nil {
			mt.FeedError(r.Feed, r.Start.Add(r.Duration))
		} else {
			mt.FeedSuccess(r.Feed, r.Start.Add(r.Duration))
		}
	}
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

// Status returns the scheduler's view of every feed.
func (m *Manager) Status() []poll.Status { return m.sched.Status() }

// Snapshot returns the last compiled snapshot (nil before the first).
func (m *Manager) Snapshot() *match.Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

// RefreshAll refreshes every feed now (before Run), then recompiles if
// anything changed (or if nothing was compiled yet). Per-feed failures
// are recorded in the store's status and metrics, logged, and returned
// joined, each naming its feed; the other feeds and the compile still
// happen (the store keeps a failed feed's previous content).
func (m *Manager) RefreshAll(ctx context.Context) error {
	errs := []error{m.sched.RefreshAll(ctx)}
	if err := m.recompile(false); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Reload asks for every feed to be refreshed at once (SIGHUP); Run's
// scheduler does it and the snapshot follows. It never blocks.
func (m *Manager) Reload() {
	m.opts.Log.Info().Msg("reloading every feed")
	m.sched.TriggerAll()
}

// Recompile compiles the active indicators now, whether or not they
// changed, and applies the snapshot.
func (m *Manager) Recompile() error { return m.recompile(true) }

// recompile compiles a snapshot when forced, when the store changed
// since the last compile, or when an indicator became active or expired.
func (m *Manager) recompile(force bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opts.Clock()
	v := m.st.Version()
	if !force && m.compiled && v == m.compiledVersion && (m.nextTransition.IsZero() || now.Before(m.nextTransition)) {
		return nil
	}
	active := m.st.Active(now)
	start := time.Now()
	snap, err := match.Compile(active, m.opts.Match)
	took := time.Since(start)
	if err != nil {
		m.opts.Log.Error().Err(err).Int("indicators", len(active)).Msg("snapshot compile failed; keeping the previous snapshot")
		return fmt.Errorf("refresh: compile %d indicators: %w", len(active), err)
	}
	m.compiled, m.compiledVersion, m.nextTransition, m.last = true, v, m.st.NextTransition(now), snap
	m.opts.Apply(snap)
	if mt := m.opts.Metrics; mt != nil {
		mt.CompileDuration.Observe(took.Seconds())
		mt.SnapshotTimestamp.Set(float64(now.UnixNano()) / 1e9)
		mt.SnapshotIndicators.Set(float64(len(active)))
		byKF := map[[2]string]int{}
		for _, ind := range active {
			byKF[[2]string{ind.Kind.String(), ind.Feed}]++
		}
		mt.SetIndicators(byKF)
	}
	m.opts.Log.Info().Int("indicators", len(active)).Dur("compile", took).Uint64("store_version", v).
		Msg("snapshot swapped in")
	return nil
}

// Run runs the feed scheduler (each feed on its interval; feeds not
// refreshed by RefreshAll are refreshed at once), sweeps expired
// indicators, and recompiles when needed, until ctx ends; it returns
// once the refreshes in progress have finished.
func (m *Manager) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = m.sched.Run(ctx)
	}()
	defer wg.Wait()
	nextSweep := m.opts.Clock().Add(m.opts.ExpirySweep)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := nextSweep
		m.mu.Lock()
		if nt := m.nextTransition; !nt.IsZero() && nt.Before(next) {
			next = nt
		}
		m.mu.Unlock()
		timer.Reset(max(next.Sub(m.opts.Clock()), 0))
		select {
		case <-ctx.Done():
			return
		case <-m.changed:
		case <-timer.C:
		}
		now := m.opts.Clock()
		if !now.Before(nextSweep) {
			if n, err := m.st.Sweep(now); err != nil {
				m.opts.Log.Warn().Err(err).Msg("expiry sweep")
			} else if n > 0 {
				m.opts.Log.Info().Int("removed", n).Msg("expired indicators removed")
			}
			nextSweep = now.Add(m.opts.ExpirySweep)
		}
		_ = m.recompile(false)
	}
}

// FeedNames returns the names of the feeds, sorted.
func (m *Manager) FeedNames() []string {
	out := make([]string, 0, len(m.opts.Feeds))
	for _, f := range m.opts.Feeds {
		out = append(out, f.Name)
	}
	sort.Strings(out)
	return out
}
