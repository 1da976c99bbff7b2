package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// problems collects validation errors, each naming its key.
type problems struct{ errs []error }

func (p *problems) add(key, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

func (p *problems) oneOf(key, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	p.add(key, "invalid value %q (want %s)", v, orList(allowed))
}

func (p *problems) positiveDur(key string, d time.Duration) {
	if d <= 0 {
		p.add(key, "must be a positive duration, got %s", fmtDur(d))
	}
}

func (p *problems) nonNegDur(key string, d time.Duration) {
	if d < 0 {
		p.add(key, "must not be negative, got %s", fmtDur(d))
	}
}

func (p *problems) exclusive(key1, v1, key2, v2 string) {
	if v1 != "" && v2 != "" {
		p.add(key1, "set together with %s (%q and %q): use one", key2, v1, v2)
	}
}

func fmtDur(d time.Duration) string { return strconv.Quote(d.String()) }

func orList(a []string) string {
	if len(a) == 1 {
		return a[0]
	}
	return strings.Join(a[:len(a)-1], ", ") + " or " + a[len(a)-1]
}

// Validate checks every value and the relations between values. It is
// pure (no environment, no file system) and returns all problems joined,
// each "<dotted.key>: <what is wrong, with the value>".
func (c Config) Validate() error {
	p := &problems{}
	c.validateNATS(p)
	c.validateStream(p)
	if c.DataDir == "" {
		p.add("data_dir", "must not be empty")
	}
	c.validateFeeds(p)
	p.oneOf("match.cidr", c.Match.CIDR, "bart", "cidranger")
	p.oneOf("match.automaton", c.Match.Automaton, "compact", "cloudflare")
	if !(c.Match.BloomFPRate > 0 && c.Match.BloomFPRate < 1) {
		p.add("match.bloom_fp_rate", "must be between 0 and 1 (exclusive), got %v", c.Match.BloomFPRate)
	}
	p.positiveDur("match.expiry_sweep", c.Match.ExpirySweep)
	c.validateAllowlist(p)
	c.validateAlerts(p)
	if c.HTTP.Listen != "" {
		if err := checkHostPort(c.HTTP.Listen); err != nil {
			p.add("http.listen", "%v", err)
		}
	}
	switch {
	case !strings.HasPrefix(c.HTTP.MetricsPath, "/"):
		p.add("http.metrics_path", "must start with '/', got %q", c.HTTP.MetricsPath)
	case c.HTTP.MetricsPath == "/healthz" || c.HTTP.MetricsPath == "/readyz":
		p.add("http.metrics_path", "%q is reserved for the health endpoints", c.HTTP.MetricsPath)
	}
	p.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	p.oneOf("log.format", c.Log.Format, "auto", "json", "console")
	return errors.Join(p.errs...)
}

func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q has an invalid host", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has no valid port (0-65535)", s)
	}
	return nil
}

