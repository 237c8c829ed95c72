package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/host"
)

// Bad input gets a clear answer with the right status, as a page or as
// JSON, and changes nothing.
func TestBadInput(t *testing.T) {
	f := serve(t, Options{}, nil)
	done := submit(t, f.h, host.JobSpec{Task: "chaos.echo"})
	wait(t, f.h, done)
	queued := submitPaused(t, f)
	g, err := f.h.CreateGroup(ctxT(t), host.GroupSpec{Name: "g"})
	if err != nil {
		t.Fatal(err)
	}
	const missing = "01900000-0000-7000-8000-000000000000"

	for _, tc := range []struct {
		method, path string
		form         url.Values
		status       int
		want         string
	}{
		{"GET", "/jobs/" + missing, nil, 404, "job " + missing + " not found"},
		{"GET", "/jobs/not-an-id", nil, 404, "not found"},
		{"GET", "/groups/" + missing, nil, 404, "not found"},
		{"GET", "/fragment/jobs/" + missing, nil, 404, "not found"},
		{"GET", "/jobs?state=sleeping", nil, 400, `bad state filter`},
		{"GET", "/jobs?priority=urgent", nil, 400, `bad priority filter`},
		{"GET", "/jobs?label==red", nil, 400, `bad label filter "=red"`},
		{"GET", "/jobs?limit=0", nil, 400, `bad page size "0"`},
		{"GET", "/jobs?limit=lots", nil, 400, `bad page size "lots"`},
		{"GET", "/jobs?before=xyz", nil, 400, `page cursor "xyz" is not an id`},
		{"GET", "/jobs?group=" + missing, nil, 404, "not found"},
		{"GET", "/groups?before=nope", nil, 400, "not an id"},
		{"GET", "/events?topic=weather", nil, 400, "unknown event topic"},
		{"GET", "/events?topic=job&job=" + missing, nil, 404, "not found"},
		{"GET", "/no/such/page", nil, 404, "no such page"},
		{"GET", "/jobs/" + done + "/retry", nil, 405, "GET is not allowed"},
		{"DELETE", "/jobs", nil, 405, "DELETE is not allowed"},
		{"POST", "/jobs/" + done + "/retry", url.Values{}, 409, "only failed or canceled jobs can be retried"},
		{"POST", "/jobs/" + done + "/cancel", url.Values{}, 409, "nothing to cancel"},
		{"POST", "/jobs/" + done + "/pause", url.Values{}, 409, "only queued, waiting or running jobs can be paused"},
		{"POST", "/jobs/" + queued + "/resume", url.Values{}, 409, "is queued, not paused"},
		{"POST", "/jobs/" + queued + "/explode", url.Values{}, 404, `unknown job action "explode"`},
		{"POST", "/jobs/" + missing + "/cancel", url.Values{}, 404, "not found"},
		{"POST", "/jobs/bulk", url.Values{"action": {"retry"}}, 400, "no jobs selected"},
		{"POST", "/jobs/bulk", url.Values{"action": {"delete"}, "id": {queued}}, 400, `unknown bulk action "delete"`},
		{"POST", "/jobs/bulk", url.Values{"action": {"cancel"}, "all": {"1"}, "state": {"asleep"}}, 400, "bad state filter"},
		{"POST", "/groups/" + g + "/explode", url.Values{}, 404, "unknown group action"},
		{"POST", "/groups/" + missing + "/cancel", url.Values{}, 404, "not found"},
		{"POST", "/schedules/nightly/trigger", url.Values{}, 404, "not found"},
		{"POST", "/dispatch/sideways", url.Values{}, 404, "unknown dispatch action"},
	} {
		for _, asJSON := range []bool{false, true} {
			hdr := map[string]string{}
			if asJSON {
				hdr["Accept"] = "application/json"
			}
			form := tc.form
			if form != nil {
				form = url.Values{}
				for k, v := range tc.form {
					form[k] = v
				}
				form.Set("csrf", f.csrf(t))
			}
			resp, body := f.do(t, tc.method, tc.path, form, hdr)
			if resp.StatusCode != tc.status {
				t.Errorf("%s %s (json %v): %d, want %d\n%.300s", tc.method, tc.path, asJSON, resp.StatusCode, tc.status, body)
				continue
			}
			if asJSON && !strings.HasPrefix(tc.path, "/fragment/") {
				var e struct {
					Error  string
					Status int
				}
				if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e.Error, tc.want) || e.Status != tc.status {
					t.Errorf("%s %s JSON: %q, want an error mentioning %q", tc.method, tc.path, body, tc.want)
				}
			} else if !strings.Contains(body, htmlEscape(tc.want)) {
				t.Errorf("%s %s: page does not say %q:\n%.600s", tc.method, tc.path, tc.want, body)
			}
		}
	}
	// Nothing changed.
	if j, _ := f.h.Get(ctxT(t), done); j.State != host.StateCompleted || j.Attempt != 1 {
		t.Errorf("completed job now %s, attempt %d", j.State, j.Attempt)
	}
	if j, _ := f.h.Get(ctxT(t), queued); j.State != host.StateQueued {
		t.Errorf("queued job now %s", j.State)
	}
	if st, _ := f.h.Stats(ctxT(t)); !st.DispatchPaused {
		t.Error("dispatch no longer paused")
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer(`"`, "&#34;", "'", "&#39;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// A bulk action over "all matching" applies to every page of the filter,
// skips jobs whose state does not allow it, and reports both.
func TestBulkAllMatching(t *testing.T) {
	f := serve(t, Options{}, nil)
	if err := f.h.PauseDispatch(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	var specs []host.JobSpec
	for i := range 130 {
		task := "chaos.echo"
		if i%10 == 0 {
			task = "chaos.noop"
		}
		specs = append(specs, host.JobSpec{Task: task, Labels: map[string]string{"batch": "b1"}})
	}
	ids, err := f.h.SubmitMany(ctxT(t), specs)
	if err != nil {
		t.Fatal(err)
	}
	// Pause a few first: "pause all" then skips them.
	for _, id := range ids[1:4] {
		if err := f.h.Pause(ctxT(t), id); err != nil {
			t.Fatal(err)
		}
	}
	resp, body := f.do(t, http.MethodPost, "/jobs/bulk", url.Values{"csrf": {f.csrf(t)}, "action": {"pause"}, "all": {"1"},
		"task": {"chaos.echo"}, "label": {"batch=b1"}, "limit": {"25"}}, map[string]string{"Accept": "application/json"})
	var res bulkResult
	if err := json.Unmarshal([]byte(body), &res); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("bulk: %d %s", resp.StatusCode, body)
	}
	// 117 echo jobs over 5 pages of 25; 3 of them were paused already.
	if res.OK != 114 || res.Skipped != 3 || res.Failed != 0 {
		t.Errorf("first pause: %+v, want 114 done, 3 skipped", res)
	}
	res = bulkResult{}
	_, body = f.do(t, http.MethodPost, "/jobs/bulk", url.Values{"csrf": {f.csrf(t)}, "action": {"pause"}, "all": {"1"}, "task": {"chaos.echo"}},
		map[string]string{"Accept": "application/json"})
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	// The first call paused 117 - 3; the second found all 117 paused.
	if res.OK != 0 || res.Skipped != 117 || res.Failed != 0 {
		t.Errorf("second pause: %+v, want 117 skipped", res)
	}
	paused, _, err := f.h.List(ctxT(t), host.ListFilter{States: []host.State{host.StatePaused}, Limit: 1000})
	if err != nil || len(paused) != 117 {
		t.Fatalf("%d paused jobs, want the 117 echo jobs: %v", len(paused), err)
	}
	for _, j := range paused {
		if j.Task != "chaos.echo" {
			t.Errorf("bulk pause of chaos.echo paused a %s", j.Task)
		}
	}
	// By ids, from the browser's form: a redirect to the filtered list
	// with the counts.
	resp, _ = f.post(t, "/jobs/bulk", url.Values{"action": {"resume"}, "id": {ids[1], ids[2], ids[0]}, "task": {"chaos.echo"}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "done=bulk") || !strings.Contains(loc, "ok=2") || !strings.Contains(loc, "skipped=1") || !strings.Contains(loc, "task=chaos.echo") {
		t.Errorf("bulk by id: %d %s", resp.StatusCode, loc)
	}
	_, page := f.get(t, loc)
	if !strings.Contains(page, "Resume: 2 done, 1 skipped") {
		t.Errorf("no summary after the bulk action")
	}
}
