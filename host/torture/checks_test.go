package torture

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

// snapshot is every job and group the daemon has, read while it is
// quiet (see quiesce).
type snapshot struct {
	jobs   map[string]*host.Job // by id
	byKey  map[string][]*host.Job
	groups []*host.Group
	stats  host.Stats
}

func listAll(ctx context.Context, c *control.Client) (*snapshot, error) {
	s := &snapshot{jobs: map[string]*host.Job{}, byKey: map[string][]*host.Job{}}
	for before := ""; ; {
		page, next, err := c.List(ctx, host.ListFilter{Limit: 1000, Before: before})
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		for _, j := range page {
			if s.jobs[j.ID] != nil {
				return nil, fmt.Errorf("list returned job %s twice", j.ID)
			}
			s.jobs[j.ID] = j
			s.byKey[j.Key] = append(s.byKey[j.Key], j)
		}
		if next == "" {
			break
		}
		before = next
	}
	for before := ""; ; {
		page, next, err := c.ListGroups(ctx, before, 1000)
		if err != nil {
			return nil, fmt.Errorf("list groups: %w", err)
		}
		// A listed group has no members in it (Jobs): get each.
		for _, g := range page {
			full, err := c.GetGroup(ctx, g.ID)
			if err != nil {
				return nil, fmt.Errorf("get listed group %s: %w", g.ID, err)
			}
			s.groups = append(s.groups, full)
		}
		if next == "" {
			break
		}
		before = next
	}
	var err error
	if s.stats, err = c.Stats(ctx); err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return s, nil
}

// quiesce stops the daemon's changes that the checks must not race: it
// pauses dispatch (not persisted: a restarted daemon dispatches again)
// and the schedule, then waits, woken by job events, until no job is
// running. A job paused while running stays paused, and nothing else
// moves until dispatch resumes.
func quiesce(ctx context.Context, c *control.Client, schedule string) error {
	if err := c.PauseDispatch(ctx); err != nil {
		return fmt.Errorf("pause dispatch: %w", err)
	}
	if err := c.PauseSchedule(ctx, schedule); err != nil {
		return fmt.Errorf("pause schedule: %w", err)
	}
	w, err := c.Watch(ctx, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer w.Close()
	for {
		running, _, err := c.List(ctx, host.ListFilter{States: []host.State{host.StateRunning}, Limit: 1})
		if err != nil {
			return fmt.Errorf("list running: %w", err)
		}
		if len(running) == 0 {
			return nil
		}
		if _, err := w.Recv(); err != nil {
			return fmt.Errorf("job %s still running (%w)", running[0].ID, err)
		}
	}
}

// resume undoes quiesce.
func resume(ctx context.Context, c *control.Client, schedule string) error {
	if err := c.ResumeSchedule(ctx, schedule); err != nil {
		return fmt.Errorf("resume schedule: %w", err)
	}
	if err := c.ResumeDispatch(ctx); err != nil {
		return fmt.Errorf("resume dispatch: %w", err)
	}
	return nil
}

// resolve settles the submits whose answer a kill lost. A batch must be
// all there or not at all (SubmitMany is one commit). Each is sent again
// with its keys: a job that was committed must come back with its id, one
// that was not is made now; either way it is acknowledged from here on.
func resolve(ctx context.Context, c *control.Client, led *ledger, s *snapshot) []string {
	var problems []string
	for _, call := range led.takePending() {
		there := 0
		for _, j := range call.jobs {
			if len(s.byKey[j.key]) > 0 {
				there++
			}
		}
		if call.batch && there != 0 && there != len(call.jobs) {
			problems = append(problems, fmt.Sprintf("a SubmitMany of %d jobs in flight at a kill is there in part: %d jobs", len(call.jobs), there))
		}
		led.mu.Lock()
		led.unknownCommitted += there
		led.unknownLost += len(call.jobs) - there
		if call.batch {
			led.unknownBatches++
			if there > 0 {
				led.batchesCommitted++
			}
		}
		led.mu.Unlock()
		var ids []string
		var err error
		if call.batch {
			ids, err = c.SubmitMany(ctx, led.specs(call.jobs))
		} else {
			var id string
			id, err = c.Submit(ctx, call.jobs[0].spec)
			ids = []string{id}
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("submitting again the %d jobs of a call in flight at a kill (keys %s...): %v", len(call.jobs), call.jobs[0].key, err))
			continue
		}
		for i, j := range call.jobs {
			if have := s.byKey[j.key]; len(have) > 0 && have[0].ID != ids[i] {
				problems = append(problems, fmt.Sprintf("key %s is job %s, but submitting it again answered %s", j.key, have[0].ID, ids[i]))
			}
		}
		if err := led.ack(call.jobs, ids); err != nil {
			problems = append(problems, err.Error())
		}
	}
	return problems
}

