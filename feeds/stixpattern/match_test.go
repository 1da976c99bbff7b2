package stixpattern

import (
	"errors"
	"strings"
	"testing"
)

// basicBundle is a STIX 2.1 bundle with one observation of one object
// holding a value of every JSON type.
const basicBundle = `[{"type": "bundle", "id": "bundle--0e0a7c0a-8b4e-4b9e-9d7e-2c7a3a3a0001", "objects": [
 {"type": "observed-data", "id": "observed-data--0e0a7c0a-8b4e-4b9e-9d7e-2c7a3a3a0002", "spec_version": "2.1",
  "number_observed": 1, "first_observed": "2020-03-04T05:06:07Z", "last_observed": "2020-03-04T05:06:07Z",
  "object_refs": ["x-thing--0e0a7c0a-8b4e-4b9e-9d7e-2c7a3a3a0003"]},
 {"type": "x-thing", "id": "x-thing--0e0a7c0a-8b4e-4b9e-9d7e-2c7a3a3a0003",
  "int": 7, "big": 123456789012345678901234567890, "float": 2.5, "float_int": 3.0, "bool": false,
  "string": "world", "nothing": null, "ip": "192.0.2.77", "cidr": "192.0.2.0/25", "ip6": "2001:db8::1:5",
  "when": "2020-03-04T05:06:07.250Z", "list": ["a", "b", "c"], "nested": {"k": [{"v": 1}, {"v": 2}]},
  "payload_bin": "AAEC/w==", "blob_hex": "cafe00", "text_hex": "68656c6c6f",
  "decomposed": "cafe\u0301", "composed": "caf\u00e9"}
]}]`

func mustObserved(t testing.TB, data, version string) []*ObservedData {
	t.Helper()
	od, err := ParseObservedBundle([]byte(data), version)
	if err != nil {
		t.Fatalf("ParseObservedBundle: %v", err)
	}
	return od
}

type matchCase struct {
	pattern string
	want    bool
}

