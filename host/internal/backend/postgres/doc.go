// Package postgres is the store port (backend.Store) on PostgreSQL, for
// several hosts sharing one queue: every port operation is one
// transaction, claims take rows with FOR UPDATE SKIP LOCKED, writes about
// an attempt are guarded by owner and attempt, and LISTEN/NOTIFY wakes
// the other hosts (a hint only: the engine still polls).
//
// The schema is versioned (migrations/, embedded) and applied by Migrate;
// Open refuses a schema it does not know.
//
// # Caveats
//
//   - Group counts are counted from the jobs table when a group is read,
//     not kept in the group's row, so that completions do not queue
//     behind one another on a hot row. The row is written only when the
//     group becomes done or is reopened; when two hosts finish a group's
//     last members at once neither sees it done, and its FinishedAt is
//     then its last member's.
//   - Transactions that lock the same rows in different orders (a
//     cascade reaching a job a request holds) can deadlock; the server
//     aborts one and the store runs it again from the start.
//   - A claim locks, per task, up to its quota of rows in claim order and
//     updates those within the limit; the others stay locked (skipped by
//     other claimers) until it commits.
//   - Times are kept to the microsecond, as PostgreSQL keeps them.
package postgres
