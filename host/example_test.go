package host_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/batchhost/batchhost/host"
)

// The examples run against the chaos test plugin that TestMain builds into
// pluginDir: chaos.echo returns its args, chaos.sleep waits, chaos.fail
// fails its first attempts.

// exampleHost opens and starts a host on a fresh data directory, as
// ExampleOpen shows; done closes it and removes the directory.
func exampleHost() (h *host.Host, done func()) {
	dir, err := os.MkdirTemp("", "batchhost-example-")
	if err != nil {
		log.Fatal(err)
	}
	h, err = host.Open(host.Config{DataDir: dir, PluginDir: pluginDir})
	if err != nil {
		log.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	return h, func() {
		if err := h.Close(); err != nil {
			log.Print(err)
		}
		os.RemoveAll(dir)
	}
}

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "batchhost-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The data directory holds the job database and the job logs; the
	// plugin directory holds the task plugin binaries.
	h, err := host.Open(host.Config{DataDir: dir, PluginDir: pluginDir})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()
	// Jobs are accepted from Open on; they run from Start on.
	if err := h.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	for _, t := range h.Tasks() {
		if t.Name == "chaos.echo" {
			fmt.Printf("%s is offered by plugin %s\n", t.Name, t.Plugin)
		}
	}
	// Output: chaos.echo is offered by plugin chaos
}

func ExampleHost_Submit() {
	h, done := exampleHost()
	defer done()
	ctx := context.Background()

	// Submit returns once the job is durable; it runs in the background.
	id, err := h.Submit(ctx, host.JobSpec{Task: "chaos.echo", Args: map[string]string{"greeting": "hello"}})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := h.Wait(ctx, id); err != nil {
		log.Fatal(err)
	}
	var out struct{ Greeting string }
	if err := h.Result(ctx, id, &out); err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.Greeting)
	// Output: hello
}

func ExampleHost_SubmitMany() {
	h, done := exampleHost()
	defer done()
	ctx := context.Background()

	// One durable commit for all of them: all are submitted, or none.
	specs := []host.JobSpec{
		{Task: "chaos.echo", Args: map[string]int{"n": 1}},
		{Task: "chaos.echo", Args: map[string]int{"n": 2}, Priority: host.PriorityHigh},
		{Task: "chaos.echo", Args: map[string]int{"n": 3}},
	}
	ids, err := h.SubmitMany(ctx, specs)
	if err != nil {
		log.Fatal(err)
	}
	for _, id := range ids {
		j, err := h.Wait(ctx, id)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(j.State, string(j.Result))
	}
	// A bad spec refuses the whole call, naming the job at fault.
	_, err = h.SubmitMany(ctx, []host.JobSpec{{Task: "chaos.echo"}, {Task: "chaos.nope"}})
	fmt.Println(err)
	// Output:
	// completed {"n":1}
	// completed {"n":2}
	// completed {"n":3}
	// job 2: task "chaos.nope": unknown task (the task list shows what the loaded plugins offer)
}

