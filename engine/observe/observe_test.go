package observe

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

func newObserver(t testing.TB, opts Options) *Observer {
	t.Helper()
	o, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// obsString renders observables as "kind role field=value" lines.
func obsString(obs []ioc.Observable) string {
	var b strings.Builder
	for _, ob := range obs {
		b.WriteString(ob.Kind.String())
		b.WriteByte(' ')
		b.WriteString(ob.Role.String())
		b.WriteByte(' ')
		b.WriteString(ob.Field)
		b.WriteByte('=')
		b.Write(ob.Value)
		b.WriteByte('\n')
	}
	return b.String()
}

func has(obs []ioc.Observable, k ioc.Kind, v string) bool {
	for _, ob := range obs {
		if ob.Kind == k && string(ob.Value) == v {
			return true
		}
	}
	return false
}

func TestParseFormat(t *testing.T) {
	for _, f := range []Format{FormatAuto, FormatECS, FormatZeek, FormatEVE, FormatSysmon, FormatRaw} {
		got, err := ParseFormat(f.String())
		if err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f.String(), got, err)
		}
	}
	if f, err := ParseFormat(" Suricata "); err != nil || f != FormatEVE {
		t.Errorf("ParseFormat(suricata) = %v, %v", f, err)
	}
	_, err := ParseFormat("cef")
	if err == nil || !strings.Contains(err.Error(), `"cef"`) {
		t.Errorf("ParseFormat(cef) error = %v, want one naming the value", err)
	}
}

