// Package store is the persisted indicator store: it holds the current
// indicators of every feed with their lifecycle, and survives restarts so
// that a restarted engine matches immediately, without re-downloading.
//
// # Identity and versions
//
// An indicator is identified by (feed, Indicator.ID). All indicators of a
// feed that share an ID (the atoms and compound expressions of one STIX
// indicator) form one group that is added, replaced and removed as a
// whole; list values have ids of their own (feed:kind:value), so each is a
// group of one.
//
//   - ApplyIncremental (TAXII, STIX files): a group whose Modified is after
//     the stored group's replaces it; the same or an older Modified is
//     ignored; a revoked id is removed and remembered (a tombstone), so an
//     older copy delivered later never brings it back.
//   - ReplaceFeed (lists, files): the given indicators become the feed's
//     whole content; a value the feed no longer carries is removed.
//   - Sweep removes indicators whose valid_until is in the past.
//   - Active(now) returns the indicators valid at now (valid_from <= now <
//     valid_until). Version changes with every change of content, so a
//     service recompiles its matcher when Version differs from the one it
//     compiled; NextTransition tells when time alone will change Active.
//
// # Persistence and crash safety
//
// The data directory holds one file per feed (feed-<hash>.jsonl: a header
// line, one indicator JSON per line, and a trailer line with the count and
// the SHA-256 of everything before it), state.json (checkpoints, feed
// status, and the names of blobs: opaque per-feed values such as a TAXII
// collection's STIX context objects, see SetBlob) and one
// blob-<hash>.bin per blob (a checksummed header line, then the value).
// Every mutating call writes before it returns: a temporary
// file is written and fsynced, the current file is renamed to <name>.prev,
// the temporary file renamed into place and the directory fsynced. A crash
// therefore leaves either the new file, or the previous one (as the file
// or as .prev); leftover temporary files are deleted by Open.
//
// On Open a feed file that is torn or corrupt (no trailer, checksum
// mismatch, bad JSON) is logged and replaced by its
// .prev file when that one is good. Because the previous file may lack
// objects that a TAXII checkpoint already covers, the checkpoints of a
// feed recovered this way are cleared (the next poll downloads the
// collection again). When neither file is good, Open fails with an error
// naming the file. A stored indicator that passes the checksum but no
// longer validates (a newer ioc.Normalize rejects it) is dropped with a
// warning instead, and the feed's checkpoints are cleared so that the
// next poll brings it back. A corrupt state.json likewise falls back to
// state.json.prev, or fails naming it. A lock file (LOCK, flock) keeps two
// processes from using one directory.
//
// # Concurrency
//
// A Store is safe for concurrent use by multiple goroutines. Mutations are
// serialised (including their file writes); readers (Active, Status,
// Checkpoint) take a shared lock; Version is lock-free. Returned
// indicators are shared and must not be modified.
package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// ErrClosed is returned by mutations after Close.
var ErrClosed = errors.New("store: closed")

// Options configures a Store.
type Options struct {
	Logger zerolog.Logger       // recoveries and removals of leftovers; zero value: no logging
	Clock  func() time.Time     // time of RecordSuccess/RecordError; nil: time.Now
	Sync   func(*os.File) error // fsync; nil: (*os.File).Sync (tests may inject failures)
}

// Change counts what a mutation did, in indicator groups (STIX ids or list values).
type Change struct {
	Added   int `json:"added"`
	Updated int `json:"updated"`
	Removed int `json:"removed"`
	Ignored int `json:"ignored"` // same or older versions, revoked ids, unchanged values
}

// Changed reports whether the mutation changed the content.
func (c Change) Changed() bool { return c.Added+c.Updated+c.Removed > 0 }

// FetchStats is what a feed refresh reports to RecordSuccess.
type FetchStats struct {
	Objects          int              `json:"objects"` // objects / lines / attributes read
	ByKind           map[ioc.Kind]int `json:"by_kind,omitempty"`
	Unsupported      int              `json:"unsupported"`
	NeedsCorrelation int              `json:"needs_correlation"`
}

