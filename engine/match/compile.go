package match

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
	"unsafe"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

type compileOptions struct {
	fpRate  float64
	noBloom bool
}

// Compile validates every indicator (ioc.Indicator.Validate) and compiles
// them into a Snapshot. The first invalid indicator fails the whole
// compile with an error naming its id and position. Compile keeps the
// indicator pointers (it never copies or modifies them): the caller must
// not modify them afterwards. Several indicators may share an ID or a
// value; each is reported on its own. A pointer listed twice is compiled
// once.
func Compile(inds []*ioc.Indicator, opts Options) (*Snapshot, error) {
	now := opts.Clock
	if now == nil {
		now = time.Now
	}
	t0 := now()
	co := compileOptions{fpRate: opts.BloomFPRate, noBloom: opts.DisableBloom}
	if co.fpRate == 0 {
		co.fpRate = DefaultBloomFPRate
	}
	if !(co.fpRate > 0 && co.fpRate < 1) {
		return nil, fmt.Errorf("match: Bloom false-positive rate %v out of range (0, 1)", opts.BloomFPRate)
	}
	cidrName := opts.CIDR
	if cidrName == "" {
		cidrName = CIDRBart
	}
	table, err := newPrefixTable(cidrName)
	if err != nil {
		return nil, err
	}
	automaton := opts.Automaton
	switch automaton {
	case "":
		automaton = AutomatonCompact
	case AutomatonCompact, AutomatonCloudflare:
	default:
		return nil, fmt.Errorf("match: unknown automaton %q (want %q or %q)", opts.Automaton, AutomatonCompact, AutomatonCloudflare)
	}

	s := &Snapshot{inds: make([]*ioc.Indicator, 0, len(inds))}
	s.stats.ByKind = make(map[ioc.Kind]int)
	s.stats.CIDR = cidrName
	s.stats.Automaton = automaton
	s.stats.Bloom = !co.noBloom

	var rb refBuilder
	prefixes := make(map[netip.Prefix]int32)
	substrs := make(map[string]int32) // pattern -> ref
	var patterns []string

	addStr := func(set *strSet, v string, idx int32) {
		if set.m == nil {
			set.m = make(map[string]int32)
		}
		old, had := set.m[v]
		set.m[v] = rb.add(old, had, idx)
	}

	seen := make(map[*ioc.Indicator]struct{}, len(inds))
	for i, ind := range inds {
		if ind == nil {
			return nil, errIndicator(i, nil, errors.New("nil indicator"))
		}
		if _, dup := seen[ind]; dup {
			continue // the same pointer twice is one indicator
		}
		seen[ind] = struct{}{}
		if err := ind.Validate(); err != nil {
			return nil, fmt.Errorf("match: indicator #%d: %w", i, err)
		}
		idx := int32(len(s.inds))
		s.inds = append(s.inds, ind)
		s.stats.ByKind[ind.Kind]++
		v := ind.Value
		switch ind.Kind {
		case ioc.KindIPv4, ioc.KindIPv6:
			a, err := netip.ParseAddr(v)
			if err != nil {
				return nil, errIndicator(i, ind, err)
			}
			if a.Is4() {
				addArr(&s.ip4, a.As4(), idx, &rb)
			} else {
				addArr(&s.ip6, a.As16(), idx, &rb)
			}
		case ioc.KindCIDRv4, ioc.KindCIDRv6:
			p, err := netip.ParsePrefix(v)
			if err != nil {
				return nil, errIndicator(i, ind, err)
			}
			old, had := prefixes[p]
			prefixes[p] = rb.add(old, had, idx)
		case ioc.KindDomain:
			addStr(&s.domain, v, idx)
		case ioc.KindURL:
			addStr(&s.url, v, idx)
		case ioc.KindEmail:
			addStr(&s.email, v, idx)
		case ioc.KindMD5, ioc.KindJA3, ioc.KindJA3S:
			var k [16]byte
			if !decodeHex(k[:], stringBytes(v)) {
				return nil, errIndicator(i, ind, fmt.Errorf("%s %q: not hex", ind.Kind, v))
			}
			switch ind.Kind {
			case ioc.KindMD5:
				addArr(&s.md5, k, idx, &rb)
			case ioc.KindJA3:
				addArr(&s.ja3, k, idx, &rb)
			default:
				addArr(&s.ja3s, k, idx, &rb)
			}
		case ioc.KindSHA1:
			var k [20]byte
			if !decodeHex(k[:], stringBytes(v)) {
				return nil, errIndicator(i, ind, fmt.Errorf("sha1 %q: not hex", v))
			}
			addArr(&s.sha1, k, idx, &rb)
		case ioc.KindSHA256:
			var k [32]byte
			if !decodeHex(k[:], stringBytes(v)) {
				return nil, errIndicator(i, ind, fmt.Errorf("sha256 %q: not hex", v))
			}
			addArr(&s.sha256, k, idx, &rb)
		case ioc.KindSHA512:
			var k [64]byte
			if !decodeHex(k[:], stringBytes(v)) {
				return nil, errIndicator(i, ind, fmt.Errorf("sha512 %q: not hex", v))
			}
			addArr(&s.sha512, k, idx, &rb)
		case ioc.KindFileName, ioc.KindFilePath, ioc.KindUserAgent, ioc.KindJA4, ioc.KindRegistryKey, ioc.KindProcessName:
			if s.strs[ind.Kind] == nil {
				s.strs[ind.Kind] = &strSet{}
			}
			addStr(s.strs[ind.Kind], v, idx)
		case ioc.KindCommandLine, ioc.KindSubstring:
			if ind.Kind == ioc.KindCommandLine {
				s.hasCmd = true
			} else {
				s.hasSubstr = true
			}
			old, had := substrs[v]
			if !had {
				patterns = append(patterns, v)
			}
			substrs[v] = rb.add(old, had, idx)
		case ioc.KindCompound:
			if err := s.cmp.add(ind, &s.stats); err != nil {
				return nil, errIndicator(i, ind, err)
			}
		default:
			return nil, errIndicator(i, ind, fmt.Errorf("kind %s cannot be matched", ind.Kind))
		}
	}

	if len(prefixes) > 0 {
		for p, ref := range prefixes {
			if err := table.insert(p, ref); err != nil {
				return nil, fmt.Errorf("match: %w", err)
			}
		}
		s.cidr = table
		s.stats.CIDRPrefixes = len(prefixes)
	}
	if len(patterns) > 0 {
		if automaton == AutomatonCloudflare {
			s.subs = newCFMatcher(patterns)
		} else {
			s.subs = newACMatcher(patterns)
		}
		s.subRefs = make([]int32, len(patterns))
		for i, p := range patterns {
			s.subRefs[i] = substrs[p]
		}
		s.stats.SubstringPatterns = len(patterns)
	}
	s.multi = rb.build(s.inds)
	s.cmp.finish()

	s.domain.build(&co)
	s.url.build(&co)
	s.email.build(&co)
	for _, set := range s.strs {
		if set != nil {
			set.build(&co)
		}
	}
	s.ip4.build(&co)
	s.ip6.build(&co)
	s.md5.build(&co)
	s.ja3.build(&co)
	s.ja3s.build(&co)
	s.sha1.build(&co)
	s.sha256.build(&co)
	s.sha512.build(&co)

	s.stats.Indicators = len(s.inds)
	s.stats.ApproxBytes = s.approxBytes()
	s.stats.CompileDuration = now().Sub(t0)
	return s, nil
}

