package allowlist

// substrMatcher is an Aho-Corasick automaton over byte strings with
// sparse transitions: a dense 256-entry table for the root, and for every
// other state its few outgoing edges in one flat array (scanned
// linearly), so memory is proportional to the total pattern length
// (about 10 bytes per pattern byte), not 256 pointers per state. It answers "which pattern
// with the lowest list index occurs in the input". Immutable after
// construction; safe for concurrent use; Match does not allocate.
//
// (github.com/cloudflare/ahocorasick was measured first: on the 8,201
// entries of the MISP disposable-email list it took 21 s and 1.8 GiB to
// build, because each trie node holds two [256]*node arrays.)
type substrMatcher struct {
	root     [256]int32 // root transitions; 0 = stay at the root
	edgeOff  []int32    // state s's edges are edgeByte/edgeNext[edgeOff[s]:edgeOff[s+1]]
	edgeByte []byte
	edgeNext []int32
	fail     []int32          // failure link per state
	out      []int32          // list index of the pattern ending at this state; -1 if none
	dict     []int32          // nearest state on the failure chain with out >= 0; -1 if none
	fold     bool             // ASCII-lower-case the input while matching
	edges    map[uint64]int32 // build time only: state<<8 | byte -> next state
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
	m.edgeOff = make([]int32, len(m.fail)+1)
	for st := range m.fail {
		m.edgeOff[st+1] = m.edgeOff[st] + int32(len(children[st]))
	}
	m.edgeByte = make([]byte, len(m.edges))
	m.edgeNext = make([]int32, len(m.edges))
	for st, cs := range children {
		for i, v := range cs {
			at := m.edgeOff[st] + int32(i)
			m.edgeByte[at], m.edgeNext[at] = inByte[v], v
			if st == 0 {
				m.root[inByte[v]] = v
			}
		}
	}
	m.edges = nil
	return m
}

// next returns the transition of state s on c, or -1.
func (m *substrMatcher) next(s int32, c byte) int32 {
	if s == 0 {
		if nx := m.root[c]; nx != 0 {
			return nx
		}
		return -1
	}
	for i := m.edgeOff[s]; i < m.edgeOff[s+1]; i++ {
		if m.edgeByte[i] == c {
			return m.edgeNext[i]
		}
	}
	return -1
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
			if nx := m.next(s, c); nx >= 0 {
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
