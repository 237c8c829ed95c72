package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

func checkFinishes(fs []backend.Finish) error {
	for _, f := range fs {
		if f.ID == "" || f.Owner == "" {
			return invalid("finish: a finish without a job id or owner")
		}
		switch f.State {
		case model.Completed, model.Failed, model.Canceled, model.Queued:
		default:
			return invalid("finish %s: state %q (want completed, failed, canceled or queued)", f.ID, f.State)
		}
	}
	return nil
}

func checkProgress(ps []backend.ProgressUpdate) error {
	for _, p := range ps {
		if p.ID == "" || p.Owner == "" {
			return invalid("progress: an update without a job id or owner")
		}
	}
	return nil
}

// Finish ends attempts in one transaction, with the cascades they
// decide; see backend.Writer.
func (s *Store) Finish(ctx context.Context, fs []backend.Finish) (backend.Changes, error) {
	if len(fs) == 0 {
		return backend.Changes{}, invalid("finish: nothing to finish")
	}
	if err := checkFinishes(fs); err != nil {
		return backend.Changes{}, err
	}
	var out backend.Changes
	err := s.write(ctx, func(w *wtx) error {
		if err := w.finish(fs); err != nil {
			return err
		}
		var err error
		out, err = w.changes()
		return err
	})
	return out, err
}

// Step finishes, records progress and claims in one transaction; see
// backend.Writer.
func (s *Store) Step(ctx context.Context, p backend.StepParams) (backend.StepResult, error) {
	if err := checkFinishes(p.Finish); err != nil {
		return backend.StepResult{}, err
	}
	if err := checkProgress(p.Progress); err != nil {
		return backend.StepResult{}, err
	}
	if p.Claim.Limit > 0 {
		if err := checkClaim(p.Claim); err != nil {
			return backend.StepResult{}, err
		}
		p.Claim.Now = stamp(p.Claim.Now)
	}
	var out backend.StepResult
	err := s.write(ctx, func(w *wtx) error {
		out = backend.StepResult{}
		if len(p.Finish) > 0 {
			if err := w.finish(p.Finish); err != nil {
				return err
			}
			var err error
			if out.Changes, err = w.changes(); err != nil {
				return err
			}
		}
		if err := w.progress(p.Progress); err != nil {
			return err
		}
		if p.Claim.Limit > 0 {
			var err error
			out.Claimed, err = w.claim(p.Claim)
			return err
		}
		return nil
	})
	return out, err
}

// finish applies a batch of finishes, then settles the cascade of all
// of them, stamped with the batch's latest end. The finishes are applied
// by finishSQL, one statement for the batch; a batch naming one job
// more than once is applied in rounds (the first finish of each job,
// then the second...), so that each finish meets the guard its
// predecessor left, as if applied one by one.
func (w *wtx) finish(fs []backend.Finish) error {
	fs = toMicros(fs)
	var last time.Time
	round := make([]int, len(fs))
	seen := map[string]int{}
	rounds := 0
	for i, f := range fs {
		if f.At.After(last) {
			last = f.At
		}
		round[i] = seen[f.ID]
		seen[f.ID]++
		rounds = max(rounds, round[i]+1)
	}
	ended := make([]*ended, len(fs))
	for r := range rounds {
		var idx []int
		for i := range fs {
			if round[i] == r {
				idx = append(idx, i)
			}
		}
		if err := w.finishRound(fs, idx, ended); err != nil {
			return err
		}
	}
	for i, e := range ended {
		if e == nil {
			w.c.skipped = append(w.c.skipped, fs[i].ID)
			continue
		}
		prev := model.Running
		if e.paused {
			prev = model.Paused
		}
		w.c.jobID(e.row.ID, prev)
		w.c.keep(e.row)
		w.c.group(e.row.Group)
		switch {
		case model.State(e.outcome).Terminal():
			w.c.cascade = append(w.c.cascade, e.row.ID)
		case e.row.State == model.Queued:
			w.notify = true
		}
	}
	return w.settle(last)
}

// toMicros is fs with its times cut to the microsecond, the columns'
// precision: an end is written both as a column (finished_at, and the
// queued_at of what it releases) and as text in the attempt record, and
// the two must agree, or the next member of a sequential group, started
// at its queued time, would seem to start before the end it waited for
// (by the nanoseconds the column dropped).
func toMicros(fs []backend.Finish) []backend.Finish {
	out := make([]backend.Finish, len(fs))
	for i, f := range fs {
		f.At, f.RetryAt = f.At.Truncate(time.Microsecond), f.RetryAt.Truncate(time.Microsecond)
		out[i] = f
	}
	return out
}

// ended is what finishSQL did to one job.
type ended struct {
	row     *model.Job // the job's row as the finish left it
	outcome string     // the attempt's outcome
	paused  bool       // it was paused (while running) before
}

