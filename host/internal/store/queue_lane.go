package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// The lane decides claims while a commit is being written. bbolt writes
// one transaction at a time and its commit waits for the disk, so a claim
// that waited for the next transaction would hold a free worker idle for
// a whole fsync. The writer, idle while the commit is written, decides
// such claims at once instead: against the ready index, the transaction
// being committed (its records are final) and the last committed file
// (for every other job). It hands the claimed jobs to the caller
// (ClaimParams.Applied) and writes the claim first in the next
// transaction, before any operation queued meanwhile, so nothing can
// change the claimed jobs in between and the written records are the
// ones handed out. The caller hears that the claim is durable when that
// transaction is.

// claimReq is a claim whose caller takes its jobs before they are durable.
type claimReq struct {
	p    backend.ClaimParams
	out  []*model.Job
	done chan error
}

// asOp is the claim run inside the next transaction, when no commit was
// being written (its result is then handed out before that commit).
func (c *claimReq) asOp() *op {
	return &op{done: c.done, run: func(w *wtx) error {
		if !c.p.Now.IsZero() {
			w.now = c.p.Now
		}
		var err error
		c.out, err = w.claim(c.p)
		return err
	}, early: func() { c.p.Applied(c.out) }}
}

// laneClaim is a claim decided during a flight.
type laneClaim struct {
	req   *claimReq
	picks []readyEntry
	ids   []string
	base  []*model.Job // the records as decided, before the claim's stamps
	done  chan error
}

// asOp writes a lane claim: the same records, from the same stamps.
func (l *laneClaim) asOp() *op {
	return &op{lane: true, done: l.done, run: func(w *wtx) error {
		w.now = l.req.p.Now
		// Lane writes come first in the transaction and nothing changed
		// the jobs since the decision: start from the records decided
		// then instead of decoding them again.
		for i, id := range l.ids {
			if w.jobs[id] == nil {
				j := l.base[i].Clone()
				w.jobs[id] = &jobEntry{j: j, stored: true, from: j.State, fromDone: j.FinishedAt, seq: l.picks[i].seq}
			}
		}
		out, err := w.take(l.req.p, l.picks)
		if err != nil {
			return err
		}
		for i, j := range out {
			if h := l.req.out[i]; j.ID != h.ID || j.Attempt != h.Attempt || j.State != h.State {
				return fmt.Errorf("claim of job %s written as attempt %d (%s), handed out as attempt %d (%s)", j.ID, j.Attempt, j.State, h.Attempt, h.State)
			}
		}
		return nil
	}}
}

// claimEarly queues a claim whose jobs are handed to p.Applied as soon as
// it is decided, and waits until it is durable.
func (q *Queue) claimEarly(p backend.ClaimParams) ([]*model.Job, error) {
	c := &claimReq{p: p, done: make(chan error, 1)}
	if err := q.enqueue(func() { q.claims = append(q.claims, c) }); err != nil {
		return nil, err
	}
	if err := <-c.done; err != nil {
		return nil, err
	}
	return c.out, nil
}

// serveLane decides the claims queued while the flight's commit is
// written. Only the writer calls it.
func (q *Queue) serveLane() {
	q.mu.Lock()
	reqs := q.claims
	q.claims = nil
	q.mu.Unlock()
	if len(reqs) == 0 {
		return
	}
	w := q.flight.w
	var rtx *bolt.Tx
	err := guard(q.s.path, func() error {
		var err error
		rtx, err = q.s.db.Begin(false)
		return q.s.dbError(err)
	})
	if err != nil {
		for _, c := range reqs {
			c.done <- err
		}
		return
	}
	defer func() { _ = rtx.Rollback() }()
	live, jobs := rtx.Bucket(bLive), rtx.Bucket(bJobs)
	valid := func(r readyEntry) bool { return w.stands(live, r) } // under idx.mu, as pick is
	for _, c := range reqs {
		if c.p.Now.IsZero() {
			c.p.Now = q.s.opts.Now()
		}
		var popped []readyEntry
		x := &q.idx
		err := guard(q.s.path, func() error {
			x.mu.Lock()
			defer x.mu.Unlock()
			picks := x.pick(c.p, c.p.Now.UnixNano(), valid, &popped)
			out := make([]*model.Job, 0, len(picks))
			ids := make([]string, 0, len(picks))
			base := make([]*model.Job, 0, len(picks))
			kept := picks[:0]
			for _, r := range picks {
				id := x.id(r)
				// base is the record as decided: the flight's or the
				// record cache's own (neither is changed any more), or
				// the one decoded here; j, its copy, is stamped.
				var j, b *model.Job
				if e := w.jobs[id]; e != nil {
					b = e.j
				} else if cj := q.recs.peek(id); cj != nil {
					b = cj
				} else {
					data := jobs.Get([]byte(id))
					if data == nil {
						return notFoundIn(id)
					}
					var err error
					j, err = q.s.decodeJob([]byte(id), data)
					if q.s.skipDamaged("job", []byte(id), err) {
						continue // popped, not handed out: never run
					}
					if err != nil {
						return err
					}
					b = j.Clone()
				}
				if j == nil {
					j = b.Clone()
				}
				kept = append(kept, r)
				ids, base = append(ids, id), append(base, b)
				stampClaim(j, c.p.Owner, c.p.Now)
				j.State, j.PausedFrom = model.Running, ""
				out = append(out, j)
			}
			c.out = out
			if len(kept) > 0 {
				q.lane = append(q.lane, &laneClaim{req: c, picks: kept, ids: ids, base: base, done: c.done})
				q.laneClaims.Add(1)
			}
			return nil
		})
		if err != nil {
			// Put back what was taken; the claim fails, nothing handed out.
			x.mu.Lock()
			for _, e := range popped {
				x.push(e, c.p.Now.UnixNano())
			}
			x.mu.Unlock()
			c.done <- err
			continue
		}
		q.lanePopped = append(q.lanePopped, popped...)
		c.p.Applied(c.out)
		if len(c.out) == 0 {
			c.done <- nil
		}
	}
}
