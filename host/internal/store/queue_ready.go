package store

import (
	"container/heap"
	"sync"

	"github.com/batchhost/batchhost/host/internal/model"
)

// readyIndex is the in-memory order of the queued jobs: per priority and
// task, a heap by (ready time, sequence). It is all dispatch needs, so a
// million queued jobs cost a few tens of bytes each, not their records.
//
// Entries are never removed out of order: a job that leaves queued
// (canceled, paused, claimed by an earlier claim in the same transaction)
// leaves a stale entry behind, recognised when it reaches the head because
// the live record no longer says "queued with this sequence". Re-queuing
// pushes a fresh entry with a new sequence.
type readyIndex struct {
	mu     sync.Mutex
	queues [4]map[string]*readyHeap // by priority index, then task
	size   int                      // entries, stale ones included
}

type readyEntry struct {
	readyAt int64
	seq     uint64
	id      string
	task    string
	prio    model.Priority
}

type readyHeap []readyEntry

func (h readyHeap) Len() int { return len(h) }
func (h readyHeap) Less(i, j int) bool {
	if h[i].readyAt != h[j].readyAt {
		return h[i].readyAt < h[j].readyAt
	}
	return h[i].seq < h[j].seq
}
func (h readyHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *readyHeap) Push(x any)   { *h = append(*h, x.(readyEntry)) }
func (h *readyHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = readyEntry{}
	*h = old[:len(old)-1]
	return e
}

// push adds an entry; the caller holds mu.
func (x *readyIndex) push(e readyEntry) {
	pi := e.prio.Index()
	if pi < 0 || pi >= len(x.queues) {
		return
	}
	if x.queues[pi] == nil {
		x.queues[pi] = map[string]*readyHeap{}
	}
	h := x.queues[pi][e.task]
	if h == nil {
		h = &readyHeap{}
		x.queues[pi][e.task] = h
	}
	heap.Push(h, e)
	x.size++
}

// head returns the first entry of a priority and task; the caller holds mu.
func (x *readyIndex) head(pi int, task string) (readyEntry, bool) {
	h := x.queues[pi][task]
	if h == nil || h.Len() == 0 {
		return readyEntry{}, false
	}
	return (*h)[0], true
}

// pop removes the head of a priority and task; the caller holds mu.
func (x *readyIndex) pop(pi int, task string) readyEntry {
	h := x.queues[pi][task]
	e := heap.Pop(h).(readyEntry)
	x.size--
	if h.Len() == 0 {
		delete(x.queues[pi], task)
	}
	return e
}

// runningSet holds the records of the running (and paused-while-running)
// jobs as last committed: Finish and Progress start from them instead of
// decoding, and Running answers from them.
type runningSet struct {
	mu   sync.Mutex
	jobs map[string]*model.Job
}

func (r *runningSet) get(id string) *model.Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	if j := r.jobs[id]; j != nil {
		return j.Clone()
	}
	return nil
}

func (r *runningSet) set(j *model.Job) {
	r.mu.Lock()
	if r.jobs == nil {
		r.jobs = map[string]*model.Job{}
	}
	r.jobs[j.ID] = j
	r.mu.Unlock()
}

func (r *runningSet) drop(id string) {
	r.mu.Lock()
	delete(r.jobs, id)
	r.mu.Unlock()
}

// runs reports whether a job in this state holds a running attempt.
func runs(j *model.Job) bool {
	return j.State == model.Running || (j.State == model.Paused && j.PausedFrom == model.Running)
}
