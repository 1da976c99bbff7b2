package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine"
	"github.com/iocmatch/iocmatch/engine/alert"
	"github.com/iocmatch/iocmatch/engine/allowlist"
	"github.com/iocmatch/iocmatch/engine/config"
	"github.com/iocmatch/iocmatch/engine/match"
	"github.com/iocmatch/iocmatch/engine/metrics"
	"github.com/iocmatch/iocmatch/engine/natsembed"
	"github.com/iocmatch/iocmatch/engine/observe"
	"github.com/iocmatch/iocmatch/engine/sink"
	"github.com/iocmatch/iocmatch/engine/stream"
	"github.com/iocmatch/iocmatch/feeds"
	"github.com/iocmatch/iocmatch/feeds/poll"
	"github.com/iocmatch/iocmatch/feeds/refresh"
	"github.com/iocmatch/iocmatch/feeds/store"
	"github.com/iocmatch/iocmatch/feeds/taxii"
)

// runServe runs the engine until SIGINT/SIGTERM (drain, exit 0); SIGHUP
// reloads feeds and allowlists.
func runServe(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	cfgPath := fs.String("config", "", "YAML configuration file (see deploy/iocmatch.example.yml); none: embedded NATS, bundled sample feed, data in ./data")
	dataDir := fs.String("data-dir", "", "override data_dir (indicator store) and, with the embedded server, put its JetStream data under DIR/nats")
	checkOnly := fs.Bool("check-config", false, "validate the configuration (keys, values, referenced files, feeds, allowlists) and exit: 0 when valid, 1 with the error naming the key otherwise")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: iocmatch serve [--config FILE] [--data-dir DIR] [--check-config]\n\nConsumes events from NATS, matches them against the indicator feeds, publishes alerts.\nWith no --config: an embedded NATS server with JetStream and the bundled sample feed.\nSIGHUP reloads feeds and allowlists; SIGTERM/SIGINT drains and exits 0.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	cfg, sample, err := serveConfig(*cfgPath, *dataDir)
	if err != nil {
		return err
	}
	if err := cfg.CheckFiles(); err != nil {
		return err
	}
	if *checkOnly {
		return checkConfig(e, cfg, *cfgPath, sample)
	}
	if *cfgPath != "" && cfg.Log != config.Default().Log {
		// The file's log settings win over the defaults of the global
		// flags (--log-level, --log-format).
		log, err := newLogger(e.stderr, cfg.Log.Level, cfg.Log.Format)
		if err != nil {
			return fmt.Errorf("config %s: log: %w", *cfgPath, err)
		}
		e = &env{stdin: e.stdin, stdout: e.stdout, stderr: e.stderr, log: log}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return serve(ctx, e, cfg, *cfgPath, sample, hup)
}

// checkConfig validates everything serve derives from cfg before it
// touches the network: the log settings, NATS client options (secrets
// read), the engine options, the sinks, the feed sources and the
// allowlists (loaded). It prints one line on success.
func checkConfig(e *env, cfg config.Config, cfgPath string, sample bool) error {
	name := cfgPath
	if name == "" {
		name = "(defaults)"
	}
	if _, err := newLogger(io.Discard, cfg.Log.Level, cfg.Log.Format); err != nil {
		return fmt.Errorf("config %s: log: %w", name, err)
	}
	if _, err := connOptions(cfg); err != nil {
		return err
	}
	if cfg.NATS.URL == "" {
		if _, _, err := cfg.NATS.Embedded.HostPort(); err != nil {
			return err
		}
	}
	if _, err := engineOptions(cfg); err != nil {
		return err
	}
	if cfg.Alerts.Webhook.URL != "" {
		if _, err := sink.WebhookOptionsFromConfig(cfg.Alerts.Webhook); err != nil {
			return err
		}
	}
	srcs, err := feedSources(cfg, sample, zerolog.Nop())
	if err != nil {
		return err
	}
	lists := 0
	if cfg.Allowlist.Enabled {
		al, err := allowlist.Load(allowlist.Options{
			WarninglistsDir: cfg.Allowlist.WarninglistsDir, Include: cfg.Allowlist.Include,
			Exclude: cfg.Allowlist.Exclude, Files: cfg.Allowlist.Files,
		})
		if err != nil {
			return err
		}
		lists = al.Len()
	}
	fmt.Fprintf(e.stdout, "config %s: ok (%s mode, %d feeds, %d allowlists)\n", name, cfg.Stream.Mode, len(srcs), lists)
	return nil
}

// serveConfig loads the configuration: the file at path, or the defaults
// plus the bundled sample feed (sample == true) when path is empty.
func serveConfig(path, dataDir string) (cfg config.Config, sample bool, err error) {
	if path == "" {
		cfg, sample = config.Default(), true
	} else if cfg, err = config.Load(path); err != nil {
		return cfg, false, err
	}
	if dataDir != "" {
		cfg.DataDir = dataDir
		cfg.NATS.Embedded.StoreDir = filepath.Join(dataDir, "nats")
	}
	return cfg, sample, nil
}

// serve runs everything described by cfg (read from cfgPath, "" for the
// defaults) until ctx ends. hup delivers reload requests. It is runServe
// without flags and signals, for tests.
func serve(ctx context.Context, e *env, cfg config.Config, cfgPath string, sample bool, hup <-chan os.Signal) error {
	log := e.log
	start := time.Now()

	// NATS: embedded or external.
	var embedded *natsembed.Server
	conn, err := connOptions(cfg)
	if err != nil {
		return err
	}
	if cfg.NATS.URL == "" {
		embedded, err = startEmbedded(cfg, log.With().Str("component", "nats-server").Logger())
		if err != nil {
			return err
		}
		defer embedded.Shutdown()
		conn.URL = embedded.ClientURL()
	}
	nc, err := stream.Connect(conn, log.With().Str("component", "nats").Logger())
	if err != nil {
		return err
	}
	defer nc.Close()

	// Metrics and the HTTP endpoint.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := metrics.New(reg)
	if err != nil {
		return err
	}

	// The engine.
	opts, err := engineOptions(cfg)
	if err != nil {
		return err
	}
	var (
		webhook   *sink.Webhook
		sightings *sink.Sightings
	)
	if cfg.Alerts.Webhook.URL != "" {
		wo, err := sink.WebhookOptionsFromConfig(cfg.Alerts.Webhook)
		if err != nil {
			return err
		}
		wo.Log, wo.Metrics = log.With().Str("component", "webhook").Logger(), m
		if webhook, err = sink.NewWebhook(wo); err != nil {
			return err
		}
	}
	if cfg.Alerts.Sightings.Enabled {
		if sightings, err = sink.NewSightings(cfg.Alerts.Sightings.Subject, nc.Publish, m); err != nil {
			return err
		}
	}
	deps := engine.Deps{Conn: nc, Log: log.With().Str("component", "engine").Logger(), Metrics: m}
	if webhook != nil || sightings != nil {
		deps.OnAlert = func(p engine.Published) {
			if webhook != nil {
				_ = webhook.Send(p.JSON) // counted by the sink
			}
			if sightings != nil {
				_ = sightings.Publish(p.Alert) // counted by the sink
			}
		}
	}
	eng, err := engine.New(opts, deps)
	if err != nil {
		return err
	}

	// Allowlists.
	loadAllow := func() error {
		if !cfg.Allowlist.Enabled {
			eng.SetAllowlist(nil)
			return nil
		}
		al, err := allowlist.Load(allowlist.Options{
			WarninglistsDir: cfg.Allowlist.WarninglistsDir, Include: cfg.Allowlist.Include,
			Exclude: cfg.Allowlist.Exclude, Files: cfg.Allowlist.Files,
		})
		if err != nil {
			return err
		}
		eng.SetAllowlist(al)
		for _, li := range al.Lists() {
			m.AllowlistEntries.WithLabelValues(li.Name).Set(float64(li.Entries))
		}
		if al.Len() > 0 {
			log.Info().Int("lists", al.Len()).Msg("allowlists loaded")
		}
		return nil
	}
	if err := loadAllow(); err != nil {
		return err
	}

	// Feeds → store → snapshot.
	st, err := store.Open(filepath.Join(cfg.DataDir, "store"), store.Options{Logger: log.With().Str("component", "store").Logger()})
	if err != nil {
		return err
	}
	defer st.Close()
	sources, err := feedSources(cfg, sample, log)
	if err != nil {
		return err
	}
	mgr, err := refresh.New(st, refresh.Options{
		Feeds: sources, Match: match.Options{CIDR: cfg.Match.CIDR, BloomFPRate: cfg.Match.BloomFPRate,
			DisableBloom: !cfg.Match.Bloom, Automaton: cfg.Match.Automaton},
		ExpirySweep: cfg.Match.ExpirySweep, Log: log.With().Str("component", "feeds").Logger(), Metrics: m,
		Apply: eng.SetSnapshot,
	})
	if err != nil {
		return err
	}
	// What the store held from the last run matches at once; the feeds
	// are then refreshed.
	if st.Len() > 0 {
		if err := mgr.Recompile(); err != nil {
			log.Warn().Err(err).Msg("compiling the stored indicators")
		}
	}
	if err := mgr.RefreshAll(ctx); err != nil && mgr.Snapshot() == nil {
		return fmt.Errorf("no indicators could be loaded: %w", err)
	}

	var wg sync.WaitGroup
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer func() { stopBG(); wg.Wait() }()
	wg.Add(1)
	go func() { defer wg.Done(); mgr.Run(bg) }()

	httpAddr := ""
	if cfg.HTTP.Listen != "" {
		ln, err := net.Listen("tcp", cfg.HTTP.Listen)
		if err != nil {
			return fmt.Errorf("http.listen %s: %w", cfg.HTTP.Listen, err)
		}
		httpAddr = ln.Addr().String()
		h := metrics.Handler(reg, eng.Ready, cfg.HTTP.MetricsPath)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := metrics.ServeListener(bg, ln, h); err != nil {
				log.Error().Err(err).Msg("http server")
			}
		}()
	}

	// Reload on SIGHUP.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-bg.Done():
				return
			case <-hup:
				log.Info().Msg("SIGHUP: reloading feeds and allowlists")
				if err := loadAllow(); err != nil {
					log.Error().Err(err).Msg("allowlist reload failed; keeping the previous allowlists")
				}
				mgr.Reload()
			}
		}
	}()

	firstScreen(e.stdout, cfg, cfgPath, nc.ConnectedUrlRedacted(), embedded != nil, sample, mgr.Snapshot(), httpAddr, time.Since(start))

	runErr := eng.Run(ctx)
	stopBG()
	wg.Wait()
	if webhook != nil {
		fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := webhook.Close(fctx); err != nil {
			log.Warn().Err(err).Msg("webhook flush")
		}
		cancel()
	}
	if err := nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		log.Warn().Err(err).Msg("nats drain")
	}
	for nc.IsDraining() {
		time.Sleep(10 * time.Millisecond)
	}
	if runErr != nil {
		return runErr
	}
	log.Info().Msg("stopped")
	return nil
}

