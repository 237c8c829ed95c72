package host

import (
	"context"
	"slices"
	"strings"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

// CreateGroup creates an empty group and returns its id.
func (h *Host) CreateGroup(ctx context.Context, spec GroupSpec) (string, error) {
	name := strings.TrimSpace(spec.Name)
	if err := model.CheckName("group name", name); err != nil {
		return "", invalid(err)
	}
	if err := h.check(ctx); err != nil {
		return "", err
	}
	g := &model.Group{ID: newID(), Name: name, Sequential: spec.Sequential, CancelOnFailure: spec.CancelOnFailure,
		CreatedAt: h.cfg.Clock.Now(), Counts: map[model.State]int{}}
	if _, err := h.e.Insert(ctx, backend.InsertParams{Now: g.CreatedAt, Groups: []*model.Group{g}, Hold: true}); err != nil {
		return "", fromBackend(err)
	}
	return g.ID, nil
}

// AddToGroup adds a created job to a group. A job belongs to at most one
// group; submitted jobs cannot join one. In a sequential group the job runs
// after the member added before it. Adding to a done group reopens it.
func (h *Host) AddToGroup(ctx context.Context, jobID, groupID string) error {
	return h.AddJobsToGroup(ctx, groupID, jobID)
}

// AddJobsToGroup adds created jobs to a group, in the order given, all or
// none: if any of them cannot join, none does and the error names it.
func (h *Host) AddJobsToGroup(ctx context.Context, groupID string, jobIDs ...string) error {
	if len(jobIDs) == 0 {
		return invalidf("no jobs to add to group %s", groupID)
	}
	if err := h.check(ctx); err != nil {
		return err
	}
	if groupID == "" {
		return notFound("group", groupID)
	}
	for _, id := range jobIDs {
		if id == "" {
			return notFound("job", id)
		}
	}
	return fromBackend(h.e.AddToGroup(ctx, groupID, jobIDs))
}

// GetGroup returns a group's status: counts by state, progress, done flag,
// outcome and members.
func (h *Host) GetGroup(ctx context.Context, id string) (*Group, error) {
	if err := h.check(ctx); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, notFound("group", id)
	}
	g, err := h.store.Group(ctx, id)
	if err != nil {
		return nil, fromBackend(err)
	}
	members, err := h.store.Members(ctx, id)
	if err != nil {
		return nil, fromBackend(err)
	}
	return h.groupSnapshot(g, members), nil
}

// groupSnapshot converts a group record. The record counts members by
// state; the progress of the unfinished ones is what this host's attempts
// last reported.
func (h *Host) groupSnapshot(g *model.Group, jobs []string) *Group {
	st := h.groupStatus(g)
	return &Group{
		ID: g.ID, Name: g.Name, Sequential: g.Sequential, CancelOnFailure: g.CancelOnFailure,
		CreatedAt: g.CreatedAt, Counts: st.Counts, Progress: st.Progress, Done: st.Done,
		Outcome: st.Outcome, FinishedAt: timePtr(g.FinishedAt), Jobs: jobs,
	}
}

func (h *Host) groupStatus(g *model.Group) GroupStatus {
	finished := g.Counts[model.Completed] + g.Counts[model.Failed] + g.Counts[model.Canceled]
	live, progress := g.Size-finished, 0.0
	if live > 0 {
		progress = h.e.GroupProgress(g.ID)
	}
	sum := g.Summarize(live, progress)
	return GroupStatus{Counts: sum.Counts, Progress: sum.Progress, Done: sum.Done, Outcome: sum.Outcome}
}

// ListGroups returns groups newest first, a page at a time.
func (h *Host) ListGroups(ctx context.Context, before string, limit int) ([]*Group, string, error) {
	if limit < 0 {
		return nil, "", invalidf("limit must not be negative")
	}
	if err := checkCursor(before); err != nil {
		return nil, "", err
	}
	if err := h.check(ctx); err != nil {
		return nil, "", err
	}
	recs, next, err := h.store.ListGroups(ctx, before, limit)
	if err != nil {
		return nil, "", fromBackend(err)
	}
	out := make([]*Group, len(recs))
	for i, g := range recs {
		out[i] = h.groupSnapshot(g, nil)
	}
	return out, next, nil
}

