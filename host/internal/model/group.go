package model

import "time"

// Group is a named set of jobs managed together. Membership is kept by the
// store (in add order); the record holds what the engine needs without
// reading the members.
type Group struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Sequential      bool      `json:"sequential"`
	CancelOnFailure bool      `json:"cancel_on_failure"`
	CreatedAt       time.Time `json:"created_at"`
	// Size is the number of members ever added; a new member's position.
	Size int `json:"size"`
	// Last is the most recently added member: in a sequential group the
	// next member depends on it.
	Last string `json:"last,omitempty"`
	// Counts is the number of members in each state, kept current by the
	// engine in the same commit as the members' own changes.
	Counts map[State]int `json:"counts"`
	// FinishedAt is when the group became done: when its last member
	// finished; zero while any is unfinished or the group is empty. A
	// member that joins a done group and ends in the same write (canceled
	// at once) does not move it: the group never stopped being done as far
	// as anyone saw.
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Done reports whether every member is finished. An empty group is not
// done: it is waiting for members.
func (g *Group) Done() bool {
	if g.Size == 0 {
		return false
	}
	finished := g.Counts[Completed] + g.Counts[Failed] + g.Counts[Canceled]
	return finished == g.Size
}

// Outcome summarizes a done group: completed (all members completed),
// failed (none completed, some failed), canceled (all canceled), or partial
// (a mix). "" while not done.
func (g *Group) Outcome() string {
	if !g.Done() {
		return ""
	}
	switch {
	case g.Counts[Completed] == g.Size:
		return "completed"
	case g.Counts[Canceled] == g.Size:
		return "canceled"
	case g.Counts[Completed] == 0 && g.Counts[Failed] > 0:
		return "failed"
	}
	return "partial"
}

// AddMember counts job id, in state s, as the group's newest member and
// returns its position: members are listed, and a sequential group's run,
// in that order.
func (g *Group) AddMember(id string, s State) (pos int) {
	pos = g.Size
	g.Size++
	g.Last = id
	if g.Counts == nil {
		g.Counts = map[State]int{}
	}
	g.Counts[s]++
	return pos
}

// Move counts one member moving from state from to state to. A state
// whose count drops to zero is dropped, so that counts list only the
// states some member is in.
func (g *Group) Move(from, to State) {
	if g.Counts == nil {
		g.Counts = map[State]int{}
	}
	g.Counts[from]--
	if g.Counts[from] <= 0 {
		delete(g.Counts, from)
	}
	g.Counts[to]++
}

// CancelsOthers reports whether a member ending in state s cancels every
// other unfinished member: it does in a cancel-on-failure group when the
// member failed (a canceled member does not: canceling one job of a group
// is not a failure of the group).
func (g *Group) CancelsOthers(s State) bool {
	return g.CancelOnFailure && s == Failed
}

// GroupSummary is what a group's members' states say of it.
type GroupSummary struct {
	// Counts is the number of members in each state; states with no
	// member are left out.
	Counts map[State]int
	// Done and Outcome are as Group.Done and Group.Outcome.
	Done    bool
	Outcome string
	// Progress is the mean of the members' progress (0..1), a finished
	// member counting as 1.
	Progress float64
}

// Summarize returns the group's summary. live is the number of its
// unfinished members and liveProgress the sum of their progress: the
// record keeps counts, not members, so the caller that tracks them says.
func (g *Group) Summarize(live int, liveProgress float64) GroupSummary {
	counts := make(map[State]int, len(g.Counts))
	for k, v := range g.Counts {
		if v > 0 {
			counts[k] = v
		}
	}
	sum := GroupSummary{Counts: counts, Done: g.Done(), Outcome: g.Outcome()}
	if g.Size > 0 {
		lp := min(max(liveProgress, 0), float64(live))
		finished := float64(g.Counts[Completed] + g.Counts[Failed] + g.Counts[Canceled])
		sum.Progress = min((finished+lp)/float64(g.Size), 1)
	}
	return sum
}

// Clone returns a deep copy.
func (g *Group) Clone() *Group {
	c := *g
	c.Counts = make(map[State]int, len(g.Counts))
	for k, v := range g.Counts {
		c.Counts[k] = v
	}
	return &c
}