// startEmbedded starts the in-process NATS server of cfg.NATS.Embedded,
// requiring the configured user/password or token.
func startEmbedded(cfg config.Config, log zerolog.Logger) (*natsembed.Server, error) {
	host, port, err := cfg.NATS.Embedded.HostPort()
	if err != nil {
		return nil, err
	}
	if port == 0 {
		port = -1 // natsembed: a random port
	}
	pw, err := cfg.NATS.Auth.Password()
	if err != nil {
		return nil, err
	}
	tok, err := cfg.NATS.Auth.Token()
	if err != nil {
		return nil, err
	}
	s, err := natsembed.Start(natsembed.Options{
		Host: host, Port: port, StoreDir: cfg.NATS.Embedded.StoreDir, MaxPayload: int32(min(int64(cfg.NATS.Embedded.MaxPayload), 64<<20)),
		Configure: func(o *server.Options) {
			if cfg.NATS.Auth.User != "" {
				o.Username, o.Password = cfg.NATS.Auth.User, pw
			}
			if tok != "" {
				o.Authorization = tok
			}
		},
	}, log)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS (nats.embedded.listen %s): %w", cfg.NATS.Embedded.Listen, err)
	}
	return s, nil
}

// connOptions translates cfg.NATS into client options (secrets read now).
func connOptions(cfg config.Config) (stream.ConnOptions, error) {
	n := cfg.NATS
	pw, err := n.Auth.Password()
	if err != nil {
		return stream.ConnOptions{}, err
	}
	tok, err := n.Auth.Token()
	if err != nil {
		return stream.ConnOptions{}, err
	}
	return stream.ConnOptions{
		URL: n.URL, Name: n.Name, User: n.Auth.User, Password: pw, Token: tok,
		NKeySeedFile: n.Auth.NKeySeedFile, CredsFile: n.Auth.CredsFile,
		CAFile: n.TLS.CAFile, CertFile: n.TLS.CertFile, KeyFile: n.TLS.KeyFile, InsecureSkipVerify: n.TLS.InsecureSkipVerify,
		ConnectTimeout: n.ConnectTimeout,
	}, nil
}

