// Package metrics holds iocmatch's Prometheus collectors and the small
// HTTP server that exposes them with health endpoints.
//
// Contract:
//   - New registers every collector on the Registerer it is given (never
//     the global default registry) under the namespace "iocmatch"; a second
//     New on the same registry fails with the registration error.
//   - Every collector is safe for concurrent use; the hot path only uses
//     pre-resolved label values (WithLabelValues of a small, bounded set:
//     subjects' format token, kinds, feed names, reasons, list names).
//   - Timestamps are exported as Unix seconds gauges
//     (iocmatch_snapshot_timestamp_seconds, iocmatch_feed_last_*); ages are
//     computed in PromQL as time() - gauge, so no clock lives in here.
//   - Handler serves the metrics path, /healthz (200 while the process
//     serves) and /readyz (200 when ready() returns nil, else 503 with the
//     reason). Serve and ServeListener run it until their context ends,
//     then shut down gracefully.
package metrics

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every metric name.
const Namespace = "iocmatch"

// LatencyBuckets are the buckets of the event-to-alert latency histogram,
// in seconds: 50µs to 10s, roughly ×2.5 per step.
func LatencyBuckets() []float64 {
	return []float64{
		0.00005, 0.0001, 0.00025, 0.0005,
		0.001, 0.0025, 0.005,
		0.01, 0.025, 0.05,
		0.1, 0.25, 0.5,
		1, 2.5, 5, 10,
	}
}

// Metrics is the set of iocmatch's collectors. Fields are ready to use
// after New; all are safe for concurrent use.
type Metrics struct {
	// EventsIn counts events received, by subject format token and format used.
	EventsIn *prometheus.CounterVec // iocmatch_events_total{subject,format}
	// DecodeErrors counts events that could not be decoded, by reason.
	DecodeErrors *prometheus.CounterVec // iocmatch_decode_errors_total{reason}
	// Matches counts indicator hits before suppression.
	Matches *prometheus.CounterVec // iocmatch_matches_total{kind,feed}
	// Alerts counts hits that made it into a published alert.
	Alerts *prometheus.CounterVec // iocmatch_alerts_total{kind,feed}
	// Suppressed counts hits dropped: allowlist, throttle or min_confidence.
	Suppressed *prometheus.CounterVec // iocmatch_suppressed_total{reason}
	// AllowlistHits counts allowlist suppressions by list name.
	AllowlistHits *prometheus.CounterVec // iocmatch_allowlist_suppressed_total{list}
	// AllowlistEntries is the number of entries per loaded allowlist.
	AllowlistEntries *prometheus.GaugeVec // iocmatch_allowlist_entries{list}
	// Latency is the time from event receipt to its alert being published.
	Latency prometheus.Histogram // iocmatch_event_alert_latency_seconds
	// BatchSize is the number of events per processed batch.
	BatchSize prometheus.Histogram // iocmatch_batch_events
	// BatchDuration is the processing time of a batch (decode to ack).
	BatchDuration prometheus.Histogram // iocmatch_batch_duration_seconds
	// IndicatorsLoaded is the number of active indicators by kind and feed.
	IndicatorsLoaded *prometheus.GaugeVec // iocmatch_indicators{kind,feed}
	// CompileDuration is the time to compile a snapshot.
	CompileDuration prometheus.Histogram // iocmatch_snapshot_compile_seconds
	// SnapshotTimestamp is when the snapshot in force was swapped in (Unix seconds).
	SnapshotTimestamp prometheus.Gauge // iocmatch_snapshot_timestamp_seconds
	// SnapshotIndicators is the number of indicators in the snapshot in force.
	SnapshotIndicators prometheus.Gauge // iocmatch_snapshot_indicators
	// FeedLastSuccess is the time of each feed's last successful refresh (Unix seconds).
	FeedLastSuccess *prometheus.GaugeVec // iocmatch_feed_last_success_timestamp_seconds{feed}
	// FeedLastError is the time of each feed's last failed refresh (Unix seconds).
	FeedLastError *prometheus.GaugeVec // iocmatch_feed_last_error_timestamp_seconds{feed}
	// FeedErrors counts failed refreshes per feed.
	FeedErrors *prometheus.CounterVec // iocmatch_feed_errors_total{feed}
	// ConsumerPending is the consumer's backlog (pending + unacknowledged), set by the stream.
	ConsumerPending prometheus.Gauge // iocmatch_consumer_pending_messages
	// DeadLetters counts events sent to the dead-letter subject, by reason.
	DeadLetters *prometheus.CounterVec // iocmatch_deadletter_total{reason}
	// EventsDropped counts events lost before processing, by reason:
	// "slow_consumer" (core mode: the subscription's pending limit was
	// reached because the engine was too slow; at-most-once, gone for good).
	EventsDropped *prometheus.CounterVec // iocmatch_events_dropped_total{reason}
	// WebhookSent counts alerts delivered to the webhook.
	WebhookSent prometheus.Counter // iocmatch_webhook_alerts_sent_total
	// WebhookFailures counts webhook problems: "retry" (a failed attempt
	// that will be retried, per request), "dropped" (alerts given up after
	// the last retry or a permanent 4xx) and "queue_full" (alerts refused).
	WebhookFailures *prometheus.CounterVec // iocmatch_webhook_failures_total{reason}
	// SightingsPublished counts STIX sighting bundles published.
	SightingsPublished prometheus.Counter // iocmatch_sightings_published_total
	// SightingsFailures counts sighting bundles that failed to publish.
	SightingsFailures prometheus.Counter // iocmatch_sightings_failures_total

	mu       sync.Mutex             // guards prevKind
	prevKind map[[2]string]struct{} // label pairs of IndicatorsLoaded set last time
}

