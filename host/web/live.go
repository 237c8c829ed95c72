package web

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/batchhost/batchhost/host"
)

// Bounds of what one live page may have pending between two flushes. A
// client that falls behind them is told to resync (re-read its fragments)
// instead of the server holding more: memory stays flat however long a
// page stays open and however busy the host is.
const (
	maxPendingJobs  = 500                    // state and progress updates, one per job
	maxPendingLogs  = 200                    // log records
	flushInterval   = 250 * time.Millisecond // pages that show progress
	summaryInterval = time.Second            // pages that re-read a summary
)

// topic is what a live page watches.
type topic int

const (
	topicOverview topic = iota
	topicJobs
	topicJob
	topicGroup
	topicGroups
	topicSchedules
)

// liveMsg is one flush to a page: everything that happened since the
// previous one, coalesced.
type liveMsg struct {
	States    []stateMsg    `json:"states,omitempty"`
	Progress  []progressMsg `json:"progress,omitempty"`
	Logs      []logMsg      `json:"logs,omitempty"`
	LogsLost  int           `json:"logs_lost,omitempty"`
	Submitted int           `json:"submitted,omitempty"`
	// Changed asks the page to re-read its live fragments.
	Changed bool `json:"changed,omitempty"`
	// Resync: updates were dropped; re-read everything live.
	Resync bool `json:"resync,omitempty"`
}

func (m *liveMsg) empty() bool {
	return len(m.States) == 0 && len(m.Progress) == 0 && len(m.Logs) == 0 &&
		m.LogsLost == 0 && m.Submitted == 0 && !m.Changed && !m.Resync
}

type stateMsg struct {
	Job   string     `json:"job"`
	State host.State `json:"state"`
}

type progressMsg struct {
	Job      string  `json:"job"`
	Fraction float64 `json:"fraction"`
	Message  string  `json:"message,omitempty"`
}

type logMsg struct {
	Time    string `json:"time"`
	Attempt int    `json:"attempt"`
	Level   string `json:"level"`
	Message string `json:"message"`
	Fields  string `json:"fields,omitempty"`
}

// client is one open live page.
type client struct {
	topic topic
	id    string        // the job or group of topicJob and topicGroup
	wake  chan struct{} // capacity 1: "something is pending"

	mu        sync.Mutex
	states    map[string]host.State
	progress  map[string]progressMsg
	logs      []logMsg
	logsLost  int
	submitted int
	changed   bool
	resync    bool
}

// interval is the least time between two flushes to the page.
func (c *client) interval() time.Duration {
	switch c.topic {
	case topicJob, topicGroup, topicJobs:
		return flushInterval
	}
	return summaryInterval
}

func newClient(t topic, id string) *client {
	return &client{topic: t, id: id, wake: make(chan struct{}, 1),
		states: map[string]host.State{}, progress: map[string]progressMsg{}}
}

