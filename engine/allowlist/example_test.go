package allowlist_test

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/iocmatch/iocmatch/engine/allowlist"
	"github.com/iocmatch/iocmatch/engine/ioc"
)

func Example() {
	local, err := allowlist.ParseLocal(strings.NewReader(`
# our own infrastructure
10.0.0.0/8
domain:corp.example
`), "allow.txt")
	if err != nil {
		panic(err)
	}
	a, err := allowlist.New(local)
	if err != nil {
		panic(err)
	}
	var h allowlist.Holder // swapped on SIGHUP
	h.Store(a)

	fmt.Println(h.Load().Allowed(ioc.KindIPv4, nil, netip.MustParseAddr("10.1.2.3")))
	fmt.Println(h.Load().Allowed(ioc.KindIPv4, nil, netip.MustParseAddr("11.0.0.1")))
	fmt.Println(h.Load().Allowed(ioc.KindDomain, []byte("vpn.corp.example"), netip.Addr{}))
	// Output:
	// allow.txt true
	//  false
	// allow.txt true
}
