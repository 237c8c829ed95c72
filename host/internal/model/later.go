package model

import "time"

// Later is the later of two times. The stores stamp with it where a
// caller's time may precede one already committed: a job is queued no
// earlier than the dependencies that released it finished, and an
// attempt starts no earlier than its job was queued, whatever the
// callers' clocks said (a caller's time is taken before its write
// commits, and a dependency's finish committed in between may carry a
// later one).
func Later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
