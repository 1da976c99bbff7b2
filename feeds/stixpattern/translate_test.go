package stixpattern

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

func atomsString(as []Atom) string {
	var s []string
	for _, a := range as {
		s = append(s, a.String())
	}
	return strings.Join(s, " ")
}

func exprsString(es []*ioc.Expr) string {
	var s []string
	for _, e := range es {
		s = append(s, e.String())
	}
	return strings.Join(s, " | ")
}

func TestTranslate(t *testing.T) {
	tests := []struct {
		pattern     string
		atoms       string // space-separated kind:value
		exprs       string // " | "-separated ioc.Expr strings
		unsupported string // substring of Unsupported
		correlation bool
	}{
		// atoms
		{pattern: `[ipv4-addr:value = '198.51.100.1']`, atoms: "ipv4:198.51.100.1"},
		{pattern: `[ipv4-addr:value = '198.51.100.0/24']`, atoms: "cidr4:198.51.100.0/24"},
		{pattern: `[ipv4-addr:value = '198.51.100.1/32']`, atoms: "ipv4:198.51.100.1"},
		{pattern: `[ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128']`, atoms: "ipv6:2001:db8:dead:beef:dead:beef:dead:1"},
		{pattern: `[ipv4-addr:value ISSUBSET '10.1.2.3/8']`, atoms: "cidr4:10.0.0.0/8"},
		{pattern: `[ipv4-addr:value IN ('198.51.100.1', '198.51.100.2', '2001:db8::1')]`, atoms: "ipv4:198.51.100.1 ipv4:198.51.100.2"},
		{pattern: `[domain-name:value = 'EVIL.example.']`, atoms: "domain:evil.example"},
		{pattern: `[url:value = 'HTTP://Evil.example:80/a?b=1']`, atoms: "url:http://evil.example/a?b=1"},
		{pattern: `[email-addr:value = 'Bob@Example.com']`, atoms: "email:bob@example.com"},
		{pattern: `[file:hashes.'SHA-256' = 'AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f']`,
			atoms: "sha256:aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f md5:cead3f77f6cda6ec00f57d76c9a6879f"},
		{pattern: `[file:hashes.sha1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709' OR file:hashes.SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709' OR file:hashes.'SHA-1' = 'DA39A3EE5E6B4B0D3255BFEF95601890AFD80709']`,
			atoms: "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{pattern: `[x509-certificate:hashes.'SHA-512' = '` + strings.Repeat("ab", 64) + `']`, atoms: "sha512:" + strings.Repeat("ab", 64)},
		{pattern: `[file:name = 'Invoice.PDF.exe']`, atoms: "filename:Invoice.PDF.exe"},
		{pattern: `[process:name = 'PowerShell.exe' OR process:binary_ref.name = 'cmd.exe']`, atoms: "process-name:powershell.exe process-name:cmd.exe"},
		{pattern: `[windows-registry-key:key = 'HKLM\\Software\\Run']`, atoms: `registry-key:hkey_local_machine\software\run`},
		{pattern: `[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'Evil/1.0']`, atoms: "user-agent:Evil/1.0"},
		{pattern: `[process:command_line LIKE '%-enc JAB%']`, atoms: "command-line:-enc JAB"},
		{pattern: `[ipv4-addr:value = '198.51.100.1'] OR [domain-name:value = 'evil.example']`, atoms: "ipv4:198.51.100.1 domain:evil.example"},
		{pattern: `[ipv4-addr:value = '198.51.100.1' OR ipv4-addr:value = '198.51.100.1']`, atoms: "ipv4:198.51.100.1"},
		// compound expressions
		{pattern: `[network-traffic:dst_ref.value = '198.51.100.1' AND network-traffic:dst_port = 443]`,
			exprs: `(ipv4/dst eq ["198.51.100.1"] AND port/dst eq ["443"])`},
		{pattern: `[network-traffic:src_ref.value ISSUBSET '10.0.0.0/8' AND network-traffic:dst_port IN (80, 8080) AND network-traffic:protocols[*] = 'TCP']`,
			exprs: `(ipv4/src cidr [10.0.0.0/8] AND port/dst in ["80" "8080"] AND protocol eq ["tcp"])`},
		{pattern: `[network-traffic:dst_port > 1023 AND network-traffic:dst_port <= 2048.5]`, exprs: `(port/dst ge 1024 AND port/dst le 2048)`},
		{pattern: `[network-traffic:dst_port NOT < 1024]`, exprs: `NOT port/dst le 1023`},
		{pattern: `[domain-name:value != 'good.example']`, exprs: `NOT domain eq ["good.example"]`},
		{pattern: `[domain-name:value NOT IN ('a.example', 'b.example')]`, exprs: `NOT domain in ["a.example" "b.example"]`},
		{pattern: `[domain-name:value LIKE '%.evil.example']`, exprs: `domain regex /(?i)(?s)^(?:.*\.evil\.example)$/`},
		{pattern: `[domain-name:value MATCHES '^x[0-9]+\\.example$']`, exprs: `domain regex /(?i)^x[0-9]+\.example$/`},
		{pattern: `[file:name LIKE '%.exe']`, exprs: `filename regex /(?s)^(?:.*\.exe)$/`},
		{pattern: `[file:name LIKE '%invoice%']`, exprs: `filename contains ["invoice"]`},
		{pattern: `[file:name NOT LIKE '%invoice%']`, exprs: `NOT filename contains ["invoice"]`},
		{pattern: `[process:command_line = 'cmd.exe /c whoami']`, exprs: `command-line eq ["cmd.exe /c whoami"]`},
		{pattern: `[process:command_line LIKE 'cmd.exe%']`, exprs: `command-line regex /(?s)^(?:cmd\.exe.*)$/`},
		{pattern: `[file:parent_directory_ref.path = 'C:\\Windows\\System32']`,
			exprs: `filepath regex /^(?:C:\\Windows\\System32)[\\/][^\\/]+$/`},
		{pattern: `[file:name = 'a.dll' AND file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4']`, unsupported: "AND of comparisons on one file object cannot be expressed per event: an event may carry several files"},
		{pattern: `[process:name = 'cmd.exe' AND process:command_line LIKE '%whoami%']`, unsupported: "carries the process and its parent"},
		{pattern: `[EXISTS network-traffic:dst_port]`, exprs: `port/dst exists`},
		{pattern: `[ipv4-addr:value != '198.51.100.1']`, exprs: `NOT ipv4 cidr [198.51.100.1/32 ::/0]`},
		{pattern: `[ipv6-addr:value NOT ISSUBSET '2001:db8::/32']`, exprs: `NOT ipv4 cidr [2001:db8::/32 0.0.0.0/0]`},
		{pattern: `[ipv4-addr:value != 5]`, exprs: `ipv4 cidr [0.0.0.0/0]`},
		{pattern: `[network-traffic:dst_ref.value != '198.51.100.1']`, exprs: `NOT ipv4/dst eq ["198.51.100.1"]`},
		{pattern: `[network-traffic:dst_ref.value ISSUPERSET '198.51.100.1']`, exprs: `ipv4/dst eq ["198.51.100.1"]`},
		{pattern: `[network-traffic:dst_port = '80' OR network-traffic:dst_port != '80']`, exprs: `port/dst exists`},
		{pattern: `[email-message:from_ref.value = 'a@example.com' AND email-message:to_refs[*].value = 'b@example.com']`,
			exprs: `(email/src eq ["a@example.com"] AND email/dst eq ["b@example.com"])`},
		{pattern: `[(network-traffic:dst_port = 80 OR ipv4-addr:value = '198.51.100.1') AND network-traffic:src_port = 1234]`,
			exprs: `(port/dst eq ["80"] AND port/src eq ["1234"])`},
		{pattern: `[domain-name:value = 'a.example' OR network-traffic:dst_port = 22]`, atoms: "domain:a.example", exprs: `port/dst eq ["22"]`},
		{pattern: `[ipv4-addr:value = 'not-an-ip' OR domain-name:value = 'evil.example']`, atoms: "domain:evil.example"},
		// unsupported, with reasons
		{pattern: `[x509-certificate:serial_number = '4c:0b']`, unsupported: "has no observable for this object path"},
		{pattern: `[file:hashes.SSDEEP = '3:abc:def']`, unsupported: `hash algorithm "SSDEEP" has no observable kind`},
		{pattern: `[ipv4-addr:value = '198.51.100.1' AND ipv4-addr:value != '198.51.100.2']`, unsupported: "AND of comparisons on one ipv4-addr object"},
		{pattern: `[ipv4-addr:value = '198.51.100.1' AND domain-name:value = 'evil.example']`, unsupported: "can never match an event"},
		{pattern: `[file:hashes.MD5 = 'not-a-hash']`, unsupported: "can never match an event"},
		{pattern: `[file:name > 'a']`, unsupported: "ordering comparison"},
		{pattern: `[file:name MATCHES '(a)\\1']`, unsupported: "not supported by RE2"},
		{pattern: `[ipv4-addr:value LIKE '10.%']`, unsupported: "cannot be restricted to one address family"},
		{pattern: `[ipv4-addr:value IN ('10.0.0.1', 5)]`, unsupported: "set mixes"},
		{pattern: `[ipv4-addr:value ISSUBSET 'bogus']`, unsupported: "not an IP address or CIDR prefix"},
		{pattern: `[email-message:to_refs[0].value = 'a@example.com']`, unsupported: "no observable"},
		{pattern: `[network-traffic:dst_ref.value = 'c2.example.org']`, unsupported: "is a domain name"},
		{pattern: `[a:b = 1] AND [a:c = 2]`, unsupported: "observation operator AND", correlation: true},
		{pattern: `[a:b = 1] FOLLOWEDBY [a:c = 2]`, unsupported: "observation operator FOLLOWEDBY", correlation: true},
		{pattern: `[ipv4-addr:value = '198.51.100.1'] WITHIN 5 SECONDS`, unsupported: "qualifier WITHIN 5 SECONDS", correlation: true},
		{pattern: `[ipv4-addr:value = '198.51.100.1'] OR [ipv4-addr:value = '198.51.100.2'] REPEATS 2 TIMES`, unsupported: "qualifier REPEATS", correlation: true},
		{pattern: `[file:name = 'a'] START t'2016-01-01T00:00:00Z' STOP t'2017-01-01T00:00:00Z'`, unsupported: "qualifier START", correlation: true},
	}
	for _, tt := range tests {
		p, err := Parse(tt.pattern)
		if err != nil {
			t.Errorf("Parse(%s): %v", tt.pattern, err)
			continue
		}
		tr := Translate(p)
		if got := atomsString(tr.Atoms); got != tt.atoms {
			t.Errorf("Translate(%s).Atoms = %q, want %q", tt.pattern, got, tt.atoms)
		}
		if got := exprsString(tr.Exprs); got != tt.exprs {
			t.Errorf("Translate(%s).Exprs = %q, want %q", tt.pattern, got, tt.exprs)
		}
		if tt.unsupported == "" && tr.Unsupported != "" || !strings.Contains(tr.Unsupported, tt.unsupported) {
			t.Errorf("Translate(%s).Unsupported = %q, want it to contain %q", tt.pattern, tr.Unsupported, tt.unsupported)
		}
		if tr.NeedsCorrelation != tt.correlation {
			t.Errorf("Translate(%s).NeedsCorrelation = %v, want %v", tt.pattern, tr.NeedsCorrelation, tt.correlation)
		}
		if tr.OK() != (tt.unsupported == "") {
			t.Errorf("Translate(%s).OK() = %v", tt.pattern, tr.OK())
		}
		for _, a := range tr.Atoms {
			k, v, err := ioc.Normalize(a.Kind, a.Value)
			if err != nil || k != a.Kind || v != a.Value {
				t.Errorf("Translate(%s): atom %s is not normalised (%s %q %v)", tt.pattern, a, k, v, err)
			}
		}
		for _, e := range tr.Exprs {
			if err := e.Validate(); err != nil {
				t.Errorf("Translate(%s): invalid expr %s: %v", tt.pattern, e, err)
			}
		}
	}
	if tr := Translate(nil); tr.Unsupported == "" {
		t.Error("Translate(nil) is supported")
	}
}

// --- property test: ioc translation agrees with STIX evaluation ---

// obsv is an observable of a test event (value normalised).
type obsv struct {
	kind  ioc.Kind
	role  ioc.Role
	value string
}

// testEvent is a small random event and its STIX equivalent.
type testEvent struct {
	obs  []obsv
	stix []*ObservedData
}

var (
	poolIPs     = []string{"198.51.100.1", "198.51.100.2", "203.0.113.5", "2001:db8::1", "2001:db8:1::2"}
	poolPorts   = []int{22, 80, 443, 8080}
	poolProtos  = []string{"tcp", "udp", "http", "tls"}
	poolDomains = []string{"evil.example", "good.example", "bad.test"}
	poolURLs    = []string{"http://evil.example/a", "https://good.example/"}
	poolEmails  = []string{"alice@example.com", "bob@example.net", "eve@bad.test"}
	poolNames   = []string{"a.exe", "b.dll", "invoice.pdf.exe"}
	poolDirs    = []string{`C:\Temp`, `C:\Windows\System32`, "/tmp"}
	poolMD5     = []string{"79054025255fb1a26e4bc422aef54eb4", "cead3f77f6cda6ec00f57d76c9a6879f"}
	poolSHA256  = []string{"aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"}
	poolProcs   = []string{"cmd.exe", "powershell.exe"}
	poolCmds    = []string{"cmd.exe /c whoami", "powershell -enc JABzAD0", "rundll32 x.dll,Run"}
	poolKeys    = []string{`hkey_local_machine\software\run`, `hkey_current_user\software\x`}
	poolUAs     = []string{"Evil/1.0", "Mozilla/5.0"}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func randomEvent(r *rand.Rand) testEvent {
	var ev testEvent
	objs := map[string]any{}
	n := 0
	add := func(o map[string]any) string {
		id := strconv.Itoa(n)
		n++
		objs[id] = o
		return id
	}
	ipObj := func(ip string) map[string]any {
		typ := "ipv4-addr"
		if strings.Contains(ip, ":") {
			typ = "ipv6-addr"
		}
		return map[string]any{"type": typ, "value": ip}
	}
	addrKind := func(ip string) ioc.Kind { return ioc.AddrKind(netip.MustParseAddr(ip)) }
	// standalone addresses, domains, URLs, e-mail addresses
	for range r.IntN(3) {
		ip := pick(r, poolIPs)
		add(ipObj(ip))
		ev.obs = append(ev.obs, obsv{addrKind(ip), ioc.RoleAny, ip})
	}
	for range r.IntN(2) {
		d := pick(r, poolDomains)
		add(map[string]any{"type": "domain-name", "value": d})
		ev.obs = append(ev.obs, obsv{ioc.KindDomain, ioc.RoleAny, d})
	}
	if r.IntN(3) == 0 {
		u := pick(r, poolURLs)
		add(map[string]any{"type": "url", "value": u})
		ev.obs = append(ev.obs, obsv{ioc.KindURL, ioc.RoleAny, u})
	}
	if r.IntN(3) == 0 {
		e := pick(r, poolEmails)
		add(map[string]any{"type": "email-addr", "value": e})
		ev.obs = append(ev.obs, obsv{ioc.KindEmail, ioc.RoleAny, e})
	}
	// one connection
	if r.IntN(2) == 0 {
		nt := map[string]any{"type": "network-traffic"}
		if r.IntN(4) > 0 {
			ip := pick(r, poolIPs)
			nt["src_ref"] = add(ipObj(ip))
			ev.obs = append(ev.obs, obsv{addrKind(ip), ioc.RoleSrc, ip})
		}
		if r.IntN(4) > 0 {
			ip := pick(r, poolIPs)
			nt["dst_ref"] = add(ipObj(ip))
			ev.obs = append(ev.obs, obsv{addrKind(ip), ioc.RoleDst, ip})
		}
		if r.IntN(2) == 0 {
			p := pick(r, poolPorts)
			nt["src_port"] = json.Number(strconv.Itoa(p))
			ev.obs = append(ev.obs, obsv{ioc.KindPort, ioc.RoleSrc, strconv.Itoa(p)})
		}
		if r.IntN(4) > 0 {
			p := pick(r, poolPorts)
			nt["dst_port"] = json.Number(strconv.Itoa(p))
			ev.obs = append(ev.obs, obsv{ioc.KindPort, ioc.RoleDst, strconv.Itoa(p)})
		}
		var protos []any
		for range r.IntN(3) {
			p := pick(r, poolProtos)
			protos = append(protos, p)
			ev.obs = append(ev.obs, obsv{ioc.KindProtocol, ioc.RoleAny, p})
		}
		if protos != nil {
			nt["protocols"] = protos
		}
		if r.IntN(3) == 0 {
			ua := pick(r, poolUAs)
			nt["extensions"] = map[string]any{"http-request-ext": map[string]any{"request_header": map[string]any{"User-Agent": ua}}}
			ev.obs = append(ev.obs, obsv{ioc.KindUserAgent, ioc.RoleAny, ua})
		}
		add(nt)
	}
	// one e-mail message
	if r.IntN(4) == 0 {
		m := map[string]any{"type": "email-message"}
		from := pick(r, poolEmails)
		m["from_ref"] = add(map[string]any{"type": "email-addr", "value": from})
		ev.obs = append(ev.obs, obsv{ioc.KindEmail, ioc.RoleSrc, from})
		var to []any
		for range 1 + r.IntN(2) {
			e := pick(r, poolEmails)
			to = append(to, add(map[string]any{"type": "email-addr", "value": e}))
			ev.obs = append(ev.obs, obsv{ioc.KindEmail, ioc.RoleDst, e})
		}
		m["to_refs"] = to
		add(m)
	}
	// one file
	if r.IntN(2) == 0 {
		f := map[string]any{"type": "file"}
		name := pick(r, poolNames)
		f["name"] = name
		ev.obs = append(ev.obs, obsv{ioc.KindFileName, ioc.RoleAny, name})
		if r.IntN(3) > 0 {
			dir := pick(r, poolDirs)
			f["parent_directory_ref"] = add(map[string]any{"type": "directory", "path": dir})
			sep := `\`
			if strings.HasPrefix(dir, "/") {
				sep = "/"
			}
			ev.obs = append(ev.obs, obsv{ioc.KindFilePath, ioc.RoleAny, dir + sep + name})
		}
		hashes := map[string]any{}
		if r.IntN(2) == 0 {
			h := pick(r, poolMD5)
			hashes["MD5"] = h
			ev.obs = append(ev.obs, obsv{ioc.KindMD5, ioc.RoleAny, h})
		}
		if r.IntN(3) == 0 {
			h := pick(r, poolSHA256)
			hashes["SHA-256"] = h
			ev.obs = append(ev.obs, obsv{ioc.KindSHA256, ioc.RoleAny, h})
		}
		if len(hashes) > 0 {
			f["hashes"] = hashes
		}
		add(f)
	}
	// one process
	if r.IntN(3) == 0 {
		p := map[string]any{"type": "process"}
		if r.IntN(3) > 0 {
			name := pick(r, poolProcs)
			p["name"] = name
			ev.obs = append(ev.obs, obsv{ioc.KindProcessName, ioc.RoleAny, name})
		}
		if r.IntN(3) > 0 {
			cmd := pick(r, poolCmds)
			p["command_line"] = cmd
			ev.obs = append(ev.obs, obsv{ioc.KindCommandLine, ioc.RoleAny, cmd})
		}
		add(p)
	}
	if r.IntN(4) == 0 {
		k := pick(r, poolKeys)
		add(map[string]any{"type": "windows-registry-key", "key": k})
		ev.obs = append(ev.obs, obsv{ioc.KindRegistryKey, ioc.RoleAny, k})
	}
	od := &ObservedData{ID: "observed-data--event", NumberObserved: 1, Objects: map[string]map[string]any{}}
	for id, o := range objs {
		od.Objects[id] = o.(map[string]any)
	}
	ev.stix = []*ObservedData{od}
	return ev
}

// quote renders a pattern string literal.
func quote(s string) string {
	var b strings.Builder
	writeQuoted(&b, s)
	return b.String()
}

func randomLeaf(r *rand.Rand) string {
	not := ""
	if r.IntN(4) == 0 {
		not = "NOT "
	}
	strLeaf := func(path string, pool []string, extra ...string) string {
		v := pick(r, append(append([]string{}, pool...), extra...))
		switch r.IntN(9) {
		case 0:
			return fmt.Sprintf("%s %s!= %s", path, "", quote(v))
		case 1:
			return fmt.Sprintf("%s %sIN (%s, %s)", path, not, quote(v), quote(pick(r, pool)))
		case 2:
			if len(v) > 3 {
				return fmt.Sprintf("%s %sLIKE %s", path, not, quote("%"+v[1:len(v)-1]+"%"))
			}
		case 3:
			if len(v) > 3 {
				return fmt.Sprintf("%s %sLIKE %s", path, not, quote(v[:2]+"_"+v[3:len(v)-1]+"%"))
			}
		case 4:
			if len(v) > 3 {
				return fmt.Sprintf("%s %sMATCHES %s", path, not, quote(regexp.QuoteMeta(v[1:3])+"."))
			}
		case 5:
			return "EXISTS " + path
		case 6:
			return fmt.Sprintf("%s %s= %d", path, not, r.IntN(3))
		}
		return fmt.Sprintf("%s %s= %s", path, not, quote(v))
	}
	ipLeaf := func(path string) string {
		switch r.IntN(6) {
		case 0:
			return fmt.Sprintf("%s %sISSUBSET %s", path, not, quote(pick(r, []string{"198.51.100.0/24", "203.0.113.0/25", "2001:db8::/48", "0.0.0.0/0"})))
		case 1:
			return fmt.Sprintf("%s %sIN (%s, %s)", path, not, quote(pick(r, poolIPs)), quote(pick(r, poolIPs)))
		case 2:
			return fmt.Sprintf("%s %sISSUPERSET %s", path, not, quote(pick(r, poolIPs)))
		case 3:
			return "EXISTS " + path
		}
		return fmt.Sprintf("%s %s= %s", path, not, quote(pick(r, poolIPs)))
	}
	portLeaf := func(path string) string {
		ops := []string{"=", "!=", "<", "<=", ">", ">="}
		switch r.IntN(5) {
		case 0:
			return fmt.Sprintf("%s %sIN (%d, %d)", path, not, pick(r, poolPorts), pick(r, poolPorts))
		case 1:
			return fmt.Sprintf("%s %s= '80'", path, not)
		case 2:
			return "EXISTS " + path
		}
		return fmt.Sprintf("%s %s%s %d", path, not, pick(r, ops), pick(r, poolPorts)+r.IntN(3)-1)
	}
	switch r.IntN(20) {
	case 0:
		return ipLeaf("ipv4-addr:value")
	case 1:
		return ipLeaf("ipv6-addr:value")
	case 2:
		return ipLeaf("network-traffic:src_ref.value")
	case 3:
		return ipLeaf("network-traffic:dst_ref.value")
	case 4:
		return portLeaf("network-traffic:src_port")
	case 5:
		return portLeaf("network-traffic:dst_port")
	case 6:
		return strLeaf("network-traffic:protocols[*]", poolProtos)
	case 7:
		return strLeaf("domain-name:value", poolDomains, "other.example")
	case 8:
		return strLeaf("url:value", poolURLs)
	case 9:
		return strLeaf("email-addr:value", poolEmails)
	case 10:
		return strLeaf("email-message:from_ref.value", poolEmails)
	case 11:
		return strLeaf("email-message:to_refs[*].value", poolEmails)
	case 12:
		return strLeaf("file:name", poolNames)
	case 13:
		return strLeaf("file:parent_directory_ref.path", poolDirs)
	case 14:
		return strLeaf("file:hashes.MD5", poolMD5)
	case 15:
		return strLeaf("file:hashes.'SHA-256'", poolSHA256)
	case 16:
		return strLeaf("process:name", poolProcs)
	case 17:
		return strLeaf("process:command_line", poolCmds, "whoami")
	case 18:
		return strLeaf("windows-registry-key:key", poolKeys)
	}
	return strLeaf("network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'", poolUAs)
}

func randomComparison(r *rand.Rand, depth int) string {
	if depth == 0 || r.IntN(2) == 0 {
		return randomLeaf(r)
	}
	op := " AND "
	if r.IntN(2) == 0 {
		op = " OR "
	}
	return "(" + randomComparison(r, depth-1) + op + randomComparison(r, depth-1) + ")"
}

// --- a tiny reference evaluator of the ioc model ---

func selects(t ioc.Target, o obsv) bool {
	kindOK := o.kind == t.Kind
	if t.Kind == ioc.KindIPv4 || t.Kind == ioc.KindIPv6 {
		kindOK = o.kind == ioc.KindIPv4 || o.kind == ioc.KindIPv6
	}
	return kindOK && (t.Role == ioc.RoleAny || t.Role == o.role)
}

func predHolds(p *ioc.Predicate, o obsv) bool {
	switch p.Op {
	case ioc.PredEq, ioc.PredIn:
		return slices.Contains(p.Values, o.value)
	case ioc.PredContains:
		for _, v := range p.Values {
			if strings.Contains(o.value, v) {
				return true
			}
		}
		return false
	case ioc.PredCIDR:
		a, err := netip.ParseAddr(o.value)
		if err != nil {
			return false
		}
		for _, pfx := range p.Prefixes {
			if pfx.Contains(a) {
				return true
			}
		}
		return false
	case ioc.PredRegex:
		return regexp.MustCompile(p.Regex).MatchString(o.value)
	case ioc.PredExists:
		return true
	}
	n, err := strconv.ParseInt(o.value, 10, 64)
	if err != nil {
		return false
	}
	switch p.Op {
	case ioc.PredLt:
		return n < p.Num
	case ioc.PredLe:
		return n <= p.Num
	case ioc.PredGt:
		return n > p.Num
	case ioc.PredGe:
		return n >= p.Num
	}
	return false
}

func refExpr(e *ioc.Expr, ev []obsv) bool {
	switch e.Op {
	case ioc.OpAnd:
		for _, a := range e.Args {
			if !refExpr(a, ev) {
				return false
			}
		}
		return true
	case ioc.OpOr:
		for _, a := range e.Args {
			if refExpr(a, ev) {
				return true
			}
		}
		return false
	case ioc.OpNot:
		return !refExpr(e.Args[0], ev)
	}
	p := e.Pred
	any := false
	for _, o := range ev {
		if !selects(p.Target, o) {
			continue
		}
		any = true
		if p.Op != ioc.PredExists && predHolds(p, o) != p.Negate {
			return true
		}
	}
	if p.Op == ioc.PredExists {
		return any != p.Negate
	}
	return false
}

func refAtom(a Atom, ev []obsv) bool {
	for _, o := range ev {
		switch a.Kind {
		case ioc.KindCIDRv4, ioc.KindCIDRv6:
			if ad, err := netip.ParseAddr(o.value); err == nil && (o.kind == ioc.KindIPv4 || o.kind == ioc.KindIPv6) && netip.MustParsePrefix(a.Value).Contains(ad) {
				return true
			}
		case ioc.KindCommandLine:
			if o.kind == ioc.KindCommandLine && strings.Contains(o.value, a.Value) {
				return true
			}
		case ioc.KindDomain:
			if o.kind == ioc.KindDomain && (o.value == a.Value || strings.HasSuffix(o.value, "."+a.Value)) {
				return true
			}
		default:
			if o.kind == a.Kind && o.value == a.Value {
				return true
			}
		}
	}
	return false
}

func TestTranslationAgreesWithEvaluator(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 20261203))
	supported, matched := 0, 0
	const n = 6000
	for i := 0; i < n; i++ {
		ev := randomEvent(r)
		src := "[" + randomComparison(r, 2) + "]"
		if r.IntN(5) == 0 {
			src += " OR [" + randomComparison(r, 1) + "]"
		}
		p, err := Parse(src)
		if err != nil {
			t.Fatalf("Parse(%s): %v", src, err)
		}
		want, err := p.Match(ev.stix)
		if err != nil {
			t.Fatalf("Match(%s): %v", src, err)
		}
		tr := Translate(p)
		if tr.Unsupported != "" {
			if !strings.Contains(tr.Unsupported, "AND of comparisons on one") && !strings.Contains(tr.Unsupported, "never match") &&
				!strings.Contains(tr.Unsupported, "address family") && !strings.Contains(tr.Unsupported, "on a directory path") {
				t.Fatalf("Translate(%s) unexpectedly unsupported: %s", src, tr.Unsupported)
			}
			if strings.Contains(tr.Unsupported, "never match") && want {
				t.Fatalf("Translate(%s) says it can never match, but it matches event %v", src, ev.obs)
			}
			continue
		}
		supported++
		got := false
		for _, a := range tr.Atoms {
			got = got || refAtom(a, ev.obs)
		}
		for _, e := range tr.Exprs {
			got = got || refExpr(e, ev.obs)
		}
		if got != want {
			data, _ := json.Marshal(ev.stix[0].Objects)
			t.Fatalf("pattern %s\n translation atoms [%s] exprs [%s] says %v, STIX evaluation says %v\n event %v\n stix %s",
				src, atomsString(tr.Atoms), exprsString(tr.Exprs), got, want, ev.obs, data)
		}
		if want {
			matched++
		}
	}
	if supported < n/2 || matched < supported/10 || matched > supported*9/10 {
		t.Errorf("weak property test: %d of %d patterns supported, %d matched", supported, n, matched)
	}
	t.Logf("%d of %d random patterns translated; %d matched their event", supported, n, matched)
}
