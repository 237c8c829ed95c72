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

// genericPlans makes the statements that follow in the transaction run
// on their cached (generic) plans; a claim sends it with its statement,
// in one round trip, and is the last thing its transactions do. The
// generic plan of claimSQL is the plan it needs: the branch of the tasks
// absent from the quota is cut when the statement runs, by a one-time
// filter on AnyTask. But the planner, which must guess the arrays'
// lengths and AnyTask, prices it several times a custom plan's cost, so
// with the default plan_cache_mode the claim would be planned again at
// every call: 0.6 ms a claim, as long as its execution (pg_stat_statements
// with track_planning, three hosts running sleep jobs). The statements of
// a claim take small arrays, whose plans do not depend on their lengths.
const genericPlans = "SET LOCAL plan_cache_mode = force_generic_plan"

// claimSQL is a whole claim in one statement. cand (claimCandidates, a
// window of 1) takes, per task of the quota, the first jobs in claim order
// up to the task's quota, and as many of the tasks absent from the quota
// as AnyTask allows. fits applies the plugins' quotas (a
// job is a candidate while fewer of its plugin come before it than the
// plugin's quota) and marks the candidates before the first that
// declares needs as plain; chosen takes the limit in claim order: strict
// priority, then ready time, then ready order, only plain candidates
// when $10 is set (a claim within a capacity, see claim). Each returned
// row also says whether some candidate declares needs. Rows locked but
// not chosen are free again at the commit. Caveat: the AnyTask
// candidates are the first AnyTask jobs of absent tasks before the
// plugins' quotas apply, so a capped plugin's jobs among them leave
// their slots unused this round (AnyTask is for a host that alone
// serves its queue; its unknown tasks rarely have a plugin quota).
//
// An attempt starts at the claim's Now, or when its job was queued if
// that is later: a claim decided before another host's finish released
// the job (a sequential group's next member) runs after that commit, and
// its record must not say it started before the member ahead ended.
var claimSQL = `
WITH ` + claimCandidates("1") + `,
ranked AS (
	SELECT c.*, row_number() OVER (PARTITION BY split_part(c.task, '.', 1)
		ORDER BY c.priority DESC, c.ready_at, c.ready_seq) AS pn
	FROM cand c
),
fits AS (
	SELECT r.*, bool_and(r.milli_cpu = 0 AND r.memory_mb = 0)
		OVER (ORDER BY r.priority DESC, r.ready_at, r.ready_seq) AS plain
	FROM ranked r LEFT JOIN unnest($6::text[], $7::int[]) AS pq(plugin, n) ON pq.plugin = split_part(r.task, '.', 1)
	WHERE pq.n IS NULL OR r.pn <= pq.n
),
chosen AS (
	SELECT f.id, row_number() OVER (ORDER BY f.priority DESC, f.ready_at, f.ready_seq) AS ord
	FROM fits f WHERE f.plain OR NOT $10
	ORDER BY f.priority DESC, f.ready_at, f.ready_seq
	LIMIT $4
)
UPDATE jobs j SET ` + claimSet("$8", "$3", "$9") + `
FROM chosen c WHERE j.id = c.id
RETURNING ` + jobCols + `, c.ord, EXISTS (SELECT 1 FROM fits WHERE NOT plain)`

