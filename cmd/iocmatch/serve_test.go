package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/config"
	"github.com/iocmatch/iocmatch/engine/natsembed"
	"github.com/iocmatch/iocmatch/engine/testpki"
)

// syncBuffer is a goroutine-safe bytes.Buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// served is a serve() running in-process.
type served struct {
	stdout, logs *syncBuffer
	hup          chan os.Signal
	cancel       context.CancelFunc
	done         chan error
	natsURL      string
	httpAddr     string
}

var (
	natsLine = regexp.MustCompile(`NATS +(nats://\S+)`)
	httpLine = regexp.MustCompile(`Metrics +http://(\S+)/metrics`)
)

// testConfig is the default configuration on random ports and temporary
// directories, without throttling (so counts are exact).
func testConfig(dir string) config.Config {
	cfg := config.Default()
	cfg.NATS.Embedded.Listen = "127.0.0.1:0"
	cfg.NATS.Embedded.StoreDir = filepath.Join(dir, "nats")
	cfg.DataDir = dir
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Alerts.Throttle.Window = 0
	return cfg
}

func startServe(t *testing.T, cfg config.Config, sample bool) *served {
	t.Helper()
	return startServeFile(t, cfg, "", sample)
}

// startServeFile is startServe for a configuration read from cfgPath.
func startServeFile(t *testing.T, cfg config.Config, cfgPath string, sample bool) *served {
	t.Helper()
	s := &served{stdout: &syncBuffer{}, logs: &syncBuffer{}, hup: make(chan os.Signal, 1), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	e := &env{stdin: strings.NewReader(""), stdout: s.stdout, stderr: io.Discard, log: zerolog.New(s.logs)}
	go func() { s.done <- serve(ctx, e, cfg, cfgPath, sample, s.hup) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.stdout.String(), "Try it") {
		select {
		case err := <-s.done:
			t.Fatalf("serve returned early: %v\nlogs:\n%s", err, s.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no first screen after 30 s; logs:\n%s", s.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	screen := s.stdout.String()
	if m := natsLine.FindStringSubmatch(screen); m != nil {
		s.natsURL = m[1]
	}
	if m := httpLine.FindStringSubmatch(screen); m != nil {
		s.httpAddr = m[1]
	}
	// Ready once consuming.
	for s.httpAddr != "" {
		resp, err := http.Get("http://" + s.httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

func (s *served) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// cli runs one iocmatch command line in-process.
func cli(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(ctx, args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// storedAlerts returns the alerts printed by `iocmatch alerts`.
func storedAlerts(t *testing.T, url string) []map[string]any {
	t.Helper()
	code, out, errs := cli(context.Background(), "alerts", "--server", url)
	if code != 0 {
		t.Fatalf("alerts: exit %d: %s", code, errs)
	}
	var docs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var d map[string]any
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("alert line %q: %v", sc.Text(), err)
		}
		docs = append(docs, d)
	}
	return docs
}

// TestServeNewcomer is the README path with no configuration: the
// embedded NATS, the bundled sample feed, publish the sample events,
// read the alerts; then SIGHUP, drain, and a restart that keeps streams
// and indicators.
func TestServeNewcomer(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	s := startServe(t, cfg, true)
	screen := s.stdout.String()
	for _, want := range []string{"embedded NATS with JetStream", "bundled sample feed", "iocmatch.events.<format>", "iocmatch.alerts.<kind>",
		"iocmatch.deadletter.<reason>", "iocmatch publish --server " + s.natsURL + " testdata/sample/events.jsonl", "iocmatch alerts --server " + s.natsURL + " --follow"} {
		if !strings.Contains(screen, want) {
			t.Errorf("first screen lacks %q:\n%s", want, screen)
		}
	}
	if s.natsURL == "" || s.httpAddr == "" {
		t.Fatalf("first screen without NATS URL or metrics address:\n%s", screen)
	}
	t.Logf("first screen:\n%s", screen)

	ctx := context.Background()
	code, _, errs := cli(ctx, "publish", "--server", s.natsURL, "../../testdata/sample/events.jsonl")
	if code != 0 || !strings.Contains(errs, "published ") {
		t.Fatalf("publish: exit %d: %s", code, errs)
	}
	code, _, errs = cli(ctx, "publish", "--server", s.natsURL, "--format", "raw", "../../testdata/sample/raw.log")
	if code != 0 {
		t.Fatalf("publish raw: exit %d: %s", code, errs)
	}
	waitDrainedCLI(t, s)
	docs := storedAlerts(t, s.natsURL)
	if len(docs) < 5 {
		t.Fatalf("%d alerts from the sample events, want several", len(docs))
	}
	var all strings.Builder
	for _, d := range docs {
		b, _ := json.Marshal(d)
		all.Write(b)
		all.WriteByte('\n')
		ev, _ := d["event"].(map[string]any)
		if ev["kind"] != "alert" || ev["id"] == "" {
			t.Errorf("alert without event.kind alert / event.id: %s", b)
		}
	}
	for _, want := range []string{`"atomic":"203.0.113.66"`, `malware-c2.example`, `SampleRAT`} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no alert carries %s", want)
		}
	}
	for _, nearMiss := range []string{`"atomic":"notmalware-c2.example"`, `"atomic":"203.0.113.67"`, `"atomic":"198.51.101.5"`} {
		if strings.Contains(all.String(), nearMiss) {
			t.Errorf("a near miss alerted: %s", nearMiss)
		}
	}

	// Metrics and readiness.
	resp, err := http.Get("http://" + s.httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"iocmatch_events_total", "iocmatch_alerts_total", "iocmatch_snapshot_indicators"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// SIGHUP reloads.
	s.hup <- os.Interrupt // any signal value: serve only counts them
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.logs.String(), "reloading every feed") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(s.logs.String(), "reloading every feed") {
		t.Error("SIGHUP did not reload the feeds")
	}
	s.stop(t)
	if !strings.Contains(s.logs.String(), "engine drained") {
		t.Error("no drain on shutdown")
	}

	// Restart on the same directories: streams and alerts kept, indicators
	// from the store at once.
	s2 := startServe(t, cfg, true)
	if strings.Contains(s2.logs.String(), "created stream") {
		t.Error("streams created again after a restart")
	}
	if again := storedAlerts(t, s2.natsURL); len(again) != len(docs) {
		t.Errorf("%d alerts after restart, want the %d stored before", len(again), len(docs))
	}
	// Re-publishing the same events inside the duplicate window yields
	// the same alert ids: the alerts stream stores no duplicate.
	code, _, errs = cli(ctx, "publish", "--server", s2.natsURL, "../../testdata/sample/events.jsonl")
	if code != 0 {
		t.Fatalf("publish: %s", errs)
	}
	waitDrainedCLI(t, s2)
	if again := storedAlerts(t, s2.natsURL); len(again) != len(docs) {
		t.Errorf("%d alerts after republishing the same events, want %d (deduplicated by alert id)", len(again), len(docs))
	}
	s2.stop(t)
}

// waitDrainedCLI waits until the events work queue is empty: every event
// published so far is acknowledged, so its alerts are stored.
func waitDrainedCLI(t *testing.T, s *served) {
	t.Helper()
	nc, err := nats.Connect(s.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := js.Stream(ctx, "IOCMATCH_EVENTS")
		if err == nil && st.CachedInfo().State.Msgs == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events not drained after 20 s (%v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPublishGzipAndFollow: publish reads gzip; alerts --follow prints
// alerts as they arrive and stops on cancel.
func TestPublishGzipAndFollow(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Feeds = []config.Feed{{Name: "block", Type: config.FeedFile, Path: "../../testdata/serve/blocklist.txt", Interval: time.Minute, Enabled: true}}
	var hookMu sync.Mutex
	hooked := 0
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var batch []json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&batch); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		hookMu.Lock()
		hooked += len(batch)
		hookMu.Unlock()
	}))
	defer webhook.Close()
	cfg.Alerts.Webhook.URL = webhook.URL
	cfg.Alerts.Webhook.FlushInterval = 50 * time.Millisecond
	cfg.Alerts.Sightings.Enabled = true
	s := startServe(t, cfg, false)
	sightings := make(chan *nats.Msg, 16)
	snc, err := nats.Connect(s.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer snc.Close()
	if _, err := snc.ChanSubscribe(cfg.Alerts.Sightings.Subject, sightings); err != nil {
		t.Fatal(err)
	}
	snc.Flush()

	gz := filepath.Join(dir, "events.jsonl.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for i := range 10 {
		ip := "192.0.2.1"
		if i%5 == 0 {
			ip = "203.0.113.201"
		}
		fmt.Fprintf(zw, `{"@timestamp":"2026-03-01T10:00:00Z","ecs":{"version":"8.11.0"},"event":{"id":"gz-%d"},"destination":{"ip":%q}}`+"\n\n", i, ip)
	}
	zw.Close()
	if err := os.WriteFile(gz, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	followDone := make(chan int, 1)
	go func() {
		followDone <- run(ctx, []string{"alerts", "--server", s.natsURL, "--follow", "--new"}, strings.NewReader(""), out, io.Discard)
	}()
	time.Sleep(300 * time.Millisecond) // let the follower subscribe
	code, _, errs := cli(context.Background(), "publish", "--server", s.natsURL, "--format", "ecs", gz)
	if code != 0 || !strings.Contains(errs, "published 10 events to iocmatch.events.ecs") {
		t.Fatalf("publish gzip: exit %d: %s", code, errs)
	}
	// And from stdin ("-").
	var stdinErr bytes.Buffer
	if c := run(context.Background(), []string{"publish", "--server", s.natsURL, "--format", "raw", "-"},
		strings.NewReader("Mar  1 10:00:00 fw deny 10.9.9.9 -> 203.0.113.201:443\n"), io.Discard, &stdinErr); c != 0 ||
		!strings.Contains(stdinErr.String(), "published 1 events to iocmatch.events.raw") {
		t.Fatalf("publish from stdin: exit %d: %s", c, stdinErr.String())
	}
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(out.String(), "\n") < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if c := <-followDone; c != 0 {
		t.Fatalf("alerts --follow exit %d", c)
	}
	if n := strings.Count(out.String(), "\n"); n != 3 {
		t.Fatalf("alerts --follow printed %d alerts, want 3:\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), `"feed":{"name":"block"}`) && !strings.Contains(out.String(), `"block"`) {
		t.Errorf("alerts do not name the feed: %s", out.String())
	}
	s.stop(t) // flushes the webhook
	hookMu.Lock()
	if hooked != 3 {
		t.Errorf("webhook received %d alerts, want 3", hooked)
	}
	hookMu.Unlock()
	if len(sightings) != 3 {
		t.Errorf("%d STIX sightings published, want 3", len(sightings))
	}
	for len(sightings) > 0 {
		m := <-sightings
		if !bytes.Contains(m.Data, []byte(`"type":"sighting"`)) {
			t.Errorf("sighting message: %s", m.Data)
		}
	}
}

// TestServeExternalNATS: nats.url with token auth and TLS (custom CA)
// from a configuration file.
func TestServeExternalNATS(t *testing.T) {
	pki := testpki.New(t)
	ext, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: t.TempDir(), Configure: func(o *server.Options) {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: pki.ServerCert, KeyFile: pki.ServerKey})
		if err != nil {
			t.Fatal(err)
		}
		o.TLSConfig, o.TLS, o.TLSTimeout = tc, true, 2
		o.Authorization = "ext-token"
	}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer ext.Shutdown()
	dir := t.TempDir()
	t.Setenv("IOCMATCH_TEST_NATS_TOKEN", "ext-token")
	yml := fmt.Sprintf(`nats:
  url: %q
  auth:
    token_env: IOCMATCH_TEST_NATS_TOKEN
  tls:
    ca_file: %q
data_dir: %q
http:
  listen: "127.0.0.1:0"
feeds:
  - name: block
    path: ../../testdata/serve/blocklist.txt
alerts:
  throttle:
    window: 0s
`, strings.Replace(ext.ClientURL(), "nats://", "tls://", 1), pki.CAFile, dir)
	path := filepath.Join(dir, "iocmatch.yml")
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, sample, err := serveConfig(path, "")
	if err != nil {
		t.Fatal(err)
	}
	s := startServeFile(t, cfg, path, sample)
	defer s.stop(t)
	if !strings.Contains(s.stdout.String(), "iocmatch publish --config "+path) {
		t.Errorf("first screen does not point publish at the config file:\n%s", s.stdout.String())
	}
	if !strings.Contains(s.stdout.String(), "external NATS") {
		t.Errorf("first screen does not say external NATS:\n%s", s.stdout.String())
	}
	ev := filepath.Join(dir, "ev.log")
	if err := os.WriteFile(ev, []byte("conn to bad-actor.test from 10.0.0.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := cli(context.Background(), "publish", "--config", path, "--format", "raw", ev)
	if code != 0 {
		t.Fatalf("publish via config: exit %d: %s", code, errs)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, out, errs := cli(context.Background(), "alerts", "--config", path)
		if code != 0 {
			t.Fatalf("alerts via config: %s", errs)
		}
		if strings.Contains(out, "bad-actor.test") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert through the external TLS+token NATS; logs:\n%s", s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCLIErrors: bad configuration, bad flags, no server.
func TestCLIErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"serve", "--config", "../../testdata/serve/bad.yml"}, 1, "stream.batch_sise"},
		{[]string{"serve", "extra"}, 2, "Usage: iocmatch serve"},
		{[]string{"publish"}, 2, "Usage: iocmatch publish"},
		{[]string{"publish", "--format", "nope", "x"}, 1, `unknown event format "nope"`},
		{[]string{"publish", "--server", "nats://127.0.0.1:1", "../../testdata/sample/events.jsonl"}, 1, "is `iocmatch serve` running?"},
		{[]string{"publish", "--server", "nats://127.0.0.1:1", "/nonexistent/events.jsonl"}, 1, "no such file"},
		{[]string{"alerts", "--server", "nats://127.0.0.1:1"}, 1, "is `iocmatch serve` running?"},
		{[]string{"alerts", "--password-env", "IOCMATCH_UNSET_VAR_X"}, 1, "IOCMATCH_UNSET_VAR_X is empty or unset"},
	}
	for _, tt := range tests {
		code, _, errs := cli(ctx, tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tt.args, code, errs, tt.code, tt.want)
		}
	}
}

// TestServeCheckConfig: --check-config validates and exits without
// starting anything: 0 and one line for a good file, 1 with the key and
// the bad value named otherwise.
func TestServeCheckConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Port 1 is never listened on: a check that started NATS or HTTP
	// would fail or hang instead of answering at once.
	good := write("good.yml", "nats:\n  embedded:\n    listen: 127.0.0.1:1\nhttp:\n  listen: 127.0.0.1:1\nfeeds:\n  - name: local\n    type: list\n    kind: domain\n    path: ../../testdata/serve/blocklist.txt\n")
	tests := []struct {
		name string
		args []string
		code int
		out  string
		errs string
	}{
		{"good", []string{"serve", "--check-config", "--config", good}, 0, "config " + good + ": ok (jetstream mode, 1 feeds", ""},
		{"defaults", []string{"serve", "--check-config"}, 0, "config (defaults): ok", ""},
		{"unknown key", []string{"serve", "--check-config", "--config", "../../testdata/serve/bad.yml"}, 1, "", "stream.batch_sise"},
		{"bad mode", []string{"serve", "--check-config", "--config", write("mode.yml", "stream:\n  mode: turbo\n")}, 1, "", `stream.mode: invalid value "turbo"`},
		{"missing feed file", []string{"serve", "--check-config", "--config", write("feed.yml", "feeds:\n  - name: gone\n    type: list\n    kind: domain\n    path: /nonexistent/list.txt\n")}, 1, "", "/nonexistent/list.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code, out, errs := cli(ctx, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errs, tt.errs) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q", code, out, errs, tt.code, tt.out, tt.errs)
			}
		})
	}
}
