// Package taxii is a TAXII 2.1 and 2.0 client: server discovery, API
// roots, collections, and paged retrieval of objects and manifests.
//
// It authenticates with HTTP Basic, an API key (Authorization: Token or
// Bearer, or a custom header) and/or a client certificate (mutual TLS),
// over TLS 1.2 or later. It retries 429, 5xx, timeouts and connection
// errors with exponential backoff and full jitter, honouring Retry-After;
// it bounds response sizes and page counts, and it reports misbehaving
// servers (HTML error pages, TAXII error messages, garbage JSON, paging
// that never ends, inconsistent Content-Range) with errors that name the
// URL (never credentials) and the collection and page.
//
// Objects are returned raw (json.RawMessage), page by page, with the
// paging state and the X-TAXII-Date-Added-First/Last range, so that the
// caller can convert them and checkpoint after each page. The package
// knows nothing about STIX semantics.
//
// A Client is safe for concurrent use by multiple goroutines.
package taxii

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/engine/tlsfiles"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultTimeout          = 60 * time.Second
	DefaultMaxResponseBytes = 64 << 20
	DefaultMaxPages         = 10000
	DefaultMaxAttempts      = 5
	DefaultBaseBackoff      = time.Second
	DefaultMaxBackoff       = time.Minute
	DefaultMaxRetryAfter    = 5 * time.Minute
)

// Config configures a Client. Zero fields take the documented defaults.
type Config struct {
	// URL is the server: either the discovery URL itself
	// ("https://h/taxii2/", "https://h/taxii/") or the server base
	// ("https://h"), in which case discovery is tried at URL, then
	// URL/taxii2/ (2.1), then URL/taxii/ (2.0). Credentials in the URL
	// (user:pass@) are refused: use Auth.
	URL string
	// Version is "2.1", "2.0" or "" to negotiate (2.1 media type first,
	// then 2.0).
	Version Version
	// Auth holds the credentials.
	Auth Auth
	// TLS configures client certificates and trust; ignored when
	// HTTPClient or Transport is set.
	TLS TLSFiles
	// Timeout bounds one HTTP attempt, body included (default 60 s).
	Timeout time.Duration
	// MaxResponseBytes bounds one response body (default 64 MiB).
	MaxResponseBytes int64
	// MaxPages bounds the pages of one Objects or Manifest call (default
	// 10,000); a server that pages beyond it is cut off with an error.
	MaxPages int
	// Retry is the retry policy.
	Retry RetryPolicy
	// UserAgent is sent with every request (default "iocmatch-taxii").
	UserAgent string

	// HTTPClient, when set, is used as is (tests). Its redirect policy
	// and transport are the caller's.
	HTTPClient *http.Client
	// Transport, when set (and HTTPClient is not), carries the requests.
	Transport http.RoundTripper
	// Now returns the current time (default time.Now); used for
	// Retry-After dates.
	Now func() time.Time
	// Sleep waits d or until ctx is done (default: a timer); tests inject
	// a fake that records the waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a duration uniformly drawn from [0, max] (default
	// math/rand/v2); tests inject a deterministic one.
	Jitter func(max time.Duration) time.Duration
}

// Auth holds credentials. Basic authentication (Username, Password) and an
// API key sent in the Authorization header are mutually exclusive; an API
// key in a custom header may be combined with Basic.
type Auth struct {
	Username string
	Password Secret
	// APIKey is sent as "Authorization: <APIKeyScheme> <key>", or as the
	// raw value of APIKeyHeader when that is set.
	APIKey Secret
	// APIKeyScheme is "Bearer" (default) or "Token".
	APIKeyScheme string
	// APIKeyHeader names a custom header (e.g. "X-API-Key") carrying the
	// key. It is removed from redirects to another host.
	APIKeyHeader string
}

// TLSFiles names PEM files for TLS. Connections always use TLS 1.2 or later.
type TLSFiles struct {
	CertFile string // client certificate (mutual TLS); needs KeyFile
	KeyFile  string // client private key
	CAFile   string // CA bundle trusted instead of the system roots
}

// RetryPolicy says how failed requests are retried. Retried: 429, 5xx
// (but 501 and 505), timeouts, connection errors and truncated bodies.
// The wait before attempt n+1 is Retry-After when the server sent one
// (capped at MaxRetryAfter), else a uniform random duration in
// [0, min(MaxBackoff, BaseBackoff*2^(n-1))] (full jitter).
type RetryPolicy struct {
	MaxAttempts   int           // attempts per request, first included (default 5; 1 disables retries)
	BaseBackoff   time.Duration // default 1 s
	MaxBackoff    time.Duration // default 1 min
	MaxRetryAfter time.Duration // cap on a server's Retry-After (default 5 min)
}

