package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// SweepConfig configures Sweep.
type SweepConfig struct {
	// Base is the configuration every point starts from (mode, format,
	// events, hit ratio, publishers, NATS...).
	Base Config
	// Indicators are the indicator counts of the first series (maximum
	// rate); nil means 1k, 10k, 100k, 1M, 10M capped by MaxIndicators.
	Indicators []int
	// MaxIndicators caps the default series; 0 means 1,000,000 (10M needs
	// several GB and minutes on a 2-core machine).
	MaxIndicators int
	// Loads are the offered loads of the second series, as fractions of
	// the maximum rate measured at Base.Indicators; nil means 0.1, 0.25,
	// 0.5, 0.75, 1.0.
	Loads []float64
	// PointDuration is how long each load point publishes; 0 means 5 s.
	PointDuration time.Duration
}

// SweepPoint is one run of a sweep.
type SweepPoint struct {
	Indicators int     `json:"indicators"`
	Load       float64 `json:"load,omitempty"` // fraction of the maximum rate; 0: maximum
	Result     *Result `json:"result"`
}

// SweepResult is the outcome of Sweep.
type SweepResult struct {
	Mode         string       `json:"mode"`
	ByIndicators []SweepPoint `json:"by_indicators"`
	MaxRate      float64      `json:"max_rate"` // engine events/s at Base.Indicators, maximum rate
	ByLoad       []SweepPoint `json:"by_load"`
}

// Pass reports whether every point passed the correctness check.
func (s *SweepResult) Pass() bool {
	for _, p := range append(append([]SweepPoint{}, s.ByIndicators...), s.ByLoad...) {
		if !p.Result.Correct.Pass {
			return false
		}
	}
	return true
}

// Sweep runs the indicator series at maximum rate, then the offered-load
// series at Base.Indicators (each point of the load series runs its own
// baseline at the same offered rate).
func Sweep(ctx context.Context, sc SweepConfig) (*SweepResult, error) {
	base := sc.Base
	if err := base.defaults(); err != nil {
		return nil, err
	}
	counts := sc.Indicators
	if counts == nil {
		maxN := sc.MaxIndicators
		if maxN == 0 {
			maxN = 1_000_000
		}
		for _, n := range []int{1_000, 10_000, 100_000, 1_000_000, 10_000_000} {
			if n <= maxN {
				counts = append(counts, n)
			}
		}
	}
	loads := sc.Loads
	if loads == nil {
		loads = []float64{0.1, 0.25, 0.5, 0.75, 1.0}
	}
	pd := sc.PointDuration
	if pd == 0 {
		pd = 5 * time.Second
	}
	out := &SweepResult{Mode: base.Mode}
	say := func(format string, args ...any) {
		if base.Progress != nil {
			fmt.Fprintf(base.Progress, format+"\n", args...)
		}
	}
	for _, n := range counts {
		cfg := sc.Base
		cfg.Indicators, cfg.IndicatorList, cfg.Rate = n, nil, 0
		say("sweep: %s indicators at maximum rate", si(float64(n)))
		r, err := Run(ctx, cfg)
		if err != nil {
			return out, fmt.Errorf("bench: sweep at %d indicators: %w", n, err)
		}
		out.ByIndicators = append(out.ByIndicators, SweepPoint{Indicators: n, Result: r})
		if n == base.Indicators {
			out.MaxRate = r.Engine.EventsPerSec
		}
	}
	if out.MaxRate == 0 {
		cfg := sc.Base
		cfg.Rate = 0
		say("sweep: maximum rate at %s indicators", si(float64(base.Indicators)))
		r, err := Run(ctx, cfg)
		if err != nil {
			return out, fmt.Errorf("bench: sweep maximum rate: %w", err)
		}
		out.MaxRate = r.Engine.EventsPerSec
	}
	for _, l := range loads {
		cfg := sc.Base
		cfg.Rate = l * out.MaxRate
		cfg.Events = max(1000, int(cfg.Rate*pd.Seconds()))
		cfg.Duration = 0
		say("sweep: offered load %.0f%% (%s ev/s)", l*100, si(cfg.Rate))
		r, err := Run(ctx, cfg)
		if err != nil {
			return out, fmt.Errorf("bench: sweep at load %.0f%%: %w", l*100, err)
		}
		out.ByLoad = append(out.ByLoad, SweepPoint{Indicators: r.Indicators, Load: l, Result: r})
	}
	return out, nil
}

