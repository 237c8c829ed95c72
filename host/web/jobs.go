package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/batchhost/batchhost/host"
)

// Page sizes of the job list.
const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// jobFilter is the job list's filter as the form shows it.
type jobFilter struct {
	States     []host.State
	Priorities []host.Priority
	Task       string
	Group      string
	Label      string
	Search     string
	Limit      int
	Before     string
}

// parseJobFilter reads the filter from a query or form; every malformed
// value is named.
func parseJobFilter(q url.Values) (jobFilter, error) {
	f := jobFilter{Task: strings.TrimSpace(q.Get("task")), Group: strings.TrimSpace(q.Get("group")),
		Label: strings.TrimSpace(q.Get("label")), Search: strings.TrimSpace(q.Get("q")),
		Before: strings.TrimSpace(q.Get("before")), Limit: defaultPageSize}
	for _, v := range splitValues(q["state"]) {
		st, err := host.ParseState(v)
		if err != nil {
			return f, badRequest("bad state filter: " + err.Error())
		}
		if !slices.Contains(f.States, st) {
			f.States = append(f.States, st)
		}
	}
	for _, v := range splitValues(q["priority"]) {
		p, err := host.ParsePriority(v)
		if err != nil {
			return f, badRequest("bad priority filter: " + err.Error())
		}
		if !slices.Contains(f.Priorities, p) {
			f.Priorities = append(f.Priorities, p)
		}
	}
	if f.Label != "" && strings.HasPrefix(f.Label, "=") {
		return f, badRequest("bad label filter " + strconv.Quote(f.Label) + ": want key=value or key")
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return f, badRequest("bad page size " + strconv.Quote(v) + ": want 1 to " + strconv.Itoa(maxPageSize))
		}
		f.Limit = n
	}
	return f, nil
}

