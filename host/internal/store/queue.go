package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/batchhost/batchhost/host/internal/backend"
)

// Queue is the bbolt backend of the store port: one host owns the file,
// and the file is the queue's truth. It keeps in memory only what dispatch
// needs — the ready index (id, priority, task, ready time, sequence) and
// the running jobs' records — and reads everything else from the file.
//
// Writes are operations run by one writer goroutine: every operation
// queued while the previous commit was in flight runs in the next
// transaction, which is committed (fsynced) once for all of them (group
// commit). An operation that fails is taken out and the others run again
// in a fresh transaction, so a failed operation changes nothing.
type Queue struct {
	s *Store

	mu      sync.Mutex
	pending []*op
	closing bool
	failErr error
	wake    chan struct{}
	done    chan struct{}

	claims []*claimReq // claims waiting for the writer (under mu)

	// Owned by the writer goroutine (and read under idx.mu by reads).
	flight *flight      // the transaction whose commit is being written
	recs   recordCache  // queued jobs' records as last decided
	lane   []*laneClaim // claims decided during the flight, written first next
	// lanePopped is what the lane's claims took from the ready index
	// during the flight: put back if the flight fails (its claims are
	// void), else carried by the flight that writes them.
	lanePopped []readyEntry
	fullSince  time.Time // the disk was found full (see queue_nospace.go)
	idx        readyIndex
	running    runningSet
	committed  committedRecords // read by reads; changed by the writer
	seq        uint64           // the last ready sequence handed out

	// durableSeq is the last ready sequence handed out by a durable
	// commit: an index entry with a later one belongs to a transaction
	// not yet durable (or undone), so a read cannot judge it against the
	// committed file.
	durableSeq atomic.Uint64

	changed chan struct{}

	members members // hosts and leader, in memory only
	damaged damagedJobs

	commits, ops atomic.Int64
	laneClaims   atomic.Int64 // claims decided while a commit was written
}

var _ backend.Store = (*Queue)(nil)

// op is one port operation: run executes it inside the writer's
// transaction; done receives its outcome once the transaction is durable.
type op struct {
	run  func(w *wtx) error
	done chan error
	// early, if set, runs once the whole batch has run and been written
	// to the transaction, before the commit makes it durable.
	early func()
	// lane marks the write of a claim already handed out: it must not be
	// dropped as "refused before writing".
	lane bool
}

// OpenQueue opens (creating if absent) the data file at path as the
// backend of the store port, with the same refusals as Open, and loads the
// ready index and the running jobs.
func OpenQueue(path string, opts Options) (*Queue, error) {
	s, err := Open(path, opts)
	if err != nil {
		return nil, err
	}
	q := &Queue{s: s, wake: make(chan struct{}, 1), done: make(chan struct{}), changed: make(chan struct{}, 1)}
	if err := q.load(); err != nil {
		_ = s.Close()
		return nil, err
	}
	go q.loop()
	return q, nil
}

// Changed is signalled after a commit that made work claimable or asked
// something of a running attempt.
func (q *Queue) Changed() <-chan struct{} { return q.changed }

func (q *Queue) signal() {
	select {
	case q.changed <- struct{}{}:
	default:
	}
}

// Close commits what is queued, stops the writer and closes the file.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return nil
	}
	q.closing = true
	q.mu.Unlock()
	q.kick()
	<-q.done
	q.committed.clear() // reads after Close fail, as the file's do
	return q.s.Close()
}

// Path is the data file's path.
func (q *Queue) Path() string { return q.s.path }

// Commits reports the write transactions and operations committed since
// open, for benchmarks (operations per commit shows group commit).
func (q *Queue) Commits() (commits, ops int64) { return q.commits.Load(), q.ops.Load() }

func (q *Queue) kick() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// do queues fn as one operation and waits until it is durable (or failed).
// The context bounds the wait for a place in the queue, not the commit: an
// operation handed to the writer is carried out, as a committed write must
// not be reported as lost.
func (q *Queue) do(ctx context.Context, fn func(w *wtx) error) error {
	return q.doEarly(ctx, fn, nil)
}

