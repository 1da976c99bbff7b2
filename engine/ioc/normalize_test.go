package ioc

import "testing"

func TestNormalize(t *testing.T) {
	tests := []struct {
		kind     Kind
		in       string
		wantKind Kind
		want     string
		wantErr  bool
	}{
		{KindIPv4, "1.2.3.4", KindIPv4, "1.2.3.4", false},
		{KindIPv4, "::ffff:1.2.3.4", KindIPv4, "1.2.3.4", false},
		{KindIPv4, "2001:DB8::1", KindIPv6, "2001:db8::1", false},
		{KindIPv6, "fe80::1%eth0", KindIPv6, "", true},
		{KindIPv4, "1.2.3", KindIPv4, "", true},
		{KindCIDRv4, "10.1.2.3/8", KindCIDRv4, "10.0.0.0/8", false},
		{KindCIDRv4, "2001:db8::/32", KindCIDRv6, "2001:db8::/32", false},
		{KindCIDRv4, "10.1.2.3/32", KindIPv4, "10.1.2.3", false},
		{KindCIDRv6, "::ffff:10.0.0.0/104", KindCIDRv4, "10.0.0.0/8", false},
		{KindDomain, "EVIL.com.", KindDomain, "evil.com", false},
		{KindDomain, "Bücher.example", KindDomain, "xn--bcher-kva.example", false},
		{KindDomain, "_dmarc.example.com", KindDomain, "_dmarc.example.com", false},
		{KindDomain, "a..b", KindDomain, "", true},
		{KindDomain, "1.2.3.4", KindDomain, "", true},
		{KindDomain, "bad domain.com", KindDomain, "", true},
		{KindURL, "HTTP://Evil.COM:80/a/B?x=1#frag", KindURL, "http://evil.com/a/B?x=1", false},
		{KindURL, "https://evil.com", KindURL, "https://evil.com/", false},
		{KindURL, "https://evil.com:8443/x", KindURL, "https://evil.com:8443/x", false},
		{KindURL, "http://[::ffff:1.2.3.4]/", KindURL, "http://1.2.3.4/", false},
		{KindURL, "http://[2001:DB8::1]:8080/", KindURL, "http://[2001:db8::1]:8080/", false},
		{KindURL, "/relative", KindURL, "", true},
		{KindEmail, "Bob@Evil.COM", KindEmail, "bob@evil.com", false},
		{KindEmail, "bob", KindEmail, "", true},
		{KindMD5, "D41D8CD98F00B204E9800998ECF8427E", KindMD5, "d41d8cd98f00b204e9800998ecf8427e", false},
		{KindMD5, "d41d8cd98f00b204e9800998ecf8427", KindMD5, "", true},
		{KindSHA1, "zz39a3ee5e6b4b0d3255bfef95601890afd80709", KindSHA1, "", true},
		{KindRegistryKey, `HKLM\Software\Run\`, KindRegistryKey, `hkey_local_machine\software\run`, false},
		{KindRegistryKey, `\REGISTRY\MACHINE\Software`, KindRegistryKey, `hkey_local_machine\software`, false},
		{KindSubstring, " -enc ", KindSubstring, " -enc ", false},
		{KindSubstring, "   ", KindSubstring, "", true},
		{KindPort, "0443", KindPort, "443", false},
		{KindPort, "70000", KindPort, "", true},
		{KindCompound, "x", KindCompound, "", true},
	}
	for _, tt := range tests {
		k, v, err := Normalize(tt.kind, tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("Normalize(%s, %q) error = %v, wantErr %v", tt.kind, tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && (k != tt.wantKind || v != tt.want) {
			t.Errorf("Normalize(%s, %q) = %s %q, want %s %q", tt.kind, tt.in, k, v, tt.wantKind, tt.want)
		}
	}
}

func TestKindNamesRoundTrip(t *testing.T) {
	for _, k := range Kinds() {
		got, err := ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	if _, err := ParseKind("bogus"); err == nil {
		t.Error("ParseKind(bogus) succeeded")
	}
}

func TestURLHost(t *testing.T) {
	for in, want := range map[string]string{
		"http://evil.com/x":          "evil.com",
		"http://u:p@evil.com:81/x":   "evil.com",
		"http://[2001:db8::1]:8080/": "2001:db8::1",
		"nohost":                     "",
	} {
		if got := URLHost(in); got != want {
			t.Errorf("URLHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExprValidate(t *testing.T) {
	good := And(
		Pred(Predicate{Target: Target{Kind: KindIPv4, Role: RoleDst}, Op: PredEq, Values: []string{"1.2.3.4"}}),
		Pred(Predicate{Target: Target{Kind: KindPort, Role: RoleDst}, Op: PredEq, Values: []string{"443"}}),
	)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := good.String(); got != `(ipv4/dst eq ["1.2.3.4"] AND port/dst eq ["443"])` {
		t.Errorf("String() = %s", got)
	}
	bad := []*Expr{
		And(),
		{Op: OpNot},
		Pred(Predicate{Target: Target{Kind: KindDomain}, Op: PredRegex, Regex: "("}),
		Pred(Predicate{Target: Target{Kind: KindCompound}, Op: PredExists}),
		Pred(Predicate{Target: Target{Kind: KindDomain}, Op: PredEq}),
	}
	for i, e := range bad {
		if err := e.Validate(); err == nil {
			t.Errorf("bad[%d] %s validated", i, e)
		}
	}
}
