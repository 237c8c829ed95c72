package exec_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/plugins/exec"
	"github.com/batchhost/batchhost/proto/pluginrpc"
	"github.com/batchhost/batchhost/sdk/sdktest"
)

func TestConformance(t *testing.T) { sdktest.Conformance(t, exec.Plugin()) }

func TestExitZero(t *testing.T) {
	out := runOK(t, exec.RunArgs{Argv: []string{"sh", "-c", "echo hello; echo world >&2"}})
	if out.ExitCode != 0 || out.OutputTail != "hello\nworld" && out.OutputTail != "world\nhello" {
		t.Errorf("%+v, want exit 0 and both lines", out)
	}
}

func TestNonZeroExit(t *testing.T) {
	args := exec.RunArgs{Argv: []string{"sh", "-c", "echo first; echo second >&2; exit 3"}}
	wantErr(t, run(t, args), "task_error", true, `command "sh" exited with code 3`, "last output:", "first", "second")

	args.PermanentOnExit = true
	wantErr(t, run(t, args), "permanent", false, "exited with code 3")

	wantErr(t, run(t, exec.RunArgs{Argv: []string{"false"}}), "task_error", true, `"false" exited with code 1`, "wrote no output")
}

func TestKilledBySignal(t *testing.T) {
	res := run(t, exec.RunArgs{Argv: []string{"sh", "-c", "kill -SEGV $$"}})
	wantErr(t, res, "task_error", true, "killed by signal 11")
}

func TestOutputStreamsInOrder(t *testing.T) {
	const n = 300
	res := run(t, exec.RunArgs{Argv: []string{"sh", "-c", fmt.Sprintf(`i=1; while [ $i -le %d ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done`, n)}})
	var out exec.RunResult
	res.Decode(&out)
	var wantOut, wantErr []string
	for i := 1; i <= n; i++ {
		wantOut = append(wantOut, fmt.Sprint("out ", i))
		wantErr = append(wantErr, fmt.Sprint("err ", i))
	}
	if diff := cmp.Diff(wantOut, logLines(res, "stdout")); diff != "" {
		t.Errorf("stdout log (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantErr, logLines(res, "stderr")); diff != "" {
		t.Errorf("stderr log (-want +got):\n%s", diff)
	}
	for _, l := range res.Logs() {
		if l.Level != "info" {
			t.Errorf("log %q at level %s, want info", l.Message, l.Level)
		}
	}
	// The two streams are separate pipes: which one's last line arrived
	// last is up to the scheduler.
	tail := strings.Split(out.OutputTail, "\n")
	if last := tail[len(tail)-1]; len(tail) != 20 || last != fmt.Sprint("out ", n) && last != fmt.Sprint("err ", n) {
		t.Errorf("output_tail has %d lines, want the last 20:\n%s", len(tail), out.OutputTail)
	}
}

func TestOddOutput(t *testing.T) {
	long := strings.Repeat("x", 150_000)
	res := run(t, exec.RunArgs{Argv: []string{"sh", "-c", `printf 'bad \377\376 bytes\r\n'; cat; printf 'no newline at end'`}, Stdin: long + "\n"})
	var out exec.RunResult
	res.Decode(&out)
	lines := logLines(res, "stdout")
	if len(lines) != 5 || lines[0] != "bad \uFFFD bytes" || lines[4] != "no newline at end" {
		t.Fatalf("lines %d: first %q last %q; want 5 (the long one in 64 KiB pieces)", len(lines), lines[0], lines[len(lines)-1])
	}
	if got := strings.Join(lines[1:4], ""); got != long {
		t.Errorf("the long line's pieces add up to %d bytes, want %d", len(got), len(long))
	}
	if len(out.OutputTail) > 5*1000+10 {
		t.Errorf("output_tail is %d bytes; lines in it should be cut", len(out.OutputTail))
	}
}

func TestLogLimit(t *testing.T) {
	res := run(t, exec.RunArgs{Argv: []string{"seq", "10005"}})
	var out exec.RunResult
	res.Decode(&out)
	if n := len(logLines(res, "stdout")); n != 10000 {
		t.Errorf("%d lines logged, want 10000", n)
	}
	logs := res.Logs()
	if last := logs[len(logs)-1]; last.Level != "warn" || !strings.Contains(last.Message, "more than 10000 lines") {
		t.Errorf("last log %+v, want a warning about the limit", last)
	}
	if !strings.HasSuffix(out.OutputTail, "10004\n10005") {
		t.Errorf("output_tail does not end at the last line: %q", out.OutputTail)
	}
}

func TestEnvAndDir(t *testing.T) {
	t.Setenv("BATCHHOST_SECRET_TEST", "leaked")
	t.Setenv("LC_TIME", "C")
	dir := t.TempDir()
	out := runOK(t, exec.RunArgs{
		Argv: []string{"sh", "-c", `pwd; echo "$FOO"; echo "${BATCHHOST_SECRET_TEST:-not inherited}"; echo "$LC_TIME"; echo "${PLUGIN_MIN_PORT:-no go-plugin vars}"; test -n "$PATH" && echo path`},
		Dir:  dir,
		Env:  map[string]string{"FOO": "bar baz", "LC_TIME": "de_DE"},
	})
	want := strings.Join([]string{dir, "bar baz", "not inherited", "de_DE", "no go-plugin vars", "path"}, "\n")
	if out.OutputTail != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.OutputTail, want)
	}

	// A relative command path is taken from dir.
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "sub", "hello.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hi from $(basename $(pwd))\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out := runOK(t, exec.RunArgs{Argv: []string{"./hello.sh"}, Dir: filepath.Join(dir, "sub")}); out.OutputTail != "hi from sub" {
		t.Errorf("relative command in dir: %q", out.OutputTail)
	}
}

