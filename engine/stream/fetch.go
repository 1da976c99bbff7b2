package stream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Msg is one event as delivered by a Fetcher, with its acknowledgement.
// In core mode Ack, Nak and Term do nothing (at-most-once delivery).
// A Msg is owned by one goroutine at a time.
type Msg struct {
	Subject string
	Data    []byte
	Header  nats.Header
	// Received is when the Fetcher handed the message over.
	Received time.Time

	js jetstream.Msg // nil in core mode
}

// Ack acknowledges the event: it is done and will not be redelivered.
func (m *Msg) Ack() error {
	if m.js == nil {
		return nil
	}
	return m.js.Ack()
}

// Nak asks for redelivery after delay (a transient failure).
func (m *Msg) Nak(delay time.Duration) error {
	if m.js == nil {
		return nil
	}
	if delay <= 0 {
		return m.js.Nak()
	}
	return m.js.NakWithDelay(delay)
}

// Term tells the server never to redeliver the event (a permanent
// failure, after it was dead-lettered).
func (m *Msg) Term(reason string) error {
	if m.js == nil {
		return nil
	}
	return m.js.TermWithReason(reason)
}

// InProgress resets the redelivery timer of a slow event.
func (m *Msg) InProgress() error {
	if m.js == nil {
		return nil
	}
	return m.js.InProgress()
}

// Delivery returns the stream sequence and the delivery count of a
// JetStream event (1 on first delivery); zeros in core mode.
func (m *Msg) Delivery() (streamSeq uint64, delivered uint64) {
	if m.js == nil {
		return 0, 0
	}
	md, err := m.js.Metadata()
	if err != nil {
		return 0, 0
	}
	return md.Sequence.Stream, md.NumDelivered
}

// FetchOptions tune a Fetcher.
type FetchOptions struct {
	// BatchSize is the largest batch Batch returns; 0 means 256.
	BatchSize int
	// BatchWait is how long Batch lingers for more events once it has
	// one but fewer than BatchSize; 0 means it returns what is available
	// at once (lowest latency; batches still form under load, while the
	// workers are busy).
	BatchWait time.Duration
	// Buffer is the number of messages held between NATS and the workers
	// (the bound on events in memory, besides the batches being
	// processed); 0 means 2 * BatchSize.
	Buffer int
	// PullMaxBytes bounds the bytes one JetStream pull request delivers;
	// 0 means 64 MiB.
	PullMaxBytes int
	// Pullers is the number of concurrent JetStream pull requests (so
	// that one is always outstanding while another completes); 0 means 2.
	Pullers int
	// PullWait is how long one pull request waits for messages; it bounds
	// how long a drain waits for the pulls in progress. 0 means 1 s.
	PullWait time.Duration
}

func (o FetchOptions) withDefaults() FetchOptions {
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	if o.Buffer <= 0 {
		o.Buffer = 2 * o.BatchSize
	}
	if o.PullMaxBytes <= 0 {
		o.PullMaxBytes = 64 << 20
	}
	if o.Pullers <= 0 {
		o.Pullers = 2
	}
	if o.PullWait <= 0 {
		o.PullWait = time.Second
	}
	return o
}

// Fetcher delivers events in batches to any number of worker goroutines.
// Batch is safe for concurrent use; Start is called once.
type Fetcher struct {
	opts  FetchOptions
	log   zerolog.Logger
	ch    chan *Msg
	start func(ctx context.Context) error
	done  chan struct{}
	mu    sync.Mutex
	err   error
	clock func() time.Time

	dropped func() (int, error) // core mode: messages dropped by the slow-consumer limit
}

// NewJetStreamFetcher returns a Fetcher pulling from the durable consumer
// cons with Options.Pullers concurrent pull requests, each of at most
// BatchSize messages and lasting at most PullWait. Messages are handed to
// the workers as they arrive, not when a pull completes. When the context
// given to Start is cancelled, no new pull is issued and the pulls in
// progress run to their end, so every message the server delivered is
// handed over (none is left unacknowledged until AckWait); Batch then
// reports the end.
func NewJetStreamFetcher(cons jetstream.Consumer, opts FetchOptions, clock func() time.Time, log zerolog.Logger) *Fetcher {
	opts = opts.withDefaults()
	f := &Fetcher{opts: opts, log: log, ch: make(chan *Msg, opts.Buffer), done: make(chan struct{}), clock: clockOr(clock)}
	f.start = func(ctx context.Context) error {
		var wg sync.WaitGroup
		for range opts.Pullers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.pull(ctx, cons)
			}()
		}
		go func() {
			wg.Wait()
			close(f.ch)
			close(f.done)
		}()
		return nil
	}
	return f
}

