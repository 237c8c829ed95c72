// Package deps holds the pure rules of the dependency graph: cycle checks,
// cancel and ignore edges, where a submitted job belongs, what a finished
// job means for its dependents, what a retried one means for the
// dependents its end canceled, and the dependency_failed error. The engine
// owns the graph; this package only reads it through callbacks and
// records.
package deps

import (
	"github.com/batchhost/batchhost/host/internal/model"
)

// FindCycle reports whether making job depend on dep would close a cycle,
// and if so returns it as a path job → dep → ... → job. depsOf returns the
// dependencies of an unfinished job (nil for finished or unknown jobs: a
// finished job's edges can no longer block anything).
func FindCycle(job, dep string, depsOf func(id string) []string) []string {
	if job == dep {
		return []string{job, job}
	}
	hit, parent := search(dep, depsOf, func(n string) bool { return n == job })
	if hit == "" {
		return nil
	}
	return pathBack(job, dep, parent)
}

// FindAny returns the first job reachable from start along next (start
// itself excluded) that want accepts, or "" if none is.
func FindAny(start string, next func(id string) []string, want func(id string) bool) string {
	hit, _ := search(start, next, want)
	return hit
}

// search is a depth-first search from start along next that stops at the
// first node want accepts; it returns that node and the search's parent
// links ("" if no node was accepted).
func search(start string, next func(id string) []string, want func(id string) bool) (string, map[string]string) {
	parent := map[string]string{start: ""}
	stack := []string{start}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range next(n) {
			if _, seen := parent[d]; seen {
				continue
			}
			parent[d] = n
			if want(d) {
				return d, parent
			}
			stack = append(stack, d)
		}
	}
	return "", parent
}

// pathBack rebuilds job → dep → ... → job from the search's parent links.
func pathBack(job, dep string, parent map[string]string) []string {
	var rev []string
	for n := job; n != ""; n = parent[n] {
		rev = append(rev, n)
		if n == dep {
			break
		}
	}
	path := []string{job}
	for i := len(rev) - 1; i >= 0; i-- {
		path = append(path, rev[i])
	}
	return path
}

// Verdict is what a dependency's state means for its dependent.
type Verdict int

// The verdicts.
const (
	// Pending: the dependency has not finished; keep waiting.
	Pending Verdict = iota
	// Satisfied: the dependency no longer blocks the dependent.
	Satisfied
	// Cancel: the dependency failed or was canceled and the edge's policy
	// says the dependent must be canceled.
	Cancel
)

// Judge says what a dependency in state s means for a dependent whose edge
// has policy p.
func Judge(s model.State, p model.DepPolicy) Verdict {
	switch {
	case !s.Terminal():
		return Pending
	case s == model.Completed || p == model.DepIgnore:
		return Satisfied
	}
	return Cancel
}
