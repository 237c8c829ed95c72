package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/batchhost/batchhost/host"
)

func (d *demo) priorities() error {
	d.say("dispatch paused; submitting 3 low, 2 high and 1 critical job, in that order")
	if err := d.h.PauseDispatch(d.ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(d.ctx)
	defer cancel()
	events := d.h.Subscribe(ctx, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	name := map[string]string{}
	var ids []string
	for i, p := range []host.Priority{host.PriorityLow, host.PriorityLow, host.PriorityLow, host.PriorityHigh, host.PriorityHigh, host.PriorityCritical} {
		spec := sleep(50)
		spec.Priority = p
		id, err := d.submit(spec)
		if err != nil {
			return err
		}
		name[id] = fmt.Sprintf("%s#%d", p, i+1)
		ids = append(ids, id)
	}
	if err := d.h.ResumeDispatch(d.ctx); err != nil {
		return err
	}
	var order []string
	for e := range events {
		if e.State == host.StateRunning && name[e.Job] != "" {
			order = append(order, name[e.Job])
		}
		if len(order) == len(ids) {
			break
		}
	}
	d.say("start order: %v", order)
	want := []string{"critical#6", "high#4", "high#5", "low#1", "low#2", "low#3"}
	d.check(slices.Equal(order[:1], want[:1]), "the critical job started first")
	d.check(slices.Equal(order, want), "then high before low, first-in first-out within each priority")
	for _, id := range ids {
		if _, err := d.wait(id); err != nil {
			return err
		}
	}
	return nil
}

func (d *demo) sequentialGroup() error {
	g, err := d.h.CreateGroup(d.ctx, host.GroupSpec{Name: "nightly re-index", Sequential: true, CancelOnFailure: true})
	if err != nil {
		return err
	}
	d.say("group %q: sleep, fail (permanent), sleep, sleep", "nightly re-index")
	specs := []host.JobSpec{sleep(100), {Task: "chaos.fail", Args: map[string]any{"times": 1, "permanent": true}}, sleep(100), sleep(100)}
	for i := range specs {
		specs[i].Group = g
	}
	ids, err := d.h.SubmitMany(d.ctx, specs)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	gr, err := d.h.WaitGroup(ctx, g)
	if err != nil {
		return err
	}
	var states []host.State
	for _, id := range ids {
		j, err := d.h.Get(d.ctx, id)
		if err != nil {
			return err
		}
		states = append(states, j.State)
	}
	d.say("member states: %v; group outcome %q", states, gr.Outcome)
	d.check(slices.Equal(states, []host.State{host.StateCompleted, host.StateFailed, host.StateCanceled, host.StateCanceled}),
		"the first member ran, the second failed, the rest were canceled without running")
	d.check(gr.Done && gr.Outcome == "partial", "the group is done with a partial outcome")
	return nil
}

func (d *demo) chain() error {
	a, err := d.submit(host.JobSpec{Task: "chaos.echo", Args: map[string]string{"step": "extract"}})
	if err != nil {
		return err
	}
	b, err := d.submit(host.JobSpec{Task: "chaos.echo", Args: map[string]string{"step": "analyze"}, DependsOn: host.After(a)})
	if err != nil {
		return err
	}
	c, err := d.submit(host.JobSpec{Task: "chaos.echo", Args: map[string]string{"step": "categorize"}, DependsOn: host.After(b)})
	if err != nil {
		return err
	}
	var jobs []*host.Job
	for _, id := range []string{a, b, c} {
		j, err := d.wait(id)
		if err != nil {
			return err
		}
		jobs = append(jobs, j)
		d.say("%s -> %s", j.Args, j.State)
	}
	d.check(!jobs[1].StartedAt.Before(*jobs[0].FinishedAt) && !jobs[2].StartedAt.Before(*jobs[1].FinishedAt),
		"each step started only after the one it depends on finished")
	return nil
}

func (d *demo) crash() error {
	d.say("a job whose plugin panics on its first attempt, beside 6 sleeping jobs")
	crash, err := d.submit(host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 1, "crash": true}})
	if err != nil {
		return err
	}
	var others []string
	for range 6 {
		id, err := d.submit(sleep(150))
		if err != nil {
			return err
		}
		others = append(others, id)
	}
	j, err := d.wait(crash)
	if err != nil {
		return err
	}
	first := j.Attempts[0].Error
	if first != nil {
		d.say("attempt 1: %s: %s (%s)", first.Kind, first.Message, first.Exit)
	}
	d.check(first != nil && first.Kind == "plugin_crashed", "the crash failed only that attempt, recorded as plugin_crashed")
	d.check(j.State == host.StateCompleted && j.Attempt == 2, "the retry ran in a fresh plugin process and completed")
	ok := 0
	for _, id := range others {
		if o, err := d.wait(id); err == nil && o.State == host.StateCompleted {
			ok++
		}
	}
	d.check(ok == len(others), "all %d other jobs completed", len(others))
	return nil
}

func (d *demo) pauseResume() error {
	ctx, cancel := context.WithCancel(d.ctx)
	defer cancel()
	id, err := d.submit(host.JobSpec{Task: "chaos.progress", Args: map[string]int{"steps": 10, "ms": 60}})
	if err != nil {
		return err
	}
	events := d.h.Subscribe(ctx, host.EventFilter{Jobs: []string{id}})
	for e := range events {
		if e.Type == host.EventJobProgress && e.Progress.Fraction >= 0.3 {
			d.say("progress %.0f%% — pausing (the plugin process gets SIGSTOP)", e.Progress.Fraction*100)
			break
		}
	}
	if err := d.h.Pause(d.ctx, id); err != nil {
		return err
	}
	// A report already on its way when the stop landed may still arrive;
	// anything later than that would be progress made while paused.
	settled := time.Now().Add(100 * time.Millisecond)
	during := 0
	quiet := time.After(time.Second)
wait:
	for {
		select {
		case e := <-events:
			if e.Type == host.EventJobProgress && e.Time.After(settled) {
				during++
			}
		case <-quiet:
			break wait
		}
	}
	j, _ := d.h.Get(d.ctx, id)
	d.check(j.State == host.StatePaused && during == 0, "paused for 1s: state %s, no progress while paused", j.State)
	if err := d.h.Resume(d.ctx, id); err != nil {
		return err
	}
	j, err = d.wait(id)
	if err != nil {
		return err
	}
	d.check(j.State == host.StateCompleted && j.Attempt == 1, "resumed and completed in the same attempt")
	return nil
}

func (d *demo) restart() error {
	var specs []host.JobSpec
	for range 20 {
		specs = append(specs, sleep(300))
	}
	ids, err := d.h.SubmitMany(d.ctx, specs)
	if err != nil {
		return err
	}
	d.say("20 jobs submitted; closing the host while 2 of them run")
	ctx, cancel := context.WithCancel(d.ctx)
	events := d.h.Subscribe(ctx, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	for e := range events {
		if e.State == host.StateRunning {
			break
		}
	}
	cancel()
	if err := d.h.Close(); err != nil {
		return err
	}
	d.say("host closed; reopening the same data directory")
	if err := d.open(); err != nil {
		return err
	}
	done, interrupted := 0, 0
	for _, id := range ids {
		j, err := d.wait(id)
		if err != nil {
			return err
		}
		if j.State == host.StateCompleted {
			done++
		}
		for _, a := range j.Attempts {
			if a.Error != nil && a.Error.Kind == "interrupted" {
				interrupted++
			}
		}
	}
	d.check(done == len(ids), "all %d jobs completed after the restart (%d interrupted attempts ran again)", done, interrupted)
	return nil
}
