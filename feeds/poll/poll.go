// Package poll is iocmatch's one place for feed sources and their
// schedule: it refreshes feeds and applies them to the indicator store
// (feeds/store). Each feed (a TAXII 2.x collection set, a file or a
// directory of STIX, MISP or list files, a file over HTTP(S), an in-memory
// document) is refreshed at start and then every interval, plus or minus
// a random jitter, in a goroutine of its own; failed refreshes are retried
// sooner, with a backoff that doubles up to the interval.
//
// TAXII feeds are incremental: the added_after checkpoint of every
// collection is kept in the store (Store.Checkpoint/SetCheckpoint), so a
// restart asks only for what was added since, and so is the STIX
// relationship context (Store.Blob/SetBlob), so an indicator arriving
// after its malware or relationships still gets its context. Files,
// HTTP documents and in-memory documents are loaded whole and replace the
// feed's content (a line removed from a list removes the indicator).
//
// Compiling match snapshots from the store is feeds/refresh's job, which
// drives a Scheduler.
//
// Every refresh is recorded in the store (RecordSuccess/RecordError) and
// reported to Options.OnRefresh (metrics, recompilation); Status returns
// the scheduler's view of every feed.
//
// A Scheduler is safe for concurrent use: Run drives it, Trigger and
// Status may be called from any goroutine.
package poll

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/feeds/store"
)

// Store is the part of *store.Store the scheduler and its sources use.
type Store interface {
	ApplyIncremental(feed string, inds []*ioc.Indicator, revoked []string) (store.Change, error)
	ReplaceFeed(feed string, inds []*ioc.Indicator) (store.Change, error)
	Checkpoint(feed, key string) string
	SetCheckpoint(feed, key, value string) error
	RecordSuccess(feed string, st store.FetchStats) error
	RecordError(feed string, err error) error
	Blob(feed, name string) ([]byte, error)
	SetBlob(feed, name string, data []byte) error
}

var _ Store = (*store.Store)(nil)

// Source fetches one feed and applies it to the store.
type Source interface {
	// Refresh fetches the feed named feed and applies what it got to st.
	// It returns what was fetched and how the store changed; on error it
	// may have applied part of the data (a TAXII source keeps the pages
	// it completed), never data it did not fully receive.
	Refresh(ctx context.Context, feed string, st Store) (Result, error)
}

// Result is the outcome of one refresh.
type Result struct {
	Stats  store.FetchStats
	Change store.Change
}

// Feed is one scheduled feed.
type Feed struct {
	Name   string // store feed name; [A-Za-z0-9._-]+, unique
	Source Source // what to fetch
	// Interval is the time between refreshes; 0 refreshes only at start
	// and on Trigger (an in-memory feed), failures being retried with
	// the error backoff up to StaticRetryMax.
	Interval time.Duration
}

// StaticRetryMax caps the error backoff of a feed whose Interval is 0.
const StaticRetryMax = time.Hour

// Refresh describes a finished refresh, as passed to Options.OnRefresh.
type Refresh struct {
	Feed     string
	Start    time.Time
	Duration time.Duration
	Result   Result
	Err      error
}

// Options configures a Scheduler.
type Options struct {
	// Logger receives one line per refresh (info on success, warn on
	// error).
	Logger zerolog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// After returns a channel that fires after d (default time.After);
	// tests inject a fake.
	After func(d time.Duration) <-chan time.Time
	// Jitter is the fraction of the interval by which each wait is
	// randomly lengthened or shortened (default 0.1; negative: none).
	Jitter float64
	// Rand returns a uniform float64 in [0, 1) (default math/rand/v2).
	Rand func() float64
	// ErrorBackoff is the wait after a first failure (default 1 min);
	// it doubles with each consecutive failure, up to the interval.
	ErrorBackoff time.Duration
	// OnRefresh, if set, is called after every refresh (from the feed's
	// goroutine): update metrics, recompile when Result.Change shows a
	// change.
	OnRefresh func(Refresh)
}

