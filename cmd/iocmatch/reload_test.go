package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeSIGHUPReloadsAllowlist: a local allowlist file suppresses a
// match of the bundled sample feed; after the file is edited, SIGHUP
// makes the same match alert (the issue: "SIGHUP reloads feeds and
// allowlists").
func TestServeSIGHUPReloadsAllowlist(t *testing.T) {
	dir := t.TempDir()
	allow := filepath.Join(dir, "allow.txt")
	if err := os.WriteFile(allow, []byte("# benign in this lab\ndomain:malware-c2.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(dir)
	cfg.Allowlist.Enabled = true
	cfg.Allowlist.Files = []string{allow}
	s := startServe(t, cfg, true)
	defer s.stop(t)

	ctx := context.Background()
	publish := func(id string) {
		t.Helper()
		p := filepath.Join(dir, id+".jsonl")
		ev := `{"@timestamp":"2026-12-03T09:00:00Z","event":{"id":"` + id + `"},"tls":{"client":{"server_name":"malware-c2.example"}}}` + "\n"
		if err := os.WriteFile(p, []byte(ev), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, _, errs := cli(ctx, "publish", "--server", s.natsURL, "--format", "ecs", p); code != 0 {
			t.Fatalf("publish: exit %d: %s", code, errs)
		}
		waitDrainedCLI(t, s)
	}
	domainAlerts := func() int {
		n := 0
		for _, a := range storedAlerts(t, s.natsURL) {
			if m, _ := a["message"].(string); strings.Contains(m, "malware-c2.example") {
				n++
			}
		}
		return n
	}

	publish("hup-1")
	if n := domainAlerts(); n != 0 {
		t.Fatalf("%d alerts for an allowlisted domain, want 0", n)
	}
	if !strings.Contains(metricsText(t, s), `iocmatch_suppressed_total{reason="allowlist"} 1`) {
		t.Errorf("allowlist suppression not counted:\n%s", grepLines(metricsText(t, s), "suppressed"))
	}

	if err := os.WriteFile(allow, []byte("# emptied\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := strings.Count(s.logs.String(), "reloading every feed")
	s.hup <- os.Interrupt // any value: serve only counts signals
	// The allowlist is reloaded before the feeds: once the feed reload is
	// logged, the new allowlist is in force.
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(s.logs.String(), "reloading every feed") == before {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP not handled within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	publish("hup-2")
	if n := domainAlerts(); n != 1 {
		t.Fatalf("%d alerts for the domain after the allowlist was emptied and SIGHUP sent, want 1", n)
	}
}

// metricsText fetches the served /metrics page.
func metricsText(t *testing.T, s *served) string {
	t.Helper()
	resp, err := http.Get("http://" + s.httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// grepLines returns the lines of text containing sub.
func grepLines(text, sub string) string {
	var out []string
	for l := range strings.Lines(text) {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}
