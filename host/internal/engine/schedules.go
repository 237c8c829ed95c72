package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/cronspec"
	"github.com/batchhost/batchhost/host/internal/model"
)

// RunBuilder builds the job of one firing of a schedule: manual for a
// trigger, deps for a run queued behind an unfinished one. The host
// supplies it (job ids, defaults and labels are the host's).
type RunBuilder func(s *model.Schedule, at time.Time, manual bool, deps []model.Dep) (*model.Job, error)

// schedules holds the schedules in memory (they are few) with their
// parsed specs. op serializes every change, so that the loop's firings
// and API calls never write over each other.
type schedules struct {
	op        sync.Mutex
	mu        sync.Mutex
	byID      map[string]*schedState
	startedAt time.Time // when Start last began: fire times before it were missed
	build     RunBuilder
	// notBefore holds firing back after the shared store did not
	// answer, so that an outage is not a loop of failing fires.
	notBefore time.Time
}

type schedState struct {
	s    *model.Schedule
	spec *cronspec.Spec
}

// SetRunBuilder sets how firings build their jobs; call before Run.
func (e *Engine) SetRunBuilder(b RunBuilder) { e.sched.build = b }

// LoadSchedules reads the stored schedules; one whose spec no longer
// parses (a time zone gone from the system) is left out and reported.
func (e *Engine) LoadSchedules(ctx context.Context) []error {
	all, err := e.store.Schedules(ctx)
	if err != nil {
		return []error{err}
	}
	var problems []error
	e.sched.mu.Lock()
	defer e.sched.mu.Unlock()
	for _, s := range all {
		cs, err := cronspec.Parse(s.Spec, s.TimeZone)
		if err != nil {
			problems = append(problems, fmt.Errorf("schedule %q: %w", s.Name, err))
			continue
		}
		e.sched.byID[s.ID] = &schedState{s: s, spec: cs}
	}
	return problems
}

// CreateSchedule stores a new schedule. It returns after a round of the
// loop, so the schedule's timer is armed when it returns.
func (e *Engine) CreateSchedule(ctx context.Context, s *model.Schedule) error {
	if err := e.createSchedule(ctx, s); err != nil {
		return err
	}
	e.Round()
	return nil
}

func (e *Engine) createSchedule(ctx context.Context, s *model.Schedule) error {
	if !e.HasTask(s.Template.Task) {
		return fmt.Errorf("task %q: %w", s.Template.Task, ErrUnknownTask)
	}
	if s.Template.Group != "" {
		if _, err := e.store.Group(ctx, s.Template.Group); err != nil {
			return err
		}
	}
	cs, err := cronspec.Parse(s.Spec, s.TimeZone)
	if err != nil {
		return kindErr(backend.ErrInvalid, "schedule %q: %v", s.Name, err)
	}
	e.sched.op.Lock()
	defer e.sched.op.Unlock()
	e.sched.mu.Lock()
	for _, ss := range e.sched.byID {
		if ss.s.Name == s.Name {
			e.sched.mu.Unlock()
			return kindErr(backend.ErrInvalid, "a schedule named %q already exists (%s)", s.Name, ss.s.ID)
		}
	}
	// Lookups try ids before names: a name equal to another schedule's id
	// could never be reached by its name.
	if _, ok := e.sched.byID[s.Name]; ok {
		e.sched.mu.Unlock()
		return kindErr(backend.ErrInvalid, "schedule name %q is another schedule's id", s.Name)
	}
	e.sched.mu.Unlock()
	if err := e.store.PutSchedule(ctx, s); err != nil {
		e.fail(err)
		return err
	}
	e.sched.mu.Lock()
	e.sched.byID[s.ID] = &schedState{s: s, spec: cs}
	e.sched.mu.Unlock()
	return nil
}

