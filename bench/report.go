package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Target is one of the performance targets, evaluated on a
// result. Targets are measurements, never pass/fail of the run: only
// correctness fails a run.
type Target struct {
	Name     string  `json:"name"`
	Want     string  `json:"want"`
	Got      string  `json:"got"`
	Met      bool    `json:"met"`
	Measured bool    `json:"measured"` // false: this run cannot measure it (e.g. p99 needs --rate)
	Value    float64 `json:"value,omitempty"`
}

// Targets evaluates the targets that r can speak to.
func Targets(r *Result) []Target {
	var out []Target
	if r.Baseline != nil {
		t := Target{Name: "throughput vs raw " + r.Baseline.Name, Want: "≥ 70%", Measured: r.Rate == 0, Value: r.Ratio}
		t.Got = fmt.Sprintf("%.0f%%", r.Ratio*100)
		t.Met = r.Ratio >= 0.70
		if r.Rate > 0 {
			t.Got += " (at a fixed offered rate: not a maximum)"
		}
		out = append(out, t)
	}
	limit := 2 * time.Millisecond
	if r.Mode == "jetstream" {
		limit = 10 * time.Millisecond
	}
	lt := Target{Name: "p99 event→alert at half the max rate", Want: "≤ " + limit.String(), Measured: r.Rate > 0,
		Got: fmtDur(r.Engine.Latency.P99), Met: r.Engine.Latency.P99 <= limit && r.Engine.Latency.Count > 0, Value: r.Engine.Latency.P99.Seconds()}
	if r.Rate == 0 {
		lt.Got += " (at maximum rate: queueing; use --rate)"
	}
	out = append(out, lt)
	if r.Indicators > 0 {
		b := Target{Name: fmt.Sprintf("snapshot heap per indicator (%s indicators; target at 10M)", si(float64(r.Indicators))), Want: "≤ 100 B",
			Got: fmt.Sprintf("%.0f B", r.SnapshotHeapPerIndicator), Met: r.SnapshotHeapPerIndicator <= 100, Measured: true, Value: r.SnapshotHeapPerIndicator}
		out = append(out, b)
		// Compile time scaled to 1M indicators (linear), measured exactly at 1M.
		per := r.CompileTime.Seconds() / float64(r.Indicators)
		c := Target{Name: "compile 1M indicators", Want: "≤ 3 s", Measured: r.Indicators == 1_000_000, Value: per * 1e6}
		c.Got = fmt.Sprintf("%.2f s", per*1e6)
		if r.Indicators != 1_000_000 {
			c.Got += fmt.Sprintf(" (extrapolated from %s in %s)", si(float64(r.Indicators)), fmtDur(r.CompileTime))
		}
		c.Met = per*1e6 <= 3
		out = append(out, c)
	}
	return out
}

