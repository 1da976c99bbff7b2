package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
	"github.com/iocmatch/iocmatch/engine/metrics"
	"github.com/iocmatch/iocmatch/engine/natsembed"
	"github.com/iocmatch/iocmatch/engine/stream"
)

// harness is an embedded JetStream server, a client connection for the
// test side, and helpers to run engines against it.
type harness struct {
	t   *testing.T
	srv *natsembed.Server
	nc  *nats.Conn // the test's own connection (publishing, reading alerts)
	js  jetstream.JetStream
	top stream.Topology
	ctx context.Context
}

func newHarness(t *testing.T, configure func(*server.Options)) *harness {
	t.Helper()
	srv, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: t.TempDir(), Configure: configure}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	t.Cleanup(cancel)
	h := &harness{t: t, srv: srv, top: stream.DefaultTopology(), ctx: ctx}
	if configure == nil {
		h.nc, h.js = h.connect()
		h.ensureStreams()
	}
	return h
}

// ensureStreams creates the streams so that events can be published
// before an engine runs.
func (h *harness) ensureStreams() {
	h.t.Helper()
	if _, err := stream.EnsureStreams(h.ctx, h.js, h.top); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) connect() (*nats.Conn, jetstream.JetStream) {
	h.t.Helper()
	nc, err := stream.Connect(stream.ConnOptions{URL: h.srv.ClientURL(), Name: h.t.Name()}, zerolog.Nop())
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		h.t.Fatal(err)
	}
	return nc, js
}

// testOptions are engine options for tests: no throttling, short ack
// wait so that crash tests see redeliveries quickly.
func testOptions() Options {
	return Options{
		Consumer:        stream.ConsumerOptions{AckWait: 2 * time.Second, MaxAckPending: 1024},
		Fetch:           stream.FetchOptions{BatchSize: 64},
		Workers:         2,
		NakDelay:        100 * time.Millisecond,
		PublishTimeout:  2 * time.Second, // bounds a crashed engine's wait for acks that never come
		PendingInterval: 200 * time.Millisecond,
	}
}

// running is an engine running in a goroutine.
type running struct {
	e      *Engine
	m      *metrics.Metrics
	cancel context.CancelFunc
	done   chan error
	reg    *prometheus.Registry
}

// start runs an engine on nc (a fresh connection if nil) with snap.
func (h *harness) start(opts Options, nc *nats.Conn, snap *match.Snapshot) *running {
	h.t.Helper()
	return h.startWith(opts, func(d *Deps) {
		if nc != nil {
			d.Conn = nc
		}
	}, snap)
}

// startWith runs an engine whose Deps are adjusted by mod (Conn nil: a
// fresh connection).
func (h *harness) startWith(opts Options, mod func(*Deps), snap *match.Snapshot) *running {
	h.t.Helper()
	deps := Deps{Log: zerolog.Nop()}
	mod(&deps)
	if deps.Conn == nil {
		deps.Conn, _ = h.connect()
	}
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		h.t.Fatal(err)
	}
	deps.Metrics = m
	e, err := New(opts, deps)
	if err != nil {
		h.t.Fatal(err)
	}
	e.SetSnapshot(snap)
	ctx, cancel := context.WithCancel(h.ctx)
	r := &running{e: e, m: m, cancel: cancel, done: make(chan error, 1), reg: reg}
	go func() { r.done <- e.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for e.Ready() != nil {
		if time.Now().After(deadline) {
			h.t.Fatalf("engine not ready: %v", e.Ready())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return r
}

// stop cancels the engine's context (drain) and waits for Run.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("engine did not drain")
	}
}

// publish publishes events (subject, data) with JetStream acks.
func (h *harness) publish(evs []event) {
	h.t.Helper()
	for i, ev := range evs {
		if _, err := h.js.PublishAsync(ev.subject, []byte(ev.data)); err != nil {
			h.t.Fatal(err)
		}
		if i%1000 == 999 {
			<-h.js.PublishAsyncComplete()
		}
	}
	select {
	case <-h.js.PublishAsyncComplete():
	case <-h.ctx.Done():
		h.t.Fatal("publish acks timed out")
	}
}

