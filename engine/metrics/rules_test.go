package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	yaml "go.yaml.in/yaml/v3"
)

// TestAlertRulesUseKnownMetrics checks that every iocmatch_* series named
// by deploy/prometheus/iocmatch-rules.yml is one this package exports, so
// a renamed metric cannot silently break an alert.
func TestAlertRulesUseKnownMetrics(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "prometheus", "iocmatch-rules.yml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	known := knownMetrics(t)
	rules := 0
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			rules++
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %+v lacks alert, expr, severity or summary", r)
			}
			for _, name := range unknownSeries(known, r.Expr) {
				t.Errorf("rule %s uses unknown metric %s", r.Alert, name)
			}
		}
	}
	if rules < 8 {
		t.Errorf("only %d rules", rules)
	}
}

// knownMetrics returns the names of every metric New registers.
func knownMetrics(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	fq := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range []prometheus.Collector{
			m.EventsIn, m.DecodeErrors, m.Matches, m.Alerts, m.Suppressed, m.AllowlistHits, m.AllowlistEntries,
			m.Latency, m.BatchSize, m.BatchDuration, m.IndicatorsLoaded, m.CompileDuration,
			m.SnapshotTimestamp, m.SnapshotIndicators, m.FeedLastSuccess, m.FeedLastError, m.FeedErrors,
			m.ConsumerPending, m.DeadLetters, m.WebhookSent, m.WebhookFailures, m.SightingsPublished, m.SightingsFailures,
		} {
			c.Describe(ch)
		}
		close(ch)
	}()
	for d := range ch {
		if s := fq.FindStringSubmatch(d.String()); s != nil {
			known[s[1]] = true
		}
	}
	return known
}

// unknownSeries returns the iocmatch_* series of expr that are not
// exported (histogram _bucket/_sum/_count suffixes allowed).
func unknownSeries(known map[string]bool, expr string) []string {
	var out []string
	for _, name := range regexp.MustCompile(`\biocmatch_[a-z_]+`).FindAllString(expr, -1) {
		base := name
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suf); ok && known[b] {
				base = b
			}
		}
		if !known[base] {
			out = append(out, name)
		}
	}
	return out
}

// TestDashboardUsesKnownMetrics does the same for the Grafana dashboard.
func TestDashboardUsesKnownMetrics(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "grafana", "iocmatch-dashboard.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	known := knownMetrics(t)
	n := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			n++
			if tg.Expr == "" {
				t.Errorf("panel %q has an empty query", p.Title)
			}
			for _, name := range unknownSeries(known, tg.Expr) {
				t.Errorf("panel %q uses unknown metric %s", p.Title, name)
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d queries in the dashboard", n)
	}
}
