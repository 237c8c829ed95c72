package main

import (
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// bashCompletionScript is bash-completion's main script, which the
// generated bash completion uses as every bash user with completion has it.
const bashCompletionScript = "/usr/share/bash-completion/bash_completion"

var installBashCompletion sync.Once

// needBashCompletion installs Debian's bash-completion package when it is
// missing, or fails the test: it never skips.
func needBashCompletion(t *testing.T) {
	t.Helper()
	installBashCompletion.Do(func() {
		if _, err := os.Stat(bashCompletionScript); err == nil {
			return
		}
		for _, args := range [][]string{{"apt-get", "update", "-qq"}, {"apt-get", "install", "-y", "-qq", "bash-completion"}} {
			if out, err := osexec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
				t.Logf("%s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	})
	if _, err := os.Stat(bashCompletionScript); err != nil {
		t.Fatalf("bash-completion is needed (apt-get install bash-completion): %v", err)
	}
}

// bashComplete sources the generated completion in a real bash and runs
// it on line as if Tab were pressed at its end; it returns the words bash
// would offer. The built batchhost is first in PATH, talking to the
// daemon through BATCHHOST_SOCKET, as an installed one would.
func bashComplete(t *testing.T, d *daemon, line string) []string {
	t.Helper()
	// compopt only works inside a completion bash itself started; it
	// changes how words are shown, not which.
	script := fmt.Sprintf(`source %s
source <(batchhost completion bash) || exit 1
compopt() { :; }
COMP_LINE=%q
COMP_POINT=${#COMP_LINE}
read -r -a COMP_WORDS <<< "$COMP_LINE"
case "$COMP_LINE" in *" ") COMP_WORDS+=("");; esac
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
__start_batchhost batchhost "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%%s\n' "${COMPREPLY[@]}"
`, bashCompletionScript, line)
	cmd := osexec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"), "BATCHHOST_SOCKET="+d.sock, "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("completing %q: %v\n%s", line, err, out)
	}
	var words []string
	for _, w := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if w = strings.TrimSpace(w); w != "" {
			words = append(words, w)
		}
	}
	return words
}

// TestCompletionBash: the generated script registers a completion for
// batchhost, and it completes commands, flags, task names, states and the
// ids of live jobs, asking the daemon.
func TestCompletionBash(t *testing.T) {
	needBashCompletion(t)
	d := startDaemon(t, nil)
	out, err := osexec.Command("bash", "-c", fmt.Sprintf("source <(%s completion bash); complete -p batchhost", batchhostBin)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "__start_batchhost batchhost") {
		t.Fatalf("complete -p batchhost: %v\n%s", err, out)
	}
	running := id(t, d.ok(t, "submit", "chaos.sleep", "--args", `{"ms":60000}`))
	d.waitFor(t, running, "running")
	done := id(t, d.ok(t, "submit", "chaos.noop"))
	d.ok(t, "wait", done)
	defer d.ok(t, "cancel", "--wait", running)

	for _, tc := range []struct {
		line      string
		want      []string
		notWanted []string
	}{
		{"batchhost sub", []string{"submit"}, nil},
		{"batchhost sched", []string{"schedule"}, nil},
		{"batchhost submit chaos.sl", []string{"chaos.sleep"}, nil},
		{"batchhost submit --prio", []string{"--priority"}, nil},
		{"batchhost submit chaos.noop --priority h", []string{"high"}, nil},
		{"batchhost list --state ru", []string{"running"}, nil},
		{"batchhost list --task chaos.e", []string{"chaos.echo"}, nil},
		{"batchhost cancel ", []string{running}, []string{done}},
		{"batchhost pause " + running[:8], []string{running}, nil},
		{"batchhost get ", []string{running, done}, nil},
	} {
		got := bashComplete(t, d, tc.line)
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("%q completes to %q, want %q among them", tc.line, got, w)
			}
		}
		for _, w := range tc.notWanted {
			if slices.Contains(got, w) {
				t.Errorf("%q completes to %q, which should not hold %q", tc.line, got, w)
			}
		}
	}
}

// TestCompletionScripts: zsh and fish scripts are generated too; with no
// daemon, completing ids offers nothing and prints no error.
func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{"zsh": "#compdef batchhost", "fish": "complete -c batchhost", "bash": "__start_batchhost"} {
		out, err := osexec.Command(batchhostBin, "completion", shell).Output()
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("completion %s: %v; script does not contain %q", shell, err, want)
		}
	}
	cmd := osexec.Command(batchhostBin, "__complete", "cancel", "")
	cmd.Env = append(os.Environ(), "BATCHHOST_SOCKET="+filepath.Join(t.TempDir(), "none.sock"))
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != ":4" && !strings.HasPrefix(string(out), ":4\n") {
		t.Errorf("completing ids without a daemon: %v\n%s", err, out)
	}
}
