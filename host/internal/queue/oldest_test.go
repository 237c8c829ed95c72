package queue

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestOldest: per level, the ready item Pop would take first; removed,
// replaced and delayed items do not count until due; Oldest changes
// nothing Pop then returns.
func TestOldest(t *testing.T) {
	q := New()
	q.Push(Item{ID: "n1", Task: "a", Level: 1}, t0)
	q.Push(Item{ID: "n2", Task: "b", Level: 1}, t0)
	q.Push(Item{ID: "gone", Task: "b", Level: 3}, t0)
	q.Push(Item{ID: "c1", Task: "a", Level: 3}, t0)
	q.Push(Item{ID: "later", Task: "a", Level: 0, NotBefore: t0.Add(time.Minute)}, t0)
	q.Remove("gone")
	q.Push(Item{ID: "n1", Task: "a", Level: 1}, t0) // to the back of its level

	ids := func(now time.Time) map[int]string {
		items, ok := q.Oldest(now)
		out := map[int]string{}
		for l := range items {
			if ok[l] {
				out[l] = items[l].ID
			}
		}
		return out
	}
	if diff := cmp.Diff(map[int]string{1: "n2", 3: "c1"}, ids(t0)); diff != "" {
		t.Errorf("Oldest at t0 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[int]string{0: "later", 1: "n2", 3: "c1"}, ids(t0.Add(time.Hour))); diff != "" {
		t.Errorf("Oldest once the delay is over (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"c1", "n2", "n1", "later"}, drain(q, t0.Add(time.Hour), nil)); diff != "" {
		t.Errorf("Pop order after Oldest (-want +got):\n%s", diff)
	}
	if _, ok := q.Oldest(t0); ok != [Levels]bool{} {
		t.Errorf("Oldest of an empty queue: %v", ok)
	}
}
