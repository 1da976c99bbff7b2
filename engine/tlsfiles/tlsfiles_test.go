package tlsfiles

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iocmatch/iocmatch/engine/testpki"
)

func TestClient(t *testing.T) {
	pki := testpki.New(t)
	notPEM := filepath.Join(t.TempDir(), "x.txt")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name             string
		ca, cert, key    string
		wantErr          string
		wantRoots, wantC bool
	}{
		{name: "none"},
		{name: "ca", ca: pki.CAFile, wantRoots: true},
		{name: "mtls", ca: pki.CAFile, cert: pki.ClientCert, key: pki.ClientKey, wantRoots: true, wantC: true},
		{name: "missing ca", ca: "/nonexistent/ca.pem", wantErr: "ca_file: open /nonexistent/ca.pem"},
		{name: "ca not pem", ca: notPEM, wantErr: "ca_file: " + notPEM + ": no PEM certificate"},
		{name: "cert without key", cert: pki.ClientCert, wantErr: "cert_file: a client certificate needs both cert_file and key_file"},
		{name: "key for another cert", cert: pki.ClientCert, key: pki.ServerKey, wantErr: "cert_file: " + pki.ClientCert},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Client(tc.ca, tc.cert, tc.key)
			if tc.wantErr != "" {
				var te *Error
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &te) || !strings.HasPrefix(tc.wantErr, te.Setting+":") {
					t.Fatalf("error %v, want an *Error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.MinVersion != tls.VersionTLS12 || (c.RootCAs != nil) != tc.wantRoots || (len(c.Certificates) == 1) != tc.wantC {
				t.Fatalf("config: min %x, roots %v, certs %d", c.MinVersion, c.RootCAs != nil, len(c.Certificates))
			}
		})
	}
}
