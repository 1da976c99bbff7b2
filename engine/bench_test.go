package engine

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/natsembed"
	"github.com/iocmatch/iocmatch/engine/stream"
)

// Benchmarks of the whole path on an embedded JetStream server: a backlog
// of b.N events (1 in 100 alerting) is drained by the engine (decode,
// match, alert publish with acks, event acks), against a baseline that
// drains the same backlog with the same fetcher and acks each event
// without looking at it. The ratio is the engine's cost over NATS itself.
//
//	go test -run '^$' -bench 'Drain' -benchmem -count 6 ./engine/ | tee drain.txt
//	benchstat drain.txt

// benchEnv is an embedded server with the streams, and a connection.
type benchEnv struct {
	nc  *nats.Conn
	top stream.Topology
}

func benchHarness(b *testing.B) (*benchEnv, jetstream.JetStream) {
	b.Helper()
	srv, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: b.TempDir()}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	b.Cleanup(cancel)
	h := &benchEnv{top: stream.DefaultTopology()}
	nc, err := stream.Connect(stream.ConnOptions{URL: srv.ClientURL()}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	h.nc = nc
	if _, err := stream.EnsureStreams(ctx, js, h.top); err != nil {
		b.Fatal(err)
	}
	return h, js
}

func publishBacklog(b *testing.B, js jetstream.JetStream, n int) {
	b.Helper()
	evs := realisticEvents(n)
	for i, ev := range evs {
		if _, err := js.PublishAsync(ev.subject, []byte(ev.data)); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			<-js.PublishAsyncComplete()
		}
	}
	<-js.PublishAsyncComplete()
}

func waitEmpty(b *testing.B, js jetstream.JetStream, name string) {
	b.Helper()
	ctx := context.Background()
	for {
		st, err := js.Stream(ctx, name)
		if err != nil {
			b.Fatal(err)
		}
		if st.CachedInfo().State.Msgs == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func BenchmarkDrainEngine(b *testing.B) {
	h, js := benchHarness(b)
	snap := compile(b, sampleIndicators(b)...)
	opts := testOptions()
	opts.Fetch.BatchSize = 256
	opts.Consumer.MaxAckPending = 8192
	opts.Consumer.AckWait = time.Minute
	publishBacklog(b, js, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	e, err := New(opts, Deps{Conn: h.nc, Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	e.SetSnapshot(snap)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	waitEmpty(b, js, h.top.EventsStream)
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

func BenchmarkDrainBaseline(b *testing.B) {
	h, js := benchHarness(b)
	publishBacklog(b, js, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	cons, err := stream.EnsureConsumer(context.Background(), js, h.top, stream.ConsumerOptions{MaxAckPending: 8192, AckWait: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := stream.NewJetStreamFetcher(cons, stream.FetchOptions{BatchSize: 256}, nil, zerolog.Nop())
	if err := f.Start(ctx); err != nil {
		b.Fatal(err)
	}
	workers := testOptions().Workers
	stopped := make(chan struct{}, workers)
	for range workers {
		go func() {
			var buf []*stream.Msg
			for {
				batch, ok := f.Batch(buf)
				if !ok {
					stopped <- struct{}{}
					return
				}
				for _, m := range batch {
					_ = m.Ack()
				}
				buf = batch
			}
		}()
	}
	waitEmpty(b, js, h.top.EventsStream)
	b.StopTimer()
	cancel()
	for range workers {
		<-stopped
	}
}
