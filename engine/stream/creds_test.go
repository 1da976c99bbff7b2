package stream

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"
)

// TestConnectCredsFile connects with a .creds file (user JWT + NKey seed)
// to a second embedded server in operator (decentralised JWT) mode: a
// user of the trusted account gets in, a user signed by an unknown
// account and a missing file are refused with errors naming the cause.
func TestConnectCredsFile(t *testing.T) {
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	op, err := nkeys.CreateOperator()
	must(err)
	opPub, _ := op.PublicKey()
	opJWT, err := jwt.NewOperatorClaims(opPub).Encode(op)
	must(err)
	opClaims, err := jwt.DecodeOperatorClaims(opJWT)
	must(err)

	// creds writes a .creds file for a new user signed by account.
	dir := t.TempDir()
	creds := func(name string, account nkeys.KeyPair) string {
		t.Helper()
		u, err := nkeys.CreateUser()
		must(err)
		uPub, _ := u.PublicKey()
		uJWT, err := jwt.NewUserClaims(uPub).Encode(account)
		must(err)
		seed, _ := u.Seed()
		body, err := jwt.FormatUserConfig(uJWT, seed)
		must(err)
		p := filepath.Join(dir, name+".creds")
		must(os.WriteFile(p, body, 0o600))
		return p
	}
	acc, err := nkeys.CreateAccount()
	must(err)
	accPub, _ := acc.PublicKey()
	accJWT, err := jwt.NewAccountClaims(accPub).Encode(op)
	must(err)
	stranger, err := nkeys.CreateAccount() // never registered with the server
	must(err)

	resolver := &server.MemAccResolver{}
	must(resolver.Store(accPub, accJWT))
	// A plain server (no JetStream: in operator mode it would need a
	// system account, and it is not what is tested here).
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		TrustedOperators: []*jwt.OperatorClaims{opClaims}, AccountResolver: resolver,
	})
	must(err)
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("operator-mode server not ready")
	}

	tests := []struct {
		name, file, wantErr string
	}{
		{"trusted account", creds("good", acc), ""},
		{"unknown account", creds("stranger", stranger), "Authorization Violation"},
		{"missing file", filepath.Join(dir, "absent.creds"), "creds file: stat " + filepath.Join(dir, "absent.creds")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := Connect(ConnOptions{URL: srv.ClientURL(), CredsFile: tt.file, ConnectTimeout: 2 * time.Second}, zerolog.Nop())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Connect: %v", err)
				}
				defer nc.Close()
				if err := nc.Publish("x", []byte("y")); err != nil {
					t.Fatal(err)
				}
				if err := nc.Flush(); err != nil {
					t.Fatalf("flush after connecting with creds: %v", err)
				}
				return
			}
			if err == nil {
				nc.Close()
				t.Fatalf("Connect succeeded; want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tt.wantErr)) {
				t.Fatalf("error %q; want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
