package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine"
	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
	"github.com/iocmatch/iocmatch/engine/natsembed"
	"github.com/iocmatch/iocmatch/engine/stream"
)

// Run the engine against an embedded NATS server: an event published on
// iocmatch.events.ecs yields an alert on iocmatch.alerts.ipv4.
func Example() {
	dir, _ := os.MkdirTemp("", "engine-example")
	defer os.RemoveAll(dir)
	srv, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: dir}, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown()
	nc, err := stream.Connect(stream.ConnOptions{URL: srv.ClientURL()}, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()

	e, err := engine.New(engine.Options{Workers: 1}, engine.Deps{Conn: nc, Log: zerolog.Nop()})
	if err != nil {
		fmt.Println(err)
		return
	}
	snap, err := match.Compile([]*ioc.Indicator{{ID: "c2", Kind: ioc.KindIPv4, Value: "203.0.113.66", Feed: "example", Context: ioc.Context{Malware: []string{"SampleRAT"}}}}, match.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	e.SetSnapshot(snap) // later swaps happen the same way, while Run runs

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	for e.Ready() != nil {
		time.Sleep(time.Millisecond)
	}

	js, _ := jetstream.New(nc)
	event := `{"@timestamp":"2026-03-01T10:00:00Z","ecs":{"version":"8.11.0"},"event":{"id":"e1"},"destination":{"ip":"203.0.113.66","port":443}}`
	if _, err := js.Publish(ctx, "iocmatch.events.ecs", []byte(event)); err != nil {
		fmt.Println(err)
		return
	}
	alerts, _ := js.Stream(ctx, "IOCMATCH_ALERTS")
	var m *jetstream.RawStreamMsg
	for m == nil {
		m, _ = alerts.GetLastMsgForSubject(ctx, "iocmatch.alerts.>")
		time.Sleep(time.Millisecond)
	}
	cancel() // drain: finish in-flight events, then return
	fmt.Println("Run:", <-done)

	var doc struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(m.Data, &doc)
	fmt.Println(m.Subject)
	fmt.Println(doc.Message)
	// Output:
	// Run: <nil>
	// iocmatch.alerts.ipv4
	// iocmatch: ipv4 203.0.113.66 matched destination.ip (SampleRAT)
}
