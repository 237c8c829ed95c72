package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

func checkClaim(p backend.ClaimParams) error {
	if err := p.Check(); err != nil {
		return invalid("%v", err)
	}
	return nil
}

// Claim moves up to p.Limit claimable jobs to running for p.Owner; see
// backend.Writer.
func (s *Store) Claim(ctx context.Context, p backend.ClaimParams) ([]*model.Job, error) {
	if err := checkClaim(p); err != nil {
		return nil, err
	}
	p.Now = stamp(p.Now)
	var out []*model.Job
	err := s.write(ctx, func(w *wtx) error {
		var err error
		out, err = w.claim(p)
		return err
	})
	return out, err
}

// claimSQL is a whole claim in one statement. cand takes, per task of
// the quota, the first jobs in claim order up to the task's quota (and
// as many of the tasks absent from the quota as AnyTask allows), each
// locked FOR UPDATE SKIP LOCKED so that concurrent claimers pass each
// other instead of queueing; MATERIALIZED keeps the locking scan from
// being re-planned into the update. chosen then applies the plugins'
// quotas (a job is taken while fewer of its plugin come before it than
// the plugin's quota) and the limit, in claim order: strict priority,
// then ready time, then ready order. Rows locked but not chosen are free
// again at the commit. Caveat: the AnyTask candidates are the first
// AnyTask jobs of absent tasks before the plugins' quotas apply, so a
// capped plugin's jobs among them leave their slots unused this round
// (AnyTask is for a host that alone serves its queue; its unknown tasks
// rarely have a plugin quota).
//
// An attempt starts at the claim's Now, or when its job was queued if
// that is later: a claim decided before another host's finish released
// the job (a sequential group's next member) runs after that commit, and
// its record must not say it started before the member ahead ended.
var claimSQL = `
WITH quota(task, n) AS (SELECT * FROM unnest($1::text[], $2::int[])),
cand AS MATERIALIZED (
	SELECT c.* FROM quota q CROSS JOIN LATERAL (
		SELECT j.id, j.task, j.priority, j.ready_at, j.ready_seq FROM jobs j
		WHERE j.state = 'queued' AND j.task = q.task AND (j.run_at IS NULL OR j.run_at <= $3)
		ORDER BY j.priority DESC, j.ready_at, j.ready_seq
		LIMIT least(q.n, $4)
		FOR UPDATE SKIP LOCKED) c
	WHERE q.n > 0
	UNION ALL
	SELECT a.* FROM (SELECT j.id, j.task, j.priority, j.ready_at, j.ready_seq FROM jobs j
		WHERE $5 > 0 AND j.state = 'queued' AND j.task <> ALL($1::text[]) AND (j.run_at IS NULL OR j.run_at <= $3)
		ORDER BY j.priority DESC, j.ready_at, j.ready_seq
		LIMIT least($5, $4)
		FOR UPDATE SKIP LOCKED) a
),
ranked AS (
	SELECT c.*, row_number() OVER (PARTITION BY split_part(c.task, '.', 1)
		ORDER BY c.priority DESC, c.ready_at, c.ready_seq) AS pn
	FROM cand c
),
chosen AS (
	SELECT r.id, row_number() OVER (ORDER BY r.priority DESC, r.ready_at, r.ready_seq) AS ord
	FROM ranked r LEFT JOIN unnest($6::text[], $7::int[]) AS pq(plugin, n) ON pq.plugin = split_part(r.task, '.', 1)
	WHERE pq.n IS NULL OR r.pn <= pq.n
	ORDER BY r.priority DESC, r.ready_at, r.ready_seq
	LIMIT $4
)
UPDATE jobs j SET ` + claimSet("$8", "$3", "$9") + `
FROM chosen c WHERE j.id = c.id
RETURNING ` + jobCols + `, c.ord`

func (w *wtx) claim(p backend.ClaimParams) ([]*model.Job, error) {
	if len(p.Quota) == 0 && p.AnyTask <= 0 {
		return nil, nil
	}
	if p.Capacity != nil {
		return w.claimWithin(p)
	}
	tasks, quotas := quotaArrays(p.Quota)
	plugins, pquotas := quotaArrays(p.PluginQuota)
	rows, err := w.tx.Query(w.ctx, claimSQL, tasks, quotas, p.Now, p.Limit, p.AnyTask, plugins, pquotas, p.Owner,
		p.Now.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return nil, err
	}
	return claimedInOrder(rows)
}

