package main

import (
	"testing"
	"time"
)

// Relative times stay right however far away they are: time.Sub saturates
// at about 292 years, and negating its minimum overflows.
func TestAgo(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "-"},
		{now, "0s ago"},
		{now.Add(-3 * time.Second), "3s ago"},
		{now.Add(90 * time.Minute), "in 1h30m"},
		{now.Add(-72 * time.Hour), "3d0h ago"},
		{now.Add(36000 * 24 * time.Hour), "in 36000d0h"},
		{now.AddDate(100, 0, 1), "in over 100 years"},
		{now.AddDate(-100, 0, -1), "over 100 years ago"},
		{now.Add(time.Duration(1<<63 - 1)).Add(time.Hour), "in over 100 years"},
		{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), "in over 100 years"},
		{time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), "over 100 years ago"},
	} {
		if got := ago(tc.t, now); got != tc.want {
			t.Errorf("ago(%s) = %q, want %q", tc.t, got, tc.want)
		}
	}
}
