package model

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// groupOf builds a group whose members are in these states, through
// AddMember and Move as the engine does: each member joins created and
// moves to its state.
func groupOf(states ...State) *Group {
	g := &Group{ID: "g"}
	for i, s := range states {
		id := string(rune('a' + i))
		g.AddMember(id, Created)
		if s != Created {
			g.Move(Created, s)
		}
	}
	return g
}

func TestGroupSummary(t *testing.T) {
	tests := []struct {
		name         string
		members      []State
		live         int
		liveProgress float64
		want         GroupSummary
	}{
		{"empty group waits for members", nil, 0, 0, GroupSummary{Counts: map[State]int{}}},
		{"unfinished members", []State{Queued, Running, Waiting}, 3, 0.5,
			GroupSummary{Counts: map[State]int{Queued: 1, Running: 1, Waiting: 1}, Progress: 0.5 / 3}},
		{"created members are counted", []State{Created, Created}, 2, 0,
			GroupSummary{Counts: map[State]int{Created: 2}}},
		{"partly finished", []State{Completed, Running}, 1, 0.5,
			GroupSummary{Counts: map[State]int{Completed: 1, Running: 1}, Progress: 0.75}},
		{"paused members are unfinished", []State{Completed, Paused}, 1, 0,
			GroupSummary{Counts: map[State]int{Completed: 1, Paused: 1}, Progress: 0.5}},
		{"all completed", []State{Completed, Completed, Completed}, 0, 0,
			GroupSummary{Counts: map[State]int{Completed: 3}, Done: true, Outcome: "completed", Progress: 1}},
		{"all canceled", []State{Canceled, Canceled}, 0, 0,
			GroupSummary{Counts: map[State]int{Canceled: 2}, Done: true, Outcome: "canceled", Progress: 1}},
		{"failures and no completion fail", []State{Failed, Canceled}, 0, 0,
			GroupSummary{Counts: map[State]int{Failed: 1, Canceled: 1}, Done: true, Outcome: "failed", Progress: 1}},
		{"all failed", []State{Failed}, 0, 0,
			GroupSummary{Counts: map[State]int{Failed: 1}, Done: true, Outcome: "failed", Progress: 1}},
		{"a completion among failures is partial", []State{Completed, Failed}, 0, 0,
			GroupSummary{Counts: map[State]int{Completed: 1, Failed: 1}, Done: true, Outcome: "partial", Progress: 1}},
		{"completed and canceled is partial", []State{Completed, Canceled}, 0, 0,
			GroupSummary{Counts: map[State]int{Completed: 1, Canceled: 1}, Done: true, Outcome: "partial", Progress: 1}},
		{"live progress beyond its members is capped", []State{Running}, 1, 7,
			GroupSummary{Counts: map[State]int{Running: 1}, Progress: 1}},
		{"negative live progress counts as none", []State{Completed, Running}, 1, -3,
			GroupSummary{Counts: map[State]int{Completed: 1, Running: 1}, Progress: 0.5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := groupOf(tc.members...)
			if diff := cmp.Diff(tc.want, g.Summarize(tc.live, tc.liveProgress)); diff != "" {
				t.Errorf("Summarize (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGroupMembershipCounts(t *testing.T) {
	g := &Group{ID: "g"}
	if pos := g.AddMember("a", Created); pos != 0 {
		t.Errorf("first member at %d", pos)
	}
	if pos := g.AddMember("b", Queued); pos != 1 || g.Last != "b" || g.Size != 2 {
		t.Errorf("second member at %d, last %q, size %d", pos, g.Last, g.Size)
	}
	g.Move(Created, Queued)
	g.Move(Queued, Running)
	want := map[State]int{Queued: 1, Running: 1}
	if diff := cmp.Diff(want, g.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	// A finished member retried (failed → queued) reopens a done group.
	g.Move(Queued, Completed)
	g.Move(Running, Failed)
	if !g.Done() {
		t.Fatal("group with every member finished is not done")
	}
	g.Move(Failed, Queued)
	if g.Done() || g.Outcome() != "" {
		t.Errorf("retried member left the group done (%q)", g.Outcome())
	}
}

func TestCancelsOthers(t *testing.T) {
	onFailure := &Group{CancelOnFailure: true}
	plain := &Group{}
	for _, tc := range []struct {
		g    *Group
		s    State
		want bool
	}{
		{onFailure, Failed, true},
		{onFailure, Canceled, false},
		{onFailure, Completed, false},
		{plain, Failed, false},
	} {
		if got := tc.g.CancelsOthers(tc.s); got != tc.want {
			t.Errorf("CancelOnFailure %v, member %s: CancelsOthers = %v, want %v", tc.g.CancelOnFailure, tc.s, got, tc.want)
		}
	}
}