// doEarly is do with a hook that runs when the operation's result is
// decided, before it is durable (see backend.ClaimParams.Applied).
func (q *Queue) doEarly(ctx context.Context, fn func(w *wtx) error, early func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &op{run: fn, done: make(chan error, 1), early: early}
	if err := q.enqueue(func() { q.pending = append(q.pending, o) }); err != nil {
		return err
	}
	return <-o.done
}

// enqueue hands work to the writer (add runs under q.mu) unless the queue
// is closing or has failed.
func (q *Queue) enqueue(add func()) error {
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return closedErr(q.s.path)
	}
	if err := q.failErr; err != nil {
		q.mu.Unlock()
		return err
	}
	add()
	q.mu.Unlock()
	q.kick()
	return nil
}

func closedErr(path string) error {
	return newError(backend.ErrClosed, nil, fmt.Sprintf("data file %s: store is closed", path))
}

func (q *Queue) loop() {
	defer close(q.done)
	for {
		if q.flight != nil {
			// A commit is being written: claims are decided meanwhile (the
			// lane), everything else waits for the next transaction.
			select {
			case <-q.wake:
				q.serveLane()
				continue
			case err := <-q.flight.done:
				q.landed(err)
			}
		} else if len(q.lane) == 0 {
			<-q.wake
		}
		q.mu.Lock()
		batch := q.pending
		q.pending = nil
		for _, c := range q.claims {
			batch = append(batch, c.asOp())
		}
		q.claims = nil
		closing := q.closing
		q.mu.Unlock()
		if err := q.failed(); err != nil {
			// A commit failed: what was queued before that was known is
			// refused too, not written on top of an uncertain file.
			q.answer(batch, err)
			batch = nil
		}
		if len(batch) > 0 || len(q.lane) > 0 {
			q.commit(batch)
		}
		if closing {
			// The lane is empty: it fills only while a flight is
			// written, in the select above.
			if q.flight != nil {
				q.landed(<-q.flight.done)
			}
			q.mu.Lock()
			rest := q.pending
			q.pending = nil
			claims := q.claims
			q.claims = nil
			q.mu.Unlock()
			for _, o := range rest {
				o.done <- closedErr(q.s.path)
			}
			for _, c := range claims {
				c.done <- closedErr(q.s.path)
			}
			return
		}
	}
}

// flight is a transaction whose commit is being written.
type flight struct {
	w     *wtx
	tx    *bolt.Tx
	txid  int // the transaction's id: the file's, once its meta page is written
	batch []*op
	seq   uint64 // q.seq when the transaction was decided
	began time.Time
	done  chan error
	// lanePopped is what the lane claims it writes took from the ready
	// index, put back if it fails.
	lanePopped []readyEntry
}

