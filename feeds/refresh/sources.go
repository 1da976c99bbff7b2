package refresh

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/feeds"
	"github.com/iocmatch/iocmatch/feeds/stix"
	"github.com/iocmatch/iocmatch/feeds/store"
	"github.com/iocmatch/iocmatch/feeds/taxii"
)

// secret reads a secret from an environment variable or a file (at most
// one set); "" when neither is.
func secret(what, env, file string) (string, error) {
	switch {
	case env != "" && file != "":
		return "", fmt.Errorf("%s: both an environment variable and a file are set", what)
	case env != "":
		v := os.Getenv(env)
		if v == "" {
			return "", fmt.Errorf("%s: environment variable %s is empty or unset", what, env)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", nil
}

// HTTPFeed describes a feed file fetched over HTTP(S).
type HTTPFeed struct {
	Name    string
	URL     string
	Every   time.Duration
	Timeout time.Duration // per request; 0 means 60 s
	Options feeds.LoadOptions
	// MaxBytes bounds the body; 0 means 256 MiB.
	MaxBytes int64

	User, PasswordEnv, PasswordFile string
	TokenEnv, TokenFile, Scheme     string // Authorization: <Scheme, default Bearer> <token>
	CertFile, KeyFile, CAFile       string
	// Client, when set, is used instead of one built from the TLS files
	// (tests).
	Client *http.Client
}

// HTTPSource is a feed file fetched over HTTP(S) and loaded like a file:
// each refresh replaces the feed's content.
type HTTPSource struct {
	f      HTTPFeed
	client *http.Client
	user   string
	pass   string
	token  string
}

// NewHTTPSource validates f and reads its secrets.
func NewHTTPSource(f HTTPFeed) (*HTTPSource, error) {
	u, err := url.Parse(f.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url %q: want http(s)://host/path", f.URL)
	}
	if f.Timeout <= 0 {
		f.Timeout = 60 * time.Second
	}
	if f.MaxBytes <= 0 {
		f.MaxBytes = 256 << 20
	}
	s := &HTTPSource{f: f, user: f.User}
	if s.pass, err = secret("password", f.PasswordEnv, f.PasswordFile); err != nil {
		return nil, err
	}
	if s.token, err = secret("token", f.TokenEnv, f.TokenFile); err != nil {
		return nil, err
	}
	s.client = f.Client
	if s.client == nil {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if f.CAFile != "" {
			pem, err := os.ReadFile(f.CAFile)
			if err != nil {
				return nil, fmt.Errorf("ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ca_file %s: no PEM certificate", f.CAFile)
			}
			tc.RootCAs = pool
		}
		if f.CertFile != "" || f.KeyFile != "" {
			cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("cert_file/key_file: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tc
		s.client = &http.Client{Transport: tr, Timeout: f.Timeout}
	}
	return s, nil
}

// Name implements Source.
func (s *HTTPSource) Name() string { return s.f.Name }

// Interval implements Source.
func (s *HTTPSource) Interval() time.Duration { return s.f.Every }

// Fetch implements Source.
func (s *HTTPSource) Fetch(ctx context.Context, st *store.Store) (store.Change, store.FetchStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.f.URL, nil)
	if err != nil {
		return store.Change{}, store.FetchStats{}, err
	}
	if s.user != "" {
		req.SetBasicAuth(s.user, s.pass)
	}
	if s.token != "" {
		scheme := s.f.Scheme
		if scheme == "" {
			scheme = "Bearer"
		}
		req.Header.Set("Authorization", scheme+" "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return store.Change{}, store.FetchStats{}, fmt.Errorf("GET %s: %w", redactURL(s.f.URL), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return store.Change{}, store.FetchStats{}, fmt.Errorf("GET %s: status %s", redactURL(s.f.URL), resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.f.MaxBytes+1))
	if err != nil {
		return store.Change{}, store.FetchStats{}, fmt.Errorf("GET %s: reading body: %w", redactURL(s.f.URL), err)
	}
	if int64(len(body)) > s.f.MaxBytes {
		return store.Change{}, store.FetchStats{}, fmt.Errorf("GET %s: body larger than %d bytes", redactURL(s.f.URL), s.f.MaxBytes)
	}
	opts := s.f.Options
	opts.Feed = s.f.Name
	u, _ := url.Parse(s.f.URL)
	inds, rep, err := feeds.Load(strings.NewReader(string(body)), path.Base(u.Path), opts)
	if err != nil {
		return store.Change{}, store.FetchStats{}, fmt.Errorf("%s: %w", redactURL(s.f.URL), err)
	}
	return replace(st, s.f.Name, inds, rep)
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<bad url>"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}

// TAXIIFeed describes a TAXII 2.x feed.
type TAXIIFeed struct {
	Name        string
	URL         string   // discovery URL or server base
	APIRoot     string   // "" = the server's default API root
	Collections []string // empty = every readable collection of the API root
	Version     string   // "", "2.1" or "2.0"
	Every       time.Duration
	Timeout     time.Duration
	Confidence  int
	// MaxAttempts bounds the attempts per request (retries with backoff
	// on 429, 5xx, timeouts); 0 means the TAXII client's default.
	MaxAttempts int

	User, PasswordEnv, PasswordFile string
	TokenEnv, TokenFile, Scheme     string
	CertFile, KeyFile, CAFile       string

	// HTTPClient, when set, is passed to the TAXII client (tests).
	HTTPClient *http.Client
}

// TAXIISource pulls a TAXII feed incrementally: per collection it asks
// for the objects added after the checkpoint kept in the store
// ("added_after:<collection>"), converts them (feeds/stix) and applies
// them with Store.ApplyIncremental (newer versions replace older ones,
// revoked ids are removed); the checkpoint moves only after the store
// accepted the page's content.
//
// Limitation: relationship context (malware, actors) is resolved among
// the objects of one pull; a relationship published in a later pull than
// its indicator enriches that indicator only when the indicator itself
// is republished.
type TAXIISource struct {
	f      TAXIIFeed
	client *taxii.Client
	log    zerolog.Logger
}

// NewTAXIISource builds the TAXII client for f.
func NewTAXIISource(f TAXIIFeed, log zerolog.Logger) (*TAXIISource, error) {
	cfg := taxii.Config{URL: f.URL, Version: taxii.Version(f.Version), Timeout: f.Timeout, HTTPClient: f.HTTPClient,
		TLS: taxii.TLSFiles{CertFile: f.CertFile, KeyFile: f.KeyFile, CAFile: f.CAFile}, Retry: taxii.RetryPolicy{MaxAttempts: f.MaxAttempts}}
	pass, err := secret("password", f.PasswordEnv, f.PasswordFile)
	if err != nil {
		return nil, err
	}
	tok, err := secret("token", f.TokenEnv, f.TokenFile)
	if err != nil {
		return nil, err
	}
	if f.User != "" {
		cfg.Auth.Username, cfg.Auth.Password = f.User, taxii.NewSecret(pass)
	}
	if tok != "" {
		cfg.Auth.APIKey, cfg.Auth.APIKeyScheme = taxii.NewSecret(tok), f.Scheme
	}
	c, err := taxii.New(cfg, log)
	if err != nil {
		return nil, err
	}
	return &TAXIISource{f: f, client: c, log: log}, nil
}

// Name implements Source.
func (s *TAXIISource) Name() string { return s.f.Name }

// Interval implements Source.
func (s *TAXIISource) Interval() time.Duration { return s.f.Every }

// Fetch implements Source.
func (s *TAXIISource) Fetch(ctx context.Context, st *store.Store) (store.Change, store.FetchStats, error) {
	root := s.f.APIRoot
	if root == "" {
		d, err := s.client.Discovery(ctx)
		if err != nil {
			return store.Change{}, store.FetchStats{}, err
		}
		root = d.Default
		if root == "" && len(d.APIRoots) > 0 {
			root = d.APIRoots[0]
		}
		if root == "" {
			return store.Change{}, store.FetchStats{}, errors.New("taxii: the server names no API root: set api_root")
		}
	}
	colls := s.f.Collections
	if len(colls) == 0 {
		cs, err := s.client.Collections(ctx, root)
		if err != nil {
			return store.Change{}, store.FetchStats{}, err
		}
		for _, c := range cs {
			if c.CanRead {
				colls = append(colls, c.ID)
			}
		}
	}
	var total store.Change
	stats := store.FetchStats{ByKind: map[ioc.Kind]int{}}
	for _, coll := range colls {
		key := "added_after:" + root + "/" + coll
		var after time.Time
		if cp := st.Checkpoint(s.f.Name, key); cp != "" {
			t, err := time.Parse(time.RFC3339Nano, cp)
			if err == nil {
				after = t
			}
		}
		conv := stix.NewConverter(stix.Options{Feed: s.f.Name, Confidence: s.f.Confidence})
		var last time.Time
		err := s.client.Objects(ctx, root, coll, taxii.Filter{AddedAfter: after}, func(p taxii.Page) error {
			for _, raw := range p.Objects {
				_ = conv.Add(raw) // bad objects are counted in the report
			}
			if p.DateAddedLast.After(last) {
				last = p.DateAddedLast
			}
			return nil
		})
		if err != nil {
			return total, stats, fmt.Errorf("collection %s: %w", coll, err)
		}
		res := conv.Result()
		ch, err := st.ApplyIncremental(s.f.Name, res.Indicators, res.Revoked)
		if err != nil {
			return total, stats, fmt.Errorf("collection %s: %w", coll, err)
		}
		if !last.IsZero() {
			if err := st.SetCheckpoint(s.f.Name, key, last.UTC().Format(time.RFC3339Nano)); err != nil {
				return total, stats, fmt.Errorf("collection %s: checkpoint: %w", coll, err)
			}
		}
		total.Added += ch.Added
		total.Updated += ch.Updated
		total.Removed += ch.Removed
		total.Ignored += ch.Ignored
		stats.Objects += res.Report.Objects
		stats.Unsupported += len(res.Report.Unsupported)
		stats.NeedsCorrelation += len(res.Report.NeedsCorrelation)
		for k, n := range res.Report.ByKind {
			stats.ByKind[k] += n
		}
		for _, iss := range res.Report.Unsupported {
			s.log.Debug().Str("id", iss.ID).Str("pattern_type", iss.PatternType).Str("reason", iss.Reason).Msg("unsupported pattern")
		}
	}
	return total, stats, nil
}
