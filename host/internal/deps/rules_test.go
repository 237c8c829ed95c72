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

func TestOnFinish(t *testing.T) {
	job := func(s model.State, edges ...model.Dep) *model.Job {
		return &model.Job{ID: "j", State: s, DependsOn: edges}
	}
	cancelEdge := model.Dep{ID: "a", Policy: model.DepCancel}
	ignoreEdge := model.Dep{ID: "a", Policy: model.DepIgnore}
	tests := []struct {
		name string
		j    *model.Job
		s    model.State
		want Verdict
	}{
		{"completed releases", job(model.Waiting, cancelEdge), model.Completed, Satisfied},
		{"failed cancels", job(model.Waiting, cancelEdge), model.Failed, Cancel},
		{"canceled cancels", job(model.Waiting, cancelEdge), model.Canceled, Cancel},
		{"failed releases an ignore edge", job(model.Waiting, ignoreEdge), model.Failed, Satisfied},
		{"canceled releases an ignore edge", job(model.Waiting, model.Dep{ID: "b"}, ignoreEdge), model.Canceled, Satisfied},
		{"a paused dependent is canceled too", job(model.Paused, cancelEdge), model.Failed, Cancel},
		{"a queued dependent (ignore edge, retried dep) is released", job(model.Queued, ignoreEdge), model.Completed, Satisfied},
		{"no edge means the cancel policy", job(model.Waiting), model.Failed, Cancel},
		{"a dependency not finished after all", job(model.Waiting, cancelEdge), model.Queued, Pending},
		{"a created dependent assesses later", job(model.Created, cancelEdge), model.Failed, Pending},
		{"a finished dependent is untouched", job(model.Canceled, cancelEdge), model.Failed, Pending},
		{"a completed dependent is untouched", job(model.Completed, ignoreEdge), model.Completed, Pending},
	}
	for _, tc := range tests {
		if got := OnFinish(tc.j, "a", tc.s); got != tc.want {
			t.Errorf("%s: OnFinish = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestOnRetry(t *testing.T) {
	canceledBy := func(dep string) *model.Job {
		return &model.Job{ID: "j", State: model.Canceled, Error: FailedError(dep, model.Failed)}
	}
	tests := []struct {
		name string
		j    *model.Job
		want Rearm
	}{
		{"canceled by this dependency is requeued", canceledBy("a"), Requeue},
		{"canceled by another dependency stays", canceledBy("b"), Untouched},
		{"canceled by a user stays", &model.Job{State: model.Canceled, Error: &model.JobError{Kind: errkind.Canceled, Message: "canceled by request"}}, Untouched},
		{"canceled without an error stays", &model.Job{State: model.Canceled}, Untouched},
		{"waiting waits again", &model.Job{State: model.Waiting}, WaitAgain},
		{"paused while waiting waits again", &model.Job{State: model.Paused, PausedFrom: model.Waiting}, WaitAgain},
		{"paused while queued is untouched", &model.Job{State: model.Paused, PausedFrom: model.Queued}, Untouched},
		{"created is relinked", &model.Job{State: model.Created}, Relink},
		{"queued is untouched", &model.Job{State: model.Queued}, Untouched},
		{"running is untouched", &model.Job{State: model.Running}, Untouched},
		{"completed is untouched", &model.Job{State: model.Completed}, Untouched},
		{"failed is untouched", &model.Job{State: model.Failed, Error: FailedError("a", model.Failed)}, Untouched},
	}
	for _, tc := range tests {
		if got := OnRetry(tc.j, "a"); got != tc.want {
			t.Errorf("%s: OnRetry = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCycleVia(t *testing.T) {
	dependents := map[string][]string{ // job → the jobs that wait for it
		"a": {"b"},
		"b": {"c", "d"},
		"c": {"d"},
	}
	dependentsOf := func(id string) []string { return dependents[id] }
	tests := []struct {
		job, dep string
		want     []string
	}{
		{"a", "a", []string{"a", "a"}},
		{"a", "b", []string{"a", "b", "a"}},
		{"a", "c", []string{"a", "c", "b", "a"}},
		{"c", "d", []string{"c", "d", "c"}},
		{"d", "a", nil},
		{"x", "a", nil},
		{"a", "x", nil},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, CycleVia(tc.job, tc.dep, dependentsOf)); diff != "" {
			t.Errorf("CycleVia(%s, %s) (-want +got):\n%s", tc.job, tc.dep, diff)
		}
	}
}

func TestSequentialCycle(t *testing.T) {
	dependents := map[string][]string{"a": {"b"}, "b": {"c"}}
	dependentsOf := func(id string) []string { return dependents[id] }
	tests := []struct {
		name string
		last string
		ids  []string
		want []string
	}{
		{"fresh jobs", "", []string{"x", "y", "z"}, nil},
		{"fresh jobs after a last member", "c", []string{"x", "y"}, nil},
		{"a chain in its own order", "", []string{"a", "b", "c"}, nil},
		{"a job after one that waits for it", "", []string{"c", "a"}, []string{"a", "c", "b", "a"}},
		{"the last member waits for the job", "b", []string{"a"}, []string{"a", "b", "a"}},
		{"a job whose dependents are not earlier", "x", []string{"a"}, nil},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, SequentialCycle(tc.last, tc.ids, dependentsOf)); diff != "" {
			t.Errorf("%s: SequentialCycle (-want +got):\n%s", tc.name, diff)
		}
	}
}
