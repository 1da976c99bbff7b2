package natsembed

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

func TestStartPersistsJetStream(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(Options{Port: -1, StoreDir: dir}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.ClientURL(), "nats://127.0.0.1:") {
		t.Fatalf("ClientURL %q: want a loopback URL", s.ClientURL())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "t.x", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	s.Shutdown()
	s.Shutdown() // idempotent

	// Restart on the same directory: the message is still there.
	s2, err := Start(Options{Port: -1, StoreDir: dir}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Shutdown()
	nc2, err := nats.Connect(s2.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	js2, _ := jetstream.New(nc2)
	st, err := js2.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetMsg(ctx, 1)
	if err != nil || string(m.Data) != "kept" {
		t.Fatalf("after restart: %v %q", err, m.Data)
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := Start(Options{Port: -1}, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "store directory") {
		t.Fatalf("no store dir: %v", err)
	}
	s, err := Start(Options{Port: -1, StoreDir: t.TempDir()}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	port := s.NATS().Addr().String()
	_, p, _ := strings.Cut(port, ":")
	var n int
	for _, c := range p {
		n = n*10 + int(c-'0')
	}
	_, err = Start(Options{Port: n, StoreDir: t.TempDir(), ReadyTimeout: 2 * time.Second}, zerolog.Nop())
	if err == nil {
		t.Fatal("second server on a port in use started")
	}
	if !strings.Contains(err.Error(), "cannot listen on") {
		t.Errorf("port-in-use error %q: want it to say it cannot listen", err)
	}
}
