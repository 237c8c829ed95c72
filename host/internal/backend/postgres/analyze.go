package postgres

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"
)

// analyzeMin is the fewest inserted jobs that make a store analyze the
// jobs table.
const analyzeMin = 1000

// growth follows how much this store's inserts grew the jobs table since
// its statistics were last taken. A statement's cached generic plan is
// made for the table its statistics describe: made while the table was
// new, the finish's plan scanned the whole table for the running jobs it
// names (20 ms a finish with 100,000 jobs stored, instead of well under
// one). Autovacuum takes the statistics again a minute after a table
// grows, at the earliest, and a new host's first big submit is run in
// that minute. So a store that inserted at least analyzeMin jobs, and
// half as many as the table held at its last analyze, analyzes it in the
// background, which also makes every connection plan its statements
// again. In a steady queue that is once per half a table of inserts.
type growth struct {
	mu       sync.Mutex
	inserted int     // jobs inserted since the last analyze began
	rows     float64 // the rows the last analyze counted (0: none yet)
	running  bool    // an analyze is running
}

// grew counts n jobs inserted and analyzes the jobs table when they are
// enough.
func (s *Store) grew(n int) {
	g := &s.growth
	g.mu.Lock()
	g.inserted += n
	if g.running || g.inserted < max(analyzeMin, int(g.rows/2)) {
		g.mu.Unlock()
		return
	}
	g.running, g.inserted = true, 0
	g.mu.Unlock()
	done := func(rows float64, err error) {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.running = false
		if err == nil {
			g.rows = rows
		}
		// A failed analyze is left to autovacuum: the statistics are an
		// optimization, and the next inserts try again.
	}
	if !s.spawn(func() { done(s.analyze(s.lctx)) }) {
		done(0, errClosed())
	}
}

// analyze takes the jobs table's statistics and answers the rows it
// counted. It waits at most half a second for the table's lock: an
// autovacuum of the table holds it, and a statement that waits for it
// longer than deadlock_timeout (1 s by default) cancels the vacuum. The
// vacuum matters more; the next inserts try again.
func (s *Store) analyze(ctx context.Context) (float64, error) {
	var rows float64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '500ms'"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "ANALYZE jobs"); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT reltuples FROM pg_class WHERE oid = 'jobs'::regclass").Scan(&rows)
	})
	return rows, err
}