// WriteTable writes the human-readable report.
func WriteTable(w io.Writer, r *Result) {
	fmt.Fprintf(w, "iocmatch bench: mode %s, format %s, %d indicators, hit ratio %g, %d publisher(s), %s, GOMAXPROCS %d, NATS %s\n",
		r.Mode, r.Format, r.Indicators, r.HitRatio, r.Publishers, rateName(r.Rate), r.GOMAXPROCS, map[bool]string{true: "embedded", false: "external"}[r.EmbeddedNATS])
	fmt.Fprintf(w, "events: %d distinct (pool), mean %.0f bytes; compile %s; snapshot heap %.0f B/indicator (indicator values %.0f B/indicator); in-process observe+match %s ev/s on one goroutine\n\n",
		r.PoolSize, r.MeanEventBytes, fmtDur(r.CompileTime), r.SnapshotHeapPerIndicator, r.IndicatorHeapPerIndicator, si(r.OracleEventsPerSec))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tevents\tevents/s\tMB/s\talerts/s\tp50\tp90\tp99\tp99.9\tmax\tCPU s\tpeak RSS\t")
	row := func(p *Phase) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t\n", p.Name, p.Processed, si(p.EventsPerSec), p.MBPerSec,
			si(p.AlertsPerSec), fmtDur(p.Latency.P50), fmtDur(p.Latency.P90), fmtDur(p.Latency.P99), fmtDur(p.Latency.P999),
			fmtDur(p.Latency.Max), p.CPUSeconds, mib(p.PeakRSS))
	}
	if r.Baseline != nil {
		row(r.Baseline)
	}
	row(&r.Engine)
	if r.Baseline != nil {
		b, e := r.Baseline, &r.Engine
		fmt.Fprintf(tw, "engine ÷ baseline\t\t%.0f%%\t%.0f%%\t\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Ratio*100, pct(e.MBPerSec, b.MBPerSec),
			ratio(e.Latency.P50, b.Latency.P50), ratio(e.Latency.P90, b.Latency.P90), ratio(e.Latency.P99, b.Latency.P99),
			ratio(e.Latency.P999, b.Latency.P999), ratio(e.Latency.Max, b.Latency.Max), xf(e.CPUSeconds, b.CPUSeconds), xf(float64(e.PeakRSS), float64(b.PeakRSS)))
	}
	tw.Flush()
	if r.EngineCPUPerEvent > 0 {
		fmt.Fprintf(w, "engine CPU per event (engine phase − baseline phase): %s\n", fmtDur(r.EngineCPUPerEvent))
	}
	proc := "publishers, subscriber, embedded NATS and engine"
	if !r.EmbeddedNATS {
		proc = "publishers, subscriber and engine; the external NATS server is not included"
	}
	fmt.Fprintf(w, "(latency: baseline = publish→receive of every message; engine = publish→alert received, alerting events only. CPU and RSS: the whole process — %s.)\n", proc)

	c := r.Correct
	verdict := "PASS"
	if !c.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\ncorrectness: %s — expected %d alerts, received %d; missing %d, extra %d, duplicate %d, wrong indicator %d, unprocessed events %d, dead letters %d",
		verdict, c.Expected, c.Received, c.Missing, c.Extra, c.Duplicates, c.WrongIndicator, c.Unprocessed, c.DeadLetters)
	if c.Accidental > 0 {
		fmt.Fprintf(w, "; %d background pool events match the file's indicators (expected to alert)", c.Accidental)
	}
	if r.Engine.Naks > 0 {
		fmt.Fprintf(w, "; %d events nak'ed and redelivered (a publish acknowledgement timed out)", r.Engine.Naks)
	}
	if r.Engine.Stalled {
		fmt.Fprintf(w, "; the engine stopped making progress")
		if r.Mode == "core" && c.Unprocessed > 0 {
			fmt.Fprintf(w, " (core NATS is at-most-once: events beyond the engine's pending limit are dropped when it falls behind the offered rate)")
		}
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "\ntargets (measurements, not pass/fail):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range Targets(r) {
		state := "met"
		switch {
		case !t.Measured:
			state = "n/a"
		case !t.Met:
			state = "MISSED"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", t.Name, t.Want, t.Got, state)
	}
	tw.Flush()
	if len(r.IndicatorKinds) > 0 {
		kinds := make([]string, 0, len(r.IndicatorKinds))
		for k, n := range r.IndicatorKinds {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
		sort.Strings(kinds)
		fmt.Fprintf(w, "\nindicators: %s\n", strings.Join(kinds, ", "))
	}
}

func rateName(r float64) string {
	if r == 0 {
		return "maximum rate (closed loop)"
	}
	return fmt.Sprintf("offered %s ev/s (open loop)", si(r))
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < 10*time.Microsecond:
		return fmt.Sprintf("%.1fµs", float64(d)/1e3)
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func mib(b uint64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

func pct(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b * 100
}

func ratio(a, b time.Duration) string {
	if a == 0 || b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f×", float64(a)/float64(b))
}

func xf(a, b float64) string {
	if a == 0 || b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f×", a/b)
}
