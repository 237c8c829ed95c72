package store

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/batchhost/batchhost/host/internal/model"
)

// apply writes a group of batches into tx, in order, keeping every index in
// step with the job records. It returns the number of job records written.
//
// Several puts of one job id in the group (queued, then running, then
// completed, all within one commit) are folded: only the last is written,
// and the indexes move straight from the state before the transaction to
// the last one.
func (s *Store) apply(tx *bolt.Tx, batches []*Batch) (int, error) {
	bk := openBuckets(tx)
	cnt, err := decodeCounts(bk.meta.Get(countsKey))
	if err != nil {
		return 0, newError(ErrCorrupt, err, fmt.Sprintf("data file %s: %v", s.path, err))
	}
	before := cnt

	last := make(map[string]*jobPut)
	var order []*jobPut
	for _, b := range batches {
		for i := range b.jobs {
			p := &b.jobs[i]
			if _, seen := last[p.id]; !seen {
				order = append(order, p)
			}
			last[p.id] = p
		}
	}
	for _, first := range order {
		if err := s.putJob(bk, &cnt, last[first.id]); err != nil {
			return 0, err
		}
	}

	for _, b := range batches {
		for _, g := range b.groups {
			if err := putGroup(bk, g); err != nil {
				return 0, err
			}
		}
		for _, m := range b.members {
			if err := s.putMember(bk, m); err != nil {
				return 0, err
			}
		}
		for _, e := range b.edges {
			if err := bk.edges.Put(edgeKey(e.dep, e.dependent), []byte(e.policy)); err != nil {
				return 0, fmt.Errorf("put edge %s -> %s: %w", e.dep, e.dependent, err)
			}
		}
		for _, sc := range b.schedules {
			var err error
			if sc.data == nil {
				err = bk.schedules.Delete([]byte(sc.id))
			} else {
				err = bk.schedules.Put([]byte(sc.id), sc.data)
			}
			if err != nil {
				return 0, fmt.Errorf("write schedule %s: %w", sc.id, err)
			}
		}
	}

	if cnt != before {
		if err := bk.meta.Put(countsKey, cnt.encode()); err != nil {
			return 0, fmt.Errorf("put counts: %w", err)
		}
	}
	return len(order), nil
}

// buckets holds a transaction's buckets, looked up once.
type buckets struct {
	meta, jobs, live, finished, keys, groups, open, members, memberOf, edges, schedules *bolt.Bucket
}

func openBuckets(tx *bolt.Tx) buckets {
	bk := buckets{
		meta: tx.Bucket(bMeta), jobs: tx.Bucket(bJobs), live: tx.Bucket(bLive),
		finished: tx.Bucket(bFinished), keys: tx.Bucket(bKeys), groups: tx.Bucket(bGroups),
		open: tx.Bucket(bOpen), members: tx.Bucket(bMembers), memberOf: tx.Bucket(bMemberOf),
		schedules: tx.Bucket(bSchedules),
		edges:     tx.Bucket(bEdges),
	}
	if tx.Writable() {
		// Job ids (UUIDv7) and finish keys grow with time, so these
		// buckets are written at their end: a page split at bbolt's
		// default half leaves every page half empty for good. Fuller
		// pages make the file, and what a start-up reads, smaller.
		for _, b := range []*bolt.Bucket{bk.jobs, bk.live, bk.finished} {
			if b != nil {
				b.FillPercent = appendFill
			}
		}
	}
	return bk
}

// appendFill is the fill of a page split in a bucket written at its end.
const appendFill = 0.9

