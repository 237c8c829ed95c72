// Package store keeps batchhost's jobs, groups, membership and dependency
// edges in one bbolt file, and is the only code that touches bbolt.
//
// Writes arrive as whole [Batch]es from the engine's goroutine and are made
// durable by a single writer goroutine that folds every batch queued while
// the previous transaction was committing into the next transaction (group
// commit): one fsync for many transitions, with no added latency when the
// store is idle. Reads are bbolt read transactions and may run from any
// goroutine, concurrently with the writer.
//
// Besides the records, every write transaction maintains the indexes the
// engine relies on: live jobs (what start-up reads), finished jobs by finish
// time (what retention prunes), idempotency keys, counts by state, group
// membership in add order, open groups, and reverse dependency edges.
//
// # Caveats
//
//   - OnCommit callbacks run on the writer goroutine: they must not block and
//     must not call [Store.Commit], or the writer stalls.
//   - A failed commit is fatal: the store refuses every later write with
//     [ErrFailed] rather than risk acknowledging something it did not keep.
//     One exception, in the Queue: a commit that found the disk full (or
//     the quota spent) before its meta page was written changed nothing
//     in the file; its operations get [backend.ErrNoSpace] and the next
//     ones commit as usual (queue_nospace.go). The Store's own batch
//     writer (Submit, Commit) keeps the rule without the exception.
//   - The file holds one exclusive lock; a second host on the same file gets
//     [ErrLocked] after [Options.LockTimeout].
//   - A page damaged behind a valid header is found when it is read: the read
//     returns [ErrCorrupt], it does not crash the host.
//   - Job, group and schedule records carry a CRC-32C (record.go). A record
//     that fails it, or does not decode, is [ErrDamaged] when asked for by
//     id and is passed over (logged once) by lists, claims, cascades and
//     pruning: it is never rewritten. Start-up reads only running jobs'
//     records, so a damaged queued job is found when it would be claimed;
//     [Check] reads them all.
package store