// claimCandSQL is claimSQL's choice without the limit, and the update
// left out: the candidates, locked, within the quotas, in claim order,
// with their needs, for claimWithin to apply the capacity to. Caveat: a
// task's candidates are its first jobs up to its quota and the limit,
// so jobs behind held ones may be left for a later claim.
const claimCandSQL = `
WITH quota(task, n) AS (SELECT * FROM unnest($1::text[], $2::int[])),
cand AS MATERIALIZED (
	SELECT c.* FROM quota q CROSS JOIN LATERAL (
		SELECT j.id, j.task, j.priority, j.ready_at, j.ready_seq, j.milli_cpu, j.memory_mb FROM jobs j
		WHERE j.state = 'queued' AND j.task = q.task AND (j.run_at IS NULL OR j.run_at <= $3)
		ORDER BY j.priority DESC, j.ready_at, j.ready_seq
		LIMIT least(q.n, $4)
		FOR UPDATE SKIP LOCKED) c
	WHERE q.n > 0
	UNION ALL
	SELECT a.* FROM (SELECT j.id, j.task, j.priority, j.ready_at, j.ready_seq, j.milli_cpu, j.memory_mb FROM jobs j
		WHERE $5 > 0 AND j.state = 'queued' AND j.task <> ALL($1::text[]) AND (j.run_at IS NULL OR j.run_at <= $3)
		ORDER BY j.priority DESC, j.ready_at, j.ready_seq
		LIMIT least($5, $4)
		FOR UPDATE SKIP LOCKED) a
),
ranked AS (
	SELECT c.*, row_number() OVER (PARTITION BY split_part(c.task, '.', 1)
		ORDER BY c.priority DESC, c.ready_at, c.ready_seq) AS pn
	FROM cand c
)
SELECT r.id, r.milli_cpu, r.memory_mb
FROM ranked r LEFT JOIN unnest($6::text[], $7::int[]) AS pq(plugin, n) ON pq.plugin = split_part(r.task, '.', 1)
WHERE pq.n IS NULL OR r.pn <= pq.n
ORDER BY r.priority DESC, r.ready_at, r.ready_seq`

// claimSet is what a claim writes in each claimed row, given the
// placeholders of the owner, the claim's Now and Now as RFC 3339 text:
// the attempt starts at Now, or when the job was queued if later (see
// claimSQL).
func claimSet(owner, now, nowText string) string {
	return `state = 'running', paused_from = NULL, owner = ` + owner + `, attempt = j.attempt + 1,
	started_at = greatest(` + now + `, j.queued_at), run_at = NULL, progress = '{"fraction":0}', finished_at = NULL,
	attempts = coalesce(j.attempts, '[]'::jsonb) || jsonb_build_array(jsonb_build_object('attempt', j.attempt + 1,
		'started_at', CASE WHEN j.queued_at > ` + now + ` THEN to_jsonb(j.queued_at) ELSE to_jsonb(` + nowText + `::text) END,
		'owner', ` + owner + `::text))`
}

// quotaArrays spreads a quota map into the parallel arrays the claim
// statements unnest.
func quotaArrays(m map[string]int) ([]string, []int32) {
	names, ns := make([]string, 0, len(m)), make([]int32, 0, len(m))
	for name, n := range m {
		names = append(names, name)
		ns = append(ns, int32(n))
	}
	return names, ns
}

// claimedInOrder reads a claim's RETURNING rows (a job and its place)
// and answers the jobs in claim order.
func claimedInOrder(rows pgx.Rows) ([]*model.Job, error) {
	defer rows.Close()
	type claimed struct {
		j   *model.Job
		ord int64
	}
	var cs []claimed
	for rows.Next() {
		var c claimed
		var err error
		if c.j, err = scanJob(rows, &c.ord); err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(cs, func(a, b claimed) int { return int(a.ord - b.ord) })
	out := make([]*model.Job, len(cs))
	for i, c := range cs {
		out[i] = c.j
	}
	return out, nil
}

// claimChosenSQL claims the jobs claimWithin chose ($1, in claim order).
var claimChosenSQL = `
UPDATE jobs j SET ` + claimSet("$2", "$3", "$4") + `
FROM unnest($1::text[]) WITH ORDINALITY AS c(id, ord) WHERE j.id = c.id
RETURNING ` + jobCols + `, c.ord`

// claimWithin is a claim bounded by p.Capacity, by backend.Capacity's
// rule: the candidates (locked, within the quotas, in claim order) are
// read, the rule chooses among them, and the chosen are claimed; the
// others are free again at the commit.
func (w *wtx) claimWithin(p backend.ClaimParams) ([]*model.Job, error) {
	tasks, quotas := quotaArrays(p.Quota)
	plugins, pquotas := quotaArrays(p.PluginQuota)
	rows, err := w.tx.Query(w.ctx, claimCandSQL, tasks, quotas, p.Now, p.Limit, p.AnyTask, plugins, pquotas)
	if err != nil {
		return nil, err
	}
	free, total := p.Capacity.Free, p.Capacity.Total
	var held model.Mask
	var chosen []string
	for rows.Next() {
		var id string
		var need model.Resources
		if err := rows.Scan(&id, &need.MilliCPU, &need.MemoryMB); err != nil {
			rows.Close()
			return nil, err
		}
		switch {
		case len(chosen) >= p.Limit, need.Lacks(total) != 0, need.Uses()&held != 0:
		case need.Lacks(free) != 0:
			held |= need.Lacks(free)
		default:
			free = free.Sub(need)
			chosen = append(chosen, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(chosen) == 0 {
		return nil, nil
	}
	rows, err = w.tx.Query(w.ctx, claimChosenSQL, chosen, p.Owner, p.Now, p.Now.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return nil, err
	}
	return claimedInOrder(rows)
}
