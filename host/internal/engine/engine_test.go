package engine

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/joblog"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/runner"
	"github.com/batchhost/batchhost/host/internal/store"
)

// The engine's unit tests run it over a real bbolt store with a fake
// runner: attempts are goroutines that do what their job's args say.

// fakeArgs tells a fake attempt what to do.
type fakeArgs struct {
	Block   bool   `json:"block"`    // run until canceled
	FailN   int    `json:"fail_n"`   // fail the first n attempts (retryable)
	Kind    string `json:"kind"`     // error kind of a failure (default task_error)
	Result  string `json:"result"`   // result JSON on success
	Release string `json:"release"`  // wait for this channel name before ending
	SleepUS int    `json:"sleep_us"` // take this long (benchmarks)
	Quiet   bool   `json:"quiet"`    // report no progress (as a plugin may not)
}

type fakeRunner struct {
	tasks []string
	mu    sync.Mutex
	live  int // attempts running now
	peak  int
	gates map[string]chan struct{}
}

func (r *fakeRunner) Tasks() []string { return r.tasks }

func (r *fakeRunner) gate(name string) chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gates == nil {
		r.gates = map[string]chan struct{}{}
	}
	if r.gates[name] == nil {
		r.gates[name] = make(chan struct{})
	}
	return r.gates[name]
}

func (r *fakeRunner) Start(ctx context.Context, a runner.Attempt, onEvent func(runner.Event)) (Attempt, error) {
	if !slices.Contains(r.tasks, a.Task) {
		return nil, runner.ErrUnknownTask
	}
	var args fakeArgs
	_ = json.Unmarshal(a.Args, &args)
	fa := &fakeAttempt{done: make(chan struct{}), cancel: make(chan error, 1)}
	r.mu.Lock()
	r.live++
	r.peak = max(r.peak, r.live)
	r.mu.Unlock()
	go func() {
		defer close(fa.done)
		defer func() { r.mu.Lock(); r.live--; r.mu.Unlock() }()
		if !args.Quiet {
			onEvent(runner.Event{Kind: runner.EventProgress, Fraction: 0.5, Time: time.Now()})
		}
		var gate chan struct{}
		if args.Release != "" {
			gate = r.gate(args.Release)
		}
		if args.Block || gate != nil {
			select {
			case cause := <-fa.cancel:
				kind := errkind.Canceled
				if errors.Is(cause, runner.ErrInterrupted) {
					kind = errkind.Interrupted
				}
				fa.out = runner.Outcome{Err: &runner.AttemptError{Kind: kind, Message: cause.Error()}}
				return
			case <-gate:
			}
		}
		if args.SleepUS > 0 {
			time.Sleep(time.Duration(args.SleepUS) * time.Microsecond)
		}
		if a.Attempt <= args.FailN {
			kind := errkind.Kind(args.Kind)
			if kind == "" {
				kind = errkind.TaskError
			}
			fa.out = runner.Outcome{Err: &runner.AttemptError{Kind: kind, Message: "failed on purpose", Retryable: true}}
			return
		}
		if args.Result != "" {
			fa.out.Output = []byte(args.Result)
		}
	}()
	return fa, nil
}

type fakeAttempt struct {
	done   chan struct{}
	cancel chan error
	out    runner.Outcome
}

func (a *fakeAttempt) Done() <-chan struct{}   { return a.done }
func (a *fakeAttempt) Outcome() runner.Outcome { <-a.done; return a.out }
func (a *fakeAttempt) Pause() error            { return nil }
func (a *fakeAttempt) Resume() error           { return nil }
func (a *fakeAttempt) Cancel(cause error) {
	select {
	case a.cancel <- cause:
	default:
	}
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) NewTimer(d time.Duration) Timer {
	return realTimer{time.NewTimer(d)}
}

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time   { return r.t.C }
func (r realTimer) Reset(d time.Duration) { r.t.Reset(d) }
func (r realTimer) Stop()                 { r.t.Stop() }

// events records what the engine reports.
type events struct {
	mu      sync.Mutex
	states  map[string][]model.State
	changed chan struct{} // signalled after each report
}

func (o *events) Jobs(jobs []*model.Job, prev []model.State) {
	o.mu.Lock()
	for _, j := range jobs {
		o.states[j.ID] = append(o.states[j.ID], j.State)
	}
	o.mu.Unlock()
	select {
	case o.changed <- struct{}{}:
	default:
	}
}
func (o *events) Groups([]*model.Group)                                 {}
func (o *events) Progress(*model.Job, int, model.Progress, time.Time)   {}
func (o *events) Log(*model.Job, joblog.Record)                         {}
func (o *events) Fired(schedule string, at time.Time, job, skip string) {}

