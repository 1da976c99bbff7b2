package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

const (
	feedFormat  = "iocmatch-store-feed"
	stateFormat = "iocmatch-store-state"
	stateFile   = "state.json"
	prevSuffix  = ".prev"
)

// feedStatus is the persisted part of Status.
type feedStatus struct {
	LastSuccess       time.Time        `json:"last_success,omitzero"`
	LastError         time.Time        `json:"last_error,omitzero"`
	LastErrorMsg      string           `json:"last_error_msg,omitempty"`
	ConsecutiveErrors int              `json:"consecutive_errors,omitempty"`
	Objects           int              `json:"objects,omitempty"`
	FetchedByKind     map[ioc.Kind]int `json:"fetched_by_kind,omitempty"`
	Unsupported       int              `json:"unsupported,omitempty"`
	NeedsCorrelation  int              `json:"needs_correlation,omitempty"`
}

// persistedState is state.json.
type persistedState struct {
	Format      string                       `json:"format"`
	Checkpoints map[string]map[string]string `json:"checkpoints"`
	Status      map[string]*feedStatus       `json:"status"`
	Blobs       map[string][]string          `json:"blobs,omitempty"` // feed -> blob names
}

// clone copies the maps (statuses are copied on write by updateStatus).
func (p persistedState) clone() persistedState {
	c := persistedState{Format: stateFormat, Checkpoints: make(map[string]map[string]string, len(p.Checkpoints)), Status: make(map[string]*feedStatus, len(p.Status)), Blobs: make(map[string][]string, len(p.Blobs))}
	for f, names := range p.Blobs {
		c.Blobs[f] = names // copied on write by SetBlob
	}
	for f, m := range p.Checkpoints {
		cm := make(map[string]string, len(m))
		for k, v := range m {
			cm[k] = v
		}
		c.Checkpoints[f] = cm
	}
	for f, s := range p.Status {
		c.Status[f] = s
	}
	return c
}

type feedHeader struct {
	Format  string   `json:"format"`
	Version int      `json:"version"`
	Feed    string   `json:"feed"`
	Revoked []string `json:"revoked,omitempty"`
}

type feedTrailer struct {
	Trailer bool   `json:"trailer"`
	Count   int    `json:"count"`
	SHA256  string `json:"sha256"`
}

// feedFileName is the file of a feed: feed-<first 16 hex of sha256(name)>.jsonl.
func feedFileName(feed string) string {
	sum := sha256.Sum256([]byte(feed))
	return "feed-" + hex.EncodeToString(sum[:8]) + ".jsonl"
}

func encodeIndicator(ind *ioc.Indicator) ([]byte, error) { return json.Marshal(ind) }

// encodeFeed renders a feed file.
func encodeFeed(feed string, fd *feedData) ([]byte, error) {
	var b bytes.Buffer
	h := feedHeader{Format: feedFormat, Version: 1, Feed: feed}
	for id := range fd.revoked {
		h.Revoked = append(h.Revoked, id)
	}
	sort.Strings(h.Revoked)
	line, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	b.Write(line)
	b.WriteByte('\n')
	ids := make([]string, 0, len(fd.groups))
	for id := range fd.groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	n := 0
	for _, id := range ids {
		for _, line := range fd.groups[id].lines {
			b.Write(line)
			b.WriteByte('\n')
			n++
		}
	}
	sum := sha256.Sum256(b.Bytes())
	line, _ = json.Marshal(feedTrailer{Trailer: true, Count: n, SHA256: hex.EncodeToString(sum[:])})
	b.Write(line)
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// decodeFeed parses and verifies a feed file.
func decodeFeed(data []byte) (string, *feedData, error) {
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return "", nil, errors.New("truncated (no final newline)")
	}
	body := data[:len(data)-1]
	i := bytes.LastIndexByte(body, '\n')
	if i < 0 {
		return "", nil, errors.New("truncated (no trailer)")
	}
	var tr feedTrailer
	if err := json.Unmarshal(body[i+1:], &tr); err != nil || !tr.Trailer {
		return "", nil, errors.New("truncated (no trailer)")
	}
	content := data[:i+1]
	sum := sha256.Sum256(content)
	if hex.EncodeToString(sum[:]) != tr.SHA256 {
		return "", nil, errors.New("checksum mismatch")
	}
	lines := bytes.Split(content[:len(content)-1], []byte("\n"))
	var h feedHeader
	if err := json.Unmarshal(lines[0], &h); err != nil || h.Format != feedFormat {
		return "", nil, errors.New("not a store feed file (bad header)")
	}
	if h.Version != 1 {
		return "", nil, fmt.Errorf("unsupported store feed file version %d", h.Version)
	}
	if len(lines)-1 != tr.Count {
		return "", nil, fmt.Errorf("%d indicators, trailer says %d", len(lines)-1, tr.Count)
	}
	fd := newFeedData()
	for _, id := range h.Revoked {
		fd.revoked[id] = struct{}{}
	}
	for n, line := range lines[1:] {
		var ind ioc.Indicator
		if err := json.Unmarshal(line, &ind); err != nil {
			return "", nil, fmt.Errorf("line %d: %w", n+2, err)
		}
		if err := ind.Validate(); err != nil {
			// The checksum held, so this is no corruption: a newer
			// ioc.Normalize no longer accepts the stored value. Drop the
			// indicator (the next refresh brings it back normalised)
			// rather than refuse to start.
			fd.dropped = append(fd.dropped, fmt.Sprintf("line %d: %v", n+2, err))
			continue
		}
		g := fd.groups[ind.ID]
		if g == nil {
			g = &group{}
			fd.groups[ind.ID] = g
		}
		if ind.Modified.After(g.modified) {
			g.modified = ind.Modified
		}
		p := ind
		g.inds = append(g.inds, &p)
		g.lines = append(g.lines, line) // a slice of data, which the store keeps
	}
	return h.Feed, fd, nil
}