// commit runs the lane's claims and batch in one transaction and starts
// writing its commit (q.flight); landed answers them when it is durable.
// An operation that fails is answered with its error and the transaction
// is run again without it, so that nothing it half-did is committed.
func (q *Queue) commit(batch []*op) {
	lane := q.lane
	q.lane = nil
	lanePopped := q.lanePopped
	q.lanePopped = nil
	ops := make([]*op, 0, len(lane)+len(batch))
	for _, l := range lane {
		ops = append(ops, l.asOp())
	}
	batch = append(ops, batch...)
	began := time.Now()
	for {
		var w *wtx
		var tx *bolt.Tx
		failed := -1
		var opErr error
		err := guard(q.s.path, func() error {
			var err error
			if tx, err = q.s.db.Begin(true); err != nil {
				return q.s.dbError(err)
			}
			if w, err = q.begin(tx); err != nil {
				return err
			}
			for i, o := range batch {
				if o == nil {
					continue
				}
				w.now = q.s.opts.Now()
				mark := w.writes
				if err := o.run(w); err != nil {
					if w.writes == mark && !o.lane {
						// Refused before writing anything: the others go on.
						o.done <- err
						batch[i] = nil
						continue
					}
					failed, opErr = i, err
					return errRetryBatch
				}
			}
			return w.flush()
		})
		if err != nil && tx != nil {
			_ = tx.Rollback()
		}
		if errors.Is(err, errRetryBatch) && batch[failed].lane {
			// A claim already handed out could not be written: the file
			// and the handed-out records disagree. Fail the store rather
			// than let the job be claimed again at the same attempt.
			w.undo()
			q.answer(batch, q.fail(opErr))
			q.lane = nil
			return
		}
		if errors.Is(err, errRetryBatch) {
			w.undo()
			batch[failed].done <- opErr
			batch = compact(batch, failed)
			continue
		}
		if err != nil {
			if w != nil {
				w.undo()
			}
			q.answer(batch, q.fail(err))
			return
		}
		// Nothing of the batch can fail now but the commit itself: the
		// operations' results are decided. The ready index takes the jobs
		// the transaction queued, so that claims decided while the commit
		// is written see them.
		q.idx.mu.Lock()
		w.indexReady()
		q.idx.mu.Unlock()
		q.recs.update(w)
		for _, o := range batch {
			if o != nil && o.early != nil {
				o.early()
			}
		}
		f := &flight{w: w, tx: tx, txid: tx.ID(), batch: batch, seq: q.seq, began: began, done: make(chan error, 1), lanePopped: lanePopped}
		q.flight = f
		go func() {
			f.done <- q.s.dbError(guard(q.s.path, tx.Commit))
		}()
		return
	}
}

func (q *Queue) failed() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.failErr
}

// landed answers the operations of the flight whose commit ended.
func (q *Queue) landed(err error) {
	f := q.flight
	q.flight = nil
	if err != nil {
		// Nothing of the flight is durable, nor the claims decided on
		// top of it: what they took from memory goes back.
		f.w.undo()
		q.recs.forget(f.w)
		q.unpop(f.lanePopped, f.w.now)
		q.unpop(q.lanePopped, f.w.now)
		q.lanePopped = nil
		err = q.commitFailed(f, err)
		q.answer(f.batch, err)
		for _, l := range q.lane {
			l.done <- err
		}
		q.lane = nil
		return
	}
	q.spaceBack()
	q.durableSeq.Store(f.seq)
	q.applied(f.w)
	n := 0
	for _, o := range f.batch {
		if o != nil {
			o.done <- nil
			n++
		}
	}
	q.commits.Add(1)
	q.ops.Add(int64(n))
	if obs := q.s.w.observers.Load(); obs != nil {
		took := time.Since(f.began)
		for _, o := range *obs {
			o.fn(took, len(f.w.order))
		}
	}
}

// ObserveCommits registers fn, called on the writer's goroutine after each
// durable transaction with its latency (from the start of the transaction
// to the end of its fsync) and the job records it wrote, until stop is
// called. fn must be quick and must not call the store.
func (q *Queue) ObserveCommits(fn func(latency time.Duration, jobs int)) (stop func()) {
	return q.s.ObserveCommits(fn)
}

func (q *Queue) answer(batch []*op, err error) {
	for _, o := range batch {
		if o != nil {
			o.done <- err
		}
	}
}

var errRetryBatch = errors.New("an operation failed part-way; run the batch again without it")

// compact drops batch[i] and the nils of refused operations.
func compact(batch []*op, drop int) []*op {
	out := batch[:0]
	for i, o := range batch {
		if o != nil && i != drop {
			out = append(out, o)
		}
	}
	return out
}

// fail puts the queue in the failed state: writes are refused with the
// cause until the host reopens the file.
func (q *Queue) fail(cause error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failErr == nil {
		if errors.Is(cause, backend.ErrClosed) || errors.Is(cause, ErrCorrupt) {
			q.failErr = cause
		} else {
			q.failErr = newError(backend.ErrFailed, cause, fmt.Sprintf("store failed: commit to data file %s: %v", q.s.path, cause))
		}
		q.s.log.Error("commit failed; refusing all further writes", "path", q.s.path, "error", cause)
	}
	return q.failErr
}
