package web

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/batchhost/batchhost/host"
)

// These tests drive the dashboard in headless Chromium the way a person
// would, and leave screenshots of the overview, a job and a group (see
// screenshotDir).

// click clicks the element and waits for the page it leads to (a form's
// POST and its redirect).
func click(t *testing.T, ctx context.Context, css string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(css)))
	// A live update may replace the button between finding it and
	// clicking it: the click did not happen, so find it again.
	for try := 0; err != nil && strings.Contains(err.Error(), "Could not find node") && try < 5; try++ {
		resp, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(css)))
	}
	if err != nil {
		t.Fatalf("click %s: %v", css, err)
	}
	if resp.Status >= 400 {
		t.Fatalf("click %s: the page answered %d", css, resp.Status)
	}
}

// open loads a page and, for a live page, waits until its event stream
// is open, so that what the test does next is seen live.
func open(t *testing.T, ctx context.Context, url string) int64 {
	t.Helper()
	nav, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := chromedp.Run(nav, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	if resp.Status < 400 {
		until(t, ctx, "the page's event stream is open", `!document.body.dataset.live || document.body.hasAttribute("data-live-open")`)
	}
	return resp.Status
}

// markPage tags the loaded document; notReloaded checks the tag is still
// there, i.e. what changed on the page changed without a reload.
const (
	markPage    = `(window.__sameDocument = true)`
	notReloaded = `window.__sameDocument === true`
)

func cardCount(state string) string {
	return fmt.Sprintf(`(document.querySelector('[data-count="%s"] .n') || {}).textContent`, state)
}

func TestBrowserOverviewUpdatesLive(t *testing.T) {
	f := serve(t, Options{}, nil)
	if err := f.h.PauseDispatch(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	open(t, ctx, f.ts.URL+"/")
	eval[bool](t, ctx, markPage)
	if got := eval[string](t, ctx, cardCount("queued")); got != "0" {
		t.Fatalf("queued card shows %q before any job", got)
	}
	var ids []string
	for i := range 3 {
		ids = append(ids, submit(t, f.h, host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": 100 * (i + 1)}}))
	}
	until(t, ctx, "the queued count shows the 3 submitted jobs", cardCount("queued")+` === "3" && `+notReloaded)
	if got := eval[string](t, ctx, `document.getElementById("dispatch").textContent`); got != "paused" {
		t.Errorf("dispatch shows %q while paused", got)
	}
	if err := f.h.ResumeDispatch(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		wait(t, f.h, id)
	}
	until(t, ctx, "the completed count shows them finished", cardCount("completed")+` === "3" && `+cardCount("queued")+` === "0" && `+notReloaded)
	until(t, ctx, "the chart shows them", `document.querySelectorAll("svg.chart rect.ok").length > 0`)
	// A failing job for the chart's other colour, then the screenshot.
	wait(t, f.h, submit(t, f.h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 9, "permanent": true}}))
	until(t, ctx, "the failure shows", cardCount("failed")+` === "1"`)
	screenshot(t, ctx, "overview")
}

func TestBrowserJobListFilters(t *testing.T) {
	f := serve(t, Options{}, nil)
	var all []string
	for i := range 4 {
		all = append(all, submit(t, f.h, host.JobSpec{Task: "chaos.echo", Args: map[string]int{"i": i}, Labels: map[string]string{"team": "red"}}))
	}
	fails := []string{
		submit(t, f.h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 9, "permanent": true}}),
		submit(t, f.h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 9, "permanent": true}, Priority: host.PriorityHigh}),
	}
	all = append(all, fails...)
	all = append(all, submit(t, f.h, host.JobSpec{Task: "chaos.noop", Priority: host.PriorityHigh}))
	for _, id := range all {
		wait(t, f.h, id)
	}
	ctx := browser(t)
	open(t, ctx, f.ts.URL+"/jobs")
	rows := `document.querySelectorAll("tbody tr[data-job]").length`
	if n := eval[int](t, ctx, rows); n != len(all) {
		t.Fatalf("%d rows unfiltered, want %d", n, len(all))
	}
	step(t, ctx, "tick failed", chromedp.Click(chromedp.CSS(`input[name=state][value=failed]`)))
	step(t, ctx, "type the task", chromedp.SetValue(chromedp.CSS(`input[name=task]`), "chaos.fail"))
	click(t, ctx, `form.filters button`)
	if n := eval[int](t, ctx, rows); n != 2 {
		t.Fatalf("%d rows for failed chaos.fail, want 2", n)
	}
	badges := eval[[]string](t, ctx, `[...document.querySelectorAll("tbody [data-job-state]")].map(e => e.textContent)`)
	tasks := eval[[]string](t, ctx, `[...document.querySelectorAll("tbody tr[data-job] td:nth-child(3)")].map(e => e.textContent)`)
	for i := range badges {
		if badges[i] != "failed" || tasks[i] != "chaos.fail" {
			t.Errorf("row %d: %s %s", i, tasks[i], badges[i])
		}
	}
	// Priority and the text search over error messages narrow further.
	step(t, ctx, "tick high", chromedp.Click(chromedp.CSS(`input[name=priority][value=high]`)))
	step(t, ctx, "search", chromedp.SetValue(chromedp.CSS(`input[name=q]`), "PLANNED FAILURE"))
	click(t, ctx, `form.filters button`)
	if got := eval[[]string](t, ctx, `[...document.querySelectorAll("tbody tr[data-job]")].map(e => e.dataset.job)`); len(got) != 1 || got[0] != fails[1] {
		t.Errorf("failed, chaos.fail, high, searched: %v, want [%s]", got, fails[1])
	}
	// A label, from a fresh list, paged two at a time.
	open(t, ctx, f.ts.URL+"/jobs?label=team%3Dred&limit=2")
	seen := map[string]bool{}
	for page := 0; ; page++ {
		for _, id := range eval[[]string](t, ctx, `[...document.querySelectorAll("tbody tr[data-job]")].map(e => e.dataset.job)`) {
			seen[id] = true
		}
		if !eval[bool](t, ctx, `!!document.querySelector("a[rel=next]")`) || page > 5 {
			break
		}
		click(t, ctx, "a[rel=next]")
	}
	if len(seen) != 4 {
		t.Errorf("paging team=red two at a time found %d jobs, want 4", len(seen))
	}
}

