package backendtest

import (
	"testing"

	"github.com/batchhost/batchhost/host/internal/backend"
)

// TestModel runs the suite against the reference model wrapped as a
// store, so that every rule of the suite is exercised, and green, before
// a real backend runs it.
func TestModel(t *testing.T) {
	Run(t, Harness{
		Open: func(t *testing.T) backend.Store {
			s := newModelStore()
			t.Cleanup(func() { s.Close() })
			return s
		},
		Reopen: func(t *testing.T, s backend.Store) backend.Store {
			r := s.(*modelStore).reopen()
			t.Cleanup(func() { r.Close() })
			return r
		},
	})
}
