package match

import "sync/atomic"

// Holder publishes the current Snapshot to concurrent readers. Load and
// Store are safe for concurrent use and never block: a reader that loaded
// a Snapshot keeps using it (it is immutable) while a writer stores the
// next one; the old one is garbage-collected when its last reader drops
// it. The zero Holder holds nil.
type Holder struct {
	p atomic.Pointer[Snapshot]
}

// NewHolder returns a Holder holding s (which may be nil).
func NewHolder(s *Snapshot) *Holder {
	h := &Holder{}
	h.p.Store(s)
	return h
}

// Load returns the current Snapshot, or nil if none was stored. Load it
// once per batch of events and use that Snapshot for the whole batch.
func (h *Holder) Load() *Snapshot { return h.p.Load() }

// Store makes s the current Snapshot and returns the previous one.
func (h *Holder) Store(s *Snapshot) (old *Snapshot) { return h.p.Swap(s) }
