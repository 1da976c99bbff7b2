package stream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

func TestEnsureStreams(t *testing.T) {
	s := startServer(t, nil)
	_, js := connect(t, s.ClientURL())
	ctx := testCtx(t)
	top := DefaultTopology()
	created, err := EnsureStreams(ctx, js, top)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(created) != "[IOCMATCH_EVENTS IOCMATCH_ALERTS IOCMATCH_DEADLETTER]" {
		t.Fatalf("created %v", created)
	}
	again, err := EnsureStreams(ctx, js, top)
	if err != nil || len(again) != 0 {
		t.Fatalf("second EnsureStreams: created %v, err %v", again, err)
	}
	tests := []struct {
		name      string
		retention jetstream.RetentionPolicy
		subject   string
		dup       time.Duration
	}{
		{"IOCMATCH_EVENTS", jetstream.WorkQueuePolicy, "iocmatch.events.>", 0},
		{"IOCMATCH_ALERTS", jetstream.LimitsPolicy, "iocmatch.alerts.>", 2 * time.Minute},
		{"IOCMATCH_DEADLETTER", jetstream.LimitsPolicy, "iocmatch.deadletter.>", 2 * time.Minute},
	}
	for _, tt := range tests {
		st, err := js.Stream(ctx, tt.name)
		if err != nil {
			t.Fatal(err)
		}
		cfg := st.CachedInfo().Config
		if cfg.Retention != tt.retention || cfg.Subjects[0] != tt.subject || (tt.dup != 0 && cfg.Duplicates != tt.dup) {
			t.Errorf("%s: retention %v subjects %v dup %v", tt.name, cfg.Retention, cfg.Subjects, cfg.Duplicates)
		}
	}
}

