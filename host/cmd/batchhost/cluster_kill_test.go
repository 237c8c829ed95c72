package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/internal/testbin"
)

// The jobs of the three-host test, by what their rules make of them.
type clusterWork struct {
	plain      []string            // all four priorities: sleep, flaky (fail once) and doomed (fail permanently)
	want       map[string]expected // the final state of every submitted job
	sequential [][]string          // members of sequential groups, in order
	cofGroups  []string            // cancel-on-failure groups
}

// expected is what a job must end as: its state, and for canceled jobs
// the error kind.
type expected struct {
	state host.State
	kind  host.ErrorKind
	// either: a cancel-on-failure member may complete before its group
	// fails, or be canceled by it.
	either bool
}

const clusterTTL = 3 * time.Second

// Three daemons (separate processes) share one PostgreSQL queue: 5,000
// jobs of all four priorities, sequential and cancel-on-failure groups,
// DAGs with cancel and ignore edges and an @every 1s schedule. The
// leader is SIGKILLed mid-run. Every job must reach the state its rules
// dictate and none may be lost; no job's attempts overlap (from the
// attempt records, which name the host of each); the dead host's running
// attempts are rescued within its lease TTL plus one leader tick (a
// third of the TTL); its plugin processes die; and no fire time of the
// schedule made two jobs.
func TestThreeHostsSurviveTheLeadersKill(t *testing.T) {
	db := migrated(t)
	args := []string{"--lease-ttl", clusterTTL.String(), "--max-workers", "4"}
	hosts := []*clusterHost{startClusterHost(t, db, args...), startClusterHost(t, db, args...), startClusterHost(t, db, args...)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	schedID, err := hosts[0].c.CreateSchedule(ctx, host.ScheduleSpec{Name: "every-second", Cron: "@every 1s", Job: host.JobSpec{Task: "chaos.noop"}})
	if err != nil {
		t.Fatal(err)
	}
	// The hosts start the work together, once it is all submitted.
	for _, h := range hosts {
		if err := h.c.PauseDispatch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	w := submitClusterWork(t, ctx, hosts)
	for _, h := range hosts {
		if err := h.c.ResumeDispatch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(w.want); n != 5000 {
		t.Fatalf("submitted %d jobs, want 5000", n)
	}

	// Kill the leader once a third of the work is done and it runs jobs.
	owners := map[string]*clusterHost{}
	var victim *clusterHost
	var victimOwner string
	hs, err := hosts[1].c.Hosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range hs {
		for _, h := range hosts {
			if h.pid() == s.PID {
				owners[s.Owner] = h
				if s.Leader {
					victim, victimOwner = h, s.Owner
				}
			}
		}
	}
	if len(owners) != 3 || victim == nil {
		t.Fatalf("hosts of the queue: %+v; want the three daemons, one leading", hs)
	}
	var last host.Stats
	defer func() {
		if t.Failed() {
			t.Logf("last stats: %+v\nleader's log:\n%s", last, victim.logText())
		}
	}()
	untilTrue(t, "a third of the jobs done and the leader running some", func() bool {
		st, err := hosts[1].c.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last = st
		if st.Counts[host.StateCompleted]+st.Counts[host.StateFailed]+st.Counts[host.StateCanceled] < 1700 {
			return false
		}
		for _, j := range allJobs(t, hosts[1].c, host.ListFilter{States: []host.State{host.StateRunning}}) {
			if n := len(j.Attempts); n > 0 && j.Attempts[n-1].Host == victimOwner {
				return true
			}
		}
		return false
	})
	plugins := pluginPIDs(victim.pid())
	killedAt := time.Now()
	if err := victim.proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.proc.cmd.Wait()
	var survivors []*clusterHost
	for _, h := range hosts {
		if h != victim {
			survivors = append(survivors, h)
		}
	}
	t.Logf("killed the leader (pid %d, %d plugin processes) with %d jobs to go", victim.pid(), len(plugins), remaining(t, survivors[0]))

	// Every job ends; Wait through a surviving host polls the shared queue.
	for id := range w.want {
		if _, err := survivors[len(id)%2].c.Wait(ctx, id); err != nil {
			t.Fatalf("wait %s: %v\n%s", id, err, survivors[0].logText())
		}
	}
	if err := survivors[0].c.DeleteSchedule(ctx, schedID); err != nil {
		t.Fatal(err)
	}
	fired := allJobs(t, survivors[0].c, host.ListFilter{Label: host.LabelSchedule + "=" + schedID})
	for _, j := range fired {
		if _, err := survivors[0].c.Wait(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, pid := range plugins {
		untilTrue(t, fmt.Sprintf("plugin %d of the killed host gone", pid), func() bool { return !alive(pid) })
	}

	all := allJobs(t, survivors[0].c, host.ListFilter{})
	byID := make(map[string]*host.Job, len(all))
	for _, j := range all {
		byID[j.ID] = j
	}
	// None lost, none made up: the stored jobs are those submitted and
	// those the schedule fired.
	if len(all) != len(w.want)+len(fired) {
		t.Errorf("%d jobs stored, want %d submitted + %d fired", len(all), len(w.want), len(fired))
	}
	checkFinalStates(t, w, byID)
	rescued, slowest := checkAttempts(t, all, owners, victimOwner, killedAt)
	if rescued == 0 {
		t.Errorf("no attempt of the killed host was rescued: the kill came when it ran nothing")
	}
	if bound := clusterTTL + clusterTTL/3 + time.Second; slowest > bound {
		t.Errorf("the slowest rescue came %s after the kill, want within the lease TTL %s plus one leader tick %s (and 1s for a loaded machine)",
			slowest, clusterTTL, clusterTTL/3)
	}
	checkSequentialGroups(t, w, byID)
	checkFireTimes(t, fired)

	for _, h := range survivors {
		h.stop(t)
	}
	for _, p := range testbin.Descendants(os.Getpid()) {
		if p.Cmd == "batchhost-plugi" || p.Cmd == "batchhost" {
			t.Errorf("process left behind: %+v", p)
		}
	}
	t.Logf("%d jobs (%d fired by the schedule) on three hosts; %d attempts of the killed leader rescued, the last %s after the kill (lease %s, tick %s)",
		len(all), len(fired), rescued, slowest.Round(time.Millisecond), clusterTTL, clusterTTL/3)
}

// submitClusterWork submits the 5,000 jobs, spread over the hosts.
func submitClusterWork(t *testing.T, ctx context.Context, hosts []*clusterHost) *clusterWork {
	t.Helper()
	w := &clusterWork{want: map[string]expected{}}
	retry := host.Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond}
	spec := func(task string, args any, prio host.Priority) host.JobSpec {
		return host.JobSpec{Task: task, Args: args, Priority: prio, MaxAttempts: 5, Backoff: &retry}
	}
	sleep := func(ms int) map[string]int { return map[string]int{"ms": ms} }
	doomed := map[string]any{"times": 99, "permanent": true}
	submit := func(i int, s host.JobSpec, e expected) string {
		id, err := hosts[i%len(hosts)].c.Submit(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		w.want[id] = e
		return id
	}
	completed := expected{state: host.StateCompleted}
	failed := expected{state: host.StateFailed}
	depCanceled := expected{state: host.StateCanceled, kind: host.ErrorKind("dependency_failed")}

	// 20 sequential groups of 10 and 10 cancel-on-failure groups of 20
	// (the 11th member fails for good).
	for g := range 20 {
		gid, err := hosts[g%3].c.CreateGroup(ctx, host.GroupSpec{Name: fmt.Sprintf("seq-%d", g), Sequential: true})
		if err != nil {
			t.Fatal(err)
		}
		var members []string
		for m := range 10 {
			s := spec("chaos.sleep", sleep(20), host.PriorityNormal)
			s.Group = gid
			members = append(members, submit(g+m, s, completed))
		}
		w.sequential = append(w.sequential, members)
	}
	for g := range 10 {
		gid, err := hosts[g%3].c.CreateGroup(ctx, host.GroupSpec{Name: fmt.Sprintf("cof-%d", g), CancelOnFailure: true})
		if err != nil {
			t.Fatal(err)
		}
		w.cofGroups = append(w.cofGroups, gid)
		for m := range 20 {
			s, e := spec("chaos.sleep", sleep(100), host.PriorityNormal), expected{either: true}
			if m == 10 {
				s, e = spec("chaos.fail", doomed, host.PriorityNormal), failed
			}
			s.Group = gid
			submit(g+m, s, e)
		}
	}
	// 50 DAGs: a fails, b completes; c (cancel edge on a) and f (on c)
	// are canceled, d (ignore edge on a), e (on b) and g (ignore a,
	// cancel b) complete.
	for d := range 50 {
		a := submit(d, spec("chaos.fail", doomed, host.PriorityHigh), failed)
		b := submit(d+1, spec("chaos.sleep", sleep(10), host.PriorityLow), completed)
		on := func(deps ...host.Dep) host.JobSpec {
			s := spec("chaos.noop", nil, host.PriorityNormal)
			s.DependsOn = deps
			return s
		}
		c := submit(d+2, on(host.Dep{Job: a, Policy: host.DepCancel}), depCanceled)
		submit(d, on(host.Dep{Job: a, Policy: host.DepIgnore}), completed)
		submit(d+1, on(host.Dep{Job: b, Policy: host.DepCancel}), completed)
		submit(d+2, on(host.Dep{Job: c, Policy: host.DepCancel}), depCanceled)
		submit(d, on(host.Dep{Job: a, Policy: host.DepIgnore}, host.Dep{Job: b, Policy: host.DepCancel}), completed)
	}
	// The rest are plain jobs in batches, all four priorities: most
	// sleep 20-60 ms, every 50th fails once and then completes, and every
	// 50th fails for good.
	prios := []host.Priority{host.PriorityLow, host.PriorityNormal, host.PriorityHigh, host.PriorityCritical}
	for batch := 0; len(w.want) < 5000; batch++ {
		var specs []host.JobSpec
		var wants []expected
		for i := 0; i < 500 && len(w.want)+len(specs) < 5000; i++ {
			prio := prios[i%4]
			switch i % 50 {
			case 7:
				specs, wants = append(specs, spec("chaos.fail", map[string]int{"times": 1}, prio)), append(wants, completed)
			case 13:
				specs, wants = append(specs, spec("chaos.fail", doomed, prio)), append(wants, failed)
			default:
				specs, wants = append(specs, spec("chaos.sleep", sleep(20+10*(i%5)), prio)), append(wants, completed)
			}
		}
		ids, err := hosts[batch%3].c.SubmitMany(ctx, specs)
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			w.want[id] = wants[i]
			w.plain = append(w.plain, id)
		}
	}
	return w
}

// checkFinalStates compares every job with what its rules dictate.
func checkFinalStates(t *testing.T, w *clusterWork, byID map[string]*host.Job) {
	t.Helper()
	canceledMembers := 0
	for id, e := range w.want {
		j, ok := byID[id]
		switch {
		case !ok:
			t.Errorf("job %s was lost", id)
		case e.either:
			if j.State == host.StateCanceled {
				canceledMembers++
			} else if j.State != host.StateCompleted {
				t.Errorf("cancel-on-failure member %s ended %s, want completed or canceled", id, j.State)
			}
		case j.State != e.state:
			t.Errorf("job %s (%s %s) ended %s, want %s; error %v", id, j.Task, j.Args, j.State, e.state, j.Error)
		case e.kind != "" && (j.Error == nil || j.Error.Kind != e.kind):
			t.Errorf("job %s ended %s with error %v, want kind %s", id, j.State, j.Error, e.kind)
		}
	}
	if canceledMembers == 0 {
		t.Errorf("no member of a cancel-on-failure group was canceled by its group's failure")
	}
}

// checkAttempts checks every job's attempt records: each names one of the
// three hosts and none overlaps the next. It returns how many attempts
// of the killed host were rescued and the latest rescue after the kill.
func checkAttempts(t *testing.T, all []*host.Job, owners map[string]*clusterHost, victim string, killedAt time.Time) (int, time.Duration) {
	t.Helper()
	rescued, slowest := 0, time.Duration(0)
	for _, j := range all {
		if p := noOverlap(j); p != "" {
			t.Errorf("job %s: %s", j.ID, p)
		}
		for _, a := range j.Attempts {
			if owners[a.Host] == nil {
				t.Errorf("job %s attempt %d ran on %q, not one of the three hosts", j.ID, a.Attempt, a.Host)
			}
			if a.Host != victim || a.Error == nil || a.Error.Kind != "interrupted" || a.FinishedAt == nil {
				continue
			}
			if a.StartedAt.After(killedAt) {
				t.Errorf("job %s attempt %d started on the killed host after the kill", j.ID, a.Attempt)
			}
			rescued++
			slowest = max(slowest, a.FinishedAt.Sub(killedAt))
		}
	}
	return rescued, slowest
}

// checkSequentialGroups checks that no member of a sequential group
// started before the one ahead of it ended, on whichever host each ran.
func checkSequentialGroups(t *testing.T, w *clusterWork, byID map[string]*host.Job) {
	t.Helper()
	for _, members := range w.sequential {
		for i := 1; i < len(members); i++ {
			prev, next := byID[members[i-1]], byID[members[i]]
			if prev == nil || next == nil || len(prev.Attempts) == 0 || len(next.Attempts) == 0 {
				continue // reported by checkFinalStates
			}
			end, start := prev.Attempts[len(prev.Attempts)-1].FinishedAt, next.Attempts[0].StartedAt
			if end == nil || end.After(start) {
				t.Errorf("sequential group %s: member %s started at %s before member %s ended (%v)", next.Group, next.ID, start, prev.ID, end)
			}
		}
	}
}

// checkFireTimes checks that the schedule fired, and never twice for one
// fire time, though three hosts fire it.
func checkFireTimes(t *testing.T, fired []*host.Job) {
	t.Helper()
	var times []string
	for _, j := range fired {
		ft := j.Labels[host.LabelFireTime]
		if ft == "" {
			t.Errorf("scheduled job %s has no %s label: %v", j.ID, host.LabelFireTime, j.Labels)
		}
		if slices.Contains(times, ft) {
			t.Errorf("fire time %s made two jobs", ft)
		}
		times = append(times, ft)
	}
	if len(fired) < 3 {
		b, _ := json.Marshal(times)
		t.Errorf("the @every 1s schedule fired %d times during the run: %s", len(fired), b)
	}
}

// remaining counts the jobs not yet done.
func remaining(t *testing.T, h *clusterHost) int {
	st, err := h.c.Stats(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for s, c := range st.Counts {
		if !s.Terminal() {
			n += c
		}
	}
	return n
}

// untilTrue polls a condition another process decides (a shared queue's
// state, /proc), failing after two minutes.
func untilTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after two minutes", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
