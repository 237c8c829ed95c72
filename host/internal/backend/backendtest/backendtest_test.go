package backendtest

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// TestModel runs the suite against the reference model wrapped as a
// store, so that every rule of the suite is exercised, and green, before
// a real backend runs it.
func TestModel(t *testing.T) {
	Run(t, Harness{
		Open: func(t *testing.T) backend.Store {
			s := newModelStore()
			t.Cleanup(func() { s.Close() })
			return s
		},
		Reopen: func(t *testing.T, s backend.Store) backend.Store {
			r := s.(*modelStore).reopen()
			t.Cleanup(func() { r.Close() })
			return r
		},
	})
}

// faulty is the model store with one deliberate fault, to show that the
// random history notices a backend that breaks a rule.
type faulty struct {
	*modelStore
	fault string
	prev  *Model // the model before the last write, for "reopen-loses-write"
}

func (f *faulty) Insert(ctx context.Context, p backend.InsertParams) (backend.InsertResult, error) {
	f.prev = f.m.clone()
	if f.fault == "key-ignored" {
		p = cloneInsert(p)
		for _, j := range p.Jobs {
			j.Key = ""
		}
	}
	return f.modelStore.Insert(ctx, p)
}

func (f *faulty) Claim(ctx context.Context, p backend.ClaimParams) ([]*model.Job, error) {
	f.prev = f.m.clone()
	js, err := f.modelStore.Claim(ctx, p)
	if f.fault == "claim-reversed" {
		slices.Reverse(js)
	}
	return js, err
}

func (f *faulty) Finish(ctx context.Context, fs []backend.Finish) (backend.Changes, error) {
	f.prev = f.m.clone()
	if f.fault == "progress-dropped" {
		fs = slices.Clone(fs)
		for i := range fs {
			fs[i].Progress = nil
		}
	}
	return f.modelStore.Finish(ctx, fs)
}

func (f *faulty) Prune(ctx context.Context, before time.Time, limit int) ([]string, error) {
	f.prev = f.m.clone()
	if f.fault == "prune-extra" {
		limit++
	}
	return f.modelStore.Prune(ctx, before, limit)
}

func (f *faulty) Purge(ctx context.Context, pf backend.PurgeFilter) ([]string, error) {
	f.prev = f.m.clone()
	if f.fault == "purge-ignores-task" {
		pf.Task = ""
	}
	return f.modelStore.Purge(ctx, pf)
}

func (f *faulty) Delete(ctx context.Context, ids []string) ([]string, error) {
	f.prev = f.m.clone()
	if f.fault == "delete-keeps-key" {
		f.mu.Lock()
		keys := maps.Clone(f.m.keys)
		f.mu.Unlock()
		out, err := f.modelStore.Delete(ctx, ids)
		f.mu.Lock()
		f.m.keys = keys
		f.mu.Unlock()
		return out, err
	}
	return f.modelStore.Delete(ctx, ids)
}

func (f *faulty) Lead(ctx context.Context, owner string, now time.Time, ttl time.Duration) (bool, error) {
	if f.fault == "lead-anyone" {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.m.lease = lease{owner: owner, expires: now.Add(ttl)}
		return true, nil
	}
	return f.modelStore.Lead(ctx, owner, now, ttl)
}

func (f *faulty) Heartbeat(ctx context.Context, h backend.HostInfo, now time.Time, ttl time.Duration) error {
	f.mu.Lock()
	old, ok := f.m.hosts[h.Owner]
	f.mu.Unlock()
	err := f.modelStore.Heartbeat(ctx, h, now, ttl)
	if f.fault == "heartbeat-keeps-expiry" && ok && err == nil {
		f.mu.Lock()
		h := f.m.hosts[old.Owner]
		h.Expires = old.Expires
		f.m.hosts[old.Owner] = h
		f.mu.Unlock()
	}
	return err
}

func (f *faulty) ListJobs(ctx context.Context, jf backend.JobFilter) ([]*model.Job, string, error) {
	js, next, err := f.modelStore.ListJobs(ctx, jf)
	if f.fault == "page-short" && next != "" && len(js) > 1 {
		js = js[:len(js)-1]
	}
	return js, next, err
}

// TestHistoryFindsFaults: for each deliberate fault, some of a few
// random histories fails.
func TestHistoryFindsFaults(t *testing.T) {
	for _, fault := range []string{"key-ignored", "claim-reversed", "progress-dropped", "prune-extra", "purge-ignores-task", "delete-keeps-key", "page-short", "reopen-loses-write", "lead-anyone", "heartbeat-keeps-expiry"} {
		t.Run(fault, func(t *testing.T) {
			h := Harness{Reopen: func(t *testing.T, s backend.Store) backend.Store {
				f := s.(*faulty)
				m := f.m
				if f.fault == "reopen-loses-write" && f.prev != nil {
					m = f.prev
				}
				return &faulty{modelStore: &modelStore{mu: &sync.Mutex{}, m: m, changed: make(chan struct{}, 1)}, fault: f.fault}
			}}
			for seed := uint64(1); seed <= 30; seed++ {
				s := &faulty{modelStore: newModelStore(), fault: fault}
				e := &env{t: t, h: h, s: s, ctx: context.Background()}
				if err := newHistory(e, s, seed).run(historySteps); err != nil {
					t.Logf("seed %d found it: %.300s", seed, err)
					return
				}
			}
			t.Errorf("30 random histories did not notice the fault %q", fault)
		})
	}
}
