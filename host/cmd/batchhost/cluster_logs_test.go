package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

// The log of a job another host of the same PostgreSQL queue runs reads
// the same through a CLI attached to this host: `logs --follow` started
// while the job runs there prints the record it wrote before, then the
// records it writes after its cancel, each once, and ends with the job;
// `logs` afterwards prints them all. (The other host ships its records
// to the database; this one reads them there.)
func TestCLILogsOfAJobOnAnotherHost(t *testing.T) {
	a, b := cliHostAndRunner(t)
	ctx := context.Background()
	// chaos.linger logs "waiting for the cancel", waits for it, then
	// logs three "cleanup" records.
	id, err := b.Submit(ctx, host.JobSpec{Task: "chaos.linger", Args: map[string]int{"lines": 3}})
	if err != nil {
		t.Fatal(err)
	}
	followed := make(chan result, 1)
	go func() { followed <- a.cli(t, "", "logs", "--follow", id) }()
	// The running attempt's first record reaches this host's `logs`
	// while the job still runs on the other.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(a.ok(t, "logs", id), "waiting for the cancel") {
		if time.Now().After(deadline) {
			t.Fatal("the running job's record did not reach the other host's logs in 30s")
		}
		time.Sleep(50 * time.Millisecond) // another host's writes: polled, as the follow does
	}
	if j, err := b.Get(ctx, id); err != nil || j.State != host.StateRunning {
		t.Fatalf("job while its first record is read elsewhere: %+v %v", j, err)
	}
	a.ok(t, "cancel", id)
	var r result
	select {
	case r = <-followed:
	case <-time.After(60 * time.Second):
		t.Fatal("logs --follow did not end 60s after the job's cancel")
	}
	want := func(what, out string) {
		t.Helper()
		if strings.Count(out, "waiting for the cancel") != 1 || strings.Count(out, "cleanup") != 3 {
			t.Errorf("%s of a job another host ran: want its 4 records once each, got:\n%s", what, out)
		}
	}
	if r.code != 0 {
		t.Fatalf("logs --follow: exit %d: %s", r.code, r.stderr)
	}
	want("logs --follow", r.stdout)
	want("logs", a.ok(t, "logs", id))
}
