package backendtest

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// PutSchedule is backend.Writer.PutSchedule.
func (m *Model) PutSchedule(s *model.Schedule) error {
	if s == nil || s.ID == "" {
		return errorf(backend.ErrInvalid, "put schedule: no schedule id")
	}
	return m.write(func(w *Model) error {
		w.schedules[s.ID] = cloneSchedule(s)
		return nil
	})
}

// DeleteSchedule is backend.Writer.DeleteSchedule.
func (m *Model) DeleteSchedule(id string) error {
	if id == "" {
		return errorf(backend.ErrInvalid, "delete schedule: no schedule id")
	}
	return m.write(func(w *Model) error {
		if w.schedules[id] == nil {
			return errorf(backend.ErrNotFound, "schedule %s not found", id)
		}
		delete(w.schedules, id)
		return nil
	})
}

// Fire is backend.Writer.Fire.
func (m *Model) Fire(f backend.Fire) (backend.FireResult, error) {
	if f.Schedule == "" {
		return backend.FireResult{}, errorf(backend.ErrInvalid, "fire: no schedule id")
	}
	if f.At.IsZero() {
		return backend.FireResult{}, errorf(backend.ErrInvalid, "fire %s: no fire time", f.Schedule)
	}
	if f.Job != nil {
		if err := checkJob(0, f.Job); err != nil {
			return backend.FireResult{}, err
		}
	}
	var out backend.FireResult
	err := m.write(func(w *Model) error {
		s := w.schedules[f.Schedule]
		if s == nil {
			return errorf(backend.ErrNotFound, "schedule %s not found", f.Schedule)
		}
		due := f.Due
		if due.IsZero() {
			due = f.At
		}
		if !s.NextFire.Equal(due) {
			out = backend.FireResult{Schedule: cloneSchedule(s)}
			return nil
		}
		if f.Job != nil {
			ins, err := w.insert(backend.InsertParams{Now: f.Now, Jobs: []*model.Job{f.Job}})
			if err != nil {
				return err
			}
			out.Job = ins[0].Job
			s.LastJob = ins[0].Job.ID
			if len(f.Job.DependsOn) > 0 {
				s.Waiting = ins[0].Job.ID
			}
			if g := out.Job.Group; g != "" {
				out.Changes.Groups = []*model.Group{w.groups[g].Clone()}
			}
		}
		s.LastFire = f.At
		s.NextFire = f.Next
		out.Fired = true
		out.Schedule = cloneSchedule(s)
		return nil
	})
	return out, err
}

// Prune is backend.Writer.Prune: the oldest finished jobs first, by
// finish time then id.
func (m *Model) Prune(before time.Time, limit int) ([]string, error) {
	if limit < 1 {
		return nil, errorf(backend.ErrInvalid, "prune: limit %d (want at least 1)", limit)
	}
	var out []string
	err := m.write(func(w *Model) error {
		var due []*model.Job
		for _, j := range w.jobs {
			if j.State.Terminal() && j.FinishedAt.Before(before) {
				due = append(due, j)
			}
		}
		slices.SortFunc(due, func(a, b *model.Job) int {
			return cmp.Or(a.FinishedAt.Compare(b.FinishedAt), strings.Compare(a.ID, b.ID))
		})
		out = w.drop(due[:min(limit, len(due))])
		return nil
	})
	return out, err
}

// drop deletes finished jobs (Prune, Delete, Purge): each with its key and
// membership (its edges are its dependents' DependsOn, which stay: a job
// not stored counts as completed), then each group left empty and done
// that no schedule's template names. Groups keep their counts. It
// answers the ids, in the order given.
func (m *Model) drop(js []*model.Job) []string {
	var out []string
	groups := map[string]bool{}
	for _, j := range js {
		delete(m.jobs, j.ID)
		if j.Key != "" && m.keys[j.Key] == j.ID {
			delete(m.keys, j.Key)
		}
		if j.Group != "" {
			m.members[j.Group] = slices.DeleteFunc(m.members[j.Group], func(id string) bool { return id == j.ID })
			groups[j.Group] = true
		}
		out = append(out, j.ID)
	}
	for _, s := range m.schedules {
		delete(groups, s.Template.Group)
	}
	for g := range groups {
		if len(m.members[g]) == 0 && m.groups[g].Done() {
			delete(m.groups, g)
			delete(m.members, g)
		}
	}
	return out
}