// New creates the collectors and registers them on reg. It fails when a
// collector is already registered there.
func New(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("metrics: nil Registerer")
	}
	counterVec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	}
	gaugeVec := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help})
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help})
	}
	hist := func(name, help string, buckets []float64) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets})
	}
	m := &Metrics{
		EventsIn:     counterVec("events_total", "Events received, by subject format token and format used.", "subject", "format"),
		DecodeErrors: counterVec("decode_errors_total", "Events that could not be decoded, by reason.", "reason"),
		Matches:      counterVec("matches_total", "Indicator hits before suppression, by indicator kind and feed.", "kind", "feed"),
		Alerts:       counterVec("alerts_total", "Hits published in alerts, by indicator kind and feed.", "kind", "feed"),
		Suppressed:   counterVec("suppressed_total", "Hits suppressed, by reason (allowlist, throttle, min_confidence).", "reason"),
		AllowlistHits: counterVec("allowlist_suppressed_total",
			"Hits suppressed by an allowlist, by list name.", "list"),
		AllowlistEntries: gaugeVec("allowlist_entries", "Entries of each loaded allowlist.", "list"),
		Latency: hist("event_alert_latency_seconds",
			"Time from event receipt to its alert being published (acknowledged by JetStream in jetstream mode).", LatencyBuckets()),
		BatchSize: hist("batch_events", "Events per processed batch.",
			[]float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}),
		BatchDuration: hist("batch_duration_seconds", "Processing time of a batch, decode to acknowledgement.", LatencyBuckets()),
		IndicatorsLoaded: gaugeVec("indicators",
			"Active indicators in the snapshot in force, by kind and feed.", "kind", "feed"),
		CompileDuration: hist("snapshot_compile_seconds", "Time to compile a snapshot.",
			[]float64{0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
		SnapshotTimestamp:  gauge("snapshot_timestamp_seconds", "When the snapshot in force was swapped in, Unix seconds (age: time() - this)."),
		SnapshotIndicators: gauge("snapshot_indicators", "Indicators in the snapshot in force."),
		FeedLastSuccess: gaugeVec("feed_last_success_timestamp_seconds",
			"Time of each feed's last successful refresh, Unix seconds.", "feed"),
		FeedLastError: gaugeVec("feed_last_error_timestamp_seconds",
			"Time of each feed's last failed refresh, Unix seconds.", "feed"),
		FeedErrors:      counterVec("feed_errors_total", "Failed feed refreshes.", "feed"),
		ConsumerPending: gauge("consumer_pending_messages", "Events waiting in the consumer (pending plus unacknowledged)."),
		DeadLetters:     counterVec("deadletter_total", "Events sent to the dead-letter subject, by reason.", "reason"),
		EventsDropped: counterVec("events_dropped_total",
			"Events lost before processing, by reason (slow_consumer: core mode, the engine was too slow).", "reason"),
		WebhookSent: counter("webhook_alerts_sent_total", "Alerts delivered to the webhook."),
		WebhookFailures: counterVec("webhook_failures_total",
			"Webhook problems: retry (failed attempt, retried), dropped (alerts given up), queue_full (alerts refused).", "reason"),
		SightingsPublished: counter("sightings_published_total", "STIX sighting bundles published."),
		SightingsFailures:  counter("sightings_failures_total", "STIX sighting bundles that failed to publish."),
	}
	for _, c := range []prometheus.Collector{
		m.EventsIn, m.DecodeErrors, m.Matches, m.Alerts, m.Suppressed, m.AllowlistHits, m.AllowlistEntries,
		m.Latency, m.BatchSize, m.BatchDuration, m.IndicatorsLoaded, m.CompileDuration,
		m.SnapshotTimestamp, m.SnapshotIndicators, m.FeedLastSuccess, m.FeedLastError, m.FeedErrors,
		m.ConsumerPending, m.DeadLetters, m.EventsDropped, m.WebhookSent, m.WebhookFailures, m.SightingsPublished, m.SightingsFailures,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	// Pre-create the label values alert rules refer to, so that rate()
	// and absent() work before the first event.
	for _, r := range []string{"allowlist", "throttle", "min_confidence"} {
		m.Suppressed.WithLabelValues(r)
	}
	for _, r := range []string{"retry", "dropped", "queue_full"} {
		m.WebhookFailures.WithLabelValues(r)
	}
	m.EventsDropped.WithLabelValues(DropSlowConsumer)
	return m, nil
}

// DropSlowConsumer is the EventsDropped reason of events a core-NATS
// subscription dropped because the engine did not keep up.
const DropSlowConsumer = "slow_consumer"

// FeedSuccess records a successful refresh of feed at t.
func (m *Metrics) FeedSuccess(feed string, t time.Time) {
	m.FeedLastSuccess.WithLabelValues(feed).Set(unixSeconds(t))
	m.FeedErrors.WithLabelValues(feed) // present at 0 for rate()
}

// FeedError records a failed refresh of feed at t and counts it.
func (m *Metrics) FeedError(feed string, t time.Time) {
	m.FeedLastError.WithLabelValues(feed).Set(unixSeconds(t))
	m.FeedErrors.WithLabelValues(feed).Inc()
}

// SetIndicators replaces IndicatorsLoaded with counts keyed by
// {kind, feed}: series absent from byKindFeed are deleted, so a feed or
// kind that disappears stops being reported; the others are updated in
// place (a scrape never sees them missing). Safe for concurrent use.
func (m *Metrics) SetIndicators(byKindFeed map[[2]string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for kf := range m.prevKind {
		if _, ok := byKindFeed[kf]; !ok {
			m.IndicatorsLoaded.DeleteLabelValues(kf[0], kf[1])
		}
	}
	m.prevKind = make(map[[2]string]struct{}, len(byKindFeed))
	for kf, n := range byKindFeed {
		m.IndicatorsLoaded.WithLabelValues(kf[0], kf[1]).Set(float64(n))
		m.prevKind[kf] = struct{}{}
	}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
