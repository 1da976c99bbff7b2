package observe

import (
	"errors"
	"testing"
)

// A fixed JSON format reports valid JSON that is not an object; auto mode
// scans it as text.
func TestFixedFormatNeedsObject(t *testing.T) {
	o, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	for _, in := range []string{`[1,2]`, `null`, ` "s"`, `42`} {
		for _, f := range []Format{FormatECS, FormatZeek, FormatEVE, FormatSysmon} {
			err := o.Observe([]byte(in), f, &res)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("Observe(%q, %s) = %v, want ErrMalformed", in, f, err)
			}
		}
		if err := o.Observe([]byte(in), FormatAuto, &res); err != nil {
			t.Errorf("Observe(%q, auto) = %v, want it scanned as text", in, err)
		}
	}
	if err := o.Observe([]byte(` {"source":{"ip":"192.0.2.1"}}`), FormatECS, &res); err != nil || len(res.Observables) == 0 {
		t.Errorf("object event: err %v, %d observables", err, len(res.Observables))
	}
}