// Status is the health of one feed.
type Status struct {
	Feed              string           `json:"feed"`
	LastSuccess       time.Time        `json:"last_success,omitzero"`
	LastError         time.Time        `json:"last_error,omitzero"`
	LastErrorMsg      string           `json:"last_error_msg,omitempty"`
	ConsecutiveErrors int              `json:"consecutive_errors"`
	Objects           int              `json:"objects"` // of the last successful refresh
	FetchedByKind     map[ioc.Kind]int `json:"fetched_by_kind,omitempty"`
	Unsupported       int              `json:"unsupported"`
	NeedsCorrelation  int              `json:"needs_correlation"`
	Indicators        int              `json:"indicators"` // held in the store now
	ByKind            map[ioc.Kind]int `json:"by_kind,omitempty"`
}

// group is the indicators of one id in one feed.
type group struct {
	modified time.Time
	inds     []*ioc.Indicator
	lines    [][]byte // JSON of each indicator, encoded once: files are rewritten from these
}

// feedData is one feed's content.
type feedData struct {
	groups  map[string]*group
	revoked map[string]struct{} // tombstones
	dropped []string            // set by decodeFeed: stored indicators that no longer validate
}

func newFeedData() *feedData {
	return &feedData{groups: make(map[string]*group), revoked: make(map[string]struct{})}
}

// Store is the indicator store. See the package doc.
type Store struct {
	dir  string
	opts Options
	lock *os.File

	mu      sync.RWMutex
	closed  bool
	feeds   map[string]*feedData
	state   persistedState
	sorted  map[string][]*ioc.Indicator // per feed, by id; recomputed for the feeds a change touches
	all     []*ioc.Indicator            // every stored indicator, by feed then id
	version atomic.Uint64
}

// Open opens (creating it if needed) the store in dir and loads what it
// holds. See the package doc for the recovery rules.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Sync == nil {
		opts.Sync = (*os.File).Sync
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{dir: dir, opts: opts, lock: lock, feeds: make(map[string]*feedData), sorted: make(map[string][]*ioc.Indicator)}
	if err := s.load(); err != nil {
		unlockDir(lock)
		return nil, err
	}
	for f := range s.feeds {
		s.sortFeed(f)
	}
	s.rebuild()
	s.version.Store(1)
	return s, nil
}

// Close releases the directory lock. Mutations after Close fail with
// ErrClosed; reads keep working on the loaded content.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return unlockDir(s.lock)
}

// Version is a number that changes (increases) with every change of the
// stored content. It starts at 1 on Open.
func (s *Store) Version() uint64 { return s.version.Load() }

