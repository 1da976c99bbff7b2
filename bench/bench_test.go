package bench

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestRunSmoke runs the whole path briefly in both modes and asserts
// correctness only (never speed).
func TestRunSmoke(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"core", Config{Mode: "core", Events: 3000, Indicators: 2000, HitRatio: 0.2, Format: "mixed", Publishers: 2}},
		{"jetstream", Config{Mode: "jetstream", Events: 2000, Indicators: 1000, HitRatio: 0.1, Format: "zeek"}},
		{"core-rate", Config{Mode: "core", Events: 1000, Rate: 2000, Indicators: 500, HitRatio: 0.5, Format: "raw"}},
		{"duration", Config{Mode: "jetstream", Duration: 700 * time.Millisecond, Rate: 1500, Indicators: 500, HitRatio: 0.3, Format: "ecs", Publishers: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Log = zerolog.New(os.Stderr).Level(zerolog.WarnLevel)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			r, err := Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			WriteTable(&buf, r)
			t.Log("\n" + buf.String())
			if !r.Correct.Pass {
				t.Fatalf("correctness failed: %+v", r.Correct)
			}
			want := uint64(cfg.Events)
			if cfg.Duration > 0 {
				want = r.Engine.Published
				if want < 500 {
					t.Fatalf("published only %d events in %s at %g/s", want, cfg.Duration, cfg.Rate)
				}
			}
			if r.Correct.Expected == 0 || r.Engine.Processed != want || r.Baseline == nil || r.Baseline.Processed != r.Baseline.Published {
				t.Fatalf("result: %+v baseline %+v", r.Correct, r.Baseline)
			}
		})
	}
}