func runMatchCases(t *testing.T, obs []*ObservedData, cases []matchCase) {
	t.Helper()
	for _, tt := range cases {
		p, err := Parse(tt.pattern)
		if err != nil {
			t.Errorf("Parse(%s): %v", tt.pattern, err)
			continue
		}
		got, err := p.Match(obs)
		if err != nil {
			t.Errorf("Match(%s): %v", tt.pattern, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Match(%s) = %v, want %v", tt.pattern, got, tt.want)
		}
	}
}

func TestBasicOperators(t *testing.T) {
	obs := mustObserved(t, basicBundle, "")
	runMatchCases(t, obs, []matchCase{
		// integers
		{`[x-thing:int = 7]`, true},
		{`[x-thing:int == 7.0]`, true},
		{`[x-thing:int NOT = 7]`, false},
		{`[x-thing:int != 7]`, false},
		{`[x-thing:int NOT != 7]`, true},
		{`[x-thing:int > 6.9 AND x-thing:int < 7.1 AND x-thing:int >= 7 AND x-thing:int <= 7]`, true},
		{`[x-thing:int > 7]`, false},
		{`[x-thing:int NOT > 7]`, true},
		{`[x-thing:int IN (1, 7.0, 9)]`, true},
		{`[x-thing:int NOT IN (1, 9)]`, true},
		{`[x-thing:int = '7']`, false},
		{`[x-thing:int != '7']`, true},
		{`[x-thing:int = true]`, false},
		{`[x-thing:int != b'Bw==']`, true},
		{`[x-thing:int > t'2020-01-01T00:00:00Z']`, false},
		{`[x-thing:int NOT < t'2020-01-01T00:00:00Z']`, true},
		{`[x-thing:int LIKE '7']`, false},
		{`[x-thing:int NOT MATCHES '7']`, true},
		{`[x-thing:big != 5]`, true},
		{`[x-thing:big > 9223372036854775807]`, true},
		// floats
		{`[x-thing:float = 2.5]`, true},
		{`[x-thing:float > 2 AND x-thing:float < 3]`, true},
		{`[x-thing:float_int = 3]`, true},
		{`[x-thing:float_int IN (2, 3)]`, true},
		{`[x-thing:float != 'x']`, true},
		// booleans
		{`[x-thing:bool = false]`, true},
		{`[x-thing:bool = 0]`, false},
		{`[x-thing:bool != true]`, true},
		{`[x-thing:bool IN (true)]`, false},
		// strings
		{`[x-thing:string = 'world']`, true},
		{`[x-thing:string = 'World']`, false},
		{`[x-thing:string > 'wordy' AND x-thing:string < 'worlds']`, true},
		{`[x-thing:string LIKE 'w_r%']`, true},
		{`[x-thing:string LIKE 'w_r']`, false},
		{`[x-thing:string LIKE '%']`, true},
		{`[x-thing:string NOT LIKE 'wor_d']`, false},
		{`[x-thing:string MATCHES 'or']`, true},
		{`[x-thing:string MATCHES '^or']`, false},
		{`[x-thing:string MATCHES '^w.+d$']`, true},
		{`[x-thing:string IN ('hello', 'world')]`, true},
		{`[x-thing:string IN ()]`, false},
		{`[x-thing:string NOT IN ()]`, true},
		{`[x-thing:string != 5]`, true},
		// null
		{`[x-thing:nothing = 'x']`, false},
		{`[x-thing:nothing != 'x']`, true},
		{`[x-thing:nothing LIKE '%']`, false},
		{`[EXISTS x-thing:nothing]`, true},
		{`[EXISTS x-thing:absent]`, false},
		{`[x-thing:absent != 'x']`, false},
		// addresses
		{`[x-thing:ip ISSUBSET '192.0.2.0/24']`, true},
		{`[x-thing:ip ISSUBSET '192.0.2.0/26']`, false},
		{`[x-thing:ip NOT ISSUBSET '192.0.2.0/26']`, true},
		{`[x-thing:ip ISSUBSET '192.0.2.77']`, true},
		{`[x-thing:cidr ISSUPERSET '192.0.2.100']`, true},
		{`[x-thing:cidr ISSUPERSET '192.0.2.0/24']`, false},
		{`[x-thing:cidr ISSUPERSET '192.0.2.64/27']`, true},
		{`[x-thing:cidr ISSUBSET '192.0.0.0/16']`, true},
		{`[x-thing:ip6 ISSUBSET '2001:db8::/32']`, true},
		{`[x-thing:ip6 ISSUBSET '192.0.2.0/24']`, false},
		{`[x-thing:ip ISSUBSET '::ffff:192.0.2.0/120']`, true},
		{`[x-thing:string ISSUBSET '0.0.0.0/0']`, false},
		{`[x-thing:int NOT ISSUPERSET '0.0.0.0/0']`, true},
		// timestamps
		{`[x-thing:when = t'2020-03-04T05:06:07.25Z']`, true},
		{`[x-thing:when > t'2020-03-04T05:06:07Z']`, true},
		{`[x-thing:when IN (t'2020-03-04T05:06:07.250000Z')]`, true},
		{`[x-thing:when = '2020-03-04T05:06:07.25Z']`, false},
		// lists and paths
		{`[x-thing:list[*] = 'b']`, true},
		{`[x-thing:list[*] != 'b']`, true},
		{`[x-thing:list[1] = 'b']`, true},
		{`[x-thing:list[-1] = 'c']`, true},
		{`[x-thing:list[-4] = 'a']`, false},
		{`[x-thing:list[3] = 'a']`, false},
		{`[x-thing:list = 'b']`, false},
		{`[x-thing:list != 'b']`, true},
		{`[x-thing:nested.k[*].v = 2]`, true},
		{`[x-thing:nested.k[0].v = 2]`, false},
		{`[x-thing:'nested'.'k'[1].'v' = 2]`, true},
		{`[x-thing:string.sub = 'x']`, false},
		// binary
		{`[x-thing:payload_bin = b'AAEC/w==']`, true},
		{`[x-thing:payload_bin = h'000102ff']`, true},
		{`[x-thing:payload_bin = h'000102']`, false},
		{`[x-thing:payload_bin > h'000102']`, true},
		{`[x-thing:payload_bin MATCHES '^\\x00\\x01']`, true},
		{`[x-thing:blob_hex = h'CAFE00']`, true},
		{`[x-thing:text_hex = 'hello']`, true},
		{`[x-thing:text_hex LIKE 'he%']`, true},
		{`[x-thing:text_hex MATCHES 'l+o$']`, true},
		{`[x-thing:string = h'776f726c64']`, true},
		// Unicode normalisation: LIKE and MATCHES compare NFC forms; = does not
		{"[x-thing:decomposed LIKE 'caf\u00e9']", true},
		{"[x-thing:composed MATCHES '^cafe\u0301$']", true},
		{"[x-thing:decomposed = 'caf\u00e9']", false},
		// comparison expressions: AND on the same object, OR
		{`[x-thing:int = 7 AND x-thing:string = 'world']`, true},
		{`[x-thing:int = 7 AND x-thing:string = 'nope']`, false},
		{`[x-thing:int = 0 OR x-thing:string = 'world']`, true},
		{`[(x-thing:int = 0 OR x-thing:int = 7) AND (x-thing:bool = false)]`, true},
		{`[x-thing:int = 7 AND other:int = 7]`, false},
		{`[other:int = 7 OR x-thing:int = 7]`, true},
	})
}

func TestEvalErrors(t *testing.T) {
	obs := mustObserved(t, basicBundle, "")
	tests := []struct{ pattern, msg string }{
		{`[x-thing:string = t'2020-01-01T00:00:00Z']`, "is not a STIX timestamp"},
		{`[x-thing:string != t'2020-01-01T00:00:00Z']`, "is not a STIX timestamp"},
		{`[x-thing:string IN (1, 'a')]`, "set literal must hold values of one type"},
		{`[x-thing:string IN (1, 2.5, true)]`, "set literal must hold values of one type"},
		{`[x-thing:string MATCHES '(a)\\1']`, "not supported by RE2"},
		{`[x-thing:string MATCHES '(?=a)']`, "not supported by RE2"},
		{`[x-thing:ip ISSUBSET 'not-a-cidr']`, "not an IP address or CIDR prefix"},
		{`[nothing:here MATCHES '(?<=a)b']`, "not supported by RE2"}, // reported whatever the data
	}
	for _, tt := range tests {
		_, err := MustParse(tt.pattern).Match(obs)
		var ee *EvalError
		if !errors.As(err, &ee) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Match(%s) error = %v, want an *EvalError containing %q", tt.pattern, err, tt.msg)
		}
	}
}

