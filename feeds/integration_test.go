package feeds_test

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/feeds"
	"github.com/iocmatch/iocmatch/feeds/store"
)

// TestSampleThroughStore loads every form of the bundled sample feed,
// keeps it in a store, restarts the store, and checks that the active
// set is what was loaded.
func TestSampleThroughStore(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var want []*ioc.Indicator
	for _, name := range []string{"feed.stix.json", "indicators.jsonl", "indicators.csv", "indicators.txt"} {
		inds, rep, err := feeds.LoadFile(filepath.Join("..", "testdata", "sample", name), feeds.LoadOptions{Feed: name, Now: func() time.Time { return now }})
		if err != nil || rep.SkippedCount > 0 {
			t.Fatalf("%s: %v %s", name, err, rep)
		}
		if name == "feed.stix.json" {
			_, err = st.ApplyIncremental(name, inds, rep.Revoked)
		} else {
			_, err = st.ReplaceFeed(name, inds)
		}
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, inds...)
	}
	st.Close()
	st, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got := st.Active(now)
	enc := func(inds []*ioc.Indicator) map[string]bool {
		m := map[string]bool{}
		for _, i := range inds {
			b, _ := json.Marshal(i)
			m[string(b)] = true
		}
		return m
	}
	if len(got) != len(want) || !reflect.DeepEqual(enc(got), enc(want)) {
		t.Errorf("after restart %d active indicators, loaded %d (or contents differ)", len(got), len(want))
	}
	// Before the sample's valid_from nothing of the STIX and JSON-lines forms is active.
	early := st.Active(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, i := range early {
		if i.Feed == "sample" || i.Feed == "feed.stix.json" {
			t.Errorf("%s active before its valid_from", i.ID)
		}
	}
}