// TestTraps: look-alikes that must not become the observable they resemble.
func TestTraps(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		event  string
		want   []string // "kind=value" that must be present
		absent []string // "kind=value" that must not be
	}{
		{"eve tls serial is not ipv6", FormatAuto,
			`{"event_type":"tls","src_ip":"192.0.2.1","tls":{"serial":"5C:9C:AA:01:02:03:04:05"}}`,
			[]string{"ipv4=192.0.2.1"}, []string{"ipv6=5c:9c:aa:1:2:3:4:5"}},
		{"eve 32-hex serial is not md5", FormatEVE,
			`{"event_type":"tls","src_ip":"192.0.2.1","tls":{"serial":"44D88612FEA8A8F36DE82E1278ABB02F"}}`,
			nil, []string{"md5=44d88612fea8a8f36de82e1278abb02f"}},
		{"zeek x509 serial is not md5", FormatZeek,
			`{"ts":1,"certificate.serial":"44d88612fea8a8f36de82e1278abb02f"}`,
			nil, []string{"md5=44d88612fea8a8f36de82e1278abb02f"}},
		{"ecs x509 serial ignored", FormatECS,
			`{"tls":{"server":{"x509":{"serial_number":"44d88612fea8a8f36de82e1278abb02f"}}}}`,
			nil, []string{"md5=44d88612fea8a8f36de82e1278abb02f"}},
		{"raw serial is not ipv6", FormatRaw,
			`cert serial 5C:9C:AA:01:02:03:04:05 mac 00:1a:2b:3c:4d:5e`,
			nil, []string{"ipv6=5c:9c:aa:1:2:3:4:5"}},
		{"raw real ipv6 with eight groups", FormatRaw,
			`peer 2001:db8:0:0:0:0:0:1 ok`,
			[]string{"ipv6=2001:db8::1"}, nil},
		{"raw 4-in-6 is unmapped", FormatRaw,
			`peer ::ffff:203.0.113.66 ok`,
			[]string{"ipv4=203.0.113.66"}, nil},
		{"raw leading-zero quad is not an address", FormatRaw,
			`ip 010.1.2.3 ok`,
			nil, []string{"ipv4=10.1.2.3", "domain=010.1.2.3"}},
		{"raw time is not ipv6", FormatRaw,
			`at 10:23:45 and 2026-12-03T10:23:45Z`,
			nil, nil},
		{"raw 31 and 33 hex are not hashes", FormatRaw,
			`a 44d88612fea8a8f36de82e1278abb02 b 44d88612fea8a8f36de82e1278abb02ff`,
			nil, []string{"md5=44d88612fea8a8f36de82e1278abb02f"}},
		{"raw hash bounded by non-hex", FormatRaw,
			`file_44d88612fea8a8f36de82e1278abb02f.bin`,
			[]string{"md5=44d88612fea8a8f36de82e1278abb02f"}, nil},
		{"raw file names are not domains", FormatRaw,
			`ran payload.exe and index.html then C:\tmp\x.zip /var/www/site.example`,
			nil, []string{"domain=payload.exe", "domain=index.html", "domain=x.zip", "domain=site.example"}},
		{"raw version is not a domain or address", FormatRaw,
			`version 1.2.3 build 10.0.19045`,
			nil, []string{"domain=1.2.3"}},
		{"raw near miss domain", FormatRaw,
			`query notmalware-c2.example`,
			[]string{"domain=notmalware-c2.example"}, []string{"domain=malware-c2.example"}},
		{"raw url trailing punctuation", FormatRaw,
			`see (http://EVIL-update.test/payload.exe).`,
			[]string{"url=http://evil-update.test/payload.exe"}, nil},
		{"raw email", FormatRaw,
			`from=<Phish@Malware-C2.example>`,
			[]string{"email=phish@malware-c2.example"}, nil},
		{"raw ip:port", FormatRaw,
			`connect 203.0.113.80:4444`,
			[]string{"ipv4=203.0.113.80"}, []string{"port=4444"}},
		{"domain field holding an address", FormatECS,
			`{"destination":{"domain":"203.0.113.66"}}`,
			[]string{"ipv4=203.0.113.66"}, []string{"domain=203.0.113.66"}},
		{"wrong-length hash field", FormatECS,
			`{"file":{"hash":{"md5":"44d88612fea8a8f36de82e1278abb02f0","sha256":"zz"}}}`,
			nil, []string{"md5=44d88612fea8a8f36de82e1278abb02f"}},
		{"4-in-6 field unmapped", FormatECS,
			`{"source":{"ip":"::ffff:192.0.2.1"}}`,
			[]string{"ipv4=192.0.2.1"}, nil},
		{"zoned address skipped", FormatECS,
			`{"source":{"ip":"fe80::1%eth0"}}`,
			nil, []string{"ipv6=fe80::1"}},
		{"port out of range", FormatECS,
			`{"destination":{"port":70000},"source":{"port":"0443"}}`,
			[]string{"port=443"}, []string{"port=70000"}},
		{"float port skipped", FormatECS,
			`{"destination":{"port":4.5e2}}`,
			nil, []string{"port=450"}},
		{"imphash skipped", FormatSysmon,
			`{"Hashes":"IMPHASH=44D88612FEA8A8F36DE82E1278ABB02F,SHA256=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"}`,
			[]string{"sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}, []string{"md5=44d88612fea8a8f36de82e1278abb02f"}},
		{"escaped strings are unescaped", FormatECS,
			`{"url":{"full":"http:\/\/evil-update.test\/payload.exe"},"dns":{"question":{"name":"m\u0061lware-c2.example"}}}`,
			[]string{"url=http://evil-update.test/payload.exe", "domain=malware-c2.example"}, nil},
		{"IDN domain to punycode", FormatECS,
			`{"dns":{"question":{"name":"Bücher.example."}}}`,
			[]string{"domain=xn--bcher-kva.example"}, nil},
		{"url default port dropped, fragment dropped", FormatECS,
			`{"url":{"full":"HTTPS://Evil.Example:443/A?b=C#x"}}`,
			[]string{"url=https://evil.example/A?b=C"}, nil},
		{"zeek http absolute uri (proxy)", FormatZeek,
			`{"ts":1,"uid":"C1","host":"evil-update.test","uri":"http://evil-update.test/payload.exe"}`,
			[]string{"url=http://evil-update.test/payload.exe", "domain=evil-update.test"}, nil},
		{"eve http host with port", FormatEVE,
			`{"event_type":"http","http":{"hostname":"evil-update.test","http_port":8080,"url":"/x"}}`,
			[]string{"url=http://evil-update.test:8080/x"}, nil},
		{"zeek http bare ipv6 host", FormatZeek,
			`{"ts":1,"uid":"C1","host":"2001:DB8::1","uri":"/x","id.resp_p":8080}`,
			[]string{"url=http://[2001:db8::1]:8080/x", "ipv6=2001:db8::1"}, nil},
		{"zeek http bracketed ipv6 host with port", FormatZeek,
			`{"ts":1,"uid":"C1","host":"[2001:db8::1]:81","uri":"/x","id.resp_p":8080}`,
			[]string{"url=http://[2001:db8::1]:81/x", "ipv6=2001:db8::1"}, nil},
		{"registry hive spelled out", FormatSysmon,
			`{"TargetObject":"HKCU/Software/Run/"}`,
			[]string{`registry-key=hkey_current_user\software\run`}, nil},
	}
	o := newObserver(t, Options{})
	var res Result
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := o.Observe([]byte(tt.event), tt.format, &res); err != nil {
				t.Fatal(err)
			}
			checkObservables(t, tt.name, 1, &res)
			for _, w := range tt.want {
				k, v, _ := strings.Cut(w, "=")
				kind, err := ioc.ParseKind(k)
				if err != nil {
					t.Fatal(err)
				}
				if !has(res.Observables, kind, v) {
					t.Errorf("missing %s in:\n%s", w, obsString(res.Observables))
				}
			}
			for _, a := range tt.absent {
				k, v, _ := strings.Cut(a, "=")
				kind, _ := ioc.ParseKind(k)
				if has(res.Observables, kind, v) {
					t.Errorf("unexpected %s in:\n%s", a, obsString(res.Observables))
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	many := "[" + strings.Repeat("1,", 5000) + "1]"
	tests := []struct {
		name   string
		event  string
		format Format
		kind   error
		offset int
		text   string
	}{
		{"truncated", `{"source":{"ip":"1.2.3.4"`, FormatAuto, ErrMalformed, 25, "unexpected end of input in object"},
		{"bad literal", `{"a":tru}`, FormatECS, ErrMalformed, 8, "literal true"},
		{"control in string", "{\"a\":\"x\x01\"}", FormatECS, ErrMalformed, 7, "control character"},
		{"bad escape", `{"a":"\q"}`, FormatECS, ErrMalformed, 7, "invalid escape"},
		{"trailing data", `{"a":1} x`, FormatECS, ErrMalformed, 8, "after top-level value"},
		{"leading zero", `{"a":01}`, FormatECS, ErrMalformed, 6, "after object value"},
		{"missing colon", `{"a" 1}`, FormatECS, ErrMalformed, 5, "after object key"},
		{"empty", ``, FormatECS, ErrMalformed, 0, "unexpected end of input"},
		{"too deep", deep, FormatECS, ErrTooDeep, 160, "nesting deeper than 32"},
		{"too many fields", many, FormatECS, ErrTooManyFields, 8191, "more than 4096 values"},
		{"binary raw", "abc\x00def", FormatAuto, ErrBinary, 3, "NUL byte"},
		{"control raw", "\x01\x02\x03\x04ab", FormatRaw, ErrBinary, -1, "control bytes"},
	}
	o := newObserver(t, Options{})
	res := Result{Observables: make([]ioc.Observable, 3)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := o.Observe([]byte(tt.event), tt.format, &res)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error = %v, want *Error", err)
			}
			if !errors.Is(err, tt.kind) || e.Reason != tt.kind.Error() {
				t.Errorf("error %v (reason %q), want kind %v", err, e.Reason, tt.kind)
			}
			if e.Offset != tt.offset {
				t.Errorf("offset = %d, want %d (%v)", e.Offset, tt.offset, err)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not contain %q", err, tt.text)
			}
			if len(res.Observables) != 0 {
				t.Errorf("observables after error: %v", obsString(res.Observables))
			}
		})
	}
	small := newObserver(t, Options{MaxEventBytes: 10})
	err := small.Observe([]byte(`{"a":"0123456789"}`), FormatAuto, &res)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "18 bytes exceeds the limit of 10") {
		t.Errorf("too large: %v", err)
	}
	capped := newObserver(t, Options{MaxObservables: 3})
	if err := capped.Observe([]byte(strings.Repeat("192.0.2.1 ", 10)), FormatRaw, &res); err != nil || len(res.Observables) != 3 || !res.Truncated {
		t.Errorf("MaxObservables 3: %v, %d observables, truncated %v", err, len(res.Observables), res.Truncated)
	}
	if err := capped.Observe([]byte("192.0.2.1"), FormatRaw, &res); err != nil || len(res.Observables) != 2 || res.Truncated {
		t.Errorf("MaxObservables 3, small event: %v, %d observables, truncated %v", err, len(res.Observables), res.Truncated)
	}
	if _, err := New(Options{MaxDepth: MaxDepthLimit + 1}); err == nil || !strings.Contains(err.Error(), "MaxDepth = 10001") {
		t.Errorf("New(MaxDepth 10001) = %v, want an error naming the option", err)
	}
	if _, err := New(Options{MaxDepth: -1}); err == nil || !strings.Contains(err.Error(), "MaxDepth") {
		t.Errorf("New(MaxDepth -1) = %v, want an error naming the option", err)
	}
}

