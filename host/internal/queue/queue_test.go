package queue

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func drain(q *Queue, now time.Time, blocked func(string) bool) []string {
	var out []string
	for {
		it, ok := q.Pop(now, blocked)
		if !ok {
			return out
		}
		out = append(out, it.ID)
	}
}

func TestOrder(t *testing.T) {
	tests := []struct {
		name  string
		items []Item
		want  []string
	}{
		{"empty", nil, nil},
		{"fifo in one level", []Item{{ID: "a"}, {ID: "b"}, {ID: "c"}}, []string{"a", "b", "c"}},
		{"strict priority", []Item{{ID: "low", Level: 0}, {ID: "norm", Level: 1}, {ID: "crit", Level: 3}, {ID: "high", Level: 2}},
			[]string{"crit", "high", "norm", "low"}},
		{"fifo across tasks in a level", []Item{{ID: "a1", Task: "a"}, {ID: "b1", Task: "b"}, {ID: "a2", Task: "a"}, {ID: "b2", Task: "b"}},
			[]string{"a1", "b1", "a2", "b2"}},
		{"push again replaces and moves to the back", []Item{{ID: "a"}, {ID: "b"}, {ID: "a"}}, []string{"b", "a"}},
		{"delayed waits", []Item{{ID: "later", NotBefore: t0.Add(time.Second)}, {ID: "now"}}, []string{"now"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := New()
			for _, it := range tc.items {
				q.Push(it, t0)
			}
			if diff := cmp.Diff(tc.want, drain(q, t0, nil)); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDelayedBecomeReadyInDueOrderBehindEarlierReadyOnes(t *testing.T) {
	q := New()
	q.Push(Item{ID: "d2", NotBefore: t0.Add(2 * time.Second)}, t0)
	q.Push(Item{ID: "d1", NotBefore: t0.Add(time.Second)}, t0)
	q.Push(Item{ID: "r"}, t0)
	if due, ok := q.NextDue(); !ok || !due.Equal(t0.Add(time.Second)) {
		t.Fatalf("NextDue = %v %v, want t0+1s", due, ok)
	}
	if got := drain(q, t0.Add(1500*time.Millisecond), nil); !cmp.Equal(got, []string{"r", "d1"}) {
		t.Fatalf("at 1.5s got %v", got)
	}
	if got := drain(q, t0.Add(3*time.Second), nil); !cmp.Equal(got, []string{"d2"}) {
		t.Fatalf("at 3s got %v", got)
	}
	if _, ok := q.NextDue(); ok {
		t.Fatal("NextDue after drain should be empty")
	}
}

func TestRemove(t *testing.T) {
	q := New()
	q.Push(Item{ID: "a"}, t0)
	q.Push(Item{ID: "b", Level: 2}, t0)
	q.Push(Item{ID: "c", NotBefore: t0.Add(time.Minute)}, t0)
	if !q.Remove("a") || !q.Remove("c") || q.Remove("zzz") {
		t.Fatal("Remove results wrong")
	}
	if q.Len() != 1 || q.Depth() != [Levels]int{0, 0, 1, 0} {
		t.Fatalf("Len %d Depth %v", q.Len(), q.Depth())
	}
	if _, ok := q.NextDue(); ok {
		t.Fatal("removed delayed item still due")
	}
	if got := drain(q, t0.Add(time.Hour), nil); !cmp.Equal(got, []string{"b"}) {
		t.Fatalf("got %v", got)
	}
	// Re-pushing a removed id works and the stale entry does not resurface.
	q.Push(Item{ID: "a"}, t0)
	q.Remove("a")
	q.Push(Item{ID: "a"}, t0)
	if got := drain(q, t0, nil); !cmp.Equal(got, []string{"a"}) {
		t.Fatalf("got %v", got)
	}
}

func TestBlockedTaskIsSteppedOverNotStarving(t *testing.T) {
	q := New()
	for i := range 5 {
		q.Push(Item{ID: fmt.Sprint("ocr", i), Task: "docs.ocr", Level: 1}, t0)
	}
	q.Push(Item{ID: "hash", Task: "docs.hash", Level: 1}, t0)
	q.Push(Item{ID: "low", Task: "x", Level: 0}, t0)
	blocked := func(task string) bool { return task == "docs.ocr" }
	if got := drain(q, t0, blocked); !cmp.Equal(got, []string{"hash", "low"}) {
		t.Fatalf("got %v", got)
	}
	if q.Len() != 5 {
		t.Fatalf("blocked items lost: Len %d", q.Len())
	}
	if got := drain(q, t0, nil); !cmp.Equal(got, []string{"ocr0", "ocr1", "ocr2", "ocr3", "ocr4"}) {
		t.Fatalf("unblocked order %v", got)
	}
}

// TestAgainstModel compares random operations with a naive sorted model.
func TestAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	q := New()
	type rec struct {
		it  Item
		seq int
	}
	model := map[string]rec{}
	seq := 0
	now := t0
	for step := range 20000 {
		switch op := r.IntN(10); {
		case op < 5:
			id := fmt.Sprint("j", r.IntN(300))
			it := Item{ID: id, Task: fmt.Sprint("t", r.IntN(4)), Level: r.IntN(Levels)}
			if r.IntN(4) == 0 {
				it.NotBefore = now.Add(time.Duration(r.IntN(5)) * time.Second)
			}
			q.Push(it, now)
			seq++
			model[id] = rec{it, seq}
		case op < 6:
			id := fmt.Sprint("j", r.IntN(300))
			_, had := model[id]
			if got := q.Remove(id); got != had {
				t.Fatalf("step %d: Remove(%s)=%v want %v", step, id, got, had)
			}
			delete(model, id)
		case op < 7:
			now = now.Add(time.Second)
		default:
			blockedTask := fmt.Sprint("t", r.IntN(5))
			blocked := func(task string) bool { return task == blockedTask }
			it, ok := q.Pop(now, blocked)
			// The model's candidates: due, not blocked, highest level.
			best := -1
			for _, m := range model {
				if m.it.NotBefore.After(now) || m.it.Task == blockedTask {
					continue
				}
				best = max(best, m.it.Level)
			}
			if !ok {
				if best >= 0 {
					t.Fatalf("step %d: Pop found nothing, model has level %d", step, best)
				}
				continue
			}
			m, in := model[it.ID]
			if !in || m.it.Level != best || m.it.Task == blockedTask || m.it.NotBefore.After(now) {
				t.Fatalf("step %d: Pop %+v, model best level %d (in=%v)", step, it, best, in)
			}
			delete(model, it.ID)
		}
		if q.Len() != len(model) {
			t.Fatalf("step %d: Len %d model %d", step, q.Len(), len(model))
		}
	}
}

func BenchmarkPushPop(b *testing.B) {
	q := New()
	for i := range 100000 {
		q.Push(Item{ID: fmt.Sprint(i), Task: "t", Level: i % Levels}, t0)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		it, _ := q.Pop(t0, nil)
		q.Push(it, t0)
	}
}
