package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// wtx is one write transaction of the Queue: the operations of a group
// commit read and change records through it. Records are decoded once per
// transaction and written once, at flush; the indexes and counts follow
// from each record's state before the transaction and after it.
type wtx struct {
	q   *Queue
	tx  *bolt.Tx
	bk  buckets
	now time.Time

	writes int // changes made so far: an operation that fails after one spoils the transaction

	jobs   map[string]*jobEntry
	order  []*jobEntry // dirty jobs, in the order first changed
	groups map[string]*groupEntry
	gorder []*groupEntry
	counts countsP
	cdirty bool

	// dropped: ids of jobs this transaction deleted (see drop).
	dropped []string
	popped  []readyEntry // taken from the ready index: pushed back if the transaction is undone
	signal  bool         // wake the engine after the commit
}

// jobEntry is a job as this transaction sees it.
type jobEntry struct {
	j        *model.Job
	stored   bool        // a record existed before this transaction
	from     model.State // state before this transaction ("" when new)
	fromDone time.Time   // FinishedAt before this transaction
	dirty    bool
	seq      uint64 // ready sequence: kept from the live record, new when queued here
	pushed   bool   // queued by this transaction: goes into the ready index
	indexed  bool   // already put there, for a claim in this transaction
	// deleted by this transaction (Delete, Purge, Prune): not stored any
	// more, never flushed, and not found by later operations.
	deleted bool
}

type groupEntry struct {
	g        *model.Group
	wasDone  bool
	doneAt   time.Time // FinishedAt when the transaction began
	dirty    bool
	inserted bool
	deleted  bool // deleted by this transaction: not flushed, not found
}

func (q *Queue) begin(tx *bolt.Tx) (*wtx, error) {
	w := &wtx{q: q, tx: tx, bk: openBuckets(tx), now: q.s.opts.Now(),
		jobs: map[string]*jobEntry{}, groups: map[string]*groupEntry{}}
	c, ok := decodeCountsP(w.bk.meta.Get(countsPKey))
	if !ok {
		return nil, newError(ErrCorrupt, nil, fmt.Sprintf("data file %s: job counts record is missing or damaged", q.s.path))
	}
	w.counts = c
	return w, nil
}

// job returns the job as this transaction sees it, or ErrNotFound.
func (w *wtx) job(id string) (*jobEntry, error) {
	if e := w.jobs[id]; e != nil {
		if e.deleted {
			return nil, notFoundIn(id)
		}
		return e, nil
	}
	var j *model.Job
	if rj := w.q.running.get(id); rj != nil {
		j = rj
	} else if cj := w.q.recs.get(id); cj != nil {
		j = cj
	} else {
		data := w.bk.jobs.Get([]byte(id))
		if data == nil {
			return nil, notFoundIn(id)
		}
		var err error
		if j, err = w.q.s.decodeJob([]byte(id), data); err != nil {
			return nil, err
		}
	}
	e := &jobEntry{j: j, stored: true, from: j.State, fromDone: j.FinishedAt}
	if v := w.bk.live.Get([]byte(id)); v != nil {
		if r, err := decodeLive(v); err == nil {
			e.seq = r.seq
		}
	}
	w.jobs[id] = e
	return e, nil
}

// state is the state of a job, cheaply: from this transaction's records or
// the live index, decoding only a finished job's record; ok is false for a
// job that is not stored (never was, or pruned).
func (w *wtx) state(id string) (model.State, bool, error) {
	st, _, ok, err := w.stateAt(id)
	return st, ok, err
}

// stateAt is state with the job's FinishedAt (zero while unfinished).
func (w *wtx) stateAt(id string) (model.State, time.Time, bool, error) {
	if e := w.jobs[id]; e != nil {
		if e.deleted {
			return "", time.Time{}, false, nil
		}
		return e.j.State, e.j.FinishedAt, true, nil
	}
	if v := w.bk.live.Get([]byte(id)); v != nil {
		return liveState(v), time.Time{}, true, nil
	}
	data := w.bk.jobs.Get([]byte(id))
	if data == nil {
		return "", time.Time{}, false, nil
	}
	h, err := w.q.s.decodeHead([]byte(id), data)
	if err != nil {
		return "", time.Time{}, false, err
	}
	return h.State, h.FinishedAt, true, nil
}

