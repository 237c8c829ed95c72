package main

import (
	"strings"
	"testing"

	"github.com/batchhost/batchhost/host"
)

// bigLines returns n batch lines of about 1 MB each (args just under the
// default 1 MiB limit), with line bad (1-based; 0 for none) naming an
// unknown task.
func bigLines(n, bad int) string {
	pad := strings.Repeat("x", 1_000_000)
	var b strings.Builder
	for i := 1; i <= n; i++ {
		task := "chaos.echo"
		if i == bad {
			task = "chaos.nothing"
		}
		b.WriteString(`{"task":"` + task + `","args":{"pad":"` + pad + `"}}` + "\n")
	}
	return b.String()
}

// A batch bigger than one control request may carry (20 MB here, the
// limit is 16 MiB) is sent in request-sized runs, in order, and every job
// is submitted.
func TestSubmitBatchBiggerThanARequest(t *testing.T) {
	d := startDaemon(t, func(c *host.Config) { c.MaxWorkers = 1 })
	if err := d.h.PauseDispatch(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	r := d.cli(t, bigLines(20, 0), "submit", "--batch", "-")
	ids := strings.Fields(r.stdout)
	if r.code != 0 || len(ids) != 20 {
		t.Fatalf("exit %d, %d ids: %s", r.code, len(ids), r.stderr)
	}
	for _, jid := range ids {
		id(t, jid)
	}
	jobs, _, err := d.h.List(ctxT(t), host.ListFilter{})
	if err != nil || len(jobs) != 20 || jobs[0].ID != ids[19] {
		t.Fatalf("%d jobs stored (newest %s), want the 20 submitted in order: %v", len(jobs), jobs[0].ID, err)
	}
}

// A refusal in a later run names its line, prints the ids of the runs
// before it, says which lines were submitted, and commits nothing of its
// own run.
func TestSubmitBatchRefusedInALaterRun(t *testing.T) {
	d := startDaemon(t, nil)
	if err := d.h.PauseDispatch(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	r := d.cli(t, bigLines(20, 18), "submit", "--batch", "-")
	expectFail(t, r, 1, `--batch -: line 18: unknown task "chaos.nothing"`, []string{"submit", "--batch", "-"})
	if !strings.Contains(r.stderr, "(lines 1 to 16 were submitted, their ids are printed; nothing from line 17 on was)") {
		t.Errorf("stderr does not say what was submitted: %s", r.stderr)
	}
	ids := strings.Fields(r.stdout)
	jobs, _, err := d.h.List(ctxT(t), host.ListFilter{})
	if err != nil || len(ids) != 16 || len(jobs) != 16 {
		t.Fatalf("%d ids printed, %d jobs stored; want the 16 of the first run: %v", len(ids), len(jobs), err)
	}
}
