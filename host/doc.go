// Package host runs batch jobs for an application: a durable queue on disk
// (bbolt), four priorities, retries with backoff, job groups, dependencies
// between jobs, pause/resume/cancel, progress, results and logs. Every job
// runs in an out-of-process task plugin (see package sdk), so a plugin that
// panics, exits, is killed or hangs fails only its own attempt.
//
//	h, err := host.Open(host.Config{DataDir: dir, PluginDir: pluginDir})
//	if err != nil { ... }
//	defer h.Close()
//	h.Start(ctx)
//	id, err := h.Submit(ctx, host.JobSpec{Task: "docs.analyze", Args: map[string]any{"path": p}})
//	job, err := h.Wait(ctx, id)
//	var out struct{ Words int }
//	err = h.Result(ctx, id, &out)
//
// # Job states
//
//	created ──submit──▶ waiting ──deps done──▶ queued ──worker──▶ running ──ok──▶ completed
//	   │                  │                      │  ▲                │
//	   │                  │                      │  └──retry (backoff)┤ error, attempts left
//	   │                  │                      │                   └─error, none left──▶ failed
//	   └──────────────────┴──────cancel──────────┴─────────────────────────────────▶ canceled
//	 queued/waiting/running ──pause──▶ paused ──resume──▶ back where it belongs
//
// # Guarantees
//
// Every state change is durable (fsynced) before the call that caused it
// returns or its event is delivered. Changes made close together share one
// commit (group commit), which is where throughput comes from.
//
// Jobs run at least once: an attempt interrupted by a crash of the host
// runs again after restart (the interrupted attempt counts against the
// job's budget). A job may also run again if the host crashes after its
// plugin finished but before the outcome was committed. Tasks that must not
// repeat their effects should be idempotent.
//
// # Caveats
//
//   - An attempt starts before its running state is committed; a crash in
//     between leaves the job queued, and it runs again without an
//     interrupted attempt in its history.
//   - Progress is kept in memory and written with the job's next state
//     change; after a crash a job's last progress may be older.
//   - Job logs are appended without fsync; a crash may lose the last lines.
//   - A context that ends while an operation waits for its commit returns
//     early; the operation may still take effect.
//   - PauseDispatch is not persisted.
package host
