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
	// FinishedAt is when the last member finished; zero while any is
	// unfinished or the group is empty.
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

// Clone returns a deep copy.
func (g *Group) Clone() *Group {
	c := *g
	c.Counts = make(map[State]int, len(g.Counts))
	for k, v := range g.Counts {
		c.Counts[k] = v
	}
	return &c
}
