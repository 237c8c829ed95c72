// Package ratelimit decides how many attempts of a rated task or plugin
// may start now: a rate ("10/s", "600/m:20") and the token bucket that
// enforces it, in exact integer time so that a token due at t is there
// at t.
package ratelimit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxBurst bounds a rate's burst: beyond it a "rate" is no limit.
const MaxBurst = 1_000_000

// Rate is N events per Per, with at most Burst at once. The zero Burst
// means 1: attempts are spaced evenly, never two at the same instant.
type Rate struct {
	N     float64
	Per   time.Duration
	Burst int
}

// PerSecond is the rate in events per second.
func (r Rate) PerSecond() float64 { return r.N / r.Per.Seconds() }

// String is the rate as Parse reads it ("10/s", "2.5/m:5"); Per other
// than a second, minute or hour is written as a count per second.
func (r Rate) String() string {
	n, unit := r.N, ""
	switch r.Per {
	case time.Second:
		unit = "s"
	case time.Minute:
		unit = "m"
	case time.Hour:
		unit = "h"
	default:
		n, unit = r.PerSecond(), "s"
	}
	s := strconv.FormatFloat(n, 'f', -1, 64) + "/" + unit
	if r.Burst > 1 {
		s += ":" + strconv.Itoa(r.Burst)
	}
	return s
}

// Check reports a rate no bucket can enforce: N not above 0 or not
// finite, Per not above 0, more than one event per nanosecond, a burst
// below 0 or above MaxBurst, or a burst whose refill time overflows.
func (r Rate) Check() error {
	if why := r.problem(); why != "" {
		return fmt.Errorf("rate %v/%v (burst %d): %s", r.N, r.Per, r.Burst, why)
	}
	return nil
}

func (r Rate) problem() string {
	switch {
	case !(r.N > 0) || math.IsInf(r.N, 0):
		return "the count must be a number above 0"
	case r.Per <= 0:
		return "the period must be above 0"
	case float64(r.Per)/r.N < 1:
		return "more than one per nanosecond"
	case r.Burst < 0 || r.Burst > MaxBurst:
		return fmt.Sprintf("burst %d is not between 1 and %d", r.Burst, MaxBurst)
	case float64(r.interval())*float64(r.burst()) > 1<<62:
		return fmt.Sprintf("too slow for a burst of %d (refilling it would take centuries)", r.burst())
	}
	return ""
}

// interval is the time one token takes to come back, rounded up to the
// nanosecond so that the bucket never admits more than the rate.
func (r Rate) interval() time.Duration {
	return time.Duration(math.Ceil(float64(r.Per) / r.N))
}

func (r Rate) burst() int { return max(r.Burst, 1) }

var units = map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}

// Parse reads a rate written as COUNT/UNIT[:BURST]: COUNT a decimal
// number above 0 ("10", "2.5"), UNIT s, m or h, BURST a whole number of
// at least 1 (default 1: evenly spaced, no two at once). Examples:
// "10/s", "600/m", "2.5/s", "100/h", "10/s:20". Errors are one line and
// say what was expected.
func Parse(s string) (Rate, error) {
	in := strings.TrimSpace(s)
	bad := func(format string, args ...any) (Rate, error) {
		return Rate{}, fmt.Errorf("rate %q: %s (want COUNT/UNIT[:BURST], e.g. 10/s, 600/m, 2.5/s, 100/h, 10/s:20)", s, fmt.Sprintf(format, args...))
	}
	count, rest, ok := strings.Cut(in, "/")
	if !ok {
		return bad("no /UNIT")
	}
	unit, burstText, hasBurst := strings.Cut(rest, ":")
	count, unit, burstText = strings.TrimSpace(count), strings.TrimSpace(unit), strings.TrimSpace(burstText)
	if !isDecimal(count) {
		return bad("count %q is not a decimal number", count)
	}
	n, err := strconv.ParseFloat(count, 64)
	if err != nil || !(n > 0) || math.IsInf(n, 0) {
		return bad("count %q is not a number above 0", count)
	}
	per, ok := units[unit]
	if !ok {
		return bad("unit %q is not s, m or h", unit)
	}
	r := Rate{N: n, Per: per, Burst: 1}
	if hasBurst {
		b, err := strconv.Atoi(burstText)
		if err != nil || b < 1 || b > MaxBurst || strings.Trim(burstText, "0123456789") != "" {
			return bad("burst %q is not a whole number from 1 to %d", burstText, MaxBurst)
		}
		r.Burst = b
	}
	if why := r.problem(); why != "" {
		return bad("%s", why)
	}
	return r, nil
}

// isDecimal: digits with at most one dot, and at least one digit (no
// sign, exponent, hexadecimal, underscores, "inf" or "nan", which
// strconv would accept).
func isDecimal(s string) bool {
	digits, dots := 0, 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

// ParseNamed reads one NAME=RATE item of a --rate flag or of its
// environment variable ("docs.ocr=10/s", "exec=600/m:20"): NAME a task
// or a plugin (surrounding space trimmed, not empty), RATE as Parse
// reads it. A list is split on commas by the caller; RATE has none.
func ParseNamed(s string) (string, Rate, error) {
	name, rate, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return "", Rate{}, fmt.Errorf("rate %q: want TASK=RATE or PLUGIN=RATE, e.g. docs.ocr=10/s or exec=600/m:20", s)
	}
	r, err := Parse(rate)
	if err != nil {
		return "", Rate{}, fmt.Errorf("%s: %w", name, err)
	}
	return name, r, nil
}