// claim runs claimSQL. Within a capacity it takes only the candidates
// ahead of the first that declares needs (they need nothing, so the
// capacity rule takes them all), which is the whole claim when no job
// declares needs; when some candidate does, or nothing was claimed (the
// statement then cannot say why), the capacity rule claims the rest by
// claimWithin. A capacity already exceeded (Free below zero, after a
// reload lowered it) goes to claimWithin at once: its rule, not this
// shortcut, decides what may start then.
func (w *wtx) claim(p backend.ClaimParams) ([]*model.Job, error) {
	if len(p.Quota) == 0 && p.AnyTask <= 0 {
		return nil, nil
	}
	within := p.Capacity != nil
	if within && (p.Capacity.Free.MilliCPU < 0 || p.Capacity.Free.MemoryMB < 0) {
		return w.claimWithin(p)
	}
	tasks, quotas := quotaArrays(p.Quota)
	plugins, pquotas := quotaArrays(p.PluginQuota)
	b := &pgx.Batch{}
	b.Queue(genericPlans)
	b.Queue(claimSQL, tasks, quotas, p.Now, p.Limit, p.AnyTask, plugins, pquotas, p.Owner,
		p.Now.UTC().Format(time.RFC3339Nano), within)
	br := w.tx.SendBatch(w.ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	var needy bool
	claimed, err := claimedInOrder(rows, &needy)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil || !within || len(claimed) == p.Limit || (len(claimed) > 0 && !needy) {
		return claimed, err
	}
	more, err := w.claimWithin(remaining(p, claimed))
	return append(claimed, more...), err
}

// claimCandSQL reads, locked, the candidates of a claim within a
// capacity, in claim order, with their needs: claimCandidates with a
// window of $6. claimWithin applies the quotas and the capacity rule to
// them.
var claimCandSQL = `
WITH ` + claimCandidates("$6") + `
SELECT id, task, listed, milli_cpu, memory_mb FROM cand
ORDER BY priority DESC, ready_at, ready_seq`

// claimCandidates is the cand CTE both claim statements start from (with
// its quota): per task of the quota ($1, $2) its first ready jobs in claim
// order, up to window times its quota bounded by window times the limit
// ($4), and as many of the tasks absent from the quota up to window times
// AnyTask ($5), each locked FOR UPDATE SKIP LOCKED so that concurrent
// claimers pass each other instead of queueing; MATERIALIZED keeps the
// locking scan from being re-planned into the statement that uses it.
// listed says whether a candidate's task is in the quota.
func claimCandidates(window string) string {
	cols := `j.id, j.task, j.priority, j.ready_at, j.ready_seq, j.milli_cpu, j.memory_mb`
	return `quota(task, n) AS (SELECT * FROM unnest($1::text[], $2::int[])),
cand AS MATERIALIZED (
	SELECT c.*, true AS listed FROM quota q CROSS JOIN LATERAL (
		SELECT ` + cols + ` FROM jobs j
		WHERE j.state = 'queued' AND j.task = q.task AND (j.run_at IS NULL OR j.run_at <= $3)
		ORDER BY j.priority DESC, j.ready_at, j.ready_seq
		LIMIT least(q.n, $4) * ` + window + `
		FOR UPDATE SKIP LOCKED) c
	WHERE q.n > 0
	UNION ALL
	SELECT a.*, false FROM (SELECT ` + cols + ` FROM jobs j
		WHERE $5 > 0 AND j.state = 'queued' AND j.task <> ALL($1::text[]) AND (j.run_at IS NULL OR j.run_at <= $3)
		ORDER BY j.priority DESC, j.ready_at, j.ready_seq
		LIMIT least($5, $4) * ` + window + `
		FOR UPDATE SKIP LOCKED) a
)`
}

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

// remaining is p less what claimed took: the limit, each task's quota
// (or AnyTask for a task absent from it) and each plugin's quota; the
// capacity is unchanged, since the jobs claim takes first need nothing.
func remaining(p backend.ClaimParams, claimed []*model.Job) backend.ClaimParams {
	p.Limit -= len(claimed)
	p.Quota, p.PluginQuota = maps.Clone(p.Quota), maps.Clone(p.PluginQuota)
	for _, j := range claimed {
		if _, ok := p.Quota[j.Task]; ok {
			p.Quota[j.Task]--
		} else {
			p.AnyTask--
		}
		if plugin := model.PluginOf(j.Task); p.PluginQuota[plugin] > 0 {
			p.PluginQuota[plugin]--
		}
	}
	return p
}

// claimedInOrder reads a claim's RETURNING rows (a job, its place, and
// the extra columns after them into extra, from every row) and answers
// the jobs in claim order.
func claimedInOrder(rows pgx.Rows, extra ...any) ([]*model.Job, error) {
	defer rows.Close()
	type claimed struct {
		j   *model.Job
		ord int64
	}
	var cs []claimed
	for rows.Next() {
		var c claimed
		var err error
		if c.j, err = scanJob(rows, append([]any{&c.ord}, extra...)...); err != nil {
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
// rule: the candidates (locked, in claim order) are read, the quotas and
// the rule choose among them, and the chosen are claimed; the others are
// free again at the commit. Jobs the rule holds back take no quota, so
// a task's jobs that would be chosen may lie beyond its first window:
// while that may be so (see chooseWithin), the windows grow fourfold and
// the candidates are read again (those already locked are this
// transaction's, not skipped).
func (w *wtx) claimWithin(p backend.ClaimParams) ([]*model.Job, error) {
	tasks, quotas := quotaArrays(p.Quota)
	for window := 1; ; window *= 4 {
		chosen, more, err := w.chooseWithin(p, tasks, quotas, window)
		if err != nil {
			return nil, err
		}
		if more {
			continue
		}
		if len(chosen) == 0 {
			return nil, nil
		}
		rows, err := w.tx.Query(w.ctx, claimChosenSQL, chosen, p.Owner, p.Now, p.Now.UTC().Format(time.RFC3339Nano))
		if err != nil {
			return nil, err
		}
		return claimedInOrder(rows)
	}
}

// windowed is what chooseWithin knows of one task's candidates (or of
// the tasks absent from the quota, together): how many were read, the
// place of the last in claim order, and how many may still be chosen.
type windowed struct {
	read, last, left int
	cap              int // the window: more may lie beyond when read == cap
}

// chooseWithin reads the candidates of a window (see claimCandSQL) and
// chooses among them as backend.Capacity and the quotas say, walking
// them in claim order until the limit. more reports that the choice may
// be wrong: a task that filled its window while it could still take
// jobs may have jobs beyond it that come, in claim order, before the
// walk's end. (A plugin's quota is left out of that test: a window grows
// in vain at worst.)
func (w *wtx) chooseWithin(p backend.ClaimParams, tasks []string, quotas []int32, window int) (chosen []string, more bool, err error) {
	rows, err := w.tx.Query(w.ctx, claimCandSQL, tasks, quotas, p.Now, p.Limit, p.AnyTask, window)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	sources := map[string]*windowed{"": {left: p.AnyTask, cap: min(p.AnyTask, p.Limit) * window}} // "": the absent tasks
	for i, task := range tasks {
		sources[task] = &windowed{left: int(quotas[i]), cap: min(int(quotas[i]), p.Limit) * window}
	}
	plugins := maps.Clone(p.PluginQuota)
	free, total := p.Capacity.Free, p.Capacity.Total
	var held model.Mask
	place, end := 0, -1 // end: the place where the limit was reached
	for ; rows.Next(); place++ {
		var id, task string
		var listed bool
		var need model.Resources
		if err := rows.Scan(&id, &task, &listed, &need.MilliCPU, &need.MemoryMB); err != nil {
			return nil, false, err
		}
		src := sources[""]
		if listed {
			src = sources[task]
		}
		src.read++
		src.last = place
		if end >= 0 {
			continue
		}
		budget := src.left
		plugin := model.PluginOf(task)
		if n, capped := plugins[plugin]; capped {
			budget = min(budget, n)
		}
		switch {
		case budget <= 0, need.Lacks(total) != 0, need.Uses()&held != 0:
			continue
		case need.Lacks(free) != 0:
			held |= need.Lacks(free)
			continue
		}
		free = free.Sub(need)
		chosen = append(chosen, id)
		src.left--
		if _, capped := plugins[plugin]; capped {
			plugins[plugin]--
		}
		if len(chosen) == p.Limit {
			end = place
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	for _, src := range sources {
		if src.cap > 0 && src.read == src.cap && src.left > 0 && (end < 0 || src.last < end) {
			more = true
		}
	}
	return chosen, more, nil
}