// find returns a schedule by id, or else by name; the caller holds mu.
func (sc *schedules) find(idOrName string) (*schedState, error) {
	if ss := sc.byID[idOrName]; ss != nil {
		return ss, nil
	}
	for _, ss := range sc.byID {
		if ss.s.Name == idOrName {
			return ss, nil
		}
	}
	return nil, kindErr(backend.ErrNotFound, "schedule %s not found", idOrName)
}

// ScheduleView is a schedule with its next fire times.
type ScheduleView struct {
	S    *model.Schedule
	Next []time.Time // up to five, none while paused
}

func (ss *schedState) view() ScheduleView {
	v := ScheduleView{S: cloneSchedule(ss.s)}
	if !ss.s.Paused {
		for t, i := ss.s.NextFire, 0; !t.IsZero() && i < 5; t, i = ss.spec.Next(t), i+1 {
			v.Next = append(v.Next, t)
		}
	}
	return v
}

func cloneSchedule(s *model.Schedule) *model.Schedule {
	c := *s
	return &c
}

// Schedule returns one schedule by id or name.
func (e *Engine) Schedule(idOrName string) (ScheduleView, error) {
	e.sched.mu.Lock()
	defer e.sched.mu.Unlock()
	ss, err := e.sched.find(idOrName)
	if err != nil {
		return ScheduleView{}, err
	}
	return ss.view(), nil
}

// Schedules returns every schedule, by name.
func (e *Engine) Schedules() []ScheduleView {
	e.sched.mu.Lock()
	defer e.sched.mu.Unlock()
	out := make([]ScheduleView, 0, len(e.sched.byID))
	for _, ss := range e.sched.byID {
		out = append(out, ss.view())
	}
	slices.SortFunc(out, func(a, b ScheduleView) int { return strings.Compare(a.S.Name, b.S.Name) })
	return out
}

// UpdateSchedule changes a schedule with fn (which may refuse with an
// error) and stores it; it returns after a round of the loop.
func (e *Engine) UpdateSchedule(ctx context.Context, idOrName string, fn func(s *model.Schedule, spec *cronspec.Spec) error) error {
	if err := e.updateSchedule(ctx, idOrName, fn); err != nil {
		return err
	}
	e.Round()
	return nil
}

func (e *Engine) updateSchedule(ctx context.Context, idOrName string, fn func(s *model.Schedule, spec *cronspec.Spec) error) error {
	e.sched.op.Lock()
	defer e.sched.op.Unlock()
	e.sched.mu.Lock()
	ss, err := e.sched.find(idOrName)
	var s *model.Schedule
	if err == nil {
		s = cloneSchedule(ss.s)
		err = fn(s, ss.spec)
	}
	e.sched.mu.Unlock()
	if err != nil {
		return err
	}
	if err := e.store.PutSchedule(ctx, s); err != nil {
		e.fail(err)
		return err
	}
	e.sched.mu.Lock()
	ss.s = s
	e.sched.mu.Unlock()
	return nil
}

// PauseSchedule stops a schedule's firings.
func (e *Engine) PauseSchedule(ctx context.Context, idOrName string) error {
	return e.UpdateSchedule(ctx, idOrName, func(s *model.Schedule, _ *cronspec.Spec) error {
		if s.Paused {
			return stateErr("schedule %q is already paused", s.Name)
		}
		s.Paused = true
		return nil
	})
}

// ResumeSchedule restarts a schedule's firings from now.
func (e *Engine) ResumeSchedule(ctx context.Context, idOrName string) error {
	return e.UpdateSchedule(ctx, idOrName, func(s *model.Schedule, spec *cronspec.Spec) error {
		if !s.Paused {
			return stateErr("schedule %q is not paused", s.Name)
		}
		s.Paused = false
		s.NextFire = spec.Next(e.cfg.Clock.Now())
		return nil
	})
}

