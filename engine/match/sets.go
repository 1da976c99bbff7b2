package match

import (
	"bytes"
	"net/netip"
	"unsafe"

	"github.com/bits-and-blooms/bloom/v3"
)

// strSet is an exact set of strings (mapping each to a ref) behind an
// optional Bloom pre-filter. A Bloom positive is always confirmed by the
// map. Immutable after build; safe for concurrent readers.
type strSet struct {
	m  map[string]int32
	bf *bloom.BloomFilter
}

// lookup returns the ref of v. It does not allocate.
func (s *strSet) lookup(v []byte) (int32, bool) {
	if s.m == nil {
		return 0, false
	}
	if s.bf != nil && !s.bf.Test(v) {
		return 0, false
	}
	ref, ok := s.m[string(v)]
	return ref, ok
}

// build adds the Bloom filter sized for the map's entries.
func (s *strSet) build(o *compileOptions) {
	if len(s.m) == 0 || o.noBloom {
		return
	}
	s.bf = bloom.NewWithEstimates(uint(len(s.m)), o.fpRate)
	for k := range s.m {
		s.bf.Add(stringBytes(k))
	}
}

func (s *strSet) approxBytes() int64 {
	// Swiss-table slot: 16-byte string header + int32 value (padded to 24),
	// one control byte, average load ~3/4. String bytes alias the indicators.
	return int64(len(s.m))*(24+1)*4/3 + bloomBytes(s.bf)
}

// arrSet is an exact set of fixed-size binary keys (byte arrays:
// addresses, decoded hashes) behind an optional Bloom pre-filter over the
// key bytes.
type arrSet[K comparable] struct {
	m  map[K]int32
	bf *bloom.BloomFilter
}

// lookup returns the ref of k; b holds the bytes of k for the Bloom test.
func (s *arrSet[K]) lookup(k K, b []byte) (int32, bool) {
	if s.m == nil {
		return 0, false
	}
	if s.bf != nil && !s.bf.Test(b) {
		return 0, false
	}
	ref, ok := s.m[k]
	return ref, ok
}

// build adds the Bloom filter over the keys' bytes (K is a byte array).
func (s *arrSet[K]) build(o *compileOptions) {
	if len(s.m) == 0 || o.noBloom {
		return
	}
	s.bf = bloom.NewWithEstimates(uint(len(s.m)), o.fpRate)
	for k := range s.m {
		s.bf.Add(unsafe.Slice((*byte)(unsafe.Pointer(&k)), unsafe.Sizeof(k)))
	}
}

func (s *arrSet[K]) approxBytes(keySize int) int64 {
	slot := int64(keySize + 4)
	return int64(len(s.m))*(slot+1)*4/3 + bloomBytes(s.bf)
}

func bloomBytes(bf *bloom.BloomFilter) int64 {
	if bf == nil {
		return 0
	}
	return int64(bf.Cap() / 8)
}

// decodeHex decodes exactly len(dst)*2 hex digits of src into dst.
func decodeHex(dst, src []byte) bool {
	if len(src) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := unhex(src[2*i])
		lo, ok2 := unhex(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// looksLikeAddr reports whether b could be an IP address literal: only
// digits and dots, or containing a colon. Domain names never pass.
func looksLikeAddr(b []byte) bool {
	if bytes.IndexByte(b, ':') >= 0 {
		return true
	}
	for _, c := range b {
		if c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// parseAddr parses b as an address without allocating (netip.ParseAddr
// does not retain its argument; zones are copied by unique.Make). It
// returns the zero Addr when b is not an address or carries a zone.
func parseAddr(b []byte) netip.Addr {
	if len(b) == 0 {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(unsafe.String(&b[0], len(b)))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}
	}
	return a.Unmap()
}

func indexByte(b []byte, c byte) int     { return bytes.IndexByte(b, c) }
func lastIndexByte(b []byte, c byte) int { return bytes.LastIndexByte(b, c) }

// stringBytes views s as bytes without copying, for callees that only
// read their argument during the call (Bloom Add, hex decoding).
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
