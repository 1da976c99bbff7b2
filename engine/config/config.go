// Package config is iocmatch's configuration: one YAML file, decoded
// strictly, with documented defaults and validation.
//
// Contract:
//   - Default returns every default; Parse overlays a YAML document on
//     Default, normalises derived defaults (per-feed type and interval)
//     and validates; Load does the same for a file.
//   - Decoding is strict: an unknown key, a duplicate key or a value of the
//     wrong type is an error. Every error names the dotted key
//     ("nats.tls.ca_file", "feeds[2].interval"), the bad value and, where
//     known, the line. All problems of a document are reported together
//     (errors.Join), not only the first.
//   - Validate is pure: it reads no environment variable and no file.
//     CheckFiles stats the configured files; the Password/Token methods read
//     secrets from the environment or a file when called, so secrets never
//     sit in the Config value or in logs.
//   - Relative paths are relative to the process working directory.
//   - Durations are Go durations ("50ms", "30s", "10m", "168h"); sizes are
//     byte counts or strings with a unit ("1MiB", "8MB", "512KiB").
//
// A Config is a plain value: copy it freely; it is safe for concurrent
// reads. The annotated example deploy/iocmatch.example.yml documents every
// key with its default.
package config

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// Config is the whole configuration of `iocmatch serve`.
type Config struct {
	NATS      NATS      `yaml:"nats"`
	Stream    Stream    `yaml:"stream"`
	DataDir   string    `yaml:"data_dir"` // indicator store directory (feeds/store); default "./data"
	Feeds     []Feed    `yaml:"feeds"`
	Match     Match     `yaml:"match"`
	Allowlist Allowlist `yaml:"allowlist"`
	Alerts    Alerts    `yaml:"alerts"`
	HTTP      HTTP      `yaml:"http"`
	Log       Log       `yaml:"log"`
}

// NATS says how to reach NATS: an external server (URL set) or an embedded
// one started in-process (URL empty).
type NATS struct {
	URL            string        `yaml:"url"`             // "" = embedded server; else "nats://host:4222" or a comma-separated list
	Name           string        `yaml:"name"`            // client connection name; default "iocmatch"
	ConnectTimeout time.Duration `yaml:"connect_timeout"` // default 5s
	Embedded       Embedded      `yaml:"embedded"`
	Auth           NATSAuth      `yaml:"auth"`
	TLS            TLS           `yaml:"tls"`
}

// Embedded configures the in-process NATS server used when NATS.URL is empty.
type Embedded struct {
	Listen     string   `yaml:"listen"`      // host:port; default "127.0.0.1:4222"; port 0 = a random free port
	StoreDir   string   `yaml:"store_dir"`   // JetStream storage; default "./data/nats"
	MaxPayload ByteSize `yaml:"max_payload"` // largest message; default 8MiB
}

// HostPort splits Listen into host and port.
func (e Embedded) HostPort() (host string, port int, err error) {
	i := strings.LastIndexByte(e.Listen, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("nats.embedded.listen: %q is not host:port", e.Listen)
	}
	host = strings.TrimSuffix(strings.TrimPrefix(e.Listen[:i], "["), "]")
	port, err = strconv.Atoi(e.Listen[i+1:])
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("nats.embedded.listen: %q has no valid port (0-65535)", e.Listen)
	}
	return host, port, nil
}

// NATSAuth holds NATS credentials. At most one method is used:
// user + password, token, NKey seed file or .creds file. Secrets are
// named (env var or file), never written in the config itself.
//
// With the embedded server, user/password or token, when set, are also
// what the embedded server requires; NKeys and .creds are for external
// servers only.
type NATSAuth struct {
	User         string `yaml:"user"`
	PasswordEnv  string `yaml:"password_env"`   // name of an environment variable holding the password
	PasswordFile string `yaml:"password_file"`  // or a file holding it (trailing newline trimmed)
	TokenEnv     string `yaml:"token_env"`      // name of an environment variable holding the token
	TokenFile    string `yaml:"token_file"`     // or a file holding it
	NKeySeedFile string `yaml:"nkey_seed_file"` // a file holding an NKey user seed (SU...)
	CredsFile    string `yaml:"creds_file"`     // a NATS .creds file (JWT + seed)
}