// pull issues pull requests until ctx ends or the connection is closed.
func (f *Fetcher) pull(ctx context.Context, cons jetstream.Consumer) {
	failures := 0
	for ctx.Err() == nil {
		mb, err := cons.Fetch(f.opts.BatchSize, jetstream.FetchMaxWait(f.opts.PullWait), jetstream.FetchMaxBytes(f.opts.PullMaxBytes))
		if err == nil {
			for m := range mb.Messages() {
				f.ch <- &Msg{Subject: m.Subject(), Data: m.Data(), Header: m.Headers(), Received: f.clock(), js: m}
			}
			err = mb.Error()
		}
		if err == nil || errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages) {
			if failures > 0 {
				f.log.Info().Int("failed_pulls", failures).Msg("stream: pulling again")
				failures = 0
			}
			continue
		}
		if errors.Is(err, nats.ErrConnectionClosed) {
			f.setErr(err)
			return
		}
		// Transient (disconnected, no responders while reconnecting, a
		// leader change): back off up to 5 s; log the first failure and
		// then every 20th, not every attempt.
		failures++
		if failures == 1 || failures%20 == 0 {
			f.log.Warn().Err(err).Int("failed_pulls", failures).Msg("stream: pull failed; retrying")
		}
		select {
		case <-ctx.Done():
		case <-time.After(min(250*time.Millisecond<<min(failures-1, 5), 5*time.Second)):
		}
	}
}

// NewCoreFetcher returns a Fetcher on a core-NATS queue subscription
// (at-most-once). pendingLimit bounds the messages the client buffers
// before it drops them (counted, see Dropped); 0 means 65536.
func NewCoreFetcher(nc *nats.Conn, subject, queue string, pendingLimit int, opts FetchOptions, clock func() time.Time, log zerolog.Logger) *Fetcher {
	opts = opts.withDefaults()
	if pendingLimit <= 0 {
		pendingLimit = 65536
	}
	f := &Fetcher{opts: opts, log: log, ch: make(chan *Msg, opts.Buffer), done: make(chan struct{}), clock: clockOr(clock)}
	var sub *nats.Subscription
	var mu sync.Mutex
	f.dropped = func() (int, error) {
		mu.Lock()
		defer mu.Unlock()
		if sub == nil {
			return 0, nil
		}
		return sub.Dropped()
	}
	f.start = func(ctx context.Context) error {
		s, err := nc.QueueSubscribe(subject, queue, func(m *nats.Msg) {
			// Blocks while the workers are busy: the client then buffers
			// up to pendingLimit messages and drops the rest (counted).
			f.ch <- &Msg{Subject: m.Subject, Data: m.Data, Header: m.Header, Received: f.clock()}
		})
		if err != nil {
			return fmt.Errorf("stream: subscribe %s queue %s: %w", subject, queue, err)
		}
		if err := s.SetPendingLimits(pendingLimit, -1); err != nil {
			_ = s.Unsubscribe()
			return fmt.Errorf("stream: subscribe %s: pending limits: %w", subject, err)
		}
		if err := nc.Flush(); err != nil {
			_ = s.Unsubscribe()
			return fmt.Errorf("stream: subscribe %s: %w", subject, err)
		}
		closed := s.StatusChanged(nats.SubscriptionClosed)
		mu.Lock()
		sub = s
		mu.Unlock()
		go func() {
			defer close(f.done)
			defer close(f.ch)
			<-ctx.Done()
			// Stop receiving, let the callbacks hand over what was already
			// buffered, then end.
			if err := s.Drain(); err != nil {
				_ = s.Unsubscribe()
				return
			}
			<-closed
		}()
		return nil
	}
	return f
}

func clockOr(c func() time.Time) func() time.Time {
	if c == nil {
		return time.Now
	}
	return c
}

// Start begins fetching; cancelling ctx stops fetching (drain): the
// messages already received are still handed out by Batch, after which
// Batch reports the end.
func (f *Fetcher) Start(ctx context.Context) error { return f.start(ctx) }

func (f *Fetcher) setErr(err error) {
	if errors.Is(err, nats.ErrConnectionClosed) {
		f.mu.Lock()
		f.err = fmt.Errorf("stream: fetch: %w", err)
		f.mu.Unlock()
	}
}

// Err returns why the fetcher stopped on its own (the connection was
// closed), nil after a normal drain.
func (f *Fetcher) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// Done is closed when the fetcher has stopped receiving and handed over
// everything to its buffer.
func (f *Fetcher) Done() <-chan struct{} { return f.done }

// Dropped returns the number of messages the core-NATS subscription
// dropped because the engine was too slow (always 0 in JetStream mode).
func (f *Fetcher) Dropped() int {
	if f.dropped == nil {
		return 0
	}
	n, _ := f.dropped()
	return n
}

// Batch waits for at least one message and returns up to BatchSize
// messages appended to dst[:0]. It returns ok == false when the fetcher
// has stopped and every message has been handed out.
func (f *Fetcher) Batch(dst []*Msg) (batch []*Msg, ok bool) {
	dst = dst[:0]
	m, ok := <-f.ch
	if !ok {
		return dst, false
	}
	dst = append(dst, m)
	for len(dst) < f.opts.BatchSize {
		select {
		case m, ok := <-f.ch:
			if !ok {
				return dst, true
			}
			dst = append(dst, m)
			continue
		default:
		}
		if f.opts.BatchWait <= 0 {
			return dst, true
		}
		break
	}
	if len(dst) >= f.opts.BatchSize {
		return dst, true
	}
	t := time.NewTimer(f.opts.BatchWait)
	defer t.Stop()
	for len(dst) < f.opts.BatchSize {
		select {
		case m, ok := <-f.ch:
			if !ok {
				return dst, true
			}
			dst = append(dst, m)
		case <-t.C:
			return dst, true
		}
	}
	return dst, true
}
