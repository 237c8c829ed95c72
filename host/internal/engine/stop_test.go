package engine

import (
	"context"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

// TestStopReturnsAfterOutcomesAreDurable: Stop drains: when it returns,
// the attempts that ended have their outcomes in the store (a host that
// stops and exits must not leave them to be rerun as interrupted).
func TestStopReturnsAfterOutcomesAreDurable(t *testing.T) {
	for i := 0; i < 20; i++ {
		rg := newRig(t, "", 4, nil)
		rg.e.Start()
		var jobs []*model.Job
		for k := 0; k < 4; k++ {
			jobs = append(jobs, job("t.a", model.Normal, fakeArgs{Release: "go"}))
		}
		rg.insert(t, jobs...)
		for _, j := range jobs {
			waitTold(t, rg.obs, j.ID, model.Running)
		}
		close(rg.r.gate("go"))
		if err := rg.e.Stop(context.Background(), time.Second); err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			got, err := rg.q.Job(context.Background(), j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != model.Completed {
				t.Fatalf("run %d: Stop returned while job %s is %s in the store", i, j.ID, got.State)
			}
		}
	}
}
