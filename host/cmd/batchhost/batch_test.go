package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/host"
)

func TestSubmitBatch(t *testing.T) {
	d := startDaemon(t, nil)
	first := id(t, d.ok(t, "submit", "chaos.noop"))
	file := filepath.Join(t.TempDir(), "jobs.jsonl")
	lines := strings.Join([]string{
		`{"task":"chaos.echo","args":{"n":1},"priority":"high","key":"b1"}`,
		``,
		`# comments and blank lines are skipped`,
		`{"task":"chaos.noop","depends_on":["` + first + `"],"max_attempts":2,"timeout":"30s"}`,
		`{"task":"chaos.noop","depends_on":[{"id":"` + first + `","policy":"ignore"}],"labels":{"a":"b"},"delay":"1ms"}`,
	}, "\n")
	if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	out := d.ok(t, "submit", "--batch", file)
	ids := strings.Fields(out)
	if len(ids) != 3 {
		t.Fatalf("want 3 ids, got %q", out)
	}
	for _, jid := range ids {
		id(t, jid)
	}
	d.ok(t, append([]string{"wait"}, ids...)...)
	j, err := d.h.Get(ctxT(t), ids[2])
	if err != nil || j.DependsOn[0].Policy != host.DepIgnore || j.Labels["a"] != "b" {
		t.Fatalf("third job: %+v %v", j, err)
	}
	if j, _ := d.h.Get(ctxT(t), ids[1]); j.MaxAttempts != 2 || j.Timeout != host.Duration(30e9) {
		t.Fatalf("second job: %+v", j)
	}
	// A leading byte order mark (as some editors write) is skipped.
	if out := d.cli(t, "\ufeff"+`{"task":"chaos.noop"}`+"\n", "submit", "--batch", "-"); out.code != 0 {
		t.Fatalf("--batch with a BOM: %+v", out)
	} else {
		id(t, out.stdout)
	}
	// From stdin, as a JSON array of ids.
	r := d.cli(t, `{"task":"chaos.noop"}`+"\n"+`{"task":"chaos.noop"}`, "--json", "submit", "--batch", "-")
	var got []string
	decode(t, r.stdout, &got)
	if r.code != 0 || len(got) != 2 {
		t.Fatalf("--batch -: %+v", r)
	}
}

// A bad line names its line number and commits nothing: neither the lines
// before it nor after.
func TestSubmitBatchIsAllOrNothing(t *testing.T) {
	d := startDaemon(t, nil)
	count := func() int {
		jobs, _, err := d.h.List(ctxT(t), host.ListFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(jobs)
	}
	ok := `{"task":"chaos.noop"}`
	for _, tc := range []struct {
		name  string
		input string
		code  int
		want  string
	}{
		{"bad JSON", ok + "\n" + ok + "\n" + `{"task": "chaos.noop",` + "\n" + ok, 2, "line 3: invalid JSON"},
		{"unknown field", ok + "\n" + `{"tsk":"chaos.noop"}`, 2, `line 2: invalid job spec: json: unknown field "tsk"`},
		{"no task", "\n\n" + `{"args":{}}`, 2, `line 3: "task" is required`},
		{"bad priority", `{"task":"chaos.noop","priority":"urgent"}`, 2, `line 1: invalid priority "urgent"`},
		{"bad duration", ok + "\n" + `{"task":"chaos.noop","timeout":"soon"}`, 2, `line 2: timeout: time: invalid duration`},
		{"two values", `{"task":"chaos.noop"} {}`, 2, "line 1: invalid JSON: more than one value"},
		{"empty", "\n# nothing\n", 2, "no job specs in the batch"},
		// Refused by the host: the line of the refused job, nothing kept.
		{"unknown task", ok + "\n\n" + ok + "\n" + `{"task":"chaos.nothing"}`, 1, `line 4: unknown task "chaos.nothing" (`},
		{"unknown dependency", ok + "\n" + `{"task":"chaos.noop","depends_on":["nope"]}`, 1, "line 2: dependency nope: job nope not found"},
		{"unknown group", ok + "\n" + ok + "\n" + `{"task":"chaos.noop","group":"g-1"}`, 1, "line 3: "},
		// One job or several, a host refusal names the line.
		{"one line refused", `{"task":"chaos.noop","max_attempts":5000}`, 1, "--batch -: line 1: max attempts 5000 is absurd (at most 1000) (nothing was submitted)"},
		{"one line after comments refused", "# c\n\n" + `{"task":"chaos.noop","timeout":"-1s"}`, 1, "--batch -: line 3: timeout must not be negative"},
		{"one of several refused", ok + "\n" + `{"task":"chaos.noop","max_attempts":5000}`, 1, "--batch -: line 2: max attempts 5000 is absurd"},
		{"one line bad name", `{"task":"noop"}`, 1, `--batch -: line 1: task "noop" must be <plugin>.<task>`},
		// Dependencies are decoded as strictly as the rest.
		{"dependency unknown field", `{"task":"chaos.noop","depends_on":[{"idd":"x"}]}`, 2, `line 1: invalid job spec: depends_on: unknown field "idd"`},
		{"dependency without id", ok + "\n" + `{"task":"chaos.noop","depends_on":[{"policy":"ignore"}]}`, 2, `line 2: invalid job spec: depends_on: an entry has no "id"`},
		{"dependency empty id", `{"task":"chaos.noop","depends_on":[""]}`, 2, `line 1: invalid job spec: depends_on: an entry has no "id"`},
		{"dependency bad policy", ok + "\n" + `{"task":"chaos.noop","depends_on":[{"id":"x","policy":"sometimes"}]}`, 2, `line 2: invalid job spec: depends_on: unknown policy "sometimes" (want cancel or ignore)`},
		{"dependency policy case", `{"task":"chaos.noop","depends_on":[{"id":"x","policy":"IGNORE"}]}`, 2, `line 1: invalid job spec: depends_on: unknown policy "IGNORE"`},
		{"dependency not an object", `{"task":"chaos.noop","depends_on":[7]}`, 2, `line 1: invalid job spec: depends_on entries must be job ids or {"id": ..., "policy": "cancel"|"ignore"}`},
		{"invalid UTF-8", ok + "\n" + `{"task":"chaos.noop","key":"k` + "\xff" + `"}`, 2, "line 2: not valid UTF-8"},
		{"BOM not at the start", ok + "\n\ufeff" + ok, 2, "line 2: invalid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := count()
			r := d.cli(t, tc.input, "submit", "--batch", "-")
			expectFail(t, r, tc.code, tc.want, []string{"submit", "--batch", "-"})
			if r.stdout != "" {
				t.Fatalf("stdout %q", r.stdout)
			}
			if n := count(); n != before {
				t.Fatalf("%d jobs committed by a failed batch", n-before)
			}
		})
	}
	d.fails(t, 2, "--args cannot be combined with --batch", "submit", "--batch", "-", "--args", "{}")
	d.fails(t, 2, "--batch takes no TASK argument", "submit", "--batch", "-", "chaos.noop")
	d.fails(t, 2, "--batch: open", "submit", "--batch", filepath.Join(t.TempDir(), "missing"))
	d.fails(t, 2, "--batch needs a file name (or - for stdin)", "submit", "--batch", "")
	d.fails(t, 2, "--batch needs a file name (or - for stdin)", "submit", "--batch=")
	d.fails(t, 2, "--batch needs a file name (or - for stdin)", "submit", "--batch", "", "chaos.noop")
}
