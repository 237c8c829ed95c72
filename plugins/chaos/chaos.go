// Package chaos is batchhost's first-party test plugin: tasks that succeed,
// sleep, fail on purpose, crash the process in each way a real plugin can,
// hang, report progress and eat memory. Tests, benchmarks and users'
// experiments use it to see how the host copes. Its binary is
// cmd/batchhost-plugin-chaos.
package chaos

import "github.com/batchhost/batchhost/sdk"

// Version is the chaos plugin's version.
const Version = "1.0.0"

// Plugin returns the chaos plugin.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:    "chaos",
		Version: Version,
		Tasks: []sdk.Task{
			sdk.NewTask("noop", "Does nothing and returns {}", noop),
			sdk.NewTask("echo", "Returns its args unchanged", echo),
			sdk.NewTask("big", `Returns a JSON string of {"mb"} MiB`, big),
			sdk.NewTask("sleep", `Sleeps {"ms"} milliseconds, returning early if cancelled`, sleep),
			sdk.NewTask("fail", `Fails while the attempt is <= {"times"} (permanently if {"permanent"}, by crashing if {"crash"}), then succeeds`, fail),
			sdk.NewTask("panic", `Panics with {"message"}, crashing the plugin process`, panicTask),
			sdk.NewTask("exit", `Exits the plugin process with {"code"} (default 1)`, exit),
			sdk.NewTask("kill", "SIGKILLs its own plugin process", kill),
			sdk.NewTask("hang", "Ignores cancellation and never returns", hang),
			sdk.NewTask("progress", `Takes {"steps"} steps of {"ms"} milliseconds, reporting progress and a log record each step (and crashing after step {"crash_at"})`, progress),
			sdk.NewTask("alloc", `Allocates and touches {"mb"} MiB and holds it {"hold_ms"} milliseconds`, alloc),
			sdk.NewTask("log", `Writes {"lines"} log records at {"level"} (default info)`, logLines),
			sdk.NewTask("linger", `Waits for its cancel, then writes {"lines"} log records and a progress report before it returns`, linger),
		},
	}
}
