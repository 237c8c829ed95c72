package main

import (
	"bufio"
	"context"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
)

// TestSubmitResources: --cpu and --memory-mb, and a batch line's
// "resources", reach the job; a job without them gets its task's default;
// a job needing more than the host's capacity is refused at submit,
// naming the need and the capacity; stats shows the capacity.
func TestSubmitResources(t *testing.T) {
	d := startDaemon(t, func(c *host.Config) {
		c.Capacity = host.Resources{CPU: 2, MemoryMB: 1000}
		c.TaskResources = map[string]host.Resources{"chaos": {MemoryMB: 50}}
	})
	r := d.fails(t, 1, "", "submit", "chaos.sleep", "--cpu", "3")
	if want := "resources: chaos.sleep needs cpu 3 but this host's capacity is cpu 2 (--capacity, Config.Capacity)"; !strings.Contains(r.stderr, want) {
		t.Fatalf("submit --cpu 3 on a capacity of 2: %q, want %q", r.stderr, want)
	}
	d.fails(t, 1, "needs memory_mb 2000 but this host's capacity is memory_mb 1000", "submit", "chaos.sleep", "--memory-mb", "2000")
	d.fails(t, 1, "cpu must be a number of CPUs, 0 or more (got -1)", "submit", "chaos.sleep", "--cpu", "-1")
	d.fails(t, 2, `invalid argument "x" for "--cpu" flag`, "submit", "chaos.sleep", "--cpu", "x")

	declared := id(t, d.ok(t, "submit", "chaos.sleep", "--args", `{"ms":1}`, "--cpu", "1.5", "--memory-mb", "800"))
	byDefault := id(t, d.ok(t, "submit", "chaos.sleep", "--args", `{"ms":1}`))
	out := d.cli(t, `{"task":"chaos.sleep","args":{"ms":1},"resources":{"cpu":0.25}}`+"\n", "submit", "--batch", "-")
	if out.code != 0 {
		t.Fatalf("submit --batch: %+v", out)
	}
	batched := id(t, out.stdout)
	for _, tc := range []struct {
		id   string
		want map[string]any
	}{
		{declared, map[string]any{"cpu": 1.5, "memory_mb": float64(800)}},
		{byDefault, map[string]any{"memory_mb": float64(50)}},
		{batched, map[string]any{"cpu": 0.25}},
	} {
		d.ok(t, "wait", tc.id)
		j := jobJSON(t, d.ok(t, "--json", "get", tc.id))
		got, _ := j["resources"].(map[string]any)
		if len(got) != len(tc.want) {
			t.Fatalf("job %s: resources %v, want %v", tc.id, j["resources"], tc.want)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Fatalf("job %s: resources %v, want %v", tc.id, got, tc.want)
			}
		}
	}
	if out := d.ok(t, "get", declared); !regexp.MustCompile(`(?m)^resources +cpu=1\.5,memory_mb=800$`).MatchString(out) {
		t.Fatalf("get does not show the resources:\n%s", out)
	}
	if out := d.ok(t, "stats"); !regexp.MustCompile(`(?m)^capacity +cpu 0 of 2  memory_mb 0 of 1000 in use$`).MatchString(out) {
		t.Fatalf("stats does not show the capacity:\n%s", out)
	}
}

// TestServeCapacityFlags: --capacity and --resources (and their
// variables) configure the daemon; malformed values are usage errors.
func TestServeCapacityFlags(t *testing.T) {
	sock := filepath.Join(shortDir(t), "bh.sock")
	env := map[string]string{"BATCHHOST_DATA_DIR": t.TempDir(), "BATCHHOST_SOCKET": sock, "BATCHHOST_PLUGIN_DIR": pluginDir,
		"BATCHHOST_CAPACITY": "cpu=9", "BATCHHOST_RESOURCES": "chaos.sleep=cpu=1;chaos=memory_mb=10"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--capacity", "cpu=-1"}, `invalid argument "cpu=-1" for "--capacity" flag: resources: cpu must be a number of CPUs, 0 or more (got -1)`},
		{[]string{"--capacity", "gpu=1"}, `unknown resource "gpu" (want cpu or memory_mb)`},
		{[]string{"--resources", "chaos.sleep"}, `"chaos.sleep": want TASK=cpu=N,memory_mb=N`},
		{[]string{"--resources", "chaos.sleep=cpu=1,memory_mb=1.5"}, `memory_mb "1.5" is not a whole number of MiB`},
	} {
		r := runCLI(t, env, "", append([]string{"serve"}, tc.args...)...)
		expectFail(t, r, 2, tc.want, tc.args)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		defer pw.Close()
		done <- run(ctx, []string{"serve", "--capacity", "cpu=2,memory_mb=900"}, strings.NewReader(""), io.Discard, pw, func(k string) string { return env[k] })
	}()
	sc := bufio.NewScanner(pr)
	var logged strings.Builder
	for !strings.Contains(logged.String(), "batchhost: serving") && sc.Scan() {
		logged.WriteString(sc.Text() + "\n")
	}
	go io.Copy(io.Discard, pr)
	cli := map[string]string{"BATCHHOST_SOCKET": sock}
	r := runCLI(t, cli, "", "stats")
	if !regexp.MustCompile(`(?m)^capacity +cpu 0 of 2  memory_mb 0 of 900 in use$`).MatchString(r.stdout) {
		t.Fatalf("--capacity does not override BATCHHOST_CAPACITY: %+v\n%s", r, logged.String())
	}
	r = runCLI(t, cli, "", "--json", "submit", "chaos.sleep", "--args", `{"ms":1}`)
	if j := jobJSON(t, r.stdout); j["resources"] == nil || j["resources"].(map[string]any)["cpu"] != float64(1) {
		t.Fatalf("BATCHHOST_RESOURCES: the task's default does not reach the job: %+v", r)
	}
	r = runCLI(t, cli, "", "--json", "submit", "chaos.echo")
	if j := jobJSON(t, r.stdout); j["resources"] == nil || j["resources"].(map[string]any)["memory_mb"] != float64(10) {
		t.Fatalf("BATCHHOST_RESOURCES: the plugin's default does not reach the job: %+v", r)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exit %d\n%s", code, logged.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
}