func addArr[K comparable](set *arrSet[K], k K, idx int32, rb *refBuilder) {
	if set.m == nil {
		set.m = make(map[K]int32)
	}
	old, had := set.m[k]
	set.m[k] = rb.add(old, had, idx)
}

func (s *Snapshot) approxBytes() int64 {
	n := int64(len(s.inds)) * int64(unsafe.Sizeof((*ioc.Indicator)(nil)))
	n += int64(len(s.multi.off)+len(s.multi.inds)) * 4
	n += s.ip4.approxBytes(4) + s.ip6.approxBytes(16)
	n += s.md5.approxBytes(16) + s.ja3.approxBytes(16) + s.ja3s.approxBytes(16)
	n += s.sha1.approxBytes(20) + s.sha256.approxBytes(32) + s.sha512.approxBytes(64)
	n += s.domain.approxBytes() + s.url.approxBytes() + s.email.approxBytes()
	for _, set := range s.strs {
		if set != nil {
			n += set.approxBytes()
		}
	}
	if s.cidr != nil {
		n += s.cidr.approxBytes()
	}
	if s.subs != nil {
		n += s.subs.approxBytes() + int64(len(s.subRefs))*4
	}
	// compounds: a rough 256 bytes per compiled expression
	n += int64(s.cmp.n) * 256
	return n
}
