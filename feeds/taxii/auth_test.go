package taxii

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	testPassword = "s3cr3t-Pa55w0rd"
	testKey      = "k3y-0123456789abcdef"
)

func TestAuth(t *testing.T) {
	for _, tc := range []struct {
		name   string
		auth   Auth
		server func(r *http.Request) bool
		ok     bool
	}{
		{"basic", Auth{Username: "alice", Password: NewSecret(testPassword)}, basicIs("alice", testPassword), true},
		{"basic wrong password", Auth{Username: "alice", Password: NewSecret("nope")}, basicIs("alice", testPassword), false},
		{"no credentials", Auth{}, basicIs("alice", testPassword), false},
		{"token", Auth{APIKey: NewSecret(testKey), APIKeyScheme: "Token"}, headerIs("Authorization", "Token "+testKey), true},
		{"bearer (default scheme)", Auth{APIKey: NewSecret(testKey)}, headerIs("Authorization", "Bearer "+testKey), true},
		{"bearer sent, token wanted", Auth{APIKey: NewSecret(testKey), APIKeyScheme: "Bearer"}, headerIs("Authorization", "Token "+testKey), false},
		{"custom header", Auth{APIKey: NewSecret(testKey), APIKeyHeader: "X-Api-Key"}, headerIs("X-Api-Key", testKey), true},
		{"custom header and basic", Auth{Username: "alice", Password: NewSecret(testPassword), APIKey: NewSecret(testKey), APIKeyHeader: "X-Api-Key"},
			func(r *http.Request) bool {
				return basicIs("alice", testPassword)(r) && headerIs("X-Api-Key", testKey)(r)
			}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, Version21)
			f.discoveryRoots = []string{"/api1/"}
			f.addCollection("/api1/", "c1", seq("a0000000", 2, t0)...)
			f.auth = tc.server
			srv := f.start()
			c, sl, logs := testClient(t, srv.URL, func(c *Config) { c.Auth = tc.auth })
			_, err := c.Discovery(context.Background())
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				if ids, _, err := pull(t, c, "api1", "c1", Filter{}); err != nil || len(ids) != 2 {
					t.Fatalf("pull: %v %v", ids, err)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), "status 401: Unauthorized") {
					t.Fatalf("want a 401 error, got %v", err)
				}
				if n := len(f.requestLog()); n != 1 {
					t.Errorf("%d requests: a 401 must stop discovery at once", n)
				}
				if len(sl.all()) != 0 {
					t.Errorf("a 401 was retried")
				}
			}
			for _, s := range []string{testPassword, testKey} {
				if err != nil && strings.Contains(err.Error(), s) {
					t.Errorf("error reveals a secret: %v", err)
				}
				if strings.Contains(logs.String(), s) {
					t.Errorf("log reveals a secret: %s", logs)
				}
			}
		})
	}
}

func basicIs(user, pass string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && u == user && p == pass
	}
}

func headerIs(name, value string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.Header.Get(name) == value }
}

// A custom API key header is not sent to another host on redirect.
func TestRedirectDropsCustomHeader(t *testing.T) {
	var leaked string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = r.Header.Get("X-Api-Key") + r.Header.Get("Authorization")
		w.Header().Set("Content-Type", MediaTAXII21)
		_, _ = w.Write([]byte(`{"title": "moved"}`))
	}))
	defer other.Close()
	f := newFake(t, Version21)
	srv := f.start()
	f.fault(func(w http.ResponseWriter, r *http.Request) bool {
		http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/taxii2/", http.StatusFound)
		return true
	})
	c, _, _ := testClient(t, srv.URL+"/taxii2/", func(c *Config) {
		c.Auth = Auth{APIKey: NewSecret(testKey), APIKeyHeader: "X-Api-Key"}
	})
	d, err := c.Discovery(context.Background())
	if err != nil || d.Title != "moved" {
		t.Fatalf("%+v %v", d, err)
	}
	if leaked != "" {
		t.Fatalf("credential sent to the other host: %q", leaked)
	}
}

