package taxii

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
)

// constTransport answers every request with the same response.
type constTransport struct {
	status int
	hdr    http.Header
	body   []byte
}

func (c constTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: c.status, Header: c.hdr.Clone(), Body: io.NopCloser(bytes.NewReader(c.body)),
		ContentLength: int64(len(c.body)), Request: r}, nil
}

// FuzzTAXIIPager drives the whole paging loop (both versions) against a
// server that answers every request with one fuzzed response: it must
// end (by data, error or the page limit) without panicking, and never
// report more pages than allowed. An input is four header lines then the
// body: "<status>\n<version 2.0|2.1>\n<Content-Range>\n<X-TAXII-Date-Added-Last>\n<body>".
func FuzzTAXIIPager(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte("200\n2.1\n\n\n{\"more\": true, \"next\": \"a\", \"objects\": [{}]}"))
	f.Add([]byte("206\n2.0\nitems 0-0/5\n2026-01-01T00:00:00Z\n{\"type\": \"bundle\", \"objects\": [{}]}"))
	f.Add([]byte("206\n2.0\nitems 0-0/*\n\n{\"objects\": [{}]}"))
	f.Add([]byte("200\n2.1\n\n2026-01-01T00:00:00Z\n{\"more\": true}"))
	f.Add([]byte("416\n2.0\nitems */0\n\n{\"title\": \"x\"}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		parts := bytes.SplitN(in, []byte("\n"), 5)
		if len(parts) != 5 {
			return
		}
		status, err := strconv.Atoi(string(parts[0]))
		if err != nil || status < 100 || status > 599 {
			return
		}
		v20 := string(parts[1]) == "2.0"
		contentRange, dateLast, body := string(parts[2]), string(parts[3]), parts[4]
		hdr := http.Header{"Content-Type": {MediaTAXII21}}
		if contentRange != "" {
			hdr.Set("Content-Range", contentRange)
		}
		if dateLast != "" {
			hdr.Set("X-TAXII-Date-Added-Last", dateLast)
		}
		v := Version21
		if v20 {
			v = Version20
		}
		const maxPages = 4
		c, err := New(Config{URL: "http://taxii.test/", Version: v, MaxPages: maxPages, Transport: constTransport{status, hdr, body},
			Retry:  RetryPolicy{MaxAttempts: 2},
			Sleep:  func(ctx context.Context, d time.Duration) error { return nil },
			Jitter: func(max time.Duration) time.Duration { return max }}, discardLog())
		if err != nil {
			t.Fatal(err)
		}
		pages := 0
		err = c.Objects(context.Background(), "api1", "c1", Filter{Limit: 1}, func(p Page) error {
			pages++
			return nil
		})
		if pages > maxPages {
			t.Fatalf("%d pages, limit %d (err %v)", pages, maxPages, err)
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}
