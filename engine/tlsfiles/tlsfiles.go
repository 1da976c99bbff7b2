// Package tlsfiles builds TLS client configurations from PEM files, the
// one implementation behind every TLS client of iocmatch (NATS, TAXII,
// HTTP feeds, configuration checks). It has no state; its functions are
// safe for concurrent use.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// Error is the error of Client. Setting is the configuration setting at
// fault, "ca_file" or "cert_file" (the certificate and key pair), so that
// callers can name their own key (e.g. "nats.tls.ca_file").
type Error struct {
	Setting string
	Err     error
}

// Error implements error: "tls: <setting>: <cause>".
func (e *Error) Error() string { return "tls: " + e.Setting + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Client returns a client *tls.Config with TLS 1.2 as minimum version.
// caFile, when set, is a PEM bundle that replaces the system roots;
// certFile and keyFile, both or neither, are the PEM client certificate
// and key for mutual TLS. Errors are *Error, naming the setting and the
// file at fault.
func Client(caFile, certFile, keyFile string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, &Error{Setting: "ca_file", Err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &Error{Setting: "ca_file", Err: fmt.Errorf("%s: no PEM certificate found", caFile)}
		}
		tc.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, &Error{Setting: "cert_file", Err: fmt.Errorf("a client certificate needs both cert_file and key_file (got cert %q, key %q)", certFile, keyFile)}
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, &Error{Setting: "cert_file", Err: fmt.Errorf("%s / key_file %s: %w", certFile, keyFile, err)}
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
