package ioc

import "bytes"

// URLHostBytes is URLHost on bytes for hot paths (matcher, allowlist): the
// host of a normalised URL (without port or brackets), aliasing u, or nil
// when there is none. It does not allocate and agrees with URLHost.
func URLHostBytes(u []byte) []byte {
	i := bytes.Index(u, []byte("://"))
	if i < 0 {
		return nil
	}
	h := u[i+3:]
	if j := bytes.IndexAny(h, "/?#"); j >= 0 {
		h = h[:j]
	}
	if j := bytes.LastIndexByte(h, '@'); j >= 0 {
		h = h[j+1:]
	}
	if len(h) > 0 && h[0] == '[' {
		if j := bytes.IndexByte(h, ']'); j > 0 {
			return h[1:j]
		}
		return nil
	}
	if j := bytes.LastIndexByte(h, ':'); j >= 0 {
		h = h[:j]
	}
	return h
}

// RegistryHiveAt reports whether key (lower-case, '\'-separated, as
// NormalizeRegistryKey folds it) starts with a hive alias that
// NormalizeRegistryKey spells out (hklm, hkcu, hkcr, hku, hkcc,
// \registry\machine, \registry\user) followed by '\' or the end: n is
// the alias's length and hive the full name (e.g. "hkey_local_machine").
// It does not allocate.
func RegistryHiveAt(key []byte) (n int, hive string, ok bool) {
	for _, h := range hives {
		if len(key) >= len(h.from) && string(key[:len(h.from)]) == h.from && (len(key) == len(h.from) || key[len(h.from)] == '\\') {
			return len(h.from), h.to, true
		}
	}
	return 0, "", false
}
