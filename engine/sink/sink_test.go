package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/iocmatch/iocmatch/engine/alert"
	"github.com/iocmatch/iocmatch/engine/config"
	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
	"github.com/iocmatch/iocmatch/engine/metrics"
)

func newMetrics(t *testing.T) *metrics.Metrics {
	t.Helper()
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// recorder is a webhook endpoint that records the alerts it accepts and
// answers with the statuses of fail (in order) before succeeding.
type recorder struct {
	mu      sync.Mutex
	fail    []int
	delay   time.Duration
	calls   int
	bodies  [][]json.RawMessage
	headers []http.Header
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.calls++
	n := r.calls
	var status int
	if n <= len(r.fail) {
		status = r.fail[n-1]
	}
	delay := r.delay
	r.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	if status != 0 {
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(status)
		return
	}
	var batch []json.RawMessage
	if err := json.Unmarshal(body, &batch); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.bodies = append(r.bodies, batch)
	r.headers = append(r.headers, req.Header.Clone())
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *recorder) n() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func (r *recorder) alerts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, b := range r.bodies {
		for _, a := range b {
			out = append(out, string(a))
		}
	}
	return out
}

func fastOpts(url string, m *metrics.Metrics) WebhookOptions {
	return WebhookOptions{
		URL: url, BatchSize: 10, FlushInterval: 20 * time.Millisecond, Timeout: 2 * time.Second,
		MaxRetries: 3, QueueSize: 1000, BackoffBase: time.Millisecond, BackoffMax: 10 * time.Millisecond,
		Metrics: m,
	}
}

func alertDoc(i int) []byte { return []byte(fmt.Sprintf(`{"event":{"id":"a%d"}}`, i)) }

func closeWebhook(t *testing.T, w *Webhook) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestWebhookFailsTwiceThenSucceeds(t *testing.T) {
	rec := &recorder{fail: []int{503, 429}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	m := newMetrics(t)
	o := fastOpts(srv.URL, m)
	o.Headers = map[string]string{"X-Tenant": "soc-1"}
	o.Token = "s3cret"
	w, err := NewWebhook(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := w.Send(alertDoc(i)); err != nil {
			t.Fatal(err)
		}
	}
	closeWebhook(t, w)
	got := rec.alerts()
	if len(got) != 5 || got[0] != `{"event":{"id":"a0"}}` || got[4] != `{"event":{"id":"a4"}}` {
		t.Fatalf("delivered %v", got)
	}
	if rec.n() != 3 {
		t.Errorf("calls = %d, want 3 (two failures, one success)", rec.n())
	}
	h := rec.headers[0]
	if h.Get("Authorization") != "Bearer s3cret" || h.Get("X-Tenant") != "soc-1" || h.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", h)
	}
	if v := testutil.ToFloat64(m.WebhookSent); v != 5 {
		t.Errorf("sent = %v", v)
	}
	if v := testutil.ToFloat64(m.WebhookFailures.WithLabelValues("retry")); v != 2 {
		t.Errorf("retry = %v", v)
	}
	if v := testutil.ToFloat64(m.WebhookFailures.WithLabelValues("dropped")); v != 0 {
		t.Errorf("dropped = %v", v)
	}
}