func notFoundIn(id string) error {
	return newError(backend.ErrNotFound, nil, fmt.Sprintf("job %s not found", id))
}

// add records a new job.
func (w *wtx) add(j *model.Job) *jobEntry {
	e := &jobEntry{j: j}
	w.jobs[j.ID] = e
	w.touch(e)
	w.counts.add(j.State, j.Priority, 1)
	w.cdirty = true
	if j.State == model.Queued {
		w.ready(e)
	}
	return e
}

func (w *wtx) touch(e *jobEntry) {
	w.writes++
	if !e.dirty {
		e.dirty = true
		w.order = append(w.order, e)
	}
}

// ready stamps a job entering queued: its queued time and a new sequence.
func (w *wtx) ready(e *jobEntry) {
	e.j.QueuedAt = w.now
	w.q.seq++
	e.seq = w.q.seq
	e.pushed, e.indexed = true, false
	w.signal = true
}

// setState moves a job to another state, keeping counts, its group's
// counts and the timestamps in step. The caller has checked the move.
func (w *wtx) setState(e *jobEntry, to model.State) error {
	j := e.j
	from := j.State
	w.touch(e)
	w.counts.add(from, j.Priority, -1)
	w.counts.add(to, j.Priority, 1)
	w.cdirty = true
	j.State = to
	if to != model.Paused {
		j.PausedFrom = ""
	}
	if to == model.Queued {
		w.ready(e)
	} else {
		e.pushed = false
	}
	if to.Terminal() {
		j.FinishedAt = w.now
	} else {
		j.FinishedAt = time.Time{}
	}
	if j.Group != "" {
		ge, err := w.group(j.Group)
		if w.q.s.skipDamaged("group", []byte(j.Group), err) {
			// The member moves on; the damaged group record is left as
			// it is, counts and all.
			return nil
		}
		if err != nil {
			return err
		}
		w.touchGroup(ge)
		ge.g.Counts[from]--
		if ge.g.Counts[from] <= 0 {
			delete(ge.g.Counts, from)
		}
		ge.g.Counts[to]++
		w.groupChanged(ge)
	}
	return nil
}

// groupChanged keeps a group's finish time in step with its counts.
func (w *wtx) groupChanged(ge *groupEntry) {
	g := ge.g
	switch {
	case g.Done() && g.FinishedAt.IsZero():
		// Done again within the transaction that reopened it: it never
		// stopped being done as far as anyone saw.
		g.FinishedAt = w.now
		if ge.wasDone && !ge.doneAt.IsZero() {
			g.FinishedAt = ge.doneAt
		}
	case !g.Done():
		g.FinishedAt = time.Time{}
	}
}

// group returns the group as this transaction sees it, or ErrNotFound.
func (w *wtx) group(id string) (*groupEntry, error) {
	if ge := w.groups[id]; ge != nil {
		if ge.deleted {
			return nil, newError(backend.ErrNotFound, nil, fmt.Sprintf("group %s not found", id))
		}
		return ge, nil
	}
	data := w.bk.groups.Get([]byte(id))
	if data == nil {
		return nil, newError(backend.ErrNotFound, nil, fmt.Sprintf("group %s not found", id))
	}
	g, err := w.q.s.decodeGroup([]byte(id), data)
	if err != nil {
		return nil, err
	}
	ge := &groupEntry{g: g, wasDone: g.Done(), doneAt: g.FinishedAt}
	w.groups[id] = ge
	return ge, nil
}

func (w *wtx) touchGroup(ge *groupEntry) {
	w.writes++
	if !ge.dirty {
		ge.dirty = true
		w.gorder = append(w.gorder, ge)
	}
}

// flush writes every changed record and index entry.
func (w *wtx) flush() error {
	for _, e := range w.order {
		if e.deleted {
			continue
		}
		if err := w.flushJob(e); err != nil {
			return err
		}
	}
	for _, ge := range w.gorder {
		if ge.deleted {
			continue
		}
		g := ge.g
		if err := putGroup(w.bk, groupPut{id: g.ID, data: mustJSON(g), done: g.Done()}); err != nil {
			return err
		}
	}
	if w.cdirty {
		if err := w.bk.meta.Put(countsPKey, w.counts.encode()); err != nil {
			return fmt.Errorf("put counts: %w", err)
		}
	}
	return nil
}