// Delete is backend.Writer.Delete: all or none, the first offending id
// in the order given reported.
func (m *Model) Delete(ids []string) ([]string, error) {
	if err := backend.CheckDelete(ids); err != nil {
		return nil, errorf(backend.ErrInvalid, "%v", err)
	}
	var out []string
	err := m.write(func(w *Model) error {
		js := make([]*model.Job, len(ids))
		for i, id := range ids {
			j := w.jobs[id]
			switch {
			case j == nil:
				return errorf(backend.ErrNotFound, "delete: job %s not found", id)
			case !j.State.Terminal():
				return errorf(backend.ErrState, "delete: job %s is %s, not finished", id, j.State)
			}
			js[i] = j
		}
		out = w.drop(js)
		return nil
	})
	return out, err
}

// Purge is backend.Writer.Purge: the oldest selected first, by finish
// time then id.
func (m *Model) Purge(f backend.PurgeFilter) ([]string, error) {
	if err := f.Check(); err != nil {
		return nil, errorf(backend.ErrInvalid, "%v", err)
	}
	var out []string
	err := m.write(func(w *Model) error {
		var due []*model.Job
		for _, j := range w.jobs {
			if f.Selects(j) {
				due = append(due, j)
			}
		}
		slices.SortFunc(due, func(a, b *model.Job) int {
			return cmp.Or(a.FinishedAt.Compare(b.FinishedAt), strings.Compare(a.ID, b.ID))
		})
		out = w.drop(due[:min(f.Limit, len(due))])
		return nil
	})
	return out, err
}

// Job is backend.Reader.Job.
func (m *Model) Job(id string) (*model.Job, error) {
	if id == "" {
		return nil, errorf(backend.ErrInvalid, "job: no id")
	}
	j := m.jobs[id]
	if j == nil {
		return nil, errorf(backend.ErrNotFound, "job %s not found", id)
	}
	return j.Clone(), nil
}

// JobByKey is backend.Reader.JobByKey.
func (m *Model) JobByKey(key string) (string, error) {
	if key == "" {
		return "", errorf(backend.ErrInvalid, "job by key: no key")
	}
	id, ok := m.keys[key]
	if !ok {
		return "", errorf(backend.ErrNotFound, "no job holds key %q", key)
	}
	return id, nil
}

// pageLimit checks a page size: 0 means the default.
func pageLimit(n int) (int, error) {
	switch {
	case n == 0:
		return backend.DefaultLimit, nil
	case n < 0 || n > backend.MaxLimit:
		return 0, errorf(backend.ErrInvalid, "limit %d (want 1..%d, or 0 for %d)", n, backend.MaxLimit, backend.DefaultLimit)
	}
	return n, nil
}

// ListJobs is backend.Reader.ListJobs.
func (m *Model) ListJobs(f backend.JobFilter) ([]*model.Job, string, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	if f.Before != "" && !model.IsID(f.Before) {
		return nil, "", errorf(backend.ErrInvalid, "page cursor %.40q is not an id", f.Before)
	}
	for _, st := range f.States {
		if _, err := model.ParseState(string(st)); err != nil {
			return nil, "", errorf(backend.ErrInvalid, "list jobs: %v", err)
		}
	}
	for _, p := range f.Priorities {
		if !p.Valid() {
			return nil, "", errorf(backend.ErrInvalid, "list jobs: unknown priority %d", p)
		}
	}
	labelKey, labelVal, withVal := strings.Cut(f.Label, "=")
	if f.Label != "" && labelKey == "" {
		return nil, "", errorf(backend.ErrInvalid, "list jobs: label filter %q has no key", f.Label)
	}
	if f.Group != "" && m.groups[f.Group] == nil {
		return nil, "", errorf(backend.ErrNotFound, "group %s not found", f.Group)
	}
	search := strings.ToLower(f.Search)
	var out []*model.Job
	for _, id := range slices.Backward(slices.Sorted(maps.Keys(m.jobs))) {
		j := m.jobs[id]
		switch {
		case f.Before != "" && id >= f.Before,
			len(f.States) > 0 && !slices.Contains(f.States, j.State),
			f.Task != "" && j.Task != f.Task,
			f.Group != "" && j.Group != f.Group,
			len(f.Priorities) > 0 && !slices.Contains(f.Priorities, j.Priority):
			continue
		}
		if f.Label != "" {
			if v, ok := j.Labels[labelKey]; !ok || (withVal && v != labelVal) {
				continue
			}
		}
		if search != "" && !strings.Contains(strings.ToLower(j.ID), search) && !strings.Contains(strings.ToLower(j.Task), search) &&
			(j.Error == nil || !strings.Contains(strings.ToLower(j.Error.Message), search)) {
			continue
		}
		if len(out) == limit {
			return out, out[limit-1].ID, nil
		}
		out = append(out, j.Clone())
	}
	return out, "", nil
}

