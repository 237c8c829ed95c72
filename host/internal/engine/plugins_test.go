package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/runner"
	"github.com/batchhost/batchhost/host/internal/store"
	"github.com/batchhost/batchhost/internal/testbin"
)

// pluginDir holds the real chaos plugin, built once (TestMain).
var pluginDir string

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "bh-engine-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pluginDir, err = testbin.PluginDir(tmp, map[string]string{"chaos": testbin.Chaos})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// pluginRig is an engine over a bbolt file and real plugin processes.
type pluginRig struct {
	e   *Engine
	q   *store.Queue
	m   *runner.Manager
	obs *events
}

func newPluginRig(t testing.TB, workers int) *pluginRig {
	t.Helper()
	q, err := store.OpenQueue(filepath.Join(t.TempDir(), "q.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := runner.Open(runner.Config{Dir: pluginDir, Logger: hclog.NewNullLogger(), KillGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rg := &pluginRig{q: q, m: m, obs: &events{states: map[string][]model.State{}, changed: make(chan struct{}, 1)}}
	rg.e = New(Config{Owner: "host-1", MaxWorkers: workers, PollInterval: 50 * time.Millisecond, Clock: realClock{}, Observer: rg.obs},
		q, NewPlugins(m))
	go rg.e.Run()
	rg.e.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := rg.e.Stop(ctx, 10*time.Second); err != nil {
			t.Error(err)
		}
		rg.e.Close()
		if err := m.Close(); err != nil {
			t.Error(err)
		}
		_ = q.Close()
		if left := testbin.Descendants(os.Getpid()); len(left) > 0 {
			t.Errorf("plugin processes left: %+v", left)
		}
	})
	return rg
}

func chaosJob(task string, args any, maxAttempts int) *model.Job {
	j := job(task, model.Normal, fakeArgs{})
	j.Args, _ = json.Marshal(args)
	j.MaxAttempts = maxAttempts
	return j
}

func (rg *pluginRig) run(t testing.TB, jobs ...*model.Job) []*model.Job {
	t.Helper()
	if _, err := rg.e.Insert(context.Background(), backend.InsertParams{Jobs: jobs}); err != nil {
		t.Fatal(err)
	}
	out := make([]*model.Job, len(jobs))
	for i, j := range jobs {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		got, err := rg.e.WaitJob(ctx, j.ID)
		cancel()
		if err != nil {
			t.Fatalf("wait %s: %v", j.ID, err)
		}
		out[i] = got
	}
	return out
}

// TestPluginOutcomes runs real plugin attempts through the engine: a
// result, a failure retried to its budget, a panic (the process dies)
// retried to its budget, and a process that crashes once then completes,
// each following its retry policy, with the outcome's kind recorded and
// the final state told.
func TestPluginOutcomes(t *testing.T) {
	rg := newPluginRig(t, 4)
	echo := chaosJob("chaos.echo", map[string]string{"hello": "world"}, 1)
	fail := chaosJob("chaos.fail", map[string]any{"times": 5}, 2)
	boom := chaosJob("chaos.panic", map[string]string{"message": "boom"}, 2)
	recovers := chaosJob("chaos.fail", map[string]any{"times": 1, "crash": true}, 3)
	got := rg.run(t, echo, fail, boom, recovers)
	if got[0].State != model.Completed || string(got[0].Result) != `{"hello":"world"}` {
		t.Errorf("echo: %s %s", got[0].State, got[0].Result)
	}
	if got[1].State != model.Failed || got[1].Attempt != 2 || got[1].Error == nil {
		t.Errorf("fail: %s after %d attempts, error %+v; want failed after 2", got[1].State, got[1].Attempt, got[1].Error)
	}
	if got[2].State != model.Failed || got[2].Attempt != 2 || got[2].Error == nil || got[2].Error.Kind != errkind.PluginCrashed {
		t.Errorf("panic: %s after %d attempts, error %+v; want failed after 2 as plugin_crashed", got[2].State, got[2].Attempt, got[2].Error)
	}
	if got[3].State != model.Completed || got[3].Attempt != 2 {
		t.Errorf("crash then recover: %s after %d attempts; want completed on the second", got[3].State, got[3].Attempt)
	}
	for _, j := range got {
		// WaitJob may answer from the store before the observer is told.
		waitTold(t, rg.obs, j.ID, j.State)
		if st := rg.obs.of(j.ID); len(st) == 0 || st[len(st)-1] != j.State {
			t.Errorf("job %s: states told %v, final %s", j.ID, st, j.State)
		}
	}
}

