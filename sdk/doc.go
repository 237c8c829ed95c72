// Package sdk is all a batchhost task plugin imports. A plugin is a small
// program that offers tasks; the batchhost host starts it, calls its tasks
// for jobs, and keeps a misbehaving plugin from taking anything else down.
//
// A plugin's main is a few lines:
//
//	package main
//
//	import (
//		"context"
//		"errors"
//		"strings"
//
//		"github.com/batchhost/batchhost/sdk"
//	)
//
//	type CountArgs struct {
//		Text string `json:"text"`
//	}
//
//	type CountResult struct {
//		Words int `json:"words"`
//	}
//
//	func count(ctx context.Context, job *sdk.Job, in CountArgs) (CountResult, error) {
//		if in.Text == "" {
//			return CountResult{}, sdk.Permanent(errors.New("text is empty"))
//		}
//		job.Progress(0.5, "counting")
//		job.Log().Info("counting", "bytes", len(in.Text))
//		return CountResult{Words: len(strings.Fields(in.Text))}, nil
//	}
//
//	func main() {
//		sdk.Serve(sdk.Plugin{Name: "words", Version: "1.0.0", Tasks: []sdk.Task{
//			sdk.NewTask("count", "Counts the words of a text", count),
//		}})
//	}
//
// Build it as batchhost-plugin-<name> into the host's plugin directory
// (go build -o plugins/batchhost-plugin-words .); the host then offers the
// task "words.count". Test tasks without building a binary with package
// sdk/sdktest, which runs them through the real protocol in-process.
//
// # Errors
//
// A task's error decides what the host does next. Plain errors are kind
// task_error and are retried per the job's policy (backoff, attempts).
// Permanent stops retrying; InvalidArgs and UnsupportedFormat name why;
// RetryAfter asks for a given wait before the next attempt. Args that do
// not decode are refused as invalid_args before the task runs.
//
// # Tracing
//
// When the host traces a job (see the README's tracing section), each
// attempt's context carries the host's span of the attempt: the task's
// ctx and Job.Context() are the same context, and a span started from it
// with OpenTelemetry joins the job's trace:
//
//	ctx, span := otel.Tracer("example.com/words").Start(job.Context(), "count")
//	defer span.End()
//
// The spans go to the plugin process's own TracerProvider: install one
// with an exporter in main (and shut it down after Serve returns, which
// flushes it); without one they cost next to nothing and go nowhere. An
// attempt the host does not trace has no span in its context.
//
// # Caveats
//
//   - One process runs one attempt at a time, and is reused for the next
//     job of the plugin. Global state survives between jobs; set
//     Plugin.FreshProcessPerAttempt if it must not.
//   - A panic in a task is not recovered. The process dies with the Go
//     trace on stderr, the host records the attempt as plugin_crashed
//     (retryable) with the tail of stderr, and starts a fresh process for
//     the next job. Recovering would hide the trace from the host and keep
//     serving from a process whose state the panic may have broken.
//   - The task's ctx is cancelled when the host cancels the job, times it
//     out or shuts down. Return promptly (ctx.Err() is fine to return);
//     after a grace period (5 s by default) the host kills the process.
//     Job.Deadline is informational: the timeout clock stops while a job is
//     paused (the host suspends the whole process with SIGSTOP).
//   - Execution is at least once: an attempt interrupted by a crash or a
//     host restart runs again. Make tasks idempotent.
//   - Do not write to stdout before Serve: go-plugin's handshake is the
//     process's first line of stdout. After Serve, os.Stdout and os.Stderr
//     are carried to the host by go-plugin, but only Job.Log reaches the
//     job's log; the process's real stderr (panics, the standard log
//     package) is kept by the host as a crash diagnostic.
//   - If the host dies, even by SIGKILL, the plugin exits with code 3
//     through the lifeline the host passes, abandoning a running task.
//   - Progress and Log send on the attempt's channel and block while the
//     host is slow to read; call them a few times a second, not per item
//     of a tight loop. Oversized messages are truncated (progress 4 KiB,
//     log message 64 KiB, log fields 256 KiB, error 64 KiB); a result must
//     stay below the protocol's 64 MiB message limit.
package sdk
