// Package queue is the ready queue: strict priority, FIFO inside one
// priority, not-before times for delays and retry backoff, and skipping of
// tasks that are at their concurrency limit without scanning the queue.
// It is pure: no goroutines, no clock of its own, not safe for concurrent use.
package queue

import (
	"container/heap"
	"time"
)

// Levels is the number of priority levels; 0 is the lowest.
const Levels = 4

// Item is one queued job.
type Item struct {
	ID        string
	Task      string
	Level     int       // 0 (low) .. Levels-1 (critical)
	NotBefore time.Time // zero: ready now
}

// Queue holds queued jobs until they are popped. Each ID is in the queue at
// most once: pushing it again replaces the earlier entry.
type Queue struct {
	seq     uint64
	current map[string]ref // id → its live entry; stale entries are skipped lazily
	levels  [Levels]level
	delayed delayHeap
	depth   [Levels]int
}

// New returns an empty queue.
func New() *Queue {
	q := &Queue{current: map[string]ref{}}
	for i := range q.levels {
		q.levels[i].tasks = map[string]*taskFIFO{}
	}
	return q
}

// Push adds it, replacing any entry for the same ID. A NotBefore in the
// future keeps the item out of Pop until then; its FIFO place is taken when
// it becomes due.
func (q *Queue) Push(it Item, now time.Time) {
	if it.Level < 0 || it.Level >= Levels {
		panic("queue: level out of range")
	}
	q.Remove(it.ID)
	q.seq++
	q.current[it.ID] = ref{seq: q.seq, level: it.Level}
	q.depth[it.Level]++
	e := entry{item: it, seq: q.seq}
	if it.NotBefore.After(now) {
		heap.Push(&q.delayed, e)
		return
	}
	q.levels[it.Level].push(e)
}

// Remove drops the entry for id, if any, and reports whether there was one.
func (q *Queue) Remove(id string) bool {
	r, ok := q.current[id]
	if !ok {
		return false
	}
	// The entry itself stays where it is and is skipped when reached.
	delete(q.current, id)
	q.depth[r.level]--
	return true
}

// Len is the number of queued items, ready or delayed.
func (q *Queue) Len() int { return len(q.current) }

// Depth is the number of queued items per level, ready or delayed.
func (q *Queue) Depth() [Levels]int { return q.depth }

// Contains reports whether id is queued.
func (q *Queue) Contains(id string) bool {
	_, ok := q.current[id]
	return ok
}

// NextDue returns the earliest NotBefore of the delayed items, to arm a
// timer; ok is false when nothing is delayed.
func (q *Queue) NextDue() (t time.Time, ok bool) {
	for q.delayed.Len() > 0 {
		e := q.delayed[0]
		if !q.live(e) {
			heap.Pop(&q.delayed)
			continue
		}
		return e.item.NotBefore, true
	}
	return time.Time{}, false
}

// Pop removes and returns the next item to run at time now: the highest
// level first, FIFO inside a level, skipping items whose task blocked
// reports true (a task at its concurrency limit) so that other tasks are not
// starved behind it. blocked may be nil.
func (q *Queue) Pop(now time.Time, blocked func(task string) bool) (Item, bool) {
	q.promote(now)
	for l := Levels - 1; l >= 0; l-- {
		if e, ok := q.levels[l].pop(q, blocked); ok {
			delete(q.current, e.item.ID)
			q.depth[l]--
			return e.item, true
		}
	}
	return Item{}, false
}

// promote moves delayed items that are due into their levels, in due order.
func (q *Queue) promote(now time.Time) {
	for q.delayed.Len() > 0 {
		e := q.delayed[0]
		if !q.live(e) {
			heap.Pop(&q.delayed)
			continue
		}
		if e.item.NotBefore.After(now) {
			return
		}
		heap.Pop(&q.delayed)
		// A new seq gives the item its FIFO place as of becoming due.
		q.seq++
		q.current[e.item.ID] = ref{seq: q.seq, level: e.item.Level}
		e.seq = q.seq
		q.levels[e.item.Level].push(e)
	}
}

type entry struct {
	item Item
	seq  uint64
}

type ref struct {
	seq   uint64
	level int
}

func (q *Queue) live(e entry) bool {
	r, ok := q.current[e.item.ID]
	return ok && r.seq == e.seq
}
