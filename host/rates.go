package host

import (
	"maps"
	"slices"
	"time"

	"github.com/batchhost/batchhost/host/internal/engine"
	"github.com/batchhost/batchhost/host/internal/ratelimit"
)

// Rate caps how often attempts of a task or plugin start: N per Per, at
// most Burst at once (0 or 1: evenly spaced). Config.Rates takes one per
// name; ParseRate reads the written form.
type Rate = ratelimit.Rate

// ParseRate reads a rate written as COUNT/UNIT[:BURST]: COUNT a decimal
// number above 0, UNIT s, m or h, BURST a whole number of at least 1
// (default 1). Examples: "10/s", "600/m", "2.5/s", "100/h", "10/s:20".
// The error is one line saying what was expected.
func ParseRate(s string) (Rate, error) { return ratelimit.Parse(s) }

// Throttle is a rated task or plugin (Config.Rates) that has no token
// now: its queued jobs wait until Next, when its next token is due.
type Throttle struct {
	Name string    `json:"name"`
	Next time.Time `json:"next"`
}

// toThrottled is the engine's list as the host's, never nil, so that
// Stats shows an empty list rather than none.
func toThrottled(ts []engine.Throttle) []Throttle {
	out := make([]Throttle, len(ts))
	for i, t := range ts {
		out[i] = Throttle{Name: t.Name, Next: t.Next}
	}
	return out
}

// sortedNames are the names of a per-name setting (Limits, Rates), sorted
// for stable messages.
func sortedNames[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
