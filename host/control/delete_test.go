package control_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

func TestDeleteAndPurgeThroughTheSocket(t *testing.T) {
	f := serve(t, nil)
	ctx := ctxT(t)
	var ids []string
	for range 3 {
		id, err := f.c.Submit(ctx, host.JobSpec{Task: "chaos.noop"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.c.Wait(ctx, id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	held, err := f.c.Create(ctx, host.JobSpec{Task: "chaos.noop"})
	if err != nil {
		t.Fatal(err)
	}
	// All or none, with the host's sentinel and message.
	_, err = f.c.Delete(ctx, ids[0], held)
	if !errors.Is(err, host.ErrState) || !strings.Contains(err.Error(), held+" is created, not finished") {
		t.Fatalf("Delete of a created job: %v", err)
	}
	if _, err := f.c.Get(ctx, ids[0]); err != nil {
		t.Fatalf("refused delete took %s: %v", ids[0], err)
	}
	// A prefix names a job, as everywhere; the answer is the whole id.
	got, err := f.c.Delete(ctx, ids[0][:13])
	if err != nil || len(got) != 1 || got[0] != ids[0] {
		t.Fatalf("Delete by prefix = %v, %v", got, err)
	}
	if _, err := f.c.Get(ctx, ids[0]); !errors.Is(err, host.ErrNotFound) {
		t.Fatalf("deleted job: %v", err)
	}

	if _, err := f.c.Purge(ctx, host.PurgeFilter{States: []host.State{host.StateQueued}}); !errors.Is(err, host.ErrInvalid) {
		t.Fatalf("Purge of queued jobs: %v", err)
	}
	if n, err := f.c.Purge(ctx, host.PurgeFilter{States: []host.State{host.StateCompleted}, OlderThan: time.Hour}); err != nil || n != 0 {
		t.Fatalf("Purge older than an hour = %d, %v", n, err)
	}
	if n, err := f.c.Purge(ctx, host.PurgeFilter{States: []host.State{host.StateCompleted}, Task: "chaos.noop"}); err != nil || n != 2 {
		t.Fatalf("Purge = %d, %v; want 2", n, err)
	}
	if _, err := f.c.Get(ctx, held); err != nil {
		t.Fatalf("purge took the created job: %v", err)
	}
}
