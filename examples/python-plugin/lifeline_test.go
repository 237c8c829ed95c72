package pythonplugin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/internal/testbin"
)

// helperEnv re-execs the test binary as a host process, so that the test
// can SIGKILL a real host while a Python task runs.
const helperEnv = "BATCHHOST_PYTEST_HELPER_HOST"

type helperSpec struct {
	DataDir   string `json:"data_dir"`
	PluginDir string `json:"plugin_dir"`
	Tag       string `json:"tag"`
}

// runHelperHost opens a host, runs a long pychaos.sleep, prints "running"
// once the Python task has reported progress, and waits to be killed.
func runHelperHost() int {
	var spec helperSpec
	if err := json.Unmarshal([]byte(os.Getenv(helperEnv)), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	h, err := host.Open(host.Config{DataDir: spec.DataDir, PluginDir: spec.PluginDir, PluginEnv: []string{spec.Tag}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	ctx := context.Background()
	events := h.Subscribe(ctx, host.EventFilter{Types: []host.EventType{host.EventJobProgress}})
	if err := h.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	if _, err := h.Submit(ctx, host.JobSpec{Task: "pychaos.sleep", Args: map[string]int{"ms": 600_000}}); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	<-events
	fmt.Println("running")
	select {}
}

// A host killed with SIGKILL leaves no Python plugin process behind: the
// plugin reads EOF on its lifeline and exits, even mid-task.
func TestHostKilledLeavesNoPythonProcess(t *testing.T) {
	tag := fmt.Sprintf("BH_PYTEST_LIFELINE=%d", time.Now().UnixNano())
	b, _ := json.Marshal(helperSpec{DataDir: t.TempDir(), PluginDir: pyDir, Tag: tag})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// The killed host cannot remove its plugins' socket directory: give it
	// a temporary directory of its own that the test removes.
	tmp, err := os.MkdirTemp("", "bh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	cmd.Env = append(os.Environ(), helperEnv+"="+string(b), "TMPDIR="+tmp)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "running" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	// Both Python plugins run: pychaos with the task, textstats idle.
	for _, p := range procsByEnv(t, tag, 2) {
		if p.PPID != cmd.Process.Pid {
			t.Fatalf("tagged process %+v is not the helper host's child (%d)", p, cmd.Process.Pid)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for len(testbin.FindByEnv(tag)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Python plugin processes left after the host was killed: %+v", testbin.FindByEnv(tag))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