// waitDrained waits until the events stream is empty (every event acked
// or termed) and nothing is pending on the consumer.
func (h *harness) waitDrained(timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := h.js.Stream(h.ctx, h.top.EventsStream)
		if err == nil && st.CachedInfo().State.Msgs == 0 {
			return
		}
		if time.Now().After(deadline) {
			n := uint64(0)
			if err == nil {
				n = st.CachedInfo().State.Msgs
			}
			h.t.Fatalf("events stream still holds %d events after %s", n, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// streamMsgs returns every message of a stream, in order.
func (h *harness) streamMsgs(name string) []*jetstream.RawStreamMsg {
	h.t.Helper()
	st, err := h.js.Stream(h.ctx, name)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := st.Info(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(h.ctx, seq)
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				continue
			}
			h.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// alertDoc is the part of an alert document the tests check.
type alertDoc struct {
	Event struct {
		ID       string `json:"id"`
		Original string `json:"original"`
	} `json:"event"`
	Iocmatch struct {
		AlertID      string   `json:"alert_id"`
		IndicatorIDs []string `json:"indicator_ids"`
		Source       string   `json:"source"`
		EventID      string   `json:"event_id"`
		EventFormat  string   `json:"event_format"`
	} `json:"iocmatch"`
	Threat struct {
		Enrichments []struct {
			Matched struct {
				Atomic string `json:"atomic"`
				Field  string `json:"field"`
				ID     string `json:"id"`
			} `json:"matched"`
		} `json:"enrichments"`
	} `json:"threat"`
	raw string
}

// alerts returns the stored alerts, parsed, checking the subject and
// the Nats-Msg-Id header against the alert id.
func (h *harness) alerts() []alertDoc {
	h.t.Helper()
	var out []alertDoc
	for _, m := range h.streamMsgs(h.top.AlertsStream) {
		var a alertDoc
		if err := json.Unmarshal(m.Data, &a); err != nil {
			h.t.Fatalf("alert %q: %v", m.Data, err)
		}
		a.raw = string(m.Data)
		if got := m.Header.Get(jetstream.MsgIDHeader); got != a.Iocmatch.AlertID || got == "" {
			h.t.Fatalf("alert Nats-Msg-Id %q, alert id %q", got, a.Iocmatch.AlertID)
		}
		if !strings.HasPrefix(m.Subject, h.top.AlertsSubjectPrefix+".") {
			h.t.Fatalf("alert on subject %s", m.Subject)
		}
		out = append(out, a)
	}
	return out
}

// event is one test event and the indicator ids it must alert with
// (none: no alert).
type event struct {
	subject string
	data    string
	want    []string
}

// checkAlerts compares the stored alerts with the events' expectations:
// one alert per event with hits, exactly those indicator ids, no alert
// for the others, no duplicate.
func (h *harness) checkAlerts(evs []event) []alertDoc {
	h.t.Helper()
	got := h.alerts()
	byOriginal := map[string]alertDoc{}
	for _, a := range got {
		if prev, dup := byOriginal[a.Event.Original]; dup {
			h.t.Fatalf("two alerts for event %q:\n%s\n%s", a.Event.Original, prev.raw, a.raw)
		}
		byOriginal[a.Event.Original] = a
	}
	wantN := 0
	for _, ev := range evs {
		a, ok := byOriginal[ev.data]
		if len(ev.want) == 0 {
			if ok {
				h.t.Errorf("unexpected alert for %s %q: indicators %v", ev.subject, ev.data, a.Iocmatch.IndicatorIDs)
			}
			continue
		}
		wantN++
		if !ok {
			h.t.Errorf("no alert for %s %q (want %v)", ev.subject, ev.data, ev.want)
			continue
		}
		want := slices.Clone(ev.want)
		sort.Strings(want)
		if !slices.Equal(a.Iocmatch.IndicatorIDs, want) {
			h.t.Errorf("alert for %q: indicators %v, want %v", ev.data, a.Iocmatch.IndicatorIDs, want)
		}
		if a.Iocmatch.Source != ev.subject {
			h.t.Errorf("alert for %q: source %q, want %q", ev.data, a.Iocmatch.Source, ev.subject)
		}
	}
	if len(got) != wantN {
		h.t.Errorf("%d alerts stored, want %d", len(got), wantN)
	}
	return got
}

// indicator builds a normalised indicator.
func indicator(t testing.TB, id string, kind ioc.Kind, value string, ctx ioc.Context) *ioc.Indicator {
	t.Helper()
	k, v, err := ioc.Normalize(kind, value)
	if err != nil {
		t.Fatalf("indicator %s: %v", id, err)
	}
	return &ioc.Indicator{ID: id, Kind: k, Value: v, Feed: "test", Confidence: 80, Context: ctx}
}

func compile(t testing.TB, inds ...*ioc.Indicator) *match.Snapshot {
	t.Helper()
	s, err := match.Compile(inds, match.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sampleIndicators are the indicators of the end-to-end tests.
func sampleIndicators(t testing.TB) []*ioc.Indicator {
	return []*ioc.Indicator{
		indicator(t, "ind-domain", ioc.KindDomain, "malware-c2.example", ioc.Context{Malware: []string{"SampleRAT"}, Techniques: []ioc.Technique{{ID: "T1071.001", Name: "Web Protocols"}}}),
		indicator(t, "ind-ip", ioc.KindIPv4, "203.0.113.66", ioc.Context{Malware: []string{"SampleRAT"}}),
		indicator(t, "ind-cidr", ioc.KindCIDRv4, "198.51.100.0/24", ioc.Context{ThreatActors: []string{"Sample Actor"}}),
		indicator(t, "ind-sha256", ioc.KindSHA256, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", ioc.Context{}),
		indicator(t, "ind-url", ioc.KindURL, "http://evil-update.test/payload.exe", ioc.Context{Malware: []string{"FakeUpdater"}}),
		indicator(t, "ind-ja3", ioc.KindJA3, "e7d705a3286e19ea42f587b344ee6865", ioc.Context{}),
		indicator(t, "ind-cmd", ioc.KindCommandLine, "-EncodedCommand JAB", ioc.Context{Techniques: []ioc.Technique{{ID: "T1059.001"}}}),
		{ID: "ind-compound", Kind: ioc.KindCompound, Feed: "test", Confidence: 70,
			Pattern: "[network-traffic:dst_ref.value = '203.0.113.80' AND network-traffic:dst_port = 4444]",
			Expr: ioc.And(
				ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindIPv4, Role: ioc.RoleDst}, Op: ioc.PredEq, Values: []string{"203.0.113.80"}}),
				ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindPort, Role: ioc.RoleDst}, Op: ioc.PredEq, Values: []string{"4444"}}),
			)},
	}
}

// eventTemplates are events in every format with planted hits and near
// misses; %d makes each instance unique.
var eventTemplates = []event{
	{"iocmatch.events.ecs", `{"@timestamp":"2026-03-01T10:00:00Z","ecs":{"version":"8.11.0"},"event":{"id":"ecs-a-%d"},"source":{"ip":"10.0.0.5","port":50123},"destination":{"ip":"203.0.113.66","port":443},"dns":{"question":{"name":"beacon.malware-c2.example"}}}`, []string{"ind-domain", "ind-ip"}},
	{"iocmatch.events.ecs", `{"@timestamp":"2026-03-01T10:00:01Z","ecs":{"version":"8.11.0"},"event":{"id":"ecs-b-%d"},"source":{"ip":"10.0.0.5"},"destination":{"ip":"203.0.113.67","port":4444},"url":{"full":"http://notmalware-c2.example/x"}}`, nil},
	{"iocmatch.events.ecs", `{"@timestamp":"2026-03-01T10:00:02Z","ecs":{"version":"8.11.0"},"event":{"id":"ecs-c-%d"},"source":{"ip":"10.0.0.6"},"destination":{"ip":"203.0.113.80","port":4444}}`, []string{"ind-compound"}},
	{"iocmatch.events.ecs", `{"@timestamp":"2026-03-01T10:00:03Z","ecs":{"version":"8.11.0"},"event":{"id":"ecs-d-%d"},"source":{"ip":"10.0.0.6"},"destination":{"ip":"203.0.113.80","port":443}}`, nil},
	{"iocmatch.events.zeek", `{"ts":1772359200.5,"uid":"Czeek%d","id.orig_h":"10.0.0.7","id.orig_p":51000,"id.resp_h":"198.51.100.23","id.resp_p":80,"proto":"tcp"}`, []string{"ind-cidr"}},
	{"iocmatch.events.zeek", `{"ts":1772359201.5,"uid":"Dzeek%d","id.orig_h":"10.0.0.7","id.orig_p":51001,"id.resp_h":"198.51.101.5","id.resp_p":80,"proto":"tcp"}`, nil},
	{"iocmatch.events.eve", `{"timestamp":"2026-03-01T10:00:04.000000+0000","flow_id":1%d,"event_type":"tls","src_ip":"10.0.0.9","src_port":50000,"dest_ip":"192.0.2.10","dest_port":443,"proto":"TCP","tls":{"sni":"ok.example","serial":"5C:9C:AA:01:02:03","ja3":{"hash":"e7d705a3286e19ea42f587b344ee6865"}}}`, []string{"ind-ja3"}},
	{"iocmatch.events.eve", `{"timestamp":"2026-03-01T10:00:05.000000+0000","flow_id":2%d,"event_type":"http","src_ip":"10.0.0.9","src_port":50001,"dest_ip":"192.0.2.11","dest_port":80,"proto":"TCP","http":{"hostname":"evil-update.test","url":"/payload.exe"}}`, []string{"ind-url"}},
	{"iocmatch.events.raw", `Mar  1 10:00:06 gw sshd[411]: Accepted connection from 203.0.113.66 port 22 seq=%d`, []string{"ind-ip"}},
	{"iocmatch.events.raw", `Mar  1 10:00:07 av scan: file sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 quarantined seq=%d`, []string{"ind-sha256"}},
	{"iocmatch.events.raw", `Mar  1 10:00:08 dns query notmalware-c2.example from 203.0.113.67 seq=%d`, nil},
	{"iocmatch.events.sysmon", `{"EventID":1,"EventRecordID":%d,"Computer":"ws1","Image":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","CommandLine":"powershell.exe -nop -EncodedCommand JABzAD0A"}`, []string{"ind-cmd"}},
	{"iocmatch.events.auto", `{"@timestamp":"2026-03-01T10:00:09Z","ecs":{"version":"8.11.0"},"event":{"id":"auto-%d"},"url":{"full":"http://evil-update.test/payload.exe"}}`, []string{"ind-url"}},
}

// makeEvents instantiates the templates n times.
func makeEvents(n int) []event {
	var out []event
	for i := range n {
		for _, tpl := range eventTemplates {
			out = append(out, event{subject: tpl.subject, data: fmt.Sprintf(tpl.data, i), want: tpl.want})
		}
	}
	return out
}

var _ = sync.Mutex{}
