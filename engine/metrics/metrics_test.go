package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestNewRegistersOnGivenRegistry(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.EventsIn.WithLabelValues("ecs", "ecs").Add(3)
	m.Matches.WithLabelValues("domain", "sample").Inc()
	m.Alerts.WithLabelValues("domain", "sample").Inc()
	m.Suppressed.WithLabelValues("allowlist").Inc()
	m.DeadLetters.WithLabelValues("malformed").Inc()
	m.Latency.Observe(0.0003)
	m.ConsumerPending.Set(42)
	if got := testutil.ToFloat64(m.EventsIn.WithLabelValues("ecs", "ecs")); got != 3 {
		t.Errorf("events = %v", got)
	}
	if got := testutil.ToFloat64(m.Suppressed.WithLabelValues("throttle")); got != 0 {
		t.Errorf("throttle = %v", got)
	}
	// Pedantic registry: help, names and label consistency are checked on gather.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, want := range []string{"iocmatch_events_total", "iocmatch_suppressed_total", "iocmatch_event_alert_latency_seconds",
		"iocmatch_consumer_pending_messages", "iocmatch_deadletter_total", "iocmatch_webhook_failures_total",
		"iocmatch_events_dropped_total"} {
		if !names[want] {
			t.Errorf("metric %s not gathered (have %v)", want, names)
		}
	}
	// A second New on the same registry fails (no silent double registration).
	if _, err := New(reg); err == nil {
		t.Error("second New on the same registry succeeded")
	}
	if _, err := New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
}

func TestLatencyBuckets(t *testing.T) {
	b := LatencyBuckets()
	if b[0] != 50e-6 || b[len(b)-1] != 10 {
		t.Errorf("buckets span %v..%v, want 50µs..10s", b[0], b[len(b)-1])
	}
	for i := 1; i < len(b); i++ {
		if b[i] <= b[i-1] {
			t.Fatalf("buckets not increasing at %d: %v", i, b)
		}
	}
}

func TestFeedAndIndicators(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_700_000_000, 500_000_000)
	m.FeedSuccess("otx", t0)
	m.FeedError("otx", t0.Add(time.Minute))
	m.FeedError("otx", t0.Add(2*time.Minute))
	if got := testutil.ToFloat64(m.FeedLastSuccess.WithLabelValues("otx")); got != 1_700_000_000.5 {
		t.Errorf("last success = %v", got)
	}
	if got := testutil.ToFloat64(m.FeedErrors.WithLabelValues("otx")); got != 2 {
		t.Errorf("errors = %v", got)
	}
	m.SetIndicators(map[[2]string]int{{"domain", "a"}: 5, {"ipv4", "a"}: 2})
	m.SetIndicators(map[[2]string]int{{"domain", "a"}: 7})
	want := `
# HELP iocmatch_indicators Active indicators in the snapshot in force, by kind and feed.
# TYPE iocmatch_indicators gauge
iocmatch_indicators{feed="a",kind="domain"} 7
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "iocmatch_indicators"); err != nil {
		t.Error(err)
	}
}

func TestHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.Alerts.WithLabelValues("ipv4", "f").Inc()
	var notReady error = errors.New("no snapshot loaded yet")
	ready := func() error { return notReady }
	srv := httptest.NewServer(Handler(reg, ready, "/metrics"))
	defer srv.Close()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		path     string
		code     int
		contains string
	}{
		{"/metrics", 200, `iocmatch_alerts_total{feed="f",kind="ipv4"} 1`},
		{"/healthz", 200, "ok"},
		{"/readyz", 503, "not ready: no snapshot loaded yet"},
		{"/nope", 404, ""},
	}
	for _, tt := range tests {
		code, body := get(tt.path)
		if code != tt.code || !strings.Contains(body, tt.contains) {
			t.Errorf("GET %s = %d %q, want %d containing %q", tt.path, code, body, tt.code, tt.contains)
		}
	}
	notReady = nil
	if code, body := get("/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("ready: %d %q", code, body)
	}
	resp, err := http.Post(srv.URL+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics = %d", resp.StatusCode)
	}
}

func TestHandlerCustomPath(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(reg); err != nil {
		t.Fatal(err)
	}
	h := Handler(reg, nil, "/internal/m")
	for path, code := range map[string]int{"/internal/m": 200, "/metrics": 404, "/readyz": 200} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != code {
			t.Errorf("GET %s = %d, want %d", path, rec.Code, code)
		}
	}
}

func TestServeShutsDownOnCancel(t *testing.T) {
	reg := prometheus.NewRegistry()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, ln, Handler(reg, nil, "/metrics")) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeListener = %v after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeListener did not return after cancel")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
	// Serve with an unusable address fails with the address in the error.
	if err := Serve(context.Background(), "256.0.0.1:1", reg, nil); err == nil || !strings.Contains(err.Error(), "256.0.0.1:1") {
		t.Errorf("Serve(bad addr) = %v", err)
	}
}

func ExampleHandler() {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		panic(err)
	}
	m.EventsIn.WithLabelValues("zeek", "zeek").Inc()
	h := Handler(reg, func() error { return nil }, "/metrics")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output: 200 ready
}
