package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/feeds/stix"
)

// feedsSampleObjects returns the objects of the bundled sample STIX feed.
func feedsSampleObjects(t *testing.T) ([]json.RawMessage, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sample", "feed.stix.json"))
	if err != nil {
		t.Fatal(err)
	}
	var b struct{ Objects []json.RawMessage }
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Objects) < 10 {
		t.Fatalf("sample feed has %d objects", len(b.Objects))
	}
	return b.Objects, data
}

// taxiiFake serves one collection ("c1", plus an empty "c2") over TAXII
// 2.1 (limit/next paging) or 2.0 (Range paging), object i being added at
// base + i seconds.
type taxiiFake struct {
	v2_0    bool
	objects []json.RawMessage
	base    time.Time
	auth    func(*http.Request) bool

	mu       sync.Mutex
	failFrom int // objects requests from this number on (1-based) fail with 500; 0: never
	requests int
}

func (f *taxiiFake) added(i int) time.Time { return f.base.Add(time.Duration(i) * time.Second) }

func (f *taxiiFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ct := "application/taxii+json;version=2.1"
	if f.v2_0 {
		ct = "application/vnd.oasis.taxii+json; version=2.0"
	}
	reply := func(status int, body any) {
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
	if f.auth != nil && !f.auth(r) {
		reply(401, map[string]string{"title": "Unauthorized", "http_status": "401"})
		return
	}
	disc := "/taxii2/"
	if f.v2_0 {
		disc = "/taxii/"
	}
	switch p := r.URL.Path; {
	case p == disc:
		reply(200, map[string]any{"title": "fake", "default": "/api1/", "api_roots": []string{"/api1/"}})
	case p == "/api1/":
		reply(200, map[string]any{"title": "api1", "versions": []string{ct}})
	case p == "/api1/collections/":
		reply(200, map[string]any{"collections": []map[string]any{
			{"id": "c1", "title": "Sample", "can_read": true, "can_write": false},
			{"id": "c2", "title": "Empty", "can_read": true, "can_write": false},
			{"id": "c3", "title": "Write only", "can_read": false, "can_write": true},
		}})
	case p == "/api1/collections/c1/objects/" || p == "/api1/collections/c2/objects/":
		f.mu.Lock()
		f.requests++
		fail := f.failFrom > 0 && f.requests >= f.failFrom
		f.mu.Unlock()
		if fail {
			reply(500, map[string]string{"title": "Internal error"})
			return
		}
		var sel []int
		after, _ := time.Parse(time.RFC3339Nano, r.URL.Query().Get("added_after"))
		if p == "/api1/collections/c1/objects/" {
			for i := range f.objects {
				if after.IsZero() || f.added(i).After(after) {
					sel = append(sel, i)
				}
			}
		}
		start, end := 0, len(sel)
		status := 200
		if f.v2_0 {
			ct = "application/vnd.oasis.stix+json; version=2.0"
			if rg := r.Header.Get("Range"); rg != "" {
				var a, b int
				if _, err := fmt.Sscanf(rg, "items=%d-%d", &a, &b); err != nil || a >= len(sel) && len(sel) > 0 {
					reply(416, map[string]string{"title": "Range Not Satisfiable"})
					return
				}
				start, end, status = a, min(b+1, len(sel)), 206
				if len(sel) > 0 {
					w.Header().Set("Content-Range", fmt.Sprintf("items %d-%d/%d", start, end-1, len(sel)))
				} else {
					status = 200
				}
			}
		} else {
			if n := r.URL.Query().Get("next"); n != "" {
				start, _ = strconv.Atoi(n)
			}
			if l, _ := strconv.Atoi(r.URL.Query().Get("limit")); l > 0 {
				end = min(start+l, len(sel))
			}
		}
		var objs []json.RawMessage
		for _, i := range sel[start:end] {
			objs = append(objs, f.objects[i])
		}
		if len(objs) > 0 {
			w.Header().Set("X-TAXII-Date-Added-First", f.added(sel[start]).Format(time.RFC3339Nano))
			w.Header().Set("X-TAXII-Date-Added-Last", f.added(sel[end-1]).Format(time.RFC3339Nano))
		}
		if f.v2_0 {
			reply(status, map[string]any{"type": "bundle", "id": "bundle--1", "objects": objs})
			return
		}
		env := map[string]any{"more": end < len(sel), "objects": objs}
		if end < len(sel) {
			env["next"] = strconv.Itoa(end)
		}
		reply(200, env)
	default:
		reply(404, map[string]string{"title": "Not Found"})
	}
}

// feedsExpectedLines converts objects directly (no TAXII) into the JSON lines
// feeds pull must write.
func feedsExpectedLines(t *testing.T, feed string, objects []json.RawMessage) string {
	t.Helper()
	conv := stix.NewConverter(stix.Options{Feed: feed})
	for _, o := range objects {
		_ = conv.Add(o)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, ind := range conv.Result().Indicators {
		if err := enc.Encode(ind); err != nil {
			t.Fatal(err)
		}
	}
	return buf.String()
}

func feedsRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"--log-level", "warn", "--log-format", "json"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

var t0Feeds = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

func TestFeedsPull21(t *testing.T) {
	objs, _ := feedsSampleObjects(t)
	t.Setenv("IOCMATCH_TEST_TAXII_TOKEN", "tok-123")
	f := &taxiiFake{objects: objs, base: t0Feeds, auth: func(r *http.Request) bool { return r.Header.Get("Authorization") == "Token tok-123" }}
	srv := httptest.NewServer(f)
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "ind.jsonl")
	code, stdout, stderr := feedsRun(t, "feeds", "pull", "--taxii", srv.URL, "--collection", "c1", "--token-env", "IOCMATCH_TEST_TAXII_TOKEN",
		"--auth-scheme", "Token", "--limit", "4", "--feed", "sample", "--out", out, "--progress", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout with --out: %q", stdout)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := feedsExpectedLines(t, "sample", objs)
	if string(got) != want {
		t.Fatalf("pulled indicators differ from the direct conversion of the bundle:\n got %s\nwant %s", got, want)
	}
	pages := (len(objs) + 3) / 4
	for _, s := range []string{
		fmt.Sprintf("collection c1: %d objects in %d pages", len(objs), pages),
		"checkpoint --added-after " + t0Feeds.Add(time.Duration(len(objs)-1)*time.Second).Format(time.RFC3339Nano),
		"feeds pull: 1 collections, " + strconv.Itoa(len(objs)) + " objects",
	} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr)
		}
	}
	if strings.Contains(stderr, "tok-123") {
		t.Error("stderr shows the token")
	}
	if strings.Count(want, "\n") == 0 {
		t.Log("the STIX converter yields no indicator yet (pattern translator not wired): only paging and the report are compared")
	}
}

