package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/natsembed"
)

// TestPublishCore: `publish --core` (for stream.mode core) publishes every
// line with core NATS and exits 0 when run with a context that has no
// deadline, as from the command line.
func TestPublishCore(t *testing.T) {
	srv, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: t.TempDir()}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	got := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe("iocmatch.events.>", got)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	code, _, errs := cli(context.Background(), "publish", "--server", srv.ClientURL(), "--core", "--format", "raw", "../../testdata/sample/raw.log")
	if code != 0 {
		t.Fatalf("publish --core: exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "published 7 events to iocmatch.events.raw") {
		t.Errorf("stderr %q; want the count of the 7 lines of raw.log", errs)
	}
	for i := range 7 {
		select {
		case m := <-got:
			if m.Subject != "iocmatch.events.raw" {
				t.Errorf("message %d on %s, want iocmatch.events.raw", i, m.Subject)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of 7 events received", i)
		}
	}
}
