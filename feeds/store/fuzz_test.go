package store

import (
	"bytes"
	"testing"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
	"github.com/iocmatch/iocmatch/engine/ioc"
)

// FuzzStoreFeedFile: the feed-file decoder never panics, accepts only
// valid indicators, and what it accepts re-encodes to a file that decodes
// to the same content.
func FuzzStoreFeedFile(f *testing.F) {
	fuzzseed.Add(f)
	fd := newFeedData()
	fd.revoked["indicator--r"] = struct{}{}
	for _, ind := range []*ioc.Indicator{ind("indicator--a", "a.example", 1), compound("indicator--c")} {
		line, _ := encodeIndicator(ind)
		fd.groups[ind.ID] = &group{modified: ind.Modified, inds: []*ioc.Indicator{ind}, lines: [][]byte{line}}
	}
	good, err := encodeFeed("taxii", fd)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-10])
	f.Add([]byte("{\"format\":\"iocmatch-store-feed\",\"version\":1,\"feed\":\"x\"}\n{\"trailer\":true,\"count\":0,\"sha256\":\"\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		feed, fd, err := decodeFeed(data)
		if err != nil {
			return
		}
		for _, g := range fd.groups {
			for _, i := range g.inds {
				if err := i.Validate(); err != nil {
					t.Fatalf("decoded an invalid indicator: %v", err)
				}
			}
		}
		again, err := encodeFeed(feed, fd)
		if err != nil {
			t.Fatal(err)
		}
		feed2, fd2, err := decodeFeed(again)
		if err != nil || feed2 != feed || len(fd2.groups) != len(fd.groups) || len(fd2.revoked) != len(fd.revoked) {
			t.Fatalf("re-encoded file does not decode the same: %v", err)
		}
		again2, _ := encodeFeed(feed2, fd2)
		if !bytes.Equal(again, again2) {
			t.Fatal("encoding is not stable")
		}
	})
}

// FuzzStoreState: the state decoder never panics.
func FuzzStoreState(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte(`{"format":"iocmatch-store-state","checkpoints":{"f":{"k":"v"}},"status":{"f":{"objects":3}},"blobs":{"f":["x"]}}`))
	f.Add([]byte(`{"format":"other"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeState(data)
		if err != nil {
			return
		}
		_ = st.clone()
	})
}
