package store

import (
	"container/heap"
	"math"
	"sync"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// readyIndex is the in-memory order of the queued jobs: per priority,
// task and the set of resources its jobs need some of (readyKey), a heap
// by (ready time, sequence). It is all dispatch needs, so a
// million queued jobs cost a few tens of bytes each, not their records.
//
// Entries are never removed out of order: a job that leaves queued
// (canceled, paused, claimed by an earlier claim in the same transaction)
// leaves a stale entry behind, recognised when it reaches the head because
// the live record no longer says "queued with this sequence". Re-queuing
// pushes a fresh entry with a new sequence.
type readyIndex struct {
	mu     sync.Mutex
	queues [4]map[readyKey]*readyHeap // by priority index, then task and needs
	size   int                        // entries, stale ones included
	// delayed holds the entries that were not ready yet when pushed, by
	// ready time alone: NextRunAt reads its head instead of scanning.
	delayed readyHeap
	// The kinds of queued job (a task and a need) by number, and their
	// numbers: an entry holds a number. Few, as task names are.
	kinds   []jobKind
	kindNum map[jobKind]uint32
	// Ids that are not UUIDs, by number, and their numbers (see jobKey).
	others   []string
	otherNum map[string]uint64
}

// readyKey names one heap of a priority: a task's jobs that need some of
// the same resources. A claim whose job does not fit holds back the heaps
// that need what it lacks, and takes from the others, without looking
// past any entry (see backend.Capacity).
type readyKey struct {
	task string
	uses model.Mask
}

// jobKind is what the index keeps of a queued job besides its order: its
// task and its need (model.Job.Resources).
type jobKind struct {
	task string
	need model.Resources
}

// readyEntry is one queued job in the index, without pointers (see
// jobKey): 48 bytes.
type readyEntry struct {
	readyAt int64 // the order: when it became ready
	runAt   int64 // claimable from (0: at once)
	seq     uint64
	kind    uint32 // number into kinds
	prio    model.Priority
	id      jobKey // last: its 17 bytes then pack with kind and prio
}

// need is what an entry's job needs; the caller holds mu.
func (x *readyIndex) need(e readyEntry) model.Resources { return x.kinds[e.kind].need }

// taskName is an entry's job's task; the caller holds mu.
func (x *readyIndex) taskName(e readyEntry) string { return x.kinds[e.kind].task }

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

// push adds an entry; one not claimable by now also goes to the delayed
// heap. The caller holds mu.
func (x *readyIndex) push(e readyEntry, now int64) {
	h := x.heapOf(e)
	if h == nil {
		return
	}
	heap.Push(h, e)
	x.size++
	if e.runAt != 0 && e.runAt > now {
		heap.Push(&x.delayed, e)
	}
}

// head returns the first entry of a priority and key; the caller holds mu.
func (x *readyIndex) head(pi int, k readyKey) (readyEntry, bool) {
	h := x.queues[pi][k]
	if h == nil || h.Len() == 0 {
		return readyEntry{}, false
	}
	return (*h)[0], true
}

// pop removes the head of a priority and key; the caller holds mu.
func (x *readyIndex) pop(pi int, k readyKey) readyEntry {
	h := x.queues[pi][k]
	e := heap.Pop(h).(readyEntry)
	x.size--
	if h.Len() == 0 {
		delete(x.queues[pi], k)
	}
	return e
}

// keyOfEntry is the heap an entry belongs to.
func (x *readyIndex) keyOfEntry(e readyEntry) readyKey {
	k := x.kinds[e.kind]
	return readyKey{task: k.task, uses: k.need.Uses()}
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

// mayClaim reports whether a claim could find something: a head that is
// ready by p.Now, of a task p may claim. A stale head makes it say yes
// wrongly (the claim then finds nothing); it never says no wrongly.
func (x *readyIndex) mayClaim(p backend.ClaimParams) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.size == 0 {
		return false
	}
	t := p.Now
	if t.IsZero() {
		t = time.Now()
	}
	now := t.UnixNano()
	for _, byTask := range x.queues {
		for k, h := range byTask {
			if h.Len() == 0 || (*h)[0].runAt > now {
				continue
			}
			if n, ok := p.Quota[k.task]; (ok && n > 0) || (!ok && p.AnyTask > 0) {
				return true
			}
		}
	}
	return false
}

// load appends an entry read at open; loaded orders them all at once
// (heap.Init is linear, a push per entry would be n log n). The caller
// is the only user of the index until Open returns.
func (x *readyIndex) load(e readyEntry) {
	h := x.heapOf(e)
	if h == nil {
		return
	}
	*h = append(*h, e)
	x.size++
	if e.runAt != 0 {
		x.delayed = append(x.delayed, e)
	}
}

func (x *readyIndex) loaded() {
	for _, byTask := range x.queues {
		for _, h := range byTask {
			*h = clip(*h)
			heap.Init(h)
		}
	}
	x.delayed = clip(x.delayed)
	heap.Init(&x.delayed)
}

// clip drops the spare capacity that appending left (up to as much
// again as the entries): with a million queued jobs, tens of megabytes.
func clip(h readyHeap) readyHeap {
	if cap(h)-len(h) <= len(h)/8 {
		return h
	}
	return append(make(readyHeap, 0, len(h)), h...)
}

// kindOf is the number of a kind of job, given one when first seen.
func (x *readyIndex) kindOf(k jobKind) uint32 {
	if n, ok := x.kindNum[k]; ok {
		return n
	}
	if x.kindNum == nil {
		x.kindNum = map[jobKind]uint32{}
	}
	n := uint32(len(x.kinds))
	x.kinds = append(x.kinds, k)
	x.kindNum[k] = n
	return n
}

// entry is the ready-index entry of a job queued at sequence seq; the
// caller holds x.mu.
func (x *readyIndex) entry(id, task string, prio model.Priority, readyAt, runAt int64, seq uint64, need model.Resources) readyEntry {
	return readyEntry{readyAt: readyAt, runAt: runAt, seq: seq, id: x.keyOf(id), kind: x.kindOf(jobKind{task, need}), prio: prio}
}

// clampNeed fits a need in a live record's field. The host refuses needs
// that large long before (a job beyond any capacity); one that came from
// elsewhere stays beyond any capacity.
func clampNeed(n int64) uint32 {
	return uint32(min(max(n, 0), math.MaxUint32))
}

// heapOf is the heap of an entry's priority and task, made when first
// needed; nil for a priority out of range.
func (x *readyIndex) heapOf(e readyEntry) *readyHeap {
	pi := e.prio.Index()
	if pi < 0 || pi >= len(x.queues) {
		return nil
	}
	if x.queues[pi] == nil {
		x.queues[pi] = map[readyKey]*readyHeap{}
	}
	k := x.keyOfEntry(e)
	h := x.queues[pi][k]
	if h == nil {
		h = &readyHeap{}
		x.queues[pi][k] = h
	}
	return h
}
