package alert

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Entity selects what Throttle counts alerts per, besides the indicator.
type Entity uint8

// Entities a Throttle can key on.
const (
	EntityNone     Entity = iota // per indicator only
	EntitySourceIP               // per indicator and source address (Entities.SourceIP)
	EntityHost                   // per indicator and host name (Entities.HostName)
	EntityUser                   // per indicator and user name (Entities.UserName)
)

// String returns "none", "source_ip", "host" or "user".
func (e Entity) String() string {
	switch e {
	case EntitySourceIP:
		return "source_ip"
	case EntityHost:
		return "host"
	case EntityUser:
		return "user"
	}
	return "none"
}

// ParseEntity parses "none" (or ""), "source_ip" (or "source.ip", "ip"),
// "host" (or "host.name") and "user" (or "user.name"); other values are an
// error naming the value.
func ParseEntity(s string) (Entity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "none":
		return EntityNone, nil
	case "source_ip", "source.ip", "ip", "src_ip":
		return EntitySourceIP, nil
	case "host", "host.name", "hostname":
		return EntityHost, nil
	case "user", "user.name", "username":
		return EntityUser, nil
	}
	return EntityNone, fmt.Errorf("alert: throttle entity %q: want none, source_ip, host or user", s)
}

// Entity returns the alert's value for e ("" for EntityNone, or when the
// event does not carry it: all such alerts then share one key per
// indicator).
func (a *Alert) Entity(e Entity) string {
	switch e {
	case EntitySourceIP:
		return a.Entities.SourceIP
	case EntityHost:
		return a.Entities.HostName
	case EntityUser:
		return a.Entities.UserName
	}
	return ""
}

// DefaultThrottleMaxEntries is the default bound of a Throttle's table.
const DefaultThrottleMaxEntries = 100_000

