package retry

import (
	"math"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

func TestDelay(t *testing.T) {
	def := model.Backoff{Initial: time.Second, Max: 5 * time.Minute, Multiplier: 2, Jitter: 0.2}
	fixed := func(v float64) func() float64 { return func() float64 { return v } }
	tests := []struct {
		name     string
		b        model.Backoff
		failures int
		rnd      func() float64
		want     time.Duration
	}{
		{"first failure", def, 1, nil, time.Second},
		{"second doubles", def, 2, nil, 2 * time.Second},
		{"fifth", def, 5, nil, 16 * time.Second},
		{"capped", def, 20, nil, 5 * time.Minute},
		{"huge exponent capped", def, 5000, nil, 5 * time.Minute},
		{"jitter low end", def, 1, fixed(0), 800 * time.Millisecond},
		{"jitter high end", def, 1, fixed(0.9999999999), 1200 * time.Millisecond},
		{"jitter never exceeds max", def, 30, fixed(0.9999999999), 5 * time.Minute},
		{"no failures", def, 0, nil, 0},
		{"zero initial", model.Backoff{}, 3, nil, 0},
		{"multiplier below one is constant", model.Backoff{Initial: time.Second, Multiplier: 0.5}, 4, nil, time.Second},
		{"no max", model.Backoff{Initial: time.Second, Multiplier: 10}, 4, nil, 1000 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Delay(tc.b, tc.failures, tc.rnd)
			if d := got - tc.want; d < -time.Microsecond || d > time.Microsecond {
				t.Errorf("Delay = %v, want %v", got, tc.want)
			}
		})
	}
}

// A cap of math.MaxInt64 rounds up past it as a float64; converting back
// wrapped to a negative delay, so the retry ran at once.
func TestHugeCapDoesNotWrapToNoDelay(t *testing.T) {
	b := model.Backoff{Initial: math.MaxInt64, Max: math.MaxInt64, Multiplier: 2}
	for failures := 1; failures <= 3; failures++ {
		if d := Delay(b, failures, nil); d < time.Duration(math.MaxInt64/4) {
			t.Errorf("failures %d: delay %v, want a huge positive one", failures, d)
		}
	}
}
