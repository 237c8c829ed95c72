package store

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

func needJob(id, task string, p model.Priority, cpu, mem int64) *model.Job {
	j := qjob(id, task, p)
	j.Resources = model.Resources{MilliCPU: cpu, MemoryMB: mem}
	return j
}

// TestClaimCapacityRule checks backend.Capacity's rule on the bbolt
// store, through both claim paths (in a transaction, and decided ahead
// with Applied) and after a reopen (the needs travel in the live index).
func TestClaimCapacityRule(t *testing.T) {
	total := model.Resources{MilliCPU: 2000, MemoryMB: 1000}
	for _, early := range []bool{false, true} {
		for _, reopen := range []bool{false, true} {
			name := map[bool]string{false: "tx", true: "applied"}[early] + map[bool]string{false: "", true: "/reopened"}[reopen]
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				path := filepath.Join(t.TempDir(), "q.db")
				q := openTestQueue(t, path)
				now := time.Unix(1000, 0)
				// In claim order: big (high, 1.5 CPU) fits; c1 (1 CPU)
				// does not and holds back c2 (CPU, lower priority) and
				// cm (CPU and memory); m1 (memory only) and z1, z2
				// (nothing) go on; huge (3 CPU) is beyond the capacity
				// and holds nothing back.
				jobs := []*model.Job{
					needJob("huge", "p.t", model.Critical, 3000, 0),
					needJob("big", "p.t", model.High, 1500, 0),
					needJob("c1", "p.t", model.Normal, 1000, 0),
					needJob("z1", "p.t", model.Normal, 0, 0),
					needJob("m1", "o.t", model.Normal, 0, 600),
					needJob("cm", "o.t", model.Normal, 500, 100),
					needJob("c2", "o.t", model.Low, 100, 0),
					needJob("z2", "o.t", model.Low, 0, 0),
					needJob("m2", "p.t", model.Low, 0, 600), // memory left: 400
				}
				if _, err := q.Insert(ctx, backend.InsertParams{Now: now, Jobs: jobs}); err != nil {
					t.Fatal(err)
				}
				if reopen {
					if err := q.Close(); err != nil {
						t.Fatal(err)
					}
					q = openTestQueue(t, path)
				}
				claim := func(free model.Resources, limit int) []string {
					t.Helper()
					p := backend.ClaimParams{Owner: "h", Limit: limit, Now: now, Quota: map[string]int{"p.t": 10, "o.t": 10},
						Capacity: &backend.Capacity{Free: free, Total: total}}
					var applied []*model.Job
					if early {
						p.Applied = func(js []*model.Job) { applied = js }
					}
					got, err := q.Claim(ctx, p)
					if err != nil {
						t.Fatal(err)
					}
					if early && !slices.Equal(ids(applied), ids(got)) {
						t.Fatalf("applied %v, returned %v", ids(applied), ids(got))
					}
					return ids(got)
				}
				if got, want := claim(total, 10), []string{"big", "z1", "m1", "z2"}; !slices.Equal(got, want) {
					t.Fatalf("first claim: %v, want %v", got, want)
				}
				// big and m1 ended: c1 fits now, and cm after it; c2 too
				// (0.1 CPU left over), m2 (600 of 900 MiB free).
				if got, want := claim(total, 10), []string{"c1", "cm", "c2", "m2"}; !slices.Equal(got, want) {
					t.Fatalf("second claim: %v, want %v", got, want)
				}
				// huge was never claimed, and is still queued.
				if got := claim(total, 10); len(got) != 0 {
					t.Fatalf("third claim: %v, want none", got)
				}
				j, err := q.Job(ctx, "huge")
				if err != nil || j.State != model.Queued {
					t.Fatalf("huge: %v %v", j, err)
				}
			})
		}
	}
}
