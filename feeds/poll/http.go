package poll

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"time"

	"github.com/iocmatch/iocmatch/engine/tlsfiles"
	"github.com/iocmatch/iocmatch/feeds"
)

// HTTPOptions configures an HTTP source. Secrets are values: the caller
// reads them from the environment or files (engine/config FeedAuth).
type HTTPOptions struct {
	URL     string            // http(s)://host/path; the path's base name drives format detection
	Timeout time.Duration     // per request; 0 means 60 s
	Load    feeds.LoadOptions // Feed is set to the feed name
	// MaxBytes bounds the body; 0 means 256 MiB.
	MaxBytes int64

	User, Password string // HTTP Basic when User is set
	Token          string // "Authorization: <Scheme> <Token>" when set
	Scheme         string // default "Bearer"
	CertFile       string // TLS client certificate (with KeyFile)
	KeyFile        string
	CAFile         string // replaces the system roots
	// Client, when set, is used instead of one built from the TLS files
	// (tests).
	Client *http.Client
}

// HTTPSource is a feed document fetched over HTTP(S) and loaded like a
// file: each refresh replaces the feed's content. Safe for concurrent use.
type HTTPSource struct {
	o      HTTPOptions
	name   string // base name of the URL path
	client *http.Client
}

// NewHTTPSource validates o and builds its HTTP client (TLS 1.2 minimum).
func NewHTTPSource(o HTTPOptions) (*HTTPSource, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("poll: url %q: want http(s)://host/path", o.URL)
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 256 << 20
	}
	s := &HTTPSource{o: o, name: path.Base(u.Path), client: o.Client}
	if s.client == nil {
		tc, err := tlsfiles.Client(o.CAFile, o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("poll: %w", err)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tc
		s.client = &http.Client{Transport: tr, Timeout: o.Timeout}
	}
	return s, nil
}

// Refresh implements Source: GET the document (status 200 required,
// body bounded by MaxBytes) and replace the feed with what it holds. On
// error the feed keeps its content.
func (s *HTTPSource) Refresh(ctx context.Context, feed string, st Store) (Result, error) {
	where := redactURL(s.o.URL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.o.URL, nil)
	if err != nil {
		return Result{}, fmt.Errorf("poll: feed %s: GET %s: %w", feed, where, err)
	}
	if s.o.User != "" {
		req.SetBasicAuth(s.o.User, s.o.Password)
	}
	if s.o.Token != "" {
		scheme := s.o.Scheme
		if scheme == "" {
			scheme = "Bearer"
		}
		req.Header.Set("Authorization", scheme+" "+s.o.Token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("poll: feed %s: GET %s: %w", feed, where, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Result{}, fmt.Errorf("poll: feed %s: GET %s: status %s", feed, where, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.o.MaxBytes+1))
	if err != nil {
		return Result{}, fmt.Errorf("poll: feed %s: GET %s: reading body: %w", feed, where, err)
	}
	if int64(len(body)) > s.o.MaxBytes {
		return Result{}, fmt.Errorf("poll: feed %s: GET %s: body larger than %d bytes", feed, where, s.o.MaxBytes)
	}
	opts := s.o.Load
	opts.Feed = feed
	inds, rep, err := feeds.Load(bytes.NewReader(body), s.name, opts)
	if err != nil {
		return Result{}, fmt.Errorf("poll: feed %s: %s: %w", feed, where, err)
	}
	return replace(st, feed, inds, rep)
}

// redactURL drops credentials and the query (tokens) from a URL for
// messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<bad url>"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}
