package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestInsertsAnalyzeTheGrownTable: a store that inserted more than
// analyzeMin jobs into a new table takes its statistics, so that the
// plans made next see the rows. (Autovacuum would, a minute later.)
func TestInsertsAnalyzeTheGrownTable(t *testing.T) {
	ctx := context.Background()
	cfg := freshConfig(t, testDatabase(t))
	s := openStore(t, cfg)
	batch := make([]*model.Job, analyzeMin+500)
	for i := range batch {
		batch[i] = &model.Job{ID: testID(i + 1), Task: "a.run", CreatedAt: sharedT0}
	}
	if _, err := s.Insert(ctx, backend.InsertParams{Now: sharedT0, Jobs: batch}); err != nil {
		t.Fatal(err)
	}
	conn := testConn(t, cfg)
	// The analyze runs in the background: wait for what it writes.
	var rows float64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err := conn.QueryRow(ctx, "SELECT reltuples FROM pg_class WHERE oid = $1::regclass",
			pgx.Identifier{cfg.Schema, "jobs"}.Sanitize()).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows >= float64(len(batch)) {
			return
		}
	}
	t.Errorf("the jobs table's statistics count %.0f rows 10 s after %d were inserted: it was not analyzed", rows, len(batch))
}

// TestAnalyzeYieldsToAVacuum: while another session holds the lock a
// vacuum holds, the analyze gives up on its lock timeout (55P03) instead
// of waiting long enough to cancel the vacuum.
func TestAnalyzeYieldsToAVacuum(t *testing.T) {
	ctx := context.Background()
	cfg := freshConfig(t, testDatabase(t))
	s := openStore(t, cfg)
	conn := testConn(t, cfg)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "LOCK TABLE "+pgx.Identifier{cfg.Schema, "jobs"}.Sanitize()+" IN SHARE UPDATE EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	_, err = s.analyze(ctx)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "55P03" {
		t.Errorf("analyze while a vacuum's lock is held: %v, want a lock timeout (55P03)", err)
	}
}
