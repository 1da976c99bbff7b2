package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The golden files of `iocmatch match` are rewritten with
// go test ./cmd/iocmatch/ -run Match -update-match
// (a flag of its own: the package's other tests may define -update).
var matchUpdate = flag.Bool("update-match", false, "rewrite the golden files of the match command tests")

const (
	matchSampleJSONL   = "../../testdata/sample/indicators.jsonl"
	matchSampleSTIX    = "../../testdata/sample/feed.stix.json"
	matchSampleCSV     = "../../testdata/sample/indicators.csv"
	matchFixtureEvents = "testdata/match/events.jsonl"
	matchNow           = "2026-02-01T00:00:00Z"
)

// matchRun runs `iocmatch match args...` in-process.
func matchRun(t *testing.T, stdin []byte, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"--log-format", "json", "match"}, args...), bytes.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// matchAlertSummary reduces alert lines to "event -> indicator kind:value
// @field" strings, sorted, so that expectations read like the fixture.
func matchAlertSummary(t *testing.T, stdout string) []string {
	t.Helper()
	var out []string
	for i, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if line == "" {
			continue
		}
		var doc struct {
			Event struct {
				Kind     string `json:"kind"`
				ID       string `json:"id"`
				Original string `json:"original"`
			} `json:"event"`
			Threat struct {
				Enrichments []struct {
					Matched struct {
						Field string `json:"field"`
					} `json:"matched"`
					IOC struct {
						Kind  string `json:"indicator_kind"`
						Value string `json:"indicator_value"`
					} `json:"iocmatch"`
				} `json:"enrichments"`
			} `json:"threat"`
			IOC struct {
				AlertID string `json:"alert_id"`
				EventID string `json:"event_id"`
			} `json:"iocmatch"`
		}
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("alert line %d is not JSON: %v\n%s", i+1, err, line)
		}
		if doc.Event.Kind != "alert" || doc.Event.ID == "" || doc.Event.ID != doc.IOC.AlertID {
			t.Errorf("alert line %d: event.kind %q, event.id %q, alert_id %q", i+1, doc.Event.Kind, doc.Event.ID, doc.IOC.AlertID)
		}
		ev := doc.IOC.EventID
		if ev == "" {
			ev = doc.Event.Original
			if len(ev) > 24 {
				ev = ev[:24]
			}
		}
		for _, en := range doc.Threat.Enrichments {
			v := en.IOC.Value
			if en.IOC.Kind == "compound" {
				v = "(compound)"
			}
			out = append(out, fmt.Sprintf("%s -> %s:%s @%s", ev, en.IOC.Kind, v, en.Matched.Field))
		}
	}
	slices.Sort(out)
	return out
}

// matchWantFixture lists what the fixture events must yield against the
// bundled sample indicators: every planted value alerts, every near-miss
// (notmalware-c2.example, 203.0.113.67, 198.51.101.5, port 443 instead of
// 4444, a TLS serial, an x509 serial equal to an MD5 indicator) does not.
func matchWantFixture(ja3, compound bool) []string {
	want := []string{
		"1122334455667788 -> cidr4:198.51.100.0/24 @src_ip",
		"CZk1Vd3QHl6T1E2xa -> ipv4:203.0.113.66 @id.resp_h",
		`Jan  2 10:00:16 gw01 ssh -> ipv6:2001:db8:bad::1 @message`,
		"ecs-crlf-1 -> ipv4:203.0.113.66 @source.ip",
		"ecs-dns-1 -> domain:malware-c2.example @dns.question.name",
		"ecs-http-1 -> domain:evil-update.test @url.full",
		"ecs-http-1 -> url:http://evil-update.test/payload.exe @url.full",
		"ecs-ipv6-1 -> ipv6:2001:db8:bad::1 @destination.ip",
		"ecs-mail-1 -> domain:malware-c2.example @email.from.address",
		"ecs-mail-1 -> email:phish@malware-c2.example @email.from.address",
		`{"EventID":1,"UtcTime":" -> command-line:-EncodedCommand JAB @EventData.CommandLine`,
		`{"EventID":1,"UtcTime":" -> sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 @EventData.Hashes`,
		`{"EventID":13,"UtcTime": -> registry-key:hkey_local_machine\software\microsoft\windows\currentversion\run\samplerat @EventData.TargetObject`,
	}
	if ja3 {
		want = append(want, "998877 -> ja3:e7d705a3286e19ea42f587b344ee6865 @tls.ja3.hash")
	}
	if compound {
		want = append(want, "ecs-fw-1 -> compound:(compound) @")
	}
	slices.Sort(want)
	return want
}

