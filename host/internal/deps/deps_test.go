package deps

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/host/internal/model"
)

func TestFindCycle(t *testing.T) {
	graph := map[string][]string{ // job → its dependencies
		"b": {"a"},
		"c": {"b"},
		"d": {"b", "c"},
		"x": {"y"},
	}
	depsOf := func(id string) []string { return graph[id] }
	tests := []struct {
		job, dep string
		want     []string
	}{
		{"a", "a", []string{"a", "a"}},
		{"a", "c", []string{"a", "c", "b", "a"}},
		{"a", "d", []string{"a", "d", "b", "a"}},
		{"b", "d", []string{"b", "d", "b"}},
		{"d", "a", nil},
		{"e", "d", nil},
		{"y", "x", []string{"y", "x", "y"}},
		{"a", "unknown", nil},
	}
	for _, tc := range tests {
		got := FindCycle(tc.job, tc.dep, depsOf)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("FindCycle(%s, %s) (-want +got):\n%s", tc.job, tc.dep, diff)
		}
	}
}

func TestJudge(t *testing.T) {
	tests := []struct {
		s    model.State
		p    model.DepPolicy
		want Verdict
	}{
		{model.Queued, model.DepCancel, Pending},
		{model.Running, model.DepIgnore, Pending},
		{model.Created, model.DepCancel, Pending},
		{model.Paused, model.DepCancel, Pending},
		{model.Completed, model.DepCancel, Satisfied},
		{model.Completed, model.DepIgnore, Satisfied},
		{model.Failed, model.DepCancel, Cancel},
		{model.Canceled, model.DepCancel, Cancel},
		{model.Failed, model.DepIgnore, Satisfied},
		{model.Canceled, model.DepIgnore, Satisfied},
		{model.Failed, "", Cancel},
	}
	for _, tc := range tests {
		if got := Judge(tc.s, tc.p); got != tc.want {
			t.Errorf("Judge(%s, %q) = %v, want %v", tc.s, tc.p, got, tc.want)
		}
	}
}
