package runner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/batchhost/batchhost/internal/testbin"
)

// chaosBin and bogusBin are built once for every test: the real chaos
// plugin and a program that is not a plugin. chaosV1Bin is the chaos
// plugin built with the SDK of the last protocol version 1 commit.
var chaosBin, chaosV1Bin, bogusBin, freshBin, execBin string

// swap1Bin and swap2Bin are two builds of the swap test plugin, versions
// 1.0.0 and 2.0.0, for reload tests.
var swap1Bin, swap2Bin string

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperHost())
	}
	tmp, err := os.MkdirTemp("", "bh-runner-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	chaosBin, err = testbin.Build(tmp, "batchhost-plugin-chaos", testbin.Chaos)
	if err == nil {
		bogusBin, err = testbin.Build(tmp, "bogus", "./testdata/notaplugin")
	}
	if err == nil {
		freshBin, err = testbin.Build(tmp, "batchhost-plugin-fresh", "./testdata/freshplugin")
	}
	if err == nil {
		execBin, err = testbin.Build(tmp, "batchhost-plugin-exec", testbin.Exec)
	}
	if err == nil {
		swap1Bin, err = testbin.BuildVersion(tmp, "swap-1", "./testdata/swapplugin", "1.0.0")
	}
	if err == nil {
		swap2Bin, err = testbin.BuildVersion(tmp, "swap-2", "./testdata/swapplugin", "2.0.0")
	}
	if err == nil {
		chaosV1Bin, err = testbin.BuildAtCommit(tmp, "batchhost-plugin-chaos-v1", "./plugins/chaos/cmd/batchhost-plugin-chaos", testbin.Protocol1Commit)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// pluginDir makes a plugin directory holding copies (links) of files
// under the given names.
func pluginDir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.Link(src, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func open(t testing.TB, mod func(*Config)) *Manager {
	t.Helper()
	cfg := Config{
		Dir:          pluginDir(t, map[string]string{"batchhost-plugin-chaos": chaosBin}),
		KillGrace:    300 * time.Millisecond,
		StartTimeout: 10 * time.Second,
		// go-plugin relays plugin stderr (crash traces) through the logger.
		Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Off}),
	}
	if mod != nil {
		mod(&cfg)
	}
	m, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if left := testbin.Descendants(os.Getpid()); len(left) > 0 {
			t.Errorf("processes left after Close: %+v", left)
		}
	})
	return m
}

// protocols runs fn once for each plugin protocol version the host speaks,
// with the chaos plugin built for it: plugins built with earlier SDKs must
// behave the same.
func protocols(t *testing.T, fn func(t *testing.T, chaos string)) {
	t.Run("v2", func(t *testing.T) { fn(t, chaosBin) })
	t.Run("v1", func(t *testing.T) { fn(t, chaosV1Bin) })
}

// withChaos makes the plugin directory hold the given chaos binary.
func withChaos(t testing.TB, bin string, mod func(*Config)) func(*Config) {
	return func(c *Config) {
		c.Dir = pluginDir(t, map[string]string{"batchhost-plugin-chaos": bin})
		if mod != nil {
			mod(c)
		}
	}
}

// attempt runs one attempt to its end and returns the outcome and events.
func attempt(t testing.TB, m *Manager, a Attempt) (Outcome, []Event) {
	t.Helper()
	r, evs := start(t, m, a)
	select {
	case <-r.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("attempt %s did not end", a.Task)
	}
	return r.Outcome(), *evs
}

func start(t testing.TB, m *Manager, a Attempt) (*Run, *[]Event) {
	t.Helper()
	if a.JobID == "" {
		a.JobID = "job-" + a.Task
	}
	if a.Attempt == 0 {
		a.Attempt = 1
	}
	evs := &[]Event{}
	r, err := m.Start(context.Background(), a, func(e Event) { *evs = append(*evs, e) })
	if err != nil {
		t.Fatalf("Start %s: %v", a.Task, err)
	}
	return r, evs
}

// helperEnv makes the test binary act as a host that starts plugins and
// waits to be killed.
const helperEnv = "BATCHHOST_RUNNER_HELPER"

func helperHost() int {
	m, err := Open(Config{Dir: os.Getenv(helperEnv), Env: []string{os.Getenv("HELPER_TAG")}, treeWalk: os.Getenv("HELPER_TREE") != ""})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// Two busy plugin processes (the first reuses the one from start-up),
	// running HELPER_TASK with HELPER_ARGS if given.
	task, args := "chaos.sleep", `{"ms":600000}`
	if t := os.Getenv("HELPER_TASK"); t != "" {
		task, args = t, os.Getenv("HELPER_ARGS")
	}
	for range 2 {
		r, err := m.Start(context.Background(), Attempt{JobID: "j", Attempt: 1, Task: task, Args: []byte(args)}, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		for r.PID() == 0 {
			time.Sleep(time.Millisecond) // the launch has no event to wait on
		}
	}
	fmt.Println("ready")
	select {}
}

func startHelper(t *testing.T, dir, tag string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// The killed host cannot remove its socket directory: give it a
	// temporary directory of its own that the test removes.
	tmp, err := os.MkdirTemp("", "bh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	cmd.Env = append(append(os.Environ(), helperEnv+"="+dir, "HELPER_TAG="+tag, "TMPDIR="+tmp), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := out.Read(buf); err != nil || string(buf) != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper: %q %v", buf, err)
	}
	return cmd
}
