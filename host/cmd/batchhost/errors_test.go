package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/host"
)

// Bad input anywhere: a one-line error to stderr and the contract's exit
// code, never a stack trace or a usage dump.
func TestBadInput(t *testing.T) {
	d := startDaemon(t, nil)
	done := id(t, d.ok(t, "submit", "chaos.noop"))
	d.ok(t, "wait", done)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate" for "batchhost"`},
		{"misspelled command", []string{"sumbit"}, 2, `unknown command "sumbit" for "batchhost" (did you mean submit?)`},
		{"unknown flag", []string{"submit", "chaos.noop", "--colour"}, 2, "unknown flag: --colour"},
		{"unknown global flag", []string{"--verbose", "stats"}, 2, "unknown flag: --verbose"},
		{"bad duration", []string{"submit", "chaos.noop", "--timeout", "5 minutes"}, 2, `invalid argument "5 minutes" for "--timeout" flag`},
		{"bad delay", []string{"create", "chaos.noop", "--delay", "soon"}, 2, `invalid argument "soon" for "--delay" flag`},
		{"bad priority", []string{"submit", "chaos.noop", "--priority", "urgent"}, 2, `invalid priority "urgent" (want low, normal, high or critical)`},
		{"bad number", []string{"submit", "chaos.noop", "--max-attempts", "three"}, 2, `invalid argument "three" for "--max-attempts" flag`},
		{"bad JSON args", []string{"submit", "chaos.echo", "--args", `{"a":}`}, 2, "invalid --args: invalid character '}' looking for beginning of value (at byte 6)"},
		{"trailing JSON", []string{"submit", "chaos.echo", "--args", `{} {}`}, 2, "invalid --args: invalid character '{' after top-level value"},
		{"bad label", []string{"submit", "chaos.noop", "--label", "team"}, 2, `invalid --label "team": want NAME=VALUE`},
		{"missing task", []string{"submit"}, 2, `submit needs a task name (see "batchhost tasks")`},
		{"extra argument", []string{"get", done, "again"}, 2, "accepts 1 arg(s), received 2"},
		{"unknown id", []string{"get", "0190aaaa-0000-7000-8000-000000000000"}, 1, "job 0190aaaa-0000-7000-8000-000000000000 not found"},
		{"unknown task", []string{"submit", "chaos.nothing"}, 1, `unknown task "chaos.nothing" ("batchhost tasks" lists the tasks the host offers)`},
		{"bad task name", []string{"submit", "noop"}, 1, `task "noop" must be <plugin>.<task> (did you mean "chaos.noop"? "batchhost tasks" lists them)`},
		{"misspelled task", []string{"submit", "chaos.ech"}, 1, `unknown task "chaos.ech" (did you mean "chaos.echo"? "batchhost tasks" lists them)`},
		{"misspelled task to create", []string{"create", "Chaos.Slep"}, 1, `unknown task "Chaos.Slep" (did you mean "chaos.sleep"?`},
		{"task of another plugin", []string{"submit", "docs.echo"}, 1, `unknown task "docs.echo" (did you mean "chaos.echo"?`},
		{"two tasks", []string{"submit", "chaos.noop", "chaos.echo"}, 2, `submit takes a task name, got 2 arguments: ["chaos.noop" "chaos.echo"] (task arguments go in --args)`},
		{"schedule without task", []string{"schedule", "add", "nightly", "--cron", "@daily"}, 2, `schedule add needs a schedule NAME and a TASK (see "batchhost tasks")`},
		{"negative timeout", []string{"submit", "chaos.noop", "--timeout", "-1s"}, 1, "timeout must not be negative"},
		{"absurd attempts", []string{"submit", "chaos.noop", "--max-attempts", "5000"}, 1, "max attempts 5000 is absurd"},
		{"pause of a finished job", []string{"pause", done}, 1, "pause " + done + ": "},
		{"result of an unknown job", []string{"result", "nope"}, 1, "job nope not found"},
		{"wait on an unknown job", []string{"wait", "nope"}, 2, "wait nope: job nope not found"},
		// Invalid UTF-8 anywhere is refused before anything is sent.
		{"invalid UTF-8 id", []string{"get", "\xff"}, 2, `argument "\xff" is not valid UTF-8`},
		{"invalid UTF-8 task", []string{"submit", "chaos.noop\xff"}, 2, `argument "chaos.noop\xff" is not valid UTF-8`},
		{"invalid UTF-8 group name", []string{"group", "create", "\xff"}, 2, `argument "\xff" is not valid UTF-8`},
		{"invalid UTF-8 group id", []string{"group", "add", "g\xfe", done}, 2, `argument "g\xfe" is not valid UTF-8`},
		{"invalid UTF-8 label", []string{"submit", "chaos.noop", "--label", "a=\xff"}, 2, `argument "a=\xff" is not valid UTF-8 (value of --label)`},
		{"invalid UTF-8 key", []string{"create", "chaos.noop", "--key=k\xff"}, 2, `argument "k\xff" is not valid UTF-8 (value of --key)`},
		{"invalid UTF-8 dependency", []string{"submit", "chaos.noop", "--after", done, "--after", "\xc3"}, 2, `argument "\xc3" is not valid UTF-8 (value of --after)`},
		{"invalid UTF-8 args", []string{"submit", "chaos.echo", "--args", "{\"a\":\"\xff\"}"}, 2, `argument "{\"a\":\"\xff\"}" is not valid UTF-8 (value of --args)`},
		{"invalid UTF-8 task filter", []string{"list", "--task", "\xff"}, 2, `argument "\xff" is not valid UTF-8 (value of --task)`},
		{"invalid UTF-8 cursor", []string{"group", "list", "--before", "\xff"}, 2, `argument "\xff" is not valid UTF-8 (value of --before)`},
		{"invalid UTF-8 schedule name", []string{"schedule", "add", "s\xff", "--cron", "@daily", "chaos.noop"}, 2, `argument "s\xff" is not valid UTF-8`},
		{"invalid UTF-8 cron", []string{"schedule", "add", "s", "--cron", "@daily\xff", "chaos.noop"}, 2, `argument "@daily\xff" is not valid UTF-8 (value of --cron)`},
		{"invalid UTF-8 schedule ref", []string{"schedule", "trigger", "\xff"}, 2, `argument "\xff" is not valid UTF-8`},
		{"invalid UTF-8 in a long value", []string{"submit", "chaos.echo", "--args", `{"a":"` + strings.Repeat("x", 200) + "\xff" + strings.Repeat("y", 200) + `"}`}, 2, `xxxxx\xffyyyyy`},
		// Help for what does not exist is a usage error, not help.
		{"unknown help topic", []string{"help", "bogus"}, 2, `unknown help topic "bogus" (see "batchhost --help")`},
		{"unknown help subtopic", []string{"help", "group", "bogus"}, 2, `unknown help topic "group bogus" (see "batchhost group --help")`},
		// Page sizes the host would refuse.
		{"list limit too big", []string{"list", "--limit", "20000"}, 2, "invalid --limit 20000: between 1 and 10000"},
		{"list limit zero", []string{"list", "--limit", "0"}, 2, "invalid --limit 0: between 1 and 10000"},
		{"list limit negative", []string{"list", "--limit", "-1"}, 2, "invalid --limit -1: between 1 and 10000"},
		{"group list limit too big", []string{"group", "list", "--limit", "10001"}, 2, "invalid --limit 10001: between 1 and 10000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := d.cli(t, "", tc.args...)
			expectFail(t, r, tc.code, tc.want, tc.args)
			if r.stdout != "" {
				t.Fatalf("stdout %q", r.stdout)
			}
		})
	}
	// Nothing was stored by any of them.
	ctx := ctxT(t)
	jobs, _, err := d.h.List(ctx, host.ListFilter{})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("bad input made jobs: %d, %v", len(jobs), err)
	}
	groups, _, err := d.h.ListGroups(ctx, "", 0)
	if err != nil || len(groups) != 0 {
		t.Fatalf("bad input made groups: %d, %v", len(groups), err)
	}
	if s, err := d.h.ListSchedules(ctx); err != nil || len(s) != 0 {
		t.Fatalf("bad input made schedules: %d, %v", len(s), err)
	}
	// The UTF-8 refusal is the whole line: no hint, as help would not help.
	if r := d.cli(t, "", "get", "\xff"); r.code != 2 || r.stderr != `batchhost: argument "\xff" is not valid UTF-8`+"\n" {
		t.Errorf("get \\xff: %+v", r)
	}
	// A command that only groups others says so once, with one hint.
	for _, name := range []string{"group", "schedule", "dispatch"} {
		r := d.cli(t, "", name)
		want := fmt.Sprintf("batchhost: batchhost %s needs a subcommand (see \"batchhost %s --help\")\n", name, name)
		if r.code != 2 || r.stderr != want || r.stdout != "" {
			t.Errorf("batchhost %s: %+v, want stderr %q", name, r, want)
		}
	}
	// Help for what exists still works, on stdout.
	if r := d.cli(t, "", "help", "group", "list"); r.code != 0 || !strings.HasPrefix(r.stdout, "List groups, newest first") || r.stderr != "" {
		t.Fatalf("help group list: %+v", r)
	}
	if r := d.cli(t, "", "help"); r.code != 0 || !strings.Contains(r.stdout, "Available Commands:") || r.stderr != "" {
		t.Fatalf("help: %+v", r)
	}
}