func splitValues(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func (f jobFilter) host() host.ListFilter {
	return host.ListFilter{States: f.States, Priorities: f.Priorities, Task: f.Task, Group: f.Group,
		Label: f.Label, Search: f.Search, Limit: f.Limit, Before: f.Before}
}

// query is the filter as a query string, without the cursor: the
// "first page" link, and the base of the next page's.
func (f jobFilter) query() url.Values {
	q := url.Values{}
	for _, s := range f.States {
		q.Add("state", string(s))
	}
	for _, p := range f.Priorities {
		q.Add("priority", p.String())
	}
	for k, v := range map[string]string{"task": f.Task, "group": f.Group, "label": f.Label, "q": f.Search} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit != defaultPageSize {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

func (f jobFilter) HasState(s host.State) bool       { return slices.Contains(f.States, s) }
func (f jobFilter) HasPriority(p host.Priority) bool { return slices.Contains(f.Priorities, p) }
func (f jobFilter) Active() bool {
	return len(f.States) > 0 || len(f.Priorities) > 0 || f.Task != "" || f.Group != "" || f.Label != "" || f.Search != ""
}

type jobListData struct {
	Filter jobFilter
	Jobs   []*host.Job
	Next   string // the next page's cursor
	Tasks  []host.TaskInfo
	// Whole URLs, built here: a template would escape a query string put
	// after a "?".
	FirstURL, NextURL, FragmentURL string
}

func (s *Server) loadJobList(r *http.Request) (*jobListData, error) {
	f, err := parseJobFilter(r.URL.Query())
	if err != nil {
		return nil, err
	}
	jobs, next, err := s.h.List(r.Context(), f.host())
	if err != nil {
		return nil, err
	}
	d := &jobListData{Filter: f, Jobs: jobs, Next: next, Tasks: s.h.Tasks()}
	q := f.query()
	d.FirstURL = s.url("/jobs?" + q.Encode())
	if next != "" {
		q.Set("before", next)
		d.NextURL = s.url("/jobs?" + q.Encode())
	}
	q.Del("before")
	if f.Before != "" {
		q.Set("before", f.Before)
	}
	d.FragmentURL = s.url("/fragment/jobs?" + q.Encode())
	return d, nil
}

func (s *Server) jobList(w http.ResponseWriter, r *http.Request) {
	d, err := s.loadJobList(r)
	if err != nil {
		s.hostError(w, r, err)
		return
	}
	v := s.newView(w, r, "Jobs", "jobs", d)
	v.Live = s.url("/events?topic=jobs")
	s.page(w, r, "jobs", v)
}

func (s *Server) jobListFragment(w http.ResponseWriter, r *http.Request) {
	d, err := s.loadJobList(r)
	if err != nil {
		s.hostError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "jobs", "rows", s.newView(w, r, "", "", d))
}

// jobActions lists the actions a job's state allows, in button order.
func jobActions(st host.State) []string {
	switch st {
	case host.StateCreated:
		return []string{"cancel"}
	case host.StateQueued, host.StateWaiting, host.StateRunning:
		return []string{"pause", "cancel"}
	case host.StatePaused:
		return []string{"resume", "cancel"}
	case host.StateFailed, host.StateCanceled:
		return []string{"retry"}
	}
	return nil
}

var bulkNames = map[string]string{"retry": "Retry", "cancel": "Cancel", "pause": "Pause", "resume": "Resume"}

// jobOp returns the host operation named action.
func (s *Server) jobOp(action string) func(context.Context, string) error {
	switch action {
	case "retry":
		return s.h.Retry
	case "cancel":
		return s.h.Cancel
	case "pause":
		return s.h.Pause
	case "resume":
		return s.h.Resume
	}
	return nil
}

func (s *Server) jobAction(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	op := s.jobOp(action)
	if op == nil {
		s.fail(w, r, http.StatusNotFound, "unknown job action "+strconv.Quote(action)+": want retry, cancel, pause or resume")
		return
	}
	if err := op(r.Context(), id); err != nil {
		s.hostError(w, r, err)
		return
	}
	if wantsJSON(r) {
		j, err := s.h.Get(r.Context(), id)
		if err != nil {
			s.hostError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "job": j.ID, "state": j.State})
		return
	}
	http.Redirect(w, r, s.url("/jobs/"+url.PathEscape(id)+"?done="+action), http.StatusSeeOther)
}

// Job page contents.
const logTail = 200

type jobData struct {
	Job        *host.Job
	Group      *host.Group
	Deps       []jobLink
	Dependents []jobLink
	// DependentsScope says where dependents were looked for: "all" jobs,
	// the job's "group" only, or "" (not known: the host does not say).
	DependentsScope string
	Logs            []host.LogRecord
	LogsSkipped     int
}

// jobLink is another job named on a job's page.
type jobLink struct {
	ID     string
	Task   string
	State  host.State
	Policy host.DepPolicy
	Gone   bool // pruned
}

func (s *Server) loadJob(ctx context.Context, id string) (*jobData, error) {
	j, err := s.h.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &jobData{Job: j}
	for _, dep := range j.DependsOn {
		d.Deps = append(d.Deps, s.link(ctx, dep.Job, dep.Policy))
	}
	if j.Group != "" {
		if g, err := s.h.GetGroup(ctx, j.Group); err == nil {
			d.Group = g
		}
	}
	switch {
	case s.src.Dependents != nil:
		deps, err := s.src.Dependents(ctx, id)
		if err != nil {
			return nil, err
		}
		d.DependentsScope = "all"
		for _, dep := range deps {
			d.Dependents = append(d.Dependents, s.link(ctx, dep.Job, dep.Policy))
		}
	case j.Group != "":
		d.DependentsScope = "group"
		members, err := s.members(ctx, j.Group)
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			for _, dep := range m.DependsOn {
				if dep.Job == id {
					d.Dependents = append(d.Dependents, jobLink{ID: m.ID, Task: m.Task, State: m.State, Policy: dep.Policy})
				}
			}
		}
	}
	return d, nil
}

func (s *Server) link(ctx context.Context, id string, p host.DepPolicy) jobLink {
	l := jobLink{ID: id, Policy: p}
	if j, err := s.h.Get(ctx, id); err == nil {
		l.Task, l.State = j.Task, j.State
	} else {
		l.Gone = true
	}
	return l
}

func (s *Server) loadLogs(ctx context.Context, d *jobData) error {
	logs, skipped, err := s.h.LogTail(ctx, d.Job.ID, logTail)
	if err != nil {
		return err
	}
	d.Logs, d.LogsSkipped = logs, skipped
	return nil
}

func (s *Server) jobPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d, err := s.loadJob(r.Context(), id)
	if err == nil {
		err = s.loadLogs(r.Context(), d)
	}
	if err != nil {
		s.hostError(w, r, err)
		return
	}
	v := s.newView(w, r, "Job "+shortID(id), "jobs", d)
	v.Live = s.url("/events?topic=job&job=" + url.QueryEscape(id))
	s.page(w, r, "job", v)
}

func (s *Server) jobFragment(w http.ResponseWriter, r *http.Request) {
	d, err := s.loadJob(r.Context(), r.PathValue("id"))
	if err != nil {
		s.hostError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "job", "panel", s.newView(w, r, "", "", d))
}

func (s *Server) jobLogsFragment(w http.ResponseWriter, r *http.Request) {
	j, err := s.h.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.hostError(w, r, err)
		return
	}
	d := &jobData{Job: j}
	if err := s.loadLogs(r.Context(), d); err != nil {
		s.hostError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "job", "logs", s.newView(w, r, "", "", d))
}

// shortID is how a page names a job in little space: the last 8 hex
// digits. The first ones of a time-ordered (v7) id are its creation
// time, the same for every job submitted in the same millisecond.
func shortID(id string) string {
	if len(id) > 8 {
		return id[len(id)-8:]
	}
	return id
}

// members returns up to maxMembers members of a group, in id order.
func (s *Server) members(ctx context.Context, group string) ([]*host.Job, error) {
	var out []*host.Job
	before := ""
	for len(out) < maxMembers {
		page, next, err := s.h.List(ctx, host.ListFilter{Group: group, Limit: min(host.MaxListLimit, maxMembers-len(out)), Before: before})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			break
		}
		before = next
	}
	slices.Reverse(out) // oldest first: roughly the order they were added
	return out, nil
}

// maxMembers bounds the members a group's page reads.
const maxMembers = 2000
