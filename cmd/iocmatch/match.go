package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/iocmatch/iocmatch/engine/alert"
	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
	"github.com/iocmatch/iocmatch/engine/observe"
	"github.com/iocmatch/iocmatch/feeds"
)

const matchUsage = `Usage: iocmatch match --indicators FILE [--indicators FILE...] [flags] [EVENTS_FILE|-]

Matches a file of events (JSON lines or raw text lines, gzip detected by its
magic bytes; "-" or no argument reads standard input) against indicator files
(engine JSON lines, CSV kind,value[,description], plain lists, STIX 2.x
bundles, MISP events; a directory loads every file in it). Writes one ECS
alert per matched event to standard output as JSON lines, and a summary to
standard error. Malformed events are counted and reported on standard error
(by line number) and never stop the run.

Exit status: 0 on success, 1 on error, 2 on usage errors.

Flags:
`

// matchMaxReported is the default number of bad events reported one by
// one on stderr before only counting them.
const matchMaxReported = 20

// matchFiles collects a repeated file flag.
type matchFiles []string

func (m *matchFiles) String() string { return strings.Join(*m, ",") }
func (m *matchFiles) Set(v string) error {
	if v == "" {
		return errors.New("empty path")
	}
	*m = append(*m, v)
	return nil
}

// matchConfig is the parsed command line of iocmatch match.
type matchConfig struct {
	indicators  matchFiles
	profiles    matchFiles
	kind        ioc.Kind
	feed        string
	format      observe.Format
	cidr        string
	bloom       bool   // Bloom pre-filters (match.Options.DisableBloom = !bloom)
	automaton   string // match.Options.Automaton
	maxReported int
	now         time.Time
	events      string // path, or "-" for stdin
}

func parseMatchFlags(e *env, args []string) (matchConfig, error) {
	var c matchConfig
	fs := flag.NewFlagSet("iocmatch match", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprint(e.stderr, matchUsage)
		fs.PrintDefaults()
	}
	fs.Var(&c.indicators, "indicators", "indicator `FILE` or directory (repeatable; at least one)")
	kind := fs.String("kind", "", "indicator `KIND` of every value of plain one-value-per-line lists (ipv4, domain, sha256, ...); default: inferred per value")
	fs.StringVar(&c.feed, "feed", "", "feed `NAME` stamped on the indicators (default: each file's base name)")
	format := fs.String("format", "auto", "event `FORMAT`: auto, ecs, zeek, eve, sysmon or raw")
	fs.StringVar(&c.cidr, "cidr", match.CIDRBart, "CIDR table: bart or cidranger")
	fs.BoolVar(&c.bloom, "bloom", true, "Bloom pre-filters in front of the exact sets (--bloom=false: plain map lookups; same results)")
	fs.StringVar(&c.automaton, "automaton", match.AutomatonCompact, "Aho-Corasick implementation for substring indicators: compact or cloudflare")
	fs.Var(&c.profiles, "profile", "extra field profile `FILE` (YAML or JSON, see engine/observe; repeatable)")
	fs.IntVar(&c.maxReported, "max-errors", matchMaxReported, "bad events reported one by one on stderr before only counting them")
	now := fs.String("now", "", "processing `TIME` (RFC 3339) stamped on alerts and used for indicator validity (default: the current time); for reproducible output")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, errUsage // the flag package printed the error and the usage
	}
	bad := func(format string, a ...any) (matchConfig, error) {
		fmt.Fprintf(e.stderr, "iocmatch match: "+format+"\n", a...)
		fs.Usage()
		return c, errUsage
	}
	if len(c.indicators) == 0 {
		return bad("--indicators is required")
	}
	if *kind != "" {
		k, err := ioc.ParseKind(*kind)
		if err != nil {
			return bad("--kind: %v", err)
		}
		if !k.IsAtomic() {
			return bad("--kind %q: not an atomic indicator kind", *kind)
		}
		c.kind = k
	}
	f, err := observe.ParseFormat(*format)
	if err != nil {
		return bad("--format: %v", err)
	}
	c.format = f
	if c.cidr != match.CIDRBart && c.cidr != match.CIDRCIDRanger {
		return bad("--cidr %q: want %s or %s", c.cidr, match.CIDRBart, match.CIDRCIDRanger)
	}
	if c.automaton != match.AutomatonCompact && c.automaton != match.AutomatonCloudflare {
		return bad("--automaton %q: want %s or %s", c.automaton, match.AutomatonCompact, match.AutomatonCloudflare)
	}
	if c.maxReported < 0 {
		return bad("--max-errors %d: must not be negative", c.maxReported)
	}
	if *now != "" {
		t, err := time.Parse(time.RFC3339Nano, *now)
		if err != nil {
			return bad("--now %q: want an RFC 3339 time such as 2026-01-01T00:00:00Z", *now)
		}
		c.now = t
	}
	switch fs.NArg() {
	case 0:
		c.events = "-"
	case 1:
		c.events = fs.Arg(0)
	default:
		return bad("want at most one events file, got %d", fs.NArg())
	}
	return c, nil
}