// A file name need not be UTF-8: it never reaches the host.
func TestNonUTF8FileName(t *testing.T) {
	d := startDaemon(t, nil)
	file := filepath.Join(t.TempDir(), "jobs-\xff.jsonl")
	if err := os.WriteFile(file, []byte(`{"task":"chaos.noop"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	id(t, d.ok(t, "submit", "--batch", file))
}

// Without a daemon every command that needs one says how to start it,
// exit 2.
func TestNoDaemon(t *testing.T) {
	sock := filepath.Join(shortDir(t), "bh.sock")
	env := map[string]string{"BATCHHOST_SOCKET": sock}
	want := `batchhost: no host is running at ` + sock + ` (start one with "batchhost serve")` + "\n"
	for _, args := range [][]string{
		{"submit", "chaos.noop"}, {"submit", "--batch", "-"}, {"create", "chaos.noop"}, {"enqueue", "x"}, {"get", "x"},
		{"list"}, {"result", "x"}, {"logs", "x"}, {"logs", "-f", "x"}, {"wait", "x"}, {"cancel", "x"}, {"pause", "x"},
		{"resume", "x"}, {"retry", "x"}, {"group", "create", "g"}, {"group", "add", "g", "x"}, {"group", "get", "g"},
		{"group", "wait", "g"}, {"group", "cancel", "g"}, {"group", "pause", "g"}, {"group", "resume", "g"},
		{"group", "submit", "g"}, {"group", "list"}, {"tasks"}, {"stats"}, {"dispatch", "pause"}, {"dispatch", "resume"},
	} {
		stdin := ""
		if args[len(args)-1] == "-" {
			stdin = `{"task":"chaos.noop"}`
		}
		r := runCLI(t, env, stdin, args...)
		if r.code != 2 || r.stderr != want || r.stdout != "" {
			t.Errorf("batchhost %s without a daemon: %+v", strings.Join(args, " "), r)
		}
	}
	// The default socket comes from the data dir, which comes from the
	// environment, then XDG_STATE_HOME, then HOME.
	for _, tc := range []struct {
		env  map[string]string
		sock string
	}{
		{map[string]string{"BATCHHOST_DATA_DIR": "/d"}, "/d/batchhost.sock"},
		{map[string]string{"XDG_STATE_HOME": "/x"}, "/x/batchhost/batchhost.sock"},
		{map[string]string{"HOME": "/h"}, "/h/.local/state/batchhost/batchhost.sock"},
		{map[string]string{"HOME": "/h", "BATCHHOST_SOCKET": "/s.sock"}, "/s.sock"},
	} {
		r := runCLI(t, tc.env, "", "stats")
		if r.code != 2 || !strings.Contains(r.stderr, "no host is running at "+tc.sock+" ") {
			t.Errorf("env %v: %+v, want socket %s", tc.env, r, tc.sock)
		}
		r = runCLI(t, tc.env, "", "--socket", "/flag.sock", "stats")
		if !strings.Contains(r.stderr, "no host is running at /flag.sock ") {
			t.Errorf("--socket does not override env %v: %+v", tc.env, r)
		}
	}
}

// A socket of another user: serve refuses a socket directory or a socket
// file owned by someone else (chown needs root; the check itself is also
// tested in package control), and a client without permission on a socket
// is told so.
func TestSocketOfAnotherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("making files of another user needs root")
	}
	dir := shortDir(t)
	theirs := filepath.Join(dir, "theirs")
	if err := os.Mkdir(theirs, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(theirs, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BATCHHOST_DATA_DIR": t.TempDir(), "BATCHHOST_PLUGIN_DIR": pluginDir}
	r := runCLI(t, env, "", "serve", "--socket", filepath.Join(theirs, "bh.sock"))
	expectFail(t, r, 1, theirs+" belongs to another user (uid 4242, you are 0): choose a socket path in a directory of your own with --socket", nil)

	sock := filepath.Join(dir, "bh.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if err := os.Lchown(sock, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, env, "", "serve", "--socket", sock)
	expectFail(t, r, 1, sock+" belongs to another user (uid 4242", nil)
}