// Client talks to one TAXII server. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
	hc   *http.Client
	log  zerolog.Logger

	mu      sync.Mutex
	version Version // negotiated or configured; VersionAuto until known
}

// New validates cfg, applies defaults and returns a client. It reads the
// TLS files named in cfg.TLS; errors name the bad field or file. No
// request is made until a method is called.
func New(cfg Config, log zerolog.Logger) (*Client, error) {
	if cfg.URL == "" {
		return nil, errors.New("taxii: config: empty server URL")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("taxii: config: server URL: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("taxii: config: server URL %q: want http(s)://host[/path]", redactURL(u))
	}
	if u.User != nil {
		return nil, fmt.Errorf("taxii: config: server URL %q carries credentials: pass them in Auth", redactURL(u))
	}
	u.RawQuery, u.Fragment = "", ""
	switch cfg.Version {
	case VersionAuto, Version21, Version20:
	default:
		return nil, fmt.Errorf("taxii: config: version %q: want 2.1, 2.0 or empty (negotiate)", cfg.Version)
	}
	if err := cfg.Auth.validate(); err != nil {
		return nil, fmt.Errorf("taxii: config: %w", err)
	}
	if cfg.Timeout < 0 || cfg.MaxResponseBytes < 0 || cfg.MaxPages < 0 || cfg.Retry.MaxAttempts < 0 ||
		cfg.Retry.BaseBackoff < 0 || cfg.Retry.MaxBackoff < 0 || cfg.Retry.MaxRetryAfter < 0 {
		return nil, errors.New("taxii: config: negative timeout, limit or retry setting")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.MaxPages == 0 {
		cfg.MaxPages = DefaultMaxPages
	}
	if cfg.Retry.MaxAttempts == 0 {
		cfg.Retry.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Retry.BaseBackoff == 0 {
		cfg.Retry.BaseBackoff = DefaultBaseBackoff
	}
	if cfg.Retry.MaxBackoff == 0 {
		cfg.Retry.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.Retry.MaxRetryAfter == 0 {
		cfg.Retry.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "iocmatch-taxii"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func(max time.Duration) time.Duration {
			if max <= 0 {
				return 0
			}
			return rand.N(max + 1)
		}
	}
	hc := cfg.HTTPClient
	if hc == nil {
		rt := cfg.Transport
		if rt == nil {
			tc, err := cfg.TLS.config()
			if err != nil {
				return nil, fmt.Errorf("taxii: config: %w", err)
			}
			t := http.DefaultTransport.(*http.Transport).Clone()
			t.TLSClientConfig = tc
			t.ResponseHeaderTimeout = cfg.Timeout
			rt = t
		} else if cfg.TLS != (TLSFiles{}) {
			return nil, errors.New("taxii: config: TLS files given together with a custom Transport")
		}
		hc = &http.Client{Transport: rt, CheckRedirect: cfg.Auth.checkRedirect}
	}
	return &Client{cfg: cfg, base: u, hc: hc, log: log, version: cfg.Version}, nil
}

func (a Auth) validate() error {
	if a.Username == "" && !a.Password.IsZero() {
		return errors.New("auth: password without user name")
	}
	if a.Username != "" && a.Password.IsZero() {
		return fmt.Errorf("auth: user %q without password", a.Username)
	}
	switch a.APIKeyScheme {
	case "", "Bearer", "Token":
	default:
		return fmt.Errorf("auth: API key scheme %q: want Bearer or Token", a.APIKeyScheme)
	}
	if a.APIKeyHeader != "" {
		if a.APIKey.IsZero() {
			return fmt.Errorf("auth: API key header %q without a key", a.APIKeyHeader)
		}
		if http.CanonicalHeaderKey(a.APIKeyHeader) == "Authorization" {
			return errors.New("auth: API key header Authorization: use the scheme (Bearer or Token) instead")
		}
		if strings.ContainsAny(a.APIKeyHeader, " :\r\n\t") {
			return fmt.Errorf("auth: API key header %q: not a header name", a.APIKeyHeader)
		}
	} else if !a.APIKey.IsZero() && a.Username != "" {
		return errors.New("auth: Basic credentials and an Authorization API key are mutually exclusive (use a custom API key header to send both)")
	}
	for _, s := range []string{a.Password.Reveal(), a.APIKey.Reveal()} {
		if strings.ContainsAny(s, "\r\n") {
			return errors.New("auth: a secret contains a line break")
		}
	}
	return nil
}

// apply sets the credential headers on req.
func (a Auth) apply(req *http.Request) {
	if a.Username != "" {
		req.SetBasicAuth(a.Username, a.Password.Reveal())
	}
	if a.APIKey.IsZero() {
		return
	}
	if a.APIKeyHeader != "" {
		req.Header.Set(a.APIKeyHeader, a.APIKey.Reveal())
		return
	}
	scheme := a.APIKeyScheme
	if scheme == "" {
		scheme = "Bearer"
	}
	req.Header.Set("Authorization", scheme+" "+a.APIKey.Reveal())
}

// checkRedirect follows at most 10 redirects, refuses a redirect from
// https to http (credentials would travel in clear), and drops a custom
// API key header when the redirect leaves the original host (net/http
// already drops Authorization in that case).
// errRedirect marks redirect policy failures, which are not retried.
var errRedirect = errors.New("redirect")

func (a Auth) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("%w: stopped after 10 redirects", errRedirect)
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: refusing a redirect from https to %s (%s)", errRedirect, req.URL.Scheme, redactURL(req.URL))
	}
	if a.APIKeyHeader != "" && req.URL.Host != via[0].URL.Host {
		req.Header.Del(a.APIKeyHeader)
	}
	return nil
}

func (t TLSFiles) config() (*tls.Config, error) {
	return tlsfiles.Client(t.CAFile, t.CertFile, t.KeyFile)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Version returns the protocol version in use: the configured one, the
// negotiated one once a request succeeded, else VersionAuto.
func (c *Client) Version() Version {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

func (c *Client) setVersion(v Version) {
	c.mu.Lock()
	if c.version == VersionAuto {
		c.version = v
	}
	c.mu.Unlock()
}

// redactURL renders u without user information.
func redactURL(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	v := *u
	v.User = nil
	return v.String()
}

// StatusError is a non-success HTTP response. Its message names the URL
// and, when the server sent one, the TAXII error title.
type StatusError struct {
	URL     string // request URL, without credentials
	Status  int
	TAXII   *Error // the TAXII error message, if the body was one
	HTML    bool   // the body was an HTML page
	Snippet string // the start of any other body
	// RetryAfter is the server's Retry-After, if any.
	RetryAfter    time.Duration
	hasRetryAfter bool
	header        http.Header
}

func (e *StatusError) Error() string {
	switch {
	case e.HTML:
		return fmt.Sprintf("GET %s: server returned an HTML page (status %d), not TAXII JSON", e.URL, e.Status)
	case e.TAXII != nil:
		return fmt.Sprintf("GET %s: status %d: %s", e.URL, e.Status, e.TAXII)
	case e.Snippet != "":
		return fmt.Sprintf("GET %s: status %d %s: %q", e.URL, e.Status, http.StatusText(e.Status), e.Snippet)
	}
	return fmt.Sprintf("GET %s: status %d %s", e.URL, e.Status, http.StatusText(e.Status))
}

// retryable reports whether the status is worth another attempt.
func (e *StatusError) retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout ||
		(e.Status >= 500 && e.Status != http.StatusNotImplemented && e.Status != http.StatusHTTPVersionNotSupported)
}

// transportError is a failure to get a complete response.
type transportError struct {
	url string
	err error
}

func (e *transportError) Error() string { return fmt.Sprintf("GET %s: %v", e.url, e.err) }
func (e *transportError) Unwrap() error { return e.err }

// retryable: everything but TLS trust/handshake failures and refused
// redirects is assumed transient.
func (e *transportError) retryable() bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var al tls.AlertError
	var rh tls.RecordHeaderError
	if errors.As(e.err, &cv) || errors.As(e.err, &ua) || errors.As(e.err, &hn) || errors.As(e.err, &ci) ||
		errors.As(e.err, &al) || errors.As(e.err, &rh) {
		return false
	}
	if errors.Is(e.err, errRedirect) || strings.Contains(e.err.Error(), "tls: ") {
		return false
	}
	return true
}

// tooLargeError is a body over the configured limit.
type tooLargeError struct {
	url   string
	limit int64
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("GET %s: response body exceeds the limit of %d bytes", e.url, e.limit)
}

// response is a complete successful (2xx) response.
type response struct {
	url     string // without credentials
	status  int
	header  http.Header
	body    []byte
	version Version // from Content-Type, VersionAuto if none
}

// get fetches u with the given Accept media type, retrying per policy.
// Non-2xx statuses are returned as *StatusError. HTML bodies are errors
// even with 2xx. A 2xx body with an unexpected Content-Type is accepted
// (the caller decodes it) and logged at debug.
func (c *Client) get(ctx context.Context, u *url.URL, accept string, hdr http.Header) (*response, error) {
	pol := c.cfg.Retry
	for attempt := 1; ; attempt++ {
		resp, err := c.attempt(ctx, u, accept, hdr)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		var wait time.Duration
		var se *StatusError
		var te *transportError
		switch {
		case errors.As(err, &se) && se.retryable():
			if se.hasRetryAfter {
				wait = min(se.RetryAfter, pol.MaxRetryAfter)
			} else {
				wait = c.backoff(attempt)
			}
		case errors.As(err, &te) && te.retryable():
			wait = c.backoff(attempt)
		default:
			return nil, err
		}
		if attempt >= pol.MaxAttempts {
			if attempt > 1 {
				return nil, fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
			}
			return nil, err
		}
		c.log.Warn().Err(err).Int("attempt", attempt).Dur("wait", wait).Msg("taxii: request failed, retrying")
		if serr := c.cfg.Sleep(ctx, wait); serr != nil {
			return nil, fmt.Errorf("%w (retry abandoned: %v)", err, serr)
		}
	}
}

func (c *Client) backoff(attempt int) time.Duration {
	pol := c.cfg.Retry
	d := pol.BaseBackoff
	for i := 1; i < attempt && d < pol.MaxBackoff; i++ {
		d *= 2
	}
	return c.cfg.Jitter(min(d, pol.MaxBackoff))
}

// attempt makes one request.
func (c *Client) attempt(ctx context.Context, u *url.URL, accept string, hdr http.Header) (*response, error) {
	shown := redactURL(u)
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", shown, err)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	c.cfg.Auth.apply(req)
	start := time.Now()
	hresp, err := c.hc.Do(req)
	if err != nil {
		return nil, &transportError{url: shown, err: unwrapURLError(err)}
	}
	defer hresp.Body.Close()
	limit := c.cfg.MaxResponseBytes
	if hresp.ContentLength > limit {
		return nil, &tooLargeError{url: shown, limit: limit}
	}
	body, err := io.ReadAll(io.LimitReader(hresp.Body, limit+1))
	if err != nil {
		return nil, &transportError{url: shown, err: fmt.Errorf("reading body after %d bytes: %w", len(body), unwrapURLError(err))}
	}
	if int64(len(body)) > limit {
		return nil, &tooLargeError{url: shown, limit: limit}
	}
	ct := hresp.Header.Get("Content-Type")
	c.log.Debug().Str("url", shown).Int("status", hresp.StatusCode).Int("bytes", len(body)).
		Dur("took", time.Since(start)).Msg("taxii: response")
	if hresp.StatusCode < 200 || hresp.StatusCode > 299 {
		se := &StatusError{URL: shown, Status: hresp.StatusCode, header: hresp.Header}
		se.RetryAfter, se.hasRetryAfter = ParseRetryAfter(hresp.Header.Get("Retry-After"), c.cfg.Now())
		if e, ok := DecodeError(body); ok {
			se.TAXII = e
		} else if looksHTML(ct, body) {
			se.HTML = true
		} else {
			se.Snippet = strings.TrimSpace(clip(body, 200))
		}
		return nil, se
	}
	if looksHTML(ct, body) {
		return nil, &StatusError{URL: shown, Status: hresp.StatusCode, HTML: true}
	}
	if !isJSONMediaType(ct) {
		c.log.Debug().Str("url", shown).Str("content_type", ct).Msg("taxii: unexpected Content-Type, decoding the body as JSON anyway")
	}
	return &response{url: shown, status: hresp.StatusCode, header: hresp.Header, body: body, version: mediaVersion(ct)}, nil
}

// unwrapURLError removes the *url.Error layer, whose message repeats the
// URL (and would show credentials if there were any).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("timeout: %w", ue.Err)
		}
		return ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("timeout: %w", err)
	}
	return err
}
