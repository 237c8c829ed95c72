package engine

import (
	"sync"
	"time"
)

// fakeClock moves only when the test sets it; a timer's channel receives
// when the clock reaches the timer's time.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	armed  chan struct{} // signalled (coalesced) when a timer is armed
}

func newFakeClock(start time.Time) *fakeClock {
	return &fakeClock{now: start, armed: make(chan struct{}, 1)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock forward to t and fires the timers due.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !t.After(c.now) {
		return
	}
	c.now = t
	for _, tm := range c.timers {
		if tm.armed && !tm.when.After(t) {
			tm.armed = false
			select {
			case tm.ch <- t:
			default:
			}
		}
	}
}

// NextTimer is when the earliest armed timer fires.
func (c *fakeClock) NextTimer() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best time.Time
	ok := false
	for _, tm := range c.timers {
		if tm.armed && (!ok || tm.when.Before(best)) {
			best, ok = tm.when, true
		}
	}
	return best, ok
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	tm := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, tm)
	tm.resetLocked(d)
	return tm
}

type fakeTimer struct {
	c     *fakeClock
	ch    chan time.Time
	when  time.Time
	armed bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.resetLocked(d)
}

func (t *fakeTimer) resetLocked(d time.Duration) {
	select {
	case <-t.ch:
	default:
	}
	t.when, t.armed = t.c.now.Add(d), true
	if d <= 0 {
		t.armed = false
		t.ch <- t.c.now
		return
	}
	select {
	case t.c.armed <- struct{}{}:
	default:
	}
}

func (t *fakeTimer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.armed = false
	select {
	case <-t.ch:
	default:
	}
}
