package taxii

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// handled returns a fault that writes status, content type and body.
func respond(status int, ct, body string, hdr ...string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
		return true
	}
}

// truncated answers with a Content-Length larger than the body, then
// closes the connection.
func truncated(w http.ResponseWriter, r *http.Request) bool {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: 1000\r\n\r\n{\"more\": false, \"obj", MediaTAXII21)
	_ = buf.Flush()
	return true
}

// hang waits until the client gives up.
func hang(w http.ResponseWriter, r *http.Request) bool {
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
	return true
}

func TestFaults(t *testing.T) {
	objs := seq("fa000000", 3, t0)
	httpDate := t0.Add(42 * time.Second).Format(http.TimeFormat)
	html := "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
	type fault = func(http.ResponseWriter, *http.Request) bool
	for _, tc := range []struct {
		name       string
		faults     []fault
		cfg        func(*Config)
		wantErr    []string // substrings; nil: success with all objects
		wantSleeps []time.Duration
		wantLog    string // substring of the debug log
	}{
		{name: "429 with Retry-After seconds", faults: []fault{respond(429, "", "", "Retry-After", "7")},
			wantSleeps: []time.Duration{7 * time.Second}},
		{name: "429 with Retry-After date", faults: []fault{respond(429, "", "", "Retry-After", httpDate)},
			wantSleeps: []time.Duration{42 * time.Second}},
		{name: "Retry-After capped", faults: []fault{respond(503, "", "", "Retry-After", "86400")},
			wantSleeps: []time.Duration{DefaultMaxRetryAfter}},
		{name: "503 twice then success", faults: []fault{respond(503, "text/plain", "busy"), respond(503, "text/plain", "busy")},
			wantSleeps: []time.Duration{time.Second, 2 * time.Second}},
		{name: "backoff capped at MaxBackoff", faults: []fault{respond(500, "", ""), respond(500, "", ""), respond(500, "", ""), respond(500, "", "")},
			cfg:        func(c *Config) { c.Retry.MaxBackoff = 3 * time.Second },
			wantSleeps: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}},
		{name: "503 forever", faults: slices.Repeat([]fault{respond(503, "text/plain", "maintenance")}, 5),
			wantErr:    []string{"status 503", "maintenance", "gave up after 5 attempts", "collection c1 objects page 1", "/api1/collections/c1/objects/"},
			wantSleeps: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}},
		{name: "timeout then success", faults: []fault{hang}, cfg: func(c *Config) { c.Timeout = 100 * time.Millisecond },
			wantSleeps: []time.Duration{time.Second}},
		{name: "timeouts forever", faults: []fault{hang, hang}, cfg: func(c *Config) { c.Timeout = 50 * time.Millisecond; c.Retry.MaxAttempts = 2 },
			wantErr: []string{"timeout", "gave up after 2 attempts", "page 1"}, wantSleeps: []time.Duration{time.Second}},
		{name: "truncated body then success", faults: []fault{truncated}, wantSleeps: []time.Duration{time.Second}},
		{name: "truncated body forever", faults: []fault{truncated, truncated}, cfg: func(c *Config) { c.Retry.MaxAttempts = 2 },
			wantErr: []string{"unexpected EOF", "page 1"}, wantSleeps: []time.Duration{time.Second}},
		{name: "garbage JSON", faults: []fault{respond(200, MediaTAXII21, `{"more": false, "objects": [{"a": 1}, oops]}`)},
			wantErr: []string{"invalid JSON at offset 39", "collection c1 objects page 1", "/api1/collections/c1/objects/"}},
		{name: "JSON of the wrong shape", faults: []fault{respond(200, MediaTAXII21, `{"more": "yes"}`)},
			wantErr: []string{"offset", "more"}},
		{name: "not an object", faults: []fault{respond(200, MediaTAXII21, `[1,2]`)},
			wantErr: []string{"want a JSON object"}},
		{name: "HTML page 502", faults: []fault{respond(502, "text/html", html), respond(502, "text/html", html)},
			cfg:     func(c *Config) { c.Retry.MaxAttempts = 2 },
			wantErr: []string{"server returned an HTML page (status 502), not TAXII JSON"}, wantSleeps: []time.Duration{time.Second}},
		{name: "HTML page 200 without content type", faults: []fault{respond(200, "", "\n  <html><body>login</body></html>")},
			wantErr: []string{"server returned an HTML page (status 200), not TAXII JSON"}},
		{name: "TAXII error object", faults: []fault{respond(403, MediaTAXII21, `{"title": "Forbidden for this collection", "description": "ask your admin", "error_code": "E403", "http_status": 403}`)},
			wantErr: []string{"status 403: Forbidden for this collection: ask your admin (error_code E403)", "page 1"}},
		{name: "plain text 400", faults: []fault{respond(400, "text/plain", "bad request, really")},
			wantErr: []string{"status 400 Bad Request", "bad request, really"}},
		{name: "wrong content type tolerated", faults: []fault{respond(200, "text/plain", `{"more": false, "objects": [{"type": "indicator", "id": "indicator--1"}]}`)},
			wantLog: `"content_type":"text/plain","message":"taxii: unexpected Content-Type, decoding the body as JSON anyway"`},
		{name: "body over the limit (Content-Length)", faults: []fault{respond(200, MediaTAXII21, `{"objects": [`+strings.Repeat(`{"a":1},`, 200)+`{}]}`)},
			cfg:     func(c *Config) { c.MaxResponseBytes = 1000 },
			wantErr: []string{"exceeds the limit of 1000 bytes", "/api1/collections/c1/objects/", "page 1"}},
		{name: "body over the limit (chunked)", faults: []fault{func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", MediaTAXII21)
			for range 20 {
				_, _ = w.Write([]byte(strings.Repeat(" ", 100)))
				w.(http.Flusher).Flush()
			}
			return true
		}}, cfg: func(c *Config) { c.MaxResponseBytes = 1000 }, wantErr: []string{"exceeds the limit of 1000 bytes"}},
		{name: "same next forever", faults: []fault{
			respond(200, MediaTAXII21, `{"more": true, "next": "abc", "objects": [{"type": "x", "id": "x--1"}]}`),
			respond(200, MediaTAXII21, `{"more": true, "next": "abc", "objects": [{"type": "x", "id": "x--1"}]}`),
		}, wantErr: []string{`next="abc" again`, "pages forever", "page 2"}},
		{name: "more without next or date header", faults: []fault{respond(200, MediaTAXII21, `{"more": true, "objects": [{"type": "x", "id": "x--1"}]}`)},
			wantErr: []string{"more=true without next or X-TAXII-Date-Added-Last"}},
		{name: "date-added-last does not advance", faults: []fault{
			respond(200, MediaTAXII21, `{"more": true, "objects": [{"type": "x", "id": "x--1"}]}`, "X-TAXII-Date-Added-Last", "2026-01-01T00:00:00Z"),
			respond(200, MediaTAXII21, `{"more": true, "objects": [{"type": "x", "id": "x--1"}]}`, "X-TAXII-Date-Added-Last", "2026-01-01T00:00:00Z"),
		}, wantErr: []string{"does not advance past added_after 2026-01-01T00:00:00Z", "page 2"}},
		{name: "bad date header", faults: []fault{respond(200, MediaTAXII21, `{"more": false}`, "X-TAXII-Date-Added-Last", "yesterday")},
			wantErr: []string{"X-TAXII-Date-Added-Last", `"yesterday"`}},
		{name: "max pages", faults: []fault{
			respond(200, MediaTAXII21, `{"more": true, "next": "1"}`),
			respond(200, MediaTAXII21, `{"more": true, "next": "2"}`),
			respond(200, MediaTAXII21, `{"more": true, "next": "3"}`),
		}, cfg: func(c *Config) { c.MaxPages = 3 }, wantErr: []string{"page 4: more than 3 pages"}},
		{name: "404 not retried", faults: []fault{respond(404, MediaTAXII21, `{"title": "Collection gone"}`)},
			wantErr: []string{"status 404: Collection gone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, Version21)
			f.addCollection("/api1/", "c1", objs...)
			srv := f.start()
			c, sl, logs := testClient(t, srv.URL, func(c *Config) {
				c.Version = Version21
				if tc.cfg != nil {
					tc.cfg(c)
				}
			})
			for _, fl := range tc.faults {
				f.fault(fl)
			}
			ids, _, err := pull(t, c, "api1", "c1", Filter{})
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(ids) == 0 {
					t.Fatal("no objects")
				}
			} else {
				if err == nil {
					t.Fatal("no error")
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
			}
			if tc.wantLog != "" && !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log lacks %s:\n%s", tc.wantLog, logs)
			}
			if got := sl.all(); !slices.Equal(got, tc.wantSleeps) {
				t.Errorf("sleeps %v, want %v", got, tc.wantSleeps)
			}
		})
	}
}

