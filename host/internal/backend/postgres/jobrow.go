package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/batchhost/batchhost/host/internal/model"
)

// jobCols is the select list of a whole job record, DependsOn included,
// read from the jobs table under the alias j; scanJob reads it.
const jobCols = `j.id, j.task, j.args, j.priority, j.state, j.paused_from, j.group_id, j.key, j.labels, j.schedule_id,
	j.max_attempts, j.backoff, j.timeout_ns, j.stall_timeout_ns, j.run_at, j.attempt, j.attempt_base,
	j.cancel_requested, j.owner, j.result, j.error, j.progress, j.created_at, j.queued_at, j.started_at,
	j.finished_at, j.attempts, j.traceparent, j.tracestate, j.milli_cpu, j.memory_mb,
	(SELECT jsonb_agg(jsonb_build_object('id', d.dep_id, 'policy', d.policy) ORDER BY d.pos) FROM deps d WHERE d.job_id = j.id)`

// scanJob reads one row of jobCols (plus extra destinations after it).
func scanJob(row pgx.Row, extra ...any) (*model.Job, error) {
	var (
		j                                             model.Job
		pausedFrom, group, key, schedule, owner       *string
		traceParent, traceState                       *string
		args, labels, backoff, result, jerr, progress []byte
		attempts, dependsOn                           []byte
		runAt, queuedAt, startedAt, finishedAt        *time.Time
		priority                                      int16
		timeout, stall                                int64
	)
	dest := append([]any{&j.ID, &j.Task, &args, &priority, &j.State, &pausedFrom, &group, &key, &labels, &schedule,
		&j.MaxAttempts, &backoff, &timeout, &stall, &runAt, &j.Attempt, &j.AttemptBase,
		&j.CancelRequested, &owner, &result, &jerr, &progress, &j.CreatedAt, &queuedAt, &startedAt,
		&finishedAt, &attempts, &traceParent, &traceState, &j.Resources.MilliCPU, &j.Resources.MemoryMB, &dependsOn}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	j.Priority = model.Priority(priority)
	j.PausedFrom = model.State(deref(pausedFrom))
	j.Group, j.Key, j.Schedule, j.Owner = deref(group), deref(key), deref(schedule), deref(owner)
	j.Trace = model.TraceContext{Parent: deref(traceParent), State: deref(traceState)}
	j.Timeout, j.StallTimeout = time.Duration(timeout), time.Duration(stall)
	j.CreatedAt = j.CreatedAt.UTC()
	j.RunAt, j.QueuedAt, j.StartedAt, j.FinishedAt = derefTime(runAt), derefTime(queuedAt), derefTime(startedAt), derefTime(finishedAt)
	if len(args) > 0 {
		j.Args = compactJSON(args)
	}
	if len(result) > 0 {
		j.Result = compactJSON(result)
	}
	for _, f := range []struct {
		b []byte
		v any
	}{{labels, &j.Labels}, {backoff, &j.Backoff}, {jerr, &j.Error}, {progress, &j.Progress}, {attempts, &j.Attempts}, {dependsOn, &j.DependsOn}} {
		if len(f.b) == 0 {
			continue
		}
		if err := json.Unmarshal(f.b, f.v); err != nil {
			return nil, fmt.Errorf("job %s: stored record: %w", j.ID, err)
		}
	}
	return &j, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// nullStr stores "" as NULL.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// rawJSON stores empty JSON as NULL.
func rawJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
}

// jsonOf encodes a value for a jsonb column; nil stays NULL.
func jsonOf(v any) any {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return nil
	}
	return b
}

// queryJobs runs a query of jobCols rows.
func queryJobs(ctx context.Context, q querier, sql string, args ...any) ([]*model.Job, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*model.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// jobsByID reads the jobs with these ids, in the order given (missing
// ones left out).
func jobsByID(ctx context.Context, q querier, ids []string) ([]*model.Job, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	js, err := queryJobs(ctx, q, "SELECT "+jobCols+" FROM jobs j WHERE j.id = ANY($1)", forValues(len(ids), ids)...)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*model.Job, len(js))
	for _, j := range js {
		byID[j.ID] = j
	}
	out := make([]*model.Job, 0, len(ids))
	for _, id := range ids {
		if j := byID[id]; j != nil {
			out = append(out, j)
		}
	}
	return out, nil
}