// finishSQL applies a batch of finishes (given as arrays, one entry per
// finish, no job twice) in one statement. g locks, in id order, the jobs
// whose guard holds (running or paused while running, this owner, this
// attempt) and decides each outcome: a cancel requested before the
// finish wins over a retry or a failure. A retry of a job paused while
// running stays paused (resume queues it); any other retry is queued,
// taking the next ready orders in the batch's order (seq). The last
// attempt record is closed with the end and its error.
const finishSQL = `
WITH f AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
		$9::text[], $10::int[]) AS f(id, owner, attempt, state, retry_at, result, error, at, progress, ord)
),
g AS MATERIALIZED (
	SELECT j.id, f.ord,
		CASE WHEN j.cancel_requested AND f.state IN ('queued', 'failed') THEN 'canceled' ELSE f.state END AS outcome,
		j.state = 'paused' AS paused
	FROM jobs j JOIN f ON f.id = j.id
	WHERE j.owner = f.owner AND j.attempt = f.attempt
		AND (j.state = 'running' OR (j.state = 'paused' AND j.paused_from = 'running'))
	ORDER BY j.id FOR UPDATE OF j
),
o AS (
	SELECT g.*, g.outcome = 'queued' AND NOT g.paused AS requeued, g.outcome = 'queued' AND g.paused AS stays_paused FROM g
),
seq AS (
	SELECT x.id, nextval('job_ready_seq') AS seq FROM (SELECT id FROM o WHERE requeued ORDER BY ord) x
)
UPDATE jobs j SET
	state = CASE WHEN o.stays_paused THEN 'paused' ELSE o.outcome END,
	paused_from = CASE WHEN o.stays_paused THEN 'queued' END,
	owner = NULL,
	cancel_requested = false,
	result = CASE WHEN o.outcome = 'completed' THEN f.result::jsonb ELSE j.result END,
	error = CASE o.outcome
		WHEN 'completed' THEN NULL
		WHEN 'canceled' THEN CASE WHEN j.cancel_requested AND j.error IS NOT NULL THEN j.error ELSE f.error::jsonb END
		ELSE f.error::jsonb END,
	progress = CASE WHEN o.outcome = 'completed'
		THEN jsonb_set(coalesce(f.progress::jsonb, j.progress, '{}'), '{fraction}', '1')
		ELSE coalesce(f.progress::jsonb, j.progress) END,
	run_at = CASE WHEN o.outcome = 'queued' THEN f.retry_at::timestamptz ELSE j.run_at END,
	queued_at = CASE WHEN o.requeued THEN f.at::timestamptz ELSE j.queued_at END,
	finished_at = CASE WHEN o.outcome IN ('completed', 'failed', 'canceled') THEN f.at::timestamptz END,
	ready_seq = coalesce(s.seq, j.ready_seq),
	attempts = CASE WHEN (j.attempts->-1->>'attempt')::int = j.attempt
		THEN jsonb_set(j.attempts, ARRAY[(jsonb_array_length(j.attempts) - 1)::text],
			((j.attempts->-1) - 'error' - 'finished_at') || jsonb_build_object('finished_at', f.at)
				|| CASE WHEN f.error IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('error', f.error::jsonb) END)
		ELSE j.attempts END
FROM o JOIN f ON f.ord = o.ord LEFT JOIN seq s ON s.id = o.id
WHERE j.id = o.id
RETURNING ` + jobCols + `, o.outcome, o.paused, o.ord`

// finishRound applies the finishes fs[idx...] (no job twice) and records
// in out, by index, what each did.
func (w *wtx) finishRound(fs []backend.Finish, idx []int, out []*ended) error {
	n := len(idx)
	var (
		ids, owners, states, ats = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		retryAt, results, errs   = make([]*string, n), make([]*string, n), make([]*string, n)
		progress                 = make([]*string, n)
		attempts, ords           = make([]int32, n), make([]int32, n)
	)
	for k, i := range idx {
		f := fs[i]
		ids[k], owners[k], states[k], attempts[k], ords[k] = f.ID, f.Owner, string(f.State), int32(f.Attempt), int32(i)
		ats[k] = f.At.UTC().Format(time.RFC3339Nano)
		if !f.RetryAt.IsZero() {
			retryAt[k] = ptr(f.RetryAt.UTC().Format(time.RFC3339Nano))
		}
		if len(f.Result) > 0 {
			results[k] = ptr(string(f.Result))
		}
		if f.Error != nil {
			errs[k] = jsonText(f.Error)
		}
		if f.Progress != nil {
			progress[k] = jsonText(f.Progress)
		}
	}
	rows, err := w.tx.Query(w.ctx, finishSQL, ids, owners, attempts, states, retryAt, results, errs, ats, progress, ords)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e ended
		var ord int32
		row, err := scanJob(rows, &e.outcome, &e.paused, &ord)
		if err != nil {
			return err
		}
		e.row = row
		out[ord] = &e
	}
	return rows.Err()
}

func ptr[T any](v T) *T { return &v }

// jsonText encodes v as JSON text, for a text[] parameter cast to jsonb.
func jsonText(v any) *string {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return ptr(string(b))
}

func cloneErr(e *model.JobError) *model.JobError {
	if e == nil {
		return nil
	}
	c := *e
	return &c
}

// Progress records the progress of running attempts, guarded like
// Finish; see backend.Writer.
func (s *Store) Progress(ctx context.Context, ps []backend.ProgressUpdate) error {
	if err := checkProgress(ps); err != nil {
		return err
	}
	if len(ps) == 0 {
		return nil
	}
	return s.write(ctx, func(w *wtx) error { return w.progress(ps) })
}

// progress applies the updates in order, each guarded by running, owner
// and attempt, in one round trip.
func (w *wtx) progress(ps []backend.ProgressUpdate) error {
	if len(ps) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, p := range ps {
		b.Queue(`UPDATE jobs SET progress = $4 WHERE id = $1 AND owner = $2 AND attempt = $3
			AND (state = 'running' OR (state = 'paused' AND paused_from = 'running'))`,
			p.ID, p.Owner, p.Attempt, jsonOf(p.Progress))
	}
	return w.tx.SendBatch(w.ctx, b).Close()
}
