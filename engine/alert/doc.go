// Package alert is iocmatch's alert model and its encoders: one alert per
// matched event, encoded as an ECS document Elastic ingests as-is (see
// Alert.AppendJSON for the field layout), or as STIX 2.1 sightings (see
// Sightings); plus Throttle, which bounds how often the same indicator
// alerts for the same entity.
//
// # Contract
//
// A Builder turns one event (its raw bytes, what engine/observe extracted
// from it and the hits of engine/match) into an Alert. Build copies
// everything it keeps: the observables and the event bytes handed to it
// may be reused by the caller as soon as Build returns. The indicators of
// the hits are kept by pointer and never modified (ioc indicators are
// immutable once compiled).
//
// The alert id is stable: it is the first 128 bits (32 hex digits) of a
// SHA-256 over the event's identity and the sorted set of matched
// indicator ids. The event's identity is its format, its own id and its
// own timestamp when observe found an id (ECS event.id, Zeek uid, EVE
// flow_id...: ids such as uid and flow_id are shared by the events of one
// connection, hence the timestamp), else the raw event bytes. Processing
// the same event again (a JetStream redelivery) yields the same id, which
// the NATS service uses as Nats-Msg-Id so the alert stream drops the
// duplicate; a different set of matched indicators yields a different id.
// The id does not depend on the processing time, the source subject or
// on throttling.
//
// Encoding is deterministic: the same Alert always encodes to the same
// bytes (enrichments are sorted, sets are sorted and de-duplicated, keys
// of the original event are emitted in sorted order).
//
// Concurrency: a Builder is immutable after NewBuilder and safe for
// concurrent use; an Alert is a value owned by its caller; a Throttle is
// safe for concurrent use.
package alert