// refBundle20 is STIX 2.0 observed-data with embedded objects and
// references between them.
const refBundle20 = `{"type": "observed-data", "id": "observed-data--5a3e1b2c-0000-4000-8000-000000000001",
 "created": "2017-01-01T00:00:00Z", "modified": "2017-01-01T00:00:00Z",
 "first_observed": "2017-01-01T00:00:00Z", "last_observed": "2017-01-01T00:00:01Z", "number_observed": 1,
 "objects": {
  "0": {"type": "ipv4-addr", "value": "198.51.100.7"},
  "1": {"type": "ipv4-addr", "value": "203.0.113.9"},
  "2": {"type": "network-traffic", "src_ref": "0", "dst_ref": "1", "dst_port": 8443, "protocols": ["ipv4", "tcp"],
        "extensions": {"http-request-ext": {"request_method": "get", "request_header": {"User-Agent": "Evil/1.0"}}}},
  "3": {"type": "email-addr", "value": "alice@example.com"},
  "4": {"type": "email-addr", "value": "bob@example.net"},
  "5": {"type": "email-message", "from_ref": "3", "to_refs": ["4", "3", "99"], "subject": "Invoice"},
  "6": {"type": "directory", "path": "C:\\Windows\\Temp"},
  "7": {"type": "file", "name": "x.exe", "parent_directory_ref": "6", "hashes": {"MD5": "79054025255fb1a26e4bc422aef54eb4", "SHA-256": "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"}},
  "8": {"type": "domain-name", "value": "evil.example", "resolves_to_refs": ["1"]},
  "9": {"type": "process", "pid": 42, "command_line": "cmd.exe /c whoami", "binary_ref": "7", "parent_ref": "10"},
  "10": {"type": "process", "pid": 1, "name": "explorer.exe"}
 }}`

