package backendtest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

// sameJob compares a job the backend answered with the model's. Of a job
// canceled (or asked to stop) in a cascade where several causes ended in
// one transaction, any of the causes is right: the model then adopts the
// backend's, so that what follows from it (a retry re-arms the jobs whose
// error names it) is compared from the same state.
func (h *history) sameJob(want, got *model.Job) string {
	d := diff(want, got)
	if d == "" || want == nil || got == nil || !h.cascadeCause(want, want.Error) || !h.cascadeCause(want, got.Error) {
		return d
	}
	w := want.Clone()
	w.Error = cloneErr(got.Error)
	if diff(w, got) != "" {
		return d
	}
	if j := h.m.jobs[want.ID]; j != nil {
		j.Error = cloneErr(got.Error)
	}
	return ""
}

// cascadeCause reports whether e is a reason a cascade may give j now: a
// dependency under the cancel policy that failed or was canceled, or a
// failed member of its cancel-on-failure group.
func (h *history) cascadeCause(j *model.Job, e *model.JobError) bool {
	if e == nil {
		return false
	}
	switch e.Kind {
	case errkind.DependencyFailed:
		dep := h.m.jobs[e.Dependency]
		return dep != nil && slices.Contains(j.DependsOn, model.Dep{ID: dep.ID, Policy: model.DepCancel}) &&
			(dep.State == model.Failed || dep.State == model.Canceled) && diff(DependencyFailedError(dep), e) == ""
	case errkind.Canceled:
		g := h.m.groups[j.Group]
		if g == nil || !g.CancelOnFailure {
			return false
		}
		for _, id := range h.m.members[g.ID] {
			if mj := h.m.jobs[id]; mj != nil && mj.State == model.Failed && diff(GroupFailedError(id), e) == "" {
				return true
			}
		}
	}
	return false
}

func (h *history) sameJobs(what string, want, got []*model.Job) error {
	if len(want) != len(got) {
		return fmt.Errorf("%s has jobs %v, the model's %v", what, ids(got), ids(want))
	}
	for i := range want {
		if d := h.sameJob(want[i], got[i]); d != "" {
			return fmt.Errorf("%s: job %d (%s) differs (-model +backend):\n%s", what, i+1, want[i].ID, d)
		}
	}
	return nil
}

// sameChanges checks a write's Changes against what the model's state
// says changed: every job whose state changed is listed (the request's
// target may be), every listed job is as stored (a job may be listed
// that went somewhere and back within the write); every
// group whose counts or finish time changed is listed, as stored; Stop is
// exactly the running jobs newly asked to stop; Skipped is the model's.
func (h *history) sameChanges(op string, got, want backend.Changes, target string) error {
	before := h.before
	if d := diff(want.Skipped, got.Skipped); d != "" {
		return fmt.Errorf("%s: Changes.Skipped differs (-model +backend):\n%s", op, d)
	}
	listed := map[string]bool{}
	for _, j := range got.Jobs {
		if listed[j.ID] {
			return fmt.Errorf("%s: Changes.Jobs lists %s twice", op, j.ID)
		}
		listed[j.ID] = true
		after := h.m.jobs[j.ID]
		if after == nil {
			return fmt.Errorf("%s: Changes.Jobs lists %s, which is not stored", op, j.ID)
		}
		if d := h.sameJob(after, j); d != "" {
			return fmt.Errorf("%s: Changes.Jobs has %s not as stored (-stored +listed):\n%s", op, j.ID, d)
		}
	}
	for id, after := range h.m.jobs {
		if b := before.jobs[id]; b != nil && b.State != after.State && !listed[id] && id != target {
			return fmt.Errorf("%s: Changes.Jobs lacks %s, which went %s → %s", op, id, b.State, after.State)
		}
	}
	glisted := map[string]bool{}
	for _, g := range got.Groups {
		glisted[g.ID] = true
		if d := diff(h.m.groups[g.ID], g); d != "" {
			return fmt.Errorf("%s: Changes.Groups has %s not as stored (-stored +listed):\n%s", op, g.ID, d)
		}
	}
	for id, after := range h.m.groups {
		b := before.groups[id]
		if b != nil && (diff(b.Counts, after.Counts) != "" || !b.FinishedAt.Equal(after.FinishedAt)) && !glisted[id] {
			return fmt.Errorf("%s: Changes.Groups lacks %s, whose counts or finish time changed", op, id)
		}
	}
	gotStop, wantStop := ids(got.Stop), ids(want.Stop)
	slices.Sort(gotStop)
	slices.Sort(wantStop)
	if !slices.Equal(gotStop, wantStop) {
		return fmt.Errorf("%s: Changes.Stop = %v, the model's %v", op, gotStop, wantStop)
	}
	for _, j := range got.Stop {
		if d := h.sameJob(h.m.jobs[j.ID], j); d != "" {
			return fmt.Errorf("%s: Changes.Stop has %s not as stored (-stored +listed):\n%s", op, j.ID, d)
		}
	}
	return nil
}

// compareState compares everything the backend stores with the model.
func (h *history) compareState() error {
	got, want := dump(h.e.t, h.s), dump(h.e.t, h.ms)
	if len(got.Jobs) == len(want.Jobs) {
		for i := range got.Jobs {
			h.sameJob(want.Jobs[i], got.Jobs[i]) // adopt the backend's choice of cause
		}
		want = dump(h.e.t, h.ms)
	}
	if d := diffDumps(want, got); d != "" {
		return fmt.Errorf("stored state differs (-model +backend):\n%s", d)
	}
	ctx := h.e.ctx
	gr, err := h.s.Running(ctx, nil)
	if err != nil {
		return fmt.Errorf("Running: %w", err)
	}
	wr, _ := h.m.Running(nil)
	slices.SortFunc(gr, func(a, b *model.Job) int { return strings.Compare(a.ID, b.ID) })
	if d := diff(wr, gr); d != "" {
		return fmt.Errorf("Running(none alive) differs (-model +backend):\n%s", d)
	}
	gn, err := h.s.NextRunAt(ctx, h.now)
	wn, _ := h.m.NextRunAt(h.now)
	if err != nil || !gn.Equal(wn) {
		return fmt.Errorf("NextRunAt(%s) = %s, %v; the model says %s", h.clock(h.now), h.clock(gn), err, h.clock(wn))
	}
	for k := range 6 {
		key := fmt.Sprintf("key-%d", k)
		gid, gerr := h.s.JobByKey(ctx, key)
		wid, werr := h.m.JobByKey(key)
		if err := agree(gerr, werr); err != nil || gid != wid {
			return fmt.Errorf("JobByKey(%s) = %q, %v; the model says %q, %v", key, gid, gerr, wid, werr)
		}
	}
	for range 3 {
		id := h.anyJob()
		gd, gerr := h.s.Dependents(ctx, id)
		wd, _ := h.m.Dependents(id)
		if gerr != nil || diff(wd, gd) != "" {
			return fmt.Errorf("Dependents(%s) = %v, %v; the model says %v", id, gd, gerr, wd)
		}
	}
	return h.compareHosts()
}
