package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{"missing task", []string{"submit"}, 2, "accepts 1 arg(s), received 0"},
		{"extra argument", []string{"get", done, "again"}, 2, "accepts 1 arg(s), received 2"},
		{"unknown id", []string{"get", "0190aaaa-0000-7000-8000-000000000000"}, 1, "job 0190aaaa-0000-7000-8000-000000000000 not found"},
		{"unknown task", []string{"submit", "chaos.nothing"}, 1, `task "chaos.nothing": unknown task`},
		{"bad task name", []string{"submit", "noop"}, 1, `task "noop" must be <plugin>.<task>`},
		{"negative timeout", []string{"submit", "chaos.noop", "--timeout", "-1s"}, 1, "timeout must not be negative"},
		{"absurd attempts", []string{"submit", "chaos.noop", "--max-attempts", "5000"}, 1, "max attempts 5000 is absurd"},
		{"pause of a finished job", []string{"pause", done}, 1, "pause " + done + ": "},
		{"result of an unknown job", []string{"result", "nope"}, 1, "job nope not found"},
		{"wait on an unknown job", []string{"wait", "nope"}, 2, "wait nope: job nope not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := d.cli(t, "", tc.args...)
			expectFail(t, r, tc.code, tc.want, tc.args)
			if r.stdout != "" {
				t.Fatalf("stdout %q", r.stdout)
			}
		})
	}
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