func (c Config) validateNATS(p *problems) {
	n := c.NATS
	embedded := n.URL == ""
	if !embedded {
		for _, u := range strings.Split(n.URL, ",") {
			u = strings.TrimSpace(u)
			pu, err := url.Parse(u)
			if err != nil || pu.Host == "" {
				p.add("nats.url", "%q is not a URL like nats://host:4222", u)
				continue
			}
			switch pu.Scheme {
			case "nats", "tls", "ws", "wss":
			default:
				p.add("nats.url", "%q: scheme %q (want nats, tls, ws or wss)", u, pu.Scheme)
			}
		}
	}
	p.positiveDur("nats.connect_timeout", n.ConnectTimeout)
	if embedded {
		if _, _, err := n.Embedded.HostPort(); err != nil || checkHostPort(n.Embedded.Listen) != nil {
			p.add("nats.embedded.listen", "%q is not host:port", n.Embedded.Listen)
		}
		if n.Embedded.StoreDir == "" {
			p.add("nats.embedded.store_dir", "must not be empty with the embedded server")
		}
		switch {
		case n.Embedded.MaxPayload <= 0 || n.Embedded.MaxPayload > 64*MiB:
			p.add("nats.embedded.max_payload", "%s out of range (1B-64MiB)", n.Embedded.MaxPayload)
		case c.Stream.MaxEventBytes > 0 && n.Embedded.MaxPayload < c.Stream.MaxEventBytes:
			p.add("nats.embedded.max_payload", "%s is below stream.max_event_bytes %s: oversized events could not even be dead-lettered",
				n.Embedded.MaxPayload, c.Stream.MaxEventBytes)
		}
		if n.Auth.NKeySeedFile != "" || n.Auth.CredsFile != "" {
			p.add("nats.auth", "nkey_seed_file and creds_file need an external server (set nats.url)")
		}
		if n.TLS.Enabled() {
			p.add("nats.tls", "TLS needs an external server (set nats.url); the embedded server listens on nats.embedded.listen without TLS")
		}
	}
	a := n.Auth
	p.exclusive("nats.auth.password_env", a.PasswordEnv, "nats.auth.password_file", a.PasswordFile)
	p.exclusive("nats.auth.token_env", a.TokenEnv, "nats.auth.token_file", a.TokenFile)
	hasPass := a.PasswordEnv != "" || a.PasswordFile != ""
	if a.User != "" && !hasPass {
		p.add("nats.auth.user", "%q given without nats.auth.password_env or password_file", a.User)
	}
	if hasPass && a.User == "" {
		p.add("nats.auth.user", "must be set with a password")
	}
	methods := []string{}
	if a.User != "" || hasPass {
		methods = append(methods, "user/password")
	}
	if a.TokenEnv != "" || a.TokenFile != "" {
		methods = append(methods, "token")
	}
	if a.NKeySeedFile != "" {
		methods = append(methods, "nkey_seed_file")
	}
	if a.CredsFile != "" {
		methods = append(methods, "creds_file")
	}
	if len(methods) > 1 {
		p.add("nats.auth", "several methods set (%s): use one", strings.Join(methods, ", "))
	}
	if (n.TLS.CertFile == "") != (n.TLS.KeyFile == "") {
		p.add("nats.tls.cert_file", "cert_file and key_file must be set together (cert_file %q, key_file %q)", n.TLS.CertFile, n.TLS.KeyFile)
	}
}

// checkSubject validates a NATS subject; wildcards only when allowed.
func checkSubject(s string, wildcards bool) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("%q contains white space", s)
	}
	toks := strings.Split(s, ".")
	for i, t := range toks {
		switch {
		case t == "":
			return fmt.Errorf("%q has an empty token", s)
		case t == "*" || t == ">":
			if !wildcards {
				return fmt.Errorf("%q must not contain wildcards", s)
			}
			if t == ">" && i != len(toks)-1 {
				return fmt.Errorf("%q: '>' must be the last token", s)
			}
		case strings.ContainsAny(t, "*>"):
			return fmt.Errorf("%q: wildcard inside a token", s)
		}
	}
	return nil
}

// subjectOverlaps reports whether some subject under prefix (prefix + ".x...",
// conservatively: any tokens)
// or prefix itself would match the subscription pattern.
func subjectOverlaps(pattern, prefix string) bool {
	pt := strings.Split(pattern, ".")
	st := strings.Split(prefix, ".")
	for i, t := range pt {
		if t == ">" {
			return true
		}
		if i >= len(st) {
			return true // prefix.<anything> can fill the remaining tokens
		}
		if t != "*" && t != st[i] {
			return false
		}
	}
	return len(pt) >= len(st)
}

// checkName validates a JetStream stream / consumer / queue name.
func checkName(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	if strings.ContainsAny(s, " \t\r\n.*>/\\") {
		return fmt.Errorf("%q must not contain white space, '.', '*', '>', '/' or '\\'", s)
	}
	return nil
}

