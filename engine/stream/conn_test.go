package stream

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files in a temporary directory.
type testPKI struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
	otherCA                                              string // a CA that signed nothing
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		b, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	now := time.Now()
	mkCA := func(name string) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
		k := newKey()
		tpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c, k, der
	}
	ca, caKey, caDER := mkCA("iocmatch test CA")
	_, _, otherDER := mkCA("unrelated CA")
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, []byte) {
		k := newKey()
		tpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, keyDER(k)
	}
	sDER, sKey := leaf(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)})
	cDER, cKey := leaf(3, "iocmatch client", x509.ExtKeyUsageClientAuth, nil)
	return testPKI{
		caFile:     write("ca.pem", "CERTIFICATE", caDER),
		otherCA:    write("other-ca.pem", "CERTIFICATE", otherDER),
		serverCert: write("server.pem", "CERTIFICATE", sDER),
		serverKey:  write("server-key.pem", "EC PRIVATE KEY", sKey),
		clientCert: write("client.pem", "CERTIFICATE", cDER),
		clientKey:  write("client-key.pem", "EC PRIVATE KEY", cKey),
	}
}

// TestConnectAuthTLS connects to external (second, embedded) servers
// configured with user/password, token, NKey and mutual TLS, with the
// right and the wrong credentials.
func TestConnectAuthTLS(t *testing.T) {
	pki := newTestPKI(t)
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
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: pki.serverCert, KeyFile: pki.serverKey, CaFile: pki.caFile, Verify: true})
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
		{"mtls", ConnOptions{URL: mtls.ClientURL(), CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey}, ""},
		{"tls without client cert", ConnOptions{URL: mtls.ClientURL(), CAFile: pki.caFile}, "tls"},
		{"tls with the wrong CA", ConnOptions{URL: mtls.ClientURL(), CAFile: pki.otherCA, CertFile: pki.clientCert, KeyFile: pki.clientKey}, "certificate"},
		{"cert without key", ConnOptions{URL: mtls.ClientURL(), CertFile: pki.clientCert}, "needs both cert_file and key_file"},
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