// offer records ev if the page watches it. It never blocks.
func (c *client) offer(ev *host.Event) {
	c.mu.Lock()
	if !c.record(ev) {
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// record applies ev to the pending message; it reports whether ev
// mattered. c.mu is held.
func (c *client) record(ev *host.Event) bool {
	if ev.Type == host.EventLagged {
		c.resync = true
		return true
	}
	switch c.topic {
	case topicOverview:
		switch ev.Type {
		case host.EventJobState, host.EventGroup, host.EventSchedule:
			c.changed = true
			return true
		}
	case topicJobs:
		if ev.Type == host.EventJobState {
			if ev.PrevState == host.StateCreated && (ev.State == host.StateQueued || ev.State == host.StateWaiting) {
				c.submitted++
			}
			c.setState(ev.Job, ev.State)
			return true
		}
	case topicGroups:
		if ev.Type == host.EventGroup {
			c.changed = true
			return true
		}
	case topicSchedules:
		if ev.Type == host.EventSchedule || ev.Type == host.EventJobState {
			// Any state change may be a schedule's last run: re-read
			// the (small) table.
			c.changed = true
			return true
		}
	case topicJob:
		if ev.Job != c.id {
			return false
		}
		switch ev.Type {
		case host.EventJobState:
			c.setState(ev.Job, ev.State)
			c.changed = true
			if ev.State == host.StateCompleted || ev.State == host.StateFailed || ev.State == host.StateCanceled {
				// The attempt's log is complete now: re-read its tail,
				// which streamed records may have outrun.
				c.resync = true
			}
			return true
		case host.EventJobProgress:
			c.setProgress(ev)
			return true
		case host.EventJobLog:
			if len(c.logs) >= maxPendingLogs {
				c.logs = c.logs[1:]
				c.logsLost++
			}
			c.logs = append(c.logs, logMsg{Time: ev.Log.Time.Format(timeLayout), Attempt: ev.Log.Attempt,
				Level: ev.Log.Level, Message: ev.Log.Message, Fields: string(ev.Log.Fields)})
			return true
		}
	case topicGroup:
		if ev.Group != c.id {
			return false
		}
		switch ev.Type {
		case host.EventJobState:
			c.setState(ev.Job, ev.State)
			return true
		case host.EventJobProgress:
			c.setProgress(ev)
			return true
		case host.EventGroup:
			c.changed = true
			return true
		}
	}
	return false
}

func (c *client) setState(job string, st host.State) {
	if _, ok := c.states[job]; !ok && len(c.states) >= maxPendingJobs {
		clear(c.states)
		c.resync = true
		return
	}
	c.states[job] = st
}

func (c *client) setProgress(ev *host.Event) {
	if ev.Progress == nil {
		return
	}
	if _, ok := c.progress[ev.Job]; !ok && len(c.progress) >= maxPendingJobs {
		clear(c.progress)
		c.resync = true
		return
	}
	c.progress[ev.Job] = progressMsg{Job: ev.Job, Fraction: ev.Progress.Fraction, Message: ev.Progress.Message}
}

// take empties the pending message and returns it.
func (c *client) take() liveMsg {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := liveMsg{LogsLost: c.logsLost, Submitted: c.submitted, Changed: c.changed, Resync: c.resync}
	for job, st := range c.states {
		m.States = append(m.States, stateMsg{Job: job, State: st})
	}
	for _, p := range c.progress {
		m.Progress = append(m.Progress, p)
	}
	m.Logs, c.logs = c.logs, nil
	clear(c.states)
	clear(c.progress)
	c.logsLost, c.submitted, c.changed, c.resync = 0, 0, false, false
	return m
}

// pendingSize reports how much c holds, for tests of its bounds.
func (c *client) pendingSize() (jobs, logs int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.states) + len(c.progress), len(c.logs)
}

// hub fans the host's events out to the open live pages. It holds one
// host subscription for all of them, so a page costs a client struct, not
// a subscription buffer.
type hub struct {
	max     int // open pages at most
	mu      sync.Mutex
	clients map[*client]struct{}
	closed  bool
	changed chan struct{} // closed and replaced when a page leaves, for tests
}

func newHub(max int) *hub {
	return &hub{max: max, clients: map[*client]struct{}{}, changed: make(chan struct{})}
}

// countChanged is closed when the next page leaves.
func (h *hub) countChanged() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changed
}

// Why add refuses a page.
var (
	errHubClosed = errors.New("the dashboard is shutting down")
	errHubFull   = errors.New("too many live pages are open")
)

// add registers c, unless the hub is closed or full.
func (h *hub) add(c *client) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return errHubClosed
	case len(h.clients) >= h.max:
		return fmt.Errorf("%w (at most %d); close some pages and reload", errHubFull, h.max)
	}
	h.clients[c] = struct{}{}
	return nil
}

func (h *hub) remove(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
	close(h.changed)
	h.changed = make(chan struct{})
}

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

func (h *hub) dispatch(ev *host.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		c.offer(ev)
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
}
