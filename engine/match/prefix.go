package match

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/gaissmai/bart"
	"github.com/yl2chen/cidranger"
)

// prefixTable is a longest-prefix-match table from CIDR prefixes (IPv4
// and IPv6, masked, each inserted once) to refs. Implementations are
// immutable after the inserts and safe for concurrent lookups.
type prefixTable interface {
	// insert adds p with its ref; each prefix is inserted once.
	insert(p netip.Prefix, ref int32) error
	// lookup returns the ref of the longest prefix containing a.
	lookup(a netip.Addr) (ref int32, ok bool)
	// approxBytes estimates the table's heap size.
	approxBytes() int64
}

func newPrefixTable(name string) (prefixTable, error) {
	switch name {
	case "", CIDRBart:
		return &bartTable{t: new(bart.Table[int32])}, nil
	case CIDRCIDRanger:
		return &rangerTable{r: cidranger.NewPCTrieRanger()}, nil
	}
	return nil, fmt.Errorf("match: unknown CIDR implementation %q (want %q or %q)", name, CIDRBart, CIDRCIDRanger)
}

// bartTable is a prefixTable over github.com/gaissmai/bart. Lookups do
// not allocate.
type bartTable struct {
	t *bart.Table[int32]
	n int
}

func (b *bartTable) insert(p netip.Prefix, ref int32) error {
	b.t.Insert(p, ref)
	b.n++
	return nil
}

func (b *bartTable) lookup(a netip.Addr) (int32, bool) { return b.t.Lookup(a) }

// approxBytes uses the ~80 bytes per prefix measured for random prefixes
// at 1M (BenchmarkPrefixTable1M); dense real-world tables are smaller.
func (b *bartTable) approxBytes() int64 { return int64(b.n) * 80 }

// rangerTable is a prefixTable over github.com/yl2chen/cidranger. Every
// lookup allocates (net.IP conversion and the list of containing
// networks).
type rangerTable struct {
	r cidranger.Ranger
	n int
}

type rangerEntry struct {
	n   net.IPNet
	ref int32
}

func (e *rangerEntry) Network() net.IPNet { return e.n }

func (r *rangerTable) insert(p netip.Prefix, ref int32) error {
	bits := p.Addr().BitLen()
	ipn := net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
	if err := r.r.Insert(&rangerEntry{n: ipn, ref: ref}); err != nil {
		return fmt.Errorf("cidranger: insert %s: %w", p, err)
	}
	r.n++
	return nil
}

func (r *rangerTable) lookup(a netip.Addr) (int32, bool) {
	ents, err := r.r.ContainingNetworks(net.IP(a.AsSlice()))
	if err != nil || len(ents) == 0 {
		return 0, false
	}
	best, bestBits := int32(0), -1
	for _, e := range ents {
		re, ok := e.(*rangerEntry)
		if !ok {
			continue
		}
		if ones, _ := re.n.Mask.Size(); ones > bestBits {
			best, bestBits = re.ref, ones
		}
	}
	return best, bestBits >= 0
}

// approxBytes uses the ~490 bytes per prefix measured at 1M
// (BenchmarkPrefixTable1M).
func (r *rangerTable) approxBytes() int64 { return int64(r.n) * 490 }
