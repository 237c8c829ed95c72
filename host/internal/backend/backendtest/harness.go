package backendtest

import (
	"testing"

	"github.com/batchhost/batchhost/host/internal/backend"
)

// Harness opens backends for the suite.
type Harness struct {
	// Open returns a new, empty store (t.Cleanup closes it).
	Open func(t *testing.T) backend.Store
	// Reopen closes s and opens the same data again (durability checks);
	// nil if the backend cannot.
	Reopen func(t *testing.T, s backend.Store) backend.Store
}

// Run checks every rule of the port against the backend h opens. Each
// rule is a subtest of its own, on a store of its own, so that
// `go test -run 'Conformance/Claim/'` runs one.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Open == nil {
		t.Fatal("backendtest: Harness.Open is nil")
	}
	groups := []struct {
		name  string
		tests []rule
	}{
		{"Insert", insertRules},
		{"Claim", claimRules},
		{"Limit", limitRules},
		{"Finish", finishRules},
		{"Request", requestRules},
		{"Deps", depRules},
		{"Group", groupRules},
		{"Schedule", scheduleRules},
		{"Prune", pruneRules},
		{"Delete", deleteRules},
		{"Purge", purgeRules},
		{"Read", readRules},
		{"Changed", changedRules},
		{"Durable", durableRules},
		{"Concurrent", concurrentRules},
		{"Hosts", hostRules},
		{"History", historyRules},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, r := range g.tests {
				t.Run(r.name, func(t *testing.T) { r.run(newEnv(t, h)) })
			}
		})
	}
}

// rule is one test of the suite.
type rule struct {
	name string
	run  func(e *env)
}
