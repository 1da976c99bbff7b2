package stixpattern

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// specExamples are the example patterns of STIX 2.1 section 9 (and a few
// of 2.0 part 5): every one must parse and round-trip.
var specExamples = []string{
	`[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']`,
	`[email-message:from_ref.value = 'mark@example.com' AND email-message:subject = 'Conference Info']`,
	`[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']`,
	`[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f']`,
	`[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1008' AND user-account:account_login = 'Paul'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1009' AND user-account:account_login = 'Mary']`,
	`[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES '\\xd4\\xc3\\xb2\\xa1\\x02\\x00\\x04\\x00']`,
	`[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\Windows\\System32']`,
	`[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]`,
	`[file:mime_type = 'image/bmp' AND file:magic_number_hex = h'ffd8']`,
	`[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']`,
	`[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 180 SECONDS`,
	`[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1/32']`,
	`[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']`,
	`[windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\CryptoLocker\\Files' OR windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\Microsoft\\CurrentVersion\\Run\\CryptoLocker_0388']`,
	`[(file:name = 'pdf.exe' OR file:size = '371712') AND file:created = t'2014-01-13T07:03:17Z']`,
	`[email-message:sender_ref.value = 'jdoe@example.com' AND email-message:subject = 'Conference Info']`,
	`[x-usb-device:usbdrive.serial_number = '575833314133343231313937']`,
	`[process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachine Root$'] FOLLOWEDBY [process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachineTrustedPublisher$'] WITHIN 300 SECONDS`,
	`[network-traffic:dst_ref.value ISSUBSET '2001:0db8:dead:beef:0000:0000:0000:0000/64']`,
	`[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar'] WITHIN 300 SECONDS`,
	`[file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'`,
	`[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128']`,
	`[network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:src_ref.value = '203.0.113.10' AND network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.2']`,
	`[email-message:from_ref.value MATCHES '.+\\@example\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\.exe$']`,
	`[file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c' AND file:mime_type = 'application/x-pdf']`,
	`([file:name = 'foo.dll'] AND [file:name = 'bar.dll']) OR [file:name = 'baz.dll']`,
	`[network-traffic:src_port = 37020 AND network-traffic:protocols[*] = 'udp']`,
	`[process:extensions.'windows-process-ext'.aslr_enabled = true]`,
	`[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=']`,
	`[file:name LIKE 'foo%.dll' AND file:size > 1024 AND file:size <= 4096]`,
	`[network-traffic:dst_port IN (80, 443, 8080) AND network-traffic:dst_port NOT IN (22)]`,
	`[windows-registry-key:values[*].name = 'Foo' AND windows-registry-key:values[0].data != 'x']`,
	`[email-message:to_refs[*].value NOT LIKE '%@example.com']`,
	`[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8' AND EXISTS ipv4-addr:resolves_to_refs]`,
	`[x-acme-widget:'quoted-first'.inner = 'v' AND x-acme-widget:list[-1] ISSUPERSET '192.0.2.1']`,
	`[file:created == t'2016-01-01T00:00:00.123456Z' AND file:modified <> t'2016-01-01T00:00:00Z']`,
	`[a:b = -5] AND [a:c = +5] AND [a:d = -.5] AND [a:e = 1.25] OR [a:f = 'it\'s \\ fine']`,
	`[a:b = 1] WITHIN 2.5 SECONDS REPEATS 2 TIMES START t'2016-01-01T00:00:00Z' STOP t'2016-01-02T00:00:00Z'`,
	"[a:b = 1] /* a comment */ OR // line comment\n [a:c = 2]",
	"\u00a0[a:b\u2003= 1]\u3000",
}

func TestSpecExamplesParseAndRoundTrip(t *testing.T) {
	for _, src := range specExamples {
		p, err := Parse(src)
		if err != nil {
			t.Errorf("Parse(%s): %v", src, err)
			continue
		}
		s := p.String()
		q, err := Parse(s)
		if err != nil {
			t.Errorf("Parse(String(%s)) = Parse(%s): %v", src, s, err)
			continue
		}
		if !reflect.DeepEqual(p, q) {
			t.Errorf("round trip of %s via %s changed the AST", src, s)
		}
		if s2 := q.String(); s2 != s {
			t.Errorf("String not stable: %s then %s", s, s2)
		}
	}
}

