package postgres

import (
	"context"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
)

// Each operation of the registry and the lease is one statement, its own
// transaction: none waits for the queue's row locks, so a host's
// heartbeat is not delayed behind its own claims.

// Heartbeat upserts h's registration: Seen = now, Expires = now + ttl.
func (s *Store) Heartbeat(ctx context.Context, h backend.HostInfo, now time.Time, ttl time.Duration) error {
	if err := backend.CheckHeartbeat(h, now, ttl); err != nil {
		return invalid("%v", err)
	}
	tasks := h.Tasks
	if tasks == nil {
		tasks = []string{}
	}
	return s.auto(ctx, func(q querier) error {
		_, err := q.Exec(ctx, `INSERT INTO hosts (owner, name, pid, version, tasks, slots, started_at, seen_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (owner) DO UPDATE SET name = EXCLUDED.name, pid = EXCLUDED.pid, version = EXCLUDED.version,
				tasks = EXCLUDED.tasks, slots = EXCLUDED.slots, started_at = EXCLUDED.started_at,
				seen_at = EXCLUDED.seen_at, expires_at = EXCLUDED.expires_at`,
			h.Owner, h.Name, h.PID, h.Version, tasks, h.Slots, nullTime(h.Started), now, now.Add(ttl))
		return err
	})
}

// Hosts answers every registration, by name then owner in byte order,
// the holder of the lease at now marked as the leader.
func (s *Store) Hosts(ctx context.Context, now time.Time) ([]backend.HostInfo, error) {
	var out []backend.HostInfo
	err := s.read(ctx, func(q querier) error {
		rows, err := q.Query(ctx, `SELECT h.owner, h.name, h.pid, h.version, h.tasks, h.slots, h.started_at, h.seen_at, h.expires_at,
				l.owner IS NOT NULL
			FROM hosts h LEFT JOIN leader l ON l.owner = h.owner AND l.expires_at > $1
			ORDER BY h.name COLLATE "C", h.owner COLLATE "C"`, now)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h backend.HostInfo
			var started *time.Time
			if err := rows.Scan(&h.Owner, &h.Name, &h.PID, &h.Version, &h.Tasks, &h.Slots, &started, &h.Seen, &h.Expires, &h.Leader); err != nil {
				return err
			}
			h.Started, h.Seen, h.Expires = derefTime(started), h.Seen.UTC(), h.Expires.UTC()
			out = append(out, h.Clone())
		}
		return rows.Err()
	})
	return out, err
}

// Leave deletes owner's registration and its lease, in one statement.
func (s *Store) Leave(ctx context.Context, owner string) error {
	if owner == "" {
		return invalid("leave: no owner")
	}
	return s.auto(ctx, func(q querier) error {
		_, err := q.Exec(ctx, `WITH h AS (DELETE FROM hosts WHERE owner = $1)
			DELETE FROM leader WHERE owner = $1`, owner)
		return err
	})
}

// Lead takes the lease when there is none or it expired by now, renews
// it when owner holds it. The lease is one row: concurrent callers
// queue on its lock (or on the unique key of its first insert), and
// each decides on the row as the one before left it, so two cannot both
// take it.
func (s *Store) Lead(ctx context.Context, owner string, now time.Time, ttl time.Duration) (bool, error) {
	if err := backend.CheckLease(owner, now, ttl); err != nil {
		return false, invalid("%v", err)
	}
	var led bool
	err := s.auto(ctx, func(q querier) error {
		var holder string
		err := q.QueryRow(ctx, `INSERT INTO leader (owner, expires_at) VALUES ($1, $3)
			ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
			WHERE leader.owner = $1 OR leader.expires_at <= $2
			RETURNING owner`, owner, now, now.Add(ttl)).Scan(&holder)
		if isNoRows(err) {
			return nil // another owner holds it at now
		}
		led = err == nil
		return err
	})
	return led, err
}

// PruneHosts deletes the registrations that expired before before. It
// also folds the queue counts of server processes that have ended into
// row 0 (see migration 0006), so that reading the count stays a sum of
// a few rows however often connections come and go.
func (s *Store) PruneHosts(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := s.auto(ctx, func(q querier) error {
		tag, err := q.Exec(ctx, "DELETE FROM hosts WHERE expires_at < $1", before)
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		_, err = q.Exec(ctx, `WITH gone AS (DELETE FROM queue_counts
				WHERE pid <> 0 AND pid NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL)
				RETURNING queued)
			UPDATE queue_counts SET queued = queued + (SELECT coalesce(sum(queued), 0) FROM gone) WHERE pid = 0`)
		return err
	})
	return n, err
}
