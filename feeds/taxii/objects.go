package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Filter selects objects (or manifest records) of a collection.
type Filter struct {
	// AddedAfter asks for objects added to the collection strictly after
	// this time (the `added_after` parameter); zero: from the start.
	AddedAfter time.Time
	// Limit is the page size asked for: `limit` in 2.1, an HTTP Range of
	// Limit items in 2.0. Zero lets the server choose.
	Limit int
	// Types, IDs, Versions and SpecVersions become match[type],
	// match[id], match[version] and match[spec_version] (2.1 only; ignored
	// with a debug log against a 2.0 server), each a comma-separated list.
	Types        []string
	IDs          []string
	Versions     []string // "last", "first", "all" or timestamps
	SpecVersions []string
}

func (f Filter) validate() error {
	if f.Limit < 0 {
		return fmt.Errorf("limit %d is negative", f.Limit)
	}
	for name, vs := range map[string][]string{"type": f.Types, "id": f.IDs, "version": f.Versions, "spec_version": f.SpecVersions} {
		for _, v := range vs {
			if v == "" || strings.Contains(v, ",") {
				return fmt.Errorf("match[%s] value %q: empty or contains a comma", name, v)
			}
		}
	}
	return nil
}

// query renders the filter's parameters (but added_after and paging).
func (f Filter) query(v Version, q url.Values) {
	set := func(k string, vs []string) {
		if len(vs) > 0 {
			q.Set(k, strings.Join(vs, ","))
		}
	}
	set("match[type]", f.Types)
	set("match[id]", f.IDs)
	set("match[version]", f.Versions)
	if v != Version20 {
		set("match[spec_version]", f.SpecVersions)
	}
}

// Page is one page of a collection's objects (or manifest), as delivered.
type Page struct {
	Collection string  // the collection id
	Number     int     // 1-based page number within the call
	URL        string  // the request URL, without credentials
	Version    Version // protocol version of the exchange
	// Objects are the page's STIX objects (manifest records for
	// Manifest), raw JSON, in server order.
	Objects []json.RawMessage
	// More and Next are the 2.1 envelope's paging fields (for 2.0, More
	// reports whether Content-Range says items remain).
	More bool
	Next string
	// DateAddedFirst and DateAddedLast come from the
	// X-TAXII-Date-Added-First/Last headers; zero when absent. After
	// processing a page, DateAddedLast (when set) is the value to store
	// as the collection's added_after checkpoint. (added_after is
	// exclusive: objects the server added at exactly that instant but
	// had not delivered yet are missed; TAXII offers no way around it.)
	DateAddedFirst time.Time
	DateAddedLast  time.Time
	// Range is the 2.0 Content-Range of a 206 page; nil otherwise.
	Range *ItemRange
}

// ManifestPage is one page of a collection manifest.
type ManifestPage struct {
	Page
	Records []ManifestRecord // decoded from Page.Objects
}

// Objects fetches the objects of collection in root that match f, page by
// page, calling fn after each page; fn's error stops the iteration and is
// returned (wrapped; errors.Is finds it).
//
// TAXII 2.1 pages with `limit` and the envelope's `next`/`more`; when the
// server says more but gives no next, the next page is asked with
// added_after = X-TAXII-Date-Added-Last. TAXII 2.0 pages with
// "Range: items=a-b" and follows Content-Range (with an unknown total,
// "items a-b/*", it asks for the next range until a 416, a 200 or an
// empty page; a 416 to the first range of an empty collection is not an
// error). A server that repeats a
// next token, does not advance Date-Added-Last, sends an inconsistent
// Content-Range or exceeds Config.MaxPages is cut off with an error
// naming the collection and page.
func (c *Client) Objects(ctx context.Context, root, collection string, f Filter, fn func(Page) error) error {
	return c.paginate(ctx, "objects", root, collection, f, fn)
}

