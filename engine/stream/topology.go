package stream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Topology names the subjects and streams of an iocmatch deployment and
// the retention of the streams it creates. The zero value is not usable:
// start from DefaultTopology.
type Topology struct {
	EventsStream   string        // stream holding unprocessed events
	EventsSubject  string        // subject filter, e.g. iocmatch.events.>
	EventsMaxAge   time.Duration // 0: unlimited
	EventsMaxBytes int64         // 0: unlimited; when full, publishers get an error (DiscardNew)

	AlertsStream        string // stream holding alerts
	AlertsSubjectPrefix string // alerts go to <prefix>.<indicator kind>
	AlertsMaxAge        time.Duration
	DuplicateWindow     time.Duration // alert de-duplication window (Nats-Msg-Id)

	DeadLetterStream        string // stream holding dead letters
	DeadLetterSubjectPrefix string // dead letters go to <prefix>.<reason>
	DeadLetterMaxAge        time.Duration

	// Durable is the durable consumer name on the events stream, shared
	// by every engine instance (scale-out).
	Durable string
	// QueueGroup is the queue group of the core-NATS subscription.
	QueueGroup string
	// Replicas of the created streams (1 on a single server; 3 on a
	// cluster).
	Replicas int
	// MemoryStorage stores the created streams in memory instead of
	// files (tests; never for production: a restart loses the backlog).
	MemoryStorage bool
}

// DefaultTopology returns the documented defaults.
func DefaultTopology() Topology {
	return Topology{
		EventsStream:            "IOCMATCH_EVENTS",
		EventsSubject:           "iocmatch.events.>",
		AlertsStream:            "IOCMATCH_ALERTS",
		AlertsSubjectPrefix:     "iocmatch.alerts",
		AlertsMaxAge:            7 * 24 * time.Hour,
		DuplicateWindow:         2 * time.Minute,
		DeadLetterStream:        "IOCMATCH_DEADLETTER",
		DeadLetterSubjectPrefix: "iocmatch.deadletter",
		DeadLetterMaxAge:        14 * 24 * time.Hour,
		Durable:                 "iocmatch",
		QueueGroup:              "iocmatch",
		Replicas:                1,
	}
}

// Validate checks names and subjects.
func (t Topology) Validate() error {
	for _, n := range []struct{ key, v string }{
		{"events_stream", t.EventsStream}, {"alerts_stream", t.AlertsStream},
		{"deadletter_stream", t.DeadLetterStream}, {"durable", t.Durable},
	} {
		if n.v == "" || strings.ContainsAny(n.v, " .*>\t\r\n/\\") {
			return fmt.Errorf("stream: %s %q: want a non-empty name without spaces, dots, wildcards or slashes", n.key, n.v)
		}
	}
	if err := validSubject(t.EventsSubject, true); err != nil {
		return fmt.Errorf("stream: events_subject %q: %w", t.EventsSubject, err)
	}
	for _, p := range []struct{ key, v string }{
		{"alerts_subject_prefix", t.AlertsSubjectPrefix}, {"deadletter_subject_prefix", t.DeadLetterSubjectPrefix},
	} {
		if err := validSubject(p.v, false); err != nil {
			return fmt.Errorf("stream: %s %q: %w", p.key, p.v, err)
		}
	}
	if t.DuplicateWindow < 0 || t.AlertsMaxAge < 0 || t.EventsMaxAge < 0 || t.DeadLetterMaxAge < 0 {
		return errors.New("stream: negative duration in topology")
	}
	return nil
}

func validSubject(s string, wildcards bool) error {
	if s == "" {
		return errors.New("empty subject")
	}
	for i, tok := range strings.Split(s, ".") {
		switch {
		case tok == "":
			return fmt.Errorf("empty token %d", i+1)
		case strings.ContainsAny(tok, " \t\r\n"):
			return fmt.Errorf("token %q contains white space", tok)
		case !wildcards && (tok == "*" || tok == ">"):
			return fmt.Errorf("wildcard %q not allowed here", tok)
		}
	}
	return nil
}

// AlertSubject returns the subject of an alert for an indicator kind name.
func (t Topology) AlertSubject(kind string) string { return t.AlertsSubjectPrefix + "." + kind }

// DeadLetterSubject returns the dead-letter subject for a reason.
func (t Topology) DeadLetterSubject(reason string) string {
	return t.DeadLetterSubjectPrefix + "." + subjectToken(reason)
}

// subjectToken makes s a valid single subject token.
func subjectToken(s string) string {
	if s == "" {
		return "unknown"
	}
	b := []byte(s)
	for i, c := range b {
		if c <= ' ' || c == '.' || c == '*' || c == '>' || c >= 0x7f {
			b[i] = '_'
		}
	}
	return string(b)
}