// Status is the scheduler's view of one feed.
type Status struct {
	Feed              string    `json:"feed"`
	Running           bool      `json:"running"`
	LastStart         time.Time `json:"last_start,omitzero"`
	LastSuccess       time.Time `json:"last_success,omitzero"`
	LastError         time.Time `json:"last_error,omitzero"`
	LastErrorMsg      string    `json:"last_error_msg,omitempty"`
	ConsecutiveErrors int       `json:"consecutive_errors"`
	Objects           int       `json:"objects"` // seen by the last refresh
	Refreshes         int       `json:"refreshes"`
	NextRun           time.Time `json:"next_run,omitzero"`
}

// Scheduler refreshes a fixed set of feeds.
type Scheduler struct {
	feeds []Feed
	st    Store
	opts  Options

	mu      sync.Mutex
	status  map[string]*Status
	trigger map[string]chan struct{}
	running bool
}

var feedName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// New validates the feeds and returns a scheduler; nothing runs until Run.
func New(feeds []Feed, st Store, opts Options) (*Scheduler, error) {
	if st == nil {
		return nil, errors.New("poll: nil store")
	}
	s := &Scheduler{st: st, opts: opts, status: map[string]*Status{}, trigger: map[string]chan struct{}{}}
	for i, f := range feeds {
		switch {
		case !feedName.MatchString(f.Name):
			return nil, fmt.Errorf("poll: feeds[%d]: name %q: want [A-Za-z0-9._-]+", i, f.Name)
		case s.status[f.Name] != nil:
			return nil, fmt.Errorf("poll: feeds[%d]: duplicate feed name %q", i, f.Name)
		case f.Source == nil:
			return nil, fmt.Errorf("poll: feed %s: no source", f.Name)
		case f.Interval < 0:
			return nil, fmt.Errorf("poll: feed %s: interval %v is negative", f.Name, f.Interval)
		}
		s.feeds = append(s.feeds, f)
		s.status[f.Name] = &Status{Feed: f.Name}
		s.trigger[f.Name] = make(chan struct{}, 1)
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	if s.opts.After == nil {
		s.opts.After = time.After
	}
	if s.opts.Jitter == 0 {
		s.opts.Jitter = 0.1
	}
	if s.opts.Jitter > 1 {
		return nil, fmt.Errorf("poll: jitter %v above 1", s.opts.Jitter)
	}
	if s.opts.Rand == nil {
		s.opts.Rand = rand.Float64
	}
	if s.opts.ErrorBackoff <= 0 {
		s.opts.ErrorBackoff = time.Minute
	}
	return s, nil
}

// RefreshAll refreshes every feed once, one after the other, and returns
// the failures joined (each naming its feed); a failed feed keeps its
// previous content. It is meant for start-up, before Run (which then
// waits an interval before refreshing those feeds again); while Run runs
// it fails (use TriggerAll).
func (s *Scheduler) RefreshAll(ctx context.Context) error {
	s.mu.Lock()
	running := s.running
	s.mu.Unlock()
	if running {
		return errors.New("poll: RefreshAll while Run runs: use TriggerAll")
	}
	var errs []error
	for _, f := range s.feeds {
		if _, err := s.refresh(ctx, f); err != nil {
			errs = append(errs, fmt.Errorf("feed %s: %w", f.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Run refreshes every feed not yet refreshed (by RefreshAll) now, then
// on schedule, until ctx is done. It returns after every refresh in
// progress has finished (they see ctx's cancellation), with ctx's error.
// Run may be called once.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("poll: Run called twice")
	}
	s.running = true
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, f := range s.feeds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, f)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// Trigger asks for an immediate refresh of the named feed (SIGHUP); it
// reports whether the feed exists. A refresh already pending is not
// doubled.
func (s *Scheduler) Trigger(name string) bool {
	ch, ok := s.trigger[name]
	if ok {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return ok
}

// TriggerAll asks for an immediate refresh of every feed.
func (s *Scheduler) TriggerAll() {
	for name := range s.trigger {
		s.Trigger(name)
	}
}

// Status returns the status of every feed, in configuration order.
func (s *Scheduler) Status() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.feeds))
	for _, f := range s.feeds {
		out = append(out, *s.status[f.Name])
	}
	return out
}

func (s *Scheduler) loop(ctx context.Context, f Feed) {
	s.mu.Lock()
	failures, done := s.status[f.Name].ConsecutiveErrors, s.status[f.Name].Refreshes > 0
	s.mu.Unlock()
	for {
		if !done {
			failures, _ = s.refresh(ctx, f)
		}
		done = false
		if ctx.Err() != nil {
			return
		}
		var timer <-chan time.Time
		if f.Interval > 0 || failures > 0 {
			wait := s.wait(f.Interval, failures)
			s.mu.Lock()
			s.status[f.Name].NextRun = s.opts.Now().Add(wait)
			s.mu.Unlock()
			timer = s.opts.After(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.trigger[f.Name]:
		case <-timer:
		}
	}
}

// wait is the time to the next refresh: the interval (or, after
// failures, the error backoff doubled per failure, capped at the
// interval, or at StaticRetryMax for an interval of 0), with jitter.
func (s *Scheduler) wait(interval time.Duration, failures int) time.Duration {
	d := interval
	if failures > 0 {
		limit := interval
		if limit <= 0 {
			limit = StaticRetryMax
		}
		b := s.opts.ErrorBackoff
		for i := 1; i < failures && b < limit; i++ {
			b *= 2
		}
		d = min(b, limit)
	}
	if j := s.opts.Jitter; j > 0 {
		d += time.Duration((2*s.opts.Rand() - 1) * j * float64(d))
	}
	return max(d, time.Second)
}

// refresh runs one refresh of f and returns the consecutive failures and
// the refresh's error.
func (s *Scheduler) refresh(ctx context.Context, f Feed) (int, error) {
	start := s.opts.Now()
	s.mu.Lock()
	st := s.status[f.Name]
	st.Running, st.LastStart = true, start
	s.mu.Unlock()

	res, err := f.Source.Refresh(ctx, f.Name, s.st)
	end := s.opts.Now()
	log := s.opts.Logger.With().Str("feed", f.Name).Dur("took", end.Sub(start)).Logger()
	if err != nil {
		if rerr := s.st.RecordError(f.Name, err); rerr != nil {
			log.Error().Err(rerr).Msg("poll: recording the feed error in the store failed")
		}
		if ctx.Err() == nil {
			log.Warn().Err(err).Int("objects", res.Stats.Objects).Msg("poll: feed refresh failed")
		}
	} else {
		if rerr := s.st.RecordSuccess(f.Name, res.Stats); rerr != nil {
			log.Error().Err(rerr).Msg("poll: recording the feed success in the store failed")
		}
		log.Info().Int("objects", res.Stats.Objects).Int("added", res.Change.Added).Int("updated", res.Change.Updated).
			Int("removed", res.Change.Removed).Msg("poll: feed refreshed")
	}
	s.mu.Lock()
	st.Running = false
	st.Refreshes++
	st.Objects = res.Stats.Objects
	if err != nil {
		st.LastError, st.LastErrorMsg = end, err.Error()
		st.ConsecutiveErrors++
	} else {
		st.LastSuccess = end
		st.ConsecutiveErrors = 0
	}
	failures := st.ConsecutiveErrors
	s.mu.Unlock()
	if s.opts.OnRefresh != nil {
		s.opts.OnRefresh(Refresh{Feed: f.Name, Start: start, Duration: end.Sub(start), Result: res, Err: err})
	}
	return failures, err
}
