// Package bench measures iocmatch end to end: generated events are
// published to NATS, consumed and matched by the engine (package engine,
// in this process), and the alerts are received back; in the same run a
// baseline moves the same messages, as many, through raw NATS (core
// pub→sub, or in JetStream mode JetStream publish→consume with acks), so
// that the engine's figures can be given as ratios to what NATS alone
// does on the same machine.
//
// # Methodology
//
//   - Workload: indicators and events come from bench/gen, seeded. A pool
//     of distinct events (PoolSize, a multiple of Publishers) is generated
//     before anything is timed; event seq is pool[seq % pool] with its
//     sequence number patched in place just before it is published, so
//     publishing costs what a real publisher costs (no generation on the
//     timed path) and every message is unique.
//   - Oracle: before the run every pool event is decoded and matched
//     in-process (engine/observe + engine/match, the engine's own
//     stages). A planted event must match its planted indicator and a
//     background event must match nothing (the generators guarantee it for
//     generated indicators; with indicators from a file an accidental match
//     is counted and the event expected to alert). The oracle's
//     single-goroutine rate is reported as the in-process ceiling.
//   - Correctness: every alert is correlated with its event through the
//     event's sequence number (read from the alert's original event).
//     Alerts received must equal the expected alerting events exactly: a
//     missing, extra or duplicated alert, an alert that does not name the
//     planted indicator, or an event the engine did not process fails the
//     run (Result.Correct.Pass).
//   - Throughput: events / (time from the first publish until the engine
//     has processed the last event and its alert has arrived). At maximum
//     rate the publishers are closed-loop: at most Window events are in
//     flight (published, not yet processed), the same window for the
//     baseline and the engine, so that core NATS (at-most-once) never
//     drops and the two are compared under the same rules. With Rate set
//     the publishers are open-loop at Rate events/s (latency is measured
//     from the scheduled send time, so a stalled publisher does not hide
//     queueing: no coordinated omission).
//   - Latency: event→alert, from the publisher's send time to the alert's
//     arrival at the bench subscriber (the baseline: to the message's
//     arrival). Percentiles are exact over all samples.
//   - CPU and memory: the engine runs in this process (as do the
//     publishers, the alert subscriber and, unless --nats is given, the
//     embedded NATS server), so CPU seconds (getrusage) and peak RSS
//     (/proc/self/status VmHWM, reset per phase via /proc/self/clear_refs)
//     are those of the whole process during each phase; the engine's own
//     CPU is approximately the engine phase's minus the baseline's. Heap
//     per indicator is measured around Compile with runtime.MemStats after
//     a GC.
//
// Run is not safe for concurrent use with another Run in the same
// process (CPU, RSS and heap figures are process-wide).
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/bench/gen"
	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
	"github.com/iocmatch/iocmatch/engine/natsembed"
	"github.com/iocmatch/iocmatch/engine/observe"
)

// Config is one benchmark run. Zero fields take the defaults noted.
type Config struct {
	Mode     string        // "core" (default) or "jetstream"
	Events   int           // events to publish; 0 with Duration 0 means 50,000
	Duration time.Duration // publish for this long instead of a count (Events must be 0)
	Rate     float64       // offered load in events/s, open loop; 0 means maximum (closed loop, Window)
	// Window is the most events in flight at maximum rate; 0 means 8192.
	Window int
	// Indicators is the number of generated indicators; 0 means 10,000.
	// Ignored when IndicatorList is set.
	Indicators    int
	IndicatorList []*ioc.Indicator // indicators to use instead (e.g. loaded from a feed file)
	Mix           gen.Mix          // zero: gen.DefaultMix()
	HitRatio      float64          // fraction of events with a planted hit; negative means 0, 0 means 0.01
	Format        string           // ecs (default), zeek, eve, raw or mixed
	EventSize     int              // 0: 300-1,500 bytes; else padded to this size
	Publishers    int              // publisher goroutines, each with its own connection; 0 means 1
	PoolSize      int              // distinct events; 0 means min(events, 16384)
	Seed          uint64           // 0 means 1
	NATSURL       string           // external NATS; "" starts an embedded server
	// Workers is the engine's matching goroutines; 0 means GOMAXPROCS.
	Workers int
	// BatchSize is the engine's fetch batch; 0 means the engine default.
	BatchSize int
	// SkipBaseline runs only the engine phase.
	SkipBaseline bool
	// StallTimeout fails a phase that makes no progress for this long;
	// 0 means 15 s.
	StallTimeout time.Duration
	// CPUProfile and MemProfile, when set, are files receiving a CPU
	// profile of the engine phase and a heap profile taken after it.
	CPUProfile, MemProfile string
	// Progress receives a progress line per second (nil: none), redrawn
	// in place with a carriage return unless ProgressLines is set.
	Progress io.Writer
	// ProgressLines writes each progress line on a line of its own (for
	// logs and other non-terminals).
	ProgressLines bool
	// Log receives the engine's and the embedded server's logs.
	Log zerolog.Logger
}