// ThrottleOptions configure a Throttle.
type ThrottleOptions struct {
	// Window is the minimum time between two alerts of the same
	// (indicator id, entity) key. 0 disables throttling: every alert
	// passes (and nothing is stored).
	Window time.Duration
	// Entity is the second part of the key.
	Entity Entity
	// MaxEntries bounds the number of keys remembered; the least
	// recently used key is evicted beyond it (counted in Stats). 0 means
	// DefaultThrottleMaxEntries.
	MaxEntries int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Decision is the outcome of Throttle.Check for one key.
type Decision struct {
	Allow bool
	// Suppressed is, when Allow, the number of alerts suppressed for the
	// key since its previous allowed alert, and Since the time of the
	// first of them (zero when none).
	Suppressed int64
	Since      time.Time
}

// ThrottleStats are a Throttle's counters since NewThrottle.
type ThrottleStats struct {
	Entries           int    // keys currently remembered
	Allowed           uint64 // Check calls allowed
	Suppressed        uint64 // Check calls suppressed
	Evicted           uint64 // keys evicted by the MaxEntries bound
	EvictedSuppressed uint64 // suppressed counts lost with evicted keys
}

// Throttle lets at most one alert per (indicator id, entity) key through
// per window: the first alert of a key passes and opens a window; alerts
// of the key inside the window are suppressed and counted; the first
// alert after the window passes, carries that count, and opens a new
// window. Memory is bounded by an LRU of MaxEntries keys.
//
// An alert is allowed again, with the same count, when the same alert id
// comes back for a key it was allowed for (a redelivered event whose
// alert may not have been published): the alert stream deduplicates by
// id, so this never yields a duplicate alert, and a retry is never lost
// to throttling.
//
// A Throttle is safe for concurrent use.
type Throttle struct {
	window time.Duration
	entity Entity
	max    int
	now    func() time.Time

	mu         sync.Mutex
	m          map[string]*tentry
	head, tail *tentry // head: most recently used
	stats      ThrottleStats
}

type tentry struct {
	key        string
	until      time.Time // end of the current window
	count      int64     // suppressed in the current window
	since      time.Time // first suppressed in the current window
	lastID     string    // alert id of the last allowed alert
	lastCount  int64     // what that alert carried
	lastSince  time.Time
	prev, next *tentry
}

// NewThrottle returns a Throttle for o. A negative Window or MaxEntries
// is an error.
func NewThrottle(o ThrottleOptions) (*Throttle, error) {
	if o.Window < 0 {
		return nil, fmt.Errorf("alert: throttle window %s is negative", o.Window)
	}
	if o.MaxEntries < 0 {
		return nil, fmt.Errorf("alert: throttle max entries %d is negative", o.MaxEntries)
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = DefaultThrottleMaxEntries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Throttle{window: o.Window, entity: o.Entity, max: o.MaxEntries, now: o.Now, m: map[string]*tentry{}}, nil
}

// Entity returns the entity the throttle keys on.
func (t *Throttle) Entity() Entity { return t.entity }

// Check records one alert of (indicatorID, entity) whose alert id is
// alertID (may be "") and says whether it passes.
func (t *Throttle) Check(indicatorID, entity, alertID string) Decision {
	if t.window == 0 {
		t.mu.Lock()
		t.stats.Allowed++
		t.mu.Unlock()
		return Decision{Allow: true}
	}
	now := t.now()
	key := indicatorID + "\x00" + entity
	t.mu.Lock()
	defer t.mu.Unlock()
	en := t.m[key]
	if en == nil {
		en = &tentry{key: key, until: now.Add(t.window), lastID: alertID}
		t.m[key] = en
		t.pushFront(en)
		t.evict()
		t.stats.Allowed++
		return Decision{Allow: true}
	}
	t.moveFront(en)
	if alertID != "" && alertID == en.lastID && now.Before(en.until) {
		t.stats.Allowed++
		return Decision{Allow: true, Suppressed: en.lastCount, Since: en.lastSince}
	}
	if now.Before(en.until) {
		if en.count == 0 {
			en.since = now
		}
		en.count++
		t.stats.Suppressed++
		return Decision{Allow: false}
	}
	d := Decision{Allow: true, Suppressed: en.count, Since: en.since}
	en.until = now.Add(t.window)
	en.lastID, en.lastCount, en.lastSince = alertID, en.count, en.since
	en.count, en.since = 0, time.Time{}
	t.stats.Allowed++
	return d
}

// Apply throttles an alert: it checks each of the alert's indicator ids
// with the alert's entity (Throttle's Entity), drops the enrichments of
// the suppressed ids, records per enrichment the suppressed count it
// carries, and sets the alert's SuppressedCount (the largest) and
// SuppressedSince (the earliest). It returns false when every
// enrichment was suppressed: the alert must then not be published. The
// alert id is left unchanged.
func (t *Throttle) Apply(a *Alert) bool {
	ent := a.Entity(t.entity)
	decisions := make(map[string]Decision, len(a.Enrichments))
	for i := range a.Enrichments {
		id := a.Enrichments[i].Indicator.ID
		if _, ok := decisions[id]; !ok {
			decisions[id] = t.Check(id, ent, a.ID)
		}
	}
	kept := a.Enrichments[:0]
	a.SuppressedCount, a.SuppressedSince = 0, time.Time{}
	for _, en := range a.Enrichments {
		d := decisions[en.Indicator.ID]
		if !d.Allow {
			continue
		}
		en.SuppressedCount = d.Suppressed
		if d.Suppressed > a.SuppressedCount {
			a.SuppressedCount = d.Suppressed
		}
		if !d.Since.IsZero() && (a.SuppressedSince.IsZero() || d.Since.Before(a.SuppressedSince)) {
			a.SuppressedSince = d.Since
		}
		kept = append(kept, en)
	}
	clear(a.Enrichments[len(kept):])
	a.Enrichments = kept
	return len(kept) > 0
}

// Stats returns the throttle's counters.
func (t *Throttle) Stats() ThrottleStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Entries = len(t.m)
	return s
}

func (t *Throttle) pushFront(en *tentry) {
	en.prev, en.next = nil, t.head
	if t.head != nil {
		t.head.prev = en
	}
	t.head = en
	if t.tail == nil {
		t.tail = en
	}
}

func (t *Throttle) unlink(en *tentry) {
	if en.prev != nil {
		en.prev.next = en.next
	} else {
		t.head = en.next
	}
	if en.next != nil {
		en.next.prev = en.prev
	} else {
		t.tail = en.prev
	}
	en.prev, en.next = nil, nil
}

func (t *Throttle) moveFront(en *tentry) {
	if t.head == en {
		return
	}
	t.unlink(en)
	t.pushFront(en)
}

func (t *Throttle) evict() {
	for len(t.m) > t.max && t.tail != nil {
		old := t.tail
		t.unlink(old)
		delete(t.m, old.key)
		t.stats.Evicted++
		t.stats.EvictedSuppressed += uint64(old.count)
	}
}
