package stream

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/tlsfiles"
)

// ConnOptions say how to reach a NATS server or cluster. At most one of
// User/Password, Token, NKeySeedFile and CredsFile should be set.
type ConnOptions struct {
	// URL is one URL or a comma-separated list (cluster seeds), e.g.
	// "nats://n1:4222,nats://n2:4222" or "tls://nats.example:4222".
	URL string
	// Name is the client connection name shown by the server.
	Name string
	// User and Password: user/password authentication.
	User, Password string
	// Token: token authentication.
	Token string
	// NKeySeedFile is a file holding an NKey user seed (SU...).
	NKeySeedFile string
	// CredsFile is a .creds file (user JWT and NKey seed).
	CredsFile string
	// CAFile is a PEM bundle of CAs to verify the server with (in
	// addition to none: when set, only these CAs are trusted).
	CAFile string
	// CertFile and KeyFile are the client certificate and key (PEM) for
	// mutual TLS.
	CertFile, KeyFile string
	// InsecureSkipVerify disables server certificate verification
	// (testing only).
	InsecureSkipVerify bool
	// ConnectTimeout bounds the initial connection; 0 means 5 s.
	ConnectTimeout time.Duration
	// ReconnectWait is the pause between reconnect attempts; 0 means 2 s.
	// The client reconnects forever.
	ReconnectWait time.Duration
}

// natsOptions translates o into nats.go options.
func (o ConnOptions) natsOptions(log zerolog.Logger) ([]nats.Option, error) {
	opts := []nats.Option{
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn().Err(err).Msg("nats: disconnected")
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info().Str("url", c.ConnectedUrlRedacted()).Msg("nats: reconnected")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			ev := log.Warn().Err(err)
			if sub != nil {
				ev = ev.Str("subject", sub.Subject)
			}
			ev.Msg("nats: async error")
		}),
	}
	if o.Name != "" {
		opts = append(opts, nats.Name(o.Name))
	}
	to := o.ConnectTimeout
	if to <= 0 {
		to = 5 * time.Second
	}
	opts = append(opts, nats.Timeout(to))
	rw := o.ReconnectWait
	if rw <= 0 {
		rw = 2 * time.Second
	}
	opts = append(opts, nats.ReconnectWait(rw))

	n := 0
	if o.User != "" || o.Password != "" {
		n++
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.Token != "" {
		n++
		opts = append(opts, nats.Token(o.Token))
	}
	if o.NKeySeedFile != "" {
		n++
		opt, err := nats.NkeyOptionFromSeed(o.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nats: nkey seed file %s: %w", o.NKeySeedFile, err)
		}
		opts = append(opts, opt)
	}
	if o.CredsFile != "" {
		n++
		if _, err := os.Stat(o.CredsFile); err != nil {
			return nil, fmt.Errorf("nats: creds file: %w", err)
		}
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	}
	if n > 1 {
		return nil, errors.New("nats: more than one authentication method set (user/password, token, nkey, creds): choose one")
	}

	if o.CAFile != "" || o.CertFile != "" || o.KeyFile != "" || o.InsecureSkipVerify {
		tc, err := tlsfiles.Client(o.CAFile, o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("nats: %w", err)
		}
		tc.InsecureSkipVerify = o.InsecureSkipVerify //nolint:gosec // explicit opt-in, documented as testing only
		opts = append(opts, nats.Secure(tc))
	}
	return opts, nil
}

// Connect connects to NATS per o. Connection state changes (disconnect,
// reconnect, async errors) are logged on log; the connection reconnects
// forever. The error names the URL (with credentials redacted).
func Connect(o ConnOptions, log zerolog.Logger) (*nats.Conn, error) {
	url := strings.TrimSpace(o.URL)
	if url == "" {
		return nil, errors.New("nats: no url")
	}
	opts, err := o.natsOptions(log)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect %s: %w", redact(url), err)
	}
	return nc, nil
}

// redact removes user info from each URL of a comma-separated list.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if at := strings.LastIndex(p, "@"); at >= 0 {
			if s := strings.Index(p, "://"); s >= 0 && s < at {
				parts[i] = p[:s+3] + "REDACTED@" + p[at+1:]
			} else {
				parts[i] = "REDACTED@" + p[at+1:]
			}
		}
	}
	return strings.Join(parts, ",")
}
