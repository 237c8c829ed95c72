package queue

import "container/heap"

// level is one priority: a FIFO per task, and a heap of those FIFOs by the
// age of their oldest entry. Popping takes the oldest entry of the level; a
// blocked task is stepped over as a whole, so skipping it costs O(log n)
// however many of its jobs wait, not a scan of the queue.
type level struct {
	tasks map[string]*taskFIFO
	heads fifoHeap
}

type taskFIFO struct {
	task   string
	items  []entry
	head   int
	index  int // in heads; -1 when not there
	headSq uint64
}

func (l *level) push(e entry) {
	f := l.tasks[e.item.Task]
	if f == nil {
		f = &taskFIFO{task: e.item.Task, index: -1}
		l.tasks[e.item.Task] = f
	}
	f.items = append(f.items, e)
	if f.index < 0 {
		f.headSq = f.items[f.head].seq
		heap.Push(&l.heads, f)
	}
}

func (l *level) pop(q *Queue, blocked func(string) bool) (entry, bool) {
	var skipped []*taskFIFO
	defer func() {
		for _, f := range skipped {
			heap.Push(&l.heads, f)
		}
	}()
	for l.heads.Len() > 0 {
		f := l.heads[0]
		if f.trim(q) {
			l.refresh(f)
			continue
		}
		if blocked != nil && blocked(f.task) {
			heap.Pop(&l.heads)
			skipped = append(skipped, f)
			continue
		}
		e := f.items[f.head]
		f.items[f.head] = entry{}
		f.head++
		f.trim(q)
		l.refresh(f)
		return e, true
	}
	return entry{}, false
}

// refresh puts f back in order after its head changed, or drops it when
// empty.
func (l *level) refresh(f *taskFIFO) {
	if f.head == len(f.items) {
		heap.Remove(&l.heads, f.index)
		delete(l.tasks, f.task)
		return
	}
	f.headSq = f.items[f.head].seq
	heap.Fix(&l.heads, f.index)
}

// trim drops stale entries (removed or replaced) at the head and reports
// whether it dropped any. It compacts the slice once half of it is spent.
func (f *taskFIFO) trim(q *Queue) bool {
	dropped := false
	for f.head < len(f.items) && !q.live(f.items[f.head]) {
		f.items[f.head] = entry{}
		f.head++
		dropped = true
	}
	if f.head > 64 && f.head*2 > len(f.items) {
		n := copy(f.items, f.items[f.head:])
		clear(f.items[n:])
		f.items = f.items[:n]
		f.head = 0
	}
	return dropped
}

type fifoHeap []*taskFIFO

func (h fifoHeap) Len() int           { return len(h) }
func (h fifoHeap) Less(i, j int) bool { return h[i].headSq < h[j].headSq }
func (h fifoHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *fifoHeap) Push(x any) {
	f := x.(*taskFIFO)
	f.index = len(*h)
	*h = append(*h, f)
}
func (h *fifoHeap) Pop() any {
	old := *h
	f := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	f.index = -1
	return f
}

// delayHeap orders delayed entries by NotBefore, then seq.
type delayHeap []entry

func (h delayHeap) Len() int { return len(h) }
func (h delayHeap) Less(i, j int) bool {
	if !h[i].item.NotBefore.Equal(h[j].item.NotBefore) {
		return h[i].item.NotBefore.Before(h[j].item.NotBefore)
	}
	return h[i].seq < h[j].seq
}
func (h delayHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *delayHeap) Push(x any)   { *h = append(*h, x.(entry)) }
func (h *delayHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
