package web

import (
	"encoding/json"
	"net/http"
	"time"
)

// heartbeat keeps idle streams open through proxies and notices clients
// that left.
const heartbeat = 15 * time.Second

// events streams a page's live updates as server-sent events: one JSON
// liveMsg per flush, at most one flush per interval, each holding what
// changed since the previous one. The browser's EventSource reconnects by
// itself; the page then re-reads its fragments.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var c *client
	switch q.Get("topic") {
	case "overview":
		c = newClient(topicOverview, "")
	case "jobs":
		c = newClient(topicJobs, "")
	case "groups":
		c = newClient(topicGroups, "")
	case "schedules":
		c = newClient(topicSchedules, "")
	case "job":
		if _, err := s.h.Get(r.Context(), q.Get("job")); err != nil {
			s.hostError(w, r, err)
			return
		}
		c = newClient(topicJob, q.Get("job"))
	case "group":
		if _, err := s.h.GetGroup(r.Context(), q.Get("group")); err != nil {
			s.hostError(w, r, err)
			return
		}
		c = newClient(topicGroup, q.Get("group"))
	default:
		s.fail(w, r, http.StatusBadRequest, "unknown event topic: want overview, jobs, job, groups, group or schedules")
		return
	}
	if err := s.hub.add(c); err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, err.Error())
		return
	}
	defer s.hub.remove(c)

	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{}) // a stream outlives any server write timeout
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte("retry: 2000\n\n")); err != nil || rc.Flush() != nil {
		return
	}

	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	// The overview's chart moves with time even when nothing happens.
	var tick <-chan time.Time
	if c.topic == topicOverview {
		t := time.NewTicker(chartStep)
		defer t.Stop()
		tick = t.C
	}
	last := time.Time{}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		case <-s.subDone:
			return
		case <-beat.C:
			if _, err := w.Write([]byte(": ping\n\n")); err != nil || rc.Flush() != nil {
				return
			}
			continue
		case <-tick:
			c.mu.Lock()
			c.changed = true
			c.mu.Unlock()
		case <-c.wake:
		}
		// Coalesce: let updates gather for the rest of the interval.
		if wait := c.interval() - time.Since(last); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-s.closing:
				t.Stop()
				return
			case <-t.C:
			}
		}
		msg := c.take()
		last = time.Now()
		if msg.empty() {
			continue
		}
		b, err := json.Marshal(msg)
		if err != nil {
			s.opts.Logger.Error("live message", "error", err)
			return
		}
		if _, err := w.Write(append(append([]byte("data: "), b...), '\n', '\n')); err != nil || rc.Flush() != nil {
			return
		}
	}
}