// TestContainerMarkIsPassedOn: the host's mark of a plugin's processes
// (used where it has no cgroups) reaches the command, and a job cannot
// replace it with its own.
func TestContainerMarkIsPassedOn(t *testing.T) {
	t.Setenv(pluginrpc.ContainerEnv, "1.2.3")
	out := runOK(t, exec.RunArgs{
		Argv: []string{"sh", "-c", `echo "$` + pluginrpc.ContainerEnv + `"`},
		Env:  map[string]string{pluginrpc.ContainerEnv: "9.9.9"},
	})
	if out.OutputTail != "1.2.3" {
		t.Errorf("the command saw %s=%q, want the plugin's 1.2.3", pluginrpc.ContainerEnv, out.OutputTail)
	}
}

// TestRelativePathsRefused: the plugin's working directory is the
// host's, not the submitter's, so a relative dir, or a relative command
// without a dir, would name a file the submitter did not mean.
func TestRelativePathsRefused(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.Mkdir("sub", 0o755); err != nil {
		t.Fatal(err)
	}
	wantErr(t, run(t, exec.RunArgs{Argv: []string{"true"}, Dir: "sub"}), "invalid_args", false, `dir "sub" is relative; give an absolute path`)
	wantErr(t, run(t, exec.RunArgs{Argv: []string{"./sub/x.sh"}}), "invalid_args", false, `command "./sub/x.sh" is relative and no dir is given`)
}

func TestStdin(t *testing.T) {
	out := runOK(t, exec.RunArgs{Argv: []string{"cat"}, Stdin: "hello\nwörld\n"})
	if out.OutputTail != "hello\nwörld" {
		t.Errorf("cat echoed %q", out.OutputTail)
	}
	// Without stdin the command reads an empty input, not the plugin's.
	if out := runOK(t, exec.RunArgs{Argv: []string{"wc", "-c"}}); strings.TrimSpace(out.OutputTail) != "0" {
		t.Errorf("stdin without input: %q", out.OutputTail)
	}
	// A command that ignores a large input does not hang the run.
	big := strings.Repeat("y", 1<<20) // far more than a pipe holds
	if out := runOK(t, exec.RunArgs{Argv: []string{"head", "-c", "3"}, Stdin: big}); out.OutputTail != "yyy" {
		t.Errorf("head of a big stdin: %q", out.OutputTail)
	}
}

// TestCancelKillsTheWholeGroup: a cancelled job's command, its children
// and their children all die, though the shell waits on them.
func TestCancelKillsTheWholeGroup(t *testing.T) {
	fifo := mkfifo(t)
	cancel, done := withCancel(t, exec.RunArgs{
		Argv: []string{"sh", "-c", `sleep 100 & a=$!; sh -c 'sleep 100 & wait' & b=$!; sleep 100 & c=$!; echo $$ $a $b $c > "$FIFO"; wait`},
		Env:  map[string]string{"FIFO": fifo},
	})
	procs := pids(t, readFIFO(t, fifo))
	if len(procs) != 4 {
		t.Fatalf("pids %v", procs)
	}
	cancel()
	select {
	case res := <-done:
		if res.Err == nil || res.Err.Kind != "canceled" || res.Abandoned {
			t.Errorf("result %+v (abandoned %v), want canceled", res.Err, res.Abandoned)
		}
	case <-time.After(deadline):
		t.Fatal("the run did not return after cancel")
	}
	for _, pid := range procs {
		waitGone(t, pid)
	}
	noDescendants(t)
}

