// Package model holds the records the engine keeps and the store persists —
// jobs, attempts, groups — and the job state machine. It does no I/O.
package model
