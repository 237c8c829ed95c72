package engine

import (
	"context"

	"github.com/batchhost/batchhost/host/internal/backend"
)

// Recover settles the attempts that owners no longer alive left running
// (for the embedded store: every attempt of an earlier Open): each was
// interrupted, counts as an attempt, and follows its retry policy; a
// canceled one ends canceled. Every other job resumes where it was.
func (e *Engine) Recover(ctx context.Context) error {
	running, err := e.store.Running(ctx, []string{e.cfg.Owner})
	if err != nil {
		return err
	}
	if len(running) == 0 {
		return nil
	}
	now := e.cfg.Clock.Now()
	fs := make([]backend.Finish, len(running))
	for i, j := range running {
		fs[i] = interrupted(j, now)
	}
	ch, err := e.store.Finish(ctx, fs)
	if err != nil {
		return err
	}
	e.observe(ch)
	return nil
}
