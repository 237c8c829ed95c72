package runner

import "time"

// pausableTimer fires fn once after d of unpaused time. A nil
// *pausableTimer (d == 0) is a timer that never fires; all methods accept
// it. Callers serialize access (Run.mu).
type pausableTimer struct {
	d       time.Duration // the full period, for reset
	left    time.Duration // what remains while paused
	started time.Time     // when the running stretch began
	t       *time.Timer   // nil while paused or stopped
	fn      func()
	stopped bool
}

func newPausableTimer(d time.Duration, paused bool, fn func()) *pausableTimer {
	if d <= 0 {
		return nil
	}
	p := &pausableTimer{d: d, left: d, fn: fn}
	if !paused {
		p.resume()
	}
	return p
}

func (p *pausableTimer) pause() {
	if p == nil || p.t == nil || p.stopped {
		return
	}
	if p.t.Stop() {
		p.left -= time.Since(p.started)
	}
	p.t = nil
}

func (p *pausableTimer) resume() {
	if p == nil || p.t != nil || p.stopped {
		return
	}
	p.started = time.Now()
	p.t = time.AfterFunc(max(p.left, 0), p.fn)
}

// reset restarts the full period (stall: an event arrived).
func (p *pausableTimer) reset() {
	if p == nil || p.stopped {
		return
	}
	p.left = p.d
	if p.t != nil {
		p.t.Stop()
		p.t = nil
		p.resume()
	}
}

func (p *pausableTimer) stop() {
	if p == nil {
		return
	}
	p.stopped = true
	if p.t != nil {
		p.t.Stop()
		p.t = nil
	}
}