// Running is backend.Reader.Running, in id order.
func (m *Model) Running(alive []string) ([]*model.Job, error) {
	var out []*model.Job
	for _, id := range slices.Sorted(maps.Keys(m.jobs)) {
		if j := m.jobs[id]; runs(j) && !slices.Contains(alive, j.Owner) {
			out = append(out, j.Clone())
		}
	}
	return out, nil
}

// OldestReady is backend.Reader.OldestReady.
func (m *Model) OldestReady(now time.Time) map[model.Priority]time.Time {
	out := map[model.Priority]time.Time{}
	for _, j := range m.jobs {
		if j.State != model.Queued || j.RunAt.After(now) {
			continue
		}
		if t, ok := out[j.Priority]; !ok || readyAt(j).Before(t) {
			out[j.Priority] = readyAt(j)
		}
	}
	return out
}

// NextRunAt is backend.Reader.NextRunAt.
func (m *Model) NextRunAt(now time.Time) (time.Time, error) {
	var t time.Time
	for _, j := range m.jobs {
		if j.State == model.Queued && j.RunAt.After(now) && (t.IsZero() || j.RunAt.Before(t)) {
			t = j.RunAt
		}
	}
	return t, nil
}

// Group is backend.Reader.Group.
func (m *Model) Group(id string) (*model.Group, error) {
	if id == "" {
		return nil, errorf(backend.ErrInvalid, "group: no id")
	}
	g := m.groups[id]
	if g == nil {
		return nil, errorf(backend.ErrNotFound, "group %s not found", id)
	}
	return g.Clone(), nil
}

// ListGroups is backend.Reader.ListGroups.
func (m *Model) ListGroups(before string, limit int) ([]*model.Group, string, error) {
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	if before != "" && !model.IsID(before) {
		return nil, "", errorf(backend.ErrInvalid, "page cursor %.40q is not an id", before)
	}
	var out []*model.Group
	for _, id := range slices.Backward(slices.Sorted(maps.Keys(m.groups))) {
		if before != "" && id >= before {
			continue
		}
		if len(out) == limit {
			return out, out[limit-1].ID, nil
		}
		out = append(out, m.groups[id].Clone())
	}
	return out, "", nil
}

// Members is backend.Reader.Members.
func (m *Model) Members(group string) ([]string, error) {
	if group == "" {
		return nil, errorf(backend.ErrInvalid, "members: no group id")
	}
	if m.groups[group] == nil {
		return nil, errorf(backend.ErrNotFound, "group %s not found", group)
	}
	return slices.Clone(m.members[group]), nil
}

// Dependents is backend.Reader.Dependents, in dependent id order.
func (m *Model) Dependents(id string) ([]model.Dep, error) {
	if id == "" {
		return nil, errorf(backend.ErrInvalid, "dependents: no job id")
	}
	return m.dependents(id), nil
}

// Schedules is backend.Reader.Schedules, in id order.
func (m *Model) Schedules() ([]*model.Schedule, error) {
	var out []*model.Schedule
	for _, id := range slices.Sorted(maps.Keys(m.schedules)) {
		out = append(out, cloneSchedule(m.schedules[id]))
	}
	return out, nil
}

// Schedule is backend.Reader.Schedule.
func (m *Model) Schedule(id string) (*model.Schedule, error) {
	if id == "" {
		return nil, errorf(backend.ErrInvalid, "schedule: no id")
	}
	s := m.schedules[id]
	if s == nil {
		return nil, errorf(backend.ErrNotFound, "schedule %s not found", id)
	}
	return cloneSchedule(s), nil
}

// Counts is backend.Reader.Counts.
func (m *Model) Counts() (backend.Counts, error) {
	c := backend.Counts{}
	for _, j := range m.jobs {
		if c[j.State] == nil {
			c[j.State] = map[model.Priority]int{}
		}
		c[j.State][j.Priority]++
	}
	return c, nil
}
