package exec

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/batchhost/batchhost/sdk"
)

// maxTimeout bounds RunArgs.TimeoutMS (a week); more is a unit mistake.
const maxTimeout = 7 * 24 * time.Hour

// RunArgs are exec.run's arguments.
type RunArgs struct {
	// Argv is the command and its arguments, run without a shell.
	Argv []string `json:"argv"`
	// Dir is the working directory, an absolute path (default: the
	// plugin's, which is the host's, not the submitter's).
	Dir string `json:"dir,omitempty"`
	// Env is added to the small environment the command inherits (PATH,
	// HOME, USER, LOGNAME, LANG, LANGUAGE, LC_*, TZ, TMPDIR); it wins over
	// those.
	Env map[string]string `json:"env,omitempty"`
	// Stdin is written to the command's standard input, which is empty
	// otherwise.
	Stdin string `json:"stdin,omitempty"`
	// PermanentOnExit makes a non-zero exit permanent (never retried)
	// instead of a retryable task error.
	PermanentOnExit bool `json:"permanent_on_exit,omitempty"`
	// TimeoutMS stops the command after this many milliseconds (0: no
	// timeout of its own; the job's timeout still applies). The attempt
	// then fails with a retryable task error.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
}

// Validate refuses malformed args before anything runs.
func (a RunArgs) Validate() error {
	if len(a.Argv) == 0 || a.Argv[0] == "" {
		return errors.New(`argv is empty: give the command and its arguments, e.g. ["ls", "-l"]`)
	}
	for i, s := range a.Argv {
		if strings.ContainsRune(s, 0) {
			return fmt.Errorf("argv[%d] contains a NUL byte", i)
		}
	}
	if strings.ContainsRune(a.Dir, 0) {
		return errors.New("dir contains a NUL byte")
	}
	if a.Dir != "" && !filepath.IsAbs(a.Dir) {
		return fmt.Errorf("dir %q is relative; give an absolute path", a.Dir)
	}
	if a.Dir == "" && strings.Contains(a.Argv[0], "/") && !filepath.IsAbs(a.Argv[0]) {
		return fmt.Errorf("command %q is relative and no dir is given; give an absolute path, or a dir it is in", a.Argv[0])
	}
	for k, v := range a.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return fmt.Errorf("env: %q is not a valid variable name (or its value has a NUL byte)", k)
		}
	}
	if a.TimeoutMS < 0 || a.TimeoutMS > maxTimeout.Milliseconds() {
		return fmt.Errorf("timeout_ms must be between 0 (none) and %d, got %d", maxTimeout.Milliseconds(), a.TimeoutMS)
	}
	return nil
}

// RunResult is exec.run's result, for a command that exited 0.
type RunResult struct {
	// ExitCode is 0: any other exit fails the attempt.
	ExitCode int `json:"exit_code"`
	// OutputTail is the last lines (up to 20) of stdout and stderr as they
	// arrived, newline-separated.
	OutputTail string `json:"output_tail"`
	// DurationMS is how long the command ran.
	DurationMS int64 `json:"duration_ms"`
}

// afterCheck runs between the allowlist's check and the start of the
// command; tests swap the checked path there.
var afterCheck = func() {}

// errCommandTimeout is the cause of a run stopped at its timeout_ms.
var errCommandTimeout = errors.New("command timeout")

func run(ctx context.Context, job *sdk.Job, in RunArgs) (RunResult, error) {
	dir, err := workDir(in.Dir)
	if err != nil {
		return RunResult{}, err
	}
	if err := loadEnvRule().check(in.Env); err != nil {
		return RunResult{}, err
	}
	path, err := resolveCommand(in.Argv[0], dir)
	if err != nil {
		return RunResult{}, err
	}
	cmd := &osexec.Cmd{Path: path, Args: in.Argv, Dir: dir, Env: commandEnv(in.Env)}
	if allow := loadAllowlist(); allow.set {
		// What was checked is what runs: the command is started through
		// the descriptor the check opened, not by its path again.
		exe, err := allow.open(in.Argv[0], path)
		if err != nil {
			return RunResult{}, err
		}
		defer exe.Close()
		cmd.Path, cmd.ExtraFiles = pinnedPath, []*os.File{exe}
		afterCheck()
	}
	if err := ctx.Err(); err != nil {
		return RunResult{}, err
	}
	runCtx := ctx
	if in.TimeoutMS > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeoutCause(ctx, time.Duration(in.TimeoutMS)*time.Millisecond, errCommandTimeout)
		defer cancel()
	}
	out := newOutput(job)
	start := time.Now()
	state, err := runProcess(runCtx, cmd, in.Stdin, out)
	elapsed := time.Since(start)
	if err != nil {
		return RunResult{}, startError(in.Argv[0], err)
	}
	switch {
	case ctx.Err() != nil:
		// The host cancelled the job or timed it out; it records which.
		return RunResult{}, ctx.Err()
	case errors.Is(context.Cause(runCtx), errCommandTimeout):
		return RunResult{}, fmt.Errorf("command %q timed out after %v and was stopped%s", in.Argv[0], time.Duration(in.TimeoutMS)*time.Millisecond, lastOutput(out))
	case state.Success():
		return RunResult{ExitCode: 0, OutputTail: out.lastLines(), DurationMS: elapsed.Milliseconds()}, nil
	}
	err = fmt.Errorf("command %q %s%s", in.Argv[0], exitDescription(state.Sys()), lastOutput(out))
	if in.PermanentOnExit {
		return RunResult{}, sdk.Permanent(err)
	}
	return RunResult{}, err
}

// exitDescription says how a command ended badly: its exit code, or the
// signal that killed it.
func exitDescription(sys any) string {
	if ws, ok := sys.(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("was killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	}
	if ws, ok := sys.(syscall.WaitStatus); ok {
		return fmt.Sprintf("exited with code %d", ws.ExitStatus())
	}
	return "failed"
}

func lastOutput(out *output) string {
	if tail := out.lastLines(); tail != "" {
		return "; last output:\n" + tail
	}
	return "; it wrote no output"
}

// startError classifies a failure to start an executable that exists:
// a wrong format or permission will fail again (invalid_args); a busy
// text file or a process limit may pass (retryable).
func startError(argv0 string, err error) error {
	err = fmt.Errorf("start %q: %w", argv0, err)
	switch {
	case errors.Is(err, syscall.ETXTBSY), errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.ENOMEM):
		return err
	case errors.Is(err, fs.ErrPermission), errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOEXEC), errors.Is(err, syscall.ENOTDIR):
		return sdk.InvalidArgs(err)
	}
	return sdk.Permanent(err)
}
