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
// Group counts are counted from the jobs table when a group is read, not
// kept in the group's row, so that completions do not queue behind one
// another on a hot row; a group's FinishedAt is its last member's.
// Times are kept to the microsecond, as PostgreSQL keeps them.
package postgres
