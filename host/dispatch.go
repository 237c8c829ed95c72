package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/joblog"
	"github.com/batchhost/batchhost/host/internal/jsonshape"
	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/retry"
	"github.com/batchhost/batchhost/host/internal/runner"
)

// maxProgressMessage bounds what the engine keeps of a progress message;
// the SDK cuts at the same size, a plugin written against the raw protocol
// may not.
const maxProgressMessage = 4 << 10

// dispatch starts ready jobs while workers are free.
func (e *engine) dispatch() {
	if e.started && !e.stopping && !e.paused && e.failed == nil {
		now := e.clock.Now()
		for e.busy < e.cfg.MaxWorkers {
			it, ok := e.queue.Pop(now, e.blocked)
			if !ok {
				break
			}
			js := e.jobs[it.ID]
			if js == nil || js.job.State != model.Queued {
				e.log.Error("engine bug: queue held a job that is not queued", "job", it.ID)
				continue
			}
			e.start(js)
		}
	}
	e.armTimer()
}

// blocked reports whether task is at its concurrency limit, or its plugin
// is.
func (e *engine) blocked(task string) bool {
	if len(e.cfg.Limits) == 0 {
		return false
	}
	if n, ok := e.cfg.Limits[task]; ok && e.limitUse[task] >= n {
		return true
	}
	p := model.PluginOf(task)
	if n, ok := e.cfg.Limits[p]; ok && e.limitUse[p] >= n {
		return true
	}
	return false
}

func (e *engine) useLimits(task string, delta int) {
	if len(e.cfg.Limits) == 0 {
		return
	}
	if _, ok := e.cfg.Limits[task]; ok {
		e.limitUse[task] += delta
	}
	if p := model.PluginOf(task); p != task {
		if _, ok := e.cfg.Limits[p]; ok {
			e.limitUse[p] += delta
		}
	}
}

// start begins the next attempt of a queued job. The running state is
// written with this round's batch while the attempt already starts: a crash
// before that commit leaves the job queued on disk, and it runs again.
func (e *engine) start(js *jobState) {
	j := js.job
	now := e.clock.Now()
	j.Attempt++
	j.StartedAt = now
	j.RunAt = time.Time{}
	e.setProgress(js, model.Progress{})
	j.Attempts = append(j.Attempts, model.AttemptRecord{Attempt: j.Attempt, StartedAt: now})
	e.setState(js, model.EvDispatch, model.Running)
	e.busy++
	e.useLimits(j.Task, 1)
	ctl := &attemptCtl{}
	js.ctl = ctl
	a := runner.Attempt{
		JobID:        j.ID,
		Attempt:      j.Attempt,
		MaxAttempts:  j.AttemptBase + j.MaxAttempts,
		Task:         j.Task,
		Args:         j.Args,
		Timeout:      j.Timeout,
		StallTimeout: j.StallTimeout,
	}
	go e.runAttempt(ctl, a, j.Group)
}

// runAttempt runs on its own goroutine: it drives one plugin attempt and
// reports its outcome to the engine. Log records go straight to the job's
// log file and to subscribers; progress goes through the engine, which owns
// the job.
func (e *engine) runAttempt(ctl *attemptCtl, a runner.Attempt, group string) {
	w := e.logs.Writer(a.JobID)
	onEvent := func(ev runner.Event) {
		switch ev.Kind {
		case runner.EventProgress:
			select {
			case e.updates <- progressUpdate{id: a.JobID, attempt: a.Attempt, p: Progress{Fraction: ev.Fraction, Message: ev.Message}, at: ev.Time}:
			case <-e.stopped:
			}
		case runner.EventLog:
			rec := joblog.Record{Time: ev.Time, Attempt: a.Attempt, Level: ev.Level, Message: ev.Message, Fields: ev.Fields}
			w.Append(rec)
			lr := LogRecord(rec)
			select {
			case e.updates <- progressUpdate{id: a.JobID, attempt: a.Attempt, log: &lr, at: ev.Time}:
			case <-e.stopped:
			}
		}
	}
	var out runner.Outcome
	run, err := e.plugins.Start(context.Background(), a, onEvent)
	if err != nil {
		now := time.Now()
		kind := errkind.PluginCrashed
		if errors.Is(err, runner.ErrUnknownTask) {
			kind = errkind.UnknownTask
		}
		out = runner.Outcome{Started: now, Finished: now, Err: &runner.AttemptError{Kind: kind, Message: err.Error(), Retryable: kind == errkind.PluginCrashed}}
	} else {
		ctl.attach(run)
		<-run.Done()
		out = run.Outcome()
	}
	if err := w.Close(); err != nil {
		e.log.Warn("job log could not be written", "job", a.JobID, "error", err)
	}
	select {
	case e.results <- attemptResult{id: a.JobID, attempt: a.Attempt, outcome: out}:
	case <-e.stopped:
	}
}

// attemptCtl lets the engine pause, resume and cancel an attempt whose
// plugin run may not have started yet: requests made before the run exists
// are applied when it attaches.
type attemptCtl struct {
	mu       sync.Mutex
	run      *runner.Run
	paused   bool
	canceled error
}

func (c *attemptCtl) attach(r *runner.Run) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.run = r
	if c.canceled != nil {
		r.Cancel(c.canceled)
	} else if c.paused {
		r.Pause()
	}
}

func (c *attemptCtl) pause() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.paused = true
	if c.run != nil && c.canceled == nil {
		c.run.Pause()
	}
}

func (c *attemptCtl) resume() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.paused = false
	if c.run != nil {
		c.run.Resume()
	}
}

