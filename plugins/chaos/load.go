package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"

	"github.com/batchhost/batchhost/sdk"
)

type progressArgs struct {
	Steps int `json:"steps"`
	MS    int `json:"ms"`
	// CrashAt makes the task panic right after reporting step CrashAt: a
	// plugin that dies in the middle of an attempt's events.
	CrashAt int `json:"crash_at"`
}

// maxSteps bounds progress so that a typo cannot flood the host's log.
const maxSteps = 1_000_000

func (a progressArgs) Validate() error {
	if a.Steps <= 0 || a.Steps > maxSteps {
		return fmt.Errorf("steps must be between 1 and %d, got %d", maxSteps, a.Steps)
	}
	if a.CrashAt < 0 || a.CrashAt > a.Steps {
		return fmt.Errorf("crash_at must be between 0 (never) and steps (%d), got %d", a.Steps, a.CrashAt)
	}
	return checkMS("ms", a.MS)
}

type progressResult struct {
	Steps int `json:"steps"`
}

// progress reports progress and writes one log record per step, in that
// order, so tests can check both arrive in order.
func progress(ctx context.Context, job *sdk.Job, in progressArgs) (progressResult, error) {
	for i := 1; i <= in.Steps; i++ {
		if err := pause(ctx, in.MS); err != nil {
			return progressResult{}, err
		}
		job.Progress(float64(i)/float64(in.Steps), fmt.Sprintf("step %d/%d", i, in.Steps))
		job.Log().Info("step", "i", i)
		if i == in.CrashAt {
			panic(fmt.Sprintf("chaos: planned crash after step %d", i))
		}
	}
	return progressResult{Steps: in.Steps}, nil
}

type allocArgs struct {
	MB     int `json:"mb"`
	HoldMS int `json:"hold_ms"`
}

// maxMB bounds alloc at 1 TiB: beyond any real machine, so a test of the
// memory guard can still ask for more than its limit.
const maxMB = 1 << 20

func (a allocArgs) Validate() error {
	if a.MB < 0 || a.MB > maxMB {
		return fmt.Errorf("mb must be between 0 and %d, got %d", maxMB, a.MB)
	}
	return checkMS("hold_ms", a.HoldMS)
}

type allocResult struct {
	MB int `json:"mb"`
}

// alloc allocates mb MiB and writes to every page so that the memory is
// resident (RSS grows, a memory limit really trips), reports progress 1,
// holds it, then hands
// it back to the OS so a reused process starts the next job small. An
// allocation beyond a memory limit kills the process with the Go runtime's
// "out of memory" error, which cannot be recovered.
func alloc(ctx context.Context, job *sdk.Job, in allocArgs) (allocResult, error) {
	const page = 4096
	buf := make([]byte, in.MB<<20)
	for i := 0; i < len(buf); i += page {
		buf[i] = 1
		if i%(64<<20) == 0 && ctx.Err() != nil {
			return allocResult{}, ctx.Err()
		}
	}
	// Tell the host (and tests watching RSS) that the memory is in place.
	job.Progress(1, fmt.Sprintf("holding %d MiB", in.MB))
	err := pause(ctx, in.HoldMS)
	runtime.KeepAlive(buf) // held until here; garbage from here on
	debug.FreeOSMemory()
	if err != nil {
		return allocResult{}, err
	}
	return allocResult{MB: in.MB}, nil
}

type logArgs struct {
	Lines int    `json:"lines"`
	Level string `json:"level"`
}

var logLevels = map[string]slog.Level{
	"":      slog.LevelInfo,
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

func (a logArgs) Validate() error {
	if a.Lines < 0 || a.Lines > maxSteps {
		return fmt.Errorf("lines must be between 0 and %d, got %d", maxSteps, a.Lines)
	}
	if _, ok := logLevels[a.Level]; !ok {
		return fmt.Errorf("level must be debug, info, warn or error, got %q", a.Level)
	}
	return nil
}

type logResult struct {
	Lines int `json:"lines"`
}

// logLines writes lines log records, each with its line number as the
// attribute "i".
func logLines(ctx context.Context, job *sdk.Job, in logArgs) (logResult, error) {
	level := logLevels[in.Level]
	for i := 1; i <= in.Lines; i++ {
		if err := ctx.Err(); err != nil {
			return logResult{}, err
		}
		job.Log().Log(ctx, level, fmt.Sprintf("line %d", i), "i", i)
	}
	return logResult{Lines: in.Lines}, nil
}

type lingerArgs struct {
	Lines int `json:"lines"`
}

func (a lingerArgs) Validate() error {
	if a.Lines < 0 || a.Lines > maxSteps {
		return fmt.Errorf("lines must be between 0 and %d, got %d", maxSteps, a.Lines)
	}
	return nil
}

// linger plays a task that cleans up after its cancel: it logs "waiting
// for the cancel", waits for ctx to end, then logs lines records
// ("cleanup", with "i") and reports progress 1 before it returns ctx's
// error. What it sends after the cancel must reach the job's log.
func linger(ctx context.Context, job *sdk.Job, in lingerArgs) (empty, error) {
	job.Log().Info("waiting for the cancel")
	<-ctx.Done()
	for i := 1; i <= in.Lines; i++ {
		job.Log().Info("cleanup", "i", i)
	}
	job.Progress(1, "cleaned up")
	return empty{}, ctx.Err()
}
