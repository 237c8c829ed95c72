package host

import (
	"slices"
	"strings"

	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/queue"
	"github.com/batchhost/batchhost/host/internal/store"
)

// recover rebuilds the engine's memory from the live jobs in the store and
// settles what a crash or stop left behind: attempts that were running
// were interrupted (the attempt counts, the retry policy decides); every
// other job resumes exactly where it was.
func (e *engine) recover(snap *store.Snapshot) error {
	for _, s := range snap.Schedules {
		if err := e.adoptSchedule(s); err != nil {
			e.problems = append(e.problems, err)
			e.log.Error("schedule not loaded", "error", err)
		}
	}
	e.rearmSchedules()
	for _, g := range snap.Groups {
		if g.Counts == nil {
			g.Counts = map[model.State]int{}
		}
		e.groups[g.ID] = &groupState{g: g, live: map[string]struct{}{}}
	}
	jobs := slices.Clone(snap.Jobs)
	// Oldest queued first keeps FIFO order across the restart.
	slices.SortFunc(jobs, func(a, b *model.Job) int {
		if c := a.QueuedAt.Compare(b.QueuedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	var all []*jobState
	for _, j := range jobs {
		js := &jobState{job: j}
		e.adopt(js)
		all = append(all, js)
		if j.Group != "" {
			gs, err := e.group(j.Group)
			if err != nil {
				e.log.Warn("job names a group that is gone", "job", j.ID, "group", j.Group)
				continue
			}
			gs.addLive(js)
		}
	}
	now := e.clock.Now()
	for _, js := range all {
		j := js.job
		switch {
		case j.State == model.Queued:
			e.queued++
			e.queue.Push(queue.Item{ID: j.ID, Task: j.Task, Level: j.Priority.Index(), NotBefore: j.RunAt}, now)
		case j.State == model.Running || (j.State == model.Paused && j.PausedFrom == model.Running):
			e.interrupted(js)
		}
	}
	// Dependencies: index every unfinished job under its unfinished
	// dependencies, and settle waiting jobs whose dependencies finished.
	for _, js := range all {
		e.linkAll(js)
	}
	for _, js := range all {
		j := js.job
		if len(j.DependsOn) == 0 || !(j.State == model.Waiting || j.State == model.Paused) {
			continue
		}
		r, err := e.readiness(j)
		if err != nil {
			return err
		}
		if r.Cancel != nil {
			e.cancelJob(js, r.Cancel)
			continue
		}
		js.unfinished = r.Unfinished
		if r.Unfinished == 0 && j.State == model.Waiting {
			e.setState(js, model.EvDepsReady, model.Queued)
		}
	}
	e.resolveCascade()
	return nil
}

// interrupted settles a job whose attempt was running when the host
// stopped: the attempt is recorded interrupted and counts.
func (e *engine) interrupted(js *jobState) {
	j := js.job
	jerr := &model.JobError{Kind: errkind.Interrupted, Message: "the host stopped while this attempt was running", Retryable: true}
	if n := len(j.Attempts); n > 0 && j.Attempts[n-1].FinishedAt.IsZero() {
		j.Attempts[n-1].FinishedAt = e.clock.Now()
		j.Attempts[n-1].Error = jerr
	}
	e.settle(js, jerr, 0)
}