// insertRow stores a new job's row (its edges apart) as the record says;
// with ready set it was queued, and takes the next ready order. A job id
// already stored is ErrConflict.
func (w *wtx) insertRow(j *model.Job, groupPos int, ready bool) error {
	if err := w.flushRows(); err != nil {
		return err
	}
	sql, args := insertRowSQL(j, groupPos, ready)
	tag, err := w.tx.Exec(w.ctx, sql, args...)
	if err == nil && tag.RowsAffected() == 0 {
		return conflict("job %s already exists", j.ID)
	}
	return err
}

// queueRow is insertRow for a job that needs nothing else of the
// transaction (no key, dependency or group): its row is sent with the
// next statement (flushRows), in one multi-row INSERT with the rows queued
// before it, so that a SubmitMany of plain jobs costs a statement per
// thousands of rows instead of one per job. The rows keep their order,
// and so their ready order. The job is kept as the insert's answer for
// it (the row holds nothing the server adds but its ready order), with
// its times at the column's precision.
func (w *wtx) queueRow(j *model.Job, ready bool) {
	j.CreatedAt = j.CreatedAt.Truncate(time.Microsecond)
	j.RunAt = j.RunAt.Truncate(time.Microsecond)
	w.rowArgs = append(w.rowArgs, rowArgs(j, 0, ready)...)
	w.rowIDs = append(w.rowIDs, j.ID)
	if w.built == nil {
		w.built = map[string]*model.Job{}
	}
	w.built[j.ID] = j
}

// flushRows sends the queued rows in one COPY, the fastest way into a
// table: no statement text to parse and plan per row count, values in
// binary. COPY takes no expressions, so the ready order is drawn from
// job_ready_seq first, one value per queued row, in the rows' order. An
// id already stored is ErrConflict (insertOne checked the call's ids
// against the table; only a concurrent insert of the same id gets here).
func (w *wtx) flushRows() error {
	ids, args := w.rowIDs, w.rowArgs
	w.rowIDs, w.rowArgs = nil, nil
	if len(ids) == 0 {
		return nil
	}
	ready := 0
	for i := range ids {
		if args[(i+1)*jobRowParams-1].(bool) {
			ready++
		}
	}
	var seqs []int64
	if ready > 0 {
		rows, err := w.tx.Query(w.ctx, "SELECT nextval('job_ready_seq') FROM generate_series(1, $1)", ready)
		if err != nil {
			return err
		}
		if seqs, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return err
		}
		slices.Sort(seqs)
	}
	rows := make([][]any, len(ids))
	for i := range ids {
		row := args[i*jobRowParams : (i+1)*jobRowParams]
		if row[jobRowParams-1].(bool) {
			row[jobRowParams-1], seqs = seqs[0], seqs[1:]
		} else {
			row[jobRowParams-1] = int64(0)
		}
		rows[i] = row
	}
	_, err := w.tx.CopyFrom(w.ctx, pgx.Identifier{"jobs"}, jobColumns, pgx.CopyFromRows(rows))
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return conflict("a job of this insert already exists: %s", pe.Detail)
	}
	return err
}

// insertJobsSQL begins the statement that stores new jobs' rows; each
// row is a rowTuple of rowArgs.
const insertJobsSQL = `INSERT INTO jobs (id, task, args, priority, state, paused_from, group_id, group_pos, key, labels,
	schedule_id, max_attempts, backoff, timeout_ns, stall_timeout_ns, run_at, attempt, attempt_base, cancel_requested,
	owner, result, error, progress, created_at, queued_at, started_at, finished_at, attempts, traceparent, tracestate,
	milli_cpu, memory_mb, ready_seq) VALUES `

// jobColumns are insertJobsSQL's columns, for COPY.
var jobColumns = []string{"id", "task", "args", "priority", "state", "paused_from", "group_id", "group_pos", "key", "labels",
	"schedule_id", "max_attempts", "backoff", "timeout_ns", "stall_timeout_ns", "run_at", "attempt", "attempt_base", "cancel_requested",
	"owner", "result", "error", "progress", "created_at", "queued_at", "started_at", "finished_at", "attempts", "traceparent", "tracestate",
	"milli_cpu", "memory_mb", "ready_seq"}

// jobRowParams is the number of parameters of one row.
const jobRowParams = 33