// putJob writes one job record and moves it between indexes. The previous
// state comes from the live index (cheap, the common case), or, for a job
// that is stored but not live (a terminal job retried or rewritten), from a
// partial decode of its record; a job in neither is new.
func (s *Store) putJob(bk buckets, cnt *counts, p *jobPut) error {
	id := []byte(p.id)
	var (
		prevState    model.State
		prevFinished time.Time
		prevTerminal bool
		inLive       bool
	)
	if v := bk.live.Get(id); v != nil {
		prevState, inLive = liveState(v), true
	} else if old := bk.jobs.Get(id); old != nil {
		h, err := s.decodeHead(id, old)
		if err != nil {
			return err
		}
		prevState, prevFinished, prevTerminal = h.State, h.FinishedAt, true
		if !h.State.Terminal() {
			// Stored live but missing from the live index: an inconsistency
			// this write repairs.
			s.log.Warn("job missing from live index", "job", p.id, "state", h.State)
			prevTerminal = false
		}
	}

	data, fin := p.data, p.finished
	if p.state.Terminal() && fin.IsZero() {
		// The engine sets FinishedAt on every terminal job. If it did not,
		// record the job as finished now, in the record and the index
		// alike, rather than never (it could not be pruned).
		fin = s.opts.Now()
		s.log.Warn("terminal job without finished_at; recorded as finished now", "job", p.id)
		var err error
		if data, err = s.withFinishedAt(id, p.data, fin); err != nil {
			return fmt.Errorf("put job %s: %w", p.id, err)
		}
	}
	if err := bk.jobs.Put(id, data); err != nil {
		return fmt.Errorf("put job %s: %w", p.id, err)
	}
	if prevState != "" {
		cnt.add(prevState, -1)
	}
	cnt.add(p.state, 1)

	if p.state.Live() {
		if !inLive || prevState != p.state {
			if err := bk.live.Put(id, []byte(p.state)); err != nil {
				return fmt.Errorf("index live job %s: %w", p.id, err)
			}
		}
		if prevTerminal {
			if err := bk.finished.Delete(finishedKey(prevFinished, p.id)); err != nil {
				return fmt.Errorf("unindex finished job %s: %w", p.id, err)
			}
		}
	} else {
		if inLive {
			if err := bk.live.Delete(id); err != nil {
				return fmt.Errorf("unindex live job %s: %w", p.id, err)
			}
		}
		if prevTerminal && !prevFinished.Equal(fin) {
			if err := bk.finished.Delete(finishedKey(prevFinished, p.id)); err != nil {
				return fmt.Errorf("unindex finished job %s: %w", p.id, err)
			}
		}
		if err := bk.finished.Put(finishedKey(fin, p.id), nil); err != nil {
			return fmt.Errorf("index finished job %s: %w", p.id, err)
		}
	}

	if p.key != "" {
		switch owner := bk.keys.Get([]byte(p.key)); {
		case owner == nil:
			if err := bk.keys.Put([]byte(p.key), id); err != nil {
				return fmt.Errorf("index key of job %s: %w", p.id, err)
			}
		case !bytes.Equal(owner, id):
			s.log.Warn("idempotency key already held by another job; kept the first", "key", p.key, "job", p.id, "holder", string(owner))
		}
	}
	return nil
}

func putGroup(bk buckets, g groupPut) error {
	id := []byte(g.id)
	if err := bk.groups.Put(id, g.data); err != nil {
		return fmt.Errorf("put group %s: %w", g.id, err)
	}
	var err error
	if g.done {
		err = bk.open.Delete(id)
	} else if bk.open.Get(id) == nil {
		err = bk.open.Put(id, nil)
	}
	if err != nil {
		return fmt.Errorf("index group %s: %w", g.id, err)
	}
	return nil
}

func (s *Store) putMember(bk buckets, m memberPut) error {
	key := memberKey(m.group, m.pos)
	job := []byte(m.job)
	if prev := bytes.Clone(bk.memberOf.Get(job)); prev != nil && !bytes.Equal(prev, key) {
		// A job belongs to at most one group, at one position: the newer
		// membership replaces the older.
		s.log.Warn("job re-added to a group; replacing its old membership", "job", m.job, "group", m.group)
		if err := bk.members.Delete(prev); err != nil {
			return fmt.Errorf("drop old membership of job %s: %w", m.job, err)
		}
	}
	if displaced := bytes.Clone(bk.members.Get(key)); displaced != nil && !bytes.Equal(displaced, job) {
		s.log.Warn("group position reused; replacing its member", "group", m.group, "pos", m.pos, "job", m.job)
		if err := bk.memberOf.Delete(displaced); err != nil {
			return fmt.Errorf("drop displaced member of group %s: %w", m.group, err)
		}
	}
	if err := bk.members.Put(key, job); err != nil {
		return fmt.Errorf("add member %s to group %s: %w", m.job, m.group, err)
	}
	if err := bk.memberOf.Put(job, key); err != nil {
		return fmt.Errorf("add member %s to group %s: %w", m.job, m.group, err)
	}
	return nil
}