// Feeds returns the names of the feeds holding indicators or state, sorted.
func (s *Store) Feeds() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	set := make(map[string]struct{})
	for f := range s.feeds {
		set[f] = struct{}{}
	}
	for f := range s.state.Status {
		set[f] = struct{}{}
	}
	for f := range s.state.Checkpoints {
		set[f] = struct{}{}
	}
	for f := range s.state.Blobs {
		set[f] = struct{}{}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// groupInput groups indicators by id, in first-seen order, and checks them.
func groupInput(feed string, inds []*ioc.Indicator) ([]string, map[string]*group, error) {
	if feed == "" {
		return nil, nil, errors.New("store: empty feed name")
	}
	var order []string
	groups := make(map[string]*group)
	for i, ind := range inds {
		if ind == nil {
			return nil, nil, fmt.Errorf("store: feed %s: indicator #%d is nil", feed, i)
		}
		if err := ind.Validate(); err != nil {
			return nil, nil, fmt.Errorf("store: feed %s: indicator #%d: %w", feed, i, err)
		}
		line, err := encodeIndicator(ind)
		if err != nil {
			return nil, nil, fmt.Errorf("store: feed %s: indicator %s: %w", feed, ind.ID, err)
		}
		g, ok := groups[ind.ID]
		if !ok {
			g = &group{}
			groups[ind.ID] = g
			order = append(order, ind.ID)
		}
		if ind.Modified.After(g.modified) {
			g.modified = ind.Modified
		}
		g.inds = append(g.inds, ind)
		g.lines = append(g.lines, line)
	}
	return order, groups, nil
}

// ApplyIncremental merges a delta into feed: each group of indicators
// (by ID) replaces the stored group when its Modified is after the stored
// one; same or older versions are ignored; revoked ids are removed and
// never re-added. The change is persisted before the call returns; on a
// write error nothing changes. An invalid indicator is an error naming
// it, and nothing is applied.
func (s *Store) ApplyIncremental(feed string, inds []*ioc.Indicator, revoked []string) (Change, error) {
	order, groups, err := groupInput(feed, inds)
	if err != nil {
		return Change{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Change{}, ErrClosed
	}
	old := s.feeds[feed]
	if old == nil {
		old = newFeedData()
	}
	next := &feedData{groups: make(map[string]*group, len(old.groups)), revoked: make(map[string]struct{}, len(old.revoked)+len(revoked))}
	for id, g := range old.groups {
		next.groups[id] = g
	}
	for id := range old.revoked {
		next.revoked[id] = struct{}{}
	}
	var ch Change
	newTomb := false
	for _, id := range revoked {
		if _, ok := next.revoked[id]; !ok {
			next.revoked[id] = struct{}{}
			newTomb = true
		}
		if _, ok := next.groups[id]; ok {
			delete(next.groups, id)
			ch.Removed++
		}
	}
	for _, id := range order {
		g := groups[id]
		if _, dead := next.revoked[id]; dead {
			ch.Ignored++
			continue
		}
		cur, ok := next.groups[id]
		switch {
		case !ok:
			ch.Added++
		case g.modified.After(cur.modified):
			ch.Updated++
		default:
			ch.Ignored++
			continue
		}
		next.groups[id] = g
	}
	if !ch.Changed() && !newTomb {
		return ch, nil
	}
	if err := s.writeFeed(feed, next); err != nil {
		return Change{}, err
	}
	s.feeds[feed] = next
	if ch.Changed() {
		s.changed(feed)
	}
	return ch, nil
}

// ReplaceFeed makes inds the whole content of feed: groups not in inds
// are removed, new ones added, changed ones (any field) updated. An empty
// inds empties the feed. Persisted before returning; on a write error
// nothing changes.
func (s *Store) ReplaceFeed(feed string, inds []*ioc.Indicator) (Change, error) {
	order, groups, err := groupInput(feed, inds)
	if err != nil {
		return Change{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Change{}, ErrClosed
	}
	old := s.feeds[feed]
	if old == nil {
		old = newFeedData()
	}
	next := &feedData{groups: make(map[string]*group, len(groups)), revoked: old.revoked}
	var ch Change
	for _, id := range order {
		g := groups[id]
		cur, ok := old.groups[id]
		switch {
		case !ok:
			ch.Added++
		case sameGroup(cur, g):
			ch.Ignored++
			g = cur // keep the stored pointers: nothing changed
		default:
			ch.Updated++
		}
		next.groups[id] = g
	}
	for id := range old.groups {
		if _, ok := groups[id]; !ok {
			ch.Removed++
		}
	}
	if !ch.Changed() {
		return ch, nil
	}
	if err := s.writeFeed(feed, next); err != nil {
		return Change{}, err
	}
	s.feeds[feed] = next
	s.changed(feed)
	return ch, nil
}

// RemoveFeed deletes a feed's indicators, checkpoints, status and blobs.
func (s *Store) RemoveFeed(feed string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	_, had := s.feeds[feed]
	st := s.state.clone()
	blobs := st.Blobs[feed]
	delete(st.Checkpoints, feed)
	delete(st.Status, feed)
	delete(st.Blobs, feed)
	if err := s.writeState(st); err != nil {
		return err
	}
	s.state = st
	for _, n := range blobs {
		if err := s.removeFiles(blobFileName(feed, n)); err != nil {
			return err
		}
	}
	if err := s.removeFeedFiles(feed); err != nil {
		return err
	}
	delete(s.feeds, feed)
	if had {
		s.changed(feed)
	}
	return nil
}

// Sweep removes the indicators whose valid_until is at or before now (a
// group loses its expired members; an emptied group goes). It returns
// how many indicators it removed.
func (s *Store) Sweep(now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	removed := 0
	var touched []string
	names := make([]string, 0, len(s.feeds))
	for f := range s.feeds {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, feed := range names {
		fd := s.feeds[feed]
		var next *feedData
		n := 0
		for id, g := range fd.groups {
			keep := g.inds[:0:0]
			var keepLines [][]byte
			for i, ind := range g.inds {
				if !ind.ValidUntil.IsZero() && !now.Before(ind.ValidUntil) {
					continue
				}
				keep = append(keep, ind)
				keepLines = append(keepLines, g.lines[i])
			}
			if len(keep) == len(g.inds) {
				continue
			}
			if next == nil {
				next = &feedData{groups: make(map[string]*group, len(fd.groups)), revoked: fd.revoked}
				for k, v := range fd.groups {
					next.groups[k] = v
				}
			}
			n += len(g.inds) - len(keep)
			if len(keep) == 0 {
				delete(next.groups, id)
			} else {
				next.groups[id] = &group{modified: g.modified, inds: keep, lines: keepLines}
			}
		}
		if next == nil {
			continue
		}
		if err := s.writeFeed(feed, next); err != nil {
			if removed > 0 {
				s.changed(touched...)
			}
			return removed, err
		}
		s.feeds[feed] = next
		removed += n
		touched = append(touched, feed)
	}
	if removed > 0 {
		s.changed(touched...)
	}
	return removed, nil
}

// Active returns the indicators valid at now, ordered by feed then id.
// The slice is new; the indicators are shared and must not be modified.
func (s *Store) Active(now time.Time) []*ioc.Indicator {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*ioc.Indicator, 0, len(s.all))
	for _, ind := range s.all {
		if ind.ActiveAt(now) {
			out = append(out, ind)
		}
	}
	return out
}

// Len returns the number of stored indicators (active or not).
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.all)
}

// NextTransition returns the earliest valid_from or valid_until after now
// among the stored indicators: the time at which Active(t) will differ
// without any change of Version. Zero when there is none.
func (s *Store) NextTransition(now time.Time) time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, ind := range s.all {
		consider(ind.ValidFrom)
		consider(ind.ValidUntil)
	}
	return next
}

