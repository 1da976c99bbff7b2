package ioc

import "testing"

func TestURLHostBytesAgrees(t *testing.T) {
	for _, u := range []string{"http://evil.com/x", "http://u:p@evil.com:81/x", "http://[2001:db8::1]:8080/", "nohost",
		"https://a.example?q", "http://[bad/", "ftp://h:21#f", "http://@/", ""} {
		if got, want := string(URLHostBytes([]byte(u))), URLHost(u); got != want {
			t.Errorf("URLHostBytes(%q) = %q, URLHost %q", u, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = URLHostBytes([]byte("http://u@evil.example:8080/p")) }); n != 0 {
		t.Errorf("URLHostBytes allocates %v times", n)
	}
}

func TestRegistryHiveAt(t *testing.T) {
	for _, tc := range []struct {
		key  string
		n    int
		hive string
	}{
		{`hklm\software`, 4, "hkey_local_machine"},
		{`hku`, 3, "hkey_users"},
		{`\registry\machine\system`, 17, "hkey_local_machine"},
		{`hkcux\a`, 0, ""},
		{`hkey_local_machine\software`, 0, ""},
		{``, 0, ""},
	} {
		n, hive, ok := RegistryHiveAt([]byte(tc.key))
		if n != tc.n || hive != tc.hive || ok != (tc.n > 0) {
			t.Errorf("RegistryHiveAt(%q) = %d %q %v, want %d %q", tc.key, n, hive, ok, tc.n, tc.hive)
		}
		// It agrees with NormalizeRegistryKey.
		if ok {
			if got, want := NormalizeRegistryKey(tc.key), hive+tc.key[n:]; got != want {
				t.Errorf("NormalizeRegistryKey(%q) = %q, RegistryHiveAt gives %q", tc.key, got, want)
			}
		}
	}
}
