package postgres

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batchhost/batchhost/host/internal/deps"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

// terminalStates is the SQL list of the finished states.
const terminalStates = `('completed', 'failed', 'canceled')`

// readiness judges j's dependencies, locking each FOR SHARE: a
// dependency that is finishing concurrently either commits first (and
// this transaction sees its end) or waits for this one (and its cascade
// then sees j as this transaction leaves it). It answers the error of
// the first dependency, in DependsOn order, that cancels j, and whether
// any is unfinished, and when the last of those finished finished. A
// dependency no longer stored was pruned after it finished: it blocks
// nothing.
func (w *wtx) readiness(j *model.Job) (*model.JobError, bool, time.Time, error) {
	var after time.Time
	if len(j.DependsOn) == 0 {
		return nil, false, after, nil
	}
	ids := make([]string, len(j.DependsOn))
	for i, d := range j.DependsOn {
		ids[i] = d.ID
	}
	rows, err := w.tx.Query(w.ctx, "SELECT id, state, finished_at FROM jobs WHERE id = ANY($1) ORDER BY id FOR SHARE", forValues(len(ids), ids)...)
	if err != nil {
		return nil, false, after, err
	}
	states := map[string]model.State{}
	for rows.Next() {
		var id, st string
		var done *time.Time
		if err := rows.Scan(&id, &st, &done); err != nil {
			rows.Close()
			return nil, false, after, err
		}
		states[id] = model.State(st)
		if done != nil {
			after = model.Later(after, *done)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, false, after, err
	}
	edges := make([]deps.Edge, len(j.DependsOn))
	for i, d := range j.DependsOn {
		edges[i] = deps.Edge{Dep: d.ID, Policy: d.Policy, State: states[d.ID]}
	}
	r := deps.Assess(edges)
	return r.Cancel, r.Unfinished > 0, after, nil
}

// enqueue places a job entering the queue (submitted, resumed,
// retried): canceled if a dependency ended badly under the cancel policy,
// waiting while one is unfinished, else queued.
func (w *wtx) enqueue(j *model.Job, now time.Time) error {
	to, at, err := w.placement(j, now)
	if err != nil {
		return err
	}
	return w.setState(j, to, at)
}

// placement is where a job entering the queue at now belongs, and the
// time to stamp it with; a job to cancel has its error set. A queued job
// is stamped no earlier than its last dependency finished: now was taken
// before this transaction, and a dependency's finish committed in
// between (on this host or another) may carry a later time.
func (w *wtx) placement(j *model.Job, now time.Time) (model.State, time.Time, error) {
	cancel, pending, after, err := w.readiness(j)
	switch {
	case err != nil:
		return "", now, err
	case cancel != nil:
		j.Error = cancel
		return model.Canceled, now, nil
	case pending:
		return model.Waiting, now, nil
	}
	return model.Queued, model.Later(now, after), nil
}

// cancel ends an unfinished job with why; a running attempt is asked to
// stop instead (it ends through Finish).
func (w *wtx) cancel(j *model.Job, why *model.JobError, now time.Time) error {
	if runs(j) {
		if j.CancelRequested {
			return nil
		}
		j.CancelRequested = true
		j.Error = why
		w.c.stop = append(w.c.stop, j.ID)
		w.notify = true
		return w.save(j, false)
	}
	j.Error = why
	return w.setState(j, model.Canceled, now)
}

// settle resolves the cascade breadth first, in this transaction: each
// finished job's unfinished dependents (in id order) are canceled or
// released, then a failed member of a cancel-on-failure group cancels
// the group's other unfinished members (in add order). What each
// finished job of a wave decides is read by settleInfoSQL, so that the
// common end (no dependent waits, no group to cancel) costs no statement
// of its own.
func (w *wtx) settle(now time.Time) error {
	for len(w.c.cascade) > 0 {
		wave := w.c.cascade
		w.c.cascade = nil
		info, err := w.settleInfo(wave)
		if err != nil {
			return err
		}
		for i, id := range wave {
			f := info[i]
			if !f.state.Terminal() { // gone, or not finished after all
				continue
			}
			if f.dependents {
				if err := w.settleDependents(id, f.state, now); err != nil {
					return err
				}
			}
			if f.cancelsGroup {
				if err := w.cancelGroup(f.group, id, now); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// settleInfoSQL reads what a finished job decides: its state, its group,
// whether it cancels that group, and whether a dependent waits on it. It
// is a statement apart from the finish that ended the job, with a
// snapshot of its own, so that it sees a dependent whose insert
// committed while the finish waited for the job's row lock. It names one
// job ($1), not an array of them: the server then plans it once per
// connection (a generic plan), where an array parameter made it plan
// the statement again at every finish, in about ten times its execution
// time.
const settleInfoSQL = `SELECT j.state, coalesce(j.group_id, ''),
	j.state = 'failed' AND coalesce((SELECT g.cancel_on_failure FROM groups g WHERE g.id = j.group_id), false),
	EXISTS (SELECT 1 FROM deps e JOIN jobs d ON d.id = e.job_id
		WHERE e.dep_id = j.id AND d.state NOT IN ` + terminalStates + ` AND d.state <> 'created')
FROM jobs j WHERE j.id = $1`

// finishedInfo is what settleInfoSQL read of one finished job; a job not
// found has no state.
type finishedInfo struct {
	state        model.State
	group        string
	cancelsGroup bool
	dependents   bool
}

// settleInfo reads settleInfoSQL for each job of a wave, in one round
// trip, in the wave's order.
func (w *wtx) settleInfo(wave []string) ([]finishedInfo, error) {
	b := &pgx.Batch{}
	for _, id := range wave {
		b.Queue(settleInfoSQL, id)
	}
	br := w.tx.SendBatch(w.ctx, b)
	out := make([]finishedInfo, len(wave))
	for i := range wave {
		f := &out[i]
		var st string
		err := br.QueryRow().Scan(&st, &f.group, &f.cancelsGroup, &f.dependents)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			br.Close()
			return nil, err
		}
		f.state = model.State(st)
	}
	return out, br.Close()
}

// cancelGroup cancels, in add order, the unfinished members of a
// cancel-on-failure group whose member failed failed (a running one is
// asked to stop).
func (w *wtx) cancelGroup(group, failed string, now time.Time) error {
	members, err := queryJobs(w.ctx, w.tx, "SELECT "+jobCols+` FROM jobs j
		WHERE j.group_id = $1 AND j.state NOT IN `+terminalStates+` ORDER BY j.group_pos FOR UPDATE`, group)
	if err != nil {
		return err
	}
	for _, m := range members {
		why := &model.JobError{Kind: errkind.Canceled, Message: fmt.Sprintf("canceled: group member %s failed", failed)}
		if err := w.cancel(m, why, now); err != nil {
			return err
		}
	}
	return nil
}

// settleDependents applies the end of dep, in state st, to its
// submitted, unfinished dependents.
func (w *wtx) settleDependents(dep string, st model.State, now time.Time) error {
	rows, err := w.tx.Query(w.ctx, "SELECT "+jobCols+`, e.policy FROM deps e JOIN jobs j ON j.id = e.job_id
		WHERE e.dep_id = $1 AND j.state NOT IN `+terminalStates+` AND j.state <> 'created' ORDER BY j.id FOR UPDATE OF j`, dep)
	if err != nil {
		return err
	}
	type dependent struct {
		j      *model.Job
		policy model.DepPolicy
	}
	var ds []dependent
	for rows.Next() {
		var policy string
		j, err := scanJob(rows, &policy)
		if err != nil {
			rows.Close()
			return err
		}
		ds = append(ds, dependent{j, model.DepPolicy(policy)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, d := range ds {
		switch deps.Judge(st, d.policy) {
		case deps.Cancel:
			if err := w.cancel(d.j, deps.FailedError(dep, st), now); err != nil {
				return err
			}
		case deps.Satisfied:
			if d.j.State != model.Waiting {
				continue
			}
			cancel, pending, after, err := w.readiness(d.j)
			if err != nil {
				return err
			}
			if cancel == nil && !pending {
				if err := w.setState(d.j, model.Queued, model.Later(now, after)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// retry runs a failed or canceled job again with a fresh attempt budget,
// and re-arms, transitively, the jobs its end canceled (those whose
// dependency_failed error names it).
func (w *wtx) retry(j *model.Job, now time.Time) error {
	if err := w.requeue(j, now); err != nil {
		return err
	}
	for work := []string{j.ID}; len(work) > 0; {
		dep := work[0]
		work = work[1:]
		ds, err := queryJobs(w.ctx, w.tx, "SELECT "+jobCols+` FROM deps e JOIN jobs j ON j.id = e.job_id
			WHERE e.dep_id = $1 AND j.state = 'canceled' AND j.error->>'kind' = $2 AND j.error->>'dependency' = $1
			ORDER BY j.id FOR UPDATE OF j`, dep, string(errkind.DependencyFailed))
		if err != nil {
			return err
		}
		for _, dj := range ds {
			if !deps.CanceledBy(dj, dep) {
				continue
			}
			if err := w.requeue(dj, now); err != nil {
				return err
			}
			work = append(work, dj.ID)
		}
	}
	return nil
}

// requeue gives a finished job a fresh attempt budget and places it.
func (w *wtx) requeue(j *model.Job, now time.Time) error {
	j.AttemptBase = j.Attempt
	j.CancelRequested = false
	j.Result = nil
	j.Error = nil
	j.RunAt = time.Time{}
	j.Owner = ""
	return w.enqueue(j, now)
}
