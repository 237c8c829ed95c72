package postgres

import (
	"testing"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/backend/backendtest"
)

// TestPostgresConformance runs the store port's conformance suite, each
// case on a fresh schema of a database this test creates and drops.
func TestPostgresConformance(t *testing.T) {
	db := testDatabase(t)
	backendtest.Run(t, backendtest.Harness{
		Open: func(t *testing.T) backend.Store {
			return openStore(t, freshConfig(t, db))
		},
		Reopen: func(t *testing.T, s backend.Store) backend.Store {
			ps := s.(*Store)
			cfg := ps.cfg
			if err := ps.Close(); err != nil {
				t.Fatal(err)
			}
			return openStore(t, cfg)
		},
	})
}