func matchCheckGolden(t *testing.T, path, got string) {
	t.Helper()
	if *matchUpdate {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/iocmatch/ -run Match -update-match to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update-match to accept):\n%s", path, got)
	}
}

func TestMatchFixture(t *testing.T) {
	code, stdout, stderr := matchRun(t, nil, "--indicators", matchSampleJSONL, "--now", matchNow, matchFixtureEvents)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if got, want := matchAlertSummary(t, stdout), matchWantFixture(true, true); !slices.Equal(got, want) {
		t.Errorf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	matchCheckGolden(t, "testdata/match/alerts.golden.jsonl", stdout)

	for _, want := range []string{
		"indicators: " + matchSampleJSONL + ": 1 file(s), 13 record(s), 13 indicator(s)",
		"indicators: 13 compiled in ",
		"event " + matchFixtureEvents + ":18: observe: auto event: malformed:",
		"event " + matchFixtureEvents + ":19: observe: raw event: binary:",
		"events: 21 read, 2 decode error(s), 13 matched, 13 alert(s) written (15 hit(s)) in ",
		" events/s\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if n := strings.Count(stderr, "\n"); n != 5 {
		t.Errorf("stderr has %d lines, want 5:\n%s", n, stderr)
	}
}

// TestMatchFeedForms matches the fixture against the other forms of the
// bundled sample feed: the same alerts, except that the STIX bundle's JA3
// pattern has no engine observable (it is reported instead) and the CSV
// form cannot carry the compound indicator.
func TestMatchFeedForms(t *testing.T) {
	for _, tc := range []struct {
		file          string
		ja3, compound bool
	}{{matchSampleSTIX, false, true}, {matchSampleCSV, true, false}} {
		code, stdout, stderr := matchRun(t, nil, "--indicators", tc.file, "--now", matchNow, matchFixtureEvents)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", tc.file, code, stderr)
		}
		if got, want := matchAlertSummary(t, stdout), matchWantFixture(tc.ja3, tc.compound); !slices.Equal(got, want) {
			t.Errorf("%s: alerts:\n%s\nwant:\n%s", tc.file, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// TestMatchSampleEvents runs the README's main command on the bundled
// sample events.
func TestMatchSampleEvents(t *testing.T) {
	const events = "../../testdata/sample/events.jsonl"
	if _, err := os.Stat(events); err != nil {
		t.Fatalf("bundled sample events: %v", err)
	}
	code, stdout, stderr := matchRun(t, nil, "--indicators", matchSampleJSONL, "--now", matchNow, events)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if strings.Count(stdout, "\n") == 0 {
		t.Fatalf("no alert on the bundled sample events\n%s", stderr)
	}
	// Every line is a well-formed alert, and none is for a near-miss of
	// the sample contract (/work/notes/sample-iocs.md).
	for _, s := range matchAlertSummary(t, stdout) {
		for _, miss := range []string{"notmalware-c2.example", "203.0.113.67", "198.51.101.5"} {
			if strings.Contains(s, miss) {
				t.Errorf("alert for the near-miss %s: %s", miss, s)
			}
		}
	}
	if strings.Contains(stdout, `"atomic":"44d88612fea8a8f36de82e1278abb02f","field":"certificate.serial"`) ||
		strings.Contains(stdout, `"field":"tls.serial"`) {
		t.Error("alert for a certificate serial")
	}
	matchCheckGolden(t, "testdata/match/sample.golden.jsonl", stdout)
}

// TestMatchFlagsInREADME: every flag of `iocmatch match -h` is in the
// README's synopsis of the command, so the README does not fall behind.
func TestMatchFlagsInREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, synopsis, ok := strings.Cut(string(readme), "\n```\niocmatch match --indicators FILE")
	if !ok {
		t.Fatal("README.md has no ```iocmatch match --indicators FILE synopsis block")
	}
	synopsis, _, _ = strings.Cut(synopsis, "```")
	_, _, help := matchRun(t, nil, "-h")
	var flags []string
	for line := range strings.Lines(help) {
		if name, ok := strings.CutPrefix(line, "  -"); ok {
			name, _, _ = strings.Cut(strings.TrimSpace(name), " ")
			flags = append(flags, name)
		}
	}
	if len(flags) < 5 {
		t.Fatalf("found %d flags in the help output:\n%s", len(flags), help)
	}
	for _, name := range flags {
		if !strings.Contains(synopsis, "--"+name) {
			t.Errorf("flag --%s of iocmatch match is not in the README synopsis", name)
		}
	}
}

func TestMatchDeterministicAndCIDRImpls(t *testing.T) {
	_, a, _ := matchRun(t, nil, "--indicators", matchSampleJSONL, "--now", matchNow, matchFixtureEvents)
	_, b, _ := matchRun(t, nil, "--indicators", matchSampleJSONL, "--now", matchNow, "--cidr", "cidranger", matchFixtureEvents)
	if a == "" || a != b {
		t.Error("bart and cidranger runs differ")
	}
	// Another processing time changes @timestamp but not the alert ids.
	_, c, _ := matchRun(t, nil, "--indicators", matchSampleJSONL, "--now", "2026-03-01T00:00:00Z", matchFixtureEvents)
	ids := func(s string) []string { return regexp.MustCompile(`"alert_id":"[0-9a-f]{32}"`).FindAllString(s, -1) }
	if a == c || !slices.Equal(ids(a), ids(c)) || len(ids(a)) != 13 {
		t.Errorf("alert ids not stable across processing times: %v vs %v", ids(a), ids(c))
	}
}

func TestMatchGzipAndStdin(t *testing.T) {
	plain, err := os.ReadFile(matchFixtureEvents)
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(plain)
	zw.Close()
	gz := filepath.Join(t.TempDir(), "events.log.gz")
	if err := os.WriteFile(gz, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, want, _ := matchRun(t, nil, "--indicators", matchSampleJSONL, "--now", matchNow, matchFixtureEvents)
	norm := func(s, name string) string { return strings.ReplaceAll(s, `"source":"`+name+`"`, `"source":"X"`) }
	for _, tc := range []struct {
		name  string
		stdin []byte
		args  []string
	}{
		{gz, nil, []string{gz}},
		{"stdin", plain, []string{"-"}},
		{"stdin", plain, nil},
		{"stdin", z.Bytes(), []string{"-"}},
	} {
		code, got, stderr := matchRun(t, tc.stdin, append([]string{"--indicators", matchSampleJSONL, "--now", matchNow}, tc.args...)...)
		if code != 0 {
			t.Fatalf("%s %v: exit %d\n%s", tc.name, tc.args, code, stderr)
		}
		if norm(got, tc.name) != norm(want, matchFixtureEvents) {
			t.Errorf("%s %v: output differs from the plain file's", tc.name, tc.args)
		}
	}
}

func TestMatchPlainListKind(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "c2.txt")
	os.WriteFile(list, []byte("# C2 domains\nmalware-c2.example\nevil-update.test  # inline comment\n"), 0o644)
	code, stdout, stderr := matchRun(t, nil, "--indicators", list, "--kind", "domain", "--feed", "c2list", "--now", matchNow, matchFixtureEvents)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := matchAlertSummary(t, stdout)
	want := []string{
		"ecs-dns-1 -> domain:malware-c2.example @dns.question.name",
		"ecs-http-1 -> domain:evil-update.test @url.full",
		"ecs-mail-1 -> domain:malware-c2.example @email.from.address",
	}
	if !slices.Equal(got, want) {
		t.Errorf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(stdout, `"feed":{"name":"c2list"}`) {
		t.Error("--feed not stamped on the indicators")
	}
}

func TestMatchBadEvents(t *testing.T) {
	var in bytes.Buffer
	for i := range 6 {
		fmt.Fprintf(&in, "{\"bad\": %d\n", i)
	}
	in.WriteString(`{"@timestamp":"2026-01-02T10:00:00Z","destination":{"ip":"203.0.113.66"}}` + "\n")
	in.WriteString("{" + strings.Repeat(" ", 1<<20) + "}\n")                                    // over observe's 1 MiB limit
	in.WriteString(`{"@timestamp":"2026-01-02T10:00:01Z","destination":{"ip":"203.0.113.66"}}`) // last line without newline
	code, stdout, stderr := matchRun(t, in.Bytes(), "--indicators", matchSampleJSONL, "--now", matchNow, "--max-errors", "2")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if n := strings.Count(stdout, "\n"); n != 2 {
		t.Errorf("%d alerts, want 2", n)
	}
	for _, want := range []string{
		"event stdin:1: observe: auto event: malformed:",
		"event stdin:2: observe: auto event: malformed:",
		"event stdin: 5 more bad event(s) not shown",
		"events: 9 read, 7 decode error(s), 2 matched, 2 alert(s) written",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "stdin:3:") {
		t.Errorf("more bad events printed than --max-errors:\n%s", stderr)
	}
	// The oversized line is reported as such when shown.
	_, _, stderr = matchRun(t, in.Bytes(), "--indicators", matchSampleJSONL, "--now", matchNow)
	if !strings.Contains(stderr, "event stdin:8: too_large: line longer than 1048576 bytes") {
		t.Errorf("oversized line not reported:\n%s", stderr)
	}
}

// TestMatchBadGzip: a truncated or corrupt gzip events file stops the run
// with an error naming the file, the line and gzip as the cause.
func TestMatchBadGzip(t *testing.T) {
	plain, err := os.ReadFile(matchFixtureEvents)
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(plain)
	zw.Close()
	corrupt := bytes.Clone(z.Bytes())
	corrupt[len(corrupt)-5] ^= 0xff // CRC-32 trailer
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated.gz", z.Bytes()[:z.Len()/2], "gzip: unexpected EOF"},
		{"corrupt.gz", corrupt, "gzip: " + gzip.ErrChecksum.Error()},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := matchRun(t, nil, "--indicators", matchSampleJSONL, "--now", matchNow, path)
		if code != 1 || !strings.Contains(stderr, "events "+path+": line ") || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr:\n%s\nwant exit 1, the file, a line number and %q", tc.name, code, stderr, tc.want)
		}
	}
}

func TestMatchUsageAndErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, []byte("# nothing\n"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no indicators", []string{matchFixtureEvents}, 2, "--indicators is required"},
		{"bad format", []string{"--indicators", matchSampleJSONL, "--format", "xml", matchFixtureEvents}, 2, `--format: `},
		{"bad kind", []string{"--indicators", matchSampleJSONL, "--kind", "colour", matchFixtureEvents}, 2, `--kind: unknown indicator kind "colour"`},
		{"compound kind", []string{"--indicators", matchSampleJSONL, "--kind", "compound", matchFixtureEvents}, 2, `not an atomic indicator kind`},
		{"bad cidr", []string{"--indicators", matchSampleJSONL, "--cidr", "radix", matchFixtureEvents}, 2, `--cidr "radix": want bart or cidranger`},
		{"bad now", []string{"--indicators", matchSampleJSONL, "--now", "yesterday", matchFixtureEvents}, 2, `--now "yesterday"`},
		{"two event files", []string{"--indicators", matchSampleJSONL, matchFixtureEvents, matchFixtureEvents}, 2, "at most one events file"},
		{"unknown flag", []string{"--indicatorz", matchSampleJSONL}, 2, "flag provided but not defined"},
		{"missing indicators", []string{"--indicators", filepath.Join(dir, "nope.jsonl"), matchFixtureEvents}, 1, "nope.jsonl: no such file"},
		{"no indicator in file", []string{"--indicators", empty, matchFixtureEvents}, 1, "no active indicator loaded"},
		{"missing events", []string{"--indicators", matchSampleJSONL, filepath.Join(dir, "nope.log")}, 1, "events: open "},
		{"not yet valid", []string{"--indicators", matchSampleJSONL, "--now", "2025-01-01T00:00:00Z", matchFixtureEvents}, 1, "13 not yet valid"},
	} {
		code, stdout, stderr := matchRun(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr:\n%s\nwant exit %d and %q", tc.name, code, stdout, stderr, tc.code, tc.want)
		}
	}
}

func TestMatchCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"match", "--indicators", matchSampleJSONL, "--now", matchNow, matchFixtureEvents}, nil, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "context canceled") {
		t.Errorf("cancelled run: exit %d\n%s", code, errb.String())
	}
}