// topology translates cfg.Stream.
func topology(cfg config.Config) stream.Topology {
	s := cfg.Stream
	return stream.Topology{
		EventsStream: s.EventsStream, EventsSubject: s.EventsSubject, EventsMaxAge: s.EventsMaxAge, EventsMaxBytes: int64(s.EventsMaxBytes),
		AlertsStream: s.AlertsStream, AlertsSubjectPrefix: s.AlertsSubjectPrefix, AlertsMaxAge: s.AlertsMaxAge, DuplicateWindow: s.DuplicateWindow,
		DeadLetterStream: s.DeadLetterStream, DeadLetterSubjectPrefix: s.DeadLetterSubjectPrefix, DeadLetterMaxAge: s.DeadLetterMaxAge,
		Durable: s.Durable, QueueGroup: s.QueueGroup, Replicas: s.Replicas,
	}
}

// engineOptions translates cfg into engine options.
func engineOptions(cfg config.Config) (engine.Options, error) {
	s := cfg.Stream
	mode, err := engine.ParseMode(s.Mode)
	if err != nil {
		return engine.Options{}, err
	}
	df, err := observe.ParseFormat(s.DefaultFormat)
	if err != nil {
		return engine.Options{}, fmt.Errorf("stream.default_format: %w", err)
	}
	ent, err := alert.ParseEntity(cfg.Alerts.Throttle.Entity)
	if err != nil {
		return engine.Options{}, fmt.Errorf("alerts.throttle.entity: %w", err)
	}
	return engine.Options{
		Mode:     mode,
		Topology: topology(cfg),
		Consumer: stream.ConsumerOptions{AckWait: s.AckWait, MaxAckPending: s.MaxAckPending, MaxDeliver: s.MaxDeliver},
		// batch_wait is how long a pull request waits to fill a batch; the
		// events it brings are handed to the workers as they arrive, so it
		// adds no latency (no linger: BatchWait stays 0).
		Fetch:         stream.FetchOptions{BatchSize: s.BatchSize, PullWait: s.BatchWait},
		Workers:       s.EffectiveWorkers(),
		NakDelay:      s.NakDelay,
		DefaultFormat: df,
		Observe:       observe.Options{MaxEventBytes: int(s.MaxEventBytes)},
		Alert:         alert.Options{OmitOriginal: !cfg.Alerts.IncludeOriginal},
		Throttle:      alert.ThrottleOptions{Window: cfg.Alerts.Throttle.Window, Entity: ent, MaxEntries: cfg.Alerts.Throttle.MaxEntries},
		MinConfidence: cfg.Alerts.MinConfidence,
	}, nil
}