// Checkpoint returns the checkpoint key of feed (e.g. a TAXII
// collection's added_after), or "".
func (s *Store) Checkpoint(feed, key string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.state.Checkpoints[feed][key]
}

// SetCheckpoint sets (or, with value "", deletes) a checkpoint,
// persisted before returning.
func (s *Store) SetCheckpoint(feed, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.state.Checkpoints[feed][key] == value {
		return nil
	}
	st := s.state.clone()
	if value == "" {
		delete(st.Checkpoints[feed], key)
		if len(st.Checkpoints[feed]) == 0 {
			delete(st.Checkpoints, feed)
		}
	} else {
		if st.Checkpoints[feed] == nil {
			st.Checkpoints[feed] = make(map[string]string)
		}
		st.Checkpoints[feed][key] = value
	}
	if err := s.writeState(st); err != nil {
		return err
	}
	s.state = st
	return nil
}

// RecordSuccess records a successful refresh of feed at the store's clock.
func (s *Store) RecordSuccess(feed string, st FetchStats) error {
	return s.updateStatus(feed, func(x *feedStatus) {
		x.LastSuccess = s.opts.Clock().UTC()
		x.ConsecutiveErrors = 0
		x.Objects = st.Objects
		x.FetchedByKind = copyKinds(st.ByKind)
		x.Unsupported = st.Unsupported
		x.NeedsCorrelation = st.NeedsCorrelation
	})
}

// RecordError records a failed refresh of feed at the store's clock.
func (s *Store) RecordError(feed string, err error) error {
	msg := "unknown error"
	if err != nil {
		msg = err.Error()
	}
	return s.updateStatus(feed, func(x *feedStatus) {
		x.LastError = s.opts.Clock().UTC()
		x.LastErrorMsg = msg
		x.ConsecutiveErrors++
	})
}

