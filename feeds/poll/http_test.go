package poll

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/feeds"
)

// TestHTTPSource fetches a list over HTTP with a bearer token; a refused
// request is an error naming the status and keeps the feed's content.
func TestHTTPSource(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("203.0.113.9\nevil.example\n"))
	}))
	defer srv.Close()
	st := openStore(t, t.TempDir())
	good, err := NewHTTPSource(HTTPOptions{URL: srv.URL + "/list.txt", Token: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := good.Refresh(context.Background(), "web", st)
	if err != nil {
		t.Fatal(err)
	}
	if res.Change.Added != 2 || res.Stats.ByKind[ioc.KindIPv4] != 1 || res.Stats.ByKind[ioc.KindDomain] != 1 {
		t.Fatalf("result %+v", res)
	}
	bad, err := NewHTTPSource(HTTPOptions{URL: srv.URL + "/list.txt?token=leak"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Refresh(context.Background(), "web", st)
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "leak") {
		t.Fatalf("error %v, want the 401 status and no query string", err)
	}
	if got := activeValues(st, "web"); !slices.Equal(got, []string{"203.0.113.9", "evil.example"}) {
		t.Fatalf("content after a failed refresh: %v", got)
	}
	if _, err := NewHTTPSource(HTTPOptions{URL: "ftp://h/x"}); err == nil {
		t.Fatal("ftp URL accepted")
	}
}

// TestBytesSource: an in-memory document replaces the feed, stamped with
// the feed name.
func TestBytesSource(t *testing.T) {
	st := openStore(t, t.TempDir())
	src := &BytesSource{Filename: "x.jsonl", Data: []byte(`{"id":"a","kind":"ipv4","value":"192.0.2.7","feed":"other"}` + "\n")}
	res, err := src.Refresh(context.Background(), "mem", st)
	if err != nil || res.Change.Added != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if got := activeValues(st, "mem"); !slices.Equal(got, []string{"192.0.2.7"}) {
		t.Fatalf("active %v", got)
	}
	strict := &BytesSource{Filename: "x.jsonl", Data: []byte("{not json\n"), Options: feeds.LoadOptions{Strict: true}}
	if _, err := strict.Refresh(context.Background(), "mem", st); err == nil || !strings.Contains(err.Error(), "feed mem") {
		t.Fatalf("bad strict document: error %v", err)
	}
	if got := activeValues(st, "mem"); !slices.Equal(got, []string{"192.0.2.7"}) {
		t.Fatalf("content after a failed refresh: %v", got)
	}
}
