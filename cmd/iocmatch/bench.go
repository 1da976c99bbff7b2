package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/iocmatch/iocmatch/bench"
	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/feeds"
)

// runBench implements `iocmatch bench`: the whole path (publish → engine
// → alerts) against a raw-NATS baseline in the same run; see package
// bench for the methodology. A failed correctness check exits 1.
func runBench(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("iocmatch bench", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: iocmatch bench [flags]\n\n"+
			"Publishes generated events to NATS, runs the engine on them in this process and receives the alerts,\n"+
			"after a baseline of raw NATS (core pub/sub, or JetStream publish/consume) with the same messages.\n"+
			"Prints events/s, MB/s, alerts/s, event→alert latency percentiles, CPU and peak RSS, the ratio to the\n"+
			"baseline, and a correctness check (exit 1 when alerts differ from the planted hits).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	var cfg bench.Config
	fs.StringVar(&cfg.Mode, "mode", "core", "delivery `MODE`: core or jetstream")
	fs.IntVar(&cfg.Events, "events", 0, "events to publish (default 200000 unless --duration)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "publish for this long instead of --events")
	fs.Float64Var(&cfg.Rate, "rate", 0, "offered load in events/s, open loop (latency at a fixed load); 0: maximum, closed loop")
	fs.IntVar(&cfg.Window, "window", 0, "events in flight at maximum rate (default 8192)")
	fs.IntVar(&cfg.Indicators, "indicators", 10_000, "generated indicators (realistic mix of domains, IPv4/IPv6, CIDRs, URLs, hashes, JA3, compound patterns)")
	from := fs.String("indicators-from", "", "load indicators from `FILE` (STIX, MISP, CSV, lists; see iocmatch match) instead of generating them")
	fs.Float64Var(&cfg.HitRatio, "hit-ratio", 0.01, "fraction of events carrying a planted hit")
	fs.StringVar(&cfg.Format, "format", "ecs", "event `FORMAT`: ecs, zeek, eve, raw or mixed")
	fs.IntVar(&cfg.EventSize, "event-size", 0, "pad events to `BYTES` (default: 300-1500 bytes each)")
	fs.IntVar(&cfg.Publishers, "publishers", 1, "publisher goroutines, one NATS connection each")
	fs.StringVar(&cfg.NATSURL, "nats", "", "external NATS `URL` (default: an embedded server with JetStream in a temporary directory)")
	fs.IntVar(&cfg.Workers, "workers", 0, "engine matching workers (default GOMAXPROCS)")
	fs.IntVar(&cfg.BatchSize, "batch", 0, "engine batch size (default the engine's)")
	seed := fs.Uint64("seed", 1, "workload seed")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the engine phase to `FILE`")
	fs.StringVar(&cfg.MemProfile, "memprofile", "", "write a heap profile after the engine phase to `FILE`")
	asJSON := fs.Bool("json", false, "print the result as JSON instead of the table")
	sweep := fs.Bool("sweep", false, "run the series (indicators 1k→max at maximum rate; offered load 10%→100%) and write JSON and SVG to --out")
	sweepMax := fs.Int("sweep-max-indicators", 1_000_000, "largest indicator count of --sweep (10M needs several GB of RAM)")
	pointDur := fs.Duration("sweep-point", 5*time.Second, "publishing time of each offered-load point of --sweep")
	outDir := fs.String("out", ".", "`DIR` for --sweep results (bench-sweep-<mode>.json, .svg)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "iocmatch bench: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	cfg.Seed = *seed
	if cfg.Events == 0 && cfg.Duration == 0 {
		cfg.Events = 200_000
	}
	if cfg.HitRatio == 0 {
		cfg.HitRatio = -1 // explicit 0: no hits
	}
	cfg.Progress = e.stderr
	if f, ok := e.stderr.(*os.File); !ok || !isTerminal(f) {
		cfg.ProgressLines = true
	}
	cfg.Log = e.log
	if *from != "" {
		inds, err := loadBenchIndicators(*from)
		if err != nil {
			return err
		}
		cfg.IndicatorList = inds
	}

	if *sweep {
		sr, err := bench.Sweep(ctx, bench.SweepConfig{Base: cfg, MaxIndicators: *sweepMax, PointDuration: *pointDur})
		if sr != nil {
			if werr := writeSweep(e, *outDir, sr); werr != nil && err == nil {
				err = werr
			}
		}
		if err != nil {
			return err
		}
		if !sr.Pass() {
			return exitError{code: 1, err: errors.New("correctness check failed in at least one sweep point (see the JSON)")}
		}
		return nil
	}

	r, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			*bench.Result
			Targets []bench.Target `json:"targets"`
		}{r, bench.Targets(r)}); err != nil {
			return err
		}
	} else {
		bench.WriteTable(e.stdout, r)
	}
	if !r.Correct.Pass {
		return exitError{code: 1, err: errors.New("correctness check failed: alerts differ from the planted hits")}
	}
	return nil
}

// loadBenchIndicators loads a feed file and keeps the indicators active
// now, as serve would compile them.
func loadBenchIndicators(path string) ([]*ioc.Indicator, error) {
	inds, _, err := feeds.LoadFile(path, feeds.LoadOptions{})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := inds[:0]
	for _, ind := range inds {
		if ind.ActiveAt(now) {
			out = append(out, ind)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--indicators-from %s: no active indicator", path)
	}
	return out, nil
}

func writeSweep(e *env, dir string, sr *bench.SweepResult) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(dir, "bench-sweep-"+sr.Mode)
	js, err := json.MarshalIndent(sr, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".json", append(js, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(base + ".svg")
	if err != nil {
		return err
	}
	if err := bench.WriteSVG(f, sr); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "sweep (%s): maximum %s ev/s\n", sr.Mode, fmtRate(sr.MaxRate))
	for _, p := range sr.ByIndicators {
		r := p.Result
		fmt.Fprintf(e.stdout, "  %9d indicators: %s ev/s (%.0f%% of raw NATS), peak RSS %d MiB, compile %s, %.0f B/indicator, correctness %v\n",
			p.Indicators, fmtRate(r.Engine.EventsPerSec), r.Ratio*100, r.Engine.PeakRSS>>20, r.CompileTime.Round(time.Millisecond), r.SnapshotHeapPerIndicator, r.Correct.Pass)
	}
	for _, p := range sr.ByLoad {
		r := p.Result
		fmt.Fprintf(e.stdout, "  load %3.0f%% (%s ev/s): p50 %s p99 %s p99.9 %s (raw NATS p99 %s), correctness %v\n",
			p.Load*100, fmtRate(r.Rate), r.Engine.Latency.P50, r.Engine.Latency.P99, r.Engine.Latency.P999, baseP99(r), r.Correct.Pass)
	}
	fmt.Fprintf(e.stdout, "wrote %s.json and %s.svg\n", base, base)
	return nil
}

func baseP99(r *bench.Result) time.Duration {
	if r.Baseline == nil {
		return 0
	}
	return r.Baseline.Latency.P99
}

func fmtRate(r float64) string { return fmt.Sprintf("%.0f", r) }
