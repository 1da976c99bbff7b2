// Package sink holds iocmatch's optional alert outputs besides NATS: an
// HTTP webhook that POSTs alerts in JSON batches, and a STIX 2.1 sightings
// publisher.
//
// Contract:
//   - Both are best effort next to the NATS alerts stream, which is the
//     record: they never block the engine. The webhook queues alerts in a
//     bounded queue (Send refuses, and counts, when it is full), batches
//     them, retries failed POSTs with exponential backoff and full jitter,
//     and counts what it finally drops. Close flushes what is queued.
//   - The sightings publisher does not import NATS: the publish function
//     is injected (func(subject string, data []byte) error, e.g.
//     (*nats.Conn).Publish).
//   - Webhook and Sightings are safe for concurrent use.
package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/config"
	"github.com/iocmatch/iocmatch/engine/metrics"
)

// Errors returned by (*Webhook).Send.
var (
	ErrQueueFull = errors.New("sink: webhook queue full, alert dropped")
	ErrClosed    = errors.New("sink: webhook closed")
)

// WebhookOptions configures a Webhook. Zero values take the defaults
// noted (those of engine/config).
type WebhookOptions struct {
	URL           string            // required: http(s) endpoint receiving POSTs
	BatchSize     int               // alerts per POST; default 100
	FlushInterval time.Duration     // longest wait before a partial batch is sent; default 1s
	Timeout       time.Duration     // per request; default 10s
	MaxRetries    int               // retries after the first attempt; 0 = none (config default 5)
	QueueSize     int               // alerts buffered; default 10000
	Headers       map[string]string // extra request headers
	Token         string            // when set: "Authorization: Bearer <Token>"
	BackoffBase   time.Duration     // first retry delay (before jitter); default 200ms
	BackoffMax    time.Duration     // cap of a retry delay, and of Retry-After; default 30s
	Client        *http.Client      // default: a client with no overall timeout (Timeout applies per request)
	Log           zerolog.Logger    // failures are logged once per batch, never per alert
	Metrics       *metrics.Metrics  // nil: not counted
}

// WebhookOptionsFromConfig converts the configuration section, reading
// the token from its environment variable or file.
func WebhookOptionsFromConfig(c config.Webhook) (WebhookOptions, error) {
	tok, err := c.Token()
	if err != nil {
		return WebhookOptions{}, err
	}
	return WebhookOptions{
		URL: c.URL, BatchSize: c.BatchSize, FlushInterval: c.FlushInterval, Timeout: c.Timeout,
		MaxRetries: c.MaxRetries, QueueSize: c.QueueSize, Headers: c.Headers, Token: tok,
		Log: zerolog.Nop(),
	}, nil
}

// Webhook delivers alerts to an HTTP endpoint as JSON arrays (each element
// one alert document, as given to Send), Content-Type application/json.
// One goroutine sends; POSTs are sequential, so alerts arrive in Send
// order unless a batch is dropped.
//
// Delivery: a 2xx answer delivers the batch. 408, 425, 429, 5xx, timeouts
// and connection errors are retried (Retry-After honoured, capped by
// BackoffMax); any other status drops the batch at once (a 4xx will not
// get better). Dropped alerts are counted in
// iocmatch_webhook_failures_total{reason="dropped"}.
type Webhook struct {
	opts   WebhookOptions
	queue  chan []byte
	mu     sync.RWMutex // guards closed against concurrent Send
	closed bool
	stop   chan struct{}      // closed by Close: drain and exit
	ctx    context.Context    // cancelled when Close gives up
	cancel context.CancelFunc //
	done   chan struct{}      // closed when the sender goroutine exits
}

// NewWebhook validates opts and starts the sender goroutine.
func NewWebhook(opts WebhookOptions) (*Webhook, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sink: webhook url %q is not an http(s) URL", opts.URL)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxRetries < 0 {
		return nil, fmt.Errorf("sink: webhook max retries %d is negative", opts.MaxRetries)
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 10000
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = 200 * time.Millisecond
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 30 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	for k := range opts.Headers {
		if k == "" {
			return nil, errors.New("sink: webhook header with an empty name")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Webhook{
		opts:   opts,
		queue:  make(chan []byte, opts.QueueSize),
		stop:   make(chan struct{}),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go w.run()
	return w, nil
}

// Send queues a copy of one encoded alert. It never blocks: when the
// queue is full the alert is dropped, counted, and ErrQueueFull returned;
// after Close it returns ErrClosed.
func (w *Webhook) Send(alertJSON []byte) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	b := append([]byte(nil), alertJSON...)
	select {
	case w.queue <- b:
		return nil
	default:
		if m := w.opts.Metrics; m != nil {
			m.WebhookFailures.WithLabelValues("queue_full").Inc()
		}
		return ErrQueueFull
	}
}

// Close stops accepting alerts and delivers what is queued (retries
// included). If ctx ends first, the delivery in progress is abandoned,
// what remains is dropped and counted, and the context's error returned.
// Close is idempotent.
func (w *Webhook) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.stop)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		w.cancel()
		return nil
	case <-ctx.Done():
		w.cancel()
		<-w.done
		return fmt.Errorf("sink: webhook close: %w", ctx.Err())
	}
}

