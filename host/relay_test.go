package host_test

import (
	"slices"
	"testing"

	"github.com/batchhost/batchhost/host"
)

// A watcher on one host sees the work another host runs: its jobs'
// states in order, their progress and log records, its groups' events,
// as it would on the embedded store; a watcher of one job (or group)
// sees that job's. The watching host runs nothing itself; the events
// it relays are marked Remote.
func TestWatchersSeeOtherHostsEvents(t *testing.T) {
	db := migratedDatabase(t)
	watching, _ := openHost(t, func(c *host.Config) { c.Database = db })
	ctx := ctxT(t)
	if err := watching.PauseDispatch(ctx); err != nil {
		t.Fatal(err)
	}
	all := record(t, watching, host.EventFilter{})
	// (Closed without openHost's check for plugin processes: the
	// watching host's are there until its own close.)
	running, err := host.Open(host.Config{DataDir: t.TempDir(), PluginDir: pluginDir, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { running.Close() })
	if err := running.Start(ctx); err != nil {
		t.Fatal(err)
	}
	g, err := running.CreateGroup(ctx, host.GroupSpec{Name: "elsewhere", Sequential: true})
	if err != nil {
		t.Fatal(err)
	}
	first, err := running.Create(ctx, host.JobSpec{Task: "chaos.progress", Group: g, Args: map[string]int{"steps": 3, "ms": 1}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := running.Create(ctx, host.JobSpec{Task: "chaos.noop", Group: g})
	if err != nil {
		t.Fatal(err)
	}
	byJob := record(t, watching, host.EventFilter{Jobs: []string{first}})
	byGroup := record(t, watching, host.EventFilter{Groups: []string{g}, Types: []host.EventType{host.EventGroup}})
	if err := running.SubmitGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	evs := all.until(t, stateEvent(second, host.StateCompleted))
	var states []host.State
	var progress, logs int
	for _, e := range evs {
		if (e.Job == first || e.Job == second) && !e.Remote {
			t.Errorf("an event of a job run elsewhere is not marked remote: %+v", e)
		}
		switch {
		case e.Job == first && e.Type == host.EventJobState:
			states = append(states, e.State)
		case e.Job == first && e.Type == host.EventJobProgress:
			progress++
		case e.Job == first && e.Type == host.EventJobLog:
			logs++
		}
	}
	if !slices.Equal(states, []host.State{host.StateQueued, host.StateRunning, host.StateCompleted}) {
		t.Errorf("states of the job run elsewhere, as the watching host saw them: %v", states)
	}
	if progress < 3 || logs < 3 {
		t.Errorf("the watching host saw %d progress and %d log events of the job run elsewhere, want 3 of each at least", progress, logs)
	}
	mine := byJob.until(t, stateEvent(first, host.StateCompleted))
	for _, e := range mine {
		if e.Job != first {
			t.Fatalf("a watcher of one job got an event of %q: %+v", e.Job, e)
		}
	}
	byGroup.until(t, func(e host.Event) bool { return e.GroupStatus != nil && e.GroupStatus.Done })
	if j, err := watching.Get(ctx, second); err != nil || j.State != host.StateCompleted {
		t.Fatalf("the group's second job: %+v %v", j, err)
	}
}