func TestReferences(t *testing.T) {
	obs := mustObserved(t, refBundle20, "2.0")
	runMatchCases(t, obs, []matchCase{
		{`[network-traffic:src_ref.value = '198.51.100.7' AND network-traffic:dst_ref.value = '203.0.113.9']`, true},
		{`[network-traffic:dst_ref.value = '198.51.100.7']`, false},
		{`[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_port = 8443]`, true},
		{`[network-traffic:dst_ref.value ISSUBSET '203.0.113.0/24' AND network-traffic:protocols[*] = 'tcp']`, true},
		{`[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'Evil/1.0']`, true},
		{`[email-message:from_ref.value = 'alice@example.com']`, true},
		{`[email-message:to_refs[*].value = 'bob@example.net']`, true},
		{`[email-message:to_refs[0].value = 'bob@example.net']`, true},
		{`[email-message:to_refs[1].value = 'bob@example.net']`, false},
		{`[email-message:to_refs[2].value = 'x']`, false}, // "99" does not resolve
		{`[file:parent_directory_ref.path = 'C:\\Windows\\Temp' AND file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4']`, true},
		{`[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']`, true},
		{`[file:hashes.md5 = '79054025255fb1a26e4bc422aef54eb4']`, false}, // keys are exact
		{`[domain-name:resolves_to_refs[*].value = '203.0.113.9']`, true},
		{`[process:binary_ref.parent_directory_ref.path LIKE '%Temp' AND process:parent_ref.name = 'explorer.exe']`, true},
		{`[process:parent_ref.parent_ref.name = 'explorer.exe']`, false},
		{`[ipv4-addr:value = '203.0.113.9' AND domain-name:value = 'evil.example']`, false},
		{`[ipv4-addr:value = '203.0.113.9'] AND [domain-name:value = 'evil.example']`, false}, // one observation only
	})
	bad := `{"type": "observed-data", "id": "observed-data--x", "first_observed": "2017-01-01T00:00:00Z", "last_observed": "2017-01-01T00:00:00Z", "number_observed": 1,
	  "objects": {"0": {"type": "network-traffic", "dst_ref": 5, "to_refs": "0"}}}`
	obs = mustObserved(t, bad, "")
	for _, p := range []string{`[network-traffic:dst_ref.value = 'x']`, `[network-traffic:to_refs[*].value = 'x']`} {
		if _, err := MustParse(p).Match(obs); err == nil || !strings.Contains(err.Error(), "reference") {
			t.Errorf("Match(%s) error = %v, want a malformed reference error", p, err)
		}
	}
}

// timeline is a 2.1 bundle of observations at known times:
//
//	o1 file a.exe   10:00:00 - 10:00:00  n=1
//	o2 file b.exe   10:00:30 - 10:01:00  n=1
//	o3 file a.exe   10:05:00 - 10:05:00  n=2
//	o4 file c.exe   09:59:00 - 10:10:00  n=1
const timeline = `{"type": "bundle", "id": "bundle--7d3b2e9b-1111-4000-8000-000000000000", "objects": [
 {"type": "observed-data", "id": "observed-data--1", "number_observed": 1, "first_observed": "2021-06-01T10:00:00Z", "last_observed": "2021-06-01T10:00:00Z", "object_refs": ["file--a1"]},
 {"type": "observed-data", "id": "observed-data--2", "number_observed": 1, "first_observed": "2021-06-01T10:00:30Z", "last_observed": "2021-06-01T10:01:00Z", "object_refs": ["file--b"]},
 {"type": "observed-data", "id": "observed-data--3", "number_observed": 2, "first_observed": "2021-06-01T10:05:00Z", "last_observed": "2021-06-01T10:05:00Z", "object_refs": ["file--a2"]},
 {"type": "observed-data", "id": "observed-data--4", "number_observed": 1, "first_observed": "2021-06-01T09:59:00Z", "last_observed": "2021-06-01T10:10:00Z", "object_refs": ["file--c"]},
 {"type": "file", "id": "file--a1", "name": "a.exe"},
 {"type": "file", "id": "file--a2", "name": "a.exe"},
 {"type": "file", "id": "file--b", "name": "b.exe"},
 {"type": "file", "id": "file--c", "name": "c.exe"}
]}`

