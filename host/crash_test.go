package host_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/internal/testbin"
)

// The crash tests re-exec the test binary as a host process (helperEnv set)
// so that the test can SIGKILL a real host mid-run.
const helperEnv = "BATCHHOST_TEST_HELPER_HOST"

// helperSpec is what the parent asks the helper host to do.
type helperSpec struct {
	DataDir   string          `json:"data_dir"`
	PluginDir string          `json:"plugin_dir"`
	Tag       string          `json:"tag"`
	Workers   int             `json:"workers"`
	Jobs      []helperJob     `json:"jobs"`
	Extra     json.RawMessage `json:"extra,omitempty"`
	// Database and LeaseTTL put the helper on a shared PostgreSQL queue.
	Database string        `json:"database,omitempty"`
	LeaseTTL time.Duration `json:"lease_ttl,omitempty"`
}

type helperJob struct {
	Task  string         `json:"task"`
	Args  map[string]any `json:"args"`
	After []int          `json:"after,omitempty"` // indexes of earlier jobs
	Prio  host.Priority  `json:"priority"`
}

// runHelperHost is the helper's main: open the host, submit the jobs in
// one commit, print their ids, then print a line per finished job until
// killed.
func runHelperHost() int {
	var spec helperSpec
	if err := json.Unmarshal([]byte(os.Getenv(helperEnv)), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	h, err := host.Open(host.Config{DataDir: spec.DataDir, PluginDir: spec.PluginDir, MaxWorkers: spec.Workers,
		PluginEnv: []string{spec.Tag}, DefaultBackoff: fastBackoff, Database: spec.Database, LeaseTTL: spec.LeaseTTL})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	ctx := context.Background()
	events := h.Subscribe(ctx, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	// Jobs are submitted in dependency order, each after its dependencies,
	// in batches so the ids of earlier ones are known.
	ids := make([]string, len(spec.Jobs))
	var batch []host.JobSpec
	var batchIdx []int
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		got, err := h.SubmitMany(ctx, batch)
		if err != nil {
			return err
		}
		for k, i := range batchIdx {
			ids[i] = got[k]
		}
		batch, batchIdx = nil, nil
		return nil
	}
	for i, j := range spec.Jobs {
		var deps []string
		for _, a := range j.After {
			if ids[a] == "" {
				if err := flush(); err != nil {
					fmt.Fprintln(os.Stderr, "helper:", err)
					return 2
				}
			}
			deps = append(deps, ids[a])
		}
		batch = append(batch, host.JobSpec{Task: j.Task, Args: j.Args, Priority: j.Prio, DependsOn: host.After(deps...)})
		batchIdx = append(batchIdx, i)
	}
	if err := flush(); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	out := bufio.NewWriter(os.Stdout)
	for _, id := range ids {
		fmt.Fprintln(out, "id", id)
	}
	fmt.Fprintln(out, "submitted")
	out.Flush()
	if err := h.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	for e := range events {
		if e.State.Terminal() {
			fmt.Fprintln(os.Stdout, "done", e.Job)
		}
	}
	return 0
}

// helperHost starts a helper host and returns the job ids it submitted and
// a channel of finished job ids.
type helperProc struct {
	cmd  *exec.Cmd
	ids  []string
	done chan string
}

func startHelper(t *testing.T, spec helperSpec) *helperProc {
	t.Helper()
	b, _ := json.Marshal(spec)
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
	p := &helperProc{cmd: cmd, done: make(chan string, len(spec.Jobs)+16)}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if line == "submitted" {
			break
		}
		if id, ok := strings.CutPrefix(line, "id "); ok {
			p.ids = append(p.ids, id)
		}
	}
	if len(p.ids) != len(spec.Jobs) {
		cmd.Process.Kill()
		t.Fatalf("helper host submitted %d of %d jobs", len(p.ids), len(spec.Jobs))
	}
	go func() {
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "done "); ok {
				p.done <- id
			}
		}
		close(p.done)
	}()
	return p
}

// killAfter SIGKILLs the helper once n jobs have finished, and waits for
// it and for its plugins to be gone.
func (p *helperProc) killAfter(t *testing.T, n int, tag string) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case _, ok := <-p.done:
			if !ok {
				t.Fatalf("helper exited after %d finished jobs", i)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("helper finished only %d jobs", i)
		}
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for len(testbin.FindByEnv(tag)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("plugins of the killed host still running: %+v", testbin.FindByEnv(tag))
		}
		time.Sleep(20 * time.Millisecond) // polling /proc: there is no event for another process's exit
	}
}

func TestKill9MidRunLosesNoJob(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	const n = 2000
	dir := t.TempDir()
	tag := fmt.Sprintf("BH_TEST_TAG=%d", rand.Int64())
	spec := helperSpec{DataDir: dir, PluginDir: pluginDir, Tag: tag, Workers: 8}
	for i := range n {
		spec.Jobs = append(spec.Jobs, helperJob{Task: "chaos.sleep", Args: map[string]any{"ms": 1 + i%7}})
	}
	p := startHelper(t, spec)
	p.killAfter(t, n/4, tag)

	h := reopen(t, host.Config{DataDir: dir, PluginDir: pluginDir, MaxWorkers: 8, DefaultBackoff: fastBackoff})
	ctx := ctxT(t)
	interrupted := 0
	for _, id := range p.ids {
		j := wait(t, h, id)
		if j.State != host.StateCompleted {
			t.Fatalf("job %s ended %s: %+v", id, j.State, j.Error)
		}
		for _, a := range j.Attempts {
			if a.FinishedAt == nil {
				t.Errorf("job %s: attempt %d never finished in the history", id, a.Attempt)
			}
			if a.Error != nil && a.Error.Kind == "interrupted" {
				interrupted++
			}
		}
	}
	var all []*host.Job
	for before := ""; ; {
		page, next, err := h.List(ctx, host.ListFilter{Limit: 1000, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		before = next
	}
	if len(all) != n {
		t.Fatalf("store holds %d jobs, want exactly %d", len(all), n)
	}
	if interrupted == 0 {
		t.Errorf("no job has an interrupted attempt: the kill did not land mid-run")
	}
	st, _ := h.Stats(ctx)
	if st.Counts[host.StateCompleted] != n || sum(st.Counts) != n {
		t.Errorf("counts after recovery: %v", st.Counts)
	}
	t.Logf("%d jobs, %d interrupted attempts recovered", n, interrupted)
}

func sum(m map[host.State]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
