package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"

	"github.com/iocmatch/iocmatch/engine/tlsfiles"
)

// CheckFiles stats every file and directory the configuration names (TLS
// material, NATS credentials, secret files, feed paths, allowlists) and
// reports those that are missing or of the wrong type, naming the key.
// Call it at startup after Load, so a typo fails fast and clearly.
func (c Config) CheckFiles() error {
	var errs []error
	check := func(key, path string, wantDir bool) {
		if path == "" {
			return
		}
		st, err := os.Stat(path)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		case wantDir && !st.IsDir():
			errs = append(errs, fmt.Errorf("%s: %s is not a directory", key, path))
		case !wantDir && st.IsDir():
			errs = append(errs, fmt.Errorf("%s: %s is a directory, want a file", key, path))
		}
	}
	check("nats.tls.ca_file", c.NATS.TLS.CAFile, false)
	check("nats.tls.cert_file", c.NATS.TLS.CertFile, false)
	check("nats.tls.key_file", c.NATS.TLS.KeyFile, false)
	check("nats.auth.password_file", c.NATS.Auth.PasswordFile, false)
	check("nats.auth.token_file", c.NATS.Auth.TokenFile, false)
	check("nats.auth.nkey_seed_file", c.NATS.Auth.NKeySeedFile, false)
	check("nats.auth.creds_file", c.NATS.Auth.CredsFile, false)
	for i, f := range c.Feeds {
		if !f.Enabled {
			continue
		}
		key := fmt.Sprintf("feeds[%d]", i)
		if f.Path != "" {
			st, err := os.Stat(f.Path)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("%s.path: %w", key, err))
			case f.Type == FeedDir && !st.IsDir():
				errs = append(errs, fmt.Errorf("%s.path: %s is not a directory (type dir)", key, f.Path))
			}
		}
		check(key+".auth.password_file", f.Auth.PasswordFile, false)
		check(key+".auth.token_file", f.Auth.TokenFile, false)
		check(key+".auth.cert_file", f.Auth.CertFile, false)
		check(key+".auth.key_file", f.Auth.KeyFile, false)
		check(key+".auth.ca_file", f.Auth.CAFile, false)
	}
	if c.Allowlist.Enabled {
		check("allowlist.warninglists_dir", c.Allowlist.WarninglistsDir, true)
		for i, p := range c.Allowlist.Files {
			check(fmt.Sprintf("allowlist.files[%d]", i), p, false)
		}
	}
	check("alerts.webhook.token_file", c.Alerts.Webhook.TokenFile, false)
	return errors.Join(errs...)
}

// Config builds a client *tls.Config (TLS 1.2 minimum) from the CA file
// and client certificate, or returns nil, nil when TLS is not enabled.
// Errors name the key and the file.
func (t TLS) Config() (*tls.Config, error) {
	if !t.Enabled() {
		return nil, nil
	}
	return ClientTLS("nats.tls", t.CAFile, t.CertFile, t.KeyFile, t.ServerName, t.InsecureSkipVerify)
}

// ClientTLS builds a client *tls.Config (TLS 1.2 minimum) from PEM files:
// caFile (extra roots; "" = system roots), certFile + keyFile (a client
// certificate for mutual TLS; both or neither). key prefixes errors
// (e.g. "nats.tls" or "feeds[0].auth").
func ClientTLS(key, caFile, certFile, keyFile, serverName string, insecure bool) (*tls.Config, error) {
	cfg, err := tlsfiles.Client(caFile, certFile, keyFile)
	if te := (*tlsfiles.Error)(nil); errors.As(err, &te) {
		return nil, fmt.Errorf("%s.%s: %w", key, te.Setting, te.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	cfg.ServerName, cfg.InsecureSkipVerify = serverName, insecure //nolint:gosec // explicit opt-in
	return cfg, nil
}