// DeleteSchedule removes a schedule; its jobs stay.
func (e *Engine) DeleteSchedule(ctx context.Context, idOrName string) error {
	e.sched.op.Lock()
	defer e.sched.op.Unlock()
	e.sched.mu.Lock()
	ss, err := e.sched.find(idOrName)
	e.sched.mu.Unlock()
	if err != nil {
		return err
	}
	if err := e.store.DeleteSchedule(ctx, ss.s.ID); err != nil {
		return err
	}
	e.sched.mu.Lock()
	delete(e.sched.byID, ss.s.ID)
	e.sched.mu.Unlock()
	return nil
}

// TriggerSchedule fires a schedule now, outside its times (its overlap
// policy does not apply); it returns the job.
func (e *Engine) TriggerSchedule(ctx context.Context, idOrName string) (string, error) {
	e.sched.op.Lock()
	defer e.sched.op.Unlock()
	e.sched.mu.Lock()
	ss, err := e.sched.find(idOrName)
	var s *model.Schedule
	if err == nil {
		s = cloneSchedule(ss.s)
	}
	e.sched.mu.Unlock()
	if err != nil {
		return "", err
	}
	now := e.cfg.Clock.Now()
	j, err := e.sched.build(s, now, true, nil)
	if err != nil {
		return "", err
	}
	ins, err := e.Insert(ctx, backend.InsertParams{Now: now, Jobs: []*model.Job{j}})
	if err != nil {
		return "", err
	}
	s.LastJob = ins[0].Job.ID
	if err := e.store.PutSchedule(ctx, s); err != nil {
		e.fail(err)
		return "", err
	}
	e.sched.mu.Lock()
	ss.s = s
	e.sched.mu.Unlock()
	e.obs.Fired(s.ID, now, ins[0].Job.ID, "")
	return ins[0].Job.ID, nil
}

// next is the earliest fire time of the unpaused schedules.
func (sc *schedules) next() time.Time {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	var next time.Time
	for _, ss := range sc.byID {
		if ss.s.Paused || ss.s.NextFire.IsZero() {
			continue
		}
		if next.IsZero() || ss.s.NextFire.Before(next) {
			next = ss.s.NextFire
		}
	}
	if !next.IsZero() && next.Before(sc.notBefore) {
		next = sc.notBefore
	}
	return next
}

// fireDue fires every schedule whose time has come. Several fire times
// that passed at once mean the host was down (or stalled): the missed-run
// policy decides whether the latest of them fires.
//
// It returns the firing events, for the loop to publish once the next
// timer is armed (a watcher of the events may look at the timer).
func (e *Engine) fireDue() (events []func()) {
	e.mu.Lock()
	ok := e.running && !e.stopping && e.failed == nil
	e.mu.Unlock()
	if !ok || e.sched.build == nil {
		return nil
	}
	now := e.cfg.Clock.Now()
	if n := e.sched.next(); n.IsZero() || now.Before(n) {
		return nil
	}
	e.sched.op.Lock()
	defer e.sched.op.Unlock()
	e.sched.mu.Lock()
	var due []*schedState
	for _, ss := range e.sched.byID {
		if !ss.s.Paused && !ss.s.NextFire.IsZero() && !ss.s.NextFire.After(now) {
			due = append(due, ss)
		}
	}
	slices.SortFunc(due, func(a, b *schedState) int { return strings.Compare(a.s.Name, b.s.Name) })
	startedAt := e.sched.startedAt
	e.sched.mu.Unlock()
	for _, ss := range due {
		if ev := e.fireOne(ss, now, startedAt); ev != nil {
			events = append(events, ev)
		}
	}
	return events
}