func (s *Store) updateStatus(feed string, f func(*feedStatus)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	st := s.state.clone()
	x := st.Status[feed]
	if x == nil {
		x = &feedStatus{}
	} else {
		c := *x
		x = &c
	}
	f(x)
	st.Status[feed] = x
	if err := s.writeState(st); err != nil {
		return err
	}
	s.state = st
	return nil
}

// Status returns the status of one feed; false when the store knows
// nothing of it.
func (s *Store) Status(feed string) (Status, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.status(feed)
}

func (s *Store) status(feed string) (Status, bool) {
	st := Status{Feed: feed}
	x, ok := s.state.Status[feed]
	if ok {
		st.LastSuccess, st.LastError, st.LastErrorMsg = x.LastSuccess, x.LastError, x.LastErrorMsg
		st.ConsecutiveErrors, st.Objects = x.ConsecutiveErrors, x.Objects
		st.FetchedByKind = copyKinds(x.FetchedByKind)
		st.Unsupported, st.NeedsCorrelation = x.Unsupported, x.NeedsCorrelation
	}
	fd, have := s.feeds[feed]
	if have {
		for _, g := range fd.groups {
			for _, ind := range g.inds {
				if st.ByKind == nil {
					st.ByKind = make(map[ioc.Kind]int)
				}
				st.ByKind[ind.Kind]++
				st.Indicators++
			}
		}
	}
	_, cp := s.state.Checkpoints[feed]
	return st, ok || have || cp
}

// Statuses returns the status of every feed, sorted by feed name.
func (s *Store) Statuses() []Status {
	names := s.Feeds()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Status, 0, len(names))
	for _, f := range names {
		if st, ok := s.status(f); ok {
			out = append(out, st)
		}
	}
	return out
}

func copyKinds(m map[ioc.Kind]int) map[ioc.Kind]int {
	if len(m) == 0 {
		return nil
	}
	out := make(map[ioc.Kind]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// changed re-sorts the touched feeds, rebuilds the ordered view and bumps
// the version. Called with mu held.
func (s *Store) changed(feeds ...string) {
	for _, f := range feeds {
		s.sortFeed(f)
	}
	s.rebuild()
	s.version.Add(1)
}

// sortFeed recomputes the by-id view of one feed.
func (s *Store) sortFeed(feed string) {
	fd, ok := s.feeds[feed]
	if !ok || len(fd.groups) == 0 {
		delete(s.sorted, feed)
		return
	}
	ids := make([]string, 0, len(fd.groups))
	n := 0
	for id, g := range fd.groups {
		ids = append(ids, id)
		n += len(g.inds)
	}
	sort.Strings(ids)
	out := make([]*ioc.Indicator, 0, n)
	for _, id := range ids {
		out = append(out, fd.groups[id].inds...)
	}
	s.sorted[feed] = out
}

// rebuild concatenates the per-feed views in feed order.
func (s *Store) rebuild() {
	names := make([]string, 0, len(s.sorted))
	n := 0
	for f, inds := range s.sorted {
		names = append(names, f)
		n += len(inds)
	}
	sort.Strings(names)
	all := make([]*ioc.Indicator, 0, n)
	for _, f := range names {
		all = append(all, s.sorted[f]...)
	}
	s.all = all
}

// sameGroup reports whether two groups hold equal indicators (by their JSON).
func sameGroup(a, b *group) bool {
	if len(a.lines) != len(b.lines) {
		return false
	}
	for i := range a.lines {
		if !bytes.Equal(a.lines[i], b.lines[i]) {
			return false
		}
	}
	return true
}

// feedFileError names a file that failed to load.
type feedFileError struct {
	path string
	err  error
}

func (e *feedFileError) Error() string { return fmt.Sprintf("store: %s: %v", e.path, e.err) }
func (e *feedFileError) Unwrap() error { return e.err }

func isTemp(name string) bool { return strings.Contains(name, ".tmp-") }