// Manifest fetches the manifest of collection in root, paging as Objects
// does, calling fn with each page's decoded records.
func (c *Client) Manifest(ctx context.Context, root, collection string, f Filter, fn func(ManifestPage) error) error {
	return c.paginate(ctx, "manifest", root, collection, f, func(p Page) error {
		mp := ManifestPage{Page: p, Records: make([]ManifestRecord, 0, len(p.Objects))}
		for i, o := range p.Objects {
			r, err := DecodeManifestRecord(o)
			if err != nil {
				return fmt.Errorf("GET %s: objects[%d]: %w", p.URL, i, err)
			}
			mp.Records = append(mp.Records, r)
		}
		return fn(mp)
	})
}

// callbackError marks an error returned by the caller's fn.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

func (c *Client) paginate(ctx context.Context, what, root, collection string, f Filter, fn func(Page) error) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("taxii: collection %s %s: filter: %w", collection, what, err)
	}
	v, err := c.ensureVersion(ctx, root)
	if err != nil {
		return fmt.Errorf("taxii: collection %s %s: %w", collection, what, err)
	}
	base, err := c.endpoint(root, "collections", collection, what)
	if err != nil {
		return fmt.Errorf("taxii: collection %s %s: %w", collection, what, err)
	}
	if v == Version20 && len(f.SpecVersions) > 0 {
		c.log.Debug().Str("collection", collection).Msg("taxii: match[spec_version] is not part of TAXII 2.0; ignored")
	}
	accept := acceptObjects(v)
	if what == "manifest" {
		accept = acceptTAXII(v)
	}
	st := pager{c: c, v: v, f: f, addedAfter: f.AddedAfter, seen: map[string]bool{}}
	for n := 1; ; n++ {
		if n > c.cfg.MaxPages {
			return fmt.Errorf("taxii: collection %s %s page %d: more than %d pages; the server pages forever or the filter is too wide (raise the page limit or narrow it)", collection, what, n, c.cfg.MaxPages)
		}
		u, hdr := st.request(base)
		r, err := c.get(ctx, u, accept, hdr)
		if err != nil {
			var se *StatusError
			if v == Version20 && hdr.Get("Range") != "" && errors.As(err, &se) && se.Status == http.StatusRequestedRangeNotSatisfiable &&
				st.pastEnd(se.header, n) {
				return nil // asked past the end: the total was unknown, or the collection is empty
			}
			return fmt.Errorf("taxii: collection %s %s page %d: %w", collection, what, n, err)
		}
		p, err := st.page(r, collection, n)
		if err != nil {
			return fmt.Errorf("taxii: collection %s %s page %d: GET %s: %w", collection, what, n, r.url, err)
		}
		if err := fn(p); err != nil {
			return fmt.Errorf("taxii: collection %s %s page %d: %w", collection, what, n, &callbackError{err})
		}
		done, err := st.advance(p)
		if err != nil {
			return fmt.Errorf("taxii: collection %s %s page %d: GET %s: %w", collection, what, n, r.url, err)
		}
		if done {
			return nil
		}
	}
}

// pager holds the paging state of one Objects/Manifest call.
type pager struct {
	c          *Client
	v          Version
	f          Filter
	addedAfter time.Time
	next       string          // 2.1 next token to send
	seen       map[string]bool // 2.1 next tokens received
	start      int64           // 2.0 first item of the next Range
	size       int64           // 2.0 page size (Limit, or the server's)
}

func (st *pager) request(base *url.URL) (*url.URL, http.Header) {
	u := *base
	q := url.Values{}
	st.f.query(st.v, q)
	if !st.addedAfter.IsZero() {
		q.Set("added_after", FormatTimestamp(st.addedAfter))
	}
	var hdr http.Header
	if st.v == Version20 {
		size := st.size
		if size == 0 {
			size = int64(st.f.Limit)
		}
		if size > 0 {
			hdr = http.Header{"Range": {fmt.Sprintf("items=%d-%d", st.start, st.start+size-1)}}
		}
	} else {
		if st.f.Limit > 0 {
			q.Set("limit", strconv.Itoa(st.f.Limit))
		}
		if st.next != "" {
			q.Set("next", st.next)
		}
	}
	u.RawQuery = q.Encode()
	return &u, hdr
}

