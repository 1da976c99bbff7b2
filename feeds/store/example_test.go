package store_test

import (
	"fmt"
	"os"
	"time"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/feeds/store"
)

func Example() {
	dir, _ := os.MkdirTemp("", "iocmatch-store")
	defer os.RemoveAll(dir)
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

	st, err := store.Open(dir, store.Options{Clock: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	v1 := &ioc.Indicator{ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Kind: ioc.KindDomain, Value: "malware-c2.example",
		Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	ch, _ := st.ApplyIncremental("taxii-intel", []*ioc.Indicator{v1}, nil)
	fmt.Printf("first pull: %+v\n", ch)

	// A list feed: the whole content each refresh.
	ch, _ = st.ReplaceFeed("blocklist", []*ioc.Indicator{{ID: "blocklist:ipv4:203.0.113.66", Kind: ioc.KindIPv4, Value: "203.0.113.66"}})
	fmt.Printf("list refresh: %+v\n", ch)
	st.SetCheckpoint("taxii-intel", "collection-1", "2026-01-01T00:00:00Z")
	st.Close()

	// After a restart everything is there at once.
	st, err = store.Open(dir, store.Options{})
	if err != nil {
		panic(err)
	}
	defer st.Close()
	for _, ind := range st.Active(now) {
		fmt.Println(ind.Kind, ind.Value)
	}
	fmt.Println("checkpoint:", st.Checkpoint("taxii-intel", "collection-1"))

	// The producer revokes the indicator.
	ch, _ = st.ApplyIncremental("taxii-intel", nil, []string{v1.ID})
	fmt.Printf("revocation: %+v, %d active\n", ch, len(st.Active(now)))
	// Output:
	// first pull: {Added:1 Updated:0 Removed:0 Ignored:0}
	// list refresh: {Added:1 Updated:0 Removed:0 Ignored:0}
	// ipv4 203.0.113.66
	// domain malware-c2.example
	// checkpoint: 2026-01-01T00:00:00Z
	// revocation: {Added:0 Updated:0 Removed:1 Ignored:0}, 1 active
}