func (c Config) validateStream(p *problems) {
	s := c.Stream
	p.oneOf("stream.mode", s.Mode, "jetstream", "core")
	if err := checkSubject(s.EventsSubject, true); err != nil {
		p.add("stream.events_subject", "%v", err)
	}
	prefixes := []struct{ key, val string }{
		{"stream.alerts_subject_prefix", s.AlertsSubjectPrefix},
		{"stream.deadletter_subject_prefix", s.DeadLetterSubjectPrefix},
	}
	if c.Alerts.Sightings.Enabled {
		prefixes = append(prefixes, struct{ key, val string }{"alerts.sightings.subject", c.Alerts.Sightings.Subject})
	}
	for _, x := range prefixes {
		if err := checkSubject(x.val, false); err != nil {
			p.add(x.key, "%v", err)
			continue
		}
		if checkSubject(s.EventsSubject, true) == nil && subjectOverlaps(s.EventsSubject, x.val) {
			p.add(x.key, "%q is matched by stream.events_subject %q: iocmatch would consume its own output", x.val, s.EventsSubject)
		}
	}
	if s.AlertsSubjectPrefix != "" && s.AlertsSubjectPrefix == s.DeadLetterSubjectPrefix {
		p.add("stream.deadletter_subject_prefix", "%q equals stream.alerts_subject_prefix", s.DeadLetterSubjectPrefix)
	}
	for _, x := range []struct{ key, val string }{
		{"stream.events_stream", s.EventsStream},
		{"stream.alerts_stream", s.AlertsStream},
		{"stream.deadletter_stream", s.DeadLetterStream},
		{"stream.durable", s.Durable},
		{"stream.queue_group", s.QueueGroup},
	} {
		if err := checkName(x.val); err != nil {
			p.add(x.key, "%v", err)
		}
	}
	if s.EventsStream != "" && (s.EventsStream == s.AlertsStream || s.EventsStream == s.DeadLetterStream) ||
		s.AlertsStream != "" && s.AlertsStream == s.DeadLetterStream {
		p.add("stream", "events_stream, alerts_stream and deadletter_stream must differ (%q, %q, %q)",
			s.EventsStream, s.AlertsStream, s.DeadLetterStream)
	}
	p.nonNegDur("stream.events_max_age", s.EventsMaxAge)
	p.nonNegDur("stream.alerts_max_age", s.AlertsMaxAge)
	p.nonNegDur("stream.deadletter_max_age", s.DeadLetterMaxAge)
	if s.EventsMaxBytes < 0 {
		p.add("stream.events_max_bytes", "must not be negative, got %d", int64(s.EventsMaxBytes))
	}
	p.positiveDur("stream.duplicate_window", s.DuplicateWindow)
	if s.AlertsMaxAge > 0 && s.DuplicateWindow > s.AlertsMaxAge {
		p.add("stream.duplicate_window", "%s exceeds stream.alerts_max_age %s (JetStream requires window <= max age)",
			fmtDur(s.DuplicateWindow), fmtDur(s.AlertsMaxAge))
	}
	if s.Mode == "jetstream" && s.DuplicateWindow > 0 && s.AckWait > 0 && s.DuplicateWindow <= s.AckWait {
		p.add("stream.duplicate_window", "%s must exceed stream.ack_wait %s: an event redelivered after ack_wait would yield a duplicate alert",
			fmtDur(s.DuplicateWindow), fmtDur(s.AckWait))
	}
	if s.BatchSize <= 0 || s.BatchSize > 100000 {
		p.add("stream.batch_size", "must be between 1 and 100000, got %d", s.BatchSize)
	}
	p.positiveDur("stream.batch_wait", s.BatchWait)
	if s.Workers < 0 || s.Workers > 1024 {
		p.add("stream.workers", "must be between 0 (GOMAXPROCS) and 1024, got %d", s.Workers)
	}
	switch {
	case s.MaxAckPending <= 0:
		p.add("stream.max_ack_pending", "must be positive (it bounds memory), got %d", s.MaxAckPending)
	case s.BatchSize > 0 && s.MaxAckPending < s.BatchSize:
		p.add("stream.max_ack_pending", "%d is below stream.batch_size %d", s.MaxAckPending, s.BatchSize)
	}
	p.positiveDur("stream.ack_wait", s.AckWait)
	if s.AckWait > 0 && s.BatchWait > 0 && s.AckWait <= s.BatchWait {
		p.add("stream.ack_wait", "%s must exceed stream.batch_wait %s", fmtDur(s.AckWait), fmtDur(s.BatchWait))
	}
	if s.MaxDeliver < 0 {
		p.add("stream.max_deliver", "must be 0 (unlimited) or positive, got %d", s.MaxDeliver)
	}
	p.nonNegDur("stream.nak_delay", s.NakDelay)
	if s.MaxEventBytes <= 0 {
		p.add("stream.max_event_bytes", "must be positive, got %d", int64(s.MaxEventBytes))
	}
	p.oneOf("stream.default_format", s.DefaultFormat, "auto", "ecs", "zeek", "eve", "sysmon", "raw")
	if s.Replicas < 1 || s.Replicas > 5 {
		p.add("stream.replicas", "must be between 1 and 5, got %d", s.Replicas)
	}
	if s.Replicas > 1 && c.NATS.URL == "" {
		p.add("stream.replicas", "%d needs a NATS cluster (set nats.url); the embedded server is a single node", s.Replicas)
	}
}

