package taxii

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// redacted is what a Secret prints instead of its value.
const redacted = "[REDACTED]"

// Secret holds a credential (password, API key). Its String, GoString,
// Format, MarshalText and MarshalJSON methods never reveal the value, so a
// Secret can sit in a config struct that is logged or dumped; only Reveal
// returns it. The zero Secret is empty. A Secret is an immutable value and
// safe for concurrent use.
type Secret struct {
	v string
}

// NewSecret wraps s as a Secret.
func NewSecret(s string) Secret { return Secret{v: s} }

// SecretFromEnv reads the secret from the environment variable name. An
// unset or empty variable is an error naming the variable (never its value).
func SecretFromEnv(name string) (Secret, error) {
	if name == "" {
		return Secret{}, errors.New("secret: empty environment variable name")
	}
	v, ok := os.LookupEnv(name)
	if !ok {
		return Secret{}, fmt.Errorf("secret: environment variable %s is not set", name)
	}
	if v == "" {
		return Secret{}, fmt.Errorf("secret: environment variable %s is empty", name)
	}
	return Secret{v: v}, nil
}

// SecretFromFile reads the secret from the file at path (as written by
// Kubernetes or Docker secrets): trailing newlines (LF or CRLF) are
// removed, nothing else. A missing, unreadable or empty file is an error
// naming the path.
func SecretFromFile(path string) (Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Secret{}, fmt.Errorf("secret: %w", err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return Secret{}, fmt.Errorf("secret: file %s is empty", path)
	}
	return Secret{v: v}, nil
}

// Reveal returns the secret value. Call it only where the value is sent
// (an HTTP header), never to log or print it.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// String returns "[REDACTED]" for a non-empty secret and "" for an empty one.
func (s Secret) String() string {
	if s.v == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer without revealing the value.
func (s Secret) GoString() string { return "taxii.Secret(" + s.String() + ")" }

// Format implements fmt.Formatter: every verb prints String().
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(s.String()))
}

// MarshalText implements encoding.TextMarshaler without revealing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalJSON implements json.Marshaler without revealing the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }
