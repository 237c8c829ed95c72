package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
)

// TestQueueMembershipIsInMemory: the bbolt Queue keeps hosts and the
// leader lease in memory, as its doc says: a Queue reopened on the file
// has no hosts and no leader (another owner leads at once), since the
// host that owned the file is gone with them.
func TestQueueMembershipIsInMemory(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	q, err := OpenQueue(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const ttl = time.Hour
	if err := q.Heartbeat(ctx, backend.HostInfo{Owner: "owner-a", Name: "n1"}, now, ttl); err != nil {
		t.Fatal(err)
	}
	if ok, err := q.Lead(ctx, "owner-a", now, ttl); !ok || err != nil {
		t.Fatalf("Lead = %v, %v; want the free lease", ok, err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q, err = OpenQueue(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if hs, err := q.Hosts(ctx, now); err != nil || len(hs) != 0 {
		t.Errorf("Hosts after a reopen = %+v, %v; want none", hs, err)
	}
	if ok, err := q.Lead(ctx, "owner-b", now, ttl); !ok || err != nil {
		t.Errorf("Lead of another owner after a reopen = %v, %v; want the lease, which the closed Queue's owner held in memory only", ok, err)
	}
}
