package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/host"
)

func TestSchedulesPage(t *testing.T) {
	f := serve(t, Options{}, nil)
	ctx := ctxT(t)
	sid, err := f.h.CreateSchedule(ctx, host.ScheduleSpec{Name: "nightly-reindex", Cron: "0 3 * * *", TimeZone: "UTC",
		Job: host.JobSpec{Task: "chaos.echo"}})
	if err != nil {
		t.Fatal(err)
	}
	_, body := f.get(t, "/schedules")
	for _, want := range []string{"nightly-reindex", "<code>0 3 * * *</code>", "chaos.echo", "/schedules/" + sid + "/trigger", "overlap skip"} {
		if !strings.Contains(body, want) {
			t.Errorf("schedules page lacks %q", want)
		}
	}
	resp, _ := f.post(t, "/schedules/"+sid+"/pause", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pause: %d", resp.StatusCode)
	}
	if sc, _ := f.h.GetSchedule(ctx, sid); !sc.Paused {
		t.Error("schedule not paused")
	}
	if _, body = f.get(t, "/schedules?done=pause"); !strings.Contains(body, `<span class="tag">paused</span>`) || !strings.Contains(body, "/resume") {
		t.Error("paused schedule not shown as paused with a resume button")
	}
	// Trigger fires a run even while paused and opens its page.
	resp, _ = f.post(t, "/schedules/nightly-reindex/trigger", nil)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/jobs/") {
		t.Fatalf("trigger: %d %s", resp.StatusCode, loc)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/jobs/"), "?done=trigger")
	wait(t, f.h, id)
	_, body = f.get(t, loc)
	if !strings.Contains(body, "Fired: the run is queued.") || !strings.Contains(body, host.LabelSchedule+"="+sid) {
		t.Errorf("the triggered run's page lacks the flash or its schedule label")
	}
	if _, body = f.get(t, "/schedules"); !strings.Contains(body, `href="/jobs/`+id+`"`) || !strings.Contains(body, `badge st-completed`) {
		t.Errorf("schedules page does not show the last run and its state")
	}
}

// A job's page links its dependencies and its dependents; the group list
// and page show the group.
func TestGroupAndDependencyLinks(t *testing.T) {
	f := serve(t, Options{}, nil)
	ctx := ctxT(t)
	g, _ := f.h.CreateGroup(ctx, host.GroupSpec{Name: "build <all>", Sequential: true})
	a, _ := f.h.Create(ctx, host.JobSpec{Task: "chaos.echo", Group: g})
	b, _ := f.h.Create(ctx, host.JobSpec{Task: "chaos.echo", Group: g}) // waits for a: sequential
	outside := submit(t, f.h, host.JobSpec{Task: "chaos.echo"})
	wait(t, f.h, outside)
	c, _ := f.h.Create(ctx, host.JobSpec{Task: "chaos.noop", Group: g, DependsOn: []host.Dep{{Job: outside, Policy: host.DepIgnore}}})
	if err := f.h.SubmitGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.WaitGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	_, body := f.get(t, "/jobs/"+a)
	dependents := body[strings.Index(body, "<h2>Dependents"):]
	if !strings.Contains(dependents, `href="/jobs/`+b+`"`) {
		t.Errorf("job a's page does not list b as its dependent:\n%s", dependents)
	}
	_, body = f.get(t, "/jobs/"+c)
	deps := body[strings.Index(body, "<h2>Depends on"):strings.Index(body, "<h2>Dependents")]
	for _, want := range []string{`href="/jobs/` + b + `"`, `href="/jobs/` + outside + `"`, "runs whatever the outcome", "build &lt;all&gt;"} {
		if !strings.Contains(deps+body, want) {
			t.Errorf("job c's page lacks %q", want)
		}
	}
	_, body = f.get(t, "/groups")
	if !strings.Contains(body, "build &lt;all&gt;") || !strings.Contains(body, "sequential") || !strings.Contains(body, "badge st-completed") {
		t.Errorf("group list lacks the group, its kind or its outcome")
	}
	_, body = f.get(t, "/groups/"+g)
	if strings.Count(body, `class="node st-completed"`) != 3 || strings.Count(body, `class="edge"`) != 2 {
		t.Errorf("group picture: %d completed nodes, %d edges; want 3 and 2 (the outside dependency is not drawn)",
			strings.Count(body, `class="node st-completed"`), strings.Count(body, `class="edge"`))
	}
	if !strings.Contains(body, "1 dependency on a job outside the group is not drawn") {
		t.Error("the picture does not mention the outside dependency")
	}
	// Group actions on a finished group: nothing to do, no error page.
	resp, _ := f.post(t, "/groups/"+g+"/pause", url.Values{})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("pause of a done group: %d", resp.StatusCode)
	}
}
