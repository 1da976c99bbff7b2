package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/feeds/stix"
	"github.com/iocmatch/iocmatch/feeds/taxii"
)

// runFeeds dispatches the feeds subcommands.
func runFeeds(ctx context.Context, e *env, args []string) error {
	usage := func() {
		fmt.Fprintf(e.stderr, "Usage: iocmatch feeds SUBCOMMAND [flags]\n\nSubcommands:\n"+
			"  pull         pull a TAXII 2.1/2.0 collection, write its indicators as JSON lines\n"+
			"  collections  list a TAXII server's API roots and collections\n\n"+
			"Run 'iocmatch feeds SUBCOMMAND -h' for its flags.\n")
	}
	if len(args) == 0 {
		usage()
		return errUsage
	}
	switch args[0] {
	case "pull":
		return runFeedsPull(ctx, e, args[1:])
	case "collections", "list":
		return runFeedsCollections(ctx, e, args[1:])
	case "-h", "-help", "--help", "help":
		usage()
		return nil
	}
	fmt.Fprintf(e.stderr, "iocmatch feeds: unknown subcommand %q\n", args[0])
	usage()
	return errUsage
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// taxiiFlags are the connection flags shared by the feeds subcommands.
type taxiiFlags struct {
	server, apiRoot, version        string
	user, passwordEnv, passwordFile string
	tokenEnv, tokenFile, authScheme string
	apiKeyHeader                    string
	cert, key, ca                   string
	timeout                         time.Duration
	retries, maxPages               int
	maxBytes                        int64
}

func (f *taxiiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.server, "taxii", "", "TAXII server `URL`: the discovery URL, or the server base (discovery is tried at URL, URL/taxii2/, URL/taxii/)")
	fs.StringVar(&f.apiRoot, "api-root", "", "API root (`URL` or path); default: the server's default root, or its only one")
	fs.StringVar(&f.version, "version", "auto", "TAXII version: 2.1, 2.0 or auto")
	fs.StringVar(&f.user, "user", "", "user name for HTTP Basic authentication")
	fs.StringVar(&f.passwordEnv, "password-env", "", "environment `VAR` holding the Basic password")
	fs.StringVar(&f.passwordFile, "password-file", "", "`file` holding the Basic password")
	fs.StringVar(&f.tokenEnv, "token-env", "", "environment `VAR` holding an API key/token")
	fs.StringVar(&f.tokenFile, "token-file", "", "`file` holding an API key/token")
	fs.StringVar(&f.authScheme, "auth-scheme", "Bearer", "Authorization scheme for the token: Bearer or Token")
	fs.StringVar(&f.apiKeyHeader, "api-key-header", "", "send the token as the raw value of this `header` instead of Authorization")
	fs.StringVar(&f.cert, "cert", "", "client certificate PEM `file` (mutual TLS)")
	fs.StringVar(&f.key, "key", "", "client private key PEM `file` (mutual TLS)")
	fs.StringVar(&f.ca, "ca", "", "CA bundle PEM `file` trusted instead of the system roots")
	fs.DurationVar(&f.timeout, "timeout", taxii.DefaultTimeout, "timeout of one HTTP request, body included")
	fs.IntVar(&f.retries, "retries", taxii.DefaultMaxAttempts-1, "retries of a failed request (429, 5xx, timeouts, connection errors)")
	fs.IntVar(&f.maxPages, "max-pages", taxii.DefaultMaxPages, "maximum pages per collection")
	fs.Int64Var(&f.maxBytes, "max-response-bytes", taxii.DefaultMaxResponseBytes, "maximum size of one response")
}

