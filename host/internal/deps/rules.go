package deps

import (
	"fmt"

	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

// FailedError is the error of a job canceled because its dependency dep
// ended in state s (failed or canceled) under the cancel policy. It names
// the dependency, which is also how a retry of dep finds the jobs to
// re-arm (see CanceledBy).
func FailedError(dep string, s model.State) *model.JobError {
	return &model.JobError{Kind: errkind.DependencyFailed, Dependency: dep,
		Message: fmt.Sprintf("dependency %s ended %s", dep, s)}
}

// CanceledBy reports whether j was canceled because dependency dep ended
// failed or canceled.
func CanceledBy(j *model.Job, dep string) bool {
	return j.State == model.Canceled && j.Error != nil &&
		j.Error.Kind == errkind.DependencyFailed && j.Error.Dependency == dep
}

// Edge is one dependency of a job, with the dependency's current state.
type Edge struct {
	Dep    string
	Policy model.DepPolicy
	// State is the dependency's state; "" when it is gone (pruned after
	// its retention), which means it finished long ago.
	State model.State
}

// Readiness is where a job being submitted belongs, from its edges.
type Readiness struct {
	// Unfinished counts the dependencies it must still wait for.
	Unfinished int
	// Cancel, when set, is the error of the first dependency whose end
	// cancels the job: it is canceled instead of waiting or queued.
	Cancel *model.JobError
}

// Assess says where a job with these edges belongs: canceled if a
// dependency ended failed or canceled under the cancel policy, waiting
// while any is unfinished, else ready. A dependency that is gone does not
// block: waiting for it would be waiting forever.
func Assess(edges []Edge) Readiness {
	var r Readiness
	for _, e := range edges {
		if e.State == "" {
			continue
		}
		switch Judge(e.State, e.Policy) {
		case Pending:
			r.Unfinished++
		case Cancel:
			if r.Cancel == nil {
				r.Cancel = FailedError(e.Dep, e.State)
			}
		}
	}
	return r
}

// PolicyOf returns the policy of j's edge to dep; the cancel policy if
// there is no such edge.
func PolicyOf(j *model.Job, dep string) model.DepPolicy {
	for _, d := range j.DependsOn {
		if d.ID == dep {
			return d.Policy
		}
	}
	return model.DepCancel
}

// OnFinish says what the end of dependency dep, in state s, means for its
// dependent j: Cancel j, count the edge Satisfied, or Pending when there
// is nothing to do (dep has not finished after all, j is already finished,
// or j is not submitted yet and will assess its edges when it is).
func OnFinish(j *model.Job, dep string, s model.State) Verdict {
	if j.State.Terminal() || j.State == model.Created {
		return Pending
	}
	return Judge(s, PolicyOf(j, dep))
}

// Rearm is what a manual retry of a dependency means for one dependent.
type Rearm int

// The re-arm actions.
const (
	// Untouched: the dependent is not affected.
	Untouched Rearm = iota
	// Requeue: the dependent was canceled by this dependency's end; it
	// is submitted again (and its own dependents re-armed in turn).
	Requeue
	// WaitAgain: the dependent is waiting (perhaps paused) and had counted
	// this dependency as settled (ignore policy); it must wait for it
	// again.
	WaitAgain
	// Relink: the dependent is not submitted yet; when it is, it must
	// wait for this dependency again.
	Relink
)

// OnRetry says what a manual retry of dependency dep means for its
// dependent j.
func OnRetry(j *model.Job, dep string) Rearm {
	switch {
	case CanceledBy(j, dep):
		return Requeue
	case j.State == model.Waiting || (j.State == model.Paused && j.PausedFrom == model.Waiting):
		return WaitAgain
	case j.State == model.Created:
		return Relink
	}
	return Untouched
}
