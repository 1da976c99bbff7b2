package allowlist

// substrMatcher is an Aho-Corasick automaton over byte strings with
// sparse transitions: one map from (state, byte) to the next state, so
// memory is proportional to the total pattern length (tens of bytes per
// pattern byte), not 256 pointers per state. It answers "which pattern
// with the lowest list index occurs in the input". Immutable after
// construction; safe for concurrent use; Match does not allocate.
//
// (github.com/cloudflare/ahocorasick was measured first: on the 8,201
// entries of the MISP disposable-email list it took 21 s and 1.8 GiB to
// build, because each trie node holds two [256]*node arrays.)
type substrMatcher struct {
	edges map[uint64]int32 // state<<8 | byte -> next state
	fail  []int32          // failure link per state
	out   []int32          // list index of the pattern ending at this state; -1 if none
	dict  []int32          // nearest state on the failure chain with out >= 0; -1 if none
	fold  bool             // ASCII-lower-case the input while matching
}

// newSubstrMatcher builds the automaton. pats[i] belongs to list
// lists[i]; empty patterns are ignored; when a pattern repeats, the lowest
// list index is kept.
func newSubstrMatcher(pats []string, lists []int32, fold bool) *substrMatcher {
	m := &substrMatcher{edges: make(map[uint64]int32), fail: []int32{0}, out: []int32{-1}, dict: []int32{-1}, fold: fold}
	children := [][]int32{nil} // per state, for the BFS
	for i, p := range pats {
		if p == "" {
			continue
		}
		s := int32(0)
		for j := 0; j < len(p); j++ {
			k := uint64(s)<<8 | uint64(p[j])
			nx, ok := m.edges[k]
			if !ok {
				nx = int32(len(m.fail))
				m.edges[k] = nx
				m.fail = append(m.fail, 0)
				m.out = append(m.out, -1)
				m.dict = append(m.dict, -1)
				children = append(children, nil)
				children[s] = append(children[s], nx)
			}
			s = nx
		}
		if m.out[s] < 0 || lists[i] < m.out[s] {
			m.out[s] = lists[i]
		}
	}
	// Byte of each state's incoming edge, for the failure computation.
	inByte := make([]byte, len(m.fail))
	for k, v := range m.edges {
		inByte[v] = byte(k)
	}
	queue := append([]int32(nil), children[0]...)
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, v := range children[u] {
			c := uint64(inByte[v])
			f := m.fail[u]
			for {
				if u == 0 {
					f = 0
					break
				}
				if nx, ok := m.edges[uint64(f)<<8|c]; ok {
					f = nx
					break
				}
				if f == 0 {
					break
				}
				f = m.fail[f]
			}
			if f == v {
				f = 0
			}
			m.fail[v] = f
			if m.out[f] >= 0 {
				m.dict[v] = f
			} else {
				m.dict[v] = m.dict[f]
			}
			queue = append(queue, v)
		}
	}
	return m
}

// match returns the lowest list index of the patterns occurring in in.
func (m *substrMatcher) match(in []byte) (int32, bool) {
	best := int32(-1)
	s := int32(0)
	for _, c := range in {
		if m.fold && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		for {
			if nx, ok := m.edges[uint64(s)<<8|uint64(c)]; ok {
				s = nx
				break
			}
			if s == 0 {
				break
			}
			s = m.fail[s]
		}
		t := s
		if m.out[t] < 0 {
			t = m.dict[t]
		}
		for ; t > 0; t = m.dict[t] {
			if best < 0 || m.out[t] < best {
				best = m.out[t]
			}
		}
	}
	return best, best >= 0
}
