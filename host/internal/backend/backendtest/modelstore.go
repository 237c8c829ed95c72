package backendtest

import (
	"context"
	"sync"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// modelStore is the Model behind a lock, as a backend.Store: the backend
// the suite is tested against before any real one passes it. Its
// durability is trivial (a reopened modelStore shares the model); it is
// not a backend to run jobs on.
type modelStore struct {
	mu      *sync.Mutex // shared with the stores reopened from this one
	m       *Model
	changed chan struct{}
	closed  bool
}

func newModelStore() *modelStore {
	return &modelStore{mu: &sync.Mutex{}, m: NewModel(), changed: make(chan struct{}, 1)}
}

// reopen closes s and returns a store over the same model.
func (s *modelStore) reopen() *modelStore {
	s.Close()
	return &modelStore{mu: s.mu, m: s.m, changed: make(chan struct{}, 1)}
}

var _ backend.Store = (*modelStore)(nil)

// do runs fn under the lock, refusing calls after Close and signalling
// Changed after a write that asked for it.
func (s *modelStore) do(ctx context.Context, fn func(m *Model) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errorf(backend.ErrClosed, "model store is closed")
	}
	err := fn(s.m)
	if s.m.TakeSignal() {
		select {
		case s.changed <- struct{}{}:
		default:
		}
	}
	return err
}

func (s *modelStore) Changed() <-chan struct{} { return s.changed }

func (s *modelStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *modelStore) Insert(ctx context.Context, p backend.InsertParams) (out backend.InsertResult, err error) {
	err = s.do(ctx, func(m *Model) error {
		if out.Jobs, err = m.Insert(p); err != nil || p.Claim == nil {
			return err
		}
		out.Claimed, err = m.Claim(*p.Claim)
		return err
	})
	return out, err
}

func (s *modelStore) Step(ctx context.Context, p backend.StepParams) (out backend.StepResult, err error) {
	err = s.do(ctx, func(m *Model) error {
		// Each part is optional: a round may only record progress.
		if len(p.Finish) > 0 {
			if out.Changes, err = m.Finish(p.Finish); err != nil {
				return err
			}
		}
		if len(p.Progress) > 0 {
			if err = m.Progress(p.Progress); err != nil {
				return err
			}
		}
		if p.Claim.Limit > 0 {
			out.Claimed, err = m.Claim(p.Claim)
		}
		return err
	})
	return out, err
}

func (s *modelStore) Claim(ctx context.Context, p backend.ClaimParams) (out []*model.Job, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.Claim(p); return err })
	return out, err
}

func (s *modelStore) Finish(ctx context.Context, fs []backend.Finish) (out backend.Changes, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.Finish(fs); return err })
	return out, err
}

func (s *modelStore) Progress(ctx context.Context, ps []backend.ProgressUpdate) error {
	return s.do(ctx, func(m *Model) error { return m.Progress(ps) })
}

func (s *modelStore) Request(ctx context.Context, r backend.Request) (out backend.RequestResult, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.Request(r); return err })
	return out, err
}

func (s *modelStore) AddDependencies(ctx context.Context, id string, deps []model.Dep, now time.Time) (out backend.Changes, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.AddDependencies(id, deps, now); return err })
	return out, err
}

func (s *modelStore) AddToGroup(ctx context.Context, group string, ids []string, now time.Time) (out backend.Changes, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.AddToGroup(group, ids, now); return err })
	return out, err
}

func (s *modelStore) PutSchedule(ctx context.Context, sc *model.Schedule) error {
	return s.do(ctx, func(m *Model) error { return m.PutSchedule(sc) })
}

func (s *modelStore) DeleteSchedule(ctx context.Context, id string) error {
	return s.do(ctx, func(m *Model) error { return m.DeleteSchedule(id) })
}

func (s *modelStore) Fire(ctx context.Context, f backend.Fire) (out backend.FireResult, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.Fire(f); return err })
	return out, err
}

func (s *modelStore) Prune(ctx context.Context, before time.Time, limit int) (out []string, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.Prune(before, limit); return err })
	return out, err
}

func (s *modelStore) Delete(ctx context.Context, ids []string) (out []string, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.Delete(ids); return err })
	return out, err
}

func (s *modelStore) Purge(ctx context.Context, f backend.PurgeFilter) (out []string, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.Purge(f); return err })
	return out, err
}

func (s *modelStore) Job(ctx context.Context, id string) (out *model.Job, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.Job(id); return err })
	return out, err
}

func (s *modelStore) JobByKey(ctx context.Context, key string) (out string, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.JobByKey(key); return err })
	return out, err
}

func (s *modelStore) ListJobs(ctx context.Context, f backend.JobFilter) (out []*model.Job, next string, err error) {
	err = s.do(ctx, func(m *Model) error { out, next, err = m.ListJobs(f); return err })
	return out, next, err
}

func (s *modelStore) Running(ctx context.Context, alive []string) (out []*model.Job, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.Running(alive); return err })
	return out, err
}

func (s *modelStore) OldestReady(ctx context.Context, now time.Time) (out map[model.Priority]time.Time, err error) {
	err = s.do(ctx, func(m *Model) error { out = m.OldestReady(now); return nil })
	return out, err
}

func (s *modelStore) NextRunAt(ctx context.Context, now time.Time) (out time.Time, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.NextRunAt(now); return err })
	return out, err
}

func (s *modelStore) Group(ctx context.Context, id string) (out *model.Group, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.Group(id); return err })
	return out, err
}

func (s *modelStore) ListGroups(ctx context.Context, before string, limit int) (out []*model.Group, next string, err error) {
	err = s.do(ctx, func(m *Model) error { out, next, err = m.ListGroups(before, limit); return err })
	return out, next, err
}

func (s *modelStore) Members(ctx context.Context, group string) (out []string, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.Members(group); return err })
	return out, err
}

func (s *modelStore) Dependents(ctx context.Context, id string) (out []model.Dep, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.Dependents(id); return err })
	return out, err
}

func (s *modelStore) Schedules(ctx context.Context) (out []*model.Schedule, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.Schedules(); return err })
	return out, err
}

func (s *modelStore) Schedule(ctx context.Context, id string) (out *model.Schedule, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.Schedule(id); return err })
	return out, err
}

func (s *modelStore) Counts(ctx context.Context) (out backend.Counts, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.Counts(); return err })
	return out, err
}

func (s *modelStore) Heartbeat(ctx context.Context, h backend.HostInfo, now time.Time, ttl time.Duration) error {
	return s.do(ctx, func(m *Model) error { return m.Heartbeat(h, now, ttl) })
}

func (s *modelStore) Hosts(ctx context.Context, now time.Time) (out []backend.HostInfo, err error) {
	err = s.do(ctx, func(m *Model) error { out = m.Hosts(now); return nil })
	return out, err
}

func (s *modelStore) Leave(ctx context.Context, owner string) error {
	return s.do(ctx, func(m *Model) error { return m.Leave(owner) })
}

func (s *modelStore) Lead(ctx context.Context, owner string, now time.Time, ttl time.Duration) (out bool, err error) {
	err = s.do(ctx, func(m *Model) error { out, err = m.Lead(owner, now, ttl); return err })
	return out, err
}

func (s *modelStore) PruneHosts(ctx context.Context, before time.Time) (out int, err error) {
	err = s.do(ctx, func(m *Model) error { out = m.PruneHosts(before); return nil })
	return out, err
}
