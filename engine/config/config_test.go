package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default() does not validate: %v", err)
	}
}

func TestEmptyDocumentIsDefault(t *testing.T) {
	for _, doc := range []string{"", "\n", "# only a comment\n", "---\n"} {
		c, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("Parse(%q): %v", doc, err)
		}
		if !reflect.DeepEqual(c, Default()) {
			t.Errorf("Parse(%q) differs from Default()", doc)
		}
	}
}

// TestBadFiles runs every testdata/*.bad.yml: each starts with one or more
// "# want: <text>" lines, every one of which the error must contain.
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("only %d bad files found", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".bad.yml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var wants []string
			for _, line := range strings.Split(string(data), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok {
					wants = append(wants, w)
				}
			}
			if len(wants) == 0 {
				t.Fatalf("%s has no '# want: ' line", f)
			}
			_, err = Load(f)
			if err == nil {
				t.Fatalf("Load(%s) succeeded, want an error containing %q", f, wants)
			}
			if !strings.HasPrefix(err.Error(), "config "+f+": ") {
				t.Errorf("error does not name the file: %v", err)
			}
			for _, w := range wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n  %v\ndoes not contain\n  %s", err, w)
				}
			}
		})
	}
}

func TestGoodFull(t *testing.T) {
	c, err := Load("testdata/full.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.NATS.URL = "nats://nats-1.example:4222,nats://nats-2.example:4222"
	want.NATS.Name = "iocmatch-eu1"
	want.NATS.ConnectTimeout = 10 * time.Second
	want.NATS.Auth = NATSAuth{User: "iocmatch", PasswordFile: "/run/secrets/nats_password"}
	want.NATS.TLS = TLS{CAFile: "/etc/iocmatch/ca.pem", CertFile: "/etc/iocmatch/client.pem", KeyFile: "/etc/iocmatch/client.key"}
	want.Stream.Mode = "core"
	want.Stream.EventsSubject = "logs.>"
	want.Stream.BatchSize = 512
	want.Stream.BatchWait = 20 * time.Millisecond
	want.Stream.Workers = 4
	want.Stream.Replicas = 3
	want.Stream.MaxEventBytes = 2 * MiB
	want.Stream.EventsMaxBytes = 10 * 1000 * 1000 * 1000
	want.DataDir = "/var/lib/iocmatch"
	want.Feeds = []Feed{
		{Name: "otx", Type: FeedTAXII, URL: "https://taxii.example/taxii2/", APIRoot: "/api1/",
			Collections: []string{"c-1", "c-2"}, Version: "2.1", Interval: 30 * time.Minute, Confidence: 50,
			Timeout: 60 * time.Second, Enabled: true,
			Auth: FeedAuth{TokenEnv: "OTX_TOKEN", Scheme: "Token"}},
		{Name: "one-collection", Type: FeedTAXII, URL: "https://taxii2.example/", Collections: []string{"abc"},
			Interval: time.Hour, Timeout: 60 * time.Second, Enabled: true},
		{Name: "blocklist", Type: FeedList, Path: "/etc/iocmatch/block.txt", Kind: "ipv4",
			Interval: 5 * time.Minute, Timeout: 60 * time.Second, Enabled: false},
		{Name: "misp-dir", Path: "/srv/misp-feed", Type: FeedFile, Interval: 5 * time.Minute, Timeout: 5 * time.Second, Enabled: true},
	}
	want.Match.CIDR = "cidranger"
	want.Match.Bloom = false
	want.Match.Automaton = "cloudflare"
	want.Allowlist = Allowlist{Enabled: true, WarninglistsDir: "/srv/misp-warninglists/lists",
		Include: []string{"rfc1918", "google"}, Files: []string{"/etc/iocmatch/allow.txt"}}
	want.Alerts.MinConfidence = 30
	want.Alerts.IncludeOriginal = false
	want.Alerts.Throttle = Throttle{Window: 5 * time.Minute, Entity: EntityHost, MaxEntries: 5000}
	want.Alerts.Webhook.URL = "https://siem.example/hook"
	want.Alerts.Webhook.Headers = map[string]string{"X-Tenant": "soc-1"}
	want.Alerts.Webhook.TokenEnv = "SIEM_TOKEN"
	want.Alerts.Sightings = Sightings{Enabled: true, Subject: "intel.sightings"}
	want.HTTP = HTTP{Listen: "0.0.0.0:9464", MetricsPath: "/m"}
	want.Log = Log{Level: "debug", Format: "json"}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("full.good.yml:\n got %+v\nwant %+v", c, want)
	}
	if got := c.EnabledFeeds(); len(got) != 3 || got[2].Name != "misp-dir" {
		t.Errorf("EnabledFeeds() = %v", got)
	}
}

