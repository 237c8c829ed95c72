package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Backpressure: Submit blocks while this much is queued behind the commit in
// flight. The limits only bound memory when the disk cannot keep up; in
// normal operation the queue is a handful of batches.
const (
	maxPendingBatches = 4096
	maxPendingBytes   = 64 << 20
)

// writer is the group-commit loop: one goroutine that owns every write
// transaction of the batches it is handed.
type writer struct {
	s *Store

	mu           sync.Mutex
	notFull      sync.Cond // signalled when the writer takes the queue
	pending      []*Batch
	pendingBytes int
	closing      bool  // Close was called: Submit refuses, the loop drains and exits
	inCallbacks  bool  // the writer is running callbacks: a Submit from one must not block
	failErr      error // set once: the first failed commit, wrapped in ErrFailed

	wake chan struct{} // capacity 1: "pending is not empty"
	quit chan struct{} // closed by stop
	done chan struct{} // closed when the loop has exited

	transactions, batches, jobs atomic.Int64

	// observers are called after every committed transaction. The writer
	// only loads the pointer: registering copies the list under obsMu.
	observers atomic.Pointer[[]*commitObserver]
	obsMu     sync.Mutex
}

type commitObserver struct {
	fn func(latency time.Duration, jobs int)
}

// ObserveCommits registers fn, called on the writer's goroutine after each
// committed write transaction with its latency (fsync included) and the
// job records it wrote, until stop is called. fn must be quick and must
// not call the store: commits wait for it.
func (s *Store) ObserveCommits(fn func(latency time.Duration, jobs int)) (stop func()) {
	w := &s.w
	o := &commitObserver{fn: fn}
	w.obsMu.Lock()
	defer w.obsMu.Unlock()
	var list []*commitObserver
	if cur := w.observers.Load(); cur != nil {
		list = append(list, *cur...)
	}
	list = append(list, o)
	w.observers.Store(&list)
	var once sync.Once
	return func() {
		once.Do(func() {
			w.obsMu.Lock()
			defer w.obsMu.Unlock()
			var rest []*commitObserver
			for _, x := range *w.observers.Load() {
				if x != o {
					rest = append(rest, x)
				}
			}
			w.observers.Store(&rest)
		})
	}
}

// Stats counts the writer's work since Open, for benchmarks and the
// engine's statistics.
type Stats struct {
	Transactions int64 // write transactions the writer committed
	Batches      int64 // non-empty batches they held
	Jobs         int64 // job records they wrote (after same-id folding)
	JobDecodes   int64 // full job records decoded by reads
}

// Stats returns the writer's counters.
func (s *Store) Stats() Stats {
	return Stats{
		Transactions: s.w.transactions.Load(),
		Batches:      s.w.batches.Load(),
		Jobs:         s.w.jobs.Load(),
		JobDecodes:   s.jobDecodes.Load(),
	}
}

func (w *writer) start(s *Store) {
	w.s = s
	w.notFull.L = &w.mu
	w.wake = make(chan struct{}, 1)
	w.quit = make(chan struct{})
	w.done = make(chan struct{})
	go w.run()
}

// stop drains and ends the loop. It reports false if it was already stopped.
func (w *writer) stop() bool {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		<-w.done
		return false
	}
	w.closing = true
	w.notFull.Broadcast()
	w.mu.Unlock()
	close(w.quit)
	<-w.done
	return true
}

// Submit queues b for the next transaction and returns at once; b's
// callbacks report the outcome. It blocks only while a very large amount of
// work is queued (backpressure), never from inside a callback. After Close
// the callbacks run at once, on the caller's goroutine, with ErrClosed; once
// a commit has failed they receive ErrFailed.
//
// The batch belongs to the store from now on. A nil batch is ignored.
func (s *Store) Submit(b *Batch) {
	if b == nil {
		return
	}
	w := &s.w
	w.mu.Lock()
	for !w.closing && !w.inCallbacks && len(w.pending) > 0 &&
		(len(w.pending) >= maxPendingBatches || w.pendingBytes >= maxPendingBytes) {
		w.notFull.Wait()
	}
	if w.closing {
		w.mu.Unlock()
		err := newError(ErrClosed, nil, fmt.Sprintf("data file %s: store is closed", s.path))
		for _, fn := range b.callbacks {
			fn(err)
		}
		return
	}
	w.pending = append(w.pending, b)
	w.pendingBytes += b.size
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Commit submits b and waits for its outcome: nil once it is durable. It
// must not be called from an OnCommit callback (the writer would wait for
// itself).
func (s *Store) Commit(b *Batch) error {
	if b == nil {
		return nil
	}
	done := make(chan error, 1)
	b.OnCommit(func(err error) { done <- err })
	s.Submit(b)
	return <-done
}

func (w *writer) run() {
	defer close(w.done)
	var timer *time.Timer
	for {
		select {
		case <-w.wake:
		case <-w.quit:
		}
		if d := w.s.opts.MaxBatchDelay; d > 0 {
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			select {
			case <-timer.C:
			case <-w.quit:
				timer.Stop()
			}
		}
		w.mu.Lock()
		group := w.pending
		w.pending = nil
		w.pendingBytes = 0
		closing := w.closing
		w.notFull.Broadcast()
		w.mu.Unlock()
		if len(group) > 0 {
			w.commit(group)
		}
		if closing {
			return
		}
	}
}

// commit applies every valid, non-empty batch of group in one transaction,
// then runs all callbacks in Submit order.
func (w *writer) commit(group []*Batch) {
	w.mu.Lock()
	failErr := w.failErr
	w.mu.Unlock()
	preFailed := failErr != nil

	firstWrite := len(group)
	var writes []*Batch
	for i, b := range group {
		if b.err == nil && !b.Empty() {
			if firstWrite == len(group) {
				firstWrite = i
			}
			writes = append(writes, b)
		}
	}
	if !preFailed && len(writes) > 0 {
		var n int
		began := time.Now()
		err := w.s.update(func(tx *bolt.Tx) error {
			var err error
			n, err = w.s.apply(tx, writes)
			return err
		})
		if err != nil {
			failErr = w.s.fail(err)
		} else {
			w.transactions.Add(1)
			w.batches.Add(int64(len(writes)))
			w.jobs.Add(int64(n))
			if obs := w.observers.Load(); obs != nil {
				took := time.Since(began)
				for _, o := range *obs {
					o.fn(took, n)
				}
			}
		}
	}

	w.mu.Lock()
	w.inCallbacks = true
	w.mu.Unlock()
	for i, b := range group {
		err := b.err
		if preFailed || (failErr != nil && i >= firstWrite) {
			err = failErr
		}
		for _, fn := range b.callbacks {
			fn(err)
		}
	}
	w.mu.Lock()
	w.inCallbacks = false
	w.mu.Unlock()
}

// fail puts the store in the failed state (once) and returns the error every
// later write receives.
func (s *Store) fail(cause error) error {
	w := &s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failErr == nil {
		w.failErr = newError(ErrFailed, cause, fmt.Sprintf("store failed: commit to data file %s: %v", s.path, cause))
		s.log.Error("commit failed; refusing all further writes", "path", s.path, "error", cause)
	}
	return w.failErr
}

// failed returns the failure error, or nil.
func (s *Store) failed() error {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	return s.w.failErr
}
