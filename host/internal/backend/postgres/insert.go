package postgres

import (
	"context"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// checkJob refuses, before any statement, a new job record no store
// could take.
func checkJob(i int, j *model.Job) error {
	if j == nil || j.ID == "" {
		return invalid("job %d has no id", i+1)
	}
	if j.Task == "" {
		return invalid("job %s has no task", j.ID)
	}
	seen := map[string]bool{}
	for _, d := range j.DependsOn {
		if d.ID == "" {
			return invalid("job %s has a dependency without an id", j.ID)
		}
		if d.Policy != model.DepCancel && d.Policy != model.DepIgnore {
			return invalid("job %s: dependency %s has policy %q (want cancel or ignore)", j.ID, d.ID, d.Policy)
		}
		if seen[d.ID] {
			return invalid("job %s lists dependency %s twice", j.ID, d.ID)
		}
		seen[d.ID] = true
	}
	return nil
}

// Insert stores new jobs and groups and places each job; see
// backend.Writer.
func (s *Store) Insert(ctx context.Context, p backend.InsertParams) (backend.InsertResult, error) {
	var out backend.InsertResult
	if len(p.Jobs) == 0 && len(p.Groups) == 0 {
		return out, invalid("insert: no jobs and no groups")
	}
	for i, g := range p.Groups {
		if g == nil || g.ID == "" {
			return out, invalid("insert: group %d has no id", i+1)
		}
	}
	for i, j := range p.Jobs {
		if err := checkJob(i, j); err != nil {
			return out, err
		}
	}
	if p.Claim != nil {
		if err := checkClaim(*p.Claim); err != nil {
			return out, err
		}
		c := *p.Claim
		c.Now = stamp(c.Now)
		p.Claim = &c
	}
	p.Now = stamp(p.Now)
	err := s.write(ctx, func(w *wtx) error {
		out = backend.InsertResult{}
		ins, err := w.insert(p)
		if err != nil {
			return err
		}
		out.Jobs = ins
		if p.Claim != nil {
			if out.Claimed, err = w.claim(*p.Claim); err != nil {
				return err
			}
		}
		out.Groups, err = groupsByID(w.ctx, w.tx, w.c.groups)
		return err
	})
	if err == nil {
		s.grew(len(out.Jobs))
	}
	return out, err
}

func (w *wtx) insert(p backend.InsertParams) ([]backend.Inserted, error) {
	for _, g := range p.Groups {
		tag, err := w.tx.Exec(w.ctx, `INSERT INTO groups (id, name, sequential, cancel_on_failure, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`, g.ID, g.Name, g.Sequential, g.CancelOnFailure, g.CreatedAt)
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 0 {
			return nil, conflict("group %s already exists", g.ID)
		}
		w.c.group(g.ID)
	}
	stored, err := w.storedOf(p.Jobs)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(p.Jobs))
	existing := make([]bool, len(p.Jobs))
	for i, in := range p.Jobs {
		id, found, err := w.insertOne(in, p.Now, p.Hold, stored)
		if err != nil {
			return nil, err
		}
		ids[i], existing[i] = id, found
	}
	if err := w.flushRows(); err != nil {
		return nil, err
	}
	if err := w.checkRoomAfter(p.MaxQueued); err != nil {
		return nil, err
	}
	var read []string
	byID := make(map[string]*model.Job, len(ids))
	for i, id := range ids {
		if j := w.built[id]; j != nil && !existing[i] {
			byID[id] = j
		} else {
			read = append(read, id)
		}
	}
	js, err := jobsByID(w.ctx, w.tx, read)
	if err != nil {
		return nil, err
	}
	for _, j := range js {
		byID[j.ID] = j
	}
	out := make([]backend.Inserted, len(ids))
	for i, id := range ids {
		out[i] = backend.Inserted{Job: byID[id], Existing: existing[i]}
	}
	return out, nil
}

