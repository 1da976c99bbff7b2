package natsembed_test

import (
	"fmt"
	"os"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/natsembed"
)

// Start an in-process NATS server with JetStream on a random port.
func ExampleStart() {
	dir, err := os.MkdirTemp("", "natsembed")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	s, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: dir}, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Shutdown()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	fmt.Println("connected:", nc.IsConnected(), "jetstream:", s.NATS().JetStreamEnabled())
	// Output: connected: true jetstream: true
}