// pki is a throwaway CA with one client certificate, as PEM files.
type pki struct {
	caFile, certFile, keyFile string
	pool                      *x509.CertPool
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "iocmatch test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "iocmatch client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := pki{certFile: filepath.Join(dir, "client.pem"), keyFile: filepath.Join(dir, "client.key"), pool: x509.NewCertPool()}
	p.pool.AddCert(caCert)
	writePEM(t, p.certFile, "CERTIFICATE", der)
	writePEM(t, p.keyFile, "EC PRIVATE KEY", keyDER)
	return p
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	f := newFake(t, Version21)
	f.discoveryRoots = []string{"/api1/"}
	f.addCollection("/api1/", "c1", seq("b0000000", 2, t0)...)
	srv := httptest.NewUnstartedServer(f)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	serverCA := filepath.Join(t.TempDir(), "server-ca.pem")
	writePEM(t, serverCA, "CERTIFICATE", srv.Certificate().Raw)

	for _, tc := range []struct {
		name    string
		files   TLSFiles
		wantErr string
	}{
		{"client certificate and CA", TLSFiles{CertFile: p.certFile, KeyFile: p.keyFile, CAFile: serverCA}, ""},
		{"no client certificate", TLSFiles{CAFile: serverCA}, "tls"},
		{"server not trusted", TLSFiles{CertFile: p.certFile, KeyFile: p.keyFile}, "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, sl, _ := testClient(t, srv.URL, func(c *Config) { c.TLS = tc.files })
			n0 := len(f.requestLog())
			d, err := c.Discovery(context.Background())
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if ids, _, err := pull(t, c, d.APIRoots[0], "c1", Filter{}); err != nil || len(ids) != 2 {
					t.Fatalf("pull: %v %v", ids, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if len(sl.all()) != 0 {
				t.Errorf("a TLS failure was retried: %v", sl.all())
			}
			if n := len(f.requestLog()) - n0; n != 0 {
				t.Errorf("%d requests reached the server", n)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	p := newPKI(t)
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"empty URL", Config{}, "empty server URL"},
		{"not http", Config{URL: "ftp://h/"}, "want http(s)://host"},
		{"credentials in URL", Config{URL: "https://bob:" + testPassword + "@h/"}, "carries credentials"},
		{"bad version", Config{URL: "https://h/", Version: "2.2"}, `version "2.2"`},
		{"password without user", Config{URL: "https://h/", Auth: Auth{Password: NewSecret(testPassword)}}, "password without user"},
		{"user without password", Config{URL: "https://h/", Auth: Auth{Username: "bob"}}, `user "bob" without password`},
		{"bad scheme", Config{URL: "https://h/", Auth: Auth{APIKey: NewSecret(testKey), APIKeyScheme: "Digest"}}, `scheme "Digest"`},
		{"basic and bearer", Config{URL: "https://h/", Auth: Auth{Username: "bob", Password: NewSecret(testPassword), APIKey: NewSecret(testKey)}}, "mutually exclusive"},
		{"header without key", Config{URL: "https://h/", Auth: Auth{APIKeyHeader: "X-Key"}}, "without a key"},
		{"bad header name", Config{URL: "https://h/", Auth: Auth{APIKey: NewSecret(testKey), APIKeyHeader: "X Key"}}, "not a header name"},
		{"secret with newline", Config{URL: "https://h/", Auth: Auth{APIKey: NewSecret("a\r\nX-Evil: 1")}}, "line break"},
		{"cert without key", Config{URL: "https://h/", TLS: TLSFiles{CertFile: p.certFile}}, "needs both cert_file and key_file"},
		{"missing cert file", Config{URL: "https://h/", TLS: TLSFiles{CertFile: "/nonexistent/c.pem", KeyFile: p.keyFile}}, "/nonexistent/c.pem"},
		{"bad CA file", Config{URL: "https://h/", TLS: TLSFiles{CAFile: p.keyFile}}, "no PEM certificate"},
		{"negative", Config{URL: "https://h/", MaxPages: -1}, "negative"},
		{"ok", Config{URL: "https://h/taxii2/", TLS: TLSFiles{CertFile: p.certFile, KeyFile: p.keyFile}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, discardLog())
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			for _, s := range []string{testPassword, testKey} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error reveals a secret: %v", err)
				}
			}
		})
	}
}

func TestSecret(t *testing.T) {
	s := NewSecret(testPassword)
	cfg := Config{URL: "https://h/", Auth: Auth{Username: "u", Password: s, APIKey: NewSecret(testKey)}}
	js, err := json.Marshal(cfg.Auth)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{s.String(), fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x", s, cfg, cfg, s, s, s), string(js)} {
		if strings.Contains(out, testPassword) || strings.Contains(out, testKey) {
			t.Errorf("secret revealed: %s", out)
		}
		if !strings.Contains(out, "[REDACTED]") {
			t.Errorf("no redaction marker: %s", out)
		}
	}
	if s.Reveal() != testPassword || s.IsZero() || !(Secret{}).IsZero() || (Secret{}).String() != "" {
		t.Error("Reveal/IsZero/String of the zero secret")
	}

	t.Setenv("IOCMATCH_TEST_SECRET", testKey)
	if got, err := SecretFromEnv("IOCMATCH_TEST_SECRET"); err != nil || got.Reveal() != testKey {
		t.Errorf("SecretFromEnv: %v", err)
	}
	t.Setenv("IOCMATCH_TEST_EMPTY", "")
	for _, name := range []string{"IOCMATCH_TEST_UNSET_VARIABLE", "IOCMATCH_TEST_EMPTY", ""} {
		if _, err := SecretFromEnv(name); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("SecretFromEnv(%q): %v", name, err)
		}
	}
	dir := t.TempDir()
	for _, tc := range []struct{ content, want string }{
		{testKey + "\n", testKey}, {testKey + "\r\n", testKey}, {testKey, testKey}, {" spaced key \n", " spaced key "},
	} {
		p := filepath.Join(dir, "s")
		_ = os.WriteFile(p, []byte(tc.content), 0o600)
		if got, err := SecretFromFile(p); err != nil || got.Reveal() != tc.want {
			t.Errorf("SecretFromFile(%q) = %q, %v", tc.content, got.Reveal(), err)
		}
	}
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	for _, p := range []string{empty, filepath.Join(dir, "missing")} {
		if _, err := SecretFromFile(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("SecretFromFile(%s): %v", p, err)
		}
	}
}

// An https server redirecting to http is not followed: credentials would
// travel in clear.
func TestRedirectDowngradeRefused(t *testing.T) {
	var reached bool
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
	defer plain.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/taxii2/", http.StatusMovedPermanently)
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writePEM(t, ca, "CERTIFICATE", srv.Certificate().Raw)
	c, sl, _ := testClient(t, srv.URL+"/taxii2/", func(c *Config) {
		c.TLS = TLSFiles{CAFile: ca}
		c.Auth = Auth{Username: "alice", Password: NewSecret(testPassword)}
	})
	_, err := c.Discovery(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refusing a redirect from https to http") {
		t.Fatalf("got %v", err)
	}
	if reached || len(sl.all()) != 0 {
		t.Fatalf("followed (%v) or retried (%v)", reached, sl.all())
	}
}