func (t Topology) storage() jetstream.StorageType {
	if t.MemoryStorage {
		return jetstream.MemoryStorage
	}
	return jetstream.FileStorage
}

func (t Topology) replicas() int {
	if t.Replicas < 1 {
		return 1
	}
	return t.Replicas
}

// StreamConfigs returns the configurations EnsureStreams creates: events,
// alerts and dead letters, in that order.
func (t Topology) StreamConfigs() []jetstream.StreamConfig {
	maxBytes := t.EventsMaxBytes
	if maxBytes <= 0 {
		maxBytes = -1
	}
	return []jetstream.StreamConfig{
		{
			Name:        t.EventsStream,
			Description: "iocmatch: unprocessed events (work queue: deleted once matched and acknowledged)",
			Subjects:    []string{t.EventsSubject},
			Retention:   jetstream.WorkQueuePolicy,
			Discard:     jetstream.DiscardNew,
			MaxAge:      t.EventsMaxAge,
			MaxBytes:    maxBytes,
			Storage:     t.storage(),
			Replicas:    t.replicas(),
		},
		{
			Name:        t.AlertsStream,
			Description: "iocmatch: alerts (de-duplicated by alert id within the duplicate window)",
			Subjects:    []string{t.AlertsSubjectPrefix + ".>"},
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardOld,
			MaxAge:      t.AlertsMaxAge,
			Duplicates:  t.DuplicateWindow,
			Storage:     t.storage(),
			Replicas:    t.replicas(),
		},
		{
			Name:        t.DeadLetterStream,
			Description: "iocmatch: events that could not be decoded, with the reason in headers",
			Subjects:    []string{t.DeadLetterSubjectPrefix + ".>"},
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardOld,
			MaxAge:      t.DeadLetterMaxAge,
			Duplicates:  t.DuplicateWindow,
			Storage:     t.storage(),
			Replicas:    t.replicas(),
		},
	}
}

// EnsureStreams creates the events, alerts and dead-letter streams when
// they do not exist. Existing streams are left as they are. It returns
// the names of the streams it created.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, t Topology) ([]string, error) {
	return ensure(ctx, js, t, t.StreamConfigs())
}

// EnsureOutputStreams creates only the alerts and dead-letter streams
// (core mode: events are not stored, so no events stream is created;
// one would keep every event published, unconsumed).
func EnsureOutputStreams(ctx context.Context, js jetstream.JetStream, t Topology) ([]string, error) {
	return ensure(ctx, js, t, t.StreamConfigs()[1:])
}

func ensure(ctx context.Context, js jetstream.JetStream, t Topology, cfgs []jetstream.StreamConfig) ([]string, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	var created []string
	for _, cfg := range cfgs {
		_, err := js.Stream(ctx, cfg.Name)
		if err == nil {
			continue
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return created, fmt.Errorf("stream %s: %w", cfg.Name, err)
		}
		if _, err := js.CreateStream(ctx, cfg); err != nil {
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				continue // created concurrently by another instance
			}
			return created, fmt.Errorf("stream %s: create (subjects %v): %w", cfg.Name, cfg.Subjects, err)
		}
		created = append(created, cfg.Name)
	}
	return created, nil
}

// ConsumerOptions tune the durable pull consumer.
type ConsumerOptions struct {
	AckWait       time.Duration // redelivery after this long without ack; 0: 30 s
	MaxAckPending int           // events delivered and not yet acknowledged; 0: 8192
	MaxDeliver    int           // deliveries before giving up; 0 or -1: unlimited
}

// EnsureConsumer creates or updates the durable pull consumer on the
// events stream (explicit acks, deliver all).
func EnsureConsumer(ctx context.Context, js jetstream.JetStream, t Topology, o ConsumerOptions) (jetstream.Consumer, error) {
	ackWait := o.AckWait
	if ackWait <= 0 {
		ackWait = 30 * time.Second
	}
	maxPending := o.MaxAckPending
	if maxPending <= 0 {
		maxPending = 8192
	}
	maxDeliver := o.MaxDeliver
	if maxDeliver == 0 {
		maxDeliver = -1
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       t.Durable,
		Description:   "iocmatch engine",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: maxPending,
		MaxDeliver:    maxDeliver,
		FilterSubject: t.EventsSubject,
	}
	c, err := js.CreateOrUpdateConsumer(ctx, t.EventsStream, cfg)
	if err != nil {
		return nil, fmt.Errorf("stream %s: consumer %s: %w", t.EventsStream, t.Durable, err)
	}
	return c, nil
}