// TestDetect checks auto-detection of each format and that a fixed
// format overrides it.
func TestDetect(t *testing.T) {
	tests := []struct {
		event string
		want  Format
	}{
		{`{"@timestamp":"x","ecs":{"version":"8"},"source":{"ip":"192.0.2.1"}}`, FormatECS},
		{`{"@timestamp":"x","source.ip":"192.0.2.1"}`, FormatECS},
		{`{"source":{"ip":"192.0.2.1"}}`, FormatECS},
		{`{"ts":1.5,"uid":"C1","id.orig_h":"192.0.2.1"}`, FormatZeek},
		{`{"ts":"x","id_orig_h":"192.0.2.1"}`, FormatZeek},
		{`{"timestamp":"x","event_type":"alert","src_ip":"192.0.2.1"}`, FormatEVE},
		{`{"EventID":1,"Image":"C:\\x.exe"}`, FormatSysmon},
		{`{"@timestamp":"x","EventID":3,"DestinationIp":"192.0.2.1"}`, FormatSysmon},
		{`{"@timestamp":"x","ecs":{"version":"8"},"winlog":{"event_id":1,"event_data":{"Image":"C:\\x.exe"}}}`, FormatECS},
		{`  192.0.2.1 - - GET /`, FormatRaw},
		{`{"eventSource":"s3.amazonaws.com","sourceIPAddress":"203.0.113.66"}`, FormatRaw},
		{`[1,2]`, FormatRaw},
		{``, FormatRaw},
	}
	o := newObserver(t, Options{})
	var res Result
	for _, tt := range tests {
		if err := o.Observe([]byte(tt.event), FormatAuto, &res); err != nil {
			t.Errorf("Observe(%s): %v", tt.event, err)
			continue
		}
		if res.Format != tt.want {
			t.Errorf("Observe(%s) format = %s, want %s", tt.event, res.Format, tt.want)
		}
		if len(res.Observables) == 0 && tt.event != "" && tt.event != "[1,2]" {
			t.Errorf("Observe(%s): no observables", tt.event)
		}
	}
	// A fixed format uses its own profile only: src_ip means nothing to ECS.
	if err := o.Observe([]byte(`{"src_ip":"192.0.2.1","source":{"ip":"192.0.2.2"}}`), FormatECS, &res); err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatECS || has(res.Observables, ioc.KindIPv4, "192.0.2.1") || !has(res.Observables, ioc.KindIPv4, "192.0.2.2") {
		t.Errorf("fixed ECS: format %s observables\n%s", res.Format, obsString(res.Observables))
	}
	// Winlogbeat's ECS events expose the Sysmon fields too.
	if err := o.Observe([]byte(tests[8].event), FormatAuto, &res); err != nil {
		t.Fatal(err)
	}
	if !has(res.Observables, ioc.KindProcessName, "x.exe") {
		t.Errorf("winlogbeat: %s", obsString(res.Observables))
	}
}