// ---- SVG ------------------------------------------------------------------

type series struct {
	name  string
	color string
	pts   [][2]float64
	dash  bool
}

type chart struct {
	title, xlabel, ylabel string
	logX, logY            bool
	series                []series
	x0, y0, w, h          float64 // plot area in the SVG
}

// WriteSVG writes the sweep as an SVG document: throughput and peak RSS
// versus indicator count (left) and latency versus offered load (right).
func WriteSVG(w io.Writer, s *SweepResult) error {
	var sb strings.Builder
	const W, H = 1000.0, 420.0
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	sb.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")

	var thr, base, rss series
	thr = series{name: "iocmatch events/s", color: "#1f77b4"}
	base = series{name: "raw NATS events/s", color: "#7f7f7f", dash: true}
	rss = series{name: "peak RSS MiB (right axis)", color: "#d62728"}
	for _, p := range s.ByIndicators {
		x := float64(p.Indicators)
		thr.pts = append(thr.pts, [2]float64{x, p.Result.Engine.EventsPerSec})
		if p.Result.Baseline != nil {
			base.pts = append(base.pts, [2]float64{x, p.Result.Baseline.EventsPerSec})
		}
		rss.pts = append(rss.pts, [2]float64{x, float64(p.Result.Engine.PeakRSS) / (1 << 20)})
	}
	left := chart{title: fmt.Sprintf("Throughput and memory vs indicators (%s, max rate)", s.Mode), xlabel: "indicators", ylabel: "events/s",
		logX: true, series: []series{thr, base}, x0: 70, y0: 40, w: 380, h: 300}
	left.draw(&sb, rss)

	var p50, p99, bp99 series
	p50 = series{name: "iocmatch p50", color: "#2ca02c"}
	p99 = series{name: "iocmatch p99", color: "#1f77b4"}
	bp99 = series{name: "raw NATS p99", color: "#7f7f7f", dash: true}
	for _, p := range s.ByLoad {
		x := p.Load * 100
		p50.pts = append(p50.pts, [2]float64{x, float64(p.Result.Engine.Latency.P50) / 1e6})
		p99.pts = append(p99.pts, [2]float64{x, float64(p.Result.Engine.Latency.P99) / 1e6})
		if p.Result.Baseline != nil {
			bp99.pts = append(bp99.pts, [2]float64{x, float64(p.Result.Baseline.Latency.P99) / 1e6})
		}
	}
	right := chart{title: fmt.Sprintf("Event→alert latency vs offered load (max %s ev/s)", si(s.MaxRate)), xlabel: "offered load, % of maximum",
		ylabel: "ms (log scale)", logY: true, series: []series{p50, p99, bp99}, x0: 570, y0: 40, w: 380, h: 300}
	right.draw(&sb, series{})
	sb.WriteString("</svg>\n")
	_, err := io.WriteString(w, sb.String())
	return err
}

