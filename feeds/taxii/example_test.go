package taxii_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/rs/zerolog"

	"github.com/iocmatch/iocmatch/feeds/taxii"
)

// A minimal TAXII 2.1 server with one collection of two pages.
func exampleServer() *httptest.Server {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, hdr map[string]string, body string) {
		w.Header().Set("Content-Type", taxii.MediaTAXII21)
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		fmt.Fprint(w, body)
	}
	mux.HandleFunc("/taxii2/", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, `{"title": "Example", "default": "/api1/", "api_roots": ["/api1/"]}`)
	})
	mux.HandleFunc("/api1/collections/c1/objects/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("next") == "" {
			reply(w, map[string]string{"X-TAXII-Date-Added-Last": "2026-01-01T00:00:01Z"},
				`{"more": true, "next": "p2", "objects": [{"type": "indicator", "id": "indicator--1"}]}`)
			return
		}
		reply(w, map[string]string{"X-TAXII-Date-Added-Last": "2026-01-01T00:00:02Z"},
			`{"more": false, "objects": [{"type": "indicator", "id": "indicator--2"}]}`)
	})
	return httptest.NewServer(mux)
}

func ExampleClient_Objects() {
	srv := exampleServer()
	defer srv.Close()

	c, err := taxii.New(taxii.Config{
		URL:  srv.URL,
		Auth: taxii.Auth{APIKey: taxii.NewSecret("example-key")}, // e.g. taxii.SecretFromEnv("TAXII_TOKEN")
	}, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	d, err := c.Discovery(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = c.Objects(ctx, d.Default, "c1", taxii.Filter{Limit: 100}, func(p taxii.Page) error {
		// Convert p.Objects here, then persist the checkpoint:
		fmt.Printf("page %d: %d objects, more=%v, checkpoint %s\n",
			p.Number, len(p.Objects), p.More, taxii.FormatTimestamp(p.DateAddedLast))
		return nil
	})
	fmt.Println("version", c.Version(), "error", err)
	// Output:
	// page 1: 1 objects, more=true, checkpoint 2026-01-01T00:00:01Z
	// page 2: 1 objects, more=false, checkpoint 2026-01-01T00:00:02Z
	// version 2.1 error <nil>
}