// cancel stops the attempt with cause (runner.ErrCanceled or
// runner.ErrInterrupted). A stopped process is continued first so that it
// can see the cancellation and return within the grace period.
func (c *attemptCtl) cancel(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.canceled != nil {
		return
	}
	c.canceled = cause
	if c.run != nil {
		if c.paused {
			c.run.Resume()
		}
		c.run.Cancel(cause)
	}
}

func (e *engine) onProgress(u progressUpdate) {
	js := e.jobs[u.id]
	if js == nil || js.ctl == nil || js.job.Attempt != u.attempt {
		return
	}
	if u.log != nil {
		e.events = append(e.events, Event{Type: EventJobLog, Time: u.at, Job: u.id, Task: js.job.Task, Group: js.job.Group, Attempt: u.attempt, Log: u.log})
		return
	}
	if math.IsNaN(u.p.Fraction) {
		return // a plugin's NaN must not make the job unencodable
	}
	u.p.Fraction = min(max(u.p.Fraction, 0), 1)
	if len(u.p.Message) > maxProgressMessage {
		u.p.Message = strings.ToValidUTF8(u.p.Message[:maxProgressMessage], "")
	}
	e.setProgress(js, model.Progress(u.p))
	if js.job.State == model.Paused {
		// Sent before the process was stopped, read after the pause: the
		// job keeps the value, but no progress event may follow its
		// paused event while its process is stopped. The next report
		// after resume is published as usual.
		return
	}
	p := u.p
	e.events = append(e.events, Event{Type: EventJobProgress, Time: u.at, Job: u.id, Task: js.job.Task, Group: js.job.Group, Attempt: u.attempt, Progress: &p})
}

// onAttemptDone records an attempt's outcome and decides what comes next:
// completed, another attempt after a backoff, failed, or canceled.
func (e *engine) onAttemptDone(r attemptResult) {
	// The attempt's goroutine queued all its progress and log records
	// before its result; take them first, or the select that picked the
	// result could leave the last of them to be dropped as stale.
	for drained := false; !drained; {
		select {
		case u := <-e.updates:
			e.onProgress(u)
		default:
			drained = true
		}
	}
	js := e.jobs[r.id]
	if js == nil || js.ctl == nil || js.job.Attempt != r.attempt {
		e.log.Error("engine bug: outcome for an attempt not running", "job", r.id, "attempt", r.attempt)
		return
	}
	js.ctl = nil
	e.busy--
	e.useLimits(js.job.Task, -1)
	if e.busy == 0 {
		for _, c := range e.idle {
			close(c)
		}
		e.idle = nil
	}
	j := js.job
	now := e.clock.Now()
	rec := &j.Attempts[len(j.Attempts)-1]
	rec.FinishedAt = now
	out := r.outcome

	var jerr *model.JobError
	if out.Err != nil {
		jerr = &model.JobError{Kind: out.Err.Kind, Message: out.Err.Message, Retryable: out.Err.Retryable, Exit: out.Err.Exit, Stderr: out.Err.Stderr}
	} else if len(out.Output) > e.cfg.MaxResultBytes {
		jerr = &model.JobError{Kind: errkind.ResultTooLarge, Message: fmt.Sprintf("result is %d bytes, over the %d byte limit", len(out.Output), e.cfg.MaxResultBytes)}
	} else if len(out.Output) > 0 {
		problem := ""
		if !json.Valid(out.Output) {
			problem = "not valid JSON"
		} else if err := jsonshape.Check(out.Output); err != nil {
			problem = err.Error()
		}
		if problem != "" {
			jerr = &model.JobError{Kind: errkind.TaskError, Message: "plugin returned a result that is " + problem}
		}
	}
	rec.Error = jerr
	var retryAfter time.Duration
	if out.Err != nil {
		retryAfter = out.Err.RetryAfter
	}
	if jerr == nil {
		j.Result = out.Output
	}
	e.settle(js, jerr, retryAfter)
}

// settle applies the decision on a job whose attempt has ended with jerr
// (nil: it succeeded): completed, queued again for another attempt (paused,
// if it was paused while running), failed, or canceled. Dispatch and
// recovery both settle through here, so an attempt ends the same way
// whether the host saw it end or found it interrupted.
func (e *engine) settle(js *jobState, jerr *model.JobError, retryAfter time.Duration) {
	j := js.job
	d := retry.Decide(retry.Ended{
		Err:             jerr,
		RetryAfter:      retryAfter,
		CancelRequested: j.CancelRequested,
		Used:            j.Attempt - j.AttemptBase,
		Max:             j.MaxAttempts,
		Backoff:         j.Backoff,
	}, e.clock.Now(), e.rnd.Float64)
	switch d.Verdict {
	case retry.Complete:
		j.Error = nil
		j.CancelRequested = false
		e.setProgress(js, model.Progress{Fraction: 1, Message: j.Progress.Message})
		e.setState(js, model.EvSucceed, model.Completed)
	case retry.Cancel:
		j.CancelRequested = false
		if j.Error == nil {
			j.Error = jerr
		}
		e.setState(js, model.EvCancel, model.Canceled)
	case retry.Retry:
		j.Error = jerr
		if !d.At.IsZero() {
			j.RunAt = d.At
		}
		if j.State == model.Paused {
			// Paused while running: the next attempt waits for resume.
			j.PausedFrom = model.Queued
			e.setState(js, model.EvRetry, model.Paused)
		} else {
			e.setState(js, model.EvRetry, model.Queued)
		}
	default:
		j.Error = jerr
		e.setState(js, model.EvFail, model.Failed)
	}
}