func TestBrowserJobProgressAndActions(t *testing.T) {
	f := serve(t, Options{}, nil)
	id := submit(t, f.h, host.JobSpec{Task: "chaos.progress", Args: map[string]int{"steps": 600, "ms": 50}})
	waitState(t, f.h, id, host.StateRunning)
	ctx := browser(t)
	open(t, ctx, f.ts.URL+"/jobs/"+id)
	eval[bool](t, ctx, markPage)
	progress := `document.querySelector("progress[data-progress]").value`
	lines := `document.querySelectorAll("#log-lines li").length`
	until(t, ctx, "progress shows", progress+` > 0`)
	p1, l1 := eval[float64](t, ctx, progress), eval[int](t, ctx, lines)
	until(t, ctx, "progress and log advance", progress+` > `+strconv.FormatFloat(p1, 'f', -1, 64)+` && `+lines+` > `+strconv.Itoa(l1)+` && `+notReloaded)
	if got := eval[string](t, ctx, `document.querySelector("[data-progress-text]").textContent`); !strings.Contains(got, "step ") {
		t.Errorf("progress text %q has no message", got)
	}
	screenshot(t, ctx, "job")
	badge := `document.querySelector("h1 [data-job-state]").textContent`

	click(t, ctx, "button.act-pause")
	until(t, ctx, "the badge says paused", badge+` === "paused"`)
	if j, _ := f.h.Get(ctxT(t), id); j.State != host.StatePaused {
		t.Fatalf("host says %s after the pause button", j.State)
	}
	click(t, ctx, "button.act-resume")
	until(t, ctx, "the badge says running", badge+` === "running"`)
	p2 := eval[float64](t, ctx, progress)
	until(t, ctx, "progress advances after resume", progress+` > `+strconv.FormatFloat(p2, 'f', -1, 64))
	click(t, ctx, "button.act-cancel")
	until(t, ctx, "the badge says canceled", badge+` === "canceled" && document.querySelector("button.act-retry") !== null`)
	if j := wait(t, f.h, id); j.State != host.StateCanceled {
		t.Fatalf("host says %s after the cancel button", j.State)
	}
}

