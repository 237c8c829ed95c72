package postgres

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// wtx is one write transaction and what it changed so far. Its helpers
// write each change through at once, so that every later statement of
// the transaction reads the rows as they now are.
type wtx struct {
	ctx context.Context
	tx  pgx.Tx
	c   *change
	// notify: the transaction made work claimable or asked something of
	// a running attempt; the other hosts are notified with the commit.
	notify bool
	// rowIDs and rowArgs are new jobs' rows not sent yet (queueRow).
	rowIDs  []string
	rowArgs []any
	// built holds the jobs queueRow stored as they are in memory: the
	// insert answers them without reading their rows back.
	built map[string]*model.Job
	// queuedNew counts the jobs an insert queued, for its queue limit.
	queuedNew int
}

// change collects what one write changed, for its answer.
type change struct {
	jobs    []string // in the order they changed
	groups  []string
	stop    []string
	skipped []string
	cascade []string // jobs that finished, whose dependents and group are not settled yet
	prev    map[string]model.State
	// rows are changed jobs' rows as a statement returned them, kept so
	// that the answer need not read them again; a later change of the
	// job (jobID) drops its row, and the answer reads that job instead.
	rows map[string]*model.Job
}

// job records that j changed; prev is its state before (the first call
// for a job in a write wins).
func (c *change) job(j *model.Job, prev model.State) {
	c.jobID(j.ID, prev)
	c.group(j.Group)
}

func (c *change) jobID(id string, prev model.State) {
	delete(c.rows, id)
	if _, seen := c.prev[id]; !seen { // prev holds every job of c.jobs: a set, not a scan
		c.jobs = append(c.jobs, id)
		if c.prev == nil {
			c.prev = map[string]model.State{}
		}
		c.prev[id] = prev
	}
}

// keep holds j, a changed job's row as the statement that changed it
// returned it, for the answer; call it after jobID.
func (c *change) keep(j *model.Job) {
	if c.rows == nil {
		c.rows = map[string]*model.Job{}
	}
	c.rows[j.ID] = j
}

func (c *change) group(id string) {
	if id != "" && !slices.Contains(c.groups, id) {
		c.groups = append(c.groups, id)
	}
}

// runs reports whether a job holds a running attempt.
func runs(j *model.Job) bool {
	return j.State == model.Running || (j.State == model.Paused && j.PausedFrom == model.Running)
}

// setState moves j to state to at now and stores it: a queued job takes
// the next ready order and QueuedAt now, a finished one FinishedAt now
// and joins the cascade.
func (w *wtx) setState(j *model.Job, to model.State, now time.Time) error {
	w.place(j, to, now)
	return w.save(j, to == model.Queued)
}

// place is setState on the record only, for a job not stored yet.
func (w *wtx) place(j *model.Job, to model.State, now time.Time) {
	from := j.State
	j.State = to
	if to != model.Paused {
		j.PausedFrom = ""
	}
	if to == model.Queued {
		j.QueuedAt = now
		w.notify = true
	}
	if to.Terminal() {
		j.FinishedAt = now
		w.c.cascade = append(w.c.cascade, j.ID)
	} else {
		j.FinishedAt = time.Time{}
	}
	w.c.job(j, from)
}

// changes reads back what the transaction changed, for its answer.
func (w *wtx) changes() (backend.Changes, error) {
	var out backend.Changes
	var err error
	if out.Jobs, err = w.changedJobs(); err != nil {
		return out, err
	}
	for _, j := range out.Jobs {
		out.Prev = append(out.Prev, w.c.prev[j.ID])
	}
	if out.Groups, err = groupsByID(w.ctx, w.tx, w.c.groups); err != nil {
		return out, err
	}
	if out.Stop, err = jobsByID(w.ctx, w.tx, w.c.stop); err != nil {
		return out, err
	}
	out.Skipped = w.c.skipped
	return out, nil
}

// changedJobs is the changed jobs in the order they changed: the rows
// kept as they are, the others read.
func (w *wtx) changedJobs() ([]*model.Job, error) {
	var read []string
	for _, id := range w.c.jobs {
		if w.c.rows[id] == nil {
			read = append(read, id)
		}
	}
	js, err := jobsByID(w.ctx, w.tx, read)
	if err != nil {
		return nil, err
	}
	byID := maps.Clone(w.c.rows)
	if byID == nil {
		byID = make(map[string]*model.Job, len(js))
	}
	for _, j := range js {
		byID[j.ID] = j
	}
	out := make([]*model.Job, 0, len(w.c.jobs))
	for _, id := range w.c.jobs {
		if j := byID[id]; j != nil {
			out = append(out, j)
		}
	}
	return out, nil
}

// stamp is the time a write stamps: the call's, as the port wants, or
// the clock's when the caller gave none; to the microsecond, the
// columns' precision, so that what a write also keeps as text (attempt
// records) says the same time as its columns.
func stamp(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Truncate(time.Microsecond)
}
