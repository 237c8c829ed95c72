package main

import (
	"strings"
	"testing"
)

// TestHelpHasExamples: the help of every command a user starts with shows
// an Examples section, and every example belongs to a command that exists.
func TestHelpHasExamples(t *testing.T) {
	for path := range examples {
		args := append(strings.Fields(path), "--help")
		r := runCLI(t, map[string]string{"HOME": t.TempDir()}, "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Examples:\n") {
			t.Errorf("batchhost %s: exit %d, no Examples section:\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		// An example for a path that is no command would show the
		// parent's help instead.
		if !strings.Contains(r.stdout, "batchhost "+path) {
			t.Errorf("batchhost %s --help is not that command's help", path)
		}
	}
	for _, path := range []string{"serve", "submit", "create", "list", "get", "wait", "cancel", "logs", "result", "tasks", "schedule add", "group", "bench", "completion"} {
		r := runCLI(t, map[string]string{"HOME": t.TempDir()}, "", append(strings.Fields(path), "--help")...)
		if !strings.Contains(r.stdout, "Examples:\n") {
			t.Errorf("batchhost %s --help has no Examples section", path)
		}
	}
}