func TestBrowserBulkRetryOfATask(t *testing.T) {
	f := serve(t, Options{}, nil)
	var fails, others []string
	for range 5 {
		// Fails its first attempt for good; a manual retry is attempt 2,
		// which succeeds.
		fails = append(fails, submit(t, f.h, host.JobSpec{Task: "chaos.fail", Args: map[string]any{"times": 1, "permanent": true}}))
	}
	for range 2 {
		others = append(others, submit(t, f.h, host.JobSpec{Task: "chaos.exit", Args: map[string]int{"code": 3}, MaxAttempts: 1}))
	}
	for _, id := range append(fails, others...) {
		if j := wait(t, f.h, id); j.State != host.StateFailed {
			t.Fatalf("%s %s, want failed", j.Task, j.State)
		}
	}
	ctx := browser(t)
	// Two a page: "all matching" must reach past the first page.
	open(t, ctx, f.ts.URL+"/jobs?state=failed&task=chaos.fail&limit=2")
	step(t, ctx, "choose all matching", chromedp.Click(chromedp.CSS("#all-matching")))
	eval[bool](t, ctx, `(window.confirm = () => true, true)`)
	click(t, ctx, `#bulk button[value=retry]`)
	if got := eval[string](t, ctx, `document.querySelector(".flash").textContent`); !strings.Contains(got, "Retry: 5 done, 0 skipped") {
		t.Errorf("after bulk retry the page says %q", got)
	}
	for _, id := range fails {
		if j := wait(t, f.h, id); j.State != host.StateCompleted {
			t.Errorf("retried chaos.fail job ended %s", j.State)
		}
	}
	for _, id := range others {
		if j, _ := f.h.Get(ctxT(t), id); j.State != host.StateFailed || j.Attempt != 1 {
			t.Errorf("chaos.exit job was touched: %s attempt %d", j.State, j.Attempt)
		}
	}
}