// run is the sender goroutine: it batches the queue and posts.
func (w *Webhook) run() {
	defer close(w.done)
	batch := make([][]byte, 0, w.opts.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		if len(batch) > 0 {
			w.deliver(batch)
			clear(batch)
			batch = batch[:0]
		}
	}
	for {
		select {
		case b := <-w.queue:
			if len(batch) == 0 {
				timer.Reset(w.opts.FlushInterval)
			}
			batch = append(batch, b)
			if len(batch) >= w.opts.BatchSize {
				timer.Stop()
				flush()
			}
		case <-timer.C:
			flush()
		case <-w.stop:
			timer.Stop()
			// Drain: everything queued before Close, in batches.
			for {
				select {
				case b := <-w.queue:
					batch = append(batch, b)
					if len(batch) >= w.opts.BatchSize {
						flush()
					}
					continue
				default:
				}
				break
			}
			flush()
			return
		}
	}
}

// deliver posts one batch, retrying transient failures. It counts the
// outcome; it gives up (dropping the batch) after MaxRetries retries, on
// a permanent failure, or when Close gives up.
func (w *Webhook) deliver(batch [][]byte) {
	body := encodeBatch(batch)
	m := w.opts.Metrics
	var lastErr error
	for attempt := 0; ; attempt++ {
		if w.ctx.Err() != nil {
			lastErr = fmt.Errorf("abandoned at close: %w", context.Cause(w.ctx))
			break
		}
		retryAfter, err := w.post(body)
		if err == nil {
			if m != nil {
				m.WebhookSent.Add(float64(len(batch)))
			}
			return
		}
		lastErr = err
		var perm permanentError
		if errors.As(err, &perm) || attempt >= w.opts.MaxRetries {
			break
		}
		if m != nil {
			m.WebhookFailures.WithLabelValues("retry").Inc()
		}
		d := w.backoff(attempt, retryAfter)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
		}
	}
	if m != nil {
		m.WebhookFailures.WithLabelValues("dropped").Add(float64(len(batch)))
	}
	w.opts.Log.Warn().Err(lastErr).Int("alerts", len(batch)).Str("url", redactURL(w.opts.URL)).
		Msg("webhook: batch dropped")
}

// backoff is the delay before retry attempt+1: full jitter over
// BackoffBase·2^attempt, capped at BackoffMax; a server's Retry-After
// (capped too) is used when longer.
func (w *Webhook) backoff(attempt int, retryAfter time.Duration) time.Duration {
	ceil := w.opts.BackoffBase << min(attempt, 30)
	if ceil <= 0 || ceil > w.opts.BackoffMax {
		ceil = w.opts.BackoffMax
	}
	d := time.Duration(rand.Int64N(int64(ceil) + 1))
	if retryAfter > d {
		d = min(retryAfter, w.opts.BackoffMax)
	}
	return d
}

// permanentError marks a failure that retrying will not fix.
type permanentError struct{ error }

// post sends body once. It returns the server's Retry-After when given.
func (w *Webhook) post(body []byte) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(w.ctx, w.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.opts.URL, bytes.NewReader(body))
	if err != nil {
		return 0, permanentError{fmt.Errorf("webhook %s: %w", redactURL(w.opts.URL), err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "iocmatch")
	for k, v := range w.opts.Headers {
		req.Header.Set(k, v)
	}
	if w.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+w.opts.Token)
	}
	resp, err := w.opts.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("webhook %s: %w", redactURL(w.opts.URL), err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, nil
	}
	err = fmt.Errorf("webhook %s: HTTP %s", redactURL(w.opts.URL), resp.Status)
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooEarly,
		resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), err
	}
	return 0, permanentError{err}
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// encodeBatch joins encoded alerts into one JSON array.
func encodeBatch(batch [][]byte) []byte {
	n := 2
	for _, b := range batch {
		n += len(b) + 1
	}
	out := make([]byte, 0, n)
	out = append(out, '[')
	for i, b := range batch {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, b...)
	}
	return append(out, ']')
}

// redactURL drops credentials and the query (which may hold a token) for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid url)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "REDACTED"
	}
	return u.String()
}
