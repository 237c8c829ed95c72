package ratelimit

import "time"

// Bucket is a token bucket: a token comes back every 1/rate, up to the
// burst, and each event takes one. It keeps the instant at which it was
// (or will be) empty, in integer time, so its answers are exact: the
// token NextAt promises is there at that instant. It is not safe for
// concurrent use; the engine holds its lock.
type Bucket struct {
	interval time.Duration // one token's refill time
	burst    int64
	empty    time.Time // the bucket held no token at this instant
}

// NewBucket returns a full bucket of rate r at now. A rate Check refuses
// is clamped: the burst to [1, MaxBurst], the interval to at least 1ns.
func NewBucket(r Rate, now time.Time) *Bucket {
	b := &Bucket{interval: time.Nanosecond, burst: int64(min(r.burst(), MaxBurst))}
	if r.N > 0 && r.Per > 0 {
		b.interval = max(r.interval(), time.Nanosecond)
	}
	if float64(b.interval)*float64(b.burst) > 1<<62 {
		b.burst = max(int64((1<<62)/b.interval), 1)
	}
	b.empty = now.Add(-time.Duration(b.burst) * b.interval)
	return b
}

// Available is how many whole tokens the bucket holds at now: at most
// the burst, and 0 while a debt (see Take) is paid back.
func (b *Bucket) Available(now time.Time) int {
	d := now.Sub(b.empty)
	if d <= 0 {
		return 0
	}
	return int(min(int64(d/b.interval), b.burst))
}

// Take takes n tokens at now. It takes them even when fewer are
// available, leaving a debt that the next tokens pay back first, and
// reports whether they were all available: a caller that takes only
// what Available allowed always sees true.
func (b *Bucket) Take(n int, now time.Time) bool {
	if n <= 0 {
		return true
	}
	if full := now.Add(-time.Duration(b.burst) * b.interval); b.empty.Before(full) {
		b.empty = full
	}
	b.empty = b.empty.Add(time.Duration(n) * b.interval)
	return !b.empty.After(now)
}

// NextAt is when the bucket next holds a whole token: now when it holds
// one already.
func (b *Bucket) NextAt(now time.Time) time.Time {
	if b.Available(now) >= 1 {
		return now
	}
	return b.empty.Add(b.interval)
}
