package store

import (
	"context"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// listedByState is how many jobs a list of each state shows.
func listedByState(t *testing.T, q *Queue) map[model.State]int {
	t.Helper()
	out := map[model.State]int{}
	for _, st := range model.States {
		js, _, err := q.ListJobs(context.Background(), backend.JobFilter{States: []model.State{st}, Limit: backend.MaxLimit})
		if err != nil {
			t.Fatalf("list %s: %v", st, err)
		}
		if len(js) > 0 {
			out[st] = len(js)
		}
	}
	return out
}

// wantCountsAsListed fails unless Counts by state equals what lists show
// and DamagedJobs is damaged.
func wantCountsAsListed(t *testing.T, q *Queue, damaged int, when string) {
	t.Helper()
	c, err := q.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, listed := c.ByState(), listedByState(t, q)
	for _, st := range model.States {
		if got[st] != listed[st] {
			t.Errorf("%s: counts %v, lists show %v", when, got, listed)
			break
		}
	}
	if n, err := q.DamagedJobs(context.Background()); err != nil || n != damaged {
		t.Errorf("%s: %d damaged job records, %v; want %d", when, n, err, damaged)
	}
}

// TestCountsLeaveOutDamagedRecords: of 24 jobs, 8 with damaged records
// (2 completed, 3 running, 3 queued): the counts by state are what lists
// show (2 completed, 1 running, 13 queued), the 8 are counted apart,
// and stay so after a claim and a reopen. Before the counts left them
// out, they said 4 completed, 4 running, 16 queued.
func TestCountsLeaveOutDamagedRecords(t *testing.T) {
	path, _ := damagedQueueFile(t)
	for round := range 2 {
		q, err := OpenQueue(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		wantCountsAsListed(t, q, 8, "after open")
		c, _ := q.Counts(context.Background())
		if round == 0 {
			if by := c.ByState(); by[model.Completed] != 2 || by[model.Running] != 1 || by[model.Queued] != 13 {
				t.Errorf("counts %v, want 2 completed, 1 running, 13 queued", by)
			}
			if _, err := q.Claim(context.Background(), backend.ClaimParams{Owner: "h2", Limit: 4, Now: time.Unix(2000, 0),
				Quota: map[string]int{"docs.extract": 4}}); err != nil {
				t.Fatal(err)
			}
			wantCountsAsListed(t, q, 8, "after a claim")
		}
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
