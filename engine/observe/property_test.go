package observe

import (
	"net/netip"
	"testing"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// checkObservables asserts the contract of every observable: its value
// is already normalised (ioc.Normalize returns it unchanged, with the
// same kind), addresses are unmapped and equal to their value, and the
// field is named.
func checkObservables(t testing.TB, input string, n int, res *Result) {
	t.Helper()
	for i, ob := range res.Observables {
		if ob.Field == "" {
			t.Errorf("%s #%d obs %d: empty field", input, n, i)
		}
		k, v, err := ioc.Normalize(ob.Kind, string(ob.Value))
		if err != nil {
			t.Errorf("%s #%d obs %d %s %q: Normalize: %v", input, n, i, ob.Kind, ob.Value, err)
			continue
		}
		if k != ob.Kind || v != string(ob.Value) {
			t.Errorf("%s #%d obs %d %s %q: Normalize = %s %q", input, n, i, ob.Kind, ob.Value, k, v)
		}
		switch ob.Kind {
		case ioc.KindIPv4, ioc.KindIPv6:
			a, err := netip.ParseAddr(string(ob.Value))
			if err != nil || a != ob.Addr || ob.Addr.Is4In6() || ob.Addr.Zone() != "" {
				t.Errorf("%s #%d obs %d: Addr %v does not equal value %q", input, n, i, ob.Addr, ob.Value)
			}
		default:
			if ob.Addr.IsValid() {
				t.Errorf("%s #%d obs %d: %s with an Addr", input, n, i, ob.Kind)
			}
		}
	}
}