// TestDeployExample: the annotated example parses, restates every
// default, and its only non-default is the bundled sample feed.
func TestDeployExample(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "iocmatch.example.yml")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Feeds = []Feed{{
		Name: "sample", Type: FeedFile, Path: "testdata/sample/feed.stix.json",
		Interval: 5 * time.Minute, Timeout: 60 * time.Second, Enabled: true,
	}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("%s does not restate the defaults:\n got %+v\nwant %+v", path, c, want)
	}
	// Every key of the Config struct appears in the example (documented).
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range yamlKeys(reflect.TypeFor[Config]()) {
		if !strings.Contains(string(data), key+":") {
			t.Errorf("%s does not document key %q", path, key)
		}
	}
}

// yamlKeys lists the YAML key names of t and its nested structs.
func yamlKeys(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if name == "" {
			continue
		}
		out = append(out, name)
		ft := f.Type
		if ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != durationType {
			out = append(out, yamlKeys(ft)...)
		}
	}
	return out
}

func TestDerivedFeedDefaults(t *testing.T) {
	c, err := Parse([]byte(`
feeds:
  - name: a
    url: https://taxii.example/
  - name: b
    path: ./x.txt
  - name: c
    type: csv
    url: https://lists.example/c.csv
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ      string
		interval time.Duration
	}{{FeedTAXII, time.Hour}, {FeedFile, 5 * time.Minute}, {FeedCSV, time.Hour}}
	for i, w := range want {
		f := c.Feeds[i]
		if f.Type != w.typ || f.Interval != w.interval || !f.Enabled || f.Timeout != time.Minute {
			t.Errorf("feeds[%d] = %+v, want type %s interval %s enabled", i, f, w.typ, w.interval)
		}
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteSize
		wantErr bool
	}{
		{"1048576", MiB, false},
		{"1MiB", MiB, false},
		{"1 MiB", MiB, false},
		{"8MB", 8_000_000, false},
		{"512KiB", 512 * KiB, false},
		{"1.5KiB", 1536, false},
		{"2GiB", 2 * GiB, false},
		{"0", 0, false},
		{"1.3B", 0, true},
		{"-1", 0, true},
		{"MiB", 0, true},
		{"1 parsec", 0, true},
		{"99999999999GiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	for _, b := range []ByteSize{MiB, 3 * GiB, 1500, 0, 2 * KiB} {
		got, err := ParseByteSize(b.String())
		if err != nil || got != b {
			t.Errorf("round trip %d -> %q -> %d, %v", int64(b), b.String(), got, err)
		}
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("IOCMATCH_TEST_TOKEN", "tok")
	if got, err := (NATSAuth{User: "u", PasswordFile: pw}).Password(); err != nil || got != "s3cret" {
		t.Errorf("Password() = %q, %v", got, err)
	}
	if got, err := (NATSAuth{TokenEnv: "IOCMATCH_TEST_TOKEN"}).Token(); err != nil || got != "tok" {
		t.Errorf("Token() = %q, %v", got, err)
	}
	if got, err := (NATSAuth{}).Token(); err != nil || got != "" {
		t.Errorf("unset Token() = %q, %v", got, err)
	}
	_, err := (NATSAuth{TokenEnv: "IOCMATCH_TEST_UNSET_VAR"}).Token()
	if err == nil || !strings.Contains(err.Error(), "nats.auth.token_env: environment variable IOCMATCH_TEST_UNSET_VAR") {
		t.Errorf("unset env error = %v", err)
	}
	_, err = (Webhook{TokenFile: filepath.Join(dir, "missing")}).Token()
	if err == nil || !strings.Contains(err.Error(), "alerts.webhook.token_file") {
		t.Errorf("missing file error = %v", err)
	}
	if got, err := (FeedAuth{PasswordEnv: "IOCMATCH_TEST_TOKEN"}).Password(); err != nil || got != "tok" {
		t.Errorf("FeedAuth.Password() = %q, %v", got, err)
	}
}

func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "allow.txt")
	if err := os.WriteFile(file, []byte("10.0.0.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Default()
	c.Allowlist.Files = []string{file}
	c.Allowlist.WarninglistsDir = dir
	if err := c.CheckFiles(); err != nil {
		t.Fatalf("CheckFiles: %v", err)
	}
	c.Allowlist.WarninglistsDir = file
	c.Allowlist.Files = []string{filepath.Join(dir, "nope.txt")}
	c.Feeds = []Feed{{Name: "x", Path: filepath.Join(dir, "feed.json"), Enabled: true}}
	err := c.CheckFiles()
	for _, w := range []string{"allowlist.warninglists_dir: " + file + " is not a directory", "allowlist.files[0]:", "feeds[0].path:"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("CheckFiles error %v does not contain %q", err, w)
		}
	}
}

func TestTLSConfig(t *testing.T) {
	if cfg, err := (TLS{}).Config(); cfg != nil || err != nil {
		t.Errorf("disabled TLS: %v, %v", cfg, err)
	}
	cfg, err := (TLS{InsecureSkipVerify: true, ServerName: "n"}).Config()
	if err != nil || cfg.MinVersion == 0 || cfg.ServerName != "n" {
		t.Errorf("Config() = %+v, %v", cfg, err)
	}
	bad := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bad, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (TLS{CAFile: bad}).Config(); err == nil || !strings.Contains(err.Error(), "nats.tls.ca_file") {
		t.Errorf("bad CA error = %v", err)
	}
}

func TestEmbeddedHostPort(t *testing.T) {
	h, p, err := Embedded{Listen: "[::1]:0"}.HostPort()
	if err != nil || h != "::1" || p != 0 {
		t.Errorf("HostPort = %q %d %v", h, p, err)
	}
	if _, _, err := (Embedded{Listen: "x:99999"}).HostPort(); err == nil {
		t.Error("port 99999 accepted")
	}
}

func TestSubjectOverlaps(t *testing.T) {
	tests := []struct {
		pattern, prefix string
		want            bool
	}{
		{"iocmatch.events.>", "iocmatch.alerts", false},
		{"iocmatch.>", "iocmatch.alerts", true},
		{">", "x", true},
		{"*.alerts.>", "iocmatch.alerts", true},
		{"iocmatch.*", "iocmatch.alerts", true},
		{"iocmatch.*", "iocmatch.alerts.x", false},
		{"logs", "logs", true},
		{"logs.a", "logs", true},   // conservative: logs.<token> may be "a"
		{"logs.*.x", "logs", true}, // conservative
	}
	for _, tt := range tests {
		if got := subjectOverlaps(tt.pattern, tt.prefix); got != tt.want {
			t.Errorf("subjectOverlaps(%q, %q) = %v, want %v", tt.pattern, tt.prefix, got, tt.want)
		}
	}
}

// FuzzConfigParse: no input panics; an accepted config validates.
func FuzzConfigParse(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte("nats:\n  url: nats://x:4222\n"))
	f.Add([]byte("feeds:\n  - name: a\n    path: b\n    collection: x\n"))
	f.Add([]byte("a: &x {b: 1}\nc: *x\n"))
	f.Add([]byte("stream: {batch_size: 1e9}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid config: %v", err)
		}
	})
}

// FuzzParseByteSize: no input panics; accepted sizes are non-negative
// and round-trip through String.
func FuzzParseByteSize(f *testing.F) {
	fuzzseed.Add(f)
	for _, s := range []string{"1MiB", "8MB", "1.5KiB", "0", "9e99", "1e3", "  2 GiB ", "-1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := string(in)
		b, err := ParseByteSize(s)
		if err != nil {
			return
		}
		if b < 0 {
			t.Fatalf("ParseByteSize(%q) = %d < 0", s, b)
		}
		if back, err := ParseByteSize(b.String()); err != nil || back != b {
			t.Fatalf("round trip %q -> %d -> %q -> %d, %v", s, b, b.String(), back, err)
		}
	})
}
