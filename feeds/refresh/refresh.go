// Package refresh keeps the engine's indicator snapshot current: it
// refreshes feeds (files, directories, the bundled sample, TAXII
// collections through a Source) into the indicator store (feeds/store),
// and whenever the store's content or the set of active indicators
// changes it compiles a new engine/match Snapshot off the hot path and
// hands it to Options.Apply (the engine swaps it in atomically).
//
// This is the feed-to-snapshot wiring that `iocmatch serve` runs; it
// lives under feeds/ because package engine must not import feeds.
//
// A snapshot is recompiled when:
//   - a refresh changed the store (Store.Version moved), including a
//     removed indicator, which is gone from the next snapshot;
//   - an indicator's valid_from or valid_until passed (Store.NextTransition);
//   - the expiry sweep removed expired indicators;
//   - Reload was called (SIGHUP).
//
// A Manager is safe for concurrent use: refreshes and compiles are
// serialised by an internal lock.
package refresh

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
	"github.com/iocmatch/iocmatch/engine/metrics"
	"github.com/iocmatch/iocmatch/feeds"
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

// Source is one feed. Fetch loads it and applies it to the store
// (ReplaceFeed for a complete list, ApplyIncremental for TAXII), returning
// what changed and what was read.
type Source interface {
	Name() string
	Interval() time.Duration // 0: only on start and Reload
	Fetch(ctx context.Context, st *store.Store) (store.Change, store.FetchStats, error)
}

// Options configure a Manager.
type Options struct {
	Sources     []Source
	Match       match.Options
	ExpirySweep time.Duration // 0 means 1 minute
	Clock       func() time.Time
	Log         zerolog.Logger
	Metrics     *metrics.Metrics // nil: not counted
	// Apply receives every new snapshot (required).
	Apply func(*match.Snapshot)
}

// Manager refreshes sources and recompiles snapshots.
type Manager struct {
	st     *store.Store
	opts   Options
	mu     sync.Mutex
	reload chan struct{}

	compiledVersion uint64
	nextTransition  time.Time
	compiled        bool
	last            *match.Snapshot
}

