// Package hosttest helps test code that embeds a host: a clock that tests
// step by hand, so that delays, retry backoff and schedules can be checked
// without sleeping.
package hosttest

import (
	"sync"
	"time"

	"github.com/batchhost/batchhost/host"
)

// Clock is a host.Clock that moves only when Advance or Set is called.
// Timers fire (their channel receives) when the clock reaches their time.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*timer
	armed  chan struct{} // signalled when a timer is armed
}

var _ host.Clock = (*Clock)(nil)

// NewClock returns a clock stopped at start.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start, armed: make(chan struct{}, 1)}
}

// Armed is signalled (coalesced) whenever the host arms a timer, so that
// a test waits for the timer it expects instead of guessing when the
// host has handled a change: look at NextTimer, and wait on Armed again
// if it is not there yet.
func (c *Clock) Armed() <-chan struct{} { return c.armed }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and fires the timers that are due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.setLocked(c.now.Add(d))
	c.mu.Unlock()
}

// Set moves the clock to t (forward only) and fires the timers that are due.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	if t.After(c.now) {
		c.setLocked(t)
	}
	c.mu.Unlock()
}

func (c *Clock) setLocked(t time.Time) {
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

// Timers reports how many timers are armed: a test can wait until the host
// has armed the timer it expects before advancing the clock.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, tm := range c.timers {
		if tm.armed {
			n++
		}
	}
	return n
}

// NextTimer returns when the earliest armed timer fires.
func (c *Clock) NextTimer() (time.Time, bool) {
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

// NewTimer returns a timer on this clock.
func (c *Clock) NewTimer(d time.Duration) host.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	tm := &timer{c: c, ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, tm)
	tm.resetLocked(d)
	return tm
}

type timer struct {
	c     *Clock
	ch    chan time.Time
	when  time.Time
	armed bool
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.resetLocked(d)
}

func (t *timer) resetLocked(d time.Duration) {
	select {
	case <-t.ch:
	default:
	}
	t.when = t.c.now.Add(d)
	t.armed = true
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

func (t *timer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.armed = false
	select {
	case <-t.ch:
	default:
	}
}
