package backendtest

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

// Model is the reference implementation of the port's rules: plain maps,
// no indexes, no concurrency, every write run on a copy that replaces the
// state only when the write succeeds. It is what the random-history test
// compares a backend with, step by step, and wrapped in a lock it is the
// backend the suite tests itself against. Its methods are the port's
// without contexts; it is not safe for concurrent use.
type Model struct {
	jobs      map[string]*model.Job
	seq       map[string]uint64 // ready order of the queued jobs
	lastSeq   uint64
	groups    map[string]*model.Group
	members   map[string][]string // add order
	keys      map[string]string
	schedules map[string]*model.Schedule
	hosts     map[string]backend.HostInfo
	lease     lease
	// signal is set by a write that made work claimable or asked something
	// of a running attempt.
	signal bool
}

// NewModel returns an empty model.
func NewModel() *Model {
	return &Model{
		jobs: map[string]*model.Job{}, seq: map[string]uint64{}, groups: map[string]*model.Group{},
		members: map[string][]string{}, keys: map[string]string{}, schedules: map[string]*model.Schedule{},
		hosts: map[string]backend.HostInfo{},
	}
}

// clone is a deep copy, for running a write on.
func (m *Model) clone() *Model {
	c := &Model{
		jobs: make(map[string]*model.Job, len(m.jobs)), seq: maps.Clone(m.seq), lastSeq: m.lastSeq,
		groups: make(map[string]*model.Group, len(m.groups)), members: make(map[string][]string, len(m.members)),
		keys: maps.Clone(m.keys), schedules: make(map[string]*model.Schedule, len(m.schedules)),
		hosts: make(map[string]backend.HostInfo, len(m.hosts)), lease: m.lease,
	}
	for o, h := range m.hosts {
		c.hosts[o] = h.Clone()
	}
	for id, j := range m.jobs {
		c.jobs[id] = j.Clone()
	}
	for id, g := range m.groups {
		c.groups[id] = g.Clone()
	}
	for id, ms := range m.members {
		c.members[id] = slices.Clone(ms)
	}
	for id, s := range m.schedules {
		c.schedules[id] = cloneSchedule(s)
	}
	return c
}

// write runs fn on a copy of the model and keeps the copy only if fn
// succeeds: every write is all or nothing.
func (m *Model) write(fn func(w *Model) error) error {
	w := m.clone()
	if err := fn(w); err != nil {
		return err
	}
	*m = *w
	return nil
}

// TakeSignal reports whether a write since the last call made work
// claimable or asked something of a running attempt.
func (m *Model) TakeSignal() bool {
	s := m.signal
	m.signal = false
	return s
}

func cloneSchedule(s *model.Schedule) *model.Schedule {
	c := *s
	c.Template.Labels = maps.Clone(s.Template.Labels)
	if s.Template.Backoff != nil {
		b := *s.Template.Backoff
		c.Template.Backoff = &b
	}
	if s.Template.Resources != nil {
		r := *s.Template.Resources
		c.Template.Resources = &r
	}
	return &c
}

func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

// runs reports whether a job holds a running attempt.
func runs(j *model.Job) bool {
	return j.State == model.Running || (j.State == model.Paused && j.PausedFrom == model.Running)
}

// dependents lists the stored jobs that depend on id, in id order.
func (m *Model) dependents(id string) []model.Dep {
	if m.jobs[id] == nil {
		return nil
	}
	var out []model.Dep
	for _, did := range slices.Sorted(maps.Keys(m.jobs)) {
		for _, d := range m.jobs[did].DependsOn {
			if d.ID == id {
				out = append(out, model.Dep{ID: did, Policy: d.Policy})
				break
			}
		}
	}
	return out
}

// reaches reports whether from depends, directly or through others, on to,
// along the stored edges (finished jobs included: a retry revives them).
func (m *Model) reaches(from, to string) bool {
	seen := map[string]bool{}
	stack := []string{from}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == to {
			return true
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		if j := m.jobs[n]; j != nil {
			for _, d := range j.DependsOn {
				stack = append(stack, d.ID)
			}
		}
	}
	return false
}

// readiness judges a job's dependencies: the first that cancels it (in
// DependsOn order), else whether any is unfinished. A dependency no longer
// stored was pruned after it finished: it blocks nothing.
func (m *Model) readiness(j *model.Job) (cancelBy *model.Job, pending bool, after time.Time) {
	for _, d := range j.DependsOn {
		dep := m.jobs[d.ID]
		if dep == nil {
			continue
		}
		after = model.Later(after, dep.FinishedAt)
		switch {
		case !dep.State.Terminal():
			pending = true
		case dep.State != model.Completed && d.Policy == model.DepCancel:
			if cancelBy == nil {
				cancelBy = dep
			}
		}
	}
	return cancelBy, pending, after
}

// DependencyFailedError is the error of a job canceled because dep ended
// failed or canceled under the cancel policy.
func DependencyFailedError(dep *model.Job) *model.JobError {
	return &model.JobError{Kind: errkind.DependencyFailed, Dependency: dep.ID,
		Message: fmt.Sprintf("dependency %s ended %s", dep.ID, dep.State)}
}