func (c *chart) draw(sb *strings.Builder, secondary series) {
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymax := 0.0
	for _, s := range c.series {
		for _, p := range s.pts {
			xmin, xmax = math.Min(xmin, p[0]), math.Max(xmax, p[0])
			ymax = math.Max(ymax, p[1])
		}
	}
	if math.IsInf(xmin, 0) {
		xmin, xmax = 0, 1
	}
	if xmax == xmin {
		xmax = xmin + 1
	}
	if c.logX && xmin <= 0 {
		xmin = 1
	}
	if !c.logX {
		xmin = 0
	}
	ymax = niceCeil(ymax)
	ymin := 0.0
	if c.logY {
		ymin = math.Inf(1)
		for _, s := range c.series {
			for _, p := range s.pts {
				if p[1] > 0 {
					ymin = math.Min(ymin, p[1])
				}
			}
		}
		if math.IsInf(ymin, 0) {
			ymin = 0.1
		}
		ymin = math.Pow(10, math.Floor(math.Log10(ymin)))
		ymax = math.Pow(10, math.Ceil(math.Log10(ymax)))
		if ymax <= ymin {
			ymax = ymin * 10
		}
	}
	fx := func(x float64) float64 {
		if c.logX {
			return c.x0 + (math.Log10(x)-math.Log10(xmin))/(math.Log10(xmax)-math.Log10(xmin))*c.w
		}
		return c.x0 + (x-xmin)/(xmax-xmin)*c.w
	}
	fy := func(y, top float64) float64 {
		if c.logY && top == ymax {
			y = math.Max(y, ymin)
			return c.y0 + c.h - (math.Log10(y)-math.Log10(ymin))/(math.Log10(ymax)-math.Log10(ymin))*c.h
		}
		return c.y0 + c.h - y/top*c.h
	}
	fmt.Fprintf(sb, `<text x="%.0f" y="%.0f" font-size="13" font-weight="bold">%s</text>`+"\n", c.x0, c.y0-15, esc(c.title))
	fmt.Fprintf(sb, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#333"/>`+"\n", c.x0, c.y0, c.w, c.h)
	var yticks []float64
	if c.logY {
		for y := ymin; y <= ymax*1.0001; y *= 10 {
			yticks = append(yticks, y)
		}
	} else {
		for i := 0; i <= 5; i++ {
			yticks = append(yticks, ymax*float64(i)/5)
		}
	}
	for _, y := range yticks { // y grid
		py := fy(y, ymax)
		fmt.Fprintf(sb, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n",
			c.x0, py, c.x0+c.w, py, c.x0-5, py+4, tick(y))
	}
	// x ticks: the points of the first series
	if len(c.series) > 0 {
		for _, p := range c.series[0].pts {
			px := fx(p[0])
			label := si(p[0])
			if !c.logX {
				label = fmt.Sprintf("%.0f%%", p[0])
			}
			fmt.Fprintf(sb, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n",
				px, c.y0, px, c.y0+c.h, px, c.y0+c.h+16, label)
		}
	}
	fmt.Fprintf(sb, `<text x="%.0f" y="%.0f" text-anchor="middle">%s</text>`+"\n", c.x0+c.w/2, c.y0+c.h+34, esc(c.xlabel))
	fmt.Fprintf(sb, `<text x="%.0f" y="%.0f" text-anchor="middle" transform="rotate(-90 %.0f %.0f)">%s</text>`+"\n",
		c.x0-50, c.y0+c.h/2, c.x0-50, c.y0+c.h/2, esc(c.ylabel))
	all := c.series
	var smax float64
	if len(secondary.pts) > 0 {
		for _, p := range secondary.pts {
			smax = math.Max(smax, p[1])
		}
		smax = niceCeil(smax)
		for i := 0; i <= 5; i++ {
			y := smax * float64(i) / 5
			fmt.Fprintf(sb, `<text x="%.1f" y="%.1f" fill="%s">%s</text>`+"\n", c.x0+c.w+4, fy(y, smax)+4, secondary.color, si(y))
		}
		all = append(all, secondary)
	}
	for i, s := range all {
		top := ymax
		if i == len(c.series) {
			top = smax
		}
		if len(s.pts) == 0 {
			continue
		}
		var pts []string
		for _, p := range s.pts {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", fx(p[0]), fy(p[1], top)))
		}
		dash := ""
		if s.dash {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(sb, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), s.color, dash)
		for _, p := range s.pts {
			fmt.Fprintf(sb, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", fx(p[0]), fy(p[1], top), s.color)
		}
		ly := c.y0 + 15 + float64(i)*16
		fmt.Fprintf(sb, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="2"%s/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			c.x0+10, ly-4, c.x0+30, ly-4, s.color, dash, c.x0+35, ly, esc(s.name))
	}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// tick labels an axis value: k/M suffixes, decimals below 1.
func tick(v float64) string {
	if v > 0 && v < 1 {
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
	return si(v)
}