func (c *Config) defaults() error {
	switch c.Mode {
	case "":
		c.Mode = "core"
	case "core", "jetstream":
	default:
		return fmt.Errorf("bench: mode %q: want core or jetstream", c.Mode)
	}
	if c.Events < 0 || c.Duration < 0 || c.Rate < 0 || c.Window < 0 || c.Indicators < 0 || c.Publishers < 0 || c.PoolSize < 0 || c.Workers < 0 || c.BatchSize < 0 {
		return errors.New("bench: negative count, duration or rate")
	}
	if c.Events > 0 && c.Duration > 0 {
		return errors.New("bench: give --events or --duration, not both")
	}
	if c.Events == 0 && c.Duration == 0 {
		c.Events = 50_000
	}
	if c.Events >= maxTableSeq {
		return fmt.Errorf("bench: %d events: at most %d", c.Events, maxTableSeq-1)
	}
	if c.Window == 0 {
		c.Window = 8192
	}
	if c.Indicators == 0 {
		c.Indicators = 10_000
	}
	if c.Mix == (gen.Mix{}) {
		c.Mix = gen.DefaultMix()
	}
	switch {
	case c.HitRatio < 0:
		c.HitRatio = 0
	case c.HitRatio == 0:
		c.HitRatio = 0.01
	case c.HitRatio > 1:
		return fmt.Errorf("bench: hit ratio %g above 1", c.HitRatio)
	}
	if c.Format == "" {
		c.Format = "ecs"
	}
	if c.Publishers == 0 {
		c.Publishers = 1
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = 15 * time.Second
	}
	if c.PoolSize == 0 {
		c.PoolSize = 16384
		if c.Events > 0 {
			c.PoolSize = min(c.Events, c.PoolSize)
		}
	}
	// Each pool entry belongs to one publisher (patched in place).
	c.PoolSize = max(c.Publishers, (c.PoolSize+c.Publishers-1)/c.Publishers*c.Publishers)
	return nil
}

// Phase is the measurement of one path (baseline or engine).
type Phase struct {
	Name         string        `json:"name"`
	Published    uint64        `json:"published"`
	Processed    uint64        `json:"processed"` // events received (baseline) or processed by the engine
	Alerts       uint64        `json:"alerts"`
	Bytes        uint64        `json:"bytes"` // event bytes published
	Elapsed      time.Duration `json:"elapsed_ns"`
	EventsPerSec float64       `json:"events_per_sec"`
	MBPerSec     float64       `json:"mb_per_sec"`
	AlertsPerSec float64       `json:"alerts_per_sec"`
	Latency      Latency       `json:"latency"`
	CPUSeconds   float64       `json:"cpu_seconds"`
	PeakRSS      uint64        `json:"peak_rss_bytes"`
	PeakRSSReset bool          `json:"peak_rss_reset"` // false: PeakRSS is the process peak since start
	PublishErrs  uint64        `json:"publish_errors"`
	Naks         uint64        `json:"naks,omitempty"` // engine: events negatively acknowledged (redelivered later)
	Stalled      bool          `json:"stalled"`        // the phase stopped making progress before the end
}

// Correctness is the outcome of the alert check.
type Correctness struct {
	Expected       uint64 `json:"expected"`        // events expected to alert
	Received       uint64 `json:"received"`        // alerts received
	Missing        uint64 `json:"missing"`         // expected events without an alert
	Extra          uint64 `json:"extra"`           // alerts for events not expected to alert (or uncorrelatable)
	Duplicates     uint64 `json:"duplicates"`      // second and later alerts for one event
	WrongIndicator uint64 `json:"wrong_indicator"` // alerts not naming the planted indicator
	Unprocessed    uint64 `json:"unprocessed"`     // events the engine did not process
	DeadLetters    uint64 `json:"dead_letters"`    // events the engine dead-lettered (none is expected)
	Accidental     int    `json:"accidental"`      // background pool events the oracle found matching
	Pass           bool   `json:"pass"`
}

