package stream

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/testpki"
)

// TestConnectAuthTLS connects to external (second, embedded) servers
// configured with user/password, token, NKey and mutual TLS, with the
// right and the wrong credentials.
func TestConnectAuthTLS(t *testing.T) {
	pki := testpki.New(t)
	nkUser, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := nkUser.Seed()
	pub, _ := nkUser.PublicKey()
	seedFile := filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	otherUser, _ := nkeys.CreateUser()
	otherSeed, _ := otherUser.Seed()
	otherSeedFile := filepath.Join(t.TempDir(), "other.nk")
	if err := os.WriteFile(otherSeedFile, otherSeed, 0o600); err != nil {
		t.Fatal(err)
	}

	userPass := startServer(t, func(o *server.Options) { o.Username, o.Password = "soc", "s3cret" })
	token := startServer(t, func(o *server.Options) { o.Authorization = "tok-123" })
	nkey := startServer(t, func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: pub}} })
	mtls := startServer(t, func(o *server.Options) {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, CaFile: pki.CAFile, Verify: true})
		if err != nil {
			t.Fatal(err)
		}
		tc.ClientAuth = tls.RequireAndVerifyClientCert
		o.TLSConfig, o.TLS, o.TLSVerify, o.TLSTimeout = tc, true, true, 2
	})

	tests := []struct {
		name    string
		opts    ConnOptions
		wantErr string
	}{
		{"user/password", ConnOptions{URL: userPass.ClientURL(), User: "soc", Password: "s3cret"}, ""},
		{"wrong password", ConnOptions{URL: userPass.ClientURL(), User: "soc", Password: "nope"}, "Authorization Violation"},
		{"token", ConnOptions{URL: token.ClientURL(), Token: "tok-123"}, ""},
		{"wrong token", ConnOptions{URL: token.ClientURL(), Token: "tok-999"}, "Authorization Violation"},
		{"nkey", ConnOptions{URL: nkey.ClientURL(), NKeySeedFile: seedFile}, ""},
		{"unknown nkey", ConnOptions{URL: nkey.ClientURL(), NKeySeedFile: otherSeedFile}, "Authorization Violation"},
		{"missing nkey file", ConnOptions{URL: nkey.ClientURL(), NKeySeedFile: "/nonexistent/user.nk"}, "nkey seed file /nonexistent/user.nk"},
		{"mtls", ConnOptions{URL: mtls.ClientURL(), CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}, ""},
		{"tls without client cert", ConnOptions{URL: mtls.ClientURL(), CAFile: pki.CAFile}, "tls"},
		{"tls with the wrong CA", ConnOptions{URL: mtls.ClientURL(), CAFile: pki.OtherCA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}, "certificate"},
		{"cert without key", ConnOptions{URL: mtls.ClientURL(), CertFile: pki.ClientCert}, "needs both cert_file and key_file"},
		{"two auth methods", ConnOptions{URL: token.ClientURL(), Token: "t", User: "u"}, "more than one authentication method"},
		{"credentials redacted", ConnOptions{URL: "nats://soc:s3cret@127.0.0.1:1", ConnectTimeout: 200 * time.Millisecond}, "REDACTED@127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.ConnectTimeout = max(tt.opts.ConnectTimeout, 2*time.Second)
			nc, err := Connect(tt.opts, zerolog.Nop())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Connect: %v", err)
				}
				defer nc.Close()
				if err := nc.Publish("x", []byte("y")); err != nil {
					t.Fatal(err)
				}
				if err := nc.Flush(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				nc.Close()
				t.Fatalf("Connect succeeded, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tt.wantErr)) {
				t.Fatalf("error %q, want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}