// feedSources turns the configured feeds (plus the bundled sample) into
// scheduled feeds.
func feedSources(cfg config.Config, sample bool, log zerolog.Logger) ([]poll.Feed, error) {
	var out []poll.Feed
	if sample {
		out = append(out, refresh.SampleFeed())
	}
	for _, f := range cfg.EnabledFeeds() {
		pass, err := f.Auth.Password()
		if err != nil {
			return nil, fmt.Errorf("feeds %s: %w", f.Name, err)
		}
		tok, err := f.Auth.Token()
		if err != nil {
			return nil, fmt.Errorf("feeds %s: %w", f.Name, err)
		}
		lo := feeds.LoadOptions{Kind: f.ParsedKind(), Confidence: f.Confidence}
		switch f.Type {
		case config.FeedTAXII:
			tc := taxii.Config{URL: f.URL, Version: taxii.Version(f.Version), Timeout: f.Timeout,
				TLS: taxii.TLSFiles{CertFile: f.Auth.CertFile, KeyFile: f.Auth.KeyFile, CAFile: f.Auth.CAFile}}
			if f.Auth.User != "" {
				tc.Auth.Username, tc.Auth.Password = f.Auth.User, taxii.NewSecret(pass)
			}
			if tok != "" {
				tc.Auth.APIKey, tc.Auth.APIKeyScheme = taxii.NewSecret(tok), f.Auth.Scheme
			}
			flog := log.With().Str("feed", f.Name).Logger()
			c, err := taxii.New(tc, flog)
			if err != nil {
				return nil, fmt.Errorf("feeds %s: %w", f.Name, err)
			}
			src := poll.NewTAXIISource(c, poll.TAXIIOptions{APIRoot: f.APIRoot, Collections: f.Collections, Confidence: f.Confidence, Logger: flog})
			out = append(out, poll.Feed{Name: f.Name, Source: src, Interval: f.Interval})
			continue
		case config.FeedFile, config.FeedDir, "":
		default:
			ff, err := feeds.ParseFormat(f.Type)
			if err != nil {
				return nil, fmt.Errorf("feeds %s: type: %w", f.Name, err)
			}
			lo.Format = ff
		}
		if f.URL != "" {
			src, err := poll.NewHTTPSource(poll.HTTPOptions{
				URL: f.URL, Timeout: f.Timeout, Load: lo, User: f.Auth.User, Password: pass, Token: tok, Scheme: f.Auth.Scheme,
				CertFile: f.Auth.CertFile, KeyFile: f.Auth.KeyFile, CAFile: f.Auth.CAFile,
			})
			if err != nil {
				return nil, fmt.Errorf("feeds %s: %w", f.Name, err)
			}
			out = append(out, poll.Feed{Name: f.Name, Source: src, Interval: f.Interval})
			continue
		}
		out = append(out, poll.Feed{Name: f.Name, Source: poll.NewFileSource(f.Path, lo), Interval: f.Interval})
	}
	if len(out) == 0 {
		return nil, errors.New("no feeds configured (feeds: in the config): nothing to match against")
	}
	return out, nil
}