// logDropped logs the indicators a feed file held that no longer
// validate, and reports whether there were any.
func (s *Store) logDropped(file, feed string, fd *feedData) bool {
	n := len(fd.dropped)
	for _, d := range fd.dropped {
		s.opts.Logger.Warn().Str("file", file).Str("feed", feed).Str("indicator", d).Msg("store: dropped a stored indicator that no longer validates")
	}
	fd.dropped = nil
	return n > 0
}

// writeFile atomically replaces dir/name with data, keeping the previous
// content as name.prev.
func (s *Store) writeFile(name string, data []byte) error {
	cur := filepath.Join(s.dir, name)
	tmp, err := os.CreateTemp(s.dir, name+".tmp-*")
	if err != nil {
		return fmt.Errorf("store: %s: %w", cur, err)
	}
	tmpName := tmp.Name()
	fail := func(err error) error {
		tmp.Close()
		os.Remove(tmpName)
		return fmt.Errorf("store: writing %s: %w", cur, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := s.opts.Sync(tmp); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmpName)
		return fmt.Errorf("store: writing %s: %w", cur, err)
	}
	if _, err := os.Stat(cur); err == nil {
		if err := os.Rename(cur, cur+prevSuffix); err != nil {
			os.Remove(tmpName)
			return fmt.Errorf("store: %s: %w", cur, err)
		}
	}
	if err := os.Rename(tmpName, cur); err != nil {
		os.Remove(tmpName)
		return fmt.Errorf("store: %s: %w", cur, err)
	}
	return s.syncDir()
}

func (s *Store) syncDir() error {
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("store: %s: %w", s.dir, err)
	}
	defer d.Close()
	if err := s.opts.Sync(d); err != nil {
		return fmt.Errorf("store: fsync %s: %w", s.dir, err)
	}
	return nil
}

// writeFeed persists one feed's content (an empty feed removes its files).
func (s *Store) writeFeed(feed string, fd *feedData) error {
	if len(fd.groups) == 0 && len(fd.revoked) == 0 {
		return s.removeFeedFiles(feed)
	}
	data, err := encodeFeed(feed, fd)
	if err != nil {
		return fmt.Errorf("store: feed %s: %w", feed, err)
	}
	return s.writeFile(feedFileName(feed), data)
}

func (s *Store) removeFeedFiles(feed string) error {
	cur := filepath.Join(s.dir, feedFileName(feed))
	for _, p := range []string{cur, cur + prevSuffix} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("store: %w", err)
		}
	}
	return s.syncDir()
}

func (s *Store) writeState(st persistedState) error {
	st.Format = stateFormat
	data, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return fmt.Errorf("store: state: %w", err)
	}
	return s.writeFile(stateFile, append(data, '\n'))
}

func decodeState(data []byte) (persistedState, error) {
	var st persistedState
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return st, err
	}
	if st.Format != stateFormat {
		return st, fmt.Errorf("format %q, want %q", st.Format, stateFormat)
	}
	return st, nil
}

