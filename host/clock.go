package host

import "time"

// Clock is the host's source of time: job timestamps, delays, retry backoff
// and schedules. Tests inject a fake to step time instead of sleeping.
// Attempt timeouts and kill grace periods use the real clock: they bound
// real processes.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer the host uses.
type Timer interface {
	C() <-chan time.Time
	// Reset re-arms the timer to fire after d.
	Reset(d time.Duration)
	Stop()
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) NewTimer(d time.Duration) Timer {
	return realTimer{time.NewTimer(d)}
}

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time   { return r.t.C }
func (r realTimer) Reset(d time.Duration) { r.t.Reset(d) }
func (r realTimer) Stop()                 { r.t.Stop() }