func (e *Engine) fireOne(ss *schedState, now, startedAt time.Time) func() {
	e.sched.mu.Lock()
	s := cloneSchedule(ss.s)
	e.sched.mu.Unlock()
	latest, missed := latestDue(s.NextFire, ss.spec, now)
	if latest.Before(startedAt) {
		missed++ // its time passed while the host was down
	}
	f := backend.Fire{Schedule: s.ID, Due: s.NextFire, At: latest, Next: ss.spec.Next(latest), Now: now, MaxQueued: e.cfg.MaxQueueSize}
	skipped := ""
	if missed == 0 || s.Missed == model.MissedSkip {
		var deps []model.Dep
		var err error
		deps, skipped, err = e.overlap(s)
		if err == nil && skipped == "" {
			f.Job, err = e.sched.build(s, latest, false, deps)
			f.Waiting = deps != nil
		}
		if err != nil {
			skipped = err.Error()
		}
	} else {
		skipped = fmt.Sprintf("%d missed firings not run (missed-run policy none)", missed)
	}
	res, err := e.store.Fire(context.Background(), f)
	if err != nil && f.Job != nil && !backend.Down(err) {
		// The run was refused (queue full, a group gone): record the
		// firing as skipped, with why.
		skipped = err.Error()
		f.Job, f.Waiting = nil, false
		res, err = e.store.Fire(context.Background(), f)
	}
	if unavailable(err) {
		e.storeDown("firing a schedule", err)
		e.sched.mu.Lock()
		e.sched.notBefore = now.Add(time.Second)
		e.sched.mu.Unlock()
		return nil
	}
	if err != nil {
		e.log.Error("firing a schedule failed", "schedule", s.ID, "error", err)
		e.fail(err)
		return nil
	}
	if res.Schedule != nil {
		e.sched.mu.Lock()
		ss.s = res.Schedule
		e.sched.mu.Unlock()
	}
	if !res.Fired {
		return nil // another firer committed this time
	}
	job := ""
	if res.Job != nil {
		job = res.Job.ID
		if res.Job.State != model.Created {
			e.observe(backend.Changes{Jobs: []*model.Job{res.Job}, Prev: []model.State{model.Created}})
		}
		e.Wake()
	}
	return func() { e.obs.Fired(s.ID, latest, job, skipped) }
}

// overlap applies a schedule's overlap policy: the run waits behind the
// unfinished previous one (deps), or the firing is skipped (why).
func (e *Engine) overlap(s *model.Schedule) ([]model.Dep, string, error) {
	if s.Overlap == model.OverlapAllow || s.LastJob == "" {
		return nil, "", nil
	}
	last, err := e.store.Job(context.Background(), s.LastJob)
	if errors.Is(err, backend.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	if last.State.Terminal() {
		return nil, "", nil
	}
	if s.Overlap == model.OverlapSkip {
		return nil, "previous run " + s.LastJob + " is unfinished", nil
	}
	if s.Waiting != "" {
		if w, err := e.store.Job(context.Background(), s.Waiting); err == nil && waitsToRun(w) {
			return nil, "a run already waits behind the unfinished one", nil
		}
	}
	return []model.Dep{{ID: s.LastJob, Policy: model.DepIgnore}}, "", nil
}

// waitsToRun reports whether a job has not started yet.
func waitsToRun(j *model.Job) bool {
	switch j.State {
	case model.Created, model.Waiting, model.Queued:
		return true
	case model.Paused:
		return j.PausedFrom != model.Running
	}
	return false
}

// latestDue returns the last fire time at or before now, starting from
// next, and how many earlier ones it passed over.
func latestDue(next time.Time, spec *cronspec.Spec, now time.Time) (time.Time, int) {
	latest := next
	// Far behind (a long downtime with a frequent spec): jump to two days
	// ago rather than step through every firing since.
	if now.Sub(latest) > 48*time.Hour {
		if t := spec.Next(now.Add(-48 * time.Hour)); !t.IsZero() && !t.After(now) {
			latest = t
		}
	}
	passed := 0
	if !latest.Equal(next) {
		passed = 1
	}
	for {
		n := spec.Next(latest)
		if n.IsZero() || n.After(now) {
			return latest, passed
		}
		latest = n
		passed++
	}
}
