package ratelimit

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

func TestBucketStartsFullAndRefillsOneTokenPerInterval(t *testing.T) {
	b := NewBucket(Rate{N: 10, Per: time.Second, Burst: 3}, ms(0))
	type step struct {
		at    int // ms
		take  int
		avail int // before the take
		next  int // NextAt after the take, ms
	}
	for i, s := range []step{
		{at: 0, avail: 3, take: 3, next: 100},
		{at: 50, avail: 0, take: 0, next: 100},
		{at: 99, avail: 0, take: 0, next: 100},
		{at: 100, avail: 1, take: 1, next: 200},
		{at: 250, avail: 1, take: 0, next: 250}, // half a token kept
		{at: 300, avail: 2, take: 2, next: 400},
		{at: 10_000, avail: 3, take: 1, next: 10_000}, // full: capped at the burst
		{at: 10_000, avail: 2, take: 2, next: 10_100},
	} {
		if got := b.Available(ms(s.at)); got != s.avail {
			t.Fatalf("step %d: Available at %dms = %d, want %d", i, s.at, got, s.avail)
		}
		if !b.Take(s.take, ms(s.at)) {
			t.Fatalf("step %d: Take(%d) of %d available reported over-spending", i, s.take, s.avail)
		}
		if got := b.NextAt(ms(s.at)); !got.Equal(ms(s.next)) {
			t.Fatalf("step %d: NextAt = %v, want %dms", i, got.Sub(t0), s.next)
		}
	}
}

func TestBucketTakingMoreThanAvailableLeavesADebt(t *testing.T) {
	b := NewBucket(Rate{N: 1, Per: time.Second}, ms(0))
	if b.Take(3, ms(0)) {
		t.Fatal("Take(3) of 1 token reported true")
	}
	// Two tokens are owed: the next whole one is there at 3s, not 1s.
	for _, at := range []int{1000, 2000, 2999} {
		if n := b.Available(ms(at)); n != 0 {
			t.Fatalf("Available at %dms = %d while the debt is paid back", at, n)
		}
	}
	if got := b.NextAt(ms(1000)); !got.Equal(ms(3000)) {
		t.Fatalf("NextAt = %v, want 3s", got.Sub(t0))
	}
	if n := b.Available(ms(3000)); n != 1 {
		t.Fatalf("Available at 3s = %d, want 1", n)
	}
}

func TestBucketIsExactAtUnevenIntervals(t *testing.T) {
	// 3/s: one token every 333,333,334ns (rounded up, never above the rate).
	b := NewBucket(Rate{N: 3, Per: time.Second}, t0)
	b.Take(1, t0)
	at := t0
	for i := 0; i < 3000; i++ {
		next := b.NextAt(at)
		if b.Available(next) != 1 || b.Available(next.Add(-1)) != 0 {
			t.Fatalf("token %d: NextAt %v does not hold exactly one token there", i, next.Sub(t0))
		}
		b.Take(1, next)
		at = next
	}
	if took := at.Sub(t0); took < 1000*time.Second {
		t.Fatalf("3000 tokens at 3/s came within %v, faster than the rate", took)
	}
}

// TestBucketNeverAdmitsMoreThanRateTimesWindowPlusBurst takes every token
// as soon as it is due, for uneven rates and bursts, and checks every
// window between two takes.
func TestBucketNeverAdmitsMoreThanRateTimesWindowPlusBurst(t *testing.T) {
	for _, r := range []Rate{
		{N: 10, Per: time.Second, Burst: 1},
		{N: 2.5, Per: time.Second, Burst: 4},
		{N: 7, Per: time.Minute, Burst: 3},
		{N: 100, Per: time.Hour, Burst: 10},
	} {
		b := NewBucket(r, t0)
		var starts []time.Time
		at := t0
		for len(starts) < 200 {
			n := b.Available(at)
			b.Take(n, at)
			for i := 0; i < n; i++ {
				starts = append(starts, at)
			}
			at = b.NextAt(at)
		}
		for i := range starts {
			for j := i; j < len(starts); j++ {
				w := starts[j].Sub(starts[i]).Seconds()
				if got, limit := float64(j-i+1), r.PerSecond()*w+float64(r.burst()); got > limit+1e-9 {
					t.Fatalf("%s: %v starts within %vs, limit %v", r, got, w, limit)
				}
			}
		}
		span := starts[len(starts)-1].Sub(t0).Seconds()
		if got := float64(len(starts)-r.burst()) / span; got < 0.99*r.PerSecond() {
			t.Fatalf("%s: taking every due token gave %v/s", r, got)
		}
	}
}

func TestBucketIgnoresAClockGoingBack(t *testing.T) {
	b := NewBucket(Rate{N: 1, Per: time.Second, Burst: 2}, ms(5000))
	b.Take(2, ms(5000))
	if n := b.Available(ms(1000)); n != 0 {
		t.Fatalf("Available before the last take = %d", n)
	}
	if got := b.NextAt(ms(1000)); !got.Equal(ms(6000)) {
		t.Fatalf("NextAt = %v, want 6s", got.Sub(t0))
	}
}

func TestNewBucketClampsRatesCheckRefuses(t *testing.T) {
	b := NewBucket(Rate{N: 1, Per: time.Second, Burst: -5}, t0)
	if n := b.Available(t0.Add(time.Hour)); n != 1 {
		t.Fatalf("burst -5 holds %d tokens, want 1", n)
	}
	b = NewBucket(Rate{}, t0) // no rate: one token per nanosecond
	if n := b.Available(t0); n != 1 {
		t.Fatalf("zero rate holds %d tokens", n)
	}
}
