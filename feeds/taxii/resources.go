package taxii

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// acceptTAXII is the Accept header for TAXII resources in version v.
func acceptTAXII(v Version) string {
	if v == Version20 {
		return MediaTAXII20
	}
	return MediaTAXII21
}

// acceptObjects is the Accept header for the objects endpoint in version v.
func acceptObjects(v Version) string {
	if v == Version20 {
		return MediaSTIX20
	}
	return MediaTAXII21
}

// getNegotiated fetches a TAXII resource (accept chooses the media type
// per version). With a known version it makes one request. Otherwise it
// asks for 2.1 and, on 406 or 415, for 2.0; the version is then taken
// from the response Content-Type, else from the media type asked for (or
// guess, for a 2.0-looking path), and remembered.
func (c *Client) getNegotiated(ctx context.Context, u *url.URL, accept func(Version) string, guess Version) (*response, Version, error) {
	if v := c.Version(); v != VersionAuto {
		r, err := c.get(ctx, u, accept(v), nil)
		return r, v, err
	}
	var firstErr error
	for _, v := range []Version{Version21, Version20} {
		r, err := c.get(ctx, u, accept(v), nil)
		if err != nil {
			var se *StatusError
			if errors.As(err, &se) && (se.Status == http.StatusNotAcceptable || se.Status == http.StatusUnsupportedMediaType) {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			return nil, VersionAuto, err
		}
		got := r.version
		if got == VersionAuto {
			got = v
			if guess != VersionAuto {
				got = guess
			}
			c.log.Debug().Str("url", r.url).Str("version", string(got)).Msg("taxii: Content-Type names no TAXII version; assuming one")
		}
		return r, got, nil
	}
	return nil, VersionAuto, firstErr
}

// discoveryCandidates lists the URLs where discovery is tried.
func (c *Client) discoveryCandidates() []*url.URL {
	b := *c.base
	p := strings.TrimSuffix(b.Path, "/")
	if strings.HasSuffix(p, "/taxii2") || strings.HasSuffix(p, "/taxii") {
		b.Path = p + "/"
		return []*url.URL{&b}
	}
	var paths []string
	switch c.Version() {
	case Version21:
		paths = []string{p + "/", p + "/taxii2/"}
	case Version20:
		paths = []string{p + "/", p + "/taxii/"}
	default:
		paths = []string{p + "/", p + "/taxii2/", p + "/taxii/"}
	}
	out := make([]*url.URL, len(paths))
	for i, q := range paths {
		v := b
		v.Path = q
		out[i] = &v
	}
	return out
}

// Discovery fetches the server's discovery resource (see Config.URL for
// where it is looked for) and, when negotiating, fixes the protocol
// version. Default and APIRoots are resolved to absolute URLs; roots that
// cannot be used (malformed, or plain http on an https server) are left
// out with a warning in the log.
// Authentication failures end the search at once; other failures move to
// the next candidate and are all reported if none succeeds.
func (c *Client) Discovery(ctx context.Context) (*Discovery, error) {
	var errs []error
	for _, u := range c.discoveryCandidates() {
		guess := VersionAuto
		if strings.HasSuffix(u.Path, "/taxii/") {
			guess = Version20
		}
		r, v, err := c.getNegotiated(ctx, u, acceptTAXII, guess)
		if err != nil {
			// Only a status that says "not here" moves on: credentials
			// and connection problems are the same at every candidate.
			var se *StatusError
			if !errors.As(err, &se) || se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden || ctx.Err() != nil {
				return nil, fmt.Errorf("taxii: discovery: %w", err)
			}
			errs = append(errs, err)
			continue
		}
		d, err := DecodeDiscovery(r.body)
		if err != nil {
			errs = append(errs, fmt.Errorf("GET %s: %w", r.url, err))
			continue
		}
		d.URL, d.Version = r.url, v
		// A root that cannot be used (malformed, or plain http on an
		// https server) is dropped with a warning; the others stay usable.
		if d.Default != "" {
			if d.Default, err = c.resolveRoot(u, d.Default); err != nil {
				c.log.Warn().Err(err).Str("url", r.url).Msg("taxii: discovery: unusable default API root ignored")
			}
		}
		roots := d.APIRoots[:0]
		for i, root := range d.APIRoots {
			abs, err := c.resolveRoot(u, root)
			if err != nil {
				c.log.Warn().Err(err).Str("url", r.url).Int("index", i).Msg("taxii: discovery: unusable API root ignored")
				continue
			}
			roots = append(roots, abs)
		}
		d.APIRoots = roots
		c.setVersion(v)
		return d, nil
	}
	return nil, fmt.Errorf("taxii: discovery: no discovery resource found: %w", errors.Join(errs...))
}

// resolveRoot turns an API root as given by a server or a user (an
// absolute URL, a host-relative path "/api1/", or a bare "api1") into an
// absolute URL ending in "/", relative to ref's scheme and host.
func (c *Client) resolveRoot(ref *url.URL, root string) (string, error) {
	u, err := c.rootURL(ref, root)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// ResolveRoot returns root (an absolute URL, a path on the server, with
// or without leading and trailing slashes) as the absolute URL, ending in
// "/", that the client uses for it: a stable key for one API root however
// it was spelled. It makes no request.
func (c *Client) ResolveRoot(root string) (string, error) {
	u, err := c.rootURL(c.base, root)
	if err != nil {
		return "", fmt.Errorf("taxii: %w", err)
	}
	return u.String(), nil
}

func (c *Client) rootURL(ref *url.URL, root string) (*url.URL, error) {
	root = strings.TrimSpace(root)
	if root == "" {
		return nil, errors.New("empty API root")
	}
	u, err := url.Parse(root)
	if err != nil {
		return nil, fmt.Errorf("API root %q: %w", root, err)
	}
	if u.User != nil {
		return nil, fmt.Errorf("API root %q carries credentials", redactURL(u))
	}
	if u.Scheme != "" || u.Host != "" {
		if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
			return nil, fmt.Errorf("API root %q: want an http(s) URL or a path", root)
		}
		if ref.Scheme == "https" && u.Scheme == "http" {
			return nil, fmt.Errorf("API root %q is plain http while the server is https: refusing to send requests (and credentials) in clear", root)
		}
	} else {
		p := u.Path
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		u = &url.URL{Scheme: ref.Scheme, Host: ref.Host, Path: p}
	}
	u.RawQuery, u.Fragment, u.RawPath = "", "", ""
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// endpoint returns root's URL joined with the escaped segments, ending in "/".
func (c *Client) endpoint(root string, segs ...string) (*url.URL, error) {
	u, err := c.rootURL(c.base, root)
	if err != nil {
		return nil, err
	}
	p, ep := u.Path, u.EscapedPath()
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return nil, fmt.Errorf("bad path segment %q", s)
		}
		p += s + "/"
		ep += url.PathEscape(s) + "/"
	}
	u.Path, u.RawPath = p, ep
	return u, nil
}