// TestExitKillsLeftovers: what a command leaves running in the background
// dies when it exits.
func TestExitKillsLeftovers(t *testing.T) {
	fifo := mkfifo(t)
	done := make(chan *sdktest.Result, 1)
	go func() {
		done <- sdktest.Run(t, exec.Plugin(), "run", exec.RunArgs{
			Argv: []string{"sh", "-c", `sleep 100 > /dev/null 2>&1 & echo $! > "$FIFO"`},
			Env:  map[string]string{"FIFO": fifo},
		})
	}()
	bg := pids(t, readFIFO(t, fifo))
	select {
	case res := <-done:
		if res.Err != nil {
			t.Fatal(res.Err)
		}
	case <-time.After(deadline):
		t.Fatal("the run did not return after its command exited")
	}
	waitGone(t, bg[0])
}

func TestTimeout(t *testing.T) {
	start := time.Now()
	res := run(t, exec.RunArgs{Argv: []string{"sleep", "100"}, TimeoutMS: 200})
	wantErr(t, res, "task_error", true, `command "sleep" timed out after 200ms`)
	if elapsed := time.Since(start); elapsed > deadline {
		t.Errorf("took %v", elapsed)
	}
	// A command that ignores SIGTERM (its sleep inherits that) is killed
	// after the grace, well before the sleep would end.
	start = time.Now()
	res = run(t, exec.RunArgs{Argv: []string{"sh", "-c", `trap "" TERM; sleep 100`}, TimeoutMS: 200})
	wantErr(t, res, "task_error", true, "timed out")
	if elapsed := time.Since(start); elapsed > deadline {
		t.Errorf("took %v: the command was not killed after the grace", elapsed)
	}
}

func TestBadArgs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args exec.RunArgs
		kind string
		want []string
	}{
		{"no argv", exec.RunArgs{}, "invalid_args", []string{"argv is empty"}},
		{"empty command", exec.RunArgs{Argv: []string{""}}, "invalid_args", []string{"argv is empty"}},
		{"not found", exec.RunArgs{Argv: []string{"no-such-command-xyz"}}, "invalid_args", []string{`"no-such-command-xyz" not found in PATH`}},
		{"missing path", exec.RunArgs{Argv: []string{dir + "/nope"}}, "invalid_args", []string{dir + "/nope does not exist"}},
		{"not executable", exec.RunArgs{Argv: []string{file}}, "invalid_args", []string{file, "not executable"}},
		{"directory", exec.RunArgs{Argv: []string{dir}}, "invalid_args", []string{dir, "is a directory"}},
		{"missing dir", exec.RunArgs{Argv: []string{"true"}, Dir: "/no/such/dir"}, "invalid_args", []string{"/no/such/dir does not exist"}},
		{"dir is a file", exec.RunArgs{Argv: []string{"true"}, Dir: file}, "invalid_args", []string{file, "not a directory"}},
		{"bad env", exec.RunArgs{Argv: []string{"true"}, Env: map[string]string{"A=B": "x"}}, "invalid_args", []string{`"A=B"`}},
		{"negative timeout", exec.RunArgs{Argv: []string{"true"}, TimeoutMS: -1}, "invalid_args", []string{"timeout_ms"}},
		{"nul", exec.RunArgs{Argv: []string{"echo", "a\x00b"}}, "invalid_args", []string{"argv[1]", "NUL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, run(t, tt.args), tt.kind, false, tt.want...)
		})
	}
}

func TestAllowlist(t *testing.T) {
	t.Setenv(exec.AllowEnv, " true, /bin/echo ,,bin/relative")
	runOK(t, exec.RunArgs{Argv: []string{"true"}})
	// echo is found in PATH; /bin/echo names the same file.
	if out := runOK(t, exec.RunArgs{Argv: []string{"echo", "ok"}}); out.OutputTail != "ok" {
		t.Errorf("echo: %q", out.OutputTail)
	}
	wantErr(t, run(t, exec.RunArgs{Argv: []string{"sh", "-c", "true"}}), "permanent", false, `command "sh"`, "not allowed", exec.AllowEnv)
	// A base name allows the bare name only, not any file of that name.
	fake := filepath.Join(t.TempDir(), "true")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	wantErr(t, run(t, exec.RunArgs{Argv: []string{fake}}), "permanent", false, fake, "not allowed")

	t.Setenv(exec.AllowEnv, "")
	wantErr(t, run(t, exec.RunArgs{Argv: []string{"true"}}), "permanent", false, `"true"`, "not allowed")

	os.Unsetenv(exec.AllowEnv) // t.Setenv restores it at the end
	runOK(t, exec.RunArgs{Argv: []string{"sh", "-c", "true"}})
}

// TestNonUTF8ErrorText: an error naming a file whose name is not UTF-8
// (here a command found in a PATH directory of such a name) reaches the
// host with its kind, instead of breaking the stream.
func TestNonUTF8ErrorText(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bin\xe9")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	t.Setenv(exec.AllowEnv, "true")
	wantErr(t, run(t, exec.RunArgs{Argv: []string{"tool"}}), "permanent", false, "bin\uFFFD/tool", "not allowed")
}
