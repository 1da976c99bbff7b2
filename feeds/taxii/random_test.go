package taxii

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
)

// TestPagingRandom pulls randomly shaped collections from randomly
// configured fake servers (2.1 by next or by Date-Added-Last, 2.0 by
// Range with known or unknown totals, server-side page caps, client
// limits, transient faults: 503, 429, truncated bodies) and checks the result against the reference: every object
// exactly once, in date-added order, with consistent page metadata.
func TestPagingRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(20260101, 7))
	for i := range 80 {
		v := Version21
		if rng.IntN(2) == 0 {
			v = Version20
		}
		n := rng.IntN(40)
		f := newFake(t, v)
		f.maxPage = rng.IntN(6)
		f.pageByDate = v == Version21 && rng.IntN(2) == 0
		f.unknownTotal = v == Version20 && rng.IntN(2) == 0
		objs := seq(fmt.Sprintf("%08x", i), n, t0)
		f.addCollection("/api1/", "c1", objs...)
		// Transient faults between requests: at most 3 in a row, so that
		// the default 5 attempts always get through.
		run := 0
		for range rng.IntN(12) {
			switch k := rng.IntN(4); {
			case k == 0 || run == 3:
				f.fault(func(http.ResponseWriter, *http.Request) bool { return false })
				run = 0
			case k == 1:
				f.fault(respond(503, "text/plain", "busy"))
				run++
			case k == 2:
				f.fault(respond(429, "", "", "Retry-After", "1"))
				run++
			default:
				f.fault(truncated)
				run++
			}
		}
		limit := rng.IntN(8)
		name := fmt.Sprintf("%d/%s/n=%d/limit=%d/max=%d/bydate=%v/unknown=%v", i, v, n, limit, f.maxPage, f.pageByDate, f.unknownTotal)
		t.Run(name, func(t *testing.T) {
			srv := f.start()
			c, _, _ := testClient(t, srv.URL, func(c *Config) { c.Version = v })
			ids, pages, err := pull(t, c, "api1", "c1", Filter{Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids, objIDs(objs)) {
				t.Fatalf("got %d ids, want %d: %v", len(ids), n, ids)
			}
			for j, p := range pages {
				if p.Number != j+1 {
					t.Errorf("page %d numbered %d", j+1, p.Number)
				}
				if j < len(pages)-1 && len(p.Objects) == 0 {
					t.Errorf("empty page %d before the last", p.Number)
				}
				if len(p.Objects) > 0 && (p.DateAddedLast.IsZero() || p.DateAddedLast.Before(p.DateAddedFirst)) {
					t.Errorf("page %d: date-added range %v..%v", p.Number, p.DateAddedFirst, p.DateAddedLast)
				}
			}
		})
	}
}
