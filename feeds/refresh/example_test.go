package refresh_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/match"
	"github.com/iocmatch/iocmatch/feeds"
	"github.com/iocmatch/iocmatch/feeds/poll"
	"github.com/iocmatch/iocmatch/feeds/refresh"
	"github.com/iocmatch/iocmatch/feeds/store"
)

// Keep a snapshot current from a list file: each refresh replaces the
// feed's content and, when it changed, compiles and applies a new
// snapshot (in serve, Apply is (*engine.Engine).SetSnapshot).
func ExampleManager() {
	dir, _ := os.MkdirTemp("", "refresh-example")
	defer os.RemoveAll(dir)
	list := filepath.Join(dir, "block.txt")
	_ = os.WriteFile(list, []byte("203.0.113.1\nevil.example\n"), 0o600)

	st, err := store.Open(filepath.Join(dir, "store"), store.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	m, err := refresh.New(st, refresh.Options{
		Feeds: []poll.Feed{{Name: "block", Source: poll.NewFileSource(list, feeds.LoadOptions{}), Interval: time.Hour}},
		Apply: func(s *match.Snapshot) { fmt.Println("new snapshot:", s.Len(), "indicators") },
		Log:   zerolog.Nop(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = m.RefreshAll(context.Background())
	_ = os.WriteFile(list, []byte("203.0.113.1\n"), 0o600) // a value removed
	_ = m.RefreshAll(context.Background())
	_ = m.RefreshAll(context.Background()) // unchanged: nothing recompiled
	// Output:
	// new snapshot: 2 indicators
	// new snapshot: 1 indicators
}