func TestBrowserGroupDAG(t *testing.T) {
	f := serve(t, Options{}, func(c *host.Config) { c.MaxWorkers = 2 })
	ctx0 := ctxT(t)
	g, err := f.h.CreateGroup(ctx0, host.GroupSpec{Name: "nightly report"})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(task string, ms int, deps ...string) string {
		id, err := f.h.Create(ctx0, host.JobSpec{Task: task, Args: map[string]int{"ms": ms}, Group: g, DependsOn: host.After(deps...)})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	fetch := mk("chaos.sleep", 150)
	parseA := mk("chaos.sleep", 300, fetch)
	parseB := mk("chaos.sleep", 600, fetch)
	merge := mk("chaos.sleep", 600, parseA, parseB)
	publish := mk("chaos.sleep", 300, merge)
	notify := mk("chaos.echo", 0, merge)
	members := []string{fetch, parseA, parseB, merge, publish, notify}
	if err := f.h.PauseDispatch(ctx0); err != nil {
		t.Fatal(err)
	}
	if err := f.h.SubmitGroup(ctx0, g); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	open(t, ctx, f.ts.URL+"/groups/"+g)
	eval[bool](t, ctx, markPage)
	node := func(id string) string {
		return fmt.Sprintf(`document.querySelector('g.node[data-node="%s"]').getAttribute("class")`, id)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("svg.dag g.node").length`); n != len(members) {
		t.Fatalf("%d nodes drawn, want %d", n, len(members))
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("svg.dag path.edge").length`); n != 6 {
		t.Errorf("%d edges drawn, want 6", n)
	}
	if c := eval[string](t, ctx, node(fetch)); c != "node st-queued" {
		t.Errorf("first node %q before dispatch", c)
	}
	if c := eval[string](t, ctx, node(merge)); c != "node st-waiting" {
		t.Errorf("merge node %q before dispatch", c)
	}
	if err := f.h.ResumeDispatch(ctx0); err != nil {
		t.Fatal(err)
	}
	until(t, ctx, "the first node turns completed while the last waits",
		node(fetch)+` === "node st-completed" && `+node(publish)+` !== "node st-completed" && `+notReloaded)
	until(t, ctx, "the parse nodes run", node(parseB)+` === "node st-running"`)
	screenshot(t, ctx, "group")
	if _, err := f.h.WaitGroup(ctx0, g); err != nil {
		t.Fatal(err)
	}
	for _, id := range members {
		until(t, ctx, "every node turns completed", node(id)+` === "node st-completed"`)
	}
	until(t, ctx, "the summary shows the outcome", `document.querySelector("#summary h1 .badge").textContent === "completed" && `+notReloaded)
}

func TestBrowserLogTailStaysBounded(t *testing.T) {
	f := serve(t, Options{}, nil)
	if err := f.h.PauseDispatch(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	id := submit(t, f.h, host.JobSpec{Task: "chaos.log", Args: map[string]int{"lines": 5000}})
	ctx := browser(t)
	open(t, ctx, f.ts.URL+"/jobs/"+id)
	eval[bool](t, ctx, markPage)
	if err := f.h.ResumeDispatch(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	wait(t, f.h, id)
	logs, err := f.h.Logs(ctxT(t), id)
	if err != nil || len(logs) != 5000 {
		t.Fatalf("%d log records, %v", len(logs), err)
	}
	last := logs[len(logs)-1].Message
	until(t, ctx, "the last record shows", `document.querySelector("#log-lines li:last-child")?.textContent.includes(`+strconv.Quote(last)+`) && `+notReloaded)
	if n := eval[int](t, ctx, `document.querySelectorAll("#log-lines li").length`); n > 500 {
		t.Errorf("the page holds %d log lines, more than its bound of 500", n)
	}
}

func TestBrowserToken(t *testing.T) {
	guarded := serve(t, Options{Token: testToken}, nil)
	ctx := browser(t)
	if st := open(t, ctx, guarded.ts.URL+"/jobs"); st != 401 {
		t.Errorf("without the token: %d, want 401", st)
	}
	step(t, ctx, "type a wrong token", chromedp.SetValue(chromedp.CSS("input[name=token]"), "not-the-token-at-all"))
	if resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(".login button"))); err != nil || resp.Status != 401 {
		t.Errorf("wrong token: %v %v", resp, err)
	}
	step(t, ctx, "type the token", chromedp.SetValue(chromedp.CSS("input[name=token]"), testToken))
	click(t, ctx, ".login button")
	if h1 := eval[string](t, ctx, `document.querySelector("h1").textContent`); h1 != "Jobs" {
		t.Errorf("after login the page is %q, want the job list it asked for", h1)
	}
}

func TestBrowserReadOnly(t *testing.T) {
	ro := serve(t, Options{ReadOnly: true}, nil)
	id := submitPaused(t, ro)
	ctx := browser(t)
	open(t, ctx, ro.ts.URL+"/jobs/"+id)
	if n := eval[int](t, ctx, `document.querySelectorAll("main form").length`); n != 0 {
		t.Errorf("read-only job page has %d forms", n)
	}
	status := evalAwait[int](t, ctx, `fetch(location.pathname + "/cancel", {method: "POST", headers: {"X-CSRF-Token": document.querySelector("meta[name=csrf]").content}}).then(r => r.status)`)
	if status != 403 {
		t.Errorf("a POST from the read-only page: %d, want 403", status)
	}
	if j, _ := ro.h.Get(ctxT(t), id); j.State != host.StateQueued {
		t.Errorf("job %s after a refused cancel", j.State)
	}
}