// Result is the outcome of Run.
type Result struct {
	Mode           string         `json:"mode"`
	Format         string         `json:"format"`
	Rate           float64        `json:"offered_rate"` // 0: maximum
	Publishers     int            `json:"publishers"`
	Indicators     int            `json:"indicators"`
	IndicatorKinds map[string]int `json:"indicator_kinds"`
	HitRatio       float64        `json:"hit_ratio"`
	PoolSize       int            `json:"pool_size"`
	MeanEventBytes float64        `json:"mean_event_bytes"`
	GOMAXPROCS     int            `json:"gomaxprocs"`
	EmbeddedNATS   bool           `json:"embedded_nats"`

	CompileTime time.Duration `json:"compile_ns"`
	// SnapshotHeapPerIndicator is the heap the compiled snapshot holds per
	// indicator (the indicators themselves excluded), after a GC.
	SnapshotHeapPerIndicator float64 `json:"snapshot_heap_bytes_per_indicator"`
	// IndicatorHeapPerIndicator is the heap of the *ioc.Indicator values
	// themselves (generated indicators only).
	IndicatorHeapPerIndicator float64 `json:"indicator_heap_bytes_per_indicator,omitempty"`
	SnapshotApproxBytes       int64   `json:"snapshot_approx_bytes"` // match.Stats().ApproxBytes
	// OracleEventsPerSec is observe+match on one goroutine, no NATS.
	OracleEventsPerSec float64 `json:"oracle_events_per_sec"`

	Baseline *Phase  `json:"baseline,omitempty"`
	Engine   Phase   `json:"engine"`
	Ratio    float64 `json:"throughput_ratio"` // engine events/s ÷ baseline events/s
	// EngineCPUPerEvent is (engine phase CPU − baseline phase CPU) ÷
	// events: what the engine adds per event to moving it through NATS
	// (decode, extract, match, alerts, acks). Approximate: both phases
	// run in one process.
	EngineCPUPerEvent time.Duration `json:"engine_cpu_per_event_ns"`
	Correct           Correctness   `json:"correctness"`
}

// workload is the prepared pool and its oracle.
type workload struct {
	cfg     Config
	inds    []*ioc.Indicator
	poolAll []gen.Event // by pool index
	alerts  []bool      // by pool index: expected to alert
	plantID [][]byte    // by pool index: quoted id of the planted indicator, nil if none
	subj    []string    // by pool index: subject
}

// Run runs one benchmark: prepare, baseline, engine, check.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	res := &Result{Mode: cfg.Mode, Format: cfg.Format, Rate: cfg.Rate, Publishers: cfg.Publishers, HitRatio: cfg.HitRatio,
		PoolSize: cfg.PoolSize, GOMAXPROCS: runtime.GOMAXPROCS(0), EmbeddedNATS: cfg.NATSURL == "", IndicatorKinds: map[string]int{}}

	// Indicators and compile, with heap accounting.
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap0 := ms.HeapAlloc
	inds := cfg.IndicatorList
	generated := inds == nil
	if generated {
		var err error
		if inds, err = gen.Indicators(cfg.Indicators, cfg.Seed, cfg.Mix); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap1 := ms.HeapAlloc
	t0 := time.Now()
	snap, err := match.Compile(inds, match.Options{})
	if err != nil {
		return nil, fmt.Errorf("bench: compile %d indicators: %w", len(inds), err)
	}
	res.CompileTime = time.Since(t0)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	res.Indicators = len(inds)
	if n := float64(len(inds)); n > 0 {
		res.SnapshotHeapPerIndicator = float64(int64(ms.HeapAlloc)-int64(heap1)) / n
		if generated {
			res.IndicatorHeapPerIndicator = float64(int64(heap1)-int64(heap0)) / n
		}
	}
	st := snap.Stats()
	res.SnapshotApproxBytes = st.ApproxBytes
	for k, n := range st.ByKind {
		res.IndicatorKinds[k.String()] = n
	}

	w, err := prepare(cfg, inds, snap, res)
	if err != nil {
		return nil, err
	}

	// NATS.
	url := cfg.NATSURL
	if url == "" {
		dir, err := os.MkdirTemp("", "iocmatch-bench-")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(dir)
		ns, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: dir, ServerName: "iocmatch-bench"}, cfg.Log.Level(zerolog.WarnLevel))
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer ns.Shutdown()
		url = ns.ClientURL()
	}

	if !cfg.SkipBaseline {
		b, err := runBaseline(ctx, w, url)
		if err != nil {
			return nil, err
		}
		res.Baseline = b
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	var stopProf func()
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return nil, fmt.Errorf("bench: cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("bench: cpu profile %s: %w", cfg.CPUProfile, err)
		}
		stopProf = func() { pprof.StopCPUProfile(); f.Close() }
	}
	ep, corr, err := runEngine(ctx, w, url, snap)
	if stopProf != nil {
		stopProf()
	}
	if err != nil {
		return nil, err
	}
	if cfg.MemProfile != "" {
		if err := writeHeapProfile(cfg.MemProfile); err != nil {
			return nil, err
		}
	}
	res.Engine = *ep
	corr.Accidental = res.Correct.Accidental
	res.Correct = corr
	if res.Baseline != nil && res.Baseline.EventsPerSec > 0 {
		res.Ratio = res.Engine.EventsPerSec / res.Baseline.EventsPerSec
		if res.Engine.Processed > 0 {
			res.EngineCPUPerEvent = time.Duration((res.Engine.CPUSeconds - res.Baseline.CPUSeconds) / float64(res.Engine.Processed) * 1e9)
		}
	}
	runtime.KeepAlive(snap)
	return res, nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: heap profile: %w", err)
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("bench: heap profile %s: %w", path, err)
	}
	return f.Close()
}