func validFeedName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func (c Config) validateFeeds(p *problems) {
	first := map[string]int{}
	for i, f := range c.Feeds {
		key := fmt.Sprintf("feeds[%d]", i)
		if !validFeedName(f.Name) {
			p.add(key+".name", "%q must be non-empty and use only letters, digits, '.', '_' and '-'", f.Name)
		} else if j, dup := first[f.Name]; dup {
			p.add(key+".name", "duplicate feed name %q (also feeds[%d])", f.Name, j)
		} else {
			first[f.Name] = i
		}
		p.oneOf(key+".type", f.Type, FeedTAXII, FeedSTIX, FeedMISP, FeedList, FeedJSONL, FeedCSV, FeedFile, FeedDir)
		switch {
		case f.Path == "" && f.URL == "":
			p.add(key, "needs path or url")
		case f.Path != "" && f.URL != "":
			p.add(key+".path", "set together with url (%q and %q): use one", f.Path, f.URL)
		case f.Type == FeedTAXII && f.URL == "":
			p.add(key+".url", "a taxii feed needs url (path %q given)", f.Path)
		}
		if f.URL != "" {
			u, err := url.Parse(f.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.add(key+".url", "%q is not an http(s) URL", f.URL)
			}
		}
		if f.Type != FeedTAXII {
			if f.APIRoot != "" {
				p.add(key+".api_root", "only for taxii feeds (type %q)", f.Type)
			}
			if len(f.Collections) > 0 {
				p.add(key+".collections", "only for taxii feeds (type %q)", f.Type)
			}
			if f.Version != "" {
				p.add(key+".version", "only for taxii feeds (type %q)", f.Type)
			}
		}
		for j, col := range f.Collections {
			if strings.TrimSpace(col) == "" {
				p.add(fmt.Sprintf("%s.collections[%d]", key, j), "must not be empty")
			}
		}
		p.oneOf(key+".version", f.Version, "", "2.1", "2.0")
		if f.Interval < time.Second {
			p.add(key+".interval", "must be at least 1s, got %s", fmtDur(f.Interval))
		}
		if f.Kind != "" {
			k, err := ioc.ParseKind(f.Kind)
			switch {
			case err != nil:
				p.add(key+".kind", "unknown indicator kind %q", f.Kind)
			case !k.IsAtomic():
				p.add(key+".kind", "%q is not a list value kind", f.Kind)
			}
			switch f.Type {
			case FeedList, FeedCSV, FeedFile, FeedDir:
			default:
				p.add(key+".kind", "only for list, csv, file or dir feeds (type %q)", f.Type)
			}
		}
		if f.Confidence < 0 || f.Confidence > 100 {
			p.add(key+".confidence", "must be between 0 and 100, got %d", f.Confidence)
		}
		p.positiveDur(key+".timeout", f.Timeout)
		a := f.Auth
		if a != (FeedAuth{}) && f.URL == "" {
			p.add(key+".auth", "only for url feeds")
		}
		p.exclusive(key+".auth.password_env", a.PasswordEnv, key+".auth.password_file", a.PasswordFile)
		p.exclusive(key+".auth.token_env", a.TokenEnv, key+".auth.token_file", a.TokenFile)
		hasPass := a.PasswordEnv != "" || a.PasswordFile != ""
		hasTok := a.TokenEnv != "" || a.TokenFile != ""
		if a.User != "" && !hasPass {
			p.add(key+".auth.user", "%q given without password_env or password_file", a.User)
		}
		if hasPass && a.User == "" {
			p.add(key+".auth.user", "must be set with a password")
		}
		if hasPass && hasTok {
			p.add(key+".auth", "both a password and a token: use one")
		}
		p.oneOf(key+".auth.scheme", a.Scheme, "", "Bearer", "Token")
		if a.Scheme != "" && !hasTok {
			p.add(key+".auth.scheme", "%q given without token_env or token_file", a.Scheme)
		}
		if (a.CertFile == "") != (a.KeyFile == "") {
			p.add(key+".auth.cert_file", "cert_file and key_file must be set together (cert_file %q, key_file %q)", a.CertFile, a.KeyFile)
		}
	}
}

