package config_test

import (
	"fmt"

	"github.com/iocmatch/iocmatch/engine/config"
)

func ExampleParse() {
	c, err := config.Parse([]byte(`
nats:
  url: nats://nats-1.example:4222
feeds:
  - name: otx
    url: https://taxii.example/taxii2/
    collection: 91a7b528-80eb-42ed-a74d-c6fbd5a26116
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	f := c.Feeds[0]
	fmt.Println(c.Stream.Mode, c.Stream.BatchSize, f.Type, f.Interval, f.Collections)

	_, err = config.Parse([]byte("stream:\n  batch_wait: 50\n  mode: fast\n"))
	fmt.Println(err)
	// Output:
	// jetstream 256 taxii 1h0m0s [91a7b528-80eb-42ed-a74d-c6fbd5a26116]
	// stream.batch_wait: "50" is not a Go duration (e.g. "30s", "5m", "1h") (line 2)
}
