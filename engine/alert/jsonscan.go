package alert

import (
	"bytes"
	"encoding/json"
)

// The helpers below walk JSON that encoding/json.Valid accepted: they do
// not validate, they only find the boundaries of members and values, and
// must only be given valid JSON.

// rawMember is one member of a JSON object: its key (unescaped) and its
// raw value.
type rawMember struct {
	key string
	val []byte
}

// objectMembers returns the members of the JSON object obj (valid JSON
// whose first non-space byte is '{'), in order, duplicates included.
func objectMembers(obj []byte) []rawMember {
	var out []rawMember
	eachMember(obj, func(key, val []byte, escaped bool) bool {
		out = append(out, rawMember{key: keyString(key, escaped), val: val})
		return true
	})
	return out
}

// eachMember calls fn with the raw key (without quotes), the raw value
// and whether the key has escapes, for each member of the object obj,
// until fn returns false.
func eachMember(obj []byte, fn func(key, val []byte, escaped bool) bool) {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return
	}
	i++
	for {
		i = skipWS(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return // '}' or malformed
		}
		end, escaped := stringEnd(obj, i)
		key := obj[i+1 : end-1]
		i = skipWS(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return
		}
		i = skipWS(obj, i+1)
		vend := valueEnd(obj, i)
		if !fn(key, obj[i:vend], escaped) {
			return
		}
		i = skipWS(obj, vend)
		if i >= len(obj) || obj[i] != ',' {
			return
		}
		i++
	}
}

func keyString(raw []byte, escaped bool) string {
	if !escaped {
		return string(raw)
	}
	var s string
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	if json.Unmarshal(q, &s) != nil {
		return string(raw)
	}
	return s
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string starting at b[i]
// ('"') and whether it contains escapes.
func stringEnd(b []byte, i int) (int, bool) {
	escaped := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return len(b), escaped
}

// valueEnd returns the index just past the value starting at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := stringEnd(b, j)
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
		j++
	}
	return j
}

// appendCompact appends the valid JSON value v without insignificant
// whitespace.
func appendCompact(dst, v []byte) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case ' ', '\t', '\n', '\r':
		case '"':
			end, _ := stringEnd(v, i)
			dst = append(dst, v[i:end]...)
			i = end - 1
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// lookupScalar finds path in the JSON object obj, following nested
// objects, dotted keys or a mix of both ("host.name" matches
// {"host":{"name":..}} and {"host.name":..}); it returns a non-empty
// string value, or a number's text.
func lookupScalar(obj []byte, path string, depth int) (string, bool) {
	if depth > 8 {
		return "", false
	}
	var out string
	found := false
	eachMember(obj, func(key, val []byte, escaped bool) bool {
		if escaped {
			key = []byte(keyString(key, true))
		}
		switch {
		case string(key) == path:
			if s, ok := scalarString(val); ok {
				out, found = s, true
				return false
			}
		case len(path) > len(key) && path[len(key)] == '.' && string(key) == path[:len(key)] && len(val) > 0 && val[0] == '{':
			if s, ok := lookupScalar(val, path[len(key)+1:], depth+1); ok {
				out, found = s, true
				return false
			}
		}
		return true
	})
	return out, found
}

func scalarString(v []byte) (string, bool) {
	if len(v) == 0 {
		return "", false
	}
	switch v[0] {
	case '"':
		if len(v) < 3 {
			return "", false
		}
		if bytes.IndexByte(v, '\\') < 0 {
			return string(v[1 : len(v)-1]), true
		}
		var s string
		if json.Unmarshal(v, &s) != nil || s == "" {
			return "", false
		}
		return s, true
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(v), true
	}
	return "", false
}