func TestMatchReadLine(t *testing.T) {
	type line struct {
		s       string
		tooLong bool
	}
	for _, tc := range []struct {
		in   string
		max  int
		want []line
	}{
		{"", 8, nil},
		{"a\nb", 8, []line{{"a", false}, {"b", false}}},
		{"a\r\nb\r\n", 8, []line{{"a", false}, {"b", false}}},
		{"\n\n", 8, []line{{"", false}, {"", false}}},
		{"12345678\n123456789\n", 8, []line{{"12345678", false}, {"123456789", false}}}, // observe rejects the 9-byte one
		{"1234567890\nok\n", 8, []line{{"12345678", true}, {"ok", false}}},
		{"12345678901234567890", 8, []line{{"12345678", true}}},
		{"a\r", 8, []line{{"a", false}}},
	} {
		r := bufio.NewReaderSize(strings.NewReader(tc.in), 16) // small buffer: exercises ErrBufferFull
		var got []line
		var buf []byte
		for {
			l, long, err := matchReadLine(r, buf, tc.max)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, line{string(l), long})
			buf = l[:0]
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q (max %d): %v, want %v", tc.in, tc.max, got, tc.want)
		}
	}
	// A line far longer than the reader's buffer.
	long := strings.Repeat("x", 100) + "\nnext"
	r := bufio.NewReaderSize(strings.NewReader(long), 16)
	l, tooLong, err := matchReadLine(r, nil, 50)
	if err != nil || !tooLong || len(l) != 50 {
		t.Fatalf("long line: %d bytes, tooLong %v, err %v", len(l), tooLong, err)
	}
	if l, _, _ := matchReadLine(r, nil, 50); string(l) != "next" {
		t.Errorf("after a long line: %q", l)
	}
}

