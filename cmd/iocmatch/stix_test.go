package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"--log-format", "json"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestStixValidate(t *testing.T) {
	code, out, _ := runCLI(t, "stix", "validate", "[file:name = 'a.exe']", "[file:name = 'a' and file:size = 1]")
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	want := "OK: [file:name = 'a.exe']\nERROR: [file:name = 'a' and file:size = 1]: at offset 17: expected ']', found 'and'\n"
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	if code, _, _ := runCLI(t, "stix", "validate", "[x:y = 1] WITHIN 5 SECONDS"); code != 0 {
		t.Errorf("valid pattern: exit code %d", code)
	}
	if code, _, _ := runCLI(t, "stix", "validate"); code != 2 {
		t.Errorf("no pattern: exit code %d, want 2", code)
	}
}

const cliObserved = `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
 {"type":"observed-data","id":"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf","spec_version":"2.1",
  "first_observed":"2015-12-21T19:00:00Z","last_observed":"2015-12-21T19:00:00Z","number_observed":1,
  "object_refs":["ipv4-addr--1","network-traffic--1"]},
 {"type":"ipv4-addr","id":"ipv4-addr--1","value":"198.51.100.3"},
 {"type":"network-traffic","id":"network-traffic--1","dst_ref":"ipv4-addr--1","dst_port":443,"protocols":["tcp","tls"]}
]}`

func TestStixMatch(t *testing.T) {
	dir := t.TempDir()
	obs := filepath.Join(dir, "observed.json")
	pats := filepath.Join(dir, "patterns.txt")
	if err := os.WriteFile(obs, []byte(cliObserved), 0o600); err != nil {
		t.Fatal(err)
	}
	patterns := "# comment\n\n[network-traffic:dst_ref.value ISSUBSET '198.51.100.0/24' AND network-traffic:dst_port = 443]\n" +
		"[ipv4-addr:value = '203.0.113.1']\n" +
		"[x:y MATCHES '(a)\\\\1']\n" +
		"[broken\n"
	if err := os.WriteFile(pats, []byte(patterns), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "stix", "match", "--patterns", pats, "--observed", obs, "--stix-version", "2.1")
	if code != 1 {
		t.Errorf("exit code = %d, want 1 (two patterns in error); stderr %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	wantPrefix := []string{
		"MATCH: [network-traffic:dst_ref.value ISSUBSET",
		"NO MATCH: [ipv4-addr:value = '203.0.113.1']",
		"ERROR: [x:y MATCHES '(a)\\\\1']: x:y MATCHES '(a)\\\\1': regular expression not supported by RE2",
		"ERROR: [broken: at offset 7: expected ':' after the object type, found end of pattern",
	}
	if len(lines) != len(wantPrefix) {
		t.Fatalf("output:\n%s", out)
	}
	for i, w := range wantPrefix {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], w)
		}
	}
	if code, _, errOut := runCLI(t, "stix", "match", "--patterns", pats, "--observed", filepath.Join(dir, "missing.json")); code != 1 || !strings.Contains(errOut, "missing.json") {
		t.Errorf("missing observed file: code %d, stderr %q", code, errOut)
	}
	// A patterns file without a pattern is an error naming the file, not
	// a silent success.
	noPats := filepath.Join(dir, "comments.txt")
	if err := os.WriteFile(noPats, []byte("# only a comment\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, "stix", "match", "--patterns", noPats, "--observed", obs); code != 1 || out != "" ||
		!strings.Contains(errOut, "--patterns "+noPats+": no pattern") {
		t.Errorf("patterns file without a pattern: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, _ := runCLI(t, "stix", "match", "--patterns", pats); code != 2 {
		t.Errorf("missing flag: exit code %d, want 2", code)
	}
}

func TestStixTranslate(t *testing.T) {
	code, out, _ := runCLI(t, "stix", "translate",
		"[ipv4-addr:value = '198.51.100.1' OR domain-name:value = 'Evil.COM']",
		"[network-traffic:dst_ref.value = '198.51.100.1' AND network-traffic:dst_port = 443]",
		"[file:name = 'a'] FOLLOWEDBY [file:name = 'b']",
	)
	if code != 1 {
		t.Errorf("exit code = %d, want 1 (a correlation pattern)", code)
	}
	for _, want := range []string{
		"  atom: ipv4 198.51.100.1\n",
		"  atom: domain evil.com\n",
		"  compound: (ipv4/dst eq [\"198.51.100.1\"] AND port/dst eq [\"443\"])\n",
		"  needs correlation: observation operator FOLLOWEDBY",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
