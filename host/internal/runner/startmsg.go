package runner

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

// startError says in one short line why a launch failed before the
// handshake, in place of go-plugin's messages: those run to ~600
// characters of advice for another kind of plugin, and do not say that
// the host killed the process.
func startError(err error, timeout time.Duration) string {
	msg := err.Error()
	first, _, _ := strings.Cut(msg, "\n")
	switch {
	case strings.HasPrefix(first, "Unrecognized remote plugin message: "):
		line := strings.TrimSpace(strings.TrimPrefix(first, "Unrecognized remote plugin message: "))
		if line == "" {
			return "not a batchhost plugin: it printed no handshake, then exited"
		}
		if len(line) > 80 {
			line = line[:80] + "..."
		}
		return fmt.Sprintf("not a batchhost plugin: it printed %q where the handshake was expected; the host killed it", line)
	case first == "timeout while waiting for plugin to start":
		return fmt.Sprintf("no handshake within %s (the plugin start timeout): not a batchhost plugin, or one that hangs at start; the host killed it", timeout)
	case first == "plugin exited before we could connect":
		return "exited before its handshake"
	}
	return oneLine(msg)
}

// lifecycleLogger is the logger go-plugin is given. Its own messages
// about a process (started, exited, "failed to exit gracefully") go to
// Debug: the runner reports what matters in its own words, once, with
// the reason (a failed launch, a crash in the job's error). A plugin's
// stderr, which go-plugin logs through Named loggers, keeps its levels.
type lifecycleLogger struct{ hclog.Logger }

func (l lifecycleLogger) Info(msg string, args ...any)  { l.Logger.Debug(msg, args...) }
func (l lifecycleLogger) Warn(msg string, args ...any)  { l.Logger.Debug(msg, args...) }
func (l lifecycleLogger) Error(msg string, args ...any) { l.Logger.Debug(msg, args...) }

func (l lifecycleLogger) Log(level hclog.Level, msg string, args ...any) {
	l.Logger.Log(min(level, hclog.Debug), msg, args...)
}
