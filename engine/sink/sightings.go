package sink

import (
	"errors"
	"fmt"
	"strings"

	"github.com/iocmatch/iocmatch/engine/alert"
	"github.com/iocmatch/iocmatch/engine/metrics"
)

// PublishFunc publishes data on subject, e.g. (*nats.Conn).Publish, or a
// JetStream publish wrapped to this shape.
type PublishFunc func(subject string, data []byte) error

// Sightings publishes, for every alert, a STIX 2.1 bundle holding the
// iocmatch identity and one sighting per matched indicator (encoded by
// engine/alert: deterministic ids, so a re-published alert yields the same
// objects). Safe for concurrent use.
type Sightings struct {
	subject string
	publish PublishFunc
	m       *metrics.Metrics
	who     alert.Identity
}

// NewSightings returns a publisher of sighting bundles on subject through
// publish; m may be nil (not counted). The sighting identity is
// alert.NewIdentity("iocmatch").
func NewSightings(subject string, publish PublishFunc, m *metrics.Metrics) (*Sightings, error) {
	if err := checkSubject(subject); err != nil {
		return nil, fmt.Errorf("sink: sightings subject: %w", err)
	}
	if publish == nil {
		return nil, errors.New("sink: sightings: nil publish function")
	}
	return &Sightings{subject: subject, publish: publish, m: m, who: alert.NewIdentity("iocmatch")}, nil
}

// Publish encodes the sightings of a and publishes them as one bundle.
// Failures are counted and returned (naming the alert and subject); an
// alert without indicator hits publishes nothing.
func (s *Sightings) Publish(a *alert.Alert) error {
	if a == nil {
		return errors.New("sink: sightings: nil alert")
	}
	if len(a.Enrichments) == 0 {
		return nil
	}
	data := alert.AppendSightingBundle(nil, a, s.who)
	if err := s.publish(s.subject, data); err != nil {
		if s.m != nil {
			s.m.SightingsFailures.Inc()
		}
		return fmt.Errorf("sink: sightings of alert %s on %s: %w", a.ID, s.subject, err)
	}
	if s.m != nil {
		s.m.SightingsPublished.Inc()
	}
	return nil
}

// checkSubject accepts a literal NATS subject: non-empty dot-separated
// tokens, no wildcards, no white space.
func checkSubject(s string) error {
	if s == "" {
		return errors.New("empty subject")
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" || strings.ContainsAny(tok, "*> \t\r\n") {
			return fmt.Errorf("%q is not a literal NATS subject", s)
		}
	}
	return nil
}
