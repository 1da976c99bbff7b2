package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/iocmatch/iocmatch/bench/gen"
)

// TestAlertCheckCatchesEveryFault feeds the correlator forged alerts: a
// correct one, a duplicate, one for a background event, one naming the
// wrong indicator, one never published and one without a sequence number.
func TestAlertCheckCatchesEveryFault(t *testing.T) {
	w := &workload{
		poolAll: make([]gen.Event, 4),
		alerts:  []bool{true, false, true, true},
		plantID: [][]byte{[]byte(`"ind-0"`), nil, []byte(`"ind-2"`), nil},
	}
	pr := &phaseRun{w: w}
	for seq := uint64(0); seq < 4; seq++ {
		pr.ts.set(seq, time.Now().UnixNano())
	}
	c := &alertCheck{w: w, pr: pr, seen: map[uint64]uint8{}}
	alert := func(seq int, ids string) []byte {
		return fmt.Appendf(nil, `{"event":{"original":"{\"event\":{\"id\":\"bench-%012d\"}}"},"iocmatch":{"indicator_ids":[%s]}}`, seq, ids)
	}
	c.onAlert(alert(0, `"ind-0"`))         // good
	c.onAlert(alert(0, `"ind-0"`))         // duplicate
	c.onAlert(alert(1, `"ind-9"`))         // background event: extra
	c.onAlert(alert(2, `"ind-9"`))         // wrong indicator
	c.onAlert(alert(3, `"x"`))             // expected, no planted id (accidental): good
	c.onAlert(alert(7, `"x"`))             // never published: extra
	c.onAlert([]byte(`{"no":"sequence"}`)) // uncorrelatable: extra
	want := Correctness{Extra: 3, Duplicates: 1, WrongIndicator: 1}
	if c.corr != want || c.good != 2 || c.received.Load() != 7 || len(c.lat) != 5 {
		t.Fatalf("corr %+v good %d received %d samples %d", c.corr, c.good, c.received.Load(), len(c.lat))
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Mode: "udp"},
		{Events: -1},
		{Events: 10, Duration: time.Second},
		{HitRatio: 2},
		{Format: "csv", Events: 10},
		{Events: maxTableSeq},
	} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

// ExampleRun shows a programmatic run: an embedded NATS server, 20,000
// ECS events, 10,000 generated indicators, 1% planted hits.
func ExampleRun() {
	r, err := Run(context.Background(), Config{Mode: "core", Events: 20_000, Indicators: 10_000, HitRatio: 0.01})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.0f%% of raw NATS, p99 %s, correct %v\n", r.Ratio*100, r.Engine.Latency.P99, r.Correct.Pass)
}
