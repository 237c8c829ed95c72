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