// TAXII 2.0, Basic auth with the password from a file, --all (skipping
// the unreadable collection), output on stdout.
func TestFeedsPull20(t *testing.T) {
	objs, _ := feedsSampleObjects(t)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &taxiiFake{v2_0: true, objects: objs, base: t0Feeds, auth: func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && u == "alice" && p == "hunter2"
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	code, stdout, stderr := feedsRun(t, "feeds", "pull", "--taxii", srv.URL, "--all", "--user", "alice", "--password-file", pw,
		"--limit", "5", "--feed", "sample", "--progress", "1ns")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "feeds pull: collection c1: 10 objects, 2 pages, ") {
		t.Errorf("no progress line in:\n%s", stderr)
	}
	if want := feedsExpectedLines(t, "sample", objs); stdout != want {
		t.Fatalf("stdout differs from the direct conversion:\n got %s\nwant %s", stdout, want)
	}
	for _, s := range []string{
		fmt.Sprintf("collection c1 (\"Sample\"): %d objects in %d pages", len(objs), (len(objs)+4)/5),
		`collection c2 ("Empty"): 0 objects in 1 pages`,
		`skipping collection c3 ("Write only"): not readable`,
		"feeds pull: 2 collections",
	} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr)
		}
	}
}

// The checkpoint printed by one pull, given as --added-after, yields only
// what was added since.
func TestFeedsPullIncremental(t *testing.T) {
	objs, _ := feedsSampleObjects(t)
	half := len(objs) / 2
	f := &taxiiFake{objects: objs[:half], base: t0Feeds}
	srv := httptest.NewServer(f)
	defer srv.Close()
	code, _, stderr := feedsRun(t, "feeds", "pull", "--taxii", srv.URL+"/taxii2/", "--collection", "c1", "--progress", "0", "--out", filepath.Join(t.TempDir(), "a"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := regexp.MustCompile(`--added-after (\S+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no checkpoint in %s", stderr)
	}
	f.mu.Lock()
	f.objects = objs
	f.mu.Unlock()
	code, _, stderr = feedsRun(t, "feeds", "pull", "--taxii", srv.URL, "--collection", "c1", "--added-after", m[1], "--progress", "0", "--out", filepath.Join(t.TempDir(), "b"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if s := fmt.Sprintf("collection c1: %d objects in 1 pages", len(objs)-half); !strings.Contains(stderr, s) {
		t.Fatalf("stderr lacks %q:\n%s", s, stderr)
	}
}

func TestFeedsPullErrors(t *testing.T) {
	objs, _ := feedsSampleObjects(t)
	f := &taxiiFake{objects: objs, base: t0Feeds, auth: func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer k" }}
	srv := httptest.NewServer(f)
	defer srv.Close()
	t.Setenv("IOCMATCH_TEST_TAXII_K", "k")
	t.Setenv("IOCMATCH_TEST_TAXII_EMPTY", "")
	auth := []string{"--token-env", "IOCMATCH_TEST_TAXII_K"}
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"no server", []string{"--collection", "c1"}, 2, []string{"--taxii URL is required"}},
		{"no collection", append([]string{"--taxii", srv.URL}, auth...), 2, []string{"give --collection ID or --all", `c1 ("Sample")`, `c2 ("Empty")`}},
		{"both collection and all", append([]string{"--taxii", srv.URL, "--all", "--collection", "c1"}, auth...), 2, []string{"not both"}},
		{"unknown collection", append([]string{"--taxii", srv.URL, "--collection", "nope"}, auth...), 1, []string{"collection nope", "status 404", "Not Found"}},
		{"no credentials", []string{"--taxii", srv.URL, "--collection", "c1"}, 1, []string{"status 401: Unauthorized"}},
		{"unset token variable", []string{"--taxii", srv.URL, "--collection", "c1", "--token-env", "IOCMATCH_TEST_TAXII_UNSET"}, 1, []string{"IOCMATCH_TEST_TAXII_UNSET is not set"}},
		{"empty token variable", []string{"--taxii", srv.URL, "--collection", "c1", "--token-env", "IOCMATCH_TEST_TAXII_EMPTY"}, 1, []string{"IOCMATCH_TEST_TAXII_EMPTY is empty"}},
		{"user without password", []string{"--taxii", srv.URL, "--collection", "c1", "--user", "bob"}, 2, []string{"--user needs"}},
		{"bad version", []string{"--taxii", srv.URL, "--collection", "c1", "--version", "1.1"}, 2, []string{`--version "1.1"`}},
		{"bad added-after", []string{"--taxii", srv.URL, "--collection", "c1", "--added-after", "yesterday"}, 2, []string{"--added-after"}},
		{"bad scheme", append([]string{"--taxii", srv.URL, "--collection", "c1", "--auth-scheme", "Digest"}, auth...), 1, []string{`scheme "Digest"`}},
		{"unexpected argument", []string{"--taxii", srv.URL, "extra"}, 2, []string{`unexpected argument "extra"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := feedsRun(t, append([]string{"feeds", "pull", "--progress", "0"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, stderr)
			}
			for _, s := range tc.contains {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
		})
	}
	if code, _, _ := feedsRun(t, "feeds"); code != 2 {
		t.Errorf("feeds without subcommand: exit %d", code)
	}
	if code, _, _ := feedsRun(t, "feeds", "push"); code != 2 {
		t.Errorf("unknown subcommand: exit %d", code)
	}
}

// A pull that fails half way leaves the previous --out file untouched.
func TestFeedsPullFailureKeepsOutput(t *testing.T) {
	objs, _ := feedsSampleObjects(t)
	f := &taxiiFake{objects: objs, base: t0Feeds, failFrom: 2}
	srv := httptest.NewServer(f)
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "ind.jsonl")
	if err := os.WriteFile(out, []byte("previous\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := feedsRun(t, "feeds", "pull", "--taxii", srv.URL, "--collection", "c1", "--limit", "3", "--retries", "0", "--out", out, "--progress", "0")
	if code != 1 || !strings.Contains(stderr, "collection c1 objects page 2") || !strings.Contains(stderr, "Internal error") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != "previous\n" {
		t.Fatalf("output file changed: %q", b)
	}
	ents, _ := os.ReadDir(filepath.Dir(out))
	if len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
}

func TestFeedsCollections(t *testing.T) {
	f := &taxiiFake{base: t0Feeds}
	srv := httptest.NewServer(f)
	defer srv.Close()
	code, stdout, stderr := feedsRun(t, "feeds", "collections", "--taxii", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, s := range []string{`server "fake" (TAXII 2.1)`, "api root " + srv.URL + "/api1/: 3 collections", `c1  "Sample"  read=true write=false`} {
		if !strings.Contains(stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, stdout)
		}
	}
}

// Pulling the bundled sample feed over TAXII yields the bundled engine
// JSON lines (testdata/sample/indicators.jsonl), which task F maintains
// as what the STIX converter makes of the bundle.
func TestFeedsPullMatchesSampleIndicators(t *testing.T) {
	objs, _ := feedsSampleObjects(t)
	srv := httptest.NewServer(&taxiiFake{objects: objs, base: t0Feeds})
	defer srv.Close()
	code, stdout, stderr := feedsRun(t, "feeds", "pull", "--taxii", srv.URL, "--collection", "c1", "--limit", "7", "--feed", "sample", "--progress", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sample", "indicators.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	canon := func(s string) []string {
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
			var ind ioc.Indicator
			if err := json.Unmarshal([]byte(line), &ind); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			b, _ := json.Marshal(&ind)
			out = append(out, string(b))
		}
		slices.Sort(out)
		return out
	}
	// An indicator the pattern translator cannot honour yet must be
	// reported on stderr, never dropped silently.
	notConverted := map[string]bool{}
	for _, m := range regexp.MustCompile(`not converted: (\S+) `).FindAllStringSubmatch(stderr, -1) {
		notConverted[m[1]] = true
		t.Logf("reported as not converted: %s", m[1])
	}
	got := canon(stdout)
	var exp []string
	for _, line := range canon(string(want)) {
		var ind ioc.Indicator
		_ = json.Unmarshal([]byte(line), &ind)
		if !notConverted[ind.ID] {
			exp = append(exp, line)
		}
	}
	if len(exp) < 10 {
		t.Fatalf("only %d of the sample's indicators converted:\n%s", len(exp), stderr)
	}
	if !slices.Equal(got, exp) {
		t.Fatalf("pulled indicators differ from indicators.jsonl:\n got %s\nwant %s", strings.Join(got, "\n"), strings.Join(exp, "\n"))
	}
}

// TLS with a private CA (--ca), the token from a file sent in a custom
// header (--token-file, --api-key-header), and TAXII 2.1 forced.
func TestFeedsPullTLSAndKeyHeader(t *testing.T) {
	objs, _ := feedsSampleObjects(t)
	f := &taxiiFake{objects: objs, base: t0Feeds, auth: func(r *http.Request) bool {
		return r.TLS != nil && r.Header.Get("X-Api-Key") == "file-key" && r.Header.Get("Authorization") == ""
	}}
	srv := httptest.NewUnstartedServer(f)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted handshake below
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	ca, tok := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "token")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tok, []byte("file-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := feedsRun(t, "feeds", "pull", "--taxii", srv.URL+"/taxii2/", "--version", "2.1", "--ca", ca,
		"--token-file", tok, "--api-key-header", "X-Api-Key", "--collection", "c1", "--feed", "sample", "--progress", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := feedsExpectedLines(t, "sample", objs); stdout != want {
		t.Fatalf("stdout differs from the direct conversion")
	}
	// Without the CA the server is not trusted; the error says so and is not retried.
	code, _, stderr = feedsRun(t, "feeds", "pull", "--taxii", srv.URL, "--token-file", tok, "--api-key-header", "X-Api-Key", "--collection", "c1", "--progress", "0")
	if code != 1 || !strings.Contains(stderr, "certificate") || strings.Contains(stderr, "gave up after") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
