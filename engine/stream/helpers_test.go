package stream

import (
	"context"
	"testing"
	"time"

	"github.com/iocmatch/iocmatch/engine/natsembed"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// startServer starts an embedded JetStream server on a random port.
func startServer(t testing.TB, configure func(*server.Options)) *natsembed.Server {
	t.Helper()
	s, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: t.TempDir(), Configure: configure}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := Connect(ConnOptions{URL: url, Name: t.Name()}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
