package host

import (
	"context"
	"time"

	"github.com/batchhost/batchhost/host/internal/cronspec"
	"github.com/batchhost/batchhost/host/internal/model"
)

// Hooks for the external tests: they read the store directly, bypassing
// the engine, to check that what a call returned is durable.

// DurableJobState returns a job's state as stored on disk.
func DurableJobState(h *Host, id string) (State, error) {
	j, err := h.store.Job(context.Background(), id)
	if err != nil {
		return "", err
	}
	return j.State, nil
}

// DurableGroupDone reports whether a group is done as stored on disk.
func DurableGroupDone(h *Host, id string) (bool, error) {
	g, err := h.store.Group(context.Background(), id)
	if err != nil {
		return false, err
	}
	return g.Done(), nil
}

// Waiters counts the Wait calls registered on a job, through the engine.
func Waiters(h *Host, id string) int { return h.e.Waiters(id) }

// StoreOldTemplate rewrites a schedule's template as a host from before
// the reserved labels and the backoff cap could have stored it.
func StoreOldTemplate(h *Host, id string, labels map[string]string, backoffMax time.Duration) error {
	return h.e.UpdateSchedule(context.Background(), id, func(s *model.Schedule, _ *cronspec.Spec) error {
		s.Template.Labels = labels
		s.Template.Backoff = &model.Backoff{Initial: time.Second, Max: backoffMax, Multiplier: 2}
		return nil
	})
}