// TestMatchProfileAndDir loads indicators from a directory and a user
// field profile that maps a custom ECS field.
func TestMatchProfileAndDir(t *testing.T) {
	dir := t.TempDir()
	inds := filepath.Join(dir, "intel")
	os.Mkdir(inds, 0o755)
	os.WriteFile(filepath.Join(inds, "a.csv"), []byte("kind,value\nipv4,203.0.113.99\n"), 0o644)
	os.WriteFile(filepath.Join(inds, "b.csv"), []byte("kind,value\ndomain,custom-c2.example\n"), 0o644)
	prof := filepath.Join(dir, "app.yml")
	os.WriteFile(prof, []byte("name: app\nformat: ecs\nfields:\n  - {field: app.peer_addr, kind: ipv4, role: dst}\n"), 0o644)
	events := []byte(`{"@timestamp":"2026-01-02T10:00:00Z","event":{"id":"app-1"},"app":{"peer_addr":"203.0.113.99"}}` + "\n" +
		`{"@timestamp":"2026-01-02T10:00:01Z","event":{"id":"app-2"},"dns":{"question":{"name":"x.custom-c2.example"}}}` + "\n")
	want := []string{
		"app-1 -> ipv4:203.0.113.99 @app.peer_addr",
		"app-2 -> domain:custom-c2.example @dns.question.name",
	}
	code, stdout, stderr := matchRun(t, events, "--indicators", inds, "--profile", prof, "--now", matchNow, "--format", "ecs")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if got := matchAlertSummary(t, stdout); !slices.Equal(got, want) {
		t.Errorf("alerts %q, want %q", got, want)
	}
	// Without the profile the custom field is not observed.
	_, stdout, _ = matchRun(t, events, "--indicators", inds, "--now", matchNow, "--format", "ecs")
	if got := matchAlertSummary(t, stdout); !slices.Equal(got, want[1:]) {
		t.Errorf("without the profile: alerts %q, want %q", got, want[1:])
	}
	// A bad profile is an error naming the file.
	os.WriteFile(prof, []byte("name: app\nformat: ecs\nfieldz: []\n"), 0o644)
	if code, _, stderr := matchRun(t, events, "--indicators", inds, "--profile", prof); code != 1 || !strings.Contains(stderr, "profile "+prof) {
		t.Errorf("bad profile: exit %d\n%s", code, stderr)
	}
}