func TestCanonicalString(t *testing.T) {
	tests := []struct{ in, want string }{
		{`[a:b == 'x']`, `[a:b = 'x']`},
		{`[a:b <> 'x']`, `[a:b != 'x']`},
		{`[ a:b='x'  AND(a:c=1 OR a:d=2) ]`, `[a:b = 'x' AND (a:c = 1 OR a:d = 2)]`},
		{`[a:b = 1 AND (a:c = 2 AND a:d = 3)]`, `[a:b = 1 AND a:c = 2 AND a:d = 3]`},
		{`([a:b = 1] AND ([a:c = 2] AND [a:d = 3]))`, `[a:b = 1] AND [a:c = 2] AND [a:d = 3]`},
		{`[a:b = 1] FOLLOWEDBY ([a:c = 2] FOLLOWEDBY [a:d = 3])`, `[a:b = 1] FOLLOWEDBY ([a:c = 2] FOLLOWEDBY [a:d = 3])`},
		{`([a:b = 1] FOLLOWEDBY [a:c = 2]) FOLLOWEDBY [a:d = 3]`, `[a:b = 1] FOLLOWEDBY [a:c = 2] FOLLOWEDBY [a:d = 3]`},
		{`([a:b = 1] OR [a:c = 2]) AND [a:d = 3]`, `([a:b = 1] OR [a:c = 2]) AND [a:d = 3]`},
		{`([a:b = 1] AND [a:c = 2]) WITHIN 5.0 SECONDS`, `([a:b = 1] AND [a:c = 2]) WITHIN 5 SECONDS`},
		{`[a:b = 1] AND [a:c = 2] WITHIN 5 SECONDS`, `[a:b = 1] AND [a:c = 2] WITHIN 5 SECONDS`},
		{`(([a:b = 1]) REPEATS 2 TIMES)`, `[a:b = 1] REPEATS 2 TIMES`},
		{`[a:'b'.'c d'[*].e = 1.50]`, `[a:b.'c d'[*].e = 1.5]`},
		{`[a:'AND' = h'FFd8' OR a:'true' = b'AQIDBA==']`, `[a:'AND' = h'ffd8' OR a:'true' = b'AQIDBA==']`},
		{`[a:b NOT IN ( 'x' , 'y' )]`, `[a:b NOT IN ('x', 'y')]`},
		{`[a:b IN ()]`, `[a:b IN ()]`},
	}
	for _, tt := range tests {
		p, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%s): %v", tt.in, err)
			continue
		}
		if got := p.String(); got != tt.want {
			t.Errorf("String(Parse(%s)) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestParseStructure(t *testing.T) {
	p := MustParse(`[a:b = 1] OR [a:c = 2] AND [a:d = 3] FOLLOWEDBY [a:e = 4] WITHIN 5 SECONDS`)
	r := p.Root
	if r.Op != ObsFollowedBy || len(r.Args) != 2 {
		t.Fatalf("root = %s %d args, want FOLLOWEDBY", r.Op, len(r.Args))
	}
	or := r.Args[0]
	if or.Op != ObsOr || len(or.Args) != 2 || or.Args[1].Op != ObsAnd {
		t.Fatalf("left = %s, want OR(simple, AND)", or)
	}
	right := r.Args[1]
	if right.Op != ObsSimple || len(right.Qualifiers) != 1 || right.Qualifiers[0].Seconds != 5 {
		t.Fatalf("right = %s, want the qualified simple expression", right)
	}
	c := MustParse(`[a:b = 1 OR a:c = 2 AND a:d = 3]`).Root.Comparison
	if c.Op != CmpOr || len(c.Args) != 2 || c.Args[1].Op != CmpAnd {
		t.Fatalf("comparison = %s, want OR(leaf, AND)", c)
	}
	leaf := MustParse(`[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'[0] NOT LIKE 'x%']`).Root.Comparison.Comparison
	want := Comparison{
		Path: ObjectPath{Type: "network-traffic", Steps: []PathStep{
			{Kind: StepKey, Key: "extensions"}, {Kind: StepKey, Key: "http-request-ext"},
			{Kind: StepKey, Key: "request_header"}, {Kind: StepKey, Key: "User-Agent"}, {Kind: StepIndex, Index: 0},
		}},
		Op: OpLike, Negated: true, Value: Literal{Kind: LitString, Str: "x%"},
	}
	if !reflect.DeepEqual(*leaf, want) {
		t.Errorf("leaf = %#v\nwant %#v", *leaf, want)
	}
	ts := MustParse(`[a:b = t'2016-02-29T23:59:60.5Z']`).Root.Comparison.Comparison.Value
	if wantT := time.Date(2016, 3, 1, 0, 0, 0, 500_000_000, time.UTC); !ts.Time.Equal(wantT) || ts.Str != "2016-02-29T23:59:60.5Z" {
		t.Errorf("leap-second timestamp = %v (%q), want %v", ts.Time, ts.Str, wantT)
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		in  string
		pos int
		msg string
	}{
		{``, 0, "empty pattern: expected '[' or '('"},
		{`   `, 0, "empty pattern"},
		{`file:name = 'a'`, 0, "expected '[' or '(', found 'file'"},
		{`[file:name = 'a' and file:size = 1]`, 17, "expected ']', found 'and'"},
		{`[file:name = 'a' AND]`, 20, "expected an object path (type:property), EXISTS or '(', found ']'"},
		{`[file:name = 'a'`, 16, "expected ']', found end of pattern"},
		{`[file:name = 'a'] AND`, 21, "expected '[' or '(', found end of pattern"},
		{`[file:name = 'a'] within 5 seconds`, 18, "expected AND, OR, FOLLOWEDBY"},
		{`[file:name = 'a'] WITHIN 0 SECONDS`, 25, "must be positive"},
		{`[file:name = 'a'] WITHIN -1 SECONDS`, 25, "must be positive"},
		{`[file:name = 'a'] WITHIN 5 MINUTES`, 27, "expected SECONDS, found 'MINUTES'"},
		{`[file:name = 'a'] REPEATS 0 TIMES`, 26, "at least 1"},
		{`[file:name = 'a'] REPEATS 2.5 TIMES`, 26, "expected a positive integer"},
		{`[file:name = 'a'] START '2016-01-01T00:00:00Z' STOP t'2016-01-01T00:00:00Z'`, 24, "expected a timestamp literal"},
		{`[file:name = 'a'] START t'2016-13-01T00:00:00Z' STOP t'2016-01-01T00:00:00Z'`, 24, "month 13 out of range"},
		{`[file:created = t'2021-02-29T00:00:00Z']`, 16, "day 29 out of range"},
		{`[file:created = t'2021-02-01T00:00:00z']`, 16, "invalid timestamp literal"},
		{`[file:created = t'2021-02-01 00:00:00Z']`, 16, "invalid timestamp literal"},
		{`[file:name = 'a\d']`, 15, "invalid escape"},
		{`[file:name = 'abc]`, 13, "unterminated string literal"},
		{`[file:na-me = 'a']`, 6, "contains '-'"},
		{`[file:name IS 'a']`, 11, "expected a comparison operator"},
		{`[file:name NOT EXISTS]`, 15, "expected an operator after NOT"},
		{`[file:name NOT]`, 14, "expected an operator after NOT"},
		{`[file:size < true]`, 13, "expected an orderable literal"},
		{`[file:name LIKE 5]`, 16, "expected a string literal after LIKE"},
		{`[file:name IN 'a']`, 14, "expected '(' starting a set"},
		{`[file:name IN ('a' 'b')]`, 19, "expected ',' or ')'"},
		{`[file:name = b'abc']`, 13, "invalid binary literal"},
		{`[file:name = h'abc']`, 13, "odd number of digits"},
		{`[file:name = h'zz']`, 13, "invalid hex literal"},
		{`[file:size = 007]`, 13, "leading zero"},
		{`[file:size = 99999999999999999999]`, 13, "out of range"},
		{`[file:list[x] = 1]`, 11, "expected a list index or '*'"},
		{`[file:list[1 = 1]`, 13, "expected ']' closing the list index"},
		{`[file:a.5 = 1]`, 8, "expected a property name after '.', found '5'"},
		{`[file = 1]`, 6, "expected ':' after the object type"},
		{`[file:name = 'a'] /* open`, 18, "unterminated comment"},
		{`[file:name ! 'a']`, 11, "unexpected character '!'"},
		{`[file:name = 'a'] ]`, 18, "expected AND, OR, FOLLOWEDBY, a qualifier"},
		{`[file:name = 'a'] [file:name = 'b']`, 18, "expected AND, OR, FOLLOWEDBY"},
		{`[AND:x = 1]`, 1, "found 'AND'"},
		{`[x:true = 1]`, 3, "expected a property name, found 'true'"},
		{"[x:y = 1] \xff", 10, "invalid UTF-8"},
		{`[x:y = 1] § `, 10, "unexpected character"},
		{strings.Repeat("(", 300) + "[x:y = 1]" + strings.Repeat(")", 300), 200, "nesting deeper than 200"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error = %v, want a *SyntaxError", tt.in, err)
			continue
		}
		if se.Pos != tt.pos || !strings.Contains(se.Msg, tt.msg) {
			t.Errorf("Parse(%q) = %v, want at offset %d: ...%s...", tt.in, err, tt.pos, tt.msg)
		}
		if !strings.HasPrefix(err.Error(), "at offset ") {
			t.Errorf("Error() = %q, want it to start with the offset", err.Error())
		}
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse of an invalid pattern did not panic")
		}
	}()
	MustParse("[")
}
