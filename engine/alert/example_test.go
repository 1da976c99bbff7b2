package alert_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/iocmatch/iocmatch/engine/alert"
	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
)

// Example builds the alert of one Zeek conn event whose responder
// address is a known C2 address, and prints a few of its ECS fields.
func Example() {
	ind := &ioc.Indicator{
		ID: "sample:ipv4:203.0.113.66", Kind: ioc.KindIPv4, Value: "203.0.113.66",
		Feed: "sample", Confidence: 90, Context: ioc.Context{Malware: []string{"SampleRAT"}},
	}
	event := []byte(`{"ts":1767225600.1,"uid":"C1","id.orig_h":"192.0.2.10","id.resp_h":"203.0.113.66","id.resp_p":443}`)
	dst := netip.MustParseAddr("203.0.113.66")
	observables := []ioc.Observable{
		{Kind: ioc.KindIPv4, Role: ioc.RoleDst, Addr: dst, Value: []byte("203.0.113.66"), Field: "id.resp_h"},
	}
	b := alert.NewBuilder(alert.Options{})
	a, err := b.Build(alert.Input{
		Event:       event,
		Format:      "zeek",
		EventID:     []byte("C1"),
		Timestamp:   []byte("1767225600.1"),
		Observables: observables,
		Hits:        []match.Hit{{Indicator: ind, Obs: 0}},
		Source:      "iocmatch.events.zeek",
		Now:         time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.ID)
	fmt.Println(a.Message())
	fmt.Println(alert.ECSConfidence(ind.Confidence), alert.ECSIndicatorType(ind.Kind))
	line := a.AppendJSON(nil)
	fmt.Println(len(line) > 0 && line[0] == '{')
	// Output:
	// 3c6a719daaff497c41ef39d5ee3be4f0
	// iocmatch: ipv4 203.0.113.66 matched id.resp_h (SampleRAT)
	// High ipv4-addr
	// true
}
