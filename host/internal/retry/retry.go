// Package retry decides what becomes of a job whose attempt has ended
// (completed, retried when, failed or canceled) and computes the delay
// before its next attempt: exponential backoff with a cap and jitter. It is
// pure; the time and the randomness are passed in so that tests can pin
// them.
package retry

import (
	"math"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

// Delay returns how long to wait before the next attempt after failures
// failed attempts (1 after the first failure). rnd returns a value in
// [0, 1); nil means no jitter. The result is Initial × Multiplier^(failures-1),
// capped at Max, then moved by up to ±Jitter of itself and capped at Max
// again, so a long outage never waits longer than Max.
func Delay(b model.Backoff, failures int, rnd func() float64) time.Duration {
	if failures < 1 || b.Initial <= 0 {
		return 0
	}
	mult := b.Multiplier
	if mult < 1 {
		mult = 1
	}
	d := float64(b.Initial) * math.Pow(mult, float64(failures-1))
	// float64(math.MaxInt64) rounds up past it: a cap that large would
	// overflow back into a negative duration.
	max := float64(b.Max)
	if b.Max <= 0 || max > math.MaxInt64/2 {
		max = math.MaxInt64 / 2
	}
	if d > max || math.IsInf(d, 0) || math.IsNaN(d) {
		d = max
	}
	if rnd != nil && b.Jitter > 0 {
		d += d * b.Jitter * (2*rnd() - 1)
	}
	if d > max {
		d = max
	}
	if d < 0 {
		d = 0
	}
	return time.Duration(d)
}
