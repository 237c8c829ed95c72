package control_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

func TestJobLifecycleThroughTheSocket(t *testing.T) {
	f := serve(t, nil)
	ctx := ctxT(t)
	id, err := f.c.Submit(ctx, host.JobSpec{Task: "chaos.echo", Args: map[string]string{"hello": "world"}, Priority: host.PriorityHigh, Labels: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := f.c.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != host.StateCompleted || j.Priority != host.PriorityHigh || j.Labels["k"] != "v" || len(j.Attempts) != 1 {
		t.Fatalf("waited job: %+v", j)
	}
	var out map[string]string
	if err := f.c.Result(ctx, id, &out); err != nil || out["hello"] != "world" {
		t.Fatalf("Result = %v, %v", out, err)
	}
	// What the client returns is what the host itself says.
	direct, err := f.h.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	viaSocket, _ := json.Marshal(j)
	local, _ := json.Marshal(direct)
	if string(viaSocket) != string(local) {
		t.Fatalf("job differs through the socket:\n%s\n%s", viaSocket, local)
	}
	jobs, _, err := f.c.List(ctx, host.ListFilter{States: []host.State{host.StateCompleted}, Task: "chaos.echo"})
	if err != nil || len(jobs) != 1 || jobs[0].ID != id {
		t.Fatalf("List = %v, %v", jobs, err)
	}
}

func TestCreateEnqueueGroupsAndDependencies(t *testing.T) {
	f := serve(t, nil)
	ctx := ctxT(t)
	gid, err := f.c.CreateGroup(ctx, host.GroupSpec{Name: "g", Sequential: true})
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.c.Create(ctx, host.JobSpec{Task: "chaos.noop"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.c.Create(ctx, host.JobSpec{Task: "chaos.noop"})
	if err != nil {
		t.Fatal(err)
	}
	// Several at once are all or none.
	if err := f.c.AddJobsToGroup(ctx, gid, a, b, "nope"); !errors.Is(err, host.ErrNotFound) {
		t.Fatalf("AddJobsToGroup with an unknown id: %v, want ErrNotFound", err)
	}
	if g, err := f.c.GetGroup(ctx, gid); err != nil || len(g.Jobs) != 0 {
		t.Fatalf("a refused add left members: %+v, %v", g, err)
	}
	if err := f.c.AddToGroup(ctx, a, gid); err != nil {
		t.Fatal(err)
	}
	if err := f.c.AddJobsToGroup(ctx, gid, b); err != nil {
		t.Fatal(err)
	}
	c, err := f.c.Create(ctx, host.JobSpec{Task: "chaos.noop"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.c.AddDependencies(ctx, c, host.Dep{Job: b, Policy: host.DepIgnore}); err != nil {
		t.Fatal(err)
	}
	if err := f.c.SubmitGroup(ctx, gid); err != nil {
		t.Fatal(err)
	}
	if err := f.c.SubmitCreated(ctx, c); err != nil {
		t.Fatal(err)
	}
	g, err := f.c.WaitGroup(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Done || g.Outcome != "completed" || g.Counts[host.StateCompleted] != 2 || strings.Join(g.Jobs, ",") != a+","+b {
		t.Fatalf("group: %+v", g)
	}
	jc, err := f.c.Wait(ctx, c)
	if err != nil || jc.State != host.StateCompleted || len(jc.DependsOn) != 1 || jc.DependsOn[0].Policy != host.DepIgnore {
		t.Fatalf("dependent: %+v, %v", jc, err)
	}
	groups, _, err := f.c.ListGroups(ctx, "", 0)
	if err != nil || len(groups) != 1 || groups[0].ID != gid {
		t.Fatalf("ListGroups = %v, %v", groups, err)
	}
}

func TestPauseResumeCancelRetryAndDispatch(t *testing.T) {
	f := serve(t, nil)
	ctx := ctxT(t)
	if err := f.c.PauseDispatch(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := f.c.Submit(ctx, host.JobSpec{Task: "chaos.noop"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.c.Stats(ctx)
	if err != nil || !st.DispatchPaused || st.QueueDepth["normal"] != 1 || st.Counts[host.StateQueued] != 1 {
		t.Fatalf("Stats = %+v, %v", st, err)
	}
	if err := f.c.Pause(ctx, id); err != nil {
		t.Fatal(err)
	}
	if j, _ := f.c.Get(ctx, id); j.State != host.StatePaused || j.PausedFrom != host.StateQueued {
		t.Fatalf("paused: %+v", j)
	}
	if err := f.c.Resume(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Retry(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := f.c.ResumeDispatch(ctx); err != nil {
		t.Fatal(err)
	}
	if j, err := f.c.Wait(ctx, id); err != nil || j.State != host.StateCompleted {
		t.Fatalf("after retry: %+v, %v", j, err)
	}
	tasks, err := f.c.Tasks(ctx)
	if err != nil || len(tasks) == 0 || tasks[0].Plugin != "chaos" || tasks[0].Description == "" {
		t.Fatalf("Tasks = %+v, %v", tasks, err)
	}
	if p, err := f.c.Problems(ctx); err != nil || len(p) != 0 {
		t.Fatalf("Problems = %v, %v", p, err)
	}
}

// Every host sentinel survives the trip: errors.Is holds on the client and
// the message is the host's.
func TestErrorsMapBackToHostSentinels(t *testing.T) {
	f := serve(t, func(c *host.Config) { c.MaxQueueSize = 1 })
	ctx := ctxT(t)
	const unknown = "0190aaaa-0000-7000-8000-000000000000"
	_, hostErr := f.h.Get(ctx, unknown)
	_, err := f.c.Get(ctx, unknown)
	if !errors.Is(err, host.ErrNotFound) || err.Error() != hostErr.Error() {
		t.Fatalf("Get unknown: %v (host says %v)", err, hostErr)
	}
	if _, err := f.c.Submit(ctx, host.JobSpec{Task: "chaos.echo", Args: json.RawMessage(`{"a":`)}); !errors.Is(err, host.ErrInvalid) || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("bad args: %v", err)
	}
	if _, err := f.c.Submit(ctx, host.JobSpec{Task: "chaos.nothing"}); !errors.Is(err, host.ErrUnknownTask) {
		t.Fatalf("unknown task: %v", err)
	}
	if _, err := f.c.Submit(ctx, host.JobSpec{Task: "chaos.noop", Priority: 9}); !errors.Is(err, host.ErrInvalid) {
		t.Fatalf("bad priority: %v", err)
	}
	a, _ := f.c.Create(ctx, host.JobSpec{Task: "chaos.noop"})
	b, _ := f.c.Create(ctx, host.JobSpec{Task: "chaos.noop", DependsOn: host.After(a)})
	err = f.c.AddDependencies(ctx, a, host.Dep{Job: b})
	var ce *host.CycleError
	if !errors.Is(err, host.ErrCycle) || !errors.As(err, &ce) || len(ce.Path) < 2 {
		t.Fatalf("cycle: %v (%+v)", err, ce)
	}
	if err := f.c.Resume(ctx, a); !errors.Is(err, host.ErrState) {
		t.Fatalf("resume of a created job: %v", err)
	}
	failed, _ := f.c.Submit(ctx, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 5, "permanent": true}})
	if _, err := f.c.Wait(ctx, failed); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Result(ctx, failed, nil); !errors.Is(err, host.ErrNotCompleted) || !strings.Contains(err.Error(), "failed") {
		t.Fatalf("result of a failed job: %v", err)
	}
	if err := f.c.PauseDispatch(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Submit(ctx, host.JobSpec{Task: "chaos.noop"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Submit(ctx, host.JobSpec{Task: "chaos.noop"}); !errors.Is(err, host.ErrQueueFull) {
		t.Fatalf("full queue: %v", err)
	}
	if err := f.h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Stats(ctx); !errors.Is(err, host.ErrClosed) {
		t.Fatalf("closed host: %v", err)
	}
}

func TestDialWithoutHost(t *testing.T) {
	sock := filepath.Join(sockDir(t), "bh.sock")
	_, err := control.Dial(context.Background(), sock)
	want := `no host is running at ` + sock + ` (start one with "batchhost serve")`
	if !errors.Is(err, control.ErrNoHost) || err.Error() != want {
		t.Fatalf("Dial = %v, want %q", err, want)
	}
}

// A server that goes away under a waiting client gives ErrNoHost, not a
// hang.
func TestServerStopEndsCallsInFlight(t *testing.T) {
	f := serve(t, nil)
	ctx := ctxT(t)
	id, err := f.c.Submit(ctx, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 60000}})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := f.c.Wait(ctx, id)
		errc <- err
	}()
	// Wait until the job runs, which also proves the Wait call is in.
	waitState(t, f.c, id, host.StateRunning)
	f.srv.Stop()
	select {
	case err := <-errc:
		if !errors.Is(err, control.ErrNoHost) {
			t.Fatalf("Wait after Stop: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Wait did not return after the server stopped")
	}
}

// The client's deadline reaches the host's Wait and comes back as the
// context's own error.
func TestWaitDeadline(t *testing.T) {
	f := serve(t, nil)
	id, err := f.c.Submit(ctxT(t), host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 60000}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := f.c.Wait(ctx, id); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want deadline exceeded", err)
	}
	if err := f.c.Cancel(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
}

func waitState(t *testing.T, c *control.Client, id string, want host.State) {
	t.Helper()
	ctx := ctxT(t)
	w, err := c.Watch(ctx, host.EventFilter{Jobs: []string{id}, Types: []host.EventType{host.EventJobState}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if j, err := c.Get(ctx, id); err != nil || j.State == want {
		return
	}
	for {
		e, err := w.Recv()
		if err != nil {
			t.Fatalf("waiting for %s to be %s: %v", id, want, err)
		}
		if e.State == want {
			return
		}
	}
}
