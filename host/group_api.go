package host

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/store"
)

// CreateGroup creates an empty group and returns its id.
func (h *Host) CreateGroup(ctx context.Context, spec GroupSpec) (string, error) {
	g := &model.Group{ID: newID(), Name: spec.Name, Sequential: spec.Sequential, CancelOnFailure: spec.CancelOnFailure,
		CreatedAt: h.cfg.Clock.Now(), Counts: map[model.State]int{}}
	if err := h.exec(ctx, func(e *engine) error { return e.createGroup(g) }); err != nil {
		return "", err
	}
	return g.ID, nil
}

// AddToGroup adds a created job to a group. A job belongs to at most one
// group; submitted jobs cannot join one. In a sequential group the job runs
// after the member added before it. Adding to a done group reopens it.
func (h *Host) AddToGroup(ctx context.Context, jobID, groupID string) error {
	return h.exec(ctx, func(e *engine) error {
		gs, err := e.group(groupID)
		if err != nil {
			return err
		}
		js, err := e.live(jobID)
		if err != nil {
			return err
		}
		return e.addToGroup(js, gs)
	})
}

// AddJobsToGroup adds created jobs to a group, in the order given, all or
// none: if any of them cannot join, none does and the error names it.
func (h *Host) AddJobsToGroup(ctx context.Context, groupID string, jobIDs ...string) error {
	if len(jobIDs) == 0 {
		return invalidf("no jobs to add to group %s", groupID)
	}
	return h.exec(ctx, func(e *engine) error {
		gs, err := e.group(groupID)
		if err != nil {
			return err
		}
		jobs := make([]*jobState, len(jobIDs))
		listed := make(map[string]bool, len(jobIDs))
		for i, id := range jobIDs {
			if listed[id] {
				return invalidf("job %s listed twice", id)
			}
			listed[id] = true
			if jobs[i], err = e.live(id); err != nil {
				return err
			}
			if err := e.canJoin(jobs[i], gs); err != nil {
				return err
			}
		}
		if gs.g.Sequential {
			if err := e.sequentialCycle(gs.g.Last, jobs); err != nil {
				return err
			}
		}
		for _, js := range jobs {
			if err := e.addToGroup(js, gs); err != nil {
				// Checked above; reaching here is a bug, and the round's
				// batch may hold part of the change.
				return fmt.Errorf("add %s to group %s after checking it: %w", js.job.ID, gs.g.ID, err)
			}
		}
		return nil
	})
}

// GetGroup returns a group's status: counts by state, progress, done flag,
// outcome and members.
func (h *Host) GetGroup(ctx context.Context, id string) (*Group, error) {
	members, err := h.store.Members(id)
	if err != nil {
		return nil, fromStore(err)
	}
	var out *Group
	err = h.exec(ctx, func(e *engine) error {
		if gs := e.groups[id]; gs != nil {
			out = e.groupSnapshot(gs, members)
		}
		return errNoWrite
	})
	if err != nil {
		return nil, err
	}
	if out != nil {
		return out, nil
	}
	g, err := h.store.Group(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("group", id)
	}
	if err != nil {
		return nil, fromStore(err)
	}
	return storedGroup(g, members), nil
}

// ListGroups returns groups newest first, a page at a time.
func (h *Host) ListGroups(ctx context.Context, before string, limit int) ([]*Group, string, error) {
	if limit < 0 {
		return nil, "", invalidf("limit must not be negative")
	}
	if err := checkCursor(before); err != nil {
		return nil, "", err
	}
	recs, next, err := h.store.ListGroups(before, limit)
	if err != nil {
		return nil, "", fromStore(err)
	}
	out := make([]*Group, len(recs))
	err = h.exec(ctx, func(e *engine) error {
		for i, g := range recs {
			if gs := e.groups[g.ID]; gs != nil {
				out[i] = e.groupSnapshot(gs, nil)
			} else {
				out[i] = storedGroup(g, nil)
			}
		}
		return errNoWrite
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// WaitGroup blocks until every member of the group is finished (and
// durable) and returns the group. A group without members yet is waited
// on until members are added and finish (a consumer may start waiting
// before the producer adds the first job); bound the wait with ctx.
func (h *Host) WaitGroup(ctx context.Context, id string) (*Group, error) {
	ch := make(chan *Group, 1)
	tracked := false
	err := h.exec(ctx, func(e *engine) error {
		gs := e.groups[id]
		if gs == nil {
			return errNoWrite
		}
		if gs.g.Done() && len(gs.live) == 0 && e.dirtyGroups[id] == nil {
			return nil // reply after the commits in flight: the one that made it done may be one
		}
		gs.waiters = append(gs.waiters, ch)
		tracked = true
		return errNoWrite
	})
	// forget drops the waiter when the caller gives up (see Wait).
	forget := func() {
		h.exec(context.Background(), func(e *engine) error {
			if gs := e.groups[id]; gs != nil {
				gs.waiters = slices.DeleteFunc(gs.waiters, func(c chan *Group) bool { return c == ch })
			}
			return errNoWrite
		})
	}
	if err != nil {
		if ctx.Err() != nil {
			forget()
		}
		return nil, err
	}
	if tracked {
		select {
		case <-ch:
		case <-ctx.Done():
			forget()
			return nil, ctx.Err()
		case <-h.e.stopped:
			return nil, ErrClosed
		}
	}
	g, err := h.GetGroup(ctx, id)
	if err != nil {
		return nil, err
	}
	if !g.Done {
		return nil, stateErr("group %s is not done and has no unfinished member in the engine (empty group?)", id)
	}
	return g, nil
}

// CancelGroup cancels every unfinished member.
func (h *Host) CancelGroup(ctx context.Context, id string) error {
	return h.groupOp(ctx, id, func(e *engine, js *jobState) error {
		return e.cancelByUser(js)
	})
}

// PauseGroup pauses every member that can be paused (queued, waiting,
// running).
func (h *Host) PauseGroup(ctx context.Context, id string) error {
	return h.groupOp(ctx, id, func(e *engine, js *jobState) error {
		switch js.job.State {
		case model.Queued, model.Waiting, model.Running:
			return e.pauseJob(js)
		}
		return nil
	})
}

// ResumeGroup resumes every paused member.
func (h *Host) ResumeGroup(ctx context.Context, id string) error {
	return h.groupOp(ctx, id, func(e *engine, js *jobState) error {
		if js.job.State == model.Paused {
			return e.resumeJob(js)
		}
		return nil
	})
}

// SubmitGroup submits every created member at once, in one commit.
func (h *Host) SubmitGroup(ctx context.Context, id string) error {
	return h.exec(ctx, func(e *engine) error {
		gs, err := e.group(id)
		if err != nil {
			return err
		}
		var created []*jobState
		for _, js := range e.liveMembers(gs) {
			if js.job.State == model.Created {
				created = append(created, js)
			}
		}
		if len(created) == 0 {
			return stateErr("group %s has no created member to submit", id)
		}
		return e.submitCreated(created)
	})
}

// groupOp applies op to every unfinished member of a group.
func (h *Host) groupOp(ctx context.Context, id string, op func(*engine, *jobState) error) error {
	return h.exec(ctx, func(e *engine) error {
		gs, err := e.group(id)
		if err != nil {
			return err
		}
		for _, js := range e.liveMembers(gs) {
			if js.job.State.Terminal() {
				continue
			}
			if err := op(e, js); err != nil {
				return err
			}
		}
		return nil
	})
}