// client builds the TAXII client; secrets come from env vars or files,
// never from the command line.
func (f *taxiiFlags) client(e *env) (*taxii.Client, error) {
	if f.server == "" {
		return nil, usageErr(e, "--taxii URL is required")
	}
	cfg := taxii.Config{
		URL:              f.server,
		Timeout:          f.timeout,
		MaxPages:         f.maxPages,
		MaxResponseBytes: f.maxBytes,
		Retry:            taxii.RetryPolicy{MaxAttempts: f.retries + 1},
		TLS:              taxii.TLSFiles{CertFile: f.cert, KeyFile: f.key, CAFile: f.ca},
		UserAgent:        "iocmatch",
	}
	switch f.version {
	case "auto", "":
	case "2.1", "2.0":
		cfg.Version = taxii.Version(f.version)
	default:
		return nil, usageErr(e, fmt.Sprintf("--version %q: want 2.1, 2.0 or auto", f.version))
	}
	if f.retries < 0 || f.maxPages <= 0 || f.maxBytes <= 0 || f.timeout <= 0 {
		return nil, usageErr(e, "--retries must be >= 0; --max-pages, --max-response-bytes and --timeout > 0")
	}
	if f.passwordEnv != "" && f.passwordFile != "" || f.tokenEnv != "" && f.tokenFile != "" {
		return nil, usageErr(e, "give a secret either from an environment variable or from a file, not both")
	}
	var err error
	cfg.Auth.Username = f.user
	switch {
	case f.passwordEnv != "":
		cfg.Auth.Password, err = taxii.SecretFromEnv(f.passwordEnv)
	case f.passwordFile != "":
		cfg.Auth.Password, err = taxii.SecretFromFile(f.passwordFile)
	case f.user != "":
		return nil, usageErr(e, "--user needs --password-env or --password-file")
	}
	if err != nil {
		return nil, err
	}
	switch {
	case f.tokenEnv != "":
		cfg.Auth.APIKey, err = taxii.SecretFromEnv(f.tokenEnv)
	case f.tokenFile != "":
		cfg.Auth.APIKey, err = taxii.SecretFromFile(f.tokenFile)
	}
	if err != nil {
		return nil, err
	}
	cfg.Auth.APIKeyScheme = f.authScheme
	cfg.Auth.APIKeyHeader = f.apiKeyHeader
	return taxii.New(cfg, e.log.With().Str("component", "taxii").Logger())
}

// root picks the API root: the flag, else the discovery default, else the
// only root.
func (f *taxiiFlags) root(ctx context.Context, c *taxii.Client) (string, error) {
	if f.apiRoot != "" {
		return f.apiRoot, nil
	}
	d, err := c.Discovery(ctx)
	if err != nil {
		return "", err
	}
	switch {
	case d.Default != "":
		return d.Default, nil
	case len(d.APIRoots) == 1:
		return d.APIRoots[0], nil
	case len(d.APIRoots) == 0:
		return "", fmt.Errorf("discovery %s lists no API roots: give --api-root", d.URL)
	}
	return "", fmt.Errorf("discovery %s lists %d API roots and no default: give --api-root (one of %s)", d.URL, len(d.APIRoots), strings.Join(d.APIRoots, ", "))
}

func usageErr(e *env, msg string) error {
	fmt.Fprintf(e.stderr, "iocmatch feeds: %s\n", msg)
	return errUsage
}

