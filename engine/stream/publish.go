package stream

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Dead-letter headers. A dead letter's body is the original event, byte
// for byte.
const (
	HeaderReason        = "Iocmatch-Reason"         // short machine reason, e.g. "malformed", "too_large"
	HeaderError         = "Iocmatch-Error"          // the decoder's message, naming the position
	HeaderSubject       = "Iocmatch-Subject"        // the subject the event arrived on
	HeaderStreamSeq     = "Iocmatch-Stream-Seq"     // its sequence in the events stream (JetStream mode)
	HeaderAlertID       = "Iocmatch-Alert-Id"       // on alerts: the stable alert id (also Nats-Msg-Id)
	HeaderEventReceived = "Iocmatch-Event-Received" // on alerts: when the engine received the event (RFC 3339 nano)
)

// Publisher publishes alerts and dead letters. In JetStream mode each
// publish is acknowledged by the stream (PublishAsync + Wait); in core
// mode publishes are fire-and-forget (at-most-once). Safe for concurrent
// use; a Pending is owned by one goroutine.
type Publisher struct {
	nc *nats.Conn
	js jetstream.JetStream // nil in core mode
}

// NewPublisher returns a publisher on nc; js nil selects core mode.
func NewPublisher(nc *nats.Conn, js jetstream.JetStream) *Publisher {
	return &Publisher{nc: nc, js: js}
}

// Pending collects the acknowledgements of asynchronous publishes so a
// batch can wait for all of them at once. Reset it between batches.
type Pending struct {
	futs []jetstream.PubAckFuture
	tags []int
	errs []tagErr
}

type tagErr struct {
	tag int
	err error
}

// Reset empties p for reuse.
func (p *Pending) Reset() {
	clear(p.futs)
	p.futs, p.tags, p.errs = p.futs[:0], p.tags[:0], p.errs[:0]
}

// Len returns the number of publishes recorded.
func (p *Pending) Len() int { return len(p.futs) + len(p.errs) }

// PublishAsync publishes data on subject with the given headers and, when
// msgID is not empty, Nats-Msg-Id = msgID (the stream drops a second
// message with the same id within its duplicate window). tag is returned
// with the error of this publish by Wait (e.g. the index of the event the
// alert belongs to). A failure to even send is recorded in p too.
func (pb *Publisher) PublishAsync(p *Pending, tag int, subject string, data []byte, msgID string, hdr nats.Header) {
	m := &nats.Msg{Subject: subject, Data: data, Header: hdr}
	if msgID != "" {
		if m.Header == nil {
			m.Header = nats.Header{}
		}
		m.Header.Set(jetstream.MsgIDHeader, msgID)
	}
	if pb.js == nil {
		if err := pb.nc.PublishMsg(m); err != nil {
			p.errs = append(p.errs, tagErr{tag, fmt.Errorf("publish %s: %w", subject, err)})
		}
		return
	}
	f, err := pb.js.PublishMsgAsync(m)
	if err != nil {
		p.errs = append(p.errs, tagErr{tag, fmt.Errorf("publish %s: %w", subject, err)})
		return
	}
	p.futs = append(p.futs, f)
	p.tags = append(p.tags, tag)
}

// Wait waits until every publish recorded in p is acknowledged or failed,
// or ctx ends, and calls fail for each failure with its tag. It returns
// the number of failures. In core mode it flushes the connection (so the
// alerts have left the process) instead.
func (pb *Publisher) Wait(ctx context.Context, p *Pending, fail func(tag int, err error)) int {
	n := 0
	for _, e := range p.errs {
		n++
		fail(e.tag, e.err)
	}
	if pb.js == nil {
		// At-most-once: a flush failure cannot be attributed to one
		// message and is not retried.
		_ = pb.nc.FlushWithContext(ctx)
		return n
	}
	for i, f := range p.futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			n++
			fail(p.tags[i], fmt.Errorf("publish %s: %w", f.Msg().Subject, err))
		case <-ctx.Done():
			n++
			fail(p.tags[i], fmt.Errorf("publish %s: waiting for ack: %w", f.Msg().Subject, ctx.Err()))
		}
	}
	return n
}

// DeadLetter is an event that cannot be processed.
type DeadLetter struct {
	Reason string // short reason: becomes the last subject token and HeaderReason
	Err    error  // the cause, in HeaderError
	Msg    *Msg   // the original event
}

// PublishDeadLetter records dl in p: the original bytes on
// t.DeadLetterSubject(dl.Reason), with the reason headers. In JetStream
// mode the message id is derived from the event's stream sequence, so a
// redelivered bad event is dead-lettered once.
func (pb *Publisher) PublishDeadLetter(p *Pending, tag int, t Topology, dl DeadLetter) {
	hdr := nats.Header{}
	hdr.Set(HeaderReason, dl.Reason)
	if dl.Err != nil {
		msg := dl.Err.Error()
		if len(msg) > 1024 {
			msg = msg[:1024]
		}
		hdr.Set(HeaderError, msg)
	}
	hdr.Set(HeaderSubject, dl.Msg.Subject)
	id := ""
	if seq, _ := dl.Msg.Delivery(); seq > 0 {
		s := strconv.FormatUint(seq, 10)
		hdr.Set(HeaderStreamSeq, s)
		id = "dl-" + t.EventsStream + "-" + s
	}
	pb.PublishAsync(p, tag, t.DeadLetterSubject(dl.Reason), dl.Msg.Data, id, hdr)
}