// firstScreen prints what a newcomer needs: where to publish events,
// where alerts appear, and a command to try it.
func firstScreen(w io.Writer, cfg config.Config, cfgPath, url string, embedded, sample bool, snap *match.Snapshot, httpAddr string, took time.Duration) {
	n := 0
	if snap != nil {
		n = snap.Len()
	}
	events := strings.TrimSuffix(strings.TrimSuffix(cfg.Stream.EventsSubject, ">"), "*")
	var b strings.Builder
	fmt.Fprintf(&b, "iocmatch is running (%s mode, ready in %s)\n\n", cfg.Stream.Mode, took.Round(time.Millisecond))
	where := "external NATS"
	if embedded {
		where = "embedded NATS with JetStream, data in " + displayPath(cfg.NATS.Embedded.StoreDir)
	}
	fmt.Fprintf(&b, "  NATS        %s (%s)\n", url, where)
	feedsDesc := fmt.Sprintf("%d indicators", n)
	if sample {
		feedsDesc += " from the bundled sample feed (no --config given)"
	}
	fmt.Fprintf(&b, "  Indicators  %s; store in %s\n", feedsDesc, displayPath(filepath.Join(cfg.DataDir, "store")))
	fmt.Fprintf(&b, "  Events in   %s<format>   format: ecs, zeek, eve, sysmon, raw or auto\n", events)
	fmt.Fprintf(&b, "  Alerts out  %s.<kind>   (stream %s)\n", cfg.Stream.AlertsSubjectPrefix, cfg.Stream.AlertsStream)
	fmt.Fprintf(&b, "  Dead letter %s.<reason>   (stream %s)\n", cfg.Stream.DeadLetterSubjectPrefix, cfg.Stream.DeadLetterStream)
	if httpAddr != "" {
		fmt.Fprintf(&b, "  Metrics     http://%s%s   health: /healthz  /readyz\n", httpAddr, cfg.HTTP.MetricsPath)
	}
	server := ""
	switch {
	case cfgPath != "":
		server = " --config " + cfgPath // credentials, TLS and subjects from the same file
	case !isDefaultListen(url):
		server = " --server " + url
	}
	core := ""
	if cfg.Stream.Mode == "core" {
		core = " --core" // at-most-once: events are not stored, alerts are
	}
	fmt.Fprintf(&b, "\nTry it, in another terminal (from the repository root):\n\n")
	fmt.Fprintf(&b, "  iocmatch publish%s%s testdata/sample/events.jsonl\n", server, core)
	fmt.Fprintf(&b, "  iocmatch alerts%s --follow\n\n", server)
	fmt.Fprintf(&b, "(or with go: go run ./cmd/iocmatch publish ...). Ctrl-C drains and stops; SIGHUP reloads feeds.\n")
	fmt.Fprint(w, b.String())
}