// matchStats are the counters of one run, printed as the summary.
type matchStats struct {
	lines        int // non-blank lines read
	decodeErrors int
	matched      int // events with at least one hit
	alerts       int
	hits         int
}

// runMatch implements `iocmatch match`.
func runMatch(ctx context.Context, e *env, args []string) error {
	c, err := parseMatchFlags(e, args)
	if err != nil {
		return err
	}
	clock := time.Now
	if !c.now.IsZero() {
		clock = func() time.Time { return c.now }
	}

	t0 := time.Now()
	inds, err := matchLoadIndicators(e, c, clock)
	if err != nil {
		return err
	}
	snap, err := match.Compile(inds, match.Options{CIDR: c.cidr, DisableBloom: !c.bloom, Automaton: c.automaton})
	if err != nil {
		return fmt.Errorf("compile indicators: %w", err)
	}
	fmt.Fprintf(e.stderr, "indicators: %d compiled in %s (%s CIDR table)\n",
		snap.Len(), time.Since(t0).Round(time.Microsecond), c.cidr)

	opts := observe.Options{}
	for _, p := range c.profiles {
		prof, err := matchLoadProfile(p)
		if err != nil {
			return err
		}
		opts.Profiles = append(opts.Profiles, prof)
	}
	obs, err := observe.New(opts)
	if err != nil {
		return fmt.Errorf("observe: %w", err)
	}

	in, name, closeIn, err := matchOpenEvents(c.events, e.stdin)
	if err != nil {
		return err
	}
	defer closeIn()

	out := bufio.NewWriterSize(e.stdout, 64<<10)
	start := time.Now()
	st, runErr := matchEvents(ctx, e, c, in, name, obs, snap, alert.NewBuilder(alert.Options{}), clock, out)
	if err := out.Flush(); err != nil && runErr == nil {
		runErr = fmt.Errorf("write alerts: %w", err)
	}
	elapsed := time.Since(start)
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(st.lines) / s
	}
	fmt.Fprintf(e.stderr, "events: %d read, %d decode error(s), %d matched, %d alert(s) written (%d hit(s)) in %s: %.0f events/s\n",
		st.lines, st.decodeErrors, st.matched, st.alerts, st.hits, elapsed.Round(time.Microsecond), rate)
	return runErr
}

// matchLoadIndicators loads every --indicators file or directory and
// keeps the indicators active at the clock's time.
func matchLoadIndicators(e *env, c matchConfig, clock func() time.Time) ([]*ioc.Indicator, error) {
	lo := feeds.LoadOptions{Feed: c.feed, Kind: c.kind, Now: clock}
	var all []*ioc.Indicator
	for _, path := range c.indicators {
		st, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("indicators: %w", err)
		}
		var inds []*ioc.Indicator
		var rep feeds.LoadReport
		if st.IsDir() {
			inds, rep, err = feeds.LoadDir(path, lo)
		} else {
			inds, rep, err = feeds.LoadFile(path, lo)
		}
		if err != nil {
			return nil, fmt.Errorf("indicators %s: %w", path, err)
		}
		fmt.Fprintf(e.stderr, "indicators: %s: %s\n", path, rep)
		for i, s := range rep.Skipped {
			if i == c.maxReported {
				fmt.Fprintf(e.stderr, "indicators: %s: ... %d more skipped\n", path, rep.SkippedCount-i)
				break
			}
			fmt.Fprintf(e.stderr, "indicators: skipped %s: %s\n", s.Where, s.Reason)
		}
		for i, p := range append(append([]feeds.PatternIssue(nil), rep.Unsupported...), rep.NeedsCorrelation...) {
			if i == c.maxReported {
				fmt.Fprintf(e.stderr, "indicators: %s: ... more patterns not matched\n", path)
				break
			}
			fmt.Fprintf(e.stderr, "indicators: not matched: %s %s (%s): %s\n", p.ID, p.PatternType, p.Reason, p.Pattern)
		}
		all = append(all, inds...)
	}
	now := clock()
	active := all[:0]
	for _, ind := range all {
		if ind.ActiveAt(now) {
			active = append(active, ind)
		}
	}
	if n := len(all) - len(active); n > 0 {
		fmt.Fprintf(e.stderr, "indicators: %d not yet valid at %s, left out\n", n, now.UTC().Format(time.RFC3339))
	}
	if len(active) == 0 {
		return nil, errors.New("indicators: no active indicator loaded: nothing to match")
	}
	return active, nil
}