// Password reads the password from PasswordEnv or PasswordFile ("" when
// neither is set). The error names the key and the variable or file.
func (a NATSAuth) Password() (string, error) {
	return readSecret("nats.auth.password", a.PasswordEnv, a.PasswordFile)
}

// Token reads the token from TokenEnv or TokenFile ("" when neither is set).
func (a NATSAuth) Token() (string, error) {
	return readSecret("nats.auth.token", a.TokenEnv, a.TokenFile)
}

func (a NATSAuth) isZero() bool { return a == NATSAuth{} }

// TLS configures TLS to an external NATS server: a custom CA, a client
// certificate for mutual TLS.
type TLS struct {
	CAFile             string `yaml:"ca_file"`              // PEM CA bundle; "" = system roots
	CertFile           string `yaml:"cert_file"`            // client certificate (PEM), with key_file
	KeyFile            string `yaml:"key_file"`             // client key (PEM), with cert_file
	ServerName         string `yaml:"server_name"`          // overrides the name checked in the server certificate
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"` // default false; never in production
}

// Enabled reports whether any TLS setting is present (then the connection
// requires TLS).
func (t TLS) Enabled() bool { return t != TLS{} }

// Stream configures the NATS side: subjects, streams, consumer and
// batching. See deploy/README.md for the delivery guarantees of each mode.
type Stream struct {
	Mode                    string        `yaml:"mode"`                      // "jetstream" (default, at-least-once) or "core" (queue group, at-most-once)
	EventsSubject           string        `yaml:"events_subject"`            // default "iocmatch.events.>"; last token names the format
	EventsStream            string        `yaml:"events_stream"`             // default "IOCMATCH_EVENTS"
	EventsMaxAge            time.Duration `yaml:"events_max_age"`            // default 24h; 0 = unlimited
	EventsMaxBytes          ByteSize      `yaml:"events_max_bytes"`          // default 1GiB; 0 = unlimited
	Durable                 string        `yaml:"durable"`                   // durable pull consumer name; default "iocmatch"
	QueueGroup              string        `yaml:"queue_group"`               // core mode queue group; default "iocmatch"
	AlertsSubjectPrefix     string        `yaml:"alerts_subject_prefix"`     // default "iocmatch.alerts" (+ ".<indicator kind>")
	AlertsStream            string        `yaml:"alerts_stream"`             // default "IOCMATCH_ALERTS"
	AlertsMaxAge            time.Duration `yaml:"alerts_max_age"`            // default 168h; 0 = unlimited
	DeadLetterSubjectPrefix string        `yaml:"deadletter_subject_prefix"` // default "iocmatch.deadletter" (+ ".<reason>")
	DeadLetterStream        string        `yaml:"deadletter_stream"`         // default "IOCMATCH_DEADLETTER"
	DeadLetterMaxAge        time.Duration `yaml:"deadletter_max_age"`        // default 168h; 0 = unlimited
	DuplicateWindow         time.Duration `yaml:"duplicate_window"`          // alerts stream dedup window; default 2m
	BatchSize               int           `yaml:"batch_size"`                // events fetched per batch; default 256
	BatchWait               time.Duration `yaml:"batch_wait"`                // longest wait to fill a batch; default 50ms
	Workers                 int           `yaml:"workers"`                   // default 0 = GOMAXPROCS
	MaxAckPending           int           `yaml:"max_ack_pending"`           // unacknowledged events in flight; default 8192
	AckWait                 time.Duration `yaml:"ack_wait"`                  // redelivery after this without ack; default 30s
	MaxDeliver              int           `yaml:"max_deliver"`               // default 0 = unlimited (an event is never dropped)
	NakDelay                time.Duration `yaml:"nak_delay"`                 // redelivery delay after a transient failure; default 2s
	MaxEventBytes           ByteSize      `yaml:"max_event_bytes"`           // larger events are dead-lettered; default 1MiB
	DefaultFormat           string        `yaml:"default_format"`            // when the subject names none: auto, ecs, zeek, eve, sysmon, raw; default "auto"
	Replicas                int           `yaml:"replicas"`                  // replicas of the streams iocmatch creates: 1 (default, single server) to 5; 3 on a cluster
}

