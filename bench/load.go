package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iocmatch/iocmatch/bench/gen"
)

// minSleep is the shortest pause of an open-loop publisher.
const minSleep = 250 * time.Microsecond

// sender publishes one message; each publisher goroutine has its own.
type sender interface {
	publish(subject string, data []byte) error
	// flush waits until everything published has reached the server (and
	// in JetStream mode is acknowledged).
	flush(ctx context.Context) error
}

// phaseRun is the shared state of one phase: the publishers write send
// times and counters, the receivers read them.
type phaseRun struct {
	w        *workload
	name     string
	subjects []string // by pool index
	ts       tsTable
	start    time.Time

	published atomic.Uint64
	bytes     atomic.Uint64
	expected  atomic.Uint64 // published events expected to alert
	pubErrs   atomic.Uint64
	pubDone   atomic.Bool

	// done returns the events processed so far; alerts the alerts
	// received so far (nil: no alerts in this phase).
	done   func() uint64
	alerts func() uint64
}

// publish runs the publishers to completion (count, duration or ctx).
func (pr *phaseRun) publish(ctx context.Context, senders []sender) error {
	cfg := pr.w.cfg
	pr.start = time.Now()
	deadline := time.Time{}
	if cfg.Duration > 0 {
		deadline = pr.start.Add(cfg.Duration)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(senders))
	for k, s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[k] = pr.publisher(ctx, k, len(senders), s, deadline)
		}()
	}
	wg.Wait()
	pr.pubDone.Store(true)
	for k, err := range errs {
		if err != nil {
			return fmt.Errorf("bench: %s publisher %d: %w", pr.name, k, err)
		}
	}
	return nil
}

func (pr *phaseRun) publisher(ctx context.Context, k, n int, s sender, deadline time.Time) error {
	cfg := pr.w.cfg
	pool := uint64(len(pr.w.poolAll))
	window := uint64(cfg.Window)
	var interval float64
	if cfg.Rate > 0 {
		interval = float64(time.Second) / cfg.Rate
	}
	startNs := pr.start.UnixNano()
	for seq := uint64(k); ; seq += uint64(n) {
		if cfg.Events > 0 && seq >= uint64(cfg.Events) {
			break
		}
		if seq >= maxTableSeq || seq > gen.MaxSeq {
			break
		}
		if seq&63 == uint64(k)&63 && ctx.Err() != nil {
			return ctx.Err()
		}
		var sendNs int64
		if interval > 0 {
			sendNs = startNs + int64(float64(seq)*interval)
			if d := time.Until(time.Unix(0, sendNs)); d > 0 {
				if !deadline.IsZero() && time.Now().Add(d).After(deadline) {
					break
				}
				// Sleep at least minSleep: at high rates the events due
				// meanwhile go out together (a timer wake-up per event
				// would cost more CPU than publishing). Latency is
				// measured from the scheduled time, so this lateness
				// (≤ minSleep plus the timer's) is counted, never hidden.
				time.Sleep(max(d, minSleep))
			}
		} else {
			// Closed loop: at most window events in flight.
			for pr.published.Load() >= pr.done()+window {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				time.Sleep(50 * time.Microsecond)
			}
			sendNs = time.Now().UnixNano()
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			break
		}
		idx := seq % pool
		ev := &pr.w.poolAll[idx]
		if err := gen.SetSeq(ev.Data, ev.SeqOffset, seq); err != nil {
			return err
		}
		pr.ts.set(seq, sendNs)
		if pr.w.alerts[idx] {
			pr.expected.Add(1)
		}
		if err := s.publish(pr.subjects[idx], ev.Data); err != nil {
			pr.pubErrs.Add(1)
			return err
		}
		pr.bytes.Add(uint64(len(ev.Data)))
		pr.published.Add(1)
	}
	return s.flush(ctx)
}

// startProgress starts the progress line; the returned function stops it
// and returns once the line is cleared.
func (pr *phaseRun) startProgress() (stop func()) {
	ch, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		pr.progress(ch)
	}()
	return func() {
		close(ch)
		<-done
	}
}

// progress prints a progress line per second until stop is closed.
func (pr *phaseRun) progress(stop <-chan struct{}) {
	out := pr.w.cfg.Progress
	if out == nil {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastDone uint64
	for {
		select {
		case <-stop:
			if !pr.w.cfg.ProgressLines {
				fmt.Fprintf(out, "\r\033[K")
			}
			return
		case <-t.C:
		}
		done := pr.done()
		line := fmt.Sprintf("[%s] %5.1fs published %d", pr.name, time.Since(pr.start).Seconds(), pr.published.Load())
		if n := pr.w.cfg.Events; n > 0 {
			line += fmt.Sprintf("/%d", n)
		}
		line += fmt.Sprintf("  processed %d  %s ev/s", done, si(float64(done-lastDone)))
		if pr.alerts != nil {
			line += fmt.Sprintf("  alerts %d/%d", pr.alerts(), pr.expected.Load())
		}
		if pr.w.cfg.ProgressLines {
			fmt.Fprintln(out, line)
		} else {
			fmt.Fprint(out, "\r\033[K"+line)
		}
		lastDone = done
	}
}

// wait waits after publishing until every published event is processed
// (and, with alerts, every expected alert arrived), or until nothing
// moves for the stall timeout. It returns the completion time and
// whether the phase stalled.
func (pr *phaseRun) wait(ctx context.Context) (time.Time, bool) {
	stall := pr.w.cfg.StallTimeout
	lastChange := time.Now()
	var lastDone, lastAlerts uint64
	for {
		pub := pr.published.Load()
		done := pr.done()
		var al uint64
		complete := pr.pubDone.Load() && done >= pub
		if pr.alerts != nil {
			al = pr.alerts()
			complete = complete && al >= pr.expected.Load()
		}
		now := time.Now()
		if complete {
			return now, false
		}
		if done != lastDone || al != lastAlerts || !pr.pubDone.Load() {
			lastDone, lastAlerts, lastChange = done, al, now
		} else if now.Sub(lastChange) > stall || ctx.Err() != nil {
			return lastChange, true
		}
		time.Sleep(time.Millisecond)
	}
}

// finish fills the throughput fields of p.
func (pr *phaseRun) finish(p *Phase, end time.Time) {
	p.Published = pr.published.Load()
	p.Bytes = pr.bytes.Load()
	p.PublishErrs = pr.pubErrs.Load()
	p.Elapsed = end.Sub(pr.start)
	if s := p.Elapsed.Seconds(); s > 0 {
		p.EventsPerSec = float64(p.Processed) / s
		p.MBPerSec = float64(p.Bytes) / 1e6 / s
		p.AlertsPerSec = float64(p.Alerts) / s
	}
}

// si formats n with a k/M suffix.
func si(n float64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", n/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", n/1e3)
	}
	return fmt.Sprintf("%.0f", n)
}