func ExampleHost_Wait() {
	h, done := exampleHost()
	defer done()
	ctx := context.Background()

	// chaos.fail fails its first attempt with a retryable error; the
	// backoff queues the second attempt 10ms later.
	id, err := h.Submit(ctx, host.JobSpec{
		Task:        "chaos.fail",
		Args:        map[string]int{"times": 1},
		MaxAttempts: 3,
		Backoff:     &host.Backoff{Initial: 10 * time.Millisecond},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Wait is woken by the job's end, not by polling; the job it returns
	// is the final, durable one.
	j, err := h.Wait(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s after %d attempts\n", j.State, j.Attempt)
	fmt.Println("attempt 1:", j.Attempts[0].Error.Kind)
	// Output:
	// completed after 2 attempts
	// attempt 1: task_error
}

func ExampleHost_Get() {
	h, done := exampleHost()
	defer done()
	ctx := context.Background()

	// Create records a job without submitting it: it can still join a
	// group or gain dependencies.
	id, err := h.Create(ctx, host.JobSpec{Task: "chaos.noop", Labels: map[string]string{"owner": "docs"}})
	if err != nil {
		log.Fatal(err)
	}
	j, err := h.Get(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(j.Task, j.State, j.Labels["owner"])

	_, err = h.Get(ctx, "01890a5d-ac96-774b-bcce-b302099a8057")
	fmt.Println(err)
	// Output:
	// chaos.noop created docs
	// job 01890a5d-ac96-774b-bcce-b302099a8057 not found
}

func ExampleHost_List() {
	h, done := exampleHost()
	defer done()
	ctx := context.Background()

	for _, batch := range []string{"a", "b", "a"} {
		if _, err := h.Create(ctx, host.JobSpec{Task: "chaos.noop", Labels: map[string]string{"batch": batch}}); err != nil {
			log.Fatal(err)
		}
	}
	// Jobs come newest first, one page at a time; next is "" after the
	// last page.
	jobs, next, err := h.List(ctx, host.ListFilter{Label: "batch=a", States: []host.State{host.StateCreated}, Limit: 10})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(jobs), "jobs of batch a; more pages:", next != "")
	// Output: 2 jobs of batch a; more pages: false
}

func ExampleHost_Cancel() {
	h, done := exampleHost()
	defer done()
	ctx := context.Background()

	id, err := h.Submit(ctx, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 60_000}})
	if err != nil {
		log.Fatal(err)
	}
	// A running attempt is asked to stop (and killed after the grace
	// period); the job is canceled once it has stopped.
	if err := h.Cancel(ctx, id); err != nil {
		log.Fatal(err)
	}
	j, err := h.Wait(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(j.State, "-", j.Error)
	// Canceling a finished job changes nothing and says so.
	err = h.Cancel(ctx, id)
	fmt.Println(errors.Is(err, host.ErrState))
	// Output:
	// canceled - canceled: canceled by request
	// true
}

func ExampleHost_CreateGroup() {
	h, done := exampleHost()
	defer done()
	ctx := context.Background()

	// In a sequential group each member runs after the one added before it.
	g, err := h.CreateGroup(ctx, host.GroupSpec{Name: "import", Sequential: true})
	if err != nil {
		log.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := h.Create(ctx, host.JobSpec{Task: "chaos.echo", Args: map[string]int{"step": i}, Group: g}); err != nil {
			log.Fatal(err)
		}
	}
	if err := h.SubmitGroup(ctx, g); err != nil {
		log.Fatal(err)
	}
	grp, err := h.WaitGroup(ctx, g)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(grp.Name, grp.Outcome, grp.Counts[host.StateCompleted], "of", len(grp.Jobs))
	// Output: import completed 3 of 3
}

func ExampleAfter() {
	h, done := exampleHost()
	defer done()
	ctx := context.Background()

	extract, err := h.Submit(ctx, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 1, "permanent": true}})
	if err != nil {
		log.Fatal(err)
	}
	// analyze waits for extract and is canceled if extract fails (the
	// default policy); cleanup runs once extract is finished, whatever
	// its outcome.
	analyze, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", DependsOn: host.After(extract)})
	if err != nil {
		log.Fatal(err)
	}
	cleanup, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", DependsOn: []host.Dep{{Job: extract, Policy: host.DepIgnore}}})
	if err != nil {
		log.Fatal(err)
	}
	a, err := h.Wait(ctx, analyze)
	if err != nil {
		log.Fatal(err)
	}
	c, err := h.Wait(ctx, cleanup)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("analyze:", a.State, a.Error.Kind, "named extract:", a.Error.Dependency == extract)
	fmt.Println("cleanup:", c.State)
	// Output:
	// analyze: canceled dependency_failed named extract: true
	// cleanup: completed
}

func ExampleHost_CreateSchedule() {
	h, done := exampleHost()
	defer done()
	ctx := context.Background()

	_, err := h.CreateSchedule(ctx, host.ScheduleSpec{
		Name:     "nightly-report",
		Cron:     "0 3 * * *",
		TimeZone: "Europe/Paris",
		Job:      host.JobSpec{Task: "chaos.echo", Args: map[string]string{"report": "daily"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Schedules are found by id or by name. TriggerSchedule fires one run
	// now, besides the cron times.
	id, err := h.TriggerSchedule(ctx, "nightly-report")
	if err != nil {
		log.Fatal(err)
	}
	j, err := h.Wait(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	s, err := h.GetSchedule(ctx, "nightly-report")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Name, s.Cron, s.TimeZone)
	fmt.Println(j.State, string(j.Result), j.Schedule == s.ID)
	// Output:
	// nightly-report 0 3 * * * Europe/Paris
	// completed {"report":"daily"} true
}