// APIRoot fetches the information resource of root (an absolute URL, or a
// path on the server, with or without leading and trailing slashes).
func (c *Client) APIRoot(ctx context.Context, root string) (*APIRoot, error) {
	u, err := c.endpoint(root)
	if err != nil {
		return nil, fmt.Errorf("taxii: api root: %w", err)
	}
	r, v, err := c.getNegotiated(ctx, u, acceptTAXII, VersionAuto)
	if err != nil {
		return nil, fmt.Errorf("taxii: api root %s: %w", root, err)
	}
	a, err := DecodeAPIRoot(r.body)
	if err != nil {
		return nil, fmt.Errorf("taxii: api root %s: GET %s: %w", root, r.url, err)
	}
	a.URL = r.url
	c.setVersion(v)
	return a, nil
}

// ensureVersion settles the protocol version before an endpoint whose
// Accept header depends on it: when still negotiating it fetches root's
// information resource.
func (c *Client) ensureVersion(ctx context.Context, root string) (Version, error) {
	if v := c.Version(); v != VersionAuto {
		return v, nil
	}
	if _, err := c.APIRoot(ctx, root); err != nil {
		return VersionAuto, err
	}
	return c.Version(), nil
}

// Collections lists the collections of root.
func (c *Client) Collections(ctx context.Context, root string) ([]Collection, error) {
	u, err := c.endpoint(root, "collections")
	if err != nil {
		return nil, fmt.Errorf("taxii: collections: %w", err)
	}
	r, v, err := c.getNegotiated(ctx, u, acceptTAXII, VersionAuto)
	if err != nil {
		return nil, fmt.Errorf("taxii: collections of %s: %w", root, err)
	}
	cs, err := DecodeCollections(r.body)
	if err != nil {
		return nil, fmt.Errorf("taxii: collections of %s: GET %s: %w", root, r.url, err)
	}
	c.setVersion(v)
	return cs, nil
}

// Collection fetches the description of collection id in root.
func (c *Client) Collection(ctx context.Context, root, id string) (*Collection, error) {
	u, err := c.endpoint(root, "collections", id)
	if err != nil {
		return nil, fmt.Errorf("taxii: collection %s: %w", id, err)
	}
	r, v, err := c.getNegotiated(ctx, u, acceptTAXII, VersionAuto)
	if err != nil {
		return nil, fmt.Errorf("taxii: collection %s: %w", id, err)
	}
	col, err := DecodeCollection(r.body)
	if err != nil {
		return nil, fmt.Errorf("taxii: collection %s: GET %s: %w", id, r.url, err)
	}
	c.setVersion(v)
	return col, nil
}