func (o *events) of(id string) []model.State {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.states[id])
}

type rig struct {
	e    *Engine
	q    *store.Queue
	r    *fakeRunner
	obs  *events
	path string
}

func newRig(t testing.TB, path string, workers int, limits map[string]int) *rig {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "q.db")
	}
	q, err := store.OpenQueue(path, store.Options{NoSync: os.Getenv("ENGINE_BENCH_NOSYNC") != ""})
	if err != nil {
		t.Fatal(err)
	}
	rg := &rig{q: q, r: &fakeRunner{tasks: []string{"t.a", "t.b"}}, obs: &events{states: map[string][]model.State{}, changed: make(chan struct{}, 1)}, path: path}
	rg.e = New(Config{Owner: "host-" + t.Name() + time.Now().String(), MaxWorkers: workers, Limits: limits,
		PollInterval: 50 * time.Millisecond, Clock: realClock{}, Observer: rg.obs}, q, rg.r)
	if err := rg.e.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	go rg.e.Run()
	t.Cleanup(func() { rg.close(t) })
	return rg
}

func (rg *rig) close(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = rg.e.Stop(ctx, 5*time.Second)
	rg.e.Close()
	_ = rg.q.Close()
}

var seq int

func job(task string, p model.Priority, args fakeArgs) *model.Job {
	seq++
	b, _ := json.Marshal(args)
	return &model.Job{ID: time.Now().Format("20060102150405.000000000") + string(rune('a'+seq%26)) + string(rune('a'+seq/26%26)),
		Task: task, Args: b, Priority: p, MaxAttempts: 3, CreatedAt: time.Now(),
		Backoff: model.Backoff{Initial: time.Millisecond, Max: time.Millisecond, Multiplier: 1}}
}

func (rg *rig) insert(t *testing.T, jobs ...*model.Job) {
	t.Helper()
	if _, err := rg.e.Insert(context.Background(), backend.InsertParams{Jobs: jobs}); err != nil {
		t.Fatal(err)
	}
}

func (rg *rig) wait(t testing.TB, id string) *model.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	j, err := rg.e.WaitJob(ctx, id)
	if err != nil {
		t.Fatalf("wait %s: %v", id, err)
	}
	return j
}

func TestJobRunsToCompletionWithItsResult(t *testing.T) {
	rg := newRig(t, "", 2, nil)
	rg.e.Start()
	j := job("t.a", model.Normal, fakeArgs{Result: `{"ok":true}`})
	rg.insert(t, j)
	got := rg.wait(t, j.ID)
	if got.State != model.Completed || string(got.Result) != `{"ok":true}` || got.Attempt != 1 || got.Progress.Fraction != 1 {
		t.Fatalf("job: %s %s attempt %d progress %v", got.State, got.Result, got.Attempt, got.Progress)
	}
	// WaitJob may answer from the store before the observer is told.
	waitTold(t, rg.obs, j.ID, model.Completed)
	if st := rg.obs.of(j.ID); !slices.Equal(st, []model.State{model.Queued, model.Running, model.Completed}) &&
		!slices.Equal(st, []model.State{model.Running, model.Completed}) {
		t.Errorf("states reported %v", st)
	}
}

func TestRetryableFailuresAreRetriedUntilTheBudgetIsSpent(t *testing.T) {
	rg := newRig(t, "", 2, nil)
	rg.e.Start()
	ok := job("t.a", model.Normal, fakeArgs{FailN: 2})
	spent := job("t.a", model.Normal, fakeArgs{FailN: 5})
	permanent := job("t.a", model.Normal, fakeArgs{FailN: 5, Kind: string(errkind.Permanent)})
	rg.insert(t, ok, spent, permanent)
	if j := rg.wait(t, ok.ID); j.State != model.Completed || j.Attempt != 3 {
		t.Errorf("two failures then success: %s after %d attempts", j.State, j.Attempt)
	}
	if j := rg.wait(t, spent.ID); j.State != model.Failed || j.Attempt != 3 {
		t.Errorf("budget of 3: %s after %d attempts", j.State, j.Attempt)
	}
	if j := rg.wait(t, permanent.ID); j.State != model.Failed || j.Attempt != 1 {
		t.Errorf("permanent: %s after %d attempts, want failed after 1", j.State, j.Attempt)
	}
}

