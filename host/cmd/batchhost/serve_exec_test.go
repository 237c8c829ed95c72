package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveExec runs "batchhost serve" with args in this process until the
// test ends, and returns a CLI runner talking to it.
func serveExec(t *testing.T, args ...string) func(args ...string) result {
	t.Helper()
	sock := filepath.Join(shortDir(t), "bh.sock")
	env := map[string]string{"BATCHHOST_DATA_DIR": t.TempDir(), "BATCHHOST_SOCKET": sock, "BATCHHOST_PLUGIN_DIR": pluginDir}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		defer pw.Close()
		done <- run(ctx, append([]string{"serve"}, args...), strings.NewReader(""), io.Discard, pw, func(k string) string { return env[k] })
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() && !strings.Contains(sc.Text(), "batchhost: serving") {
	}
	go io.Copy(io.Discard, pr)
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatal("serve did not stop")
		}
	})
	return func(args ...string) result { return runCLI(t, env, "", args...) }
}

// TestServeExecAllow: --exec-allow reaches the exec plugin; a command not
// on the list fails permanently, and so does a variable the default env
// rule refuses.
func TestServeExecAllow(t *testing.T) {
	cli := serveExec(t, "--exec-allow", "echo")
	if r := cli("submit", "exec.run", "--args", `{"argv":["echo","hi"],"env":{"GREETING":"hi"}}`, "--wait"); r.code != 0 {
		t.Fatalf("allowed command: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	r := cli("submit", "exec.run", "--args", `{"argv":["true"]}`, "--max-attempts", "3", "--wait", "--json")
	if r.code != 1 || !strings.Contains(r.stdout, `"permanent"`) || !strings.Contains(r.stdout, "BATCHHOST_EXEC_ALLOW") || !strings.Contains(r.stdout, `"attempt": 1`) {
		t.Fatalf("refused command: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = cli("submit", "exec.run", "--args", `{"argv":["echo","hi"],"env":{"LD_PRELOAD":"/tmp/x.so"}}`, "--wait", "--json")
	if r.code != 1 || !strings.Contains(r.stdout, `"permanent"`) || !strings.Contains(r.stdout, "env LD_PRELOAD is not allowed") {
		t.Fatalf("refused variable: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestServeExecAllowEnv: --exec-allow-env reaches the exec plugin as the
// only variables a job may set.
func TestServeExecAllowEnv(t *testing.T) {
	cli := serveExec(t, "--exec-allow-env", "FOO,APP_*")
	if r := cli("submit", "exec.run", "--args", `{"argv":["sh","-c","test \"$FOO$APP_X\" = ab"],"env":{"FOO":"a","APP_X":"b"}}`, "--wait"); r.code != 0 {
		t.Fatalf("allowed variables: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	r := cli("submit", "exec.run", "--args", `{"argv":["true"],"env":{"BAR":"x"}}`, "--wait", "--json")
	if r.code != 1 || !strings.Contains(r.stdout, "env BAR is not allowed: it is not listed in BATCHHOST_EXEC_ALLOW_ENV") {
		t.Fatalf("refused variable: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestServeExecAllowWinsOverTheDaemonsEnvironment: a BATCHHOST_EXEC_ALLOW
// exported in the daemon's own environment must not widen the list given
// with --exec-allow: the runner's configuration of a plugin comes last.
func TestServeExecAllowWinsOverTheDaemonsEnvironment(t *testing.T) {
	t.Setenv("BATCHHOST_EXEC_ALLOW", "echo,true")
	cli := serveExec(t, "--exec-allow", "echo")
	r := cli("submit", "exec.run", "--args", `{"argv":["true"]}`, "--wait", "--json")
	if r.code != 1 || !strings.Contains(r.stdout, `"permanent"`) || !strings.Contains(r.stdout, "BATCHHOST_EXEC_ALLOW") {
		t.Fatalf("a command only the daemon's environment allows: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestServePluginDirOthersCanWrite: serve refuses a plugin dir that users
// other than the daemon's and root can write, in one line naming it and
// the fix; --plugin-dir-insecure loads it anyway.
func TestServePluginDirOthersCanWrite(t *testing.T) {
	dir := t.TempDir()
	if err := os.Link(filepath.Join(pluginDir, "batchhost-plugin-chaos"), filepath.Join(dir, "batchhost-plugin-chaos")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BATCHHOST_DATA_DIR": t.TempDir(), "BATCHHOST_SOCKET": filepath.Join(shortDir(t), "bh.sock"), "BATCHHOST_PLUGIN_DIR": dir}
	r := runCLI(t, env, "", "serve")
	expectFail(t, r, 1, "plugin dir "+dir+" is writable by every user", []string{"serve"})
	if !strings.Contains(r.stderr, "chmod go-w "+dir) || !strings.Contains(r.stderr, "--plugin-dir-insecure") {
		t.Fatalf("the refusal names no fix: %s", r.stderr)
	}
	cli := serveExec(t, "--plugin-dir", dir, "--plugin-dir-insecure")
	if r := cli("submit", "chaos.noop", "--wait"); r.code != 0 {
		t.Fatalf("with --plugin-dir-insecure: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
}