func TestTopologyValidate(t *testing.T) {
	tests := []struct {
		mut  func(*Topology)
		want string
	}{
		{func(*Topology) {}, ""},
		{func(t *Topology) { t.EventsStream = "a.b" }, `events_stream "a.b"`},
		{func(t *Topology) { t.EventsSubject = "iocmatch..x" }, `events_subject "iocmatch..x": empty token 2`},
		{func(t *Topology) { t.AlertsSubjectPrefix = "alerts.>" }, `alerts_subject_prefix "alerts.>": wildcard`},
		{func(t *Topology) { t.Durable = "" }, `durable ""`},
	}
	for _, tt := range tests {
		top := DefaultTopology()
		tt.mut(&top)
		err := top.Validate()
		if tt.want == "" {
			if err != nil {
				t.Errorf("unexpected error %v", err)
			}
			continue
		}
		if err == nil || !contains(err.Error(), tt.want) {
			t.Errorf("error %v, want it to contain %q", err, tt.want)
		}
	}
	if got := DefaultTopology().DeadLetterSubject("bad.reason *"); got != "iocmatch.deadletter.bad_reason__" {
		t.Errorf("DeadLetterSubject = %q", got)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestJetStreamFetcher: every event is delivered once, in batches no
// larger than BatchSize, acked events leave the work queue, and cancelling
// the context drains: Batch reports the end.
func TestJetStreamFetcher(t *testing.T) {
	s := startServer(t, nil)
	_, js := connect(t, s.ClientURL())
	ctx := testCtx(t)
	top := DefaultTopology()
	if _, err := EnsureStreams(ctx, js, top); err != nil {
		t.Fatal(err)
	}
	cons, err := EnsureConsumer(ctx, js, top, ConsumerOptions{AckWait: 5 * time.Second, MaxAckPending: 100})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for i := range n {
		if _, err := js.PublishAsync(fmt.Sprintf("iocmatch.events.raw"), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()

	runCtx, stop := context.WithCancel(ctx)
	f := NewJetStreamFetcher(cons, FetchOptions{BatchSize: 64}, nil, zerolog.Nop())
	if err := f.Start(runCtx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	got := 0
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []*Msg
			for {
				b, ok := f.Batch(buf)
				if !ok {
					return
				}
				if len(b) > 64 {
					t.Errorf("batch of %d > 64", len(b))
				}
				mu.Lock()
				for _, m := range b {
					seen[string(m.Data)]++
					got++
					if err := m.Ack(); err != nil {
						t.Error(err)
					}
				}
				if got == n {
					stop()
				}
				mu.Unlock()
				buf = b
			}
		}()
	}
	wg.Wait()
	stop()
	if len(seen) != n {
		t.Fatalf("saw %d distinct events, want %d", len(seen), n)
	}
	for k, c := range seen {
		if c != 1 {
			t.Fatalf("event %s delivered %d times", k, c)
		}
	}
	// Acks are asynchronous: the work queue empties shortly after.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := js.Stream(ctx, top.EventsStream)
		if err != nil {
			t.Fatal(err)
		}
		if st.CachedInfo().State.Msgs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events stream still holds %d messages after all were acked", st.CachedInfo().State.Msgs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFetcherNakRedelivers: a Nak'ed event comes back with a higher
// delivery count; a Term'ed one does not.
func TestFetcherNakTerm(t *testing.T) {
	s := startServer(t, nil)
	_, js := connect(t, s.ClientURL())
	ctx := testCtx(t)
	top := DefaultTopology()
	if _, err := EnsureStreams(ctx, js, top); err != nil {
		t.Fatal(err)
	}
	cons, err := EnsureConsumer(ctx, js, top, ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"nak", "term"} {
		if _, err := js.Publish(ctx, "iocmatch.events.raw", []byte(d)); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	f := NewJetStreamFetcher(cons, FetchOptions{BatchSize: 8, BatchWait: 50 * time.Millisecond}, nil, zerolog.Nop())
	if err := f.Start(runCtx); err != nil {
		t.Fatal(err)
	}
	var buf []*Msg
	deliveries := map[string][]uint64{}
	for len(deliveries["nak"]) < 2 {
		b, ok := f.Batch(buf)
		if !ok {
			t.Fatal("fetcher ended")
		}
		for _, m := range b {
			_, n := m.Delivery()
			deliveries[string(m.Data)] = append(deliveries[string(m.Data)], n)
			switch string(m.Data) {
			case "nak":
				if n == 1 {
					_ = m.Nak(10 * time.Millisecond)
				} else {
					_ = m.Ack()
				}
			case "term":
				_ = m.Term("test")
			}
		}
	}
	if fmt.Sprint(deliveries["nak"]) != "[1 2]" || fmt.Sprint(deliveries["term"]) != "[1]" {
		t.Fatalf("deliveries %v", deliveries)
	}
}

func TestCoreFetcher(t *testing.T) {
	s := startServer(t, nil)
	nc, _ := connect(t, s.ClientURL())
	ctx := testCtx(t)
	runCtx, stop := context.WithCancel(ctx)
	f := NewCoreFetcher(nc, "iocmatch.events.>", "iocmatch", 0, FetchOptions{BatchSize: 16}, nil, zerolog.Nop())
	if err := f.Start(runCtx); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	const n = 100
	for i := range n {
		if err := nc.Publish("iocmatch.events.ecs", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	var buf []*Msg
	for got < n {
		b, ok := f.Batch(buf)
		if !ok {
			t.Fatal("ended early")
		}
		for _, m := range b {
			if m.Ack() != nil || m.Subject != "iocmatch.events.ecs" {
				t.Fatalf("bad message %+v", m)
			}
		}
		got += len(b)
	}
	stop()
	select {
	case <-f.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("core fetcher did not stop")
	}
	if _, ok := f.Batch(buf); ok {
		t.Fatal("Batch after stop returned a batch")
	}
}

// TestPublisherDedupAndDeadLetter: the same msg id is stored once; a
// dead letter carries the original bytes and the reason headers.
func TestPublisherDedupAndDeadLetter(t *testing.T) {
	s := startServer(t, nil)
	nc, js := connect(t, s.ClientURL())
	ctx := testCtx(t)
	top := DefaultTopology()
	if _, err := EnsureStreams(ctx, js, top); err != nil {
		t.Fatal(err)
	}
	pub := NewPublisher(nc, js)
	var p Pending
	for i := range 3 {
		pub.PublishAsync(&p, i, top.AlertSubject("ipv4"), []byte(`{"a":1}`), "alert-1", nil)
	}
	pub.PublishAsync(&p, 3, top.AlertSubject("domain"), []byte(`{"a":2}`), "alert-2", nil)
	pub.PublishAsync(&p, 4, "nowhere.bound", []byte(`x`), "", nil)
	var failed []int
	n := pub.Wait(ctx, &p, func(tag int, err error) { failed = append(failed, tag) })
	if n != 1 || fmt.Sprint(failed) != "[4]" {
		t.Fatalf("failures %d %v, want the unbound subject (tag 4) only", n, failed)
	}
	st, err := js.Stream(ctx, top.AlertsStream)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.CachedInfo().State.Msgs; got != 2 {
		t.Fatalf("alerts stream holds %d messages, want 2 (dedup by Nats-Msg-Id)", got)
	}

	// Dead letter.
	if _, err := EnsureConsumer(ctx, js, top, ConsumerOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "iocmatch.events.ecs", []byte("{bad")); err != nil {
		t.Fatal(err)
	}
	cons, _ := js.Consumer(ctx, top.EventsStream, top.Durable)
	mb, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var jm jetstream.Msg
	for m := range mb.Messages() {
		jm = m
	}
	if jm == nil {
		t.Fatal("no event fetched")
	}
	msg := &Msg{Subject: jm.Subject(), Data: jm.Data(), js: jm}
	p.Reset()
	for range 2 { // twice: stored once
		pub.PublishDeadLetter(&p, 0, top, DeadLetter{Reason: "malformed", Err: errors.New("offset 4: unexpected end"), Msg: msg})
	}
	if n := pub.Wait(ctx, &p, func(int, error) {}); n != 0 {
		t.Fatalf("%d dead-letter publish failures", n)
	}
	dl, err := js.Stream(ctx, top.DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	if got := dl.CachedInfo().State.Msgs; got != 1 {
		t.Fatalf("dead-letter stream holds %d, want 1", got)
	}
	raw, err := dl.GetLastMsgForSubject(ctx, "iocmatch.deadletter.malformed")
	if err != nil {
		t.Fatal(err)
	}
	if string(raw.Data) != "{bad" || raw.Header.Get(HeaderReason) != "malformed" ||
		raw.Header.Get(HeaderError) != "offset 4: unexpected end" || raw.Header.Get(HeaderSubject) != "iocmatch.events.ecs" ||
		raw.Header.Get(HeaderStreamSeq) != "1" {
		t.Fatalf("dead letter %q headers %v", raw.Data, raw.Header)
	}
	_ = nats.Header{}
}