// insertOne stores one new job and places it, answering its id; or the
// id of the job already stored under its key. stored holds which of the
// call's ids and dependencies are stored; the job is added to it.
// Concurrent inserts of one key are serialized by an advisory lock on
// the key, so that one of them inserts and the others find its job.
func (w *wtx) insertOne(in *model.Job, now time.Time, hold bool, stored map[string]bool) (id string, existing bool, err error) {
	if in.Key != "" || in.Group != "" || len(in.DependsOn) > 0 {
		// It reads what earlier jobs of the call stored: send them.
		if err := w.flushRows(); err != nil {
			return "", false, err
		}
	}
	if in.Key != "" {
		if _, err := w.tx.Exec(w.ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "key:"+in.Key); err != nil {
			return "", false, err
		}
		err := w.tx.QueryRow(w.ctx, "SELECT id FROM jobs WHERE key = $1", in.Key).Scan(&id)
		if err == nil {
			return id, true, nil
		}
		if !isNoRows(err) {
			return "", false, err
		}
	}
	if stored[in.ID] {
		return "", false, conflict("job %s already exists", in.ID)
	}
	for _, d := range in.DependsOn {
		if !stored[d.ID] {
			return "", false, notFound("job %s: dependency %s not found", in.ID, d.ID)
		}
	}
	j := in.Clone()
	j.State, j.QueuedAt, j.FinishedAt, j.PausedFrom = "", time.Time{}, time.Time{}, ""
	pos := 0
	if j.Group != "" {
		h, err := w.lockGroup(j.Group)
		if err != nil {
			return "", false, err
		}
		if h == nil {
			return "", false, notFound("job %s: group %s not found", j.ID, j.Group)
		}
		if pos, err = w.join(h, j); err != nil {
			return "", false, err
		}
	}
	to, at := model.Created, now
	if !hold {
		if to, at, err = w.placement(j, now); err != nil {
			return "", false, err
		}
	}
	w.place(j, to, at)
	if to == model.Queued {
		w.queuedNew++
	}
	stored[j.ID] = true
	if j.Key == "" && j.Group == "" && len(j.DependsOn) == 0 {
		w.queueRow(j, to == model.Queued)
		return j.ID, false, nil
	}
	if err := w.insertRow(j, pos, to == model.Queued); err != nil {
		return "", false, err
	}
	return j.ID, false, w.insertEdges(j, 0)
}

// storedOf answers which of the jobs' ids and dependencies are stored,
// in one query: the jobs are then checked one by one (a job already
// stored, a dependency that is not) in the order the port gives them,
// those inserted earlier in the call counting as stored.
func (w *wtx) storedOf(js []*model.Job) (map[string]bool, error) {
	var ids []string
	for _, j := range js {
		ids = append(ids, j.ID)
		for _, d := range j.DependsOn {
			ids = append(ids, d.ID)
		}
	}
	var got []string
	if err := collect(w.ctx, w.tx, &got, "SELECT id FROM jobs WHERE id = ANY($1)", forValues(manyValues, ids)...); err != nil {
		return nil, err
	}
	stored := make(map[string]bool, len(got))
	for _, id := range got {
		stored[id] = true
	}
	return stored, nil
}

// depsStored checks that every dependency is stored, naming the first
// that is not.
func (w *wtx) depsStored(id string, ds []model.Dep) error {
	if len(ds) == 0 {
		return nil
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	rows, err := w.tx.Query(w.ctx, "SELECT id FROM jobs WHERE id = ANY($1)", forValues(len(ids), ids)...)
	if err != nil {
		return err
	}
	found := map[string]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		found[s] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, d := range ds {
		if !found[d.ID] {
			return notFound("job %s: dependency %s not found", id, d.ID)
		}
	}
	return nil
}

// queued answers the number of queued jobs when a queue limit is to be
// checked: the sum the triggers of migration 0006 keep.
func (w *wtx) queued(max int) (int, error) {
	if max <= 0 {
		return 0, nil
	}
	var n int
	err := w.tx.QueryRow(w.ctx, "SELECT coalesce(sum(queued), 0) FROM queue_counts").Scan(&n)
	return n, err
}

// checkRoomAfter refuses an insert that grew the queue past max, from
// one count taken after it: the insert queued w.queuedNew jobs and
// released none, so the queue held that many fewer before.
func (w *wtx) checkRoomAfter(max int) error {
	if max <= 0 || w.queuedNew == 0 {
		return nil
	}
	after, err := w.queued(max)
	if err != nil {
		return err
	}
	if after > max {
		return storeErr(backend.ErrFull, "queue is full: %d queued, limit %d (MaxQueueSize)", after-w.queuedNew, max)
	}
	return nil
}

// checkRoom refuses a write that grew the queue past max.
func (w *wtx) checkRoom(max, before int) error {
	if max <= 0 {
		return nil
	}
	after, err := w.queued(max)
	if err != nil {
		return err
	}
	if after > before && after > max {
		return storeErr(backend.ErrFull, "queue is full: %d queued, limit %d (MaxQueueSize)", before, max)
	}
	return nil
}
