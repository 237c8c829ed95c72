package deps

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

func TestFailedErrorNamesTheDependency(t *testing.T) {
	got := FailedError("a", model.Failed)
	want := &model.JobError{Kind: errkind.DependencyFailed, Dependency: "a", Message: "dependency a ended failed"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FailedError (-want +got):\n%s", diff)
	}
}

func TestAssess(t *testing.T) {
	edge := func(dep string, p model.DepPolicy, s model.State) Edge { return Edge{Dep: dep, Policy: p, State: s} }
	tests := []struct {
		name  string
		edges []Edge
		want  Readiness
	}{
		{"no dependencies is ready", nil, Readiness{}},
		{"completed dependency is ready", []Edge{edge("a", model.DepCancel, model.Completed)}, Readiness{}},
		{"unfinished dependencies wait", []Edge{
			edge("a", model.DepCancel, model.Queued), edge("b", model.DepIgnore, model.Running),
			edge("c", model.DepCancel, model.Completed), edge("d", model.DepCancel, model.Paused),
		}, Readiness{Unfinished: 3}},
		{"created dependency waits", []Edge{edge("a", model.DepCancel, model.Created)}, Readiness{Unfinished: 1}},
		{"failed dependency cancels", []Edge{edge("a", model.DepCancel, model.Failed)},
			Readiness{Cancel: FailedError("a", model.Failed)}},
		{"canceled dependency cancels", []Edge{edge("a", "", model.Canceled)},
			Readiness{Cancel: FailedError("a", model.Canceled)}},
		{"ignore edge lets a failure through", []Edge{edge("a", model.DepIgnore, model.Failed), edge("b", model.DepIgnore, model.Canceled)}, Readiness{}},
		{"the first canceling dependency is named", []Edge{
			edge("a", model.DepIgnore, model.Failed), edge("b", model.DepCancel, model.Waiting),
			edge("c", model.DepCancel, model.Canceled), edge("d", model.DepCancel, model.Failed),
		}, Readiness{Unfinished: 1, Cancel: FailedError("c", model.Canceled)}},
		{"a pruned dependency does not block", []Edge{edge("a", model.DepCancel, ""), edge("b", model.DepCancel, model.Queued)}, Readiness{Unfinished: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Assess(tc.edges)); diff != "" {
				t.Errorf("Assess (-want +got):\n%s", diff)
			}
		})
	}
}
