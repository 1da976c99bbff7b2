package match_test

import (
	"fmt"
	"net/netip"
	"sync"

	"github.com/iocmatch/iocmatch/engine/ioc"
	"github.com/iocmatch/iocmatch/engine/match"
)

func Example() {
	inds := []*ioc.Indicator{
		{ID: "indicator--1", Kind: ioc.KindDomain, Value: "evil.example"},
		{ID: "indicator--2", Kind: ioc.KindCIDRv4, Value: "198.51.100.0/24"},
		{ID: "indicator--3", Kind: ioc.KindCompound, Expr: ioc.And(
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindIPv4, Role: ioc.RoleDst}, Op: ioc.PredEq, Values: []string{"203.0.113.7"}}),
			ioc.Pred(ioc.Predicate{Target: ioc.Target{Kind: ioc.KindPort, Role: ioc.RoleDst}, Op: ioc.PredEq, Values: []string{"443"}}),
		)},
	}
	snap, err := match.Compile(inds, match.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The observables of one event, as engine/observe extracts them.
	obs := []ioc.Observable{
		{Kind: ioc.KindIPv4, Role: ioc.RoleSrc, Field: "source.ip", Addr: netip.MustParseAddr("198.51.100.23"), Value: []byte("198.51.100.23")},
		{Kind: ioc.KindIPv4, Role: ioc.RoleDst, Field: "destination.ip", Addr: netip.MustParseAddr("203.0.113.7"), Value: []byte("203.0.113.7")},
		{Kind: ioc.KindPort, Role: ioc.RoleDst, Field: "destination.port", Value: []byte("443")},
		{Kind: ioc.KindDomain, Role: ioc.RoleDst, Field: "dns.question.name", Value: []byte("cdn.evil.example")},
		{Kind: ioc.KindDomain, Role: ioc.RoleDst, Field: "dns.question.name", Value: []byte("notevil.example")},
	}
	for _, h := range snap.Match(obs, nil) {
		field := "(whole event)"
		if h.Obs >= 0 {
			field = obs[h.Obs].Field
		}
		fmt.Println(h.Indicator.ID, h.Indicator.Kind, field)
	}
	// Output:
	// indicator--2 cidr4 source.ip
	// indicator--1 domain dns.question.name
	// indicator--3 compound (whole event)
}

// ExampleHolder swaps snapshots while readers match: each reader loads
// the current snapshot once per batch and keeps using it; a swap never
// blocks them. Run it with -race.
func ExampleHolder() {
	compile := func(domain string) *match.Snapshot {
		s, err := match.Compile([]*ioc.Indicator{{ID: domain, Kind: ioc.KindDomain, Value: domain}}, match.Options{})
		if err != nil {
			panic(err)
		}
		return s
	}
	h := match.NewHolder(compile("old.example"))
	obs := []ioc.Observable{{Kind: ioc.KindDomain, Value: []byte("new.example")}}

	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var dst []match.Hit
			for range 1000 { // batches
				snap := h.Load()
				dst = snap.Match(obs, dst[:0])
			}
		}()
	}
	h.Store(compile("new.example")) // concurrent with the readers
	wg.Wait()

	hits := h.Load().Match(obs, nil)
	fmt.Println(len(hits), hits[0].Indicator.ID)
	// Output: 1 new.example
}