// New returns a Manager over st.
func New(st *store.Store, opts Options) (*Manager, error) {
	if st == nil || opts.Apply == nil {
		return nil, errors.New("refresh: store and Apply are required")
	}
	seen := map[string]bool{}
	for _, s := range opts.Sources {
		if seen[s.Name()] {
			return nil, fmt.Errorf("refresh: duplicate feed name %q", s.Name())
		}
		seen[s.Name()] = true
	}
	if opts.ExpirySweep <= 0 {
		opts.ExpirySweep = time.Minute
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &Manager{st: st, opts: opts, reload: make(chan struct{}, 1)}, nil
}

// Snapshot returns the last compiled snapshot (nil before the first).
func (m *Manager) Snapshot() *match.Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

// RefreshAll fetches every source now, then recompiles if anything
// changed (or if nothing was compiled yet). Per-feed failures are
// recorded in the store's status and metrics, logged, and returned
// joined; the other feeds and the compile still happen (the store keeps a
// failed feed's previous content).
func (m *Manager) RefreshAll(ctx context.Context) error {
	var errs []error
	for _, s := range m.opts.Sources {
		if err := m.fetch(ctx, s); err != nil {
			errs = append(errs, err)
		}
	}
	if err := m.recompile(false); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Reload asks Run to refresh every source at once (SIGHUP). It never
// blocks.
func (m *Manager) Reload() {
	select {
	case m.reload <- struct{}{}:
	default:
	}
}

// Recompile compiles the active indicators now, whether or not they
// changed, and applies the snapshot.
func (m *Manager) Recompile() error { return m.recompile(true) }

func (m *Manager) fetch(ctx context.Context, s Source) error {
	start := m.opts.Clock()
	ch, stats, err := s.Fetch(ctx, m.st)
	now := m.opts.Clock()
	if err != nil {
		err = fmt.Errorf("feed %s: %w", s.Name(), err)
		if rerr := m.st.RecordError(s.Name(), err); rerr != nil {
			m.opts.Log.Warn().Err(rerr).Str("feed", s.Name()).Msg("recording feed error")
		}
		if m.opts.Metrics != nil {
			m.opts.Metrics.FeedError(s.Name(), now)
		}
		m.opts.Log.Error().Err(err).Str("feed", s.Name()).Msg("feed refresh failed; keeping its previous indicators")
		return err
	}
	if rerr := m.st.RecordSuccess(s.Name(), stats); rerr != nil {
		m.opts.Log.Warn().Err(rerr).Str("feed", s.Name()).Msg("recording feed success")
	}
	if m.opts.Metrics != nil {
		m.opts.Metrics.FeedSuccess(s.Name(), now)
	}
	m.opts.Log.Info().Str("feed", s.Name()).Int("objects", stats.Objects).Int("added", ch.Added).
		Int("updated", ch.Updated).Int("removed", ch.Removed).Int("unsupported", stats.Unsupported).
		Dur("took", now.Sub(start)).Msg("feed refreshed")
	return nil
}

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

// Run refreshes each source on its interval, sweeps expired indicators,
// recompiles when needed, and serves Reload, until ctx ends. Call
// RefreshAll once before (Run does not fetch at start).
func (m *Manager) Run(ctx context.Context) {
	due := make([]time.Time, len(m.opts.Sources))
	now := m.opts.Clock()
	for i, s := range m.opts.Sources {
		if iv := s.Interval(); iv > 0 {
			due[i] = now.Add(iv)
		}
	}
	nextSweep := now.Add(m.opts.ExpirySweep)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := nextSweep
		for _, d := range due {
			if !d.IsZero() && d.Before(next) {
				next = d
			}
		}
		m.mu.Lock()
		if nt := m.nextTransition; !nt.IsZero() && nt.Before(next) {
			next = nt
		}
		m.mu.Unlock()
		timer.Reset(max(next.Sub(m.opts.Clock()), 0))
		select {
		case <-ctx.Done():
			return
		case <-m.reload:
			m.opts.Log.Info().Msg("reloading every feed")
			_ = m.RefreshAll(ctx)
			now := m.opts.Clock()
			for i, s := range m.opts.Sources {
				if iv := s.Interval(); iv > 0 {
					due[i] = now.Add(iv)
				}
			}
			continue
		case <-timer.C:
		}
		now := m.opts.Clock()
		for i, s := range m.opts.Sources {
			if !due[i].IsZero() && !now.Before(due[i]) {
				_ = m.fetch(ctx, s)
				due[i] = m.opts.Clock().Add(s.Interval())
			}
		}
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

// FileSource is a feed read from a file or a directory with the feeds
// loader (format detected unless set), replacing the feed's content in
// the store on each refresh: a value no longer in the file is removed.
type FileSource struct {
	Feed    string
	Path    string
	Options feeds.LoadOptions // Feed is set from Feed
	Every   time.Duration
}

// Name implements Source.
func (f *FileSource) Name() string { return f.Feed }

// Interval implements Source.
func (f *FileSource) Interval() time.Duration { return f.Every }

// Fetch implements Source.
func (f *FileSource) Fetch(_ context.Context, st *store.Store) (store.Change, store.FetchStats, error) {
	opts := f.Options
	opts.Feed = f.Feed
	fi, err := os.Stat(f.Path)
	if err != nil {
		return store.Change{}, store.FetchStats{}, err
	}
	var inds []*ioc.Indicator
	var rep feeds.LoadReport
	if fi.IsDir() {
		inds, rep, err = feeds.LoadDir(f.Path, opts)
	} else {
		inds, rep, err = feeds.LoadFile(f.Path, opts)
	}
	if err != nil {
		return store.Change{}, store.FetchStats{}, err
	}
	return replace(st, f.Feed, inds, rep)
}

// BytesSource is a feed held in memory (the bundled sample), loaded once
// per refresh like a file named Filename.
type BytesSource struct {
	Feed     string
	Filename string // for format detection and messages
	Data     []byte
	Options  feeds.LoadOptions
}

// Name implements Source.
func (b *BytesSource) Name() string { return b.Feed }

// Interval implements Source: in-memory feeds never change.
func (b *BytesSource) Interval() time.Duration { return 0 }

// Fetch implements Source.
func (b *BytesSource) Fetch(_ context.Context, st *store.Store) (store.Change, store.FetchStats, error) {
	opts := b.Options
	opts.Feed = b.Feed
	inds, rep, err := feeds.Load(bytes.NewReader(b.Data), b.Filename, opts)
	if err != nil {
		return store.Change{}, store.FetchStats{}, err
	}
	return replace(st, b.Feed, inds, rep)
}

// SampleSource returns the bundled sample feed as a Source.
func SampleSource() *BytesSource {
	return &BytesSource{Feed: SampleFeedName, Filename: "feed.stix.json", Data: sampleFeed}
}

func replace(st *store.Store, feed string, inds []*ioc.Indicator, rep feeds.LoadReport) (store.Change, store.FetchStats, error) {
	for _, ind := range inds {
		ind.Feed = feed
	}
	ch, err := st.ReplaceFeed(feed, inds)
	if err != nil {
		return ch, store.FetchStats{}, err
	}
	return ch, stats(rep), nil
}

func stats(rep feeds.LoadReport) store.FetchStats {
	byKind := make(map[ioc.Kind]int, len(rep.ByKind))
	for k, n := range rep.ByKind {
		byKind[k] = n
	}
	return store.FetchStats{Objects: rep.Records, ByKind: byKind, Unsupported: len(rep.Unsupported), NeedsCorrelation: len(rep.NeedsCorrelation)}
}

// FeedNames returns the names of the sources, sorted.
func (m *Manager) FeedNames() []string {
	out := make([]string, 0, len(m.opts.Sources))
	for _, s := range m.opts.Sources {
		out = append(out, s.Name())
	}
	sort.Strings(out)
	return out
}
