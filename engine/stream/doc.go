// Package stream is the NATS side of iocmatch: connecting to NATS (plain,
// user/password, token, NKey, .creds, TLS with a custom CA and client
// certificates), creating the JetStream streams the engine uses, fetching
// events in bounded batches, and publishing alerts and dead letters.
//
// # Topology
//
// Three streams, created if absent (an existing stream is used as it is,
// never reconfigured, so operators may tune it):
//
//   - EVENTS (default IOCMATCH_EVENTS, subjects iocmatch.events.>):
//     work-queue retention: an event is deleted once it is acknowledged,
//     and the engine acknowledges an event only after its alerts are
//     stored, so the stream holds exactly the unprocessed backlog. The
//     stream is bounded by MaxAge/MaxBytes with DiscardNew: when it is
//     full, publishers get an error instead of older unprocessed events
//     being dropped silently. Work-queue streams allow one consumer per
//     subject: every engine instance binds the same durable consumer, and
//     JetStream spreads the events among them (scale-out).
//   - ALERTS (default IOCMATCH_ALERTS, subjects iocmatch.alerts.>):
//     limits retention with a maximum age (default 7 days) and a duplicate
//     window (default 2 minutes). Alerts are published with Nats-Msg-Id set
//     to the stable alert id, so an event redelivered within the duplicate
//     window (after a crash between publishing its alert and acknowledging
//     it) never yields a second stored alert. The window must be longer
//     than the consumer's AckWait plus the time an engine needs to restart.
//   - DEADLETTER (default IOCMATCH_DEADLETTER, subjects
//     iocmatch.deadletter.>): limits retention with a maximum age (default
//     14 days). Each dead letter carries the original bytes and headers
//     naming the reason (see the Header* constants).
//
// # Delivery
//
// In JetStream mode a Fetcher reads a durable pull consumer (explicit
// acks, MaxAckPending bounding the events in flight); in core mode it
// holds a queue-group subscription: lowest latency, at-most-once (an event
// in flight when the process dies is lost; nothing is redelivered).
//
// Memory is bounded in both modes: the Fetcher holds at most
// FetchOptions.Buffer messages plus, in JetStream mode, the pull requests
// in progress (Pullers x BatchSize messages, PullMaxBytes each); when the
// engine falls behind, in JetStream mode the backlog stays in the stream
// (no new pull is issued until the workers take what was delivered), in
// core mode the subscription's pending limit drops messages and counts
// them (Fetcher.Dropped).
package stream
