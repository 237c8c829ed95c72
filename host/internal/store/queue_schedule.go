package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// PutSchedule stores a new or changed schedule.
func (q *Queue) PutSchedule(ctx context.Context, sc *model.Schedule) error {
	if sc == nil || sc.ID == "" {
		return invalid("put schedule: empty id")
	}
	data, err := encodeSchedule(sc)
	if err != nil {
		return invalid("put schedule %s: %v", sc.ID, err)
	}
	return q.do(ctx, func(w *wtx) error {
		w.writes++
		return w.bk.schedules.Put([]byte(sc.ID), data)
	})
}

// DeleteSchedule removes a schedule; its jobs stay.
func (q *Queue) DeleteSchedule(ctx context.Context, id string) error {
	if id == "" {
		return invalid("delete schedule: empty id")
	}
	return q.do(ctx, func(w *wtx) error {
		if w.bk.schedules.Get([]byte(id)) == nil {
			return newError(backend.ErrNotFound, nil, fmt.Sprintf("schedule %s not found", id))
		}
		w.writes++
		return w.bk.schedules.Delete([]byte(id))
	})
}

// Fire commits one firing of a schedule, at most once per fire time.
func (q *Queue) Fire(ctx context.Context, f backend.Fire) (backend.FireResult, error) {
	if f.Schedule == "" {
		return backend.FireResult{}, invalid("fire: empty schedule id")
	}
	if f.At.IsZero() {
		return backend.FireResult{}, invalid("fire %s: no fire time", f.Schedule)
	}
	due := f.Due
	if due.IsZero() {
		due = f.At
	}
	var out backend.FireResult
	err := q.do(ctx, func(w *wtx) error {
		if !f.Now.IsZero() {
			w.now = f.Now
		}
		out = backend.FireResult{}
		data := w.bk.schedules.Get([]byte(f.Schedule))
		if data == nil {
			return newError(backend.ErrNotFound, nil, fmt.Sprintf("schedule %s not found", f.Schedule))
		}
		sc, err := q.s.decodeSchedule([]byte(f.Schedule), data)
		if err != nil {
			return err
		}
		if !sc.NextFire.Equal(due) {
			out.Schedule = sc
			return nil
		}
		if f.Job != nil {
			ins, err := w.insert(backend.InsertParams{Now: w.now, Jobs: []*model.Job{f.Job}, MaxQueued: f.MaxQueued})
			if err != nil {
				return err
			}
			out.Job = ins[0].Job
			sc.LastJob = ins[0].Job.ID
			if f.Waiting || len(f.Job.DependsOn) > 0 {
				sc.Waiting = ins[0].Job.ID
			}
		}
		sc.LastFire = f.At
		sc.NextFire = f.Next
		enc, err := encodeSchedule(sc)
		if err != nil {
			return err
		}
		w.writes++
		if err := w.bk.schedules.Put([]byte(sc.ID), enc); err != nil {
			return err
		}
		out.Fired = true
		out.Schedule = sc
		return nil
	})
	return out, err
}

// Schedules returns every schedule, by id, but the damaged ones (logged):
// the others still fire.
func (q *Queue) Schedules(ctx context.Context) ([]*model.Schedule, error) {
	var out []*model.Schedule
	err := q.s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bSchedules).ForEach(func(k, v []byte) error {
			sc, err := q.s.decodeSchedule(k, v)
			if q.s.skipDamaged("schedule", k, err) {
				return nil
			}
			if err == nil {
				out = append(out, sc)
			}
			return err
		})
	})
	return out, err
}

// Schedule returns one schedule.
func (q *Queue) Schedule(ctx context.Context, id string) (*model.Schedule, error) {
	if id == "" {
		return nil, invalid("schedule: empty id")
	}
	var sc *model.Schedule
	err := q.s.view(func(tx *bolt.Tx) error {
		data := tx.Bucket(bSchedules).Get([]byte(id))
		if data == nil {
			return newError(backend.ErrNotFound, nil, fmt.Sprintf("schedule %s not found", id))
		}
		var err error
		sc, err = q.s.decodeSchedule([]byte(id), data)
		return err
	})
	return sc, err
}

func sortJobs(js []*model.Job) {
	slices.SortFunc(js, func(a, b *model.Job) int { return strings.Compare(a.ID, b.ID) })
}
