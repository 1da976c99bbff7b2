package observe_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/iocmatch/iocmatch/engine/observe"
)

func Example() {
	o, err := observe.New(observe.Options{})
	if err != nil {
		panic(err)
	}
	var res observe.Result // reuse one per worker
	event := []byte(`{"ts":"2026-12-03T10:01:00Z","uid":"C1","id.orig_h":"192.0.2.20","id.resp_h":"192.0.2.53","query":"WWW.Malware-C2.example.","answers":["203.0.113.66"]}`)
	if err := o.Observe(event, observe.FormatAuto, &res); err != nil {
		panic(err)
	}
	fmt.Printf("%s event %s\n", res.Format, res.EventID)
	for _, ob := range res.Observables {
		fmt.Printf("%s %s %s=%s\n", ob.Kind, ob.Role, ob.Field, ob.Value)
	}
	// Output:
	// zeek event C1
	// ipv4 src id.orig_h=192.0.2.20
	// ipv4 dst id.resp_h=192.0.2.53
	// domain any query=www.malware-c2.example
	// ipv4 any answers=203.0.113.66
}

func ExampleObserver_Observe_raw() {
	o, _ := observe.New(observe.Options{})
	var res observe.Result
	line := `Dec  3 09:01:04 proxy01 squid: 192.0.2.60 CONNECT malware-c2.example:443 serial 5C:9C:AA:01:02:03:04:05`
	if err := o.Observe([]byte(line), observe.FormatAuto, &res); err != nil {
		panic(err)
	}
	for _, ob := range res.Observables[1:] { // [0] is the whole line as text
		fmt.Printf("%s %s\n", ob.Kind, ob.Value)
	}
	// Output:
	// ipv4 192.0.2.60
	// domain malware-c2.example
}

func ExampleObserver_Observe_error() {
	o, _ := observe.New(observe.Options{})
	var res observe.Result
	err := o.Observe([]byte(`{"source":{"ip":"192.0.2.1"`), observe.FormatAuto, &res)
	var e *observe.Error
	if errors.As(err, &e) {
		fmt.Println(e.Reason, errors.Is(err, observe.ErrMalformed))
		fmt.Println(err)
	}
	// Output:
	// malformed true
	// observe: auto event: malformed: unexpected end of input in object at offset 27
}

func ExampleLoadProfile() {
	p, err := observe.LoadProfile(strings.NewReader(`
name: proxy
format: ecs
fields:
  - {field: proxy.upstream, as: host, role: dst}
`))
	if err != nil {
		panic(err)
	}
	o, _ := observe.New(observe.Options{Profiles: []observe.Profile{p}})
	var res observe.Result
	_ = o.Observe([]byte(`{"proxy":{"upstream":"Evil-Update.test:8080"}}`), observe.FormatECS, &res)
	fmt.Println(res.Observables[0].Kind, res.Observables[0].Field, string(res.Observables[0].Value))
	// Output: domain proxy.upstream evil-update.test
}
