package deps

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/host/internal/model"
)

func TestFindAny(t *testing.T) {
	dependents := map[string][]string{"a": {"b"}, "b": {"c", "d"}, "d": {"b"}}
	next := func(id string) []string { return dependents[id] }
	in := func(set ...string) func(string) bool {
		return func(id string) bool { return slices.Contains(set, id) }
	}
	for _, tc := range []struct {
		start string
		want  func(string) bool
		hit   string
	}{
		{"a", in("d"), "d"},
		{"a", in("a"), ""}, // the start itself does not count
		{"c", in("a", "b"), ""},
		{"d", in("c"), "c"}, // through the loop d → b → c
		{"x", in("a"), ""},
	} {
		if got := FindAny(tc.start, next, tc.want); got != tc.hit {
			t.Errorf("FindAny from %s = %q, want %q", tc.start, got, tc.hit)
		}
	}
}

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
