package observe

import (
	"encoding/binary"
	"math/bits"
)

// pathTable is the walker's read-only lookup table from a dotted path to
// its row of Observer.entries and to whether a container at the path may
// hold mapped paths (see mayMap). It is an open-addressing hash table
// with linear probing, about 1/4 full, whose probe first
// compares a 32-bit tag array (small enough to stay in L1): most
// unmapped paths are rejected by one tag load, without comparing bytes.
type pathTable struct {
	shift uint       // 64 - log2(len(tags))
	tags  []uint32   // 0: empty slot; otherwise the path's tag (never 0)
	slots []pathSlot // parallel to tags
}

type pathSlot struct {
	key    string
	sp     span // entries[sp.lo:sp.hi] when mapped
	mapped bool // key is a mapped or signature path
	mayMap bool // key is a mapped path or a prefix of one ending before a '.'
}

// pathHash hashes p in constant time from its length and its first and
// last 8 bytes (paths that differ only in between collide, and are told
// apart by the key comparison); the table index is taken from the high
// bits and the tag from the low bits.
func pathHash(p []byte) uint64 {
	const m1, m2 = 0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9
	n := len(p)
	var a, b uint64
	switch {
	case n >= 8:
		a, b = binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint64(p[n-8:])
	case n >= 4:
		a, b = uint64(binary.LittleEndian.Uint32(p)), uint64(binary.LittleEndian.Uint32(p[n-4:]))
	default:
		for k, c := range p {
			a |= uint64(c) << (8 * uint(k))
		}
	}
	h := (a ^ uint64(n)*m2) * m1
	h ^= h >> 29
	h = (h ^ b) * m2
	h ^= h >> 32
	return h * m1
}

func tagOf(h uint64) uint32 { return uint32(h) | 1 }

// newPathTable returns a table for at most n keys; add them with slot.
func newPathTable(n int) pathTable {
	size := 16
	for size < 2*n { // n counts paths and prefixes with repeats: the load stays near 1/4
		size *= 2
	}
	return pathTable{
		shift: uint(64 - bits.TrailingZeros(uint(size))),
		tags:  make([]uint32, size),
		slots: make([]pathSlot, size),
	}
}

// slot returns the slot of key, adding it if absent (building only).
func (t *pathTable) slot(key string) *pathSlot {
	h := pathHash([]byte(key))
	tag := tagOf(h)
	mask := uint64(len(t.tags) - 1)
	for i := h >> t.shift; ; i = (i + 1) & mask {
		switch t.tags[i] {
		case 0:
			t.tags[i] = tag
			t.slots[i].key = key
			return &t.slots[i]
		case tag:
			if t.slots[i].key == key {
				return &t.slots[i]
			}
		}
	}
}

// lookup returns the slot of p, or nil. It does not allocate.
func (t *pathTable) lookup(p []byte) *pathSlot {
	if len(t.tags) == 0 {
		return nil
	}
	h := pathHash(p)
	tag := tagOf(h)
	mask := uint64(len(t.tags) - 1)
	for i := h >> t.shift; ; i = (i + 1) & mask {
		switch t.tags[i] {
		case 0:
			return nil
		case tag:
			if s := &t.slots[i]; s.key == bstr(p) {
				return s
			}
		}
	}
}
