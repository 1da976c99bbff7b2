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
	"slices"
)

const blobFormat = "iocmatch-store-blob"

type blobHeader struct {
	Format string `json:"format"`
	Feed   string `json:"feed"`
	Name   string `json:"name"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
}

// blobFileName is the file of a blob: blob-<first 16 hex of sha256(feed NUL name)>.bin.
func blobFileName(feed, name string) string {
	sum := sha256.Sum256([]byte(feed + "\x00" + name))
	return "blob-" + hex.EncodeToString(sum[:8]) + ".bin"
}

// SetBlob stores an opaque value for a feed, persisted crash-safely like
// the feed files (the previous copy is kept as .prev and used when the
// current one is corrupt). Feed sources keep state there that must
// survive restarts with the indicators, such as the STIX context objects
// of a TAXII collection (stix.Converter.ContextState). Empty data
// deletes the blob. RemoveFeed deletes a feed's blobs.
func (s *Store) SetBlob(feed, name string, data []byte) error {
	if feed == "" || name == "" {
		return errors.New("store: blob needs a feed and a name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	file := blobFileName(feed, name)
	known := slices.Contains(s.state.Blobs[feed], name)
	if len(data) == 0 {
		if !known {
			return nil
		}
		st := s.state.clone()
		st.Blobs[feed] = slices.DeleteFunc(slices.Clone(st.Blobs[feed]), func(n string) bool { return n == name })
		if len(st.Blobs[feed]) == 0 {
			delete(st.Blobs, feed)
		}
		if err := s.writeState(st); err != nil {
			return err
		}
		s.state = st
		return s.removeFiles(file)
	}
	sum := sha256.Sum256(data)
	h, err := json.Marshal(blobHeader{Format: blobFormat, Feed: feed, Name: name, Size: len(data), SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		return fmt.Errorf("store: blob %s/%s: %w", feed, name, err)
	}
	buf := make([]byte, 0, len(h)+1+len(data))
	buf = append(append(append(buf, h...), '\n'), data...)
	if err := s.writeFile(file, buf); err != nil {
		return err
	}
	if !known {
		st := s.state.clone()
		st.Blobs[feed] = append(slices.Clone(st.Blobs[feed]), name)
		if err := s.writeState(st); err != nil {
			return err
		}
		s.state = st
	}
	return nil
}

// Blob returns the value stored by SetBlob, or nil when there is none.
// A corrupt blob whose previous copy is good returns the previous copy;
// when both are bad the error names the file.
func (s *Store) Blob(feed, name string) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !slices.Contains(s.state.Blobs[feed], name) {
		return nil, nil
	}
	cur := filepath.Join(s.dir, blobFileName(feed, name))
	data, curErr := readBlob(cur, feed, name)
	if curErr == nil {
		return data, nil
	}
	data, prevErr := readBlob(cur+prevSuffix, feed, name)
	if prevErr != nil {
		return nil, &feedFileError{cur, fmt.Errorf("%v; previous copy: %v", curErr, prevErr)}
	}
	s.opts.Logger.Warn().Str("file", cur).Err(curErr).Msg("store: blob corrupt; using the previous copy")
	return data, nil
}

func readBlob(p, feed, name string) ([]byte, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, errors.New("truncated (no header)")
	}
	var h blobHeader
	if err := json.Unmarshal(b[:i], &h); err != nil || h.Format != blobFormat {
		return nil, errors.New("not a store blob (bad header)")
	}
	data := b[i+1:]
	sum := sha256.Sum256(data)
	if h.Feed != feed || h.Name != name || h.Size != len(data) || h.SHA256 != hex.EncodeToString(sum[:]) {
		return nil, errors.New("truncated or corrupt (size or checksum mismatch)")
	}
	return data, nil
}

// removeFiles deletes files of the store directory and their .prev copies.
func (s *Store) removeFiles(names ...string) error {
	for _, n := range names {
		cur := filepath.Join(s.dir, n)
		for _, p := range []string{cur, cur + prevSuffix} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("store: %w", err)
			}
		}
	}
	return s.syncDir()
}
