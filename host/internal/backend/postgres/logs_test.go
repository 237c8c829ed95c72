package postgres

import (
	"context"
	"testing"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// TestJobLogs: two hosts' ships of one job's log go end to end at
// contiguous offsets; chunks read from a mid offset start with the one
// holding it; a ship for a job that is gone is dropped; RemoveLogs and
// the job's own deletion take its log.
func TestJobLogs(t *testing.T) {
	ctx := context.Background()
	cfg := freshConfig(t, testDatabase(t))
	a, b := openStore(t, cfg), openStore(t, cfg)
	if _, err := a.Insert(ctx, backend.InsertParams{Now: sharedT0, Jobs: []*model.Job{
		{ID: testID(1), Task: "a.run", CreatedAt: sharedT0}, {ID: testID(2), Task: "a.run", CreatedAt: sharedT0}}}); err != nil {
		t.Fatal(err)
	}
	for i, ship := range []struct {
		s    *Store
		data string
	}{{a, "one\n"}, {b, "two\n"}, {a, "three\n"}} {
		if err := ship.s.AppendLog(ctx, testID(1), []byte(ship.data)); err != nil {
			t.Fatalf("ship %d: %v", i+1, err)
		}
	}
	cs, err := b.LogChunks(ctx, testID(1), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var all string
	for _, c := range cs {
		if c.Offset != int64(len(all)) {
			t.Fatalf("chunk at offset %d after %d bytes", c.Offset, len(all))
		}
		all += string(c.Data)
	}
	if all != "one\ntwo\nthree\n" {
		t.Fatalf("log read back %q", all)
	}
	if cs, err := a.LogChunks(ctx, testID(1), 5, 1); err != nil || len(cs) != 1 || cs[0].Offset != 4 {
		t.Fatalf("one chunk from offset 5: %+v %v, want the one at 4", cs, err)
	}
	if err := a.AppendLog(ctx, testID(9), []byte("gone\n")); err != nil {
		t.Fatalf("ship for a job that is not stored: %v", err)
	}
	if cs, err := a.LogChunks(ctx, testID(9), 0, 10); err != nil || len(cs) != 0 {
		t.Fatalf("log of a job that is not stored: %+v %v", cs, err)
	}
	if err := a.RemoveLogs(ctx, testID(1)); err != nil {
		t.Fatal(err)
	}
	if cs, err := a.LogChunks(ctx, testID(1), 0, 10); err != nil || len(cs) != 0 {
		t.Fatalf("log after RemoveLogs: %+v %v", cs, err)
	}
	if err := b.AppendLog(ctx, testID(2), []byte("kept until the job goes\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.pool.Exec(ctx, "DELETE FROM jobs WHERE id = $1", testID(2)); err != nil {
		t.Fatal(err)
	}
	if cs, err := a.LogChunks(ctx, testID(2), 0, 10); err != nil || len(cs) != 0 {
		t.Fatalf("log of a deleted job: %+v %v", cs, err)
	}
}