// TestReuse checks that a second call reuses the result and that values
// of the first call are not corrupted before the second call.
func TestReuse(t *testing.T) {
	o := newObserver(t, Options{})
	var res Result
	ev1 := []byte(`{"source":{"ip":"192.0.2.1"},"dns":{"question":{"name":"A.EXAMPLE"}}}`)
	if err := o.Observe(ev1, FormatECS, &res); err != nil {
		t.Fatal(err)
	}
	got := obsString(res.Observables)
	if got != "ipv4 src source.ip=192.0.2.1\ndomain any dns.question.name=a.example\n" {
		t.Fatalf("first: %s", got)
	}
	if err := o.Observe([]byte(`just text`), FormatAuto, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Observables) != 1 || res.Format != FormatRaw || res.EventID != nil {
		t.Errorf("second: %s %s", res.Format, obsString(res.Observables))
	}
}

func TestUserProfile(t *testing.T) {
	doc := `
name: cloudtrail
format: ecs
fields:
  - {field: sourceIPAddress, kind: ip, role: src}
  - {field: requestParameters.host, as: host, role: dst}
  - {field: eventID, as: event-id}
text_fields: [errorMessage]
`
	p, err := LoadProfile(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	o := newObserver(t, Options{Profiles: []Profile{p}})
	var res Result
	ev := `{"eventID":"e-1","sourceIPAddress":"203.0.113.66","requestParameters":{"host":"Malware-C2.example"},"errorMessage":"denied for 198.51.100.7","source":{"ip":"192.0.2.1"}}`
	if err := o.Observe([]byte(ev), FormatECS, &res); err != nil {
		t.Fatal(err)
	}
	want := "ipv4 src sourceIPAddress=203.0.113.66\ndomain dst requestParameters.host=malware-c2.example\n" +
		"text any errorMessage=denied for 198.51.100.7\nipv4 any errorMessage=198.51.100.7\nipv4 src source.ip=192.0.2.1\n"
	if got := obsString(res.Observables); got != want || string(res.EventID) != "e-1" {
		t.Errorf("extended ecs: id %q\n%s\nwant\n%s", res.EventID, got, want)
	}

	// A profile named like a builtin replaces it.
	repl, err := LoadProfile(strings.NewReader(`{"name":"eve","format":"eve","fields":[{"field":"src_ip","kind":"ipv4","role":"src"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	o = newObserver(t, Options{Profiles: []Profile{repl}})
	if err := o.Observe([]byte(`{"event_type":"x","src_ip":"192.0.2.1","dest_ip":"192.0.2.2"}`), FormatAuto, &res); err != nil {
		t.Fatal(err)
	}
	if got := obsString(res.Observables); got != "ipv4 src src_ip=192.0.2.1\n" {
		t.Errorf("replaced eve: %s", got)
	}
}

func TestLoadProfileErrors(t *testing.T) {
	tests := []struct{ doc, want string }{
		{"name: x\nformat: ecs\nfeilds: []\n", "feilds"},
		{"name: x\nformat: ecs\nfields:\n  - {field: a, kind: ipv4, colour: red}\n", "colour"},
		{"name: x\nformat: cef\n", `"cef"`},
		{"name: x\nformat: raw\n", "format raw cannot have a profile"},
		{"format: ecs\n", "empty name"},
		{"name: x\nformat: ecs\nfields:\n  - {field: a, kind: bogus}\n", `fields[0] "a": kind: unknown indicator kind "bogus"`},
		{"name: x\nformat: ecs\nfields:\n  - {field: a, kind: ipv4, role: up}\n", `role: unknown role "up"`},
		{"name: x\nformat: ecs\nfields:\n  - {field: a, as: magic}\n", `as: unknown extractor "magic"`},
		{"name: x\nformat: ecs\nfields:\n  - {field: a}\n", "kind invalid cannot be observed"},
		{"name: x\nformat: ecs\nfields:\n  - {field: a, kind: cidr}\n", "kind cidr4 cannot be observed"},
		{"name: x\nformat: ecs\nfields:\n  - {field: '', kind: ipv4}\n", "empty field path"},
		{"name: x\nformat: ecs\nfields:\n  - {field: a, kind: md5, as: path}\n", "extractor path: kind md5"},
		{"", "empty document"},
		{"{", "profile:"},
	}
	for _, tt := range tests {
		_, err := LoadProfile(strings.NewReader(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("LoadProfile(%q) error = %v, want it to contain %q", tt.doc, err, tt.want)
		}
	}
	if _, err := New(Options{Profiles: []Profile{{Name: "ecs", Format: FormatZeek}}}); err == nil || !strings.Contains(err.Error(), "replaces the builtin ecs") {
		t.Errorf("New with mismatched replacement: %v", err)
	}
}

func TestBuiltinProfilesValid(t *testing.T) {
	for _, p := range BuiltinProfiles() {
		if err := p.Validate(); err != nil {
			t.Error(err)
		}
	}
}

// TestNoAllocs asserts that observing typical events does not allocate.
func TestNoAllocs(t *testing.T) {
	o := newObserver(t, Options{})
	var res Result
	for _, ev := range benchEvents {
		ev := ev
		if err := o.Observe(ev.data, FormatAuto, &res); err != nil {
			t.Fatal(ev.name, err)
		}
		n := testing.AllocsPerRun(100, func() {
			if err := o.Observe(ev.data, FormatAuto, &res); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("%s: %v allocs per Observe, want 0", ev.name, n)
		}
	}
}

func TestAppendUnescaped(t *testing.T) {
	for in, want := range map[string]string{
		`a\"b\\c\/d\b\f\n\r\t`: "a\"b\\c/d\b\f\n\r\t",
		`\u00e9\ud83d\ude00`:   "é😀",
		`\ud83d`:               "\uFFFD",
		`\ud83dx`:              "\uFFFDx",
		`\ude00\u0041`:         "\uFFFDA",
	} {
		if got := string(appendUnescaped(nil, []byte(in))); got != want {
			t.Errorf("appendUnescaped(%q) = %q, want %q", in, got, want)
		}
	}
	if !bytes.Equal(appendUnescaped([]byte("x"), []byte("y")), []byte("xy")) {
		t.Error("appendUnescaped does not append")
	}
}

func TestSpecialIn8(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := c < 0x20 || c == '"' || c == '\\'
		for pos := 0; pos < 8; pos++ {
			b := []byte("aaaaaaaa")
			b[pos] = byte(c)
			var w uint64
			for i := 7; i >= 0; i-- {
				w = w<<8 | uint64(b[i])
			}
			if got := specialIn8(w); got != want {
				t.Errorf("specialIn8 with %#02x at %d = %v, want %v", c, pos, got, want)
			}
		}
	}
	// Bytes >= 0x80 around a special byte do not hide it.
	if !specialIn8(0xff_ff_ff_22_ff_ff_ff_ff) || specialIn8(0xff_ff_ff_ff_ff_ff_ff_ff) {
		t.Error("specialIn8 wrong with high bytes")
	}
}

// TestUnknownJSON: JSON of no known shape is scanned as text.
func TestUnknownJSON(t *testing.T) {
	o := newObserver(t, Options{})
	var res Result
	ev := []byte(`{"eventSource":"s3.amazonaws.com","sourceIPAddress":"203.0.113.66","userAgent":"aws-cli","requestParameters":{"bucketName":"x","key":"44d88612fea8a8f36de82e1278abb02f"}}`)
	if err := o.Observe(ev, FormatAuto, &res); err != nil {
		t.Fatal(err)
	}
	checkObservables(t, "unknown", 1, &res)
	want := "text any event.original=" + string(ev) + "\n" +
		"domain any event.original=s3.amazonaws.com\nipv4 any event.original=203.0.113.66\nmd5 any event.original=44d88612fea8a8f36de82e1278abb02f\n"
	if got := obsString(res.Observables); res.Format != FormatRaw || got != want {
		t.Errorf("format %s\n%s\nwant\n%s", res.Format, got, want)
	}
	// With a fixed format the profile alone applies.
	if err := o.Observe(ev, FormatECS, &res); err != nil || len(res.Observables) != 0 {
		t.Errorf("fixed ECS: %v\n%s", err, obsString(res.Observables))
	}
}
