package poll

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/feeds"
	"github.com/iocmatch/iocmatch/feeds/stix"
	"github.com/iocmatch/iocmatch/feeds/store"
	"github.com/iocmatch/iocmatch/feeds/taxii"
)

// TAXIIOptions configures a TAXII source.
type TAXIIOptions struct {
	// APIRoot is the API root (URL or path); "" uses the server's default
	// root, or its only one.
	APIRoot string
	// Collections are the collection ids; empty means every readable
	// collection of the API root (listed at each refresh).
	Collections []string
	// Types restricts the STIX types asked for (match[type]). Empty asks
	// for all, which relationship context needs.
	Types []string
	// Limit is the page size asked for (default 1000).
	Limit int
	// Confidence is the default confidence of indicators without one.
	Confidence int
	// Logger receives notes about checkpoints.
	Logger zerolog.Logger
}

// TAXIISource pulls TAXII collections incrementally. It is safe for
// concurrent use, though the scheduler refreshes a feed from one
// goroutine at a time.
type TAXIISource struct {
	c    *taxii.Client
	opts TAXIIOptions

	mu   sync.Mutex
	root string // resolved API root, once known
}

// NewTAXIISource returns a source pulling from c.
func NewTAXIISource(c *taxii.Client, opts TAXIIOptions) *TAXIISource {
	if opts.Limit <= 0 {
		opts.Limit = 1000
	}
	return &TAXIISource{c: c, opts: opts, root: opts.APIRoot}
}

// ContextBlobName is the name of the store blob (Store.Blob) holding the
// STIX relationship context (stix.Converter.ContextState) of the
// collection whose checkpoint key is key.
func ContextBlobName(key string) string { return "stix-context:" + key }

// CheckpointKey is the store checkpoint key of a collection of the API
// root whose absolute URL is root (taxii.Client.ResolveRoot); its value is
// the added_after of the next pull, as a TAXII timestamp.
func CheckpointKey(root, collection string) string {
	return "taxii added_after " + root + " " + collection
}

func (t *TAXIISource) apiRoot(ctx context.Context) (string, error) {
	t.mu.Lock()
	root := t.root
	t.mu.Unlock()
	if root != "" {
		return root, nil
	}
	d, err := t.c.Discovery(ctx)
	if err != nil {
		return "", err
	}
	switch {
	case d.Default != "":
		root = d.Default
	case len(d.APIRoots) == 1:
		root = d.APIRoots[0]
	default:
		return "", fmt.Errorf("taxii: discovery %s lists %d API roots and no default: configure the API root", d.URL, len(d.APIRoots))
	}
	t.mu.Lock()
	t.root = root
	t.mu.Unlock()
	return root, nil
}