// EffectiveWorkers returns Workers, or GOMAXPROCS when Workers is 0.
func (s Stream) EffectiveWorkers() int {
	if s.Workers > 0 {
		return s.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// Feed types.
const (
	FeedTAXII = "taxii" // TAXII 2.x collection(s) at URL
	FeedSTIX  = "stix"  // STIX bundle file or directory
	FeedMISP  = "misp"  // MISP event file, or MISP feed directory / URL
	FeedList  = "list"  // plain list, one value per line (Kind or inferred)
	FeedJSONL = "jsonl" // engine JSON lines
	FeedCSV   = "csv"   // kind,value[,description]
	FeedFile  = "file"  // any file, format detected; a directory loads every file
	FeedDir   = "dir"   // alias of file for a directory
)

// Feed is one source of indicators.
type Feed struct {
	Name        string        `yaml:"name"`        // required, unique, [A-Za-z0-9._-]+ (metric label, store key)
	Type        string        `yaml:"type"`        // taxii|stix|misp|list|jsonl|csv|file|dir; "" = taxii with url, file with path
	Path        string        `yaml:"path"`        // a file or directory
	URL         string        `yaml:"url"`         // TAXII discovery/API root URL (taxii) or an HTTP(S) file URL (other types)
	APIRoot     string        `yaml:"api_root"`    // taxii: API root (absolute URL or path); "" = the server's default
	Collections []string      `yaml:"collections"` // taxii: collection ids ("collection: X" also accepted); empty = every collection
	Version     string        `yaml:"version"`     // taxii: "" (auto), "2.1" or "2.0"
	Interval    time.Duration `yaml:"interval"`    // refresh interval; default 1h for url feeds, 5m for files
	Kind        string        `yaml:"kind"`        // list/csv/file: kind of plain-list values (ioc kind name); "" = inferred per value
	Confidence  int           `yaml:"confidence"`  // 0-100, for indicators that carry none; 0 = unknown
	Timeout     time.Duration `yaml:"timeout"`     // per HTTP request; default 60s
	Auth        FeedAuth      `yaml:"auth"`        // url feeds only
	Enabled     bool          `yaml:"enabled"`     // default true
}

func (f *Feed) setDefaults() {
	f.Enabled = true
	f.Timeout = 60 * time.Second
}

// DefaultFeed returns a feed holding the per-feed defaults (Enabled,
// Timeout); Type and Interval are derived by Parse from Path/URL.
func DefaultFeed() Feed {
	var f Feed
	f.setDefaults()
	return f
}

// ParsedKind returns the kind named by Kind, or ioc.KindInvalid when Kind
// is empty or invalid (Validate rejects invalid names).
func (f Feed) ParsedKind() ioc.Kind {
	if f.Kind == "" {
		return ioc.KindInvalid
	}
	k, err := ioc.ParseKind(f.Kind)
	if err != nil {
		return ioc.KindInvalid
	}
	return k
}

// FeedAuth holds a feed's credentials: HTTP Basic (user + password), an
// API token ("Authorization: <Scheme> <token>"), and TLS client
// certificate / custom CA.
type FeedAuth struct {
	User         string `yaml:"user"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	TokenEnv     string `yaml:"token_env"`
	TokenFile    string `yaml:"token_file"`
	Scheme       string `yaml:"scheme"` // "Bearer" (default when a token is set) or "Token"
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	CAFile       string `yaml:"ca_file"`
}

// Password reads the feed password from PasswordEnv or PasswordFile.
func (a FeedAuth) Password() (string, error) {
	return readSecret("auth.password", a.PasswordEnv, a.PasswordFile)
}

// Token reads the feed token from TokenEnv or TokenFile.
func (a FeedAuth) Token() (string, error) {
	return readSecret("auth.token", a.TokenEnv, a.TokenFile)
}

// Match tunes the compiled snapshot (engine/match Options).
type Match struct {
	CIDR        string        `yaml:"cidr"`          // CIDR trie: "bart" (default) or "cidranger"
	BloomFPRate float64       `yaml:"bloom_fp_rate"` // Bloom pre-filter false-positive rate; default 0.01
	ExpirySweep time.Duration `yaml:"expiry_sweep"`  // how often expired indicators are dropped; default 1m
	// Bloom puts a Bloom pre-filter in front of each exact set (default
	// true; false is match.Options.DisableBloom). Results are identical
	// either way. At 1M indicators the Bloom pre-filter measured ~2x
	// slower than a plain map miss on this project's benchmark machine
	// (see README; BenchmarkMatchStructure1M in engine/match), so latency-sensitive
	// deployments should try false.
	Bloom bool `yaml:"bloom"`
	// Automaton is the Aho-Corasick implementation for substring
	// indicators: "compact" (default) or "cloudflare" (match.Options.Automaton).
	Automaton string `yaml:"automaton"`
}

// Allowlist configures known-benign values whose matches are suppressed.
type Allowlist struct {
	Enabled         bool     `yaml:"enabled"`          // default true
	WarninglistsDir string   `yaml:"warninglists_dir"` // a MISP misp-warninglists "lists" directory; "" = none
	Include         []string `yaml:"include"`          // warninglists to use (dir or list name); empty = all
	Exclude         []string `yaml:"exclude"`          // warninglists to skip
	Files           []string `yaml:"files"`            // local allowlist files (one value per line, optional "kind:" prefix)
}

// Alerts configures alert production and the optional extra sinks.
type Alerts struct {
	MinConfidence   int       `yaml:"min_confidence"`   // hits of indicators with a known confidence below this are suppressed; default 0
	IncludeOriginal bool      `yaml:"include_original"` // include the original event in the alert; default true
	Throttle        Throttle  `yaml:"throttle"`
	Webhook         Webhook   `yaml:"webhook"`
	Sightings       Sightings `yaml:"sightings"`
}

// Throttle entities.
const (
	EntitySourceIP = "source_ip"
	EntityHost     = "host"
	EntityUser     = "user"
	EntityNone     = "none"
)

// Throttle limits repeated alerts: at most one per (indicator, entity) per window.
type Throttle struct {
	Window     time.Duration `yaml:"window"`      // default 10m; 0 disables throttling
	Entity     string        `yaml:"entity"`      // source_ip (default), host, user or none (per indicator only)
	MaxEntries int           `yaml:"max_entries"` // bound on remembered (indicator, entity) pairs; default 100000
}

// Webhook posts alerts in JSON batches to an HTTP endpoint (best effort;
// the NATS alerts stream is the source of truth).
type Webhook struct {
	URL           string            `yaml:"url"`            // "" = disabled
	BatchSize     int               `yaml:"batch_size"`     // alerts per POST; default 100
	FlushInterval time.Duration     `yaml:"flush_interval"` // longest wait before a partial batch is sent; default 1s
	Timeout       time.Duration     `yaml:"timeout"`        // per request; default 10s
	MaxRetries    int               `yaml:"max_retries"`    // retries after the first attempt; default 5
	QueueSize     int               `yaml:"queue_size"`     // alerts buffered; beyond, alerts are dropped and counted; default 10000
	Headers       map[string]string `yaml:"headers"`        // extra request headers
	TokenEnv      string            `yaml:"token_env"`      // bearer token from this environment variable
	TokenFile     string            `yaml:"token_file"`     // or from this file
}

// Token reads the bearer token from TokenEnv or TokenFile ("" when unset).
func (w Webhook) Token() (string, error) {
	return readSecret("alerts.webhook.token", w.TokenEnv, w.TokenFile)
}

// Sightings publishes a STIX 2.1 sighting per alert on a subject of its own.
type Sightings struct {
	Enabled bool   `yaml:"enabled"` // default false
	Subject string `yaml:"subject"` // default "iocmatch.sightings"
}

// HTTP configures the metrics and health endpoint.
type HTTP struct {
	Listen      string `yaml:"listen"`       // default "127.0.0.1:9464"; "" disables the HTTP server
	MetricsPath string `yaml:"metrics_path"` // default "/metrics"
}

// Log configures the process logger.
type Log struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // auto (default: console on a terminal, else JSON), json, console
}

// Default returns the configuration used when no file is given, and the
// base every file is overlaid on. It has no feeds.
func Default() Config {
	return Config{
		NATS: NATS{
			Name:           "iocmatch",
			ConnectTimeout: 5 * time.Second,
			Embedded: Embedded{
				Listen:     "127.0.0.1:4222",
				StoreDir:   "./data/nats",
				MaxPayload: 8 * MiB,
			},
		},
		Stream: Stream{
			Mode:                    "jetstream",
			EventsSubject:           "iocmatch.events.>",
			EventsStream:            "IOCMATCH_EVENTS",
			EventsMaxAge:            24 * time.Hour,
			EventsMaxBytes:          1 * GiB,
			Durable:                 "iocmatch",
			QueueGroup:              "iocmatch",
			AlertsSubjectPrefix:     "iocmatch.alerts",
			AlertsStream:            "IOCMATCH_ALERTS",
			AlertsMaxAge:            168 * time.Hour,
			DeadLetterSubjectPrefix: "iocmatch.deadletter",
			DeadLetterStream:        "IOCMATCH_DEADLETTER",
			DeadLetterMaxAge:        168 * time.Hour,
			DuplicateWindow:         2 * time.Minute,
			BatchSize:               256,
			BatchWait:               50 * time.Millisecond,
			MaxAckPending:           8192,
			AckWait:                 30 * time.Second,
			NakDelay:                2 * time.Second,
			MaxEventBytes:           1 * MiB,
			DefaultFormat:           "auto",
			Replicas:                1,
		},
		DataDir: "./data",
		Match: Match{
			CIDR:        "bart",
			BloomFPRate: 0.01,
			ExpirySweep: time.Minute,
			Bloom:       true,
			Automaton:   "compact",
		},
		Allowlist: Allowlist{Enabled: true},
		Alerts: Alerts{
			IncludeOriginal: true,
			Throttle: Throttle{
				Window:     10 * time.Minute,
				Entity:     EntitySourceIP,
				MaxEntries: 100000,
			},
			Webhook: Webhook{
				BatchSize:     100,
				FlushInterval: time.Second,
				Timeout:       10 * time.Second,
				MaxRetries:    5,
				QueueSize:     10000,
			},
			Sightings: Sightings{Subject: "iocmatch.sightings"},
		},
		HTTP: HTTP{Listen: "127.0.0.1:9464", MetricsPath: "/metrics"},
		Log:  Log{Level: "info", Format: "auto"},
	}
}

// Parse decodes a YAML document over Default, derives per-feed defaults
// and validates the result. Errors name every bad key.
func Parse(data []byte) (Config, error) {
	c := Default()
	if err := decodeInto(data, &c); err != nil {
		return Config{}, err
	}
	c.derive()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Load reads and parses the YAML file at path. Errors are prefixed with
// "config <path>: ".
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// derive fills the defaults that depend on other keys: a feed's type
// (taxii for a URL with collections or no type, file for a path) and its
// interval (1h for URL feeds, 5m for files).
func (c *Config) derive() {
	for i := range c.Feeds {
		f := &c.Feeds[i]
		if f.Type == "" {
			switch {
			case f.URL != "" && f.Path == "":
				f.Type = FeedTAXII
			case f.Path != "":
				f.Type = FeedFile
			}
		}
		if f.Interval == 0 {
			if f.URL != "" {
				f.Interval = time.Hour
			} else {
				f.Interval = 5 * time.Minute
			}
		}
	}
}

// EnabledFeeds returns the feeds with Enabled set, in file order.
func (c Config) EnabledFeeds() []Feed {
	var out []Feed
	for _, f := range c.Feeds {
		if f.Enabled {
			out = append(out, f)
		}
	}
	return out
}

// readSecret returns the secret held by environment variable env or file
// path (at most one is set; Validate checks that). Trailing CR/LF of a
// file are trimmed. key names the secret in errors.
func readSecret(key, env, path string) (string, error) {
	switch {
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", fmt.Errorf("%s_env: environment variable %s is not set or empty", key, env)
		}
		return v, nil
	case path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("%s_file: %w", key, err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("%s_file: %s is empty", key, path)
		}
		return v, nil
	}
	return "", nil
}
