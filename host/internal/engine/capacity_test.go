package engine

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/store"
)

// TestCapacityAndMemoryPressure: the engine counts the needs of its
// running attempts against Config.Capacity (Status.InUse, back to zero
// when they end), an ended attempt's need goes to the job it held back,
// and under memory pressure jobs that need memory wait while
// jobs that need none start, until the pressure falls.
func TestCapacityAndMemoryPressure(t *testing.T) {
	q, err := store.OpenQueue(filepath.Join(t.TempDir(), "q.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var pressed atomic.Bool
	pressed.Store(true)
	capacity := model.Resources{MilliCPU: 2000, MemoryMB: 1000}
	rg := &rig{q: q, r: &fakeRunner{tasks: []string{"t.a", "t.b"}}, obs: &events{states: map[string][]model.State{}, changed: make(chan struct{}, 1)}}
	rg.e = New(Config{Owner: "host-1", MaxWorkers: 4, Capacity: &capacity, MemoryPressure: pressed.Load,
		PollInterval: 20 * time.Millisecond, Clock: realClock{}, Observer: rg.obs}, q, rg.r)
	if err := rg.e.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	go rg.e.Run()
	t.Cleanup(func() { rg.close(t) })
	rg.e.Start()

	need := func(j *model.Job, cpu, mem int64) *model.Job {
		j.Resources = model.Resources{MilliCPU: cpu, MemoryMB: mem}
		return j
	}
	mem := need(job("t.a", model.High, fakeArgs{Release: "mem"}), 0, 600)
	cpu1 := need(job("t.a", model.Normal, fakeArgs{Release: "cpu1"}), 1500, 0)
	cpu2 := need(job("t.b", model.Normal, fakeArgs{Release: "cpu2"}), 1000, 0)
	free := need(job("t.b", model.Low, fakeArgs{Release: "free"}), 0, 0)
	rg.insert(t, mem, cpu1, cpu2, free)
	waitTold(t, rg.obs, cpu1.ID, model.Running)
	waitTold(t, rg.obs, free.ID, model.Running)
	st := rg.e.Status()
	if !st.MemoryPressure || st.InUse != (model.Resources{MilliCPU: 1500}) || st.Busy != 2 {
		t.Fatalf("under pressure: %+v, want cpu1 and free running (1.5 CPU), mem and cpu2 held", st)
	}
	pressed.Store(false)
	waitTold(t, rg.obs, mem.ID, model.Running)
	if j, _ := q.Job(context.Background(), cpu2.ID); j.State != model.Queued {
		t.Fatalf("cpu2 (1 CPU, 0.5 free) is %s, want queued", j.State)
	}
	// cpu1 ends: its 1.5 CPU are free again, and cpu2 starts.
	close(rg.r.gate("cpu1"))
	waitTold(t, rg.obs, cpu2.ID, model.Running)
	if st := rg.e.Status(); st.MemoryPressure || st.InUse != (model.Resources{MilliCPU: 1000, MemoryMB: 600}) {
		t.Fatalf("after cpu1 ended: %+v, want cpu2 and mem in use", st)
	}
	for _, g := range []string{"mem", "cpu2", "free"} {
		close(rg.r.gate(g))
	}
	for _, j := range []*model.Job{mem, cpu1, cpu2, free} {
		if got := rg.wait(t, j.ID); got.State != model.Completed {
			t.Fatalf("%s: %s", j.ID, got.State)
		}
	}
	// Stop returns once no attempt runs and every outcome is recorded.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rg.e.Stop(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	if st := rg.e.Status(); st.InUse != (model.Resources{}) || st.Busy != 0 {
		t.Fatalf("after every job ended: %+v, want nothing in use", st)
	}
}
