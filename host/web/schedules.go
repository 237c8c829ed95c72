package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/batchhost/batchhost/host"
)

type scheduleData struct {
	Schedules []*host.Schedule
}

func (s *Server) loadSchedules(r *http.Request) (*scheduleData, error) {
	scs, err := s.h.ListSchedules(r.Context())
	if err != nil {
		return nil, err
	}
	return &scheduleData{Schedules: scs}, nil
}

func (s *Server) scheduleList(w http.ResponseWriter, r *http.Request) {
	d, err := s.loadSchedules(r)
	if err != nil {
		s.hostError(w, r, err)
		return
	}
	v := s.newView(w, r, "Schedules", "schedules", d)
	v.Live = s.url("/events?topic=schedules")
	s.page(w, r, "schedules", v)
}

func (s *Server) scheduleFragment(w http.ResponseWriter, r *http.Request) {
	d, err := s.loadSchedules(r)
	if err != nil {
		s.hostError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "schedules", "rows", s.newView(w, r, "", "", d))
}

func (s *Server) scheduleAction(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	var err error
	job := ""
	switch action {
	case "pause":
		err = s.h.PauseSchedule(r.Context(), id)
	case "resume":
		err = s.h.ResumeSchedule(r.Context(), id)
	case "trigger":
		job, err = s.h.TriggerSchedule(r.Context(), id)
	default:
		s.fail(w, r, http.StatusNotFound, "unknown schedule action "+strconv.Quote(action)+": want pause, resume or trigger")
		return
	}
	if err != nil {
		s.hostError(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "schedule": id, "job": job})
		return
	}
	if job != "" {
		http.Redirect(w, r, s.url("/jobs/"+url.PathEscape(job)+"?done=trigger"), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, s.url("/schedules?done="+action), http.StatusSeeOther)
}