// displayPath shows a relative path as ./path.
func displayPath(p string) string {
	p = filepath.Clean(p)
	if filepath.IsAbs(p) || p == "." || strings.HasPrefix(p, "..") {
		return p
	}
	return "." + string(filepath.Separator) + p
}

func isDefaultListen(url string) bool { return strings.HasSuffix(url, "://127.0.0.1:4222") }

// clientFlags are the NATS connection flags of publish and alerts.
type clientFlags struct {
	config, server, user, passwordEnv, tokenEnv, nkey, creds, ca, cert, key *string
}

func addClientFlags(fs *flag.FlagSet) *clientFlags {
	return &clientFlags{
		config:      fs.String("config", "", "take the NATS connection, subjects and streams from this serve configuration"),
		server:      fs.String("server", envOr("IOCMATCH_NATS_URL", ""), "NATS URL(s), comma-separated (default: the config's nats.url, else the embedded server's listen address nats://127.0.0.1:4222; env IOCMATCH_NATS_URL)"),
		user:        fs.String("user", "", "NATS user"),
		passwordEnv: fs.String("password-env", "", "name of the environment variable holding the NATS password"),
		tokenEnv:    fs.String("token-env", "", "name of the environment variable holding the NATS token"),
		nkey:        fs.String("nkey", "", "NKey seed file"),
		creds:       fs.String("creds", "", ".creds file (JWT + NKey)"),
		ca:          fs.String("tls-ca", "", "CA bundle (PEM) to verify the server"),
		cert:        fs.String("tls-cert", "", "client certificate (PEM) for mutual TLS"),
		key:         fs.String("tls-key", "", "client key (PEM) for mutual TLS"),
	}
}

// clientConf is what publish and alerts need.
type clientConf struct {
	conn         stream.ConnOptions
	top          stream.Topology
	eventsPrefix string // events subject without its wildcard, e.g. "iocmatch.events"
}

func (cf *clientFlags) resolve() (clientConf, error) {
	cfg := config.Default()
	if *cf.config != "" {
		var err error
		if cfg, err = config.Load(*cf.config); err != nil {
			return clientConf{}, err
		}
	}
	conn, err := connOptions(cfg)
	if err != nil {
		return clientConf{}, err
	}
	if conn.URL == "" {
		host, port, err := cfg.NATS.Embedded.HostPort()
		if err != nil {
			return clientConf{}, err
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		conn.URL = "nats://" + net.JoinHostPort(host, strconv.Itoa(port))
	}
	if *cf.server != "" {
		conn.URL = *cf.server
	}
	if *cf.user != "" {
		conn.User = *cf.user
	}
	if *cf.passwordEnv != "" {
		conn.Password = os.Getenv(*cf.passwordEnv)
		if conn.Password == "" {
			return clientConf{}, fmt.Errorf("--password-env: environment variable %s is empty or unset", *cf.passwordEnv)
		}
	}
	if *cf.tokenEnv != "" {
		conn.Token = os.Getenv(*cf.tokenEnv)
		if conn.Token == "" {
			return clientConf{}, fmt.Errorf("--token-env: environment variable %s is empty or unset", *cf.tokenEnv)
		}
	}
	for _, o := range []struct {
		flag string
		dst  *string
	}{{*cf.nkey, &conn.NKeySeedFile}, {*cf.creds, &conn.CredsFile}, {*cf.ca, &conn.CAFile}, {*cf.cert, &conn.CertFile}, {*cf.key, &conn.KeyFile}} {
		if o.flag != "" {
			*o.dst = o.flag
		}
	}
	prefix := strings.TrimSuffix(strings.TrimSuffix(cfg.Stream.EventsSubject, ".>"), ".*")
	return clientConf{conn: conn, top: topology(cfg), eventsPrefix: prefix}, nil
}

func (cc clientConf) connect(e *env) (*nats.Conn, error) {
	if cc.conn.Name == "" {
		cc.conn.Name = "iocmatch-cli"
	}
	nc, err := stream.Connect(cc.conn, e.log)
	if err != nil {
		return nil, fmt.Errorf("%w (is `iocmatch serve` running? use --server or --config to point elsewhere)", err)
	}
	return nc, nil
}
