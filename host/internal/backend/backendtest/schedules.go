package backendtest

import (
	"encoding/json"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

var scheduleRules = []rule{
	{"PutReadDelete", testSchedulePut},
	{"FireOnce", testFire},
	{"FireQueuedBehind", testFireWaiting},
	{"FireAfterSeveralPassed", testFireCatchUp},
	{"Refusals", testScheduleRefusals},
}

func newSchedule(next time.Time) *model.Schedule {
	return &model.Schedule{ID: newID(), Name: "nightly", Spec: "@every 1m", TimeZone: "UTC",
		Template: model.JobTemplate{Task: taskA, Args: json.RawMessage(`{"x":1}`), Priority: model.High, MaxAttempts: 2,
			Labels: map[string]string{"from": "schedule"}, Backoff: &model.Backoff{Initial: time.Second, Multiplier: 2},
			Resources: &model.Resources{MilliCPU: 1500, MemoryMB: 800}},
		Overlap: model.OverlapSkip, Missed: model.MissedSkip, Jitter: time.Second, CreatedAt: T0, NextFire: next}
}

// firedJob is the job a schedule's firing at t inserts.
func firedJob(s *model.Schedule, t time.Time) *model.Job {
	return newJob(func(j *model.Job) {
		j.Schedule = s.ID
		j.Key = "schedule:" + s.ID + ":" + t.Format(time.RFC3339Nano)
		j.Priority = s.Template.Priority
		if r := s.Template.Resources; r != nil {
			j.Resources = *r
		}
	})
}

// testSchedulePut: schedules are stored as given (a template's declared
// needs, none declared apart from needing nothing), replaced, listed and
// deleted; their jobs stay.
func testSchedulePut(e *env) {
	a, b := newSchedule(at(60)), newSchedule(at(120))
	b.Name, b.Paused, b.Template.Resources = "hourly", true, &model.Resources{}
	for _, s := range []*model.Schedule{a, b} {
		if err := e.s.PutSchedule(e.ctx, s); err != nil {
			e.t.Fatalf("PutSchedule: %v", err)
		}
	}
	got, err := e.s.Schedule(e.ctx, a.ID)
	if err != nil || diff(a, got) != "" {
		e.t.Errorf("Schedule(a) (-put +got), %v:\n%s", err, diff(a, got))
	}
	a2 := newSchedule(at(90))
	a2.ID, a2.Spec = a.ID, "@every 30s"
	if err := e.s.PutSchedule(e.ctx, a2); err != nil {
		e.t.Fatal(err)
	}
	all, err := e.s.Schedules(e.ctx)
	if err != nil || diff([]*model.Schedule{a2, b}, all) != "" {
		e.t.Errorf("Schedules after replacing a (-want +got), %v:\n%s", err, diff([]*model.Schedule{a2, b}, all))
	}
	fr, err := e.s.Fire(e.ctx, backend.Fire{Schedule: a.ID, At: at(90), Next: at(120), Job: firedJob(a2, at(90)), Now: at(91)})
	if err != nil || !fr.Fired {
		e.t.Fatalf("Fire: %+v, %v", fr, err)
	}
	if err := e.s.DeleteSchedule(e.ctx, a.ID); err != nil {
		e.t.Fatal(err)
	}
	_, err = e.s.Schedule(e.ctx, a.ID)
	e.wantErr(err, backend.ErrNotFound, "Schedule after DeleteSchedule")
	e.wantState(fr.Job.ID, model.Queued, "a deleted schedule's job")
	e.wantErr(e.s.DeleteSchedule(e.ctx, a.ID), backend.ErrNotFound, "DeleteSchedule of a deleted schedule")
}

// testFire: a fire time is committed at most once, with its job; a stale
// time is not fired and changes nothing.
func testFire(e *env) {
	s := newSchedule(at(60))
	if err := e.s.PutSchedule(e.ctx, s); err != nil {
		e.t.Fatal(err)
	}
	j := firedJob(s, at(60))
	fr, err := e.s.Fire(e.ctx, backend.Fire{Schedule: s.ID, At: at(60), Next: at(120), Job: j, Now: at(61)})
	if err != nil || !fr.Fired {
		e.t.Fatalf("Fire at the stored NextFire: %+v, %v", fr, err)
	}
	stored, _ := e.s.Schedule(e.ctx, s.ID)
	if !stored.NextFire.Equal(at(120)) || !stored.LastFire.Equal(at(60)) || stored.LastJob != j.ID || diff(stored, fr.Schedule) != "" {
		e.t.Errorf("schedule after firing: next %v last %v job %q; want %v, %v, %s, and answered as stored", stored.NextFire, stored.LastFire, stored.LastJob, at(120), at(60), j.ID)
	}
	got := e.wantState(j.ID, model.Queued, "the fired job")
	if !got.QueuedAt.Equal(at(61)) || got.Schedule != s.ID || fr.Job == nil || fr.Job.ID != j.ID || got.Resources != *s.Template.Resources {
		e.t.Errorf("fired job: queued %v schedule %q needs %v answered %v; want %v, %s, %v, the job", got.QueuedAt, got.Schedule, got.Resources, fr.Job, at(61), s.ID, *s.Template.Resources)
	}
	e.unchanged("a second Fire of one time", func() {
		fr, err := e.s.Fire(e.ctx, backend.Fire{Schedule: s.ID, At: at(60), Next: at(120), Job: firedJob(s, at(60)), Now: at(62)})
		if err != nil || fr.Fired || fr.Job != nil {
			e.t.Errorf("second Fire of one time: fired %v job %v err %v; want not fired, no job, no error", fr.Fired, fr.Job, err)
		}
		if fr.Schedule == nil || !fr.Schedule.NextFire.Equal(at(120)) {
			e.t.Errorf("a Fire whose guard failed answered schedule %+v, want the stored one", fr.Schedule)
		}
	})
	// A skipped firing (no job) advances the schedule only.
	fr, err = e.s.Fire(e.ctx, backend.Fire{Schedule: s.ID, At: at(120), Next: time.Time{}, Now: at(121)})
	if err != nil || !fr.Fired || fr.Job != nil {
		e.t.Errorf("a skipped firing: %+v, %v; want fired without a job", fr, err)
	}
	stored, _ = e.s.Schedule(e.ctx, s.ID)
	if !stored.NextFire.IsZero() || !stored.LastFire.Equal(at(120)) || stored.LastJob != j.ID {
		e.t.Errorf("schedule after a skipped firing: next %v last %v job %q; want none, %v, %s", stored.NextFire, stored.LastFire, stored.LastJob, at(120), j.ID)
	}
}

// testFireWaiting: a firing whose job depends on the previous run (the
// queue overlap policy) records it as the schedule's waiting run.
func testFireWaiting(e *env) {
	s := newSchedule(at(60))
	s.Overlap = model.OverlapQueue
	if err := e.s.PutSchedule(e.ctx, s); err != nil {
		e.t.Fatal(err)
	}
	first := firedJob(s, at(60))
	if _, err := e.s.Fire(e.ctx, backend.Fire{Schedule: s.ID, At: at(60), Next: at(120), Job: first, Now: at(60)}); err != nil {
		e.t.Fatal(err)
	}
	second := firedJob(s, at(120))
	second.DependsOn = []model.Dep{{ID: first.ID, Policy: model.DepIgnore}}
	fr, err := e.s.Fire(e.ctx, backend.Fire{Schedule: s.ID, At: at(120), Next: at(180), Job: second, Now: at(120)})
	if err != nil || !fr.Fired {
		e.t.Fatalf("Fire of a queued-behind run: %+v, %v", fr, err)
	}
	if fr.Schedule.Waiting != second.ID || fr.Schedule.LastJob != second.ID {
		e.t.Errorf("schedule after a queued-behind run: waiting %q last job %q, want both %s", fr.Schedule.Waiting, fr.Schedule.LastJob, second.ID)
	}
	e.wantState(second.ID, model.Waiting, "a run queued behind an unfinished one")
	// An insert error fails the firing: nothing changes, the time stays.
	e.unchanged("a Fire whose job cannot be inserted", func() {
		bad := firedJob(s, at(180))
		bad.DependsOn = []model.Dep{{ID: newID(), Policy: model.DepCancel}}
		_, err := e.s.Fire(e.ctx, backend.Fire{Schedule: s.ID, At: at(180), Next: at(240), Job: bad, Now: at(180)})
		e.wantErr(err, backend.ErrNotFound, "Fire with a job depending on an unknown job")
	})
}

// testScheduleRefusals: empty ids, an unknown schedule and a fire
// without time are refused.
func testScheduleRefusals(e *env) {
	s := newSchedule(at(60))
	if err := e.s.PutSchedule(e.ctx, s); err != nil {
		e.t.Fatal(err)
	}
	e.unchanged("schedule refusals", func() {
		noID := newSchedule(at(60))
		noID.ID = ""
		e.wantErr(e.s.PutSchedule(e.ctx, noID), backend.ErrInvalid, "PutSchedule without id")
		e.wantErr(e.s.PutSchedule(e.ctx, nil), backend.ErrInvalid, "PutSchedule(nil)")
		e.wantErr(e.s.DeleteSchedule(e.ctx, ""), backend.ErrInvalid, "DeleteSchedule without id")
		e.wantErr(e.s.DeleteSchedule(e.ctx, newID()), backend.ErrNotFound, "DeleteSchedule of an unknown schedule")
		_, err := e.s.Schedule(e.ctx, "")
		e.wantErr(err, backend.ErrInvalid, "Schedule without id")
		_, err = e.s.Schedule(e.ctx, newID())
		e.wantErr(err, backend.ErrNotFound, "Schedule of an unknown id")
		_, err = e.s.Fire(e.ctx, backend.Fire{At: at(60), Now: at(60)})
		e.wantErr(err, backend.ErrInvalid, "Fire without schedule id")
		_, err = e.s.Fire(e.ctx, backend.Fire{Schedule: s.ID, Now: at(60)})
		e.wantErr(err, backend.ErrInvalid, "Fire without a fire time")
		_, err = e.s.Fire(e.ctx, backend.Fire{Schedule: newID(), At: at(60), Now: at(60)})
		e.wantErr(err, backend.ErrNotFound, "Fire of an unknown schedule")
	})
}

// testFireCatchUp: after a downtime several fire times have passed; the
// firing consumes the stored NextFire (Due) and records the latest time
// (At) as fired, once.
func testFireCatchUp(e *env) {
	s := newSchedule(at(60))
	if err := e.s.PutSchedule(e.ctx, s); err != nil {
		e.t.Fatal(err)
	}
	j := firedJob(s, at(300))
	fr, err := e.s.Fire(e.ctx, backend.Fire{Schedule: s.ID, Due: at(60), At: at(300), Next: at(360), Job: j, Now: at(330)})
	if err != nil || !fr.Fired || fr.Job == nil {
		e.t.Fatalf("Fire of the latest of several passed times (due %v, at %v): %+v, %v; want fired", at(60), at(300), fr, err)
	}
	stored, _ := e.s.Schedule(e.ctx, s.ID)
	if !stored.NextFire.Equal(at(360)) || !stored.LastFire.Equal(at(300)) || stored.LastJob != j.ID {
		e.t.Errorf("schedule after a catch-up firing: next %v last %v job %q; want %v, %v, %s", stored.NextFire, stored.LastFire, stored.LastJob, at(360), at(300), j.ID)
	}
	e.unchanged("a second catch-up Fire of the same due time", func() {
		fr, err := e.s.Fire(e.ctx, backend.Fire{Schedule: s.ID, Due: at(60), At: at(300), Next: at(360), Job: firedJob(s, at(300)), Now: at(331)})
		if err != nil || fr.Fired {
			e.t.Errorf("second Fire of one due time: fired %v err %v; want not fired", fr.Fired, err)
		}
	})
}