// findings is what one check found, and what it counted.
type findings struct {
	problems  []string
	jobs      int
	attempts  int
	scheduled int
	groups    int
}

func (f *findings) addf(format string, args ...any) {
	if len(f.problems) < 50 {
		f.problems = append(f.problems, fmt.Sprintf(format, args...))
	} else if len(f.problems) == 50 {
		f.problems = append(f.problems, "(more problems left out)")
	}
}

// check runs the torture test's invariants on a quiet daemon. final adds
// that every job is finished.
func check(ctx context.Context, c *control.Client, led *ledger, schedule string, s *snapshot, final bool) *findings {
	f := &findings{jobs: len(s.jobs), groups: len(s.groups)}
	led.mu.Lock()
	defer led.mu.Unlock()

	// Every acknowledged id exists, as it was sent.
	for _, id := range led.acked {
		sent := led.byID[id]
		j := s.jobs[id]
		if j == nil {
			_, err := c.Get(ctx, id)
			f.addf("acknowledged job %s (key %s, %s) is not listed (get: %v)", id, sent.key, sent.spec.Task, err)
			continue
		}
		if j.Key != sent.key || j.Task != sent.spec.Task || j.Group != sent.spec.Group || !sameDeps(j, sent.spec, led) {
			f.addf("job %s is %s key %q group %q with deps %v; was sent as %s key %q group %q with deps %v",
				id, j.Task, j.Key, j.Group, j.DependsOn, sent.spec.Task, sent.key, sent.spec.Group, sent.spec.DependsOn)
		}
	}

	// Nothing exists that was not sent: each job is an acknowledged one
	// (after resolve, every one sent is) or a firing of the schedule; no
	// key is on two jobs.
	fires := map[string]string{}
	counts := map[host.State]int{}
	for id, j := range s.jobs {
		counts[j.State]++
		f.attempts += len(j.Attempts)
		if len(s.byKey[j.Key]) > 1 {
			f.addf("key %q is on %d jobs", j.Key, len(s.byKey[j.Key]))
		}
		switch {
		case j.Schedule != "":
			f.scheduled++
			fire := j.Labels[host.LabelFireTime]
			if j.Schedule != schedule || j.Labels[host.LabelSchedule] != schedule || fire == "" || !strings.HasPrefix(j.Key, "schedule:"+schedule+":") {
				f.addf("job %s claims schedule %q (label %q, fire time %q, key %q); the only schedule is %s",
					id, j.Schedule, j.Labels[host.LabelSchedule], fire, j.Key, schedule)
			}
			// No schedule fire time made two jobs.
			if other, dup := fires[fire]; dup {
				f.addf("fire time %s of the schedule made two jobs: %s and %s", fire, other, id)
			}
			fires[fire] = id
		case led.jobs[j.Key] == nil:
			f.addf("job %s (%s, key %q) was never sent", id, j.Task, j.Key)
		case led.jobs[j.Key].id != id:
			f.addf("job %s has key %s, which was acknowledged as %s", id, j.Key, led.jobs[j.Key].id)
		}

		// No two attempts of one job overlap; only the last can be open,
		// and none once the job is finished.
		for i, a := range j.Attempts {
			if a.FinishedAt != nil && a.FinishedAt.Before(a.StartedAt) {
				f.addf("job %s attempt %d finished (%s) before it started (%s)", id, a.Attempt, a.FinishedAt, a.StartedAt)
			}
			if a.FinishedAt == nil && (i < len(j.Attempts)-1 || j.Done()) {
				f.addf("job %s (%s) attempt %d of %d has no end", id, j.State, a.Attempt, len(j.Attempts))
			}
			if i > 0 {
				prev := j.Attempts[i-1]
				if prev.FinishedAt != nil && prev.FinishedAt.After(a.StartedAt) {
					f.addf("job %s attempts overlap: attempt %d ran %s to %s, attempt %d started %s",
						id, prev.Attempt, prev.StartedAt, prev.FinishedAt, a.Attempt, a.StartedAt)
				}
			}
		}
		if final && !j.Done() {
			f.addf("job %s (%s) is %s at the end", id, j.Task, j.State)
		}
	}

	// Group counts equal their members' states; members are the jobs
	// sent into the group; every group was sent, once.
	members := map[string][]*host.Job{}
	for _, j := range s.jobs {
		if j.Group != "" {
			members[j.Group] = append(members[j.Group], j)
		}
	}
	names := map[string]bool{}
	for _, g := range s.groups {
		sent := led.groups[g.Name]
		switch {
		case sent == nil:
			f.addf("group %s (%q) was never sent", g.ID, g.Name)
			continue
		case names[g.Name]:
			f.addf("group name %q is on two groups", g.Name)
		case sent.id != "" && sent.id != g.ID:
			f.addf("group %q is %s, acknowledged as %s", g.Name, g.ID, sent.id)
		case sent.id == "" && len(g.Jobs) > 0:
			f.addf("group %s (%q), whose creation was never acknowledged, has %d jobs", g.ID, g.Name, len(g.Jobs))
		}
		names[g.Name] = true
		want := map[host.State]int{}
		var ids []string
		for _, m := range members[g.ID] {
			want[m.State]++
			ids = append(ids, m.ID)
		}
		got := slices.Clone(g.Jobs)
		slices.Sort(got)
		slices.Sort(ids)
		if !slices.Equal(got, ids) {
			f.addf("group %s lists %d members %v; %d jobs are in it %v", g.ID, len(got), got, len(ids), ids)
		}
		if !sameCounts(g.Counts, want) {
			f.addf("group %s counts %v; its members are %v", g.ID, g.Counts, want)
		}
	}
	for name, g := range led.groups {
		if g.id != "" && !names[name] {
			f.addf("acknowledged group %s (%q) is not listed", g.id, name)
		}
	}

	// stats equals list, per state.
	if !sameCounts(s.stats.Counts, counts) {
		f.addf("stats counts %v; list counts %v", s.stats.Counts, counts)
	}

	// A completed job's cancel-edge dependencies completed; its
	// ignore-edge ones are finished.
	if final {
		for id, j := range s.jobs {
			if j.State != host.StateCompleted {
				continue
			}
			for _, d := range j.DependsOn {
				dep := s.jobs[d.Job]
				switch {
				case dep == nil:
					f.addf("job %s depends on %s, which is not there", id, d.Job)
				case d.Policy == host.DepIgnore && !dep.Done():
					f.addf("job %s completed; its dependency %s (ignore) is %s", id, d.Job, dep.State)
				case d.Policy != host.DepIgnore && dep.State != host.StateCompleted:
					f.addf("job %s completed; its dependency %s (cancel) is %s", id, d.Job, dep.State)
				}
			}
		}
	}
	return f
}

// sameDeps reports whether job j has the dependencies it was sent with,
// and at most one more: a sequential group's member depends on the one
// added before it.
func sameDeps(j *host.Job, spec host.JobSpec, led *ledger) bool {
	extra := 0
	for _, d := range j.DependsOn {
		if slices.Contains(spec.DependsOn, d) {
			continue
		}
		extra++
		if g := led.groupByID(j.Group); extra > 1 || g == nil || !g.spec.Sequential || d.Policy == host.DepIgnore {
			return false
		}
	}
	return len(j.DependsOn)-extra == len(spec.DependsOn)
}

func sameCounts(a, b map[host.State]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}