func (st *pager) page(r *response, collection string, n int) (Page, error) {
	env, err := DecodeEnvelope(r.body)
	if err != nil {
		return Page{}, err
	}
	p := Page{Collection: collection, Number: n, URL: r.url, Version: st.v, Objects: env.Objects, More: env.More, Next: env.Next}
	if h := r.header.Get("X-TAXII-Date-Added-First"); h != "" {
		if p.DateAddedFirst, err = ParseTimestamp(h); err != nil {
			return Page{}, fmt.Errorf("X-TAXII-Date-Added-First: %w", err)
		}
	}
	if h := r.header.Get("X-TAXII-Date-Added-Last"); h != "" {
		if p.DateAddedLast, err = ParseTimestamp(h); err != nil {
			return Page{}, fmt.Errorf("X-TAXII-Date-Added-Last: %w", err)
		}
	}
	if st.v == Version20 {
		p.More, p.Next = false, ""
		if r.status == http.StatusPartialContent {
			h := r.header.Get("Content-Range")
			if h == "" {
				return Page{}, errors.New("206 Partial Content without Content-Range")
			}
			rg, err := ParseContentRange(h)
			if err != nil {
				return Page{}, err
			}
			if rg.First != st.start {
				return Page{}, fmt.Errorf("inconsistent Content-Range %q: asked for items from %d", h, st.start)
			}
			if got := int64(len(p.Objects)); got != rg.Last-rg.First+1 {
				return Page{}, fmt.Errorf("inconsistent Content-Range %q: the page holds %d objects", h, got)
			}
			p.Range = &rg
			switch {
			case rg.Total >= 0:
				p.More = rg.Last+1 < rg.Total
			default:
				// Unknown total: even a short page may have a successor
				// (servers cap ranges below what was asked), so ask
				// until an empty page, a 200 or a 416.
				p.More = true
			}
		}
	}
	return p, nil
}

// pastEnd reports whether a 416 answer to page n's Range means the end
// of the data: its Content-Range ("items */TOTAL") puts the start at or
// beyond the total, or, without a Content-Range, a previous page existed.
func (st *pager) pastEnd(h http.Header, n int) bool {
	cr := strings.TrimSpace(h.Get("Content-Range"))
	if cr == "" {
		return n > 1
	}
	_, total, ok := strings.Cut(cr, "/")
	if !ok {
		return false
	}
	t, err := strconv.ParseInt(strings.TrimSpace(total), 10, 64)
	return err == nil && st.start >= t
}

// advance moves the state to the next page; done is true when there is none.
func (st *pager) advance(p Page) (done bool, err error) {
	if !p.More {
		return true, nil
	}
	if st.v == Version20 {
		rg := p.Range
		if st.size == 0 {
			st.size = int64(st.f.Limit)
			if st.size == 0 {
				st.size = rg.Last - rg.First + 1
			}
		}
		st.start = rg.Last + 1
		return false, nil
	}
	if p.Next != "" {
		if st.seen[p.Next] {
			return false, fmt.Errorf("the server sent next=%q again: it pages forever", p.Next)
		}
		st.seen[p.Next] = true
		st.next = p.Next
		return false, nil
	}
	if p.DateAddedLast.IsZero() {
		return false, errors.New("more=true without next or X-TAXII-Date-Added-Last: cannot ask for the next page")
	}
	if !st.addedAfter.IsZero() && !p.DateAddedLast.After(st.addedAfter) {
		return false, fmt.Errorf("more=true without next, and X-TAXII-Date-Added-Last %s does not advance past added_after %s: the server pages forever",
			FormatTimestamp(p.DateAddedLast), FormatTimestamp(st.addedAfter))
	}
	st.addedAfter = p.DateAddedLast
	st.next = ""
	return false, nil
}