// load reads state.json and every feed file, applying the recovery rules
// of the package doc.
func (s *Store) load() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	bases := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		switch {
		case isTemp(name):
			p := filepath.Join(s.dir, name)
			s.opts.Logger.Warn().Str("file", p).Msg("store: removing a temporary file left by an interrupted write")
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("store: %w", err)
			}
		case strings.HasPrefix(name, "blob-"):
			// read on demand by Blob
		case strings.HasPrefix(name, "feed-") && strings.HasSuffix(name, ".jsonl"):
			bases[name] = true
		case strings.HasPrefix(name, "feed-") && strings.HasSuffix(name, ".jsonl"+prevSuffix):
			bases[strings.TrimSuffix(name, prevSuffix)] = true
		}
	}
	// State first: a recovered feed clears its checkpoints.
	st, stateRecovered, err := s.loadState()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(bases))
	for b := range bases {
		names = append(names, b)
	}
	sort.Strings(names)
	var rewrite []string
	for _, base := range names {
		feed, fd, recovered, err := s.loadFeed(base)
		if err != nil {
			return err
		}
		if recovered {
			delete(st.Checkpoints, feed)
			stateRecovered = true
			rewrite = append(rewrite, feed)
		}
		s.feeds[feed] = fd
	}
	s.state = st
	if stateRecovered {
		if err := s.writeState(st); err != nil {
			return err
		}
	}
	for _, feed := range rewrite {
		if err := s.writeFeed(feed, s.feeds[feed]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) loadState() (persistedState, bool, error) {
	cur := filepath.Join(s.dir, stateFile)
	empty := persistedState{Format: stateFormat, Checkpoints: map[string]map[string]string{}, Status: map[string]*feedStatus{}, Blobs: map[string][]string{}}
	data, err := os.ReadFile(cur)
	var curErr error
	switch {
	case errors.Is(err, os.ErrNotExist):
		curErr = err
	case err != nil:
		return empty, false, fmt.Errorf("store: %w", err)
	default:
		st, err := decodeState(data)
		if err == nil {
			return st.clone(), false, nil
		}
		curErr = err
	}
	data, err = os.ReadFile(cur + prevSuffix)
	if errors.Is(err, os.ErrNotExist) {
		if errors.Is(curErr, os.ErrNotExist) {
			return empty, false, nil // a new store
		}
		return empty, false, &feedFileError{cur, fmt.Errorf("corrupt and no previous copy: %w", curErr)}
	}
	if err != nil {
		return empty, false, fmt.Errorf("store: %w", err)
	}
	st, err := decodeState(data)
	if err != nil {
		return empty, false, &feedFileError{cur, fmt.Errorf("corrupt (%v) and so is %s (%v)", curErr, stateFile+prevSuffix, err)}
	}
	if !errors.Is(curErr, os.ErrNotExist) {
		s.opts.Logger.Warn().Str("file", cur).Err(curErr).Msg("store: state file corrupt; recovered the previous copy")
	}
	return st.clone(), true, nil
}

// loadFeed loads feed file base (or its .prev). recovered is true when
// the current file existed but was corrupt and .prev was used, or when
// stored indicators were dropped: the feed's checkpoints must go and the
// file be rewritten.
func (s *Store) loadFeed(base string) (string, *feedData, bool, error) {
	cur := filepath.Join(s.dir, base)
	check := func(p string) (string, *feedData, error) {
		data, err := os.ReadFile(p)
		if err != nil {
			return "", nil, err
		}
		feed, fd, err := decodeFeed(data)
		if err != nil {
			return "", nil, err
		}
		if feedFileName(feed) != base {
			return "", nil, fmt.Errorf("holds feed %q, which belongs in %s", feed, feedFileName(feed))
		}
		return feed, fd, nil
	}
	feed, fd, curErr := check(cur)
	if curErr == nil {
		return feed, fd, s.logDropped(cur, feed, fd), nil
	}
	feed, fd, prevErr := check(cur + prevSuffix)
	if prevErr != nil {
		if errors.Is(prevErr, os.ErrNotExist) {
			return "", nil, false, &feedFileError{cur, fmt.Errorf("corrupt and no previous copy: %w", curErr)}
		}
		return "", nil, false, &feedFileError{cur, fmt.Errorf("%v; previous copy: %v", curErr, prevErr)}
	}
	dropped := s.logDropped(cur+prevSuffix, feed, fd)
	if errors.Is(curErr, os.ErrNotExist) {
		// Interrupted between the two renames: .prev is the last complete write.
		s.opts.Logger.Info().Str("file", cur).Msg("store: completing an interrupted write from the previous copy")
		return feed, fd, dropped, nil
	}
	s.opts.Logger.Warn().Str("file", cur).Str("feed", feed).Err(curErr).Msg("store: feed file corrupt; recovered the previous copy and cleared the feed's checkpoints")
	return feed, fd, true, nil
}
