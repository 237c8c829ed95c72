package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/batchhost/batchhost/host"
)

const groupPageSize = 50

type groupListData struct {
	Groups []*host.Group
	Before string
	Next   string
}

func (s *Server) loadGroups(r *http.Request) (*groupListData, error) {
	before := strings.TrimSpace(r.URL.Query().Get("before"))
	gs, next, err := s.h.ListGroups(r.Context(), before, groupPageSize)
	if err != nil {
		return nil, err
	}
	return &groupListData{Groups: gs, Before: before, Next: next}, nil
}

func (s *Server) groupList(w http.ResponseWriter, r *http.Request) {
	d, err := s.loadGroups(r)
	if err != nil {
		s.hostError(w, r, err)
		return
	}
	v := s.newView(w, r, "Groups", "groups", d)
	v.Live = s.url("/events?topic=groups")
	s.page(w, r, "groups", v)
}

func (s *Server) groupListFragment(w http.ResponseWriter, r *http.Request) {
	d, err := s.loadGroups(r)
	if err != nil {
		s.hostError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "groups", "rows", s.newView(w, r, "", "", d))
}

type groupData struct {
	Group   *host.Group
	Members []*host.Job
	// Picture is the dependency graph, or "" when the group has more
	// members than maxDraw.
	Picture  template.HTML
	External int
	// Truncated: the group has more members than the page reads.
	Truncated bool
}

func (s *Server) loadGroup(ctx context.Context, id string, picture bool) (*groupData, error) {
	g, err := s.h.GetGroup(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &groupData{Group: g}
	if !picture {
		return d, nil
	}
	d.Members, err = s.members(ctx, id)
	if err != nil {
		return nil, err
	}
	d.Truncated = len(g.Jobs) > len(d.Members)
	if len(d.Members) <= maxDraw {
		dg := layout(d.Members)
		d.Picture, d.External = dg.svg(s.opts.Prefix), dg.External
	}
	return d, nil
}

func (s *Server) groupPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d, err := s.loadGroup(r.Context(), id, true)
	if err != nil {
		s.hostError(w, r, err)
		return
	}
	name := d.Group.Name
	if name == "" {
		name = shortID(id)
	}
	v := s.newView(w, r, "Group "+name, "groups", d)
	v.Live = s.url("/events?topic=group&group=" + url.QueryEscape(id))
	s.page(w, r, "group", v)
}

// groupFragment is the group's summary (counts, progress, outcome); the
// picture and the member rows are updated node by node.
func (s *Server) groupFragment(w http.ResponseWriter, r *http.Request) {
	d, err := s.loadGroup(r.Context(), r.PathValue("id"), false)
	if err != nil {
		s.hostError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "group", "summary", s.newView(w, r, "", "", d))
}

func (s *Server) groupAction(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	var op func(context.Context, string) error
	switch action {
	case "cancel":
		op = s.h.CancelGroup
	case "pause":
		op = s.h.PauseGroup
	case "resume":
		op = s.h.ResumeGroup
	default:
		s.fail(w, r, http.StatusNotFound, "unknown group action "+strconv.Quote(action)+": want cancel, pause or resume")
		return
	}
	if err := op(r.Context(), id); err != nil {
		s.hostError(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "group": id})
		return
	}
	http.Redirect(w, r, s.url("/groups/"+url.PathEscape(id)+"?done="+action), http.StatusSeeOther)
}
