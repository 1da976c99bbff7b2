package stream_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/natsembed"
	"github.com/iocmatch/iocmatch/engine/stream"
)

// Create the iocmatch streams, fetch a batch of events, publish an alert
// with a stable id and acknowledge the events once it is stored.
func Example() {
	dir, _ := os.MkdirTemp("", "stream-example")
	defer os.RemoveAll(dir)
	srv, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: dir}, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	nc, err := stream.Connect(stream.ConnOptions{URL: srv.ClientURL()}, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	top := stream.DefaultTopology()
	created, err := stream.EnsureStreams(ctx, js, top)
	fmt.Println("created:", created, err)
	cons, err := stream.EnsureConsumer(ctx, js, top, stream.ConsumerOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := js.Publish(ctx, "iocmatch.events.raw", []byte("conn from 203.0.113.66")); err != nil {
		fmt.Println(err)
		return
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	f := stream.NewJetStreamFetcher(cons, stream.FetchOptions{BatchSize: 16}, nil, zerolog.Nop())
	if err := f.Start(runCtx); err != nil {
		fmt.Println(err)
		return
	}
	batch, _ := f.Batch(nil)
	pub := stream.NewPublisher(nc, js)
	var p stream.Pending
	for i, m := range batch {
		pub.PublishAsync(&p, i, top.AlertSubject("ipv4"), []byte(`{"alert":"`+string(m.Data)+`"}`), "alert-id-1", nil)
	}
	failed := pub.Wait(ctx, &p, func(tag int, err error) { fmt.Println("event", tag, "will be redelivered:", err) })
	for _, m := range batch {
		_ = m.Ack()
	}
	stop()
	fmt.Println("events:", len(batch), "failed publishes:", failed)
	// Output:
	// created: [IOCMATCH_EVENTS IOCMATCH_ALERTS IOCMATCH_DEADLETTER] <nil>
	// events: 1 failed publishes: 0
}
