package main

import (
	"bufio"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeExecAllow: --exec-allow reaches the exec plugin; a command not
// on the list fails permanently.
func TestServeExecAllow(t *testing.T) {
	sock := filepath.Join(shortDir(t), "bh.sock")
	env := map[string]string{"BATCHHOST_DATA_DIR": t.TempDir(), "BATCHHOST_SOCKET": sock, "BATCHHOST_PLUGIN_DIR": pluginDir}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		defer pw.Close()
		done <- run(ctx, []string{"serve", "--exec-allow", "echo"}, strings.NewReader(""), io.Discard, pw, func(k string) string { return env[k] })
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() && !strings.Contains(sc.Text(), "batchhost: serving") {
	}
	go io.Copy(io.Discard, pr)
	cli := func(args ...string) result { return runCLI(t, env, "", args...) }
	if r := cli("submit", "exec.run", "--args", `{"argv":["echo","hi"]}`, "--wait"); r.code != 0 {
		t.Fatalf("allowed command: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	r := cli("submit", "exec.run", "--args", `{"argv":["true"]}`, "--max-attempts", "3", "--wait", "--json")
	if r.code != 1 || !strings.Contains(r.stdout, `"permanent"`) || !strings.Contains(r.stdout, "BATCHHOST_EXEC_ALLOW") || !strings.Contains(r.stdout, `"attempt": 1`) {
		t.Fatalf("refused command: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
}
