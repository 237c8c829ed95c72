package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/batchhost/batchhost/host"
)

// maxBulk bounds the jobs one bulk action may touch; a filter that
// matches more is refused before anything changes.
const maxBulk = 100_000

// bulkWorkers run a bulk action's calls side by side, so that they share
// the store's group commits instead of waiting for one fsync each.
const bulkWorkers = 16

type bulkResult struct {
	Action  string `json:"action"`
	OK      int    `json:"ok"`
	Skipped int    `json:"skipped"` // the job's state did not allow the action
	Failed  int    `json:"failed"`
	Error   string `json:"error,omitempty"` // the first failure
}

// bulk applies retry, cancel, pause or resume to the jobs named by id
// fields, or with all=1 to every job the filter fields match.
func (s *Server) bulk(w http.ResponseWriter, r *http.Request) {
	action := r.PostFormValue("action")
	op := s.jobOp(action)
	if op == nil {
		s.fail(w, r, http.StatusBadRequest, "unknown bulk action "+strconv.Quote(action)+": want retry, cancel, pause or resume")
		return
	}
	f, err := parseJobFilter(r.PostForm)
	if err != nil {
		s.hostError(w, r, err)
		return
	}
	var ids []string
	if r.PostFormValue("all") == "1" {
		ids, err = s.matching(r.Context(), f)
		if err != nil {
			s.hostError(w, r, err)
			return
		}
	} else {
		ids = r.PostForm["id"]
		if len(ids) == 0 {
			s.fail(w, r, http.StatusBadRequest, "no jobs selected: tick some, or choose all jobs matching the filter")
			return
		}
		if len(ids) > maxBulk {
			s.fail(w, r, http.StatusBadRequest, "too many jobs selected: at most "+strconv.Itoa(maxBulk))
			return
		}
	}
	res := s.apply(r.Context(), action, op, ids)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, res)
		return
	}
	q := f.query()
	q.Set("done", "bulk")
	q.Set("action", action)
	q.Set("ok", strconv.Itoa(res.OK))
	q.Set("skipped", strconv.Itoa(res.Skipped))
	q.Set("failed", strconv.Itoa(res.Failed))
	http.Redirect(w, r, s.url("/jobs?"+q.Encode()), http.StatusSeeOther)
}

// matching lists every job f matches, all pages, refusing more than
// maxBulk.
func (s *Server) matching(ctx context.Context, f jobFilter) ([]string, error) {
	lf := f.host()
	lf.Limit, lf.Before = host.MaxListLimit, ""
	var ids []string
	for {
		page, next, err := s.h.List(ctx, lf)
		if err != nil {
			return nil, err
		}
		for _, j := range page {
			ids = append(ids, j.ID)
		}
		if len(ids) > maxBulk {
			return nil, badRequest("the filter matches more than " + strconv.Itoa(maxBulk) + " jobs: narrow it; nothing was changed")
		}
		if next == "" {
			return ids, nil
		}
		lf.Before = next
	}
}

func (s *Server) apply(ctx context.Context, action string, op func(context.Context, string) error, ids []string) bulkResult {
	res := bulkResult{Action: action}
	var mu sync.Mutex
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(bulkWorkers, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				err := op(ctx, id)
				mu.Lock()
				switch {
				case err == nil:
					res.OK++
				case errors.Is(err, host.ErrState):
					res.Skipped++
				default:
					res.Failed++
					if res.Error == "" {
						res.Error = err.Error()
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		work <- id
	}
	close(work)
	wg.Wait()
	return res
}
