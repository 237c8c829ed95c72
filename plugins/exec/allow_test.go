package exec_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/plugins/exec"
)

// TestAllowlistChecksWhatRuns: a symlink swapped from an allowed program
// to another one between the check and the start never runs the other
// one: the command runs from the descriptor the check opened.
func TestAllowlistChecksWhatRuns(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "tool")
	allowed, other := lookPath(t, "true"), lookPath(t, "echo")
	if err := os.Symlink(allowed, link); err != nil {
		t.Fatal(err)
	}
	t.Setenv(exec.AllowEnv, allowed)
	swap := func(target string) {
		tmp := link + ".new"
		if err := os.Symlink(target, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, link); err != nil {
			t.Fatal(err)
		}
	}
	restore := exec.SetAfterCheck(func() { swap(other) })
	defer restore()
	res := run(t, exec.RunArgs{Argv: []string{link, "PWNED"}})
	if res.Err != nil {
		t.Fatalf("the checked program failed: %+v", res.Err)
	}
	var out exec.RunResult
	res.Decode(&out)
	if strings.Contains(out.OutputTail, "PWNED") {
		t.Fatalf("%s ran though only %s is allowed: the command was started by its path again", other, allowed)
	}
	// Once swapped, the link names a program that is not allowed.
	restore()
	wantErr(t, run(t, exec.RunArgs{Argv: []string{link, "PWNED"}}), "permanent", false, "not allowed")
}

// TestAllowlistRace: the same with the symlink swapped continuously
// while jobs run, as an attacker with a loop would.
func TestAllowlistRace(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "tool")
	allowed, other := lookPath(t, "true"), lookPath(t, "echo")
	for i, target := range []string{allowed, other} {
		if err := os.Symlink(target, filepath.Join(dir, fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(allowed, link); err != nil {
		t.Fatal(err)
	}
	t.Setenv(exec.AllowEnv, allowed)
	stop := make(chan struct{})
	swapped := make(chan struct{})
	go func() {
		defer close(swapped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// Rename a fresh copy over the link: atomic, so the link
			// always names one of the two.
			tmp := filepath.Join(dir, "tmp")
			os.Remove(tmp)
			if err := os.Symlink([]string{allowed, other}[i%2], tmp); err == nil {
				os.Rename(tmp, link)
			}
		}
	}()
	defer func() { close(stop); <-swapped }()
	ran, refused := 0, 0
	for range 200 {
		res := run(t, exec.RunArgs{Argv: []string{link, "PWNED"}})
		if res.Err != nil {
			refused++
			continue
		}
		var out exec.RunResult
		res.Decode(&out)
		if strings.Contains(out.OutputTail, "PWNED") {
			t.Fatalf("%s ran though only %s is allowed", other, allowed)
		}
		ran++
	}
	t.Logf("%d runs of the allowed program, %d refusals", ran, refused)
}

// TestAllowlistRefusesWritableCommands: an allowed file that others can
// write is refused, since they decide what it does.
func TestAllowlistRefusesWritableCommands(t *testing.T) {
	script := filepath.Join(t.TempDir(), "job.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho script ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(exec.AllowEnv, script)
	// A script runs through its descriptor too: its interpreter reads it.
	if out := runOK(t, exec.RunArgs{Argv: []string{script}}); out.OutputTail != "script ran" {
		t.Errorf("allowed script: %q", out.OutputTail)
	}
	for _, mode := range []os.FileMode{0o775, 0o757} {
		if err := os.Chmod(script, mode); err != nil {
			t.Fatal(err)
		}
		wantErr(t, run(t, exec.RunArgs{Argv: []string{script}}), "permanent", false, script, "writable by group or others")
	}
}

// TestEnvDefaultRule: while commands are restricted and no env allowlist
// is given, variables that loaders and tools read as code or
// configuration are refused; others pass.
func TestEnvDefaultRule(t *testing.T) {
	t.Setenv(exec.AllowEnv, "ls,git,printenv")
	t.Setenv(exec.AllowEnvEnv, "")
	os.Unsetenv(exec.AllowEnvEnv) // t.Setenv restores it at the end
	for _, env := range []map[string]string{
		{"LD_PRELOAD": "/tmp/evil.so"},
		{"LD_LIBRARY_PATH": "/tmp"},
		{"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "alias.x", "GIT_CONFIG_VALUE_0": "!sh -c id"},
		{"PYTHONPATH": "/tmp"},
		{"PERL5OPT": "-Mevil"},
		{"RUBYOPT": "-revil"},
		{"NODE_OPTIONS": "--require /tmp/evil.js"},
		{"BASH_ENV": "/tmp/evil"},
		{"ENV": "/tmp/evil"},
		{"PATH": "/tmp"},
		{"HOME": "/tmp"},
		{"OK_VAR": "fine", "LD_AUDIT": "/tmp/evil.so"},
	} {
		argv := []string{"ls"}
		if _, ok := env["GIT_CONFIG_COUNT"]; ok {
			argv = []string{"git", "x"}
		}
		res := run(t, exec.RunArgs{Argv: argv, Env: env})
		wantErr(t, res, "permanent", false, "not allowed", exec.AllowEnvEnv)
	}
	out := runOK(t, exec.RunArgs{Argv: []string{"printenv", "OK_VAR", "LANG"}, Env: map[string]string{"OK_VAR": "fine", "LANG": "C"}})
	if out.OutputTail != "fine\nC" {
		t.Errorf("allowed variables: %q", out.OutputTail)
	}
}

// TestEnvAllowlist: with an env allowlist, only its names and prefixes
// may be set, whether or not commands are restricted; a listed name of
// the default rule is the operator's choice.
func TestEnvAllowlist(t *testing.T) {
	t.Setenv(exec.AllowEnv, "")
	os.Unsetenv(exec.AllowEnv)
	t.Setenv(exec.AllowEnvEnv, " FOO , MYAPP_*,LD_LIBRARY_PATH")
	out := runOK(t, exec.RunArgs{Argv: []string{"sh", "-c", `echo "$FOO $MYAPP_X $LD_LIBRARY_PATH"`}, Env: map[string]string{"FOO": "a", "MYAPP_X": "b", "LD_LIBRARY_PATH": "/nonexistent"}})
	if out.OutputTail != "a b /nonexistent" {
		t.Errorf("allowed variables: %q", out.OutputTail)
	}
	for _, name := range []string{"BAR", "LD_PRELOAD", "FOOD", "MYAPP"} {
		wantErr(t, run(t, exec.RunArgs{Argv: []string{"true"}, Env: map[string]string{name: "x"}}), "permanent", false, "env "+name+" is not allowed", exec.AllowEnvEnv)
	}
	t.Setenv(exec.AllowEnvEnv, "")
	wantErr(t, run(t, exec.RunArgs{Argv: []string{"true"}, Env: map[string]string{"FOO": "x"}}), "permanent", false, "env FOO is not allowed")
	runOK(t, exec.RunArgs{Argv: []string{"true"}})
}

func lookPath(t *testing.T, name string) string {
	t.Helper()
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		p := filepath.Join(dir, name)
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() {
			real, err := filepath.EvalSymlinks(p)
			if err != nil {
				t.Fatal(err)
			}
			return real
		}
	}
	t.Fatalf("%s not found in PATH", name)
	return ""
}