func (w *wtx) flushJob(e *jobEntry) error {
	j := e.j
	id := []byte(j.ID)
	data, err := encodeJob(j)
	if err != nil {
		return err
	}
	if err := w.bk.jobs.Put(id, data); err != nil {
		return fmt.Errorf("put job %s: %w", j.ID, err)
	}
	if e.from.Terminal() && !e.fromDone.IsZero() && (!j.State.Terminal() || !j.FinishedAt.Equal(e.fromDone)) {
		if err := w.bk.finished.Delete(finishedKey(e.fromDone, j.ID)); err != nil {
			return err
		}
	}
	if j.State.Terminal() {
		if e.from == "" || !e.from.Terminal() {
			if err := w.bk.live.Delete(id); err != nil {
				return err
			}
		}
		if !e.from.Terminal() || !j.FinishedAt.Equal(e.fromDone) {
			if err := w.bk.finished.Put(finishedKey(j.FinishedAt, j.ID), nil); err != nil {
				return err
			}
		}
		return nil
	}
	return w.bk.live.Put(id, liveOf(j, e.seq).encode())
}

// undo puts back what the transaction took from the ready index; the
// sequence numbers it handed out are simply skipped.
func (w *wtx) undo() {
	x := &w.q.idx
	x.mu.Lock()
	for _, e := range w.popped {
		x.push(e, w.now.UnixNano())
	}
	x.mu.Unlock()
}

// applied updates memory after a durable commit: new ready entries, the
// running set and the committed records. The transaction's records are
// not changed any more: the running set and the committed records share
// them.
func (q *Queue) applied(w *wtx) {
	x := &q.idx
	x.mu.Lock()
	for _, e := range w.order {
		if e.pushed && !e.indexed && e.j.State == model.Queued {
			x.push(x.entryOf(e.j, e.seq), w.now.UnixNano())
		}
	}
	x.mu.Unlock()
	for _, e := range w.order {
		if runs(e.j) {
			q.running.set(e.j)
		} else if e.from == model.Running || e.from == model.Paused {
			q.running.drop(e.j.ID)
		}
	}
	q.committed.update(w)
	if w.signal {
		q.signal()
	}
}

// indexReady puts the jobs this transaction queued into the ready index
// now, so that a claim later in the transaction can take them; if the
// transaction is undone they are stale entries, dropped when they reach
// the head. The caller holds idx.mu.
func (w *wtx) indexReady() {
	for _, e := range w.order {
		if e.pushed && !e.indexed && e.j.State == model.Queued {
			w.q.idx.push(w.q.idx.entryOf(e.j, e.seq), w.now.UnixNano())
			e.indexed = true
		}
	}
}

// valid reports whether a ready entry still names a queued job at that
// sequence, as this transaction sees it.
func (w *wtx) valid(r readyEntry) bool { return w.stands(w.bk.live, r) }

// stands reports whether a ready entry names a job queued at its
// sequence, as this transaction sees it, the rest read from live: the
// transaction's own bucket, or, for the lane, a snapshot of the file
// taken while this transaction's commit is written. The caller holds
// idx.mu.
func (w *wtx) stands(live *bolt.Bucket, r readyEntry) bool {
	id := w.q.idx.id(r)
	if e := w.jobs[id]; e != nil {
		return e.j.State == model.Queued && e.seq == r.seq && (!e.pushed || e.indexed)
	}
	return queuedAt(live, id, r.seq)
}

// queuedAt reports whether the live index says job id is queued at ready
// sequence seq: whether a ready entry of it still stands.
func queuedAt(live *bolt.Bucket, id string, seq uint64) bool {
	v := live.Get([]byte(id))
	if v == nil {
		return false
	}
	lr, err := decodeLive(v)
	return err == nil && lr.state == model.Queued && lr.seq == seq
}

func mustJSON(g *model.Group) []byte {
	b, err := encodeGroup(g)
	if err != nil {
		// A group is plain data; encoding cannot fail.
		panic(err)
	}
	return b
}