// Refresh pulls every collection from its checkpoint, converts the STIX
// objects and applies them with Store.ApplyIncremental, saves the
// collection's relationship context, then advances the collection's
// checkpoint to the last X-TAXII-Date-Added-Last received: the
// checkpoint moves only after the store accepted the data. A collection
// that fails keeps the pages it completed (applied, and the checkpoint
// moved past them) and does not stop the others; the errors are joined.
//
// Relationship context carries over between pulls: the non-indicator
// objects (relationships, malware, intrusion sets, ...) of earlier pulls
// are kept in the store (ContextBlobName) and loaded before the pages, so
// an indicator arriving after its malware and `indicates` relationship
// gets that context. The other way round (context arriving after its
// indicator) enriches the stored indicator only when the producer
// publishes a new version of it.
func (t *TAXIISource) Refresh(ctx context.Context, feed string, st Store) (Result, error) {
	root, err := t.apiRoot(ctx)
	if err != nil {
		return Result{}, err
	}
	cols := t.opts.Collections
	if len(cols) == 0 {
		list, err := t.c.Collections(ctx, root)
		if err != nil {
			return Result{}, err
		}
		for _, c := range list {
			if c.CanRead {
				cols = append(cols, c.ID)
			}
		}
		if len(cols) == 0 {
			return Result{}, fmt.Errorf("taxii: API root %s has no readable collection", root)
		}
	}
	abs, err := t.c.ResolveRoot(root)
	if err != nil {
		return Result{}, err
	}
	var res Result
	var errs []error
	for _, col := range cols {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		if err := t.pull(ctx, feed, st, abs, col, &res); err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

func (t *TAXIISource) pull(ctx context.Context, feed string, st Store, root, col string, res *Result) error {
	key := CheckpointKey(root, col)
	var after time.Time
	if cp := st.Checkpoint(feed, key); cp != "" {
		a, err := taxii.ParseTimestamp(cp)
		if err != nil {
			t.opts.Logger.Warn().Str("feed", feed).Str("collection", col).Err(err).Msg("poll: unreadable TAXII checkpoint; pulling the whole collection")
		} else {
			after = a
		}
	}
	conv := stix.NewConverter(stix.Options{Feed: feed, Confidence: t.opts.Confidence})
	blob := ContextBlobName(key)
	if b, err := st.Blob(feed, blob); err != nil {
		t.opts.Logger.Warn().Str("feed", feed).Str("collection", col).Err(err).Msg("poll: unreadable STIX context; going on without it")
	} else if b != nil {
		if err := conv.LoadContextState(b); err != nil {
			t.opts.Logger.Warn().Str("feed", feed).Str("collection", col).Err(err).Msg("poll: bad stored STIX context; going on without it")
		}
	}
	var last time.Time
	objects := 0
	pullErr := t.c.Objects(ctx, root, col, taxii.Filter{AddedAfter: after, Limit: t.opts.Limit, Types: t.opts.Types}, func(p taxii.Page) error {
		for _, o := range p.Objects {
			_ = conv.Add(o) // bad objects are counted in the report
		}
		objects += len(p.Objects)
		if p.DateAddedLast.After(last) {
			last = p.DateAddedLast
		}
		return nil
	})
	r := conv.Result()
	res.Stats.Objects += objects
	res.Stats.Unsupported += len(r.Report.Unsupported)
	res.Stats.NeedsCorrelation += len(r.Report.NeedsCorrelation)
	for k, n := range r.Report.ByKind {
		if res.Stats.ByKind == nil {
			res.Stats.ByKind = map[ioc.Kind]int{}
		}
		res.Stats.ByKind[k] += n
	}
	if len(r.Indicators) > 0 || len(r.Revoked) > 0 {
		ch, err := st.ApplyIncremental(feed, r.Indicators, r.Revoked)
		if err != nil {
			return errors.Join(pullErr, fmt.Errorf("poll: feed %s collection %s: store: %w", feed, col, err))
		}
		res.Change = addChange(res.Change, ch)
	}
	if objects > 0 {
		if err := st.SetBlob(feed, blob, conv.ContextState()); err != nil {
			return errors.Join(pullErr, fmt.Errorf("poll: feed %s collection %s: saving STIX context: %w", feed, col, err))
		}
	}
	if last.After(after) {
		if err := st.SetCheckpoint(feed, key, taxii.FormatTimestamp(last)); err != nil {
			return errors.Join(pullErr, fmt.Errorf("poll: feed %s collection %s: checkpoint: %w", feed, col, err))
		}
	}
	return pullErr
}

func addChange(a, b store.Change) store.Change {
	a.Added += b.Added
	a.Updated += b.Updated
	a.Removed += b.Removed
	a.Ignored += b.Ignored
	return a
}

// FileSource reloads a file or a directory (STIX bundles, MISP events or
// feed directories, JSON lines, CSV, plain lists; see feeds.LoadFile and
// feeds.LoadDir) and replaces the feed's content with it. A regular file
// whose size and modification time did not change since the last
// successful load is not read again. It is safe for concurrent use.
type FileSource struct {
	path string
	opts feeds.LoadOptions

	mu    sync.Mutex
	size  int64
	mtime time.Time
	last  Result
}

// NewFileSource returns a source loading path with opts (opts.Feed is set
// to the feed name at each refresh).
func NewFileSource(path string, opts feeds.LoadOptions) *FileSource {
	return &FileSource{path: path, opts: opts}
}

// Refresh loads the file or directory and applies it with
// Store.ReplaceFeed. An unreadable or undetectable input is an error and
// leaves the feed's content as it was.
func (f *FileSource) Refresh(ctx context.Context, feed string, st Store) (Result, error) {
	fi, err := os.Stat(f.path)
	if err != nil {
		return Result{}, fmt.Errorf("poll: feed %s: %w", feed, err)
	}
	f.mu.Lock()
	unchanged := !fi.IsDir() && fi.Size() == f.size && fi.ModTime().Equal(f.mtime) && !f.mtime.IsZero()
	last := f.last
	f.mu.Unlock()
	if unchanged {
		return Result{Stats: last.Stats}, nil
	}
	opts := f.opts
	opts.Feed = feed
	var inds []*ioc.Indicator
	var rep feeds.LoadReport
	if fi.IsDir() {
		inds, rep, err = feeds.LoadDir(f.path, opts)
	} else {
		inds, rep, err = feeds.LoadFile(f.path, opts)
	}
	if err != nil {
		return Result{}, fmt.Errorf("poll: feed %s: %w", feed, err)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	res, err := replace(st, feed, inds, rep)
	if err != nil {
		return Result{}, err
	}
	f.mu.Lock()
	if !fi.IsDir() {
		f.size, f.mtime = fi.Size(), fi.ModTime()
	}
	f.last = res
	f.mu.Unlock()
	return res, nil
}

// replace stamps inds with the feed name (JSON lines may name another
// feed; the store's identity is the feed it is applied to) and replaces
// the feed's content with them.
func replace(st Store, feed string, inds []*ioc.Indicator, rep feeds.LoadReport) (Result, error) {
	for _, ind := range inds {
		ind.Feed = feed
	}
	ch, err := st.ReplaceFeed(feed, inds)
	if err != nil {
		return Result{}, fmt.Errorf("poll: feed %s: store: %w", feed, err)
	}
	return Result{Change: ch, Stats: loadStats(rep)}, nil
}

// loadStats is what a loader report says about one fetch.
func loadStats(rep feeds.LoadReport) store.FetchStats {
	return store.FetchStats{Objects: rep.Records, ByKind: maps.Clone(rep.ByKind),
		Unsupported: len(rep.Unsupported), NeedsCorrelation: len(rep.NeedsCorrelation)}
}

// BytesSource is a feed held in memory (e.g. a bundled sample), loaded
// like a file named Filename and replacing the feed's content. It never
// changes: schedule it with Interval 0. Safe for concurrent use.
type BytesSource struct {
	Filename string // for format detection and messages
	Data     []byte
	Options  feeds.LoadOptions // Feed is set to the feed name
}

// Refresh implements Source.
func (b *BytesSource) Refresh(ctx context.Context, feed string, st Store) (Result, error) {
	opts := b.Options
	opts.Feed = feed
	inds, rep, err := feeds.Load(bytes.NewReader(b.Data), b.Filename, opts)
	if err != nil {
		return Result{}, fmt.Errorf("poll: feed %s: %w", feed, err)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	return replace(st, feed, inds, rep)
}