// prepare generates the pool and runs the oracle over it.
func prepare(cfg Config, inds []*ioc.Indicator, snap *match.Snapshot, res *Result) (*workload, error) {
	g, err := gen.NewEvents(inds, gen.EventOptions{Format: cfg.Format, Size: cfg.EventSize, HitRatio: cfg.HitRatio, Seed: cfg.Seed})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	w := &workload{cfg: cfg, inds: inds, poolAll: make([]gen.Event, cfg.PoolSize),
		alerts: make([]bool, cfg.PoolSize), plantID: make([][]byte, cfg.PoolSize), subj: make([]string, cfg.PoolSize)}
	// Generate in parallel: events are a pure function of their number.
	par := runtime.GOMAXPROCS(0)
	done := make(chan struct{}, par)
	for p := range par {
		go func() {
			for i := p; i < cfg.PoolSize; i += par {
				w.poolAll[i] = g.Event(uint64(i))
			}
			done <- struct{}{}
		}()
	}
	for range par {
		<-done
	}
	obs, err := observe.New(observe.Options{})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	var r observe.Result
	var hits []match.Hit
	var total int
	t0 := time.Now()
	for i := range w.poolAll {
		ev := &w.poolAll[i]
		total += len(ev.Data)
		w.subj[i] = "iocbench.events." + ev.Format
		f, _ := observe.ParseFormat(ev.Format)
		if err := obs.Observe(ev.Data, f, &r); err != nil {
			return nil, fmt.Errorf("bench: generated event %d (%s) does not decode: %w", i, ev.Format, err)
		}
		hits = snap.Match(r.Observables, hits[:0])
		if ev.Planted >= 0 {
			p := inds[ev.Planted]
			found := false
			for _, h := range hits {
				found = found || h.Indicator == p
			}
			if !found {
				return nil, fmt.Errorf("bench: generated event %d (%s) does not match its planted indicator %s (%s %q)", i, ev.Format, p.ID, p.Kind, p.Value)
			}
			w.plantID[i] = []byte(`"` + p.ID + `"`)
		} else if len(hits) > 0 {
			res.Correct.Accidental++
		}
		w.alerts[i] = len(hits) > 0
	}
	if el := time.Since(t0); el > 0 {
		res.OracleEventsPerSec = float64(len(w.poolAll)) / el.Seconds()
	}
	res.MeanEventBytes = float64(total) / float64(len(w.poolAll))
	if generated := cfg.IndicatorList == nil; generated && res.Correct.Accidental > 0 {
		return nil, fmt.Errorf("bench: %d generated background events match generated indicators (generator bug)", res.Correct.Accidental)
	}
	return w, nil
}

// connect opens a bench connection (no reconnect surprises: a lost
// connection fails the phase).
func connect(url, name string) (*nats.Conn, error) {
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectBufSize(64<<20))
	if err != nil {
		return nil, fmt.Errorf("bench: connect %s: %w", url, err)
	}
	return nc, nil
}