func TestObservationExpressions(t *testing.T) {
	obs := mustObserved(t, timeline, "2.1")
	runMatchCases(t, obs, []matchCase{
		{`[file:name = 'a.exe'] AND [file:name = 'b.exe']`, true},
		{`[file:name = 'b.exe'] AND [file:name = 'b.exe']`, false}, // needs two observations of b
		{`[file:name = 'a.exe'] AND [file:name = 'a.exe'] AND [file:name = 'a.exe']`, true},
		{`[file:name = 'a.exe'] AND [file:name = 'a.exe'] AND [file:name = 'a.exe'] AND [file:name = 'a.exe']`, false},
		{`[file:name = 'x.exe'] OR [file:name = 'b.exe']`, true},
		{`[file:name = 'x.exe'] OR [file:name = 'y.exe']`, false},
		{`[file:name = 'a.exe'] FOLLOWEDBY [file:name = 'b.exe']`, true},
		{`[file:name = 'b.exe'] FOLLOWEDBY [file:name = 'a.exe']`, true}, // a at 10:05 after b
		{`[file:name = 'b.exe'] FOLLOWEDBY [file:name = 'c.exe']`, true}, // c spans b
		{`([file:name = 'a.exe'] FOLLOWEDBY [file:name = 'b.exe']) WITHIN 30 SECONDS`, true},
		{`([file:name = 'a.exe'] FOLLOWEDBY [file:name = 'b.exe']) WITHIN 29.5 SECONDS`, false},
		{`([file:name = 'b.exe'] FOLLOWEDBY [file:name = 'a.exe']) WITHIN 240 SECONDS`, true},
		{`([file:name = 'b.exe'] FOLLOWEDBY [file:name = 'a.exe']) WITHIN 239 SECONDS`, false},
		{`[file:name = 'a.exe'] REPEATS 3 TIMES`, true},
		{`[file:name = 'a.exe'] REPEATS 4 TIMES`, false},
		{`[file:name = 'a.exe'] REPEATS 2 TIMES WITHIN 1 SECONDS`, true}, // o3 counts twice
		{`[file:name = 'a.exe' OR file:name = 'b.exe'] REPEATS 4 TIMES`, true},
		{`[file:name = 'a.exe' OR file:name = 'b.exe'] REPEATS 5 TIMES`, false},
		{`([file:name = 'a.exe'] AND [file:name = 'b.exe']) REPEATS 2 TIMES`, false}, // only one b
		{`[file:name = 'a.exe'] START t'2021-06-01T10:00:00Z' STOP t'2021-06-01T10:00:01Z'`, true},
		{`[file:name = 'a.exe'] START t'2021-06-01T09:00:00Z' STOP t'2021-06-01T10:00:00Z'`, false}, // stop excluded
		{`[file:name = 'a.exe'] START t'2021-06-01T10:05:00Z' STOP t'2021-06-01T11:00:00Z'`, true},  // start included
		{`[file:name = 'a.exe'] START t'2021-06-01T10:00:00Z' STOP t'2021-06-01T10:00:00Z'`, false}, // empty window
		{`[file:name = 'c.exe'] START t'2021-06-01T10:09:59Z' STOP t'2021-06-01T12:00:00Z'`, true},
		{`[file:name = 'a.exe'] REPEATS 3 TIMES START t'2021-06-01T10:01:00Z' STOP t'2021-06-01T11:00:00Z'`, false},
		{`[file:name = 'a.exe'] REPEATS 2 TIMES START t'2021-06-01T10:01:00Z' STOP t'2021-06-01T11:00:00Z'`, true},
		{`([file:name = 'a.exe'] AND [file:name = 'c.exe']) WITHIN 1 SECONDS`, true},
		{`[file:name = 'a.exe'] FOLLOWEDBY [file:name = 'b.exe'] FOLLOWEDBY [file:name = 'a.exe']`, true},
		{`[file:name = 'b.exe'] FOLLOWEDBY [file:name = 'a.exe'] FOLLOWEDBY [file:name = 'b.exe']`, false},
	})
}