// rowTuple is one row's VALUES tuple, its parameters numbered from
// base+1; a queued row takes the next ready order.
func rowTuple(base int) string {
	var b strings.Builder
	b.WriteByte('(')
	for k := 1; k < jobRowParams; k++ {
		fmt.Fprintf(&b, "$%d, ", base+k)
	}
	fmt.Fprintf(&b, "CASE WHEN $%d THEN nextval('job_ready_seq') ELSE 0 END)", base+jobRowParams)
	return b.String()
}

// insertRowSQL is the statement that stores one new job's row.
func insertRowSQL(j *model.Job, groupPos int, ready bool) (string, []any) {
	return insertJobsSQL + rowTuple(0) + " ON CONFLICT (id) DO NOTHING", rowArgs(j, groupPos, ready)
}

// rowArgs are a new job's row's values, in insertJobsSQL's order.
func rowArgs(j *model.Job, groupPos int, ready bool) []any {
	var pos any
	if j.Group != "" {
		pos = groupPos
	}
	return []any{
		j.ID, j.Task, rawJSON(j.Args), int16(j.Priority), string(j.State), nullStr(string(j.PausedFrom)), nullStr(j.Group), pos,
		nullStr(j.Key), jsonOf(j.Labels), nullStr(j.Schedule), j.MaxAttempts, jsonOf(j.Backoff), int64(j.Timeout),
		int64(j.StallTimeout), nullTime(j.RunAt), j.Attempt, j.AttemptBase, j.CancelRequested, nullStr(j.Owner),
		rawJSON(j.Result), jsonOf(j.Error), jsonOf(j.Progress), j.CreatedAt, nullTime(j.QueuedAt), nullTime(j.StartedAt),
		nullTime(j.FinishedAt), jsonOf(j.Attempts), nullStr(j.Trace.Parent), nullStr(j.Trace.State),
		j.Resources.MilliCPU, j.Resources.MemoryMB, ready}
}

// save writes back what a transaction may change of a stored job. With
// ready set, the job was just queued: it takes the next ready order.
func (w *wtx) save(j *model.Job, ready bool) error {
	_, err := w.tx.Exec(w.ctx, `UPDATE jobs SET state = $2, paused_from = $3, run_at = $4, attempt = $5, attempt_base = $6,
		cancel_requested = $7, owner = $8, result = $9, error = $10, progress = $11, queued_at = $12, started_at = $13,
		finished_at = $14, attempts = $15, group_id = $16,
		ready_seq = CASE WHEN $17 THEN nextval('job_ready_seq') ELSE ready_seq END
		WHERE id = $1`,
		j.ID, string(j.State), nullStr(string(j.PausedFrom)), nullTime(j.RunAt), j.Attempt, j.AttemptBase, j.CancelRequested,
		nullStr(j.Owner), rawJSON(j.Result), jsonOf(j.Error), jsonOf(j.Progress), nullTime(j.QueuedAt), nullTime(j.StartedAt),
		nullTime(j.FinishedAt), jsonOf(j.Attempts), nullStr(j.Group), ready)
	return err
}

// insertEdges stores j's dependencies from position from on, in one
// statement.
func (w *wtx) insertEdges(j *model.Job, from int) error {
	if from >= len(j.DependsOn) {
		return nil
	}
	var deps, policies []string
	for _, d := range j.DependsOn[from:] {
		deps = append(deps, d.ID)
		policies = append(policies, string(d.Policy))
	}
	_, err := w.tx.Exec(w.ctx, `INSERT INTO deps (job_id, dep_id, policy, pos)
		SELECT $1, e.dep, e.policy, $4 + e.n - 1 FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS e(dep, policy, n)`,
		j.ID, deps, policies, from)
	return err
}

// lock reads job id for update; nil when it is not stored.
func (w *wtx) lock(id string) (*model.Job, error) {
	j, err := scanJob(w.tx.QueryRow(w.ctx, "SELECT "+jobCols+" FROM jobs j WHERE j.id = $1 FOR UPDATE", id))
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	return j, err
}

// compactJSON gives back args and results as the embedded store does,
// without the spaces jsonb's text form adds (jsonb keeps objects' keys in
// an order of its own: a caller that compares bytes of an object sees
// it).
func compactJSON(b []byte) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return json.RawMessage(b)
	}
	return buf.Bytes()
}
