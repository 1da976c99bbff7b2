package engine

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/iocmatch/iocmatch/engine/alert"
	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
	"github.com/iocmatch/iocmatch/engine/observe"
	"github.com/iocmatch/iocmatch/engine/stream"
)

// outcome is what happens to one event of a batch once its publishes are
// acknowledged.
type outcome uint8

const (
	outAck  outcome = iota // matched or not, alerts stored: ack
	outTerm                // dead-lettered: term
	outNak                 // a publish failed: redeliver later
)

// pendingAlert is an alert published in the current batch.
type pendingAlert struct {
	msg     int // index of the event in the batch
	alert   alert.Alert
	subject string
	json    []byte
}

// worker processes batches; it owns an Observer and reusable buffers.
type worker struct {
	e       *Engine
	id      int
	obs     *observe.Observer
	res     observe.Result
	hits    []match.Hit
	buf     []*stream.Msg
	out     []outcome
	reasons []string
	alerts  []pendingAlert
	pending stream.Pending
}

func (e *Engine) newWorker(id int) (*worker, error) {
	o, err := observe.New(e.opts.Observe)
	if err != nil {
		return nil, err
	}
	return &worker{e: e, id: id, obs: o}, nil
}

func (w *worker) run(f *stream.Fetcher) {
	for {
		b, ok := f.Batch(w.buf)
		if !ok {
			return
		}
		w.buf = b
		w.process(b)
		clear(w.buf) // do not keep event bytes alive between batches
	}
}

