package host

import (
	"time"

	"github.com/batchhost/batchhost/host/internal/joblog"
	"github.com/batchhost/batchhost/host/internal/model"
)

// observer turns what the engine tells (after it is durable) into the
// host's events, published to the watchers' journal and, on a shared
// queue, to the other hosts' (relay). It never blocks.
type observer struct{ h *Host }

func (o observer) Jobs(jobs []*model.Job, prev []model.State) {
	now := o.h.cfg.Clock.Now()
	evs := make([]Event, 0, len(jobs))
	for i, j := range jobs {
		if j.State == prev[i] {
			continue // a write that changed the job but not its state (a cancel request to a running job)
		}
		evs = append(evs, Event{Type: EventJobState, Time: now, Job: j.ID, Task: j.Task, Group: j.Group,
			State: j.State, PrevState: prev[i], Attempt: j.Attempt, Error: toJobError(j.Error)})
	}
	o.h.publish(evs...)
}

func (o observer) Groups(groups []*model.Group) {
	now := o.h.cfg.Clock.Now()
	evs := make([]Event, len(groups))
	for i, g := range groups {
		st := o.h.groupStatus(g)
		evs[i] = Event{Type: EventGroup, Time: now, Group: g.ID, GroupStatus: &st}
	}
	o.h.publish(evs...)
}

func (o observer) Progress(j *model.Job, attempt int, p model.Progress, at time.Time) {
	pr := Progress(p)
	o.h.publish(Event{Type: EventJobProgress, Time: at, Job: j.ID, Task: j.Task, Group: j.Group, Attempt: attempt, Progress: &pr})
}

func (o observer) Log(j *model.Job, rec joblog.Record) {
	lr := LogRecord(rec)
	o.h.publish(Event{Type: EventJobLog, Time: rec.Time, Job: j.ID, Task: j.Task, Group: j.Group, Attempt: rec.Attempt, Log: &lr})
}

func (o observer) Fired(schedule string, at time.Time, job, skipped string) {
	o.h.publish(Event{Type: EventSchedule, Time: at, Schedule: schedule, Job: job, Skipped: skipped})
}

// publish gives this host's events to its watchers and, on a shared
// queue, to the other hosts'.
func (h *Host) publish(evs ...Event) {
	h.hub.publish(evs...)
	if h.relay != nil {
		h.relay.send(evs)
	}
}
