package lists

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
	"github.com/iocmatch/iocmatch/engine/ioc"
)

func TestInferKind(t *testing.T) {
	tests := []struct {
		in       string
		kind     ioc.Kind
		value    string
		errMatch string
	}{
		{"203.0.113.66", ioc.KindIPv4, "203.0.113.66", ""},
		{" 2001:DB8:bad::1 ", ioc.KindIPv6, "2001:db8:bad::1", ""},
		{"::ffff:192.0.2.1", ioc.KindIPv4, "192.0.2.1", ""},
		{"198.51.100.7/24", ioc.KindCIDRv4, "198.51.100.0/24", ""},
		{"2001:db8::/32", ioc.KindCIDRv6, "2001:db8::/32", ""},
		{"192.0.2.1/32", ioc.KindIPv4, "192.0.2.1", ""},
		{"44D88612FEA8A8F36DE82E1278ABB02F", ioc.KindMD5, "44d88612fea8a8f36de82e1278abb02f", ""},
		{"3395856ce81f2b7382dee72602f798b642f14140", ioc.KindSHA1, "3395856ce81f2b7382dee72602f798b642f14140", ""},
		{strings.Repeat("ab", 32), ioc.KindSHA256, strings.Repeat("ab", 32), ""},
		{strings.Repeat("0f", 64), ioc.KindSHA512, strings.Repeat("0f", 64), ""},
		{"HTTP://Evil-Update.TEST:80/payload.exe#x", ioc.KindURL, "http://evil-update.test/payload.exe", ""},
		{"Phish@Malware-C2.Example", ioc.KindEmail, "phish@malware-c2.example", ""},
		{"Malware-C2.Example.", ioc.KindDomain, "malware-c2.example", ""},
		{"bücher.example", ioc.KindDomain, "xn--bcher-kva.example", ""},
		{"localhost", ioc.KindInvalid, "", "cannot infer"},
		{"abc12", ioc.KindInvalid, "", "cannot infer"},
		{"not a value", ioc.KindInvalid, "", "cannot infer"},
		{"", ioc.KindInvalid, "", "empty"},
		{"http://", ioc.KindInvalid, "", "url"},
		{"a@", ioc.KindInvalid, "", "email"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			k, v, err := InferKind(tt.in)
			if tt.errMatch != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errMatch) {
					t.Fatalf("InferKind(%q) = %s %q, %v; want error with %q", tt.in, k, v, err, tt.errMatch)
				}
				return
			}
			if err != nil || k != tt.kind || v != tt.value {
				t.Fatalf("InferKind(%q) = %s %q, %v; want %s %q", tt.in, k, v, err, tt.kind, tt.value)
			}
		})
	}
}

// summary renders indicators as "id kind value [labels]" lines.
func summary(inds []*ioc.Indicator) []string {
	var out []string
	for _, i := range inds {
		s := fmt.Sprintf("%s %s %q", i.ID, i.Kind, i.Value)
		if len(i.Labels) > 0 {
			s += fmt.Sprintf(" %v", i.Labels)
		}
		if i.Description != "" {
			s += " d=" + i.Description
		}
		if i.Confidence != 0 {
			s += fmt.Sprintf(" c=%d", i.Confidence)
		}
		out = append(out, s)
	}
	return out
}