// process handles one batch: match every event against one snapshot,
// publish alerts and dead letters asynchronously, wait for all
// acknowledgements, then ack, term or nak each event.
func (w *worker) process(batch []*stream.Msg) {
	e := w.e
	start := e.clock()
	snap := e.snap.Load()
	var allow Allowlist
	if h := e.allow.Load(); h != nil {
		allow = h.a
	}
	w.pending.Reset()
	w.out = w.out[:0]
	w.reasons = w.reasons[:0]
	clear(w.alerts)
	w.alerts = w.alerts[:0]
	var suppressed int

	for i, m := range batch {
		w.out = append(w.out, outAck)
		w.reasons = append(w.reasons, "")
		format, tok := e.formatOf(m.Subject)
		err := w.obs.Observe(m.Data, format, &w.res)
		if e.m != nil {
			f := format // the detected one for auto, when decoding succeeded
			if err == nil {
				f = w.res.Format
			}
			e.m.EventsIn.WithLabelValues(tok, f.String()).Inc()
		}
		if err != nil {
			reason := "malformed"
			var oe *observe.Error
			if errors.As(err, &oe) {
				reason = oe.Reason
			}
			w.deadLetter(i, m, reason, err)
			continue
		}
		w.hits = snap.Match(w.res.Observables, w.hits[:0])
		if len(w.hits) == 0 {
			continue
		}
		kept := w.hits[:0]
		for _, h := range w.hits {
			if e.m != nil {
				e.m.Matches.WithLabelValues(h.Indicator.Kind.String(), h.Indicator.Feed).Inc()
			}
			if c := h.Indicator.Confidence; e.opts.MinConfidence > 0 && c > 0 && c < e.opts.MinConfidence {
				suppressed++
				if e.m != nil {
					e.m.Suppressed.WithLabelValues("min_confidence").Inc()
				}
				continue
			}
			if allow != nil {
				var o *ioc.Observable
				if h.Obs >= 0 && int(h.Obs) < len(w.res.Observables) {
					o = &w.res.Observables[h.Obs]
				}
				if list, ok := allow.AllowedHit(h.Indicator, o); ok {
					suppressed++
					if e.m != nil {
						e.m.Suppressed.WithLabelValues("allowlist").Inc()
						e.m.AllowlistHits.WithLabelValues(list).Inc()
					}
					continue
				}
			}
			kept = append(kept, h)
		}
		if len(kept) == 0 {
			continue
		}
		a, err := e.builder.Build(alert.Input{
			Event: m.Data, Format: w.res.Format.String(), EventID: w.res.EventID, Timestamp: w.res.Timestamp,
			Observables: w.res.Observables, Hits: kept, Source: m.Subject, Now: e.clock(),
		})
		if err != nil {
			// The builder rejects only inputs it cannot represent: keep the
			// event out of the stream's way, with the reason.
			w.deadLetter(i, m, "alert_build", err)
			continue
		}
		if e.throttle != nil && !e.throttle.Apply(&a) {
			suppressed++
			if e.m != nil {
				e.m.Suppressed.WithLabelValues("throttle").Inc()
			}
			continue
		}
		subject := e.opts.Topology.AlertSubject(alertKind(&a).String())
		doc := a.AppendJSON(nil)
		hdr := nats.Header{}
		hdr.Set(stream.HeaderAlertID, a.ID)
		hdr.Set(stream.HeaderEventReceived, m.Received.UTC().Format(time.RFC3339Nano))
		e.pub.PublishAsync(&w.pending, i, subject, doc, a.ID, hdr)
		w.alerts = append(w.alerts, pendingAlert{msg: i, alert: a, subject: subject, json: doc})
	}

	ctx, cancel := context.WithTimeout(context.Background(), e.opts.PublishTimeout)
	var firstErr error
	failed := e.pub.Wait(ctx, &w.pending, func(tag int, err error) {
		if firstErr == nil {
			firstErr = err
		}
		w.out[tag] = outNak
	})
	cancel()
	if failed > 0 {
		// One line per batch, not per event.
		e.log.Warn().Err(firstErr).Int("failed_publishes", failed).Int("batch", len(batch)).
			Dur("redelivery_in", e.opts.NakDelay).Msg("publishing alerts or dead letters failed: the events will be redelivered")
	}

	now := e.clock()
	for _, pa := range w.alerts {
		if w.out[pa.msg] == outNak {
			continue
		}
		e.stats.alerts.Add(1)
		if e.m != nil {
			for _, en := range pa.alert.Enrichments {
				e.m.Alerts.WithLabelValues(en.Indicator.Kind.String(), en.Indicator.Feed).Inc()
			}
			e.m.Latency.Observe(now.Sub(batch[pa.msg].Received).Seconds())
		}
		if e.onAlert != nil {
			e.onAlert(Published{Alert: &pa.alert, Subject: pa.subject, JSON: pa.json})
		}
	}
	var ackErr error
	for i, m := range batch {
		var err error
		switch w.out[i] {
		case outAck:
			err = m.Ack()
		case outTerm:
			err = m.Term(w.reasons[i])
			e.stats.deadLetters.Add(1)
			if e.m != nil {
				e.m.DeadLetters.WithLabelValues(w.reasons[i]).Inc()
				e.m.DecodeErrors.WithLabelValues(w.reasons[i]).Inc()
			}
		case outNak:
			err = m.Nak(e.opts.NakDelay)
			e.stats.naks.Add(1)
		}
		if err != nil && ackErr == nil {
			ackErr = err
		}
	}
	if ackErr != nil && !errors.Is(ackErr, nats.ErrConnectionClosed) {
		e.log.Warn().Err(ackErr).Msg("acknowledging events failed: they will be redelivered (their alerts are deduplicated)")
	}
	e.stats.events.Add(uint64(len(batch)))
	e.stats.suppressed.Add(uint64(suppressed))
	e.stats.batches.Add(1)
	if e.m != nil {
		e.m.BatchSize.Observe(float64(len(batch)))
		e.m.BatchDuration.Observe(e.clock().Sub(start).Seconds())
	}
}

// deadLetter records event i for the dead-letter subject; it is termed
// once that publish is acknowledged (nak'ed if it fails).
func (w *worker) deadLetter(i int, m *stream.Msg, reason string, err error) {
	w.out[i] = outTerm
	w.reasons[i] = reason
	w.e.pub.PublishDeadLetter(&w.pending, i, w.e.opts.Topology, stream.DeadLetter{Reason: reason, Err: err, Msg: m})
}

// alertKind is the kind that names an alert's subject: the kind of its
// first enrichment's indicator (enrichments are sorted by the builder).
func alertKind(a *alert.Alert) ioc.Kind {
	if len(a.Enrichments) == 0 {
		return ioc.KindInvalid
	}
	return a.Enrichments[0].Indicator.Kind
}
