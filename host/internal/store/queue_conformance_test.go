package store

import (
	"path/filepath"
	"testing"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/backend/backendtest"
)

// TestQueueConformance runs the store port's conformance suite against
// the bbolt backend, each case on a fresh file. The random history draws
// a fresh seed on every run (a failure prints it; set BACKENDTEST_SEED to
// replay it, BACKENDTEST_BUDGET to run longer).
func TestQueueConformance(t *testing.T) {
	backendtest.Run(t, backendtest.Harness{
		Open: func(t *testing.T) backend.Store {
			q, err := OpenQueue(filepath.Join(t.TempDir(), "q.db"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = q.Close() })
			return q
		},
		Reopen: func(t *testing.T, s backend.Store) backend.Store {
			path := s.(*Queue).Path()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			q, err := OpenQueue(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = q.Close() })
			return q
		},
	})
}