func TestReadPlain(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		in      string
		want    []string
		skipped []Skip
		dups    int
	}{
		{"inferred kinds, comments, blank lines", Options{Feed: "f", Confidence: 40},
			"\ufeff# header\n\n203.0.113.66\r\nEvil.Example   # inline comment\nhttp://x.example/a#frag\n10.0.0.0/8 ; SBL123\n  \n# end\n",
			[]string{
				`f:ipv4:203.0.113.66 ipv4 "203.0.113.66" c=40`,
				`f:domain:evil.example domain "evil.example" c=40`,
				`f:url:http://x.example/a url "http://x.example/a" c=40`,
				`f:cidr4:10.0.0.0/8 cidr4 "10.0.0.0/8" c=40`,
			}, nil, 0},
		{"ipsum TSV with counts", Options{Feed: "ipsum"},
			"# IP\tnumber of (black)lists\n77.90.185.20\t10\n2.57.122.53\t9\n",
			[]string{`ipsum:ipv4:77.90.185.20 ipv4 "77.90.185.20" [count:10]`, `ipsum:ipv4:2.57.122.53 ipv4 "2.57.122.53" [count:9]`}, nil, 0},
		{"hosts file", Options{Feed: "h"},
			"0.0.0.0 ads.example\n127.0.0.1 tracker.example\n",
			[]string{`h:domain:ads.example domain "ads.example"`, `h:domain:tracker.example domain "tracker.example"`}, nil, 0},
		{"given kind", Options{Feed: "j", Kind: ioc.KindJA3},
			"E7D705A3286E19EA42F587B344EE6865\nnothex\n",
			[]string{`j:ja3:e7d705a3286e19ea42f587b344ee6865 ja3 "e7d705a3286e19ea42f587b344ee6865"`},
			[]Skip{{2, `ja3 "nothex": 6 characters, want 32 hex digits`}}, 0},
		{"free-text kind keeps the whole line", Options{Feed: "c", Kind: ioc.KindCommandLine},
			"-EncodedCommand JAB\ncmd /c whoami # not a comment here\n",
			[]string{`c:command-line:-EncodedCommand JAB command-line "-EncodedCommand JAB"`, `c:command-line:cmd /c whoami # not a comment here command-line "cmd /c whoami # not a comment here"`}, nil, 0},
		{"bad lines skipped with line numbers, duplicates dropped", Options{Feed: "x"},
			"a.example\nA.EXAMPLE.\nfoo bar baz\nlocalhost\n",
			[]string{`x:domain:a.example domain "a.example"`},
			[]Skip{{3, `unexpected text after the value "foo": "bar baz"`}, {4, `cannot infer the kind of "localhost" (not an address, prefix, hash, URL, e-mail or domain)`}}, 1},
		{"compound is not a list kind", Options{Feed: "x", Kind: ioc.KindCompound},
			"a\n", nil, []Skip{{1, "kind compound cannot be given as a list value"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inds, rep, err := ReadPlain(strings.NewReader(tt.in), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(inds); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("indicators:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if !reflect.DeepEqual(rep.Skipped, tt.skipped) {
				t.Errorf("skipped = %+v, want %+v", rep.Skipped, tt.skipped)
			}
			if rep.Duplicates != tt.dups || rep.Indicators != len(inds) {
				t.Errorf("report = %+v", rep)
			}
			for _, i := range inds {
				if err := i.Validate(); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		skipped []Skip
	}{
		{"headerless", "domain,Malware-C2.Example,SampleRAT C2\nip,2001:db8:bad::1\nsha-256," + strings.Repeat("A", 64) + ",\"quoted, with comma\"\n",
			[]string{`f:domain:malware-c2.example domain "malware-c2.example" d=SampleRAT C2`, `f:ipv6:2001:db8:bad::1 ipv6 "2001:db8:bad::1"`, `f:sha256:` + strings.Repeat("a", 64) + ` sha256 "` + strings.Repeat("a", 64) + `" d=quoted, with comma`}, nil},
		{"header, comments and extra columns", "# comment\nvalue,type,confidence,tags,description\n203.0.113.66,ipv4,90,tlp:amber;c2,addr\n# another\nevil.test,domain,,,\n",
			[]string{`f:ipv4:203.0.113.66 ipv4 "203.0.113.66" [tlp:amber c2] d=addr c=90`, `f:domain:evil.test domain "evil.test"`}, nil},
		{"bad records", "domain,ok.example\nnokind,x.example\ndomain\nipv4,999.1.1.1\ncompound,x\ndomain,a.example,d,extra\nipv4,\"unterminated\n",
			[]string{`f:domain:ok.example domain "ok.example"`},
			[]Skip{
				{2, `unknown indicator kind "nokind"`},
				{3, `1 field(s), want kind,value[,description]`},
				{4, `ipv4 "999.1.1.1": ParseAddr("999.1.1.1"): IPv4 field has value >255`},
				{5, `kind compound cannot be given in CSV (compound indicators need the JSON-lines format)`},
				{6, `4 fields, want at most 3`},
				{7, `extraneous or missing " in quoted-field`},
			}},
		{"confidence out of range", "kind,value,confidence\ndomain,a.example,101\n", nil, []Skip{{2, `confidence "101": want an integer 0-100`}}},
		{"free-text values keep spaces", "substring, -enc \n", []string{`f:substring: -enc  substring " -enc "`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inds, rep, err := ReadCSV(strings.NewReader(tt.in), Options{Feed: "f", Source: "x.csv"})
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(inds); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("indicators:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if !reflect.DeepEqual(rep.Skipped, tt.skipped) {
				t.Errorf("skipped =\n%+v\nwant\n%+v", rep.Skipped, tt.skipped)
			}
		})
	}
}

func TestReadJSONLines(t *testing.T) {
	in := `# engine model
{"id":"i1","kind":"ip","value":"2001:DB8::1","confidence":80,"feed":"own"}
{"kind":"domain","value":"Evil.Example"}

{"kind":"compound","expr":{"op":"and","args":[{"op":"pred","pred":{"target":{"kind":"ipv4","role":"dst"},"op":"eq","values":["::ffff:203.0.113.80"]}},{"op":"pred","pred":{"target":{"kind":"port","role":"dst"},"op":"eq","values":["04444"]}}]}}
{"kind":"compound","expr":{"op":"and","args":[{"op":"pred","pred":{"target":{"kind":"ipv4","role":"dst"},"op":"eq","values":["203.0.113.80"]}},{"op":"pred","pred":{"target":{"kind":"port","role":"dst"},"op":"eq","values":["4444"]}}]}}
{"kind":"domain","value":"evil.example"}
{"id":"i1","kind":"ipv4","value":"203.0.113.9"}
not json
{"kind":"bogus","value":"x"}
{"value":"x.example"}
{"kind":"domain","value":"a.example","expr":{"op":"pred"}}
{"kind":"compound"}
{"kind":"compound","expr":{"op":"pred","pred":{"target":{"kind":"ipv4"},"op":"eq","values":["nope"]}}}
{"kind":"md5","value":"abc"}
{"kind":"domain","value":"a.example","confidence":150}
`
	inds, rep, err := ReadJSONLines(strings.NewReader(in), Options{Feed: "f", Confidence: 50, Source: "x.jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`i1 ipv6 "2001:db8::1" c=80`,
		`f:domain:evil.example domain "evil.example" c=50`,
		`f:compound:` + CompoundID("f", inds[2].Expr)[len("f:compound:"):] + ` compound "" c=50`,
		`i1 ipv4 "203.0.113.9" c=50`,
	}
	if got := summary(inds); !reflect.DeepEqual(got, want) {
		t.Errorf("indicators:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if inds[0].Feed != "own" || inds[1].Feed != "f" {
		t.Errorf("feeds = %q, %q", inds[0].Feed, inds[1].Feed)
	}
	if got := inds[2].Expr.String(); got != `(ipv4/dst eq ["203.0.113.80"] AND port/dst eq ["4444"])` {
		t.Errorf("normalised expr = %s", got)
	}
	if rep.Duplicates != 2 {
		t.Errorf("duplicates = %d, want 2", rep.Duplicates)
	}
	var lines []int
	for _, s := range rep.Skipped {
		lines = append(lines, s.Line)
	}
	if want := []int{9, 10, 11, 12, 13, 14, 15, 16}; !reflect.DeepEqual(lines, want) {
		t.Errorf("skipped lines = %v (%+v), want %v", lines, rep.Skipped, want)
	}
	for _, s := range rep.Skipped {
		if s.Reason == "" {
			t.Errorf("line %d skipped without reason", s.Line)
		}
	}
}

func TestTooLongLine(t *testing.T) {
	in := "a.example\n" + strings.Repeat("x", MaxLineBytes+10) + "\n"
	_, _, err := ReadPlain(strings.NewReader(in), Options{Source: "big.txt"})
	if err == nil || !strings.Contains(err.Error(), "big.txt:2") {
		t.Fatalf("err = %v, want one naming big.txt:2", err)
	}
	_, _, err = ReadCSV(strings.NewReader(in), Options{Source: "big.csv"})
	if err == nil || !strings.Contains(err.Error(), "big.csv:2") {
		t.Fatalf("csv err = %v, want one naming big.csv:2", err)
	}
}

// TestSampleForms checks that the bundled sample list forms carry the
// same values as the JSON-lines form.
func TestSampleForms(t *testing.T) {
	open := func(name string) *os.File {
		f, err := os.Open("../../testdata/sample/" + name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	jl, rep, err := ReadJSONLines(open("indicators.jsonl"), Options{Feed: "sample"})
	if err != nil || len(rep.Skipped) > 0 {
		t.Fatalf("jsonl: %v %+v", err, rep.Skipped)
	}
	csv, rep, err := ReadCSV(open("indicators.csv"), Options{Feed: "sample"})
	if err != nil || len(rep.Skipped) > 0 {
		t.Fatalf("csv: %v %+v", err, rep.Skipped)
	}
	txt, rep, err := ReadPlain(open("indicators.txt"), Options{Feed: "sample"})
	if err != nil || len(rep.Skipped) > 0 {
		t.Fatalf("txt: %v %+v", err, rep.Skipped)
	}
	values := func(inds []*ioc.Indicator) map[string]bool {
		m := map[string]bool{}
		for _, i := range inds {
			if i.Kind != ioc.KindCompound {
				m[i.Kind.String()+" "+i.Value] = true
			}
		}
		return m
	}
	jv, cv, tv := values(jl), values(csv), values(txt)
	if len(jl) != 13 || !reflect.DeepEqual(jv, cv) {
		t.Errorf("jsonl (%d) and csv values differ:\n%v\n%v", len(jl), jv, cv)
	}
	if len(tv) != 9 {
		t.Errorf("txt has %d values, want 9", len(tv))
	}
	for v := range tv {
		if !jv[v] {
			t.Errorf("txt value %s not in jsonl", v)
		}
	}
}

func ExampleReadPlain() {
	list := "# ipsum-style list\n203.0.113.66\t7\nMalware-C2.Example\n198.51.100.0/24 # range\n"
	inds, rep, err := ReadPlain(strings.NewReader(list), Options{Feed: "blocklist"})
	if err != nil {
		panic(err)
	}
	for _, i := range inds {
		fmt.Println(i.ID, i.Labels)
	}
	fmt.Println(rep.Indicators, "indicators,", len(rep.Skipped), "skipped")
	// Output:
	// blocklist:ipv4:203.0.113.66 [count:7]
	// blocklist:domain:malware-c2.example []
	// blocklist:cidr4:198.51.100.0/24 []
	// 3 indicators, 0 skipped
}

// checkAll fails when a returned indicator is invalid or a skip has no line.
func checkAll(t *testing.T, inds []*ioc.Indicator, rep Report) {
	for _, i := range inds {
		if err := i.Validate(); err != nil {
			t.Fatalf("invalid indicator returned: %v", err)
		}
		if _, err := json.Marshal(i); err != nil {
			t.Fatalf("indicator does not marshal: %v", err)
		}
	}
	for _, s := range rep.Skipped {
		if s.Line <= 0 || s.Reason == "" {
			t.Fatalf("skip without line or reason: %+v", s)
		}
	}
}

func FuzzListLine(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte("203.0.113.66\t5\nevil.example # c\n0.0.0.0 ads.example\n"))
	f.Add([]byte("http://[::1]:80/a\n::ffff:1.2.3.4/120\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inds, rep, err := ReadPlain(strings.NewReader(string(data)), Options{Feed: "z"})
		if err != nil {
			return
		}
		checkAll(t, inds, rep)
	})
}

func FuzzListCSV(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte("kind,value,description\ndomain,a.example,\"x, y\"\n"))
	f.Add([]byte("ip,1.2.3.4\nsha256,\"" + strings.Repeat("a", 64) + "\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inds, rep, err := ReadCSV(strings.NewReader(string(data)), Options{Feed: "z"})
		if err != nil {
			return
		}
		checkAll(t, inds, rep)
	})
}

func FuzzListJSONLines(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte(`{"kind":"ip","value":"1.2.3.4"}` + "\n" + `{"kind":"compound","expr":{"op":"not","args":[{"op":"pred","pred":{"target":{"kind":"port"},"op":"lt","num":5}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inds, rep, err := ReadJSONLines(strings.NewReader(string(data)), Options{Feed: "z"})
		if err != nil {
			return
		}
		checkAll(t, inds, rep)
		// What was read re-reads to the same indicators.
		var b strings.Builder
		for _, i := range inds {
			j, _ := json.Marshal(i)
			b.Write(j)
			b.WriteByte('\n')
		}
		again, rep2, err := ReadJSONLines(strings.NewReader(b.String()), Options{Feed: "z"})
		if err != nil || len(rep2.Skipped) > 0 || len(again) != len(inds) {
			t.Fatalf("re-read: %v, %+v, %d vs %d", err, rep2.Skipped, len(again), len(inds))
		}
	})
}