// TestPluginCancelRunning cancels a running real attempt: the process is
// asked to stop, the job ends canceled, and nothing is left running.
func TestPluginCancelRunning(t *testing.T) {
	rg := newPluginRig(t, 2)
	j := chaosJob("chaos.sleep", map[string]int{"ms": 60_000}, 3)
	if _, err := rg.e.Insert(context.Background(), backend.InsertParams{Jobs: []*model.Job{j}}); err != nil {
		t.Fatal(err)
	}
	waitTold(t, rg.obs, j.ID, model.Running)
	if _, err := rg.e.Request(context.Background(), backend.Request{Kind: backend.RequestCancel, ID: j.ID}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := rg.e.WaitJob(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != model.Canceled || got.Attempt != 1 {
		t.Errorf("canceled job: %s after %d attempts", got.State, got.Attempt)
	}
}

// waitTold waits until the observer was told that a job is in state.
func waitTold(t testing.TB, o *events, id string, state model.State) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		for _, s := range o.of(id) {
			if s == state {
				return
			}
		}
		select {
		case <-o.changed:
		case <-deadline:
			t.Fatalf("job %s never told %s (told %v)", id, state, o.of(id))
		}
	}
}

// BenchmarkPluginEndToEnd is `batchhost bench`'s end-to-end measure
// through this engine: b.N chaos.noop jobs on 8 workers, real plugin
// processes, fsync on, from one insert to the last finish.
func BenchmarkPluginEndToEnd(b *testing.B) {
	rg := newPluginRig(b, 8)
	warm := make([]*model.Job, 32)
	for i := range warm {
		warm[i] = chaosJob("chaos.noop", nil, 1)
	}
	rg.run(b, warm...)
	jobs := make([]*model.Job, b.N)
	for i := range jobs {
		jobs[i] = chaosJob("chaos.noop", nil, 1)
	}
	b.ResetTimer()
	rg.run(b, jobs...)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
	c, o := rg.q.Commits()
	b.ReportMetric(float64(o)/float64(max(c, 1)), "ops/commit")
}

// BenchmarkDispatchFromQueue measures how fast the engine dispatches
// from a deep queue: ENGINE_QUEUE_SCALE chaos.noop jobs (default 20,000)
// are stored before the engine starts, then it runs 8 workers and the
// benchmark reports the rate of the first 10,000 completions. Compare
// ENGINE_QUEUE_SCALE=1000000 with the default: dispatch should not slow
// down with the depth of the queue.
func BenchmarkDispatchFromQueue(b *testing.B) {
	depth := 20_000
	if v := os.Getenv("ENGINE_QUEUE_SCALE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10_000 {
			b.Fatalf("ENGINE_QUEUE_SCALE=%q: want a number of jobs, at least 10000", v)
		}
		depth = n
	}
	const measured = 10_000
	for range b.N {
		q, err := store.OpenQueue(filepath.Join(b.TempDir(), "q.db"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for done := 0; done < depth; {
			n := min(100_000, depth-done)
			jobs := make([]*model.Job, n)
			for i := range jobs {
				jobs[i] = chaosJob("chaos.noop", nil, 1)
				jobs[i].ID = newJobID()
			}
			if _, err := q.Insert(context.Background(), backend.InsertParams{Jobs: jobs}); err != nil {
				b.Fatal(err)
			}
			done += n
		}
		m, err := runner.Open(runner.Config{Dir: pluginDir, Logger: hclog.NewNullLogger(), KillGrace: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		obs := &finishCounter{at: measured, reached: make(chan struct{})}
		e := New(Config{Owner: "host-1", MaxWorkers: 8, PollInterval: 50 * time.Millisecond, Clock: realClock{}, Observer: obs}, q, NewPlugins(m))
		go e.Run()
		start := time.Now()
		e.Start()
		<-obs.reached
		rate := measured / time.Since(start).Seconds()
		b.ReportMetric(rate, "jobs/s")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = e.Stop(ctx, 10*time.Second)
		e.Close()
		_ = m.Close()
		_ = q.Close()
	}
}

// finishCounter is an observer that closes reached when at jobs finished.
type finishCounter struct {
	events
	mu      sync.Mutex
	n, at   int
	reached chan struct{}
}

func (f *finishCounter) Jobs(jobs []*model.Job, _ []model.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, j := range jobs {
		if j.State.Terminal() {
			f.n++
			if f.n == f.at {
				close(f.reached)
			}
		}
	}
}

// newJobID is an id as the host makes them.
func newJobID() string { return uuid.Must(uuid.NewV7()).String() }