func (c Config) validateAllowlist(p *problems) {
	for _, l := range []struct {
		name string
		vals []string
	}{{"include", c.Allowlist.Include}, {"exclude", c.Allowlist.Exclude}, {"files", c.Allowlist.Files}} {
		for i, v := range l.vals {
			if strings.TrimSpace(v) == "" {
				p.add(fmt.Sprintf("allowlist.%s[%d]", l.name, i), "must not be empty")
			}
		}
	}
}

func (c Config) validateAlerts(p *problems) {
	a := c.Alerts
	if a.MinConfidence < 0 || a.MinConfidence > 100 {
		p.add("alerts.min_confidence", "must be between 0 and 100, got %d", a.MinConfidence)
	}
	p.nonNegDur("alerts.throttle.window", a.Throttle.Window)
	p.oneOf("alerts.throttle.entity", a.Throttle.Entity, EntitySourceIP, EntityHost, EntityUser, EntityNone)
	if a.Throttle.Window > 0 && a.Throttle.MaxEntries <= 0 {
		p.add("alerts.throttle.max_entries", "must be positive when throttling, got %d", a.Throttle.MaxEntries)
	}
	w := a.Webhook
	if w.URL != "" {
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.add("alerts.webhook.url", "%q is not an http(s) URL", w.URL)
		}
		if w.BatchSize <= 0 {
			p.add("alerts.webhook.batch_size", "must be positive, got %d", w.BatchSize)
		}
		p.positiveDur("alerts.webhook.flush_interval", w.FlushInterval)
		p.positiveDur("alerts.webhook.timeout", w.Timeout)
		if w.MaxRetries < 0 {
			p.add("alerts.webhook.max_retries", "must not be negative, got %d", w.MaxRetries)
		}
		if w.QueueSize < w.BatchSize {
			p.add("alerts.webhook.queue_size", "%d is below alerts.webhook.batch_size %d", w.QueueSize, w.BatchSize)
		}
	}
	p.exclusive("alerts.webhook.token_env", w.TokenEnv, "alerts.webhook.token_file", w.TokenFile)
	for _, k := range slices.Sorted(maps.Keys(w.Headers)) {
		if !validHeaderName(k) {
			p.add("alerts.webhook.headers", "%q is not a valid HTTP header name", k)
		}
		if strings.EqualFold(k, "Authorization") && (w.TokenEnv != "" || w.TokenFile != "") {
			p.add("alerts.webhook.headers", "Authorization set together with token_env/token_file: use one")
		}
	}
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
