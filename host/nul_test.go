package host_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/host"
)

// An id, prefix or filter holding NUL matches nothing that could be
// stored. Each call answers ErrNotFound or ErrInvalid in one line, never
// "unavailable, retry" (PostgreSQL refuses NUL in text, and asking again
// would not help), and changes nothing.
func TestLookupsWithNULAreAnswered(t *testing.T) {
	h, _ := openHost(t, nil)
	ctx := ctxT(t)
	done := wait(t, h, submit(t, h, host.JobSpec{Task: "chaos.noop"}))
	bad := "a\x00b"
	calls := map[string]error{
		"Get":         func() error { _, err := h.Get(ctx, bad); return err }(),
		"Cancel":      h.Cancel(ctx, bad),
		"Pause":       h.Pause(ctx, bad),
		"Retry":       h.Retry(ctx, bad),
		"Delete":      h.Delete(ctx, bad),
		"Logs":        func() error { _, err := h.Logs(ctx, bad); return err }(),
		"GetGroup":    func() error { _, err := h.GetGroup(ctx, bad); return err }(),
		"AddToGroup":  h.AddToGroup(ctx, done.ID, bad),
		"AddDeps":     h.AddDependencies(ctx, bad, host.Dep{Job: done.ID}),
		"ResolveJob":  func() error { _, err := h.ResolveJobID(ctx, bad); return err }(),
		"GetSchedule": func() error { _, err := h.GetSchedule(ctx, bad); return err }(),
		"Dependents":  func() error { _, err := h.Dependents(ctx, bad); return err }(),
		"SubmitDep": func() error {
			_, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", DependsOn: []host.Dep{{Job: bad}}})
			return err
		}(),
		"SubmitGroup": func() error { _, err := h.Submit(ctx, host.JobSpec{Task: "chaos.noop", Group: bad}); return err }(),
	}
	for name, err := range calls {
		if !(errors.Is(err, host.ErrNotFound) || errors.Is(err, host.ErrInvalid)) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want a one-line ErrNotFound or ErrInvalid", name, err)
		}
	}
	if n, err := h.Purge(ctx, host.PurgeFilter{States: []host.State{host.StateCompleted}, Task: bad}); n != 0 || (err != nil && !errors.Is(err, host.ErrInvalid)) {
		t.Errorf("Purge: %d, %v; want none or ErrInvalid", n, err)
	}
	for name, f := range map[string]host.ListFilter{"task": {Task: bad}, "group": {Group: bad}, "label": {Label: bad}, "label value": {Label: "k=" + bad}, "search": {Search: bad}} {
		jobs, _, err := h.List(ctx, f)
		if (err == nil && len(jobs) != 0) || (err != nil && !errors.Is(err, host.ErrInvalid) && !errors.Is(err, host.ErrNotFound)) {
			t.Errorf("List by %s: %d jobs, %v; want none, ErrNotFound or ErrInvalid", name, len(jobs), err)
		}
	}
	if j, err := h.Get(ctx, done.ID); err != nil || j.State != host.StateCompleted {
		t.Fatalf("the finished job: %v %v", j, err)
	}
	if st, err := h.Stats(ctx); err != nil || st.Counts[host.StateCompleted] != 1 || st.Counts[host.StateQueued] != 0 {
		t.Fatalf("stats after refused calls: %+v %v", st.Counts, err)
	}
}

// A plugin's text holding NUL or bytes that are not UTF-8 (its error,
// its stderr, its log lines) is stored with U+FFFD in their place: the
// job ends as its plugin said and the queue goes on. On PostgreSQL such
// an outcome once held up every outcome written after it.
func TestPluginTextWithNULIsStored(t *testing.T) {
	h, _ := openHost(t, func(c *host.Config) { c.ExecAllow = []string{"sh"} })
	ctx := ctxT(t)
	script := `printf 'out\000put\n'; printf 'err\000\377or\n' >&2; exit 3`
	j := wait(t, h, submit(t, h, host.JobSpec{Task: "exec.run", MaxAttempts: 1, Args: map[string]any{"argv": []string{"sh", "-c", script}}}))
	if j.State != host.StateFailed || j.Error == nil || !strings.Contains(j.Error.Message, "err\uFFFD\uFFFDor") {
		t.Fatalf("job %s, error %+v; want failed naming err\uFFFD\uFFFDor", j.State, j.Error)
	}
	recs, err := h.Logs(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range recs {
		lines = append(lines, r.Message)
	}
	if all := strings.Join(lines, "|"); !strings.Contains(all, "out\uFFFDput") || strings.Contains(all, "\x00") {
		t.Fatalf("log lines %q; want out\uFFFDput and no NUL", lines)
	}
	if next := wait(t, h, submit(t, h, host.JobSpec{Task: "chaos.noop"})); next.State != host.StateCompleted {
		t.Fatalf("the next job: %s", next.State)
	}
}