func TestWebhookBatching(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	o := fastOpts(srv.URL, nil)
	o.FlushInterval = time.Hour // only size triggers, and Close
	w, err := NewWebhook(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 25; i++ {
		if err := w.Send(alertDoc(i)); err != nil {
			t.Fatal(err)
		}
	}
	closeWebhook(t, w)
	var sizes []int
	for _, b := range rec.bodies {
		sizes = append(sizes, len(b))
	}
	if fmt.Sprint(sizes) != "[10 10 5]" {
		t.Errorf("batch sizes %v, want [10 10 5]", sizes)
	}
	got := rec.alerts()
	for i, a := range got {
		if a != string(alertDoc(i)) {
			t.Fatalf("alert %d = %s: order not kept", i, a)
		}
	}
}

func TestWebhookFlushInterval(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w, err := NewWebhook(fastOpts(srv.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer closeWebhook(t, w)
	if err := w.Send(alertDoc(1)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(rec.alerts()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("partial batch not flushed by the interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWebhookSlowServer(t *testing.T) {
	rec := &recorder{delay: 300 * time.Millisecond}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	m := newMetrics(t)
	o := fastOpts(srv.URL, m)
	o.Timeout = 50 * time.Millisecond
	o.MaxRetries = 2
	w, err := NewWebhook(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := w.Send(alertDoc(i)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	closeWebhook(t, w)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("close took %s: timeouts not applied", took)
	}
	if v := testutil.ToFloat64(m.WebhookFailures.WithLabelValues("dropped")); v != 3 {
		t.Errorf("dropped = %v, want 3", v)
	}
	if v := testutil.ToFloat64(m.WebhookFailures.WithLabelValues("retry")); v != 2 {
		t.Errorf("retry = %v, want 2", v)
	}
	if rec.n() != 3 {
		t.Errorf("calls = %d, want 3 (1 + 2 retries)", rec.n())
	}
}

func TestWebhookClosedServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // connection refused from now on
	m := newMetrics(t)
	w, err := NewWebhook(fastOpts(url, m))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(alertDoc(0)); err != nil {
		t.Fatal(err)
	}
	closeWebhook(t, w)
	if v := testutil.ToFloat64(m.WebhookFailures.WithLabelValues("dropped")); v != 1 {
		t.Errorf("dropped = %v", v)
	}
	if v := testutil.ToFloat64(m.WebhookFailures.WithLabelValues("retry")); v != 3 {
		t.Errorf("retry = %v, want 3", v)
	}
	if err := w.Send(alertDoc(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v", err)
	}
}

func TestWebhookPermanentFailure(t *testing.T) {
	rec := &recorder{fail: []int{400, 400, 400}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	m := newMetrics(t)
	w, err := NewWebhook(fastOpts(srv.URL, m))
	if err != nil {
		t.Fatal(err)
	}
	_ = w.Send(alertDoc(0))
	closeWebhook(t, w)
	if rec.n() != 1 {
		t.Errorf("a 400 was retried: %d calls", rec.n())
	}
	if v := testutil.ToFloat64(m.WebhookFailures.WithLabelValues("dropped")); v != 1 {
		t.Errorf("dropped = %v", v)
	}
}

func TestWebhookQueueFull(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-block
	}))
	defer srv.Close()
	defer close(block)
	m := newMetrics(t)
	o := fastOpts(srv.URL, m)
	o.BatchSize, o.QueueSize, o.Timeout = 1, 3, time.Minute
	w, err := NewWebhook(o)
	if err != nil {
		t.Fatal(err)
	}
	full := 0
	for i := 0; i < 20; i++ {
		if err := w.Send(alertDoc(i)); errors.Is(err, ErrQueueFull) {
			full++
		}
	}
	// At most one alert in flight and three queued: the rest refused, never blocking.
	if full < 16 {
		t.Errorf("queue_full for %d of 20 sends, want >= 16", full)
	}
	if v := testutil.ToFloat64(m.WebhookFailures.WithLabelValues("queue_full")); int(v) != full {
		t.Errorf("queue_full metric %v != %d", v, full)
	}
	// Close gives up when its context ends, and counts what it dropped.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want deadline exceeded", err)
	}
	if v := testutil.ToFloat64(m.WebhookFailures.WithLabelValues("dropped")); int(v) != 20-full {
		t.Errorf("dropped = %v, want %d", v, 20-full)
	}
}

func TestWebhookConcurrentSend(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	o := fastOpts(srv.URL, nil)
	o.QueueSize = 10000
	w, err := NewWebhook(o)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var sent atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				if w.Send(alertDoc(i)) == nil {
					sent.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	closeWebhook(t, w)
	if got := len(rec.alerts()); int64(got) != sent.Load() || got != 1000 {
		t.Errorf("delivered %d, sent %d, want 1000", got, sent.Load())
	}
}

func TestWebhookOptions(t *testing.T) {
	if _, err := NewWebhook(WebhookOptions{URL: "ftp://x"}); err == nil {
		t.Error("ftp URL accepted")
	}
	if _, err := NewWebhook(WebhookOptions{URL: "http://x", MaxRetries: -1}); err == nil {
		t.Error("negative retries accepted")
	}
	t.Setenv("IOCMATCH_TEST_HOOK_TOKEN", "tok")
	c := config.Default().Alerts.Webhook
	c.URL, c.TokenEnv = "https://siem.example/hook", "IOCMATCH_TEST_HOOK_TOKEN"
	o, err := WebhookOptionsFromConfig(c)
	if err != nil || o.Token != "tok" || o.BatchSize != 100 || o.MaxRetries != 5 || o.URL != c.URL {
		t.Errorf("from config: %+v, %v", o, err)
	}
	c.TokenEnv = "IOCMATCH_TEST_HOOK_UNSET"
	if _, err := WebhookOptionsFromConfig(c); err == nil || !strings.Contains(err.Error(), "alerts.webhook.token_env") {
		t.Errorf("unset token env: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	w := &Webhook{opts: WebhookOptions{BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second}}
	for attempt := 0; attempt < 40; attempt++ {
		ceil := min(100*time.Millisecond<<min(attempt, 30), time.Second)
		for i := 0; i < 50; i++ {
			d := w.backoff(attempt, 0)
			if d < 0 || d > ceil {
				t.Fatalf("backoff(%d) = %s outside [0, %s]", attempt, d, ceil)
			}
		}
	}
	if d := w.backoff(0, 500*time.Millisecond); d != 500*time.Millisecond {
		t.Errorf("Retry-After not honoured: %s", d)
	}
	if d := w.backoff(0, time.Hour); d != time.Second {
		t.Errorf("Retry-After not capped: %s", d)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"": 0, "7": 7 * time.Second, "-1": 0, "soon": 0,
		"Thu, 01 Jan 2026 00:00:30 GMT": 30 * time.Second,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
	if got := redactURL("https://u:p@siem.example/hook?token=x"); got != "https://siem.example/hook?REDACTED" {
		t.Errorf("redactURL = %s", got)
	}
}

func testAlert(t *testing.T) *alert.Alert {
	t.Helper()
	ind := &ioc.Indicator{
		ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Kind: ioc.KindIPv4, Value: "203.0.113.66",
		Feed: "sample", Confidence: 90,
	}
	dst := netip.MustParseAddr("203.0.113.66")
	a, err := alert.NewBuilder(alert.Options{}).Build(alert.Input{
		Event:       []byte(`{"ts":1767225600.1,"uid":"C1","id.resp_h":"203.0.113.66"}`),
		Format:      "zeek",
		EventID:     []byte("C1"),
		Observables: []ioc.Observable{{Kind: ioc.KindIPv4, Role: ioc.RoleDst, Addr: dst, Value: []byte("203.0.113.66"), Field: "id.resp_h"}},
		Hits:        []match.Hit{{Indicator: ind, Obs: 0}},
		Source:      "iocmatch.events.zeek",
		Now:         time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &a
}

func TestSightings(t *testing.T) {
	var mu sync.Mutex
	var got []string
	var subjects []string
	fail := false
	pub := func(subject string, data []byte) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return errors.New("nats: connection closed")
		}
		subjects = append(subjects, subject)
		got = append(got, string(data))
		return nil
	}
	m := newMetrics(t)
	s, err := NewSightings("iocmatch.sightings", pub, m)
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert(t)
	if err := s.Publish(a); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(a); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || subjects[0] != "iocmatch.sightings" || got[0] != got[1] {
		t.Fatalf("published %d bundles on %v; deterministic: %v", len(got), subjects, len(got) == 2 && got[0] == got[1])
	}
	var bundle struct {
		Type    string `json:"type"`
		Objects []struct {
			Type          string `json:"type"`
			SightingOfRef string `json:"sighting_of_ref"`
		} `json:"objects"`
	}
	if err := json.Unmarshal([]byte(got[0]), &bundle); err != nil {
		t.Fatalf("bundle is not JSON: %v\n%s", err, got[0])
	}
	var sightings int
	for _, o := range bundle.Objects {
		if o.Type == "sighting" {
			sightings++
			if o.SightingOfRef != "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f" {
				t.Errorf("sighting_of_ref = %s", o.SightingOfRef)
			}
		}
	}
	if bundle.Type != "bundle" || sightings != 1 {
		t.Errorf("bundle type %q with %d sightings", bundle.Type, sightings)
	}
	fail = true
	if err := s.Publish(a); err == nil || !strings.Contains(err.Error(), a.ID) || !strings.Contains(err.Error(), "iocmatch.sightings") {
		t.Errorf("failed publish error = %v", err)
	}
	if v := testutil.ToFloat64(m.SightingsPublished); v != 2 {
		t.Errorf("published = %v", v)
	}
	if v := testutil.ToFloat64(m.SightingsFailures); v != 1 {
		t.Errorf("failures = %v", v)
	}
	for _, bad := range []string{"", "a.*", "a..b", "a b"} {
		if _, err := NewSightings(bad, pub, nil); err == nil {
			t.Errorf("subject %q accepted", bad)
		}
	}
	if _, err := NewSightings("x", nil, nil); err == nil {
		t.Error("nil publish accepted")
	}
	if err := s.Publish(nil); err == nil {
		t.Error("nil alert accepted")
	}
}

func ExampleWebhook() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("%s %s\n", r.Method, body)
	}))
	defer srv.Close()
	w, err := NewWebhook(WebhookOptions{URL: srv.URL, BatchSize: 2})
	if err != nil {
		panic(err)
	}
	_ = w.Send([]byte(`{"event":{"id":"1"}}`))
	_ = w.Send([]byte(`{"event":{"id":"2"}}`))
	_ = w.Close(context.Background())
	// Output: POST [{"event":{"id":"1"}},{"event":{"id":"2"}}]
}

// TestWebhookCloseDuringSend: Close racing with senders never panics, and
// every alert Send accepted is delivered (Close flushes).
func TestWebhookCloseDuringSend(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	o := fastOpts(srv.URL, nil)
	o.QueueSize = 100000
	w, err := NewWebhook(o)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var accepted atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				switch err := w.Send(alertDoc(i)); {
				case err == nil:
					accepted.Add(1)
				case errors.Is(err, ErrClosed):
					return
				default:
					t.Errorf("Send: %v", err)
					return
				}
			}
		}()
	}
	time.Sleep(2 * time.Millisecond)
	closeWebhook(t, w)
	wg.Wait()
	if got := int64(len(rec.alerts())); got != accepted.Load() {
		t.Errorf("delivered %d, accepted %d", got, accepted.Load())
	}
	// Close is idempotent.
	closeWebhook(t, w)
}
