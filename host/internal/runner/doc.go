// Package runner runs job attempts in plugin processes: it discovers
// plugin binaries, launches and reuses their processes one attempt at a
// time, enforces timeouts (whose clock stops while an attempt is paused),
// and turns whatever a plugin does — return, crash, hang, exceed its memory
// — into an Outcome. No process an attempt starts outlives the attempt
// (see contain.go). The engine decides what to run; this package decides
// nothing about jobs.
package runner
