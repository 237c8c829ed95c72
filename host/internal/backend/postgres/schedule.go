package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// PutSchedule stores a new or changed schedule.
func (s *Store) PutSchedule(ctx context.Context, sc *model.Schedule) error {
	if sc == nil || sc.ID == "" {
		return invalid("put schedule: no schedule id")
	}
	doc, err := json.Marshal(sc)
	if err != nil {
		return invalid("put schedule %s: %v", sc.ID, err)
	}
	return s.write(ctx, func(w *wtx) error {
		_, err := w.tx.Exec(w.ctx, `INSERT INTO schedules (id, doc) VALUES ($1, $2)
			ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc`, sc.ID, doc)
		return err
	})
}

// DeleteSchedule removes a schedule; its jobs stay.
func (s *Store) DeleteSchedule(ctx context.Context, id string) error {
	if id == "" {
		return invalid("delete schedule: no schedule id")
	}
	return s.write(ctx, func(w *wtx) error {
		tag, err := w.tx.Exec(w.ctx, "DELETE FROM schedules WHERE id = $1", id)
		if err == nil && tag.RowsAffected() == 0 {
			return notFound("schedule %s not found", id)
		}
		return err
	})
}

// Fire commits one firing of a schedule, guarded by its stored NextFire:
// the schedule's row is locked, so of hosts firing one time at once the
// first commits and the others find the time consumed.
func (s *Store) Fire(ctx context.Context, f backend.Fire) (backend.FireResult, error) {
	if f.Schedule == "" {
		return backend.FireResult{}, invalid("fire: no schedule id")
	}
	if f.At.IsZero() {
		return backend.FireResult{}, invalid("fire %s: no fire time", f.Schedule)
	}
	if f.Job != nil {
		if err := checkJob(0, f.Job); err != nil {
			return backend.FireResult{}, err
		}
	}
	var out backend.FireResult
	err := s.write(ctx, func(w *wtx) error {
		out = backend.FireResult{}
		sc, err := scanSchedule(w.tx.QueryRow(w.ctx, "SELECT doc FROM schedules WHERE id = $1 FOR UPDATE", f.Schedule))
		if isNoRows(err) {
			return notFound("schedule %s not found", f.Schedule)
		}
		if err != nil {
			return err
		}
		due := f.Due
		if due.IsZero() {
			due = f.At
		}
		if !sc.NextFire.Equal(due) {
			out.Schedule = sc
			return nil
		}
		if f.Job != nil {
			ins, err := w.insert(backend.InsertParams{Now: f.Now, Jobs: []*model.Job{f.Job}, MaxQueued: f.MaxQueued})
			if err != nil {
				return err
			}
			out.Job = ins[0].Job
			sc.LastJob = out.Job.ID
			if len(f.Job.DependsOn) > 0 {
				sc.Waiting = out.Job.ID
			}
			if g := out.Job.Group; g != "" {
				if out.Changes.Groups, err = groupsByID(w.ctx, w.tx, []string{g}); err != nil {
					return err
				}
			}
		}
		sc.LastFire = f.At
		sc.NextFire = f.Next
		doc, err := json.Marshal(sc)
		if err != nil {
			return err
		}
		if _, err := w.tx.Exec(w.ctx, "UPDATE schedules SET doc = $2 WHERE id = $1", sc.ID, doc); err != nil {
			return err
		}
		out.Fired = true
		out.Schedule = sc
		return nil
	})
	return out, err
}

func scanSchedule(row interface{ Scan(...any) error }) (*model.Schedule, error) {
	var doc []byte
	if err := row.Scan(&doc); err != nil {
		return nil, err
	}
	var sc model.Schedule
	if err := json.Unmarshal(doc, &sc); err != nil {
		return nil, fmt.Errorf("stored schedule: %w", err)
	}
	return &sc, nil
}