func runFeedsCollections(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("iocmatch feeds collections", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var tf taxiiFlags
	tf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr(e, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	c, err := tf.client(e)
	if err != nil {
		return err
	}
	roots := []string{tf.apiRoot}
	if tf.apiRoot == "" {
		d, err := c.Discovery(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "server %q (TAXII %s) at %s\n", d.Title, d.Version, d.URL)
		roots = d.APIRoots
		if len(roots) == 0 && d.Default != "" {
			roots = []string{d.Default}
		}
	}
	for _, r := range roots {
		cs, err := c.Collections(ctx, r)
		if err != nil {
			fmt.Fprintf(e.stdout, "api root %s: %v\n", r, err)
			continue
		}
		fmt.Fprintf(e.stdout, "api root %s: %d collections\n", r, len(cs))
		for _, col := range cs {
			fmt.Fprintf(e.stdout, "  %s  %q  read=%v write=%v\n", col.ID, col.Title, col.CanRead, col.CanWrite)
		}
	}
	return nil
}

// pullStats are the counters of one collection's pull.
type pullStats struct {
	id, title      string
	objects, pages int
	lastAdded      time.Time
	result         stix.Result
	badObjects     int
	elapsed        time.Duration
}

func runFeedsPull(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("iocmatch feeds pull", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var tf taxiiFlags
	tf.register(fs)
	var collections, types listFlag
	fs.Var(&collections, "collection", "collection `ID` to pull (repeatable, or comma-separated)")
	all := fs.Bool("all", false, "pull every readable collection of the API root")
	addedAfter := fs.String("added-after", "", "only objects added after this RFC 3339 `time` (a previous pull's checkpoint)")
	limit := fs.Int("limit", 1000, "objects per page asked for (0: the server's choice)")
	fs.Var(&types, "type", "only STIX objects of this `type` (match[type]; repeatable). Default: all types, which relationship context needs")
	out := fs.String("out", "-", "output `file` for the indicators as JSON lines (- for stdout); written atomically when the pull succeeds")
	feed := fs.String("feed", "", "feed `name` stamped on the indicators (default: HOST/COLLECTION)")
	confidence := fs.Int("confidence", 0, "confidence (0-100) for indicators that carry none")
	progress := fs.Duration("progress", 5*time.Second, "interval of progress lines on stderr (0: none)")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: iocmatch feeds pull --taxii URL [--api-root R] (--collection ID | --all) [flags]\n\n"+
			"Pulls STIX objects from TAXII collections, converts indicators to the engine model and writes them\n"+
			"as JSON lines (the format 'iocmatch match --indicators' reads). Secrets are read from environment\n"+
			"variables or files, never from flags. A collection that fails fails the pull, and nothing is written;\n"+
			"the summary gives each collection's checkpoint to pass as --added-after next time.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr(e, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	var after time.Time
	if *addedAfter != "" {
		t, err := taxii.ParseTimestamp(*addedAfter)
		if err != nil {
			return usageErr(e, "--added-after: "+err.Error())
		}
		after = t
	}
	if *limit < 0 || *confidence < 0 || *confidence > 100 {
		return usageErr(e, "--limit must be >= 0 and --confidence within 0-100")
	}
	if *all && len(collections) > 0 {
		return usageErr(e, "give --collection or --all, not both")
	}
	c, err := tf.client(e)
	if err != nil {
		return err
	}
	start := time.Now()
	root, err := tf.root(ctx, c)
	if err != nil {
		return err
	}
	if !*all && len(collections) == 0 {
		msg := "give --collection ID or --all"
		if cs, err := c.Collections(ctx, root); err == nil {
			var ids []string
			for _, col := range cs {
				ids = append(ids, fmt.Sprintf("%s (%q)", col.ID, col.Title))
			}
			msg += fmt.Sprintf("; API root %s has %d collections: %s", root, len(cs), strings.Join(ids, ", "))
		}
		return usageErr(e, msg)
	}
	type target struct{ id, title string }
	var targets []target
	if *all {
		cs, err := c.Collections(ctx, root)
		if err != nil {
			return err
		}
		for _, col := range cs {
			if !col.CanRead {
				fmt.Fprintf(e.stderr, "feeds pull: skipping collection %s (%q): not readable\n", col.ID, col.Title)
				continue
			}
			targets = append(targets, target{col.ID, col.Title})
		}
		if len(targets) == 0 {
			return fmt.Errorf("API root %s has no readable collection", root)
		}
	} else {
		for _, id := range collections {
			targets = append(targets, target{id: id})
		}
	}
	host := ""
	if u, err := url.Parse(tf.server); err == nil {
		host = u.Host
	}
	var stats []pullStats
	var inds []*ioc.Indicator
	for _, tg := range targets {
		name := *feed
		if name == "" {
			name = host + "/" + tg.id
		}
		st, err := pullCollection(ctx, e, c, root, tg.id, name, taxii.Filter{AddedAfter: after, Limit: *limit, Types: types}, *confidence, *progress)
		st.title = tg.title
		if err != nil {
			return err
		}
		stats = append(stats, st)
		inds = append(inds, st.result.Indicators...)
	}
	if err := writeIndicators(e, *out, inds); err != nil {
		return err
	}
	printSummary(e.stderr, stats, time.Since(start))
	return nil
}

// pullCollection pulls one collection into a fresh converter.
func pullCollection(ctx context.Context, e *env, c *taxii.Client, root, id, feed string, f taxii.Filter, confidence int, every time.Duration) (pullStats, error) {
	st := pullStats{id: id}
	conv := stix.NewConverter(stix.Options{Feed: feed, Confidence: confidence})
	start := time.Now()
	lastProgress := start
	err := c.Objects(ctx, root, id, f, func(p taxii.Page) error {
		st.pages++
		for _, o := range p.Objects {
			st.objects++
			if err := conv.Add(o); err != nil { // counted in the report
				e.log.Debug().Err(err).Str("collection", id).Int("page", p.Number).Msg("feeds pull: bad STIX object")
			}
		}
		if p.DateAddedLast.After(st.lastAdded) {
			st.lastAdded = p.DateAddedLast
		}
		if every > 0 && time.Since(lastProgress) >= every {
			lastProgress = time.Now()
			fmt.Fprintf(e.stderr, "feeds pull: collection %s: %d objects, %d pages, %s\n", id, st.objects, st.pages, time.Since(start).Round(time.Millisecond))
		}
		return nil
	})
	st.elapsed = time.Since(start)
	if err != nil {
		return st, err
	}
	st.result = conv.Result()
	return st, nil
}

// writeIndicators writes one indicator per line to path ("-": stdout).
// A file is written to a temporary name, synced and renamed, so that a
// failed pull never leaves a truncated indicator file behind.
func writeIndicators(e *env, path string, inds []*ioc.Indicator) error {
	encode := func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, ind := range inds {
			if err := enc.Encode(ind); err != nil {
				return fmt.Errorf("indicator %s: %w", ind.ID, err)
			}
		}
		return nil
	}
	if path == "-" || path == "" {
		return encode(e.stdout)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := encode(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

// printSummary prints per-collection lines, the totals, the patterns that
// were not converted and the checkpoint to pass as --added-after next time.
func printSummary(w io.Writer, stats []pullStats, elapsed time.Duration) {
	var objects, pages, indicators, bad, revoked int
	byKind := map[ioc.Kind]int{}
	var unsupported, correlation []stix.PatternIssue
	for _, st := range stats {
		r := st.result
		objects += st.objects
		pages += st.pages
		indicators += len(r.Indicators)
		bad += len(r.Report.Errors)
		revoked += len(r.Revoked)
		for k, n := range r.Report.ByKind {
			byKind[k] += n
		}
		unsupported = append(unsupported, r.Report.Unsupported...)
		correlation = append(correlation, r.Report.NeedsCorrelation...)
		title := ""
		if st.title != "" {
			title = fmt.Sprintf(" (%q)", st.title)
		}
		fmt.Fprintf(w, "feeds pull: collection %s%s: %d objects in %d pages, %d indicators, %s", st.id, title, st.objects, st.pages, len(r.Indicators), st.elapsed.Round(time.Millisecond))
		if !st.lastAdded.IsZero() {
			fmt.Fprintf(w, "; checkpoint --added-after %s", taxii.FormatTimestamp(st.lastAdded))
		}
		fmt.Fprintln(w)
	}
	kinds := make([]ioc.Kind, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i] < kinds[j] })
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, byKind[k]))
	}
	by := ""
	if len(parts) > 0 {
		by = " (" + strings.Join(parts, ", ") + ")"
	}
	fmt.Fprintf(w, "feeds pull: %d collections, %d objects, %d pages, %d indicators%s, %d unsupported patterns, %d needing correlation, %d bad objects, %d revoked, elapsed %s\n",
		len(stats), objects, pages, indicators, by, len(unsupported), len(correlation), bad, revoked, elapsed.Round(time.Millisecond))
	const maxShown = 10
	for i, u := range append(unsupported, correlation...) {
		if i == maxShown {
			fmt.Fprintf(w, "feeds pull:   ... and %d more\n", len(unsupported)+len(correlation)-maxShown)
			break
		}
		fmt.Fprintf(w, "feeds pull:   not converted: %s (%s): %s\n", u.ID, u.PatternType, u.Reason)
	}
	for _, st := range stats {
		for i, oe := range st.result.Report.Errors {
			if i == maxShown {
				fmt.Fprintf(w, "feeds pull:   ... and %d more bad objects in %s\n", len(st.result.Report.Errors)-maxShown, st.id)
				break
			}
			fmt.Fprintf(w, "feeds pull:   bad object in %s: %v\n", st.id, oe)
		}
	}
}