func TestCancelOfARunningJobEndsItCanceledNotRetried(t *testing.T) {
	rg := newRig(t, "", 1, nil)
	rg.e.Start()
	j := job("t.a", model.Normal, fakeArgs{Block: true})
	rg.insert(t, j)
	rg.waitFor(t, func() bool { return rg.e.Status().Busy == 1 })
	if _, err := rg.e.Request(context.Background(), backend.Request{Kind: backend.RequestCancel, ID: j.ID}); err != nil {
		t.Fatal(err)
	}
	got := rg.wait(t, j.ID)
	if got.State != model.Canceled || got.Attempt != 1 {
		t.Fatalf("canceled running job: %s after %d attempts", got.State, got.Attempt)
	}
}

func TestStrictPriorityThenFIFOWithOneWorker(t *testing.T) {
	rg := newRig(t, "", 1, nil)
	var order []string
	low := job("t.a", model.Low, fakeArgs{})
	n1 := job("t.a", model.Normal, fakeArgs{})
	n2 := job("t.b", model.Normal, fakeArgs{})
	crit := job("t.b", model.Critical, fakeArgs{})
	rg.insert(t, low, n1, n2, crit)
	rg.e.Start()
	for _, j := range []*model.Job{low, n1, n2, crit} {
		rg.wait(t, j.ID)
	}
	for _, j := range []*model.Job{low, n1, n2, crit} {
		got, _ := rg.q.Job(context.Background(), j.ID)
		order = append(order, got.StartedAt.Format(time.RFC3339Nano)+" "+j.ID)
	}
	slices.Sort(order)
	want := []string{crit.ID, n1.ID, n2.ID, low.ID}
	for i, o := range order {
		if o[len(o)-len(want[i]):] != want[i] {
			t.Fatalf("start order %v, want critical, normal (FIFO), low", order)
		}
	}
}

func TestConcurrencyLimitsHoldAcrossTasks(t *testing.T) {
	rg := newRig(t, "", 8, map[string]int{"t": 2})
	var jobs []*model.Job
	for i := 0; i < 12; i++ {
		task := "t.a"
		if i%2 == 1 {
			task = "t.b"
		}
		jobs = append(jobs, job(task, model.Normal, fakeArgs{Release: "go"}))
	}
	rg.insert(t, jobs...)
	rg.e.Start()
	rg.waitFor(t, func() bool { return rg.e.Status().Busy == 2 })
	close(rg.r.gate("go"))
	for _, j := range jobs {
		rg.wait(t, j.ID)
	}
	if rg.r.peak > 2 {
		t.Fatalf("peak of %d attempts of plugin t, limit 2", rg.r.peak)
	}
}

func TestAttemptsOfAGoneHostAreInterruptedAndRetried(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	q, err := store.OpenQueue(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	j := job("t.a", model.Normal, fakeArgs{})
	if _, err := q.Insert(context.Background(), backend.InsertParams{Jobs: []*model.Job{j}}); err != nil {
		t.Fatal(err)
	}
	if got, err := q.Claim(context.Background(), backend.ClaimParams{Owner: "gone", Limit: 1, Now: time.Now(), Quota: map[string]int{"t.a": 1}}); err != nil || len(got) != 1 {
		t.Fatalf("claim: %v %v", got, err)
	}
	q.Close()
	rg := newRig(t, path, 1, nil)
	rg.e.Start()
	got := rg.wait(t, j.ID)
	if got.State != model.Completed || got.Attempt != 2 || got.Attempts[0].Error == nil || got.Attempts[0].Error.Kind != errkind.Interrupted {
		t.Fatalf("after the owner went away: %s attempt %d, first attempt %+v", got.State, got.Attempt, got.Attempts[0])
	}
}

func TestUnknownTaskFailsWhenItWouldStart(t *testing.T) {
	rg := newRig(t, "", 1, nil)
	j := job("t.a", model.Normal, fakeArgs{})
	rg.insert(t, j)
	rg.r.tasks = []string{"t.b"} // the plugin went away
	rg.e.Start()
	got := rg.wait(t, j.ID)
	if got.State != model.Failed || got.Error == nil || got.Error.Kind != errkind.UnknownTask {
		t.Fatalf("job of a task gone: %s %+v", got.State, got.Error)
	}
}

// waitFor waits, for at most 10 s, until cond holds, looking again after
// each state change the engine reports (the engine counts an attempt as
// running before it reports it).
func (rg *rig) waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-rg.obs.changed:
		case <-deadline:
			t.Fatal("condition not reached in 10s")
		}
	}
}