// Lies and inconsistencies of TAXII 2.0 range paging.
func TestFaults20(t *testing.T) {
	bundle := func(n int) string {
		var objs []string
		for i := range n {
			objs = append(objs, fmt.Sprintf(`{"type": "indicator", "id": "indicator--%d"}`, i))
		}
		return `{"type": "bundle", "id": "bundle--1", "objects": [` + strings.Join(objs, ",") + `]}`
	}
	for _, tc := range []struct {
		name    string
		faults  []func(http.ResponseWriter, *http.Request) bool
		wantErr string
	}{
		{"206 without Content-Range", []func(http.ResponseWriter, *http.Request) bool{respond(206, MediaSTIX20, bundle(2))}, "206 Partial Content without Content-Range"},
		{"range starts elsewhere", []func(http.ResponseWriter, *http.Request) bool{respond(206, MediaSTIX20, bundle(2), "Content-Range", "items 5-6/10")}, "asked for items from 0"},
		{"count disagrees", []func(http.ResponseWriter, *http.Request) bool{respond(206, MediaSTIX20, bundle(3), "Content-Range", "items 0-1/10")}, "the page holds 3 objects"},
		{"last beyond total", []func(http.ResponseWriter, *http.Request) bool{respond(206, MediaSTIX20, bundle(2), "Content-Range", "items 0-1/1")}, "not below total"},
		{"garbage range", []func(http.ResponseWriter, *http.Request) bool{respond(206, MediaSTIX20, bundle(2), "Content-Range", "bytes 0-1/2")}, "want \"items FIRST-LAST/TOTAL\""},
		{"second page repeats the first", []func(http.ResponseWriter, *http.Request) bool{
			respond(206, MediaSTIX20, bundle(2), "Content-Range", "items 0-1/10"),
			respond(206, MediaSTIX20, bundle(2), "Content-Range", "items 0-1/10"),
		}, "page 2: GET"},
		{"not a bundle", []func(http.ResponseWriter, *http.Request) bool{respond(200, MediaSTIX20, `{"type": "indicator", "id": "indicator--1"}`)}, `STIX "indicator" object`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, Version20)
			f.addCollection("/api1/", "c1", seq("fb000000", 10, t0)...)
			srv := f.start()
			c, _, _ := testClient(t, srv.URL, func(c *Config) { c.Version = Version20 })
			for _, fl := range tc.faults {
				f.fault(fl)
			}
			_, _, err := pull(t, c, "api1", "c1", Filter{Limit: 2})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "collection c1") {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// A Sleep that fails (context ended while waiting) abandons the retry.
func TestRetryAbandoned(t *testing.T) {
	f := newFake(t, Version21)
	f.addCollection("/api1/", "c1")
	srv := f.start()
	f.fault(respond(503, "", ""))
	c, _, _ := testClient(t, srv.URL, func(c *Config) {
		c.Version = Version21
		c.Sleep = func(ctx context.Context, d time.Duration) error { return context.DeadlineExceeded }
	})
	err := c.Objects(context.Background(), "api1", "c1", Filter{}, func(Page) error { return nil })
	if !strings.Contains(fmt.Sprint(err), "retry abandoned") {
		t.Fatalf("got %v", err)
	}
}

// The real Sleep honours the context.
func TestSleepCtx(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepCtx(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if err := sleepCtx(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
}