func matchLoadProfile(path string) (observe.Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return observe.Profile{}, fmt.Errorf("profile: %w", err)
	}
	defer f.Close()
	p, err := observe.LoadProfile(f)
	if err != nil {
		return observe.Profile{}, fmt.Errorf("profile %s: %w", path, err)
	}
	return p, nil
}

// matchOpenEvents opens the events input ("-": stdin), transparently
// decompressing gzip (detected by its magic bytes). It returns the
// reader, the name used in messages and alerts, and a close function.
func matchOpenEvents(path string, stdin io.Reader) (*bufio.Reader, string, func(), error) {
	var r io.Reader = stdin
	name := "stdin"
	closeFn := func() {}
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, "", nil, fmt.Errorf("events: %w", err)
		}
		r, name, closeFn = f, path, func() { f.Close() }
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			closeFn()
			return nil, "", nil, fmt.Errorf("events %s: gzip: %w", name, err)
		}
		inner := closeFn
		closeFn = func() { zr.Close(); inner() }
		br = bufio.NewReaderSize(gzipErrReader{zr}, 64<<10)
	}
	return br, name, closeFn, nil
}

// gzipErrReader marks the errors of a gzip stream (a truncated or corrupt
// file) as gzip errors, so the message says why reading stopped.
type gzipErrReader struct{ r io.Reader }

func (g gzipErrReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("gzip: %w", err)
	}
	return n, err
}

// matchReadLine reads one line (without its line ending) of at most max
// bytes; a longer line is consumed whole and reported with tooLong (its
// first max bytes are returned). io.EOF only when nothing was read.
func matchReadLine(r *bufio.Reader, buf []byte, max int) (line []byte, tooLong bool, err error) {
	buf = buf[:0]
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) <= max+2 { // +2: room for "\r\n"
			buf = append(buf, chunk...)
		} else if !tooLong {
			tooLong = true
			buf = append(buf, chunk[:max+2-len(buf)]...)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if len(buf) == 0 && !tooLong {
				return nil, false, io.EOF
			}
			return matchTrimEOL(buf, tooLong, max), tooLong, nil
		case err != nil:
			return nil, false, err
		}
		return matchTrimEOL(buf, tooLong, max), tooLong, nil
	}
}

func matchTrimEOL(b []byte, tooLong bool, max int) []byte {
	if tooLong {
		return b[:max]
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// matchEvents runs every event line through observe, match and alert.
func matchEvents(ctx context.Context, e *env, c matchConfig, in *bufio.Reader, name string,
	obs *observe.Observer, snap *match.Snapshot, b *alert.Builder, clock func() time.Time, out *bufio.Writer) (matchStats, error) {
	var (
		st       matchStats
		res      observe.Result
		hits     []match.Hit
		buf      = make([]byte, 0, 64<<10)
		line     []byte
		tooLong  bool
		err      error
		reported int
		lineNo   int
		doc      []byte
	)
	maxBytes := observe.DefaultMaxEventBytes
	bad := func(reason string) {
		st.decodeErrors++
		if reported < c.maxReported {
			fmt.Fprintf(e.stderr, "event %s:%d: %s\n", name, lineNo, reason)
		}
		reported++
	}
	for {
		if lineNo%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		line, tooLong, err = matchReadLine(in, buf, maxBytes)
		buf = line[:0]
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, fmt.Errorf("events %s: line %d: %w", name, lineNo+1, err)
		}
		lineNo++
		if len(bytes.TrimSpace(line)) == 0 && !tooLong {
			continue
		}
		st.lines++
		if tooLong {
			bad(fmt.Sprintf("too_large: line longer than %d bytes", maxBytes))
			continue
		}
		if err := obs.Observe(line, c.format, &res); err != nil {
			bad(err.Error())
			continue
		}
		hits = snap.Match(res.Observables, hits[:0])
		if len(hits) == 0 {
			continue
		}
		st.matched++
		st.hits += len(hits)
		a, err := b.Build(alert.Input{
			Event:       line,
			Format:      res.Format.String(),
			EventID:     res.EventID,
			Timestamp:   res.Timestamp,
			Observables: res.Observables,
			Hits:        hits,
			Source:      name,
			Now:         clock(),
		})
		if err != nil {
			return st, fmt.Errorf("events %s: line %d: %w", name, lineNo, err)
		}
		doc = a.AppendJSON(doc[:0])
		doc = append(doc, '\n')
		if _, err := out.Write(doc); err != nil {
			return st, fmt.Errorf("write alerts: %w", err)
		}
		st.alerts++
	}
	if reported > c.maxReported {
		fmt.Fprintf(e.stderr, "event %s: %d more bad event(s) not shown\n", name, reported-c.maxReported)
	}
	return st, nil
}