// GroupFailedError is the error of a member canceled because member, of a
// cancel-on-failure group, failed.
func GroupFailedError(member string) *model.JobError {
	return &model.JobError{Kind: errkind.Canceled, Message: fmt.Sprintf("canceled: group member %s failed", member)}
}

// UserCancelError is recorded on a job canceled by a request without a
// reason (Request.Why nil).
func UserCancelError() *model.JobError {
	return &model.JobError{Kind: errkind.Canceled, Message: "canceled by request"}
}

// change collects what one write changed, for its answer.
type change struct {
	jobs    []string
	groups  []string
	stop    []string
	skipped []string
	cascade []string // finished jobs whose dependents and group are not settled
	prev    map[string]model.State
}

// job records that j changed; prev is its state before (the first call
// for a job in a write wins).
func (c *change) job(j *model.Job, prev model.State) {
	if !slices.Contains(c.jobs, j.ID) {
		c.jobs = append(c.jobs, j.ID)
		if c.prev == nil {
			c.prev = map[string]model.State{}
		}
		c.prev[j.ID] = prev
	}
	if j.Group != "" && !slices.Contains(c.groups, j.Group) {
		c.groups = append(c.groups, j.Group)
	}
}

func (m *Model) changes(c *change) backend.Changes {
	var out backend.Changes
	for _, id := range c.jobs {
		out.Jobs = append(out.Jobs, m.jobs[id].Clone())
		out.Prev = append(out.Prev, c.prev[id])
	}
	for _, id := range c.groups {
		out.Groups = append(out.Groups, m.groups[id].Clone())
	}
	for _, id := range c.stop {
		out.Stop = append(out.Stop, m.jobs[id].Clone())
	}
	out.Skipped = c.skipped
	return out
}

// setState moves j to state to at time now, keeping its group's counts,
// the ready order and the finish time in step.
func (m *Model) setState(c *change, j *model.Job, to model.State, now time.Time) {
	from := j.State
	j.State = to
	if to != model.Paused {
		j.PausedFrom = ""
	}
	delete(m.seq, j.ID)
	if to == model.Queued {
		j.QueuedAt = now
		m.lastSeq++
		m.seq[j.ID] = m.lastSeq
		m.signal = true
	}
	if to.Terminal() {
		j.FinishedAt = now
		c.cascade = append(c.cascade, j.ID)
	} else {
		j.FinishedAt = time.Time{}
	}
	if g := m.groups[j.Group]; g != nil {
		if from != "" { // "" is a job being inserted
			g.Counts[from]--
			if g.Counts[from] <= 0 {
				delete(g.Counts, from)
			}
		}
		g.Counts[to]++
		m.groupTime(g, now)
	}
	c.job(j, from)
}

// groupTime keeps a group's finish time in step with its counts.
func (m *Model) groupTime(g *model.Group, now time.Time) {
	switch {
	case g.Done() && g.FinishedAt.IsZero():
		g.FinishedAt = now
	case !g.Done():
		g.FinishedAt = time.Time{}
	}
}

// enqueue places a job entering the queue (inserted, submitted, resumed,
// retried): canceled if a dependency ended badly under the cancel policy,
// waiting while one is unfinished, else queued.
func (m *Model) enqueue(c *change, j *model.Job, now time.Time) {
	cancelBy, pending, after := m.readiness(j)
	switch {
	case cancelBy != nil:
		j.Error = DependencyFailedError(cancelBy)
		m.setState(c, j, model.Canceled, now)
	case pending:
		m.setState(c, j, model.Waiting, now)
	default:
		m.setState(c, j, model.Queued, model.Later(now, after))
	}
}

// cancel ends an unfinished job with why; a running attempt is asked to
// stop instead (it ends through Finish).
func (m *Model) cancel(c *change, j *model.Job, why *model.JobError, now time.Time) {
	if runs(j) {
		if !j.CancelRequested {
			j.CancelRequested = true
			j.Error = why
			c.stop = append(c.stop, j.ID)
			m.signal = true
		}
		return
	}
	j.Error = why
	m.setState(c, j, model.Canceled, now)
}

// settle resolves the cascade, breadth first: a finished job's dependents
// (in id order) are canceled or released, then a failed member of a
// cancel-on-failure group cancels the group's other unfinished members (in
// add order).
func (m *Model) settle(c *change, now time.Time) {
	for len(c.cascade) > 0 {
		j := m.jobs[c.cascade[0]]
		c.cascade = c.cascade[1:]
		if j == nil || !j.State.Terminal() {
			continue
		}
		for _, d := range m.dependents(j.ID) {
			dj := m.jobs[d.ID]
			if dj.State.Terminal() || dj.State == model.Created {
				continue
			}
			switch {
			case j.State != model.Completed && d.Policy == model.DepCancel:
				m.cancel(c, dj, DependencyFailedError(j), now)
			case dj.State == model.Waiting:
				if cancelBy, pending, after := m.readiness(dj); cancelBy == nil && !pending {
					m.setState(c, dj, model.Queued, model.Later(now, after))
				}
			}
		}
		if g := m.groups[j.Group]; g != nil && g.CancelOnFailure && j.State == model.Failed {
			for _, id := range m.members[g.ID] {
				if mj := m.jobs[id]; mj != nil && !mj.State.Terminal() {
					m.cancel(c, mj, GroupFailedError(j.ID), now)
				}
			}
		}
	}
}
