package host

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/batchhost/batchhost/host/internal/deps"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/store"
)

// group returns a group's in-memory state, loading it from the store if it
// was evicted.
func (e *engine) group(id string) (*groupState, error) {
	if gs := e.groups[id]; gs != nil {
		return gs, nil
	}
	g, err := e.store.Group(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("group", id)
	}
	if err != nil {
		return nil, err
	}
	if g.Counts == nil {
		g.Counts = map[model.State]int{}
	}
	gs := &groupState{g: g, live: map[string]struct{}{}}
	e.groups[id] = gs
	return gs, nil
}

func (e *engine) groupOf(j *model.Job) (*groupState, error) {
	if j.Group == "" {
		return nil, nil
	}
	return e.group(j.Group)
}

// addToGroup makes a created job a member. In a sequential group the job
// depends on the member added before it; that edge is checked for cycles.
// Adding to a done group reopens it: it is done again when the new member
// finishes.
func (e *engine) addToGroup(js *jobState, gs *groupState) error {
	if err := e.canJoin(js, gs); err != nil {
		return err
	}
	j, g := js.job, gs.g
	var edge *model.Dep
	if g.Sequential && g.Last != "" && !slices.ContainsFunc(j.DependsOn, func(d model.Dep) bool { return d.ID == g.Last }) {
		if cyc := e.cycle(j.ID, g.Last); cyc != nil {
			return &CycleError{Path: cyc}
		}
		edge = &model.Dep{ID: g.Last, Policy: model.DepCancel}
	}
	if edge != nil {
		j.DependsOn = append(j.DependsOn, *edge)
		e.batch.AddEdge(edge.ID, j.ID, edge.Policy)
		e.link(edge.ID, j.ID)
	}
	j.Group = g.ID
	e.batch.AddMember(g.ID, g.AddMember(j.ID, j.State), j.ID)
	gs.addLive(js)
	e.markJob(js)
	e.markGroup(gs)
	return nil
}

// canJoin refuses a job that is not created or already in a group.
func (e *engine) canJoin(js *jobState, gs *groupState) error {
	j, g := js.job, gs.g
	if j.State != model.Created {
		return stateErr("job %s is %s: only created jobs can join a group", j.ID, j.State)
	}
	if j.Group != "" {
		if j.Group == g.ID {
			return stateErr("job %s is already in group %s", j.ID, g.ID)
		}
		return stateErr("job %s is already in group %s; a job belongs to at most one group", j.ID, j.Group)
	}
	return nil
}

// cycle reports the cycle that making job depend on dep would close, as
// job → dep → ... → job, or nil.
func (e *engine) cycle(job, dep string) []string {
	return deps.CycleVia(job, dep, e.dependentsOf)
}

// sequentialCycle refuses, before anything changes, the cycle that adding
// jobs in order to a sequential group whose last member is last would
// close.
func (e *engine) sequentialCycle(last string, jobs []*jobState) error {
	ids := make([]string, len(jobs))
	for i, js := range jobs {
		ids[i] = js.job.ID
	}
	if cyc := deps.SequentialCycle(last, ids, e.dependentsOf); cyc != nil {
		return &CycleError{Path: cyc}
	}
	return nil
}

func (e *engine) dependentsOf(id string) []string {
	out := make([]string, 0, len(e.dependents[id]))
	for d := range e.dependents[id] {
		out = append(out, d)
	}
	return out
}

// link indexes dependent under dep while dep is unfinished, so that dep's
// end reaches it in O(1) per edge. Linking twice is harmless.
func (e *engine) link(dep, dependent string) {
	if js := e.jobs[dep]; js == nil || js.job.State.Terminal() {
		return
	}
	set := e.dependents[dep]
	if set == nil {
		set = map[string]struct{}{}
		e.dependents[dep] = set
	}
	set[dependent] = struct{}{}
}

// addDeps adds dependencies to a created job, refusing cycles.
func (e *engine) addDeps(js *jobState, add []model.Dep) error {
	j := js.job
	if j.State != model.Created {
		return stateErr("job %s is %s: dependencies can only be added to created jobs", j.ID, j.State)
	}
	for i, d := range add {
		if d.ID == j.ID {
			return invalidf("job %s cannot depend on itself", j.ID)
		}
		if _, err := e.lookup(d.ID); err != nil {
			return fmt.Errorf("dependency %s: %w", d.ID, err)
		}
		if slices.ContainsFunc(j.DependsOn, func(x model.Dep) bool { return x.ID == d.ID }) {
			return invalidf("job %s already depends on %s", j.ID, d.ID)
		}
		if slices.ContainsFunc(add[:i], func(x model.Dep) bool { return x.ID == d.ID }) {
			return invalidf("dependency %s listed twice", d.ID)
		}
		if cyc := e.cycle(j.ID, d.ID); cyc != nil {
			return &CycleError{Path: cyc}
		}
	}
	for _, d := range add {
		j.DependsOn = append(j.DependsOn, d)
		e.batch.AddEdge(d.ID, j.ID, d.Policy)
		e.link(d.ID, j.ID)
	}
	e.markJob(js)
	return nil
}

func (e *engine) createGroup(g *model.Group) error {
	g.Name = strings.TrimSpace(g.Name)
	if err := model.CheckName("group name", g.Name); err != nil {
		return invalid(err)
	}
	gs := &groupState{g: g, live: map[string]struct{}{}}
	e.groups[g.ID] = gs
	e.markGroup(gs)
	return nil
}

// members returns the unfinished members of a group in creation order.
func (e *engine) liveMembers(gs *groupState) []*jobState {
	out := make([]*jobState, 0, len(gs.live))
	for id := range gs.live {
		if js := e.jobs[id]; js != nil {
			out = append(out, js)
		}
	}
	slices.SortFunc(out, func(a, b *jobState) int { return strings.Compare(a.job.ID, b.job.ID) })
	return out
}

func (e *engine) groupStatus(gs *groupState) GroupStatus {
	return toGroupStatus(gs.g.Summarize(len(gs.live), gs.liveProgress))
}

func toGroupStatus(sum model.GroupSummary) GroupStatus {
	return GroupStatus{Counts: sum.Counts, Progress: sum.Progress, Done: sum.Done, Outcome: sum.Outcome}
}

func (e *engine) groupSnapshot(gs *groupState, jobs []string) *Group {
	return groupSnapshot(gs.g, e.groupStatus(gs), jobs)
}

// storedGroup converts a group record read from the store. Such a group has
// no unfinished member in memory, so its progress follows from its counts.
func storedGroup(g *model.Group, jobs []string) *Group {
	return groupSnapshot(g, toGroupStatus(g.Summarize(0, 0)), jobs)
}

func groupSnapshot(g *model.Group, st GroupStatus, jobs []string) *Group {
	return &Group{
		ID: g.ID, Name: g.Name, Sequential: g.Sequential, CancelOnFailure: g.CancelOnFailure,
		CreatedAt: g.CreatedAt, Counts: st.Counts, Progress: st.Progress, Done: st.Done,
		Outcome: st.Outcome, FinishedAt: timePtr(g.FinishedAt), Jobs: jobs,
	}
}
