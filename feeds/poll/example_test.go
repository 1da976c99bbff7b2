package poll_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/iocmatch/iocmatch/feeds"
	"github.com/iocmatch/iocmatch/feeds/poll"
	"github.com/iocmatch/iocmatch/feeds/store"
)

func ExampleScheduler() {
	dir, _ := os.MkdirTemp("", "poll-example")
	defer os.RemoveAll(dir)
	list := filepath.Join(dir, "blocklist.txt")
	_ = os.WriteFile(list, []byte("192.0.2.10\nbad.example\n"), 0o644)

	st, err := store.Open(filepath.Join(dir, "data"), store.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()

	ctx, cancel := context.WithCancel(context.Background())
	s, err := poll.New([]poll.Feed{
		{Name: "blocklist", Source: poll.NewFileSource(list, feeds.LoadOptions{}), Interval: 5 * time.Minute},
		// A TAXII collection: poll.NewTAXIISource(client, poll.TAXIIOptions{Collections: []string{"id"}}).
	}, st, poll.Options{OnRefresh: func(r poll.Refresh) {
		fmt.Printf("%s: %d objects, %d added, error %v\n", r.Feed, r.Result.Stats.Objects, r.Result.Change.Added, r.Err)
		cancel() // one refresh is enough for the example
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = s.Run(ctx)
	fmt.Println(len(st.Active(time.Now())), "indicators active")
	// Output:
	// blocklist: 2 objects, 2 added, error <nil>
	// 2 indicators active
}
