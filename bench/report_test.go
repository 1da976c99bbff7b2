package bench

import (
	"bytes"
	"strings"
	"testing"
)

// TestWriteTableNamesWhatWasMeasured: the footnote says whether the
// NATS server's CPU and memory are in the figures (embedded: same
// process) or not (external).
func TestWriteTableNamesWhatWasMeasured(t *testing.T) {
	tests := []struct {
		embedded bool
		want     string
		not      string
	}{
		{true, "embedded NATS and engine", "not included"},
		{false, "the external NATS server is not included", "embedded NATS and engine"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		WriteTable(&buf, &Result{Mode: "core", Format: "ecs", EmbeddedNATS: tt.embedded, Engine: Phase{Name: "iocmatch core"}})
		out := buf.String()
		if !strings.Contains(out, tt.want) || strings.Contains(out, tt.not) {
			t.Errorf("embedded=%v: table\n%s\nwant %q and not %q", tt.embedded, out, tt.want, tt.not)
		}
	}
}