func TestParseObservedBundleErrors(t *testing.T) {
	tests := []struct{ in, version, msg string }{
		{`{`, "", "observed-data"},
		{`{} {}`, "", "trailing data"},
		{`"x"`, "", "want a STIX object"},
		{`{"type": "observed-data", "id": "observed-data--1", "last_observed": "2017-01-01T00:00:00Z", "number_observed": 1, "objects": {}}`, "", "observed-data--1: first_observed missing"},
		{`{"type": "observed-data", "id": "observed-data--1", "first_observed": "2017-01-01T00:00:00", "last_observed": "2017-01-01T00:00:00Z", "number_observed": 1, "objects": {}}`, "", "first_observed"},
		{`{"type": "observed-data", "id": "observed-data--1", "first_observed": "2017-01-02T00:00:00Z", "last_observed": "2017-01-01T00:00:00Z", "number_observed": 1, "objects": {}}`, "", "before first_observed"},
		{`{"type": "observed-data", "id": "observed-data--1", "first_observed": "2017-01-01T00:00:00Z", "last_observed": "2017-01-01T00:00:00Z", "number_observed": 0, "objects": {}}`, "", "number_observed 0"},
		{`{"type": "observed-data", "id": "observed-data--1", "first_observed": "2017-01-01T00:00:00Z", "last_observed": "2017-01-01T00:00:00Z", "number_observed": 1, "object_refs": ["file--9"]}`, "", "file--9 not found"},
		{`{"type": "observed-data", "id": "observed-data--1", "first_observed": "2017-01-01T00:00:00Z", "last_observed": "2017-01-01T00:00:00Z", "number_observed": 1, "object_refs": ["file--9"]}`, "2.0", "observed-data--1: STIX 2.0 observed-data without objects (it has object_refs, a STIX 2.1 observation"},
		{`{"type": "observed-data", "id": "observed-data--1", "first_observed": "2017-01-01T00:00:00Z", "last_observed": "2017-01-01T00:00:00Z", "number_observed": 1}`, "2.0", "observed-data--1: neither objects nor object_refs"},
		{`{"type": "observed-data", "id": "observed-data--1", "first_observed": "2017-01-01T00:00:00Z", "last_observed": "2017-01-01T00:00:00Z", "number_observed": 1}`, "", "observed-data--1: neither objects nor object_refs"},
		{`{"type": "observed-data", "id": "observed-data--1", "first_observed": "2017-01-01T00:00:00Z", "last_observed": "2017-01-01T00:00:00Z", "number_observed": 1}`, "2.1", "without object_refs"},
		{`{"type": "observed-data", "id": "observed-data--1", "first_observed": "2017-01-01T00:00:00Z", "last_observed": "2017-01-01T00:00:00Z", "number_observed": 1, "objects": {"0": 5}}`, "", `objects["0"] is not an object`},
		{`{"type": "bundle", "objects": 5}`, "", "bundle objects is not a list"},
		{`[]`, "3.0", "unknown STIX version"},
	}
	for _, tt := range tests {
		_, err := ParseObservedBundle([]byte(tt.in), tt.version)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseObservedBundle(%s, %q) error = %v, want it to contain %q", tt.in, tt.version, err, tt.msg)
		}
	}
}

func TestVersionSelection(t *testing.T) {
	// Both objects and object_refs: 2.0 reads objects, 2.1 and auto read object_refs.
	const both = `[{"type": "observed-data", "id": "observed-data--1", "first_observed": "2017-01-01T00:00:00Z", "last_observed": "2017-01-01T00:00:00Z", "number_observed": 1,
	  "objects": {"0": {"type": "file", "name": "old.exe"}}, "object_refs": ["file--1"]},
	  {"type": "file", "id": "file--1", "name": "new.exe"}]`
	for _, tt := range []struct {
		version, name string
	}{{"2.0", "old.exe"}, {"2.1", "new.exe"}, {"", "new.exe"}} {
		obs := mustObserved(t, both, tt.version)
		ok, err := MustParse(`[file:name = '` + tt.name + `']`).Match(obs)
		if err != nil || !ok {
			t.Errorf("version %q: file %s not matched (%v)", tt.version, tt.name, err)
		}
	}
}

func TestMatchWorkBudget(t *testing.T) {
	// 30 observations each matching every operand: REPEATS over AND of
	// many operands explodes combinatorially and must stop with an error.
	var b strings.Builder
	b.WriteString(`[`)
	for i := 0; i < 30; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"type": "observed-data", "id": "observed-data--` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `", "first_observed": "2017-01-01T00:00:00Z", "last_observed": "2017-01-01T00:00:00Z", "number_observed": 1, "objects": {"0": {"type": "x", "v": 1}}}`)
	}
	b.WriteString(`]`)
	obs := mustObserved(t, b.String(), "")
	p := MustParse(`([x:v = 1] AND [x:v = 1] AND [x:v = 1] AND [x:v = 1] AND [x:v = 1] AND [x:v = 1] AND [x:v = 1]) REPEATS 4 TIMES`)
	_, err := p.match(obs, 20_000)
	if !errors.Is(err, ErrTooComplex) {
		t.Errorf("Match error = %v, want ErrTooComplex", err)
	}
}