// WaitGroup blocks until every member of the group is finished (and
// durable) and returns the group. A group without members yet is waited
// on until members are added and finish (a consumer may start waiting
// before the producer adds the first job); bound the wait with ctx.
func (h *Host) WaitGroup(ctx context.Context, id string) (*Group, error) {
	if err := h.check(ctx); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, notFound("group", id)
	}
	if _, err := h.e.WaitGroup(ctx, id); err != nil {
		return nil, fromBackend(err)
	}
	return h.GetGroup(ctx, id)
}

// CancelGroup cancels every unfinished member, the last added first: each
// is canceled by the request, not by the cancel of a member it waits for.
func (h *Host) CancelGroup(ctx context.Context, id string) error {
	ids, err := h.membersWhere(ctx, id, func(j *model.Job) bool { return !j.State.Terminal() })
	if err != nil {
		return err
	}
	slices.Reverse(ids)
	return h.requestAll(ctx, backend.RequestCancel, ids, movedMeanwhile)
}

// PauseGroup pauses every member that can be paused (queued, waiting,
// running).
func (h *Host) PauseGroup(ctx context.Context, id string) error {
	return h.groupOp(ctx, id, backend.RequestPause, func(j *model.Job) bool {
		switch j.State {
		case model.Queued, model.Waiting, model.Running:
			return true
		}
		return false
	})
}

// ResumeGroup resumes every paused member.
func (h *Host) ResumeGroup(ctx context.Context, id string) error {
	return h.groupOp(ctx, id, backend.RequestResume, func(j *model.Job) bool { return j.State == model.Paused })
}

// SubmitGroup submits every created member. Each submit is its own
// durable write; a sequential group's order is kept by its members'
// dependencies, not by the order of the writes. A member that left the
// created state meanwhile is skipped: in a cancel-on-failure group, a
// member that fails at once cancels the created rest before their submits
// come, and that is the group's rule at work, not an error.
func (h *Host) SubmitGroup(ctx context.Context, id string) error {
	ids, err := h.membersWhere(ctx, id, func(j *model.Job) bool { return j.State == model.Created })
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return stateErr("group %s has no created member to submit", id)
	}
	return h.requestAll(ctx, backend.RequestSubmit, ids, movedMeanwhile)
}

// groupOp makes one request of every member that want selects. A member
// whose state changed since it was read (it finished meanwhile) is
// skipped, as it would have been had it been read a moment later.
func (h *Host) groupOp(ctx context.Context, id string, kind backend.RequestKind, want func(*model.Job) bool) error {
	ids, err := h.membersWhere(ctx, id, want)
	if err != nil {
		return err
	}
	return h.requestAll(ctx, kind, ids, movedMeanwhile)
}

// membersWhere lists a group's members that want selects, in the order
// they were added.
func (h *Host) membersWhere(ctx context.Context, id string, want func(*model.Job) bool) ([]string, error) {
	if err := h.check(ctx); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, notFound("group", id)
	}
	if _, err := h.store.Group(ctx, id); err != nil {
		return nil, fromBackend(err)
	}
	members, err := h.store.Members(ctx, id)
	if err != nil {
		return nil, fromBackend(err)
	}
	// The members' records, a page at a time rather than one read each.
	recs := make(map[string]*model.Job, len(members))
	for before := ""; ; {
		page, next, err := h.store.ListJobs(ctx, backend.JobFilter{Group: id, Before: before, Limit: backend.MaxLimit})
		if err != nil {
			return nil, fromBackend(err)
		}
		for _, j := range page {
			recs[j.ID] = j
		}
		if next == "" {
			break
		}
		before = next
	}
	var out []string
	for _, m := range members {
		if j := recs[m]; j != nil && want(j) { // a pruned member has no record
			out = append(out, m)
		}
	}
	return out, nil
}
