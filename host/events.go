package host

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"
)

// EventType names what an Event reports.
type EventType string

// The event types.
const (
	// EventJobState: a job changed state. Sent after the change is durable.
	EventJobState EventType = "job.state"
	// EventJobProgress: a running job reported progress.
	EventJobProgress EventType = "job.progress"
	// EventJobLog: a running job logged a record.
	EventJobLog EventType = "job.log"
	// EventGroup: a group's counts, done flag or outcome changed.
	EventGroup EventType = "group.state"
	// EventSchedule: a schedule fired (Job is the run) or skipped a firing
	// (Skipped says why). Time is the nominal fire time.
	EventSchedule EventType = "schedule.fired"
	// EventLagged: the subscriber did not keep up and Dropped events were
	// lost; re-read what it shows with Get or GetGroup.
	EventLagged EventType = "lagged"
)

// Event is one change, delivered by Subscribe. Events of one job (or one
// group) arrive in the order they happened.
type Event struct {
	Type      EventType  `json:"type"`
	Time      time.Time  `json:"time"`
	Job       string     `json:"job,omitempty"`
	Task      string     `json:"task,omitempty"`
	Group     string     `json:"group,omitempty"`
	State     State      `json:"state,omitempty"`
	PrevState State      `json:"prev_state,omitempty"`
	Attempt   int        `json:"attempt,omitempty"`
	Progress  *Progress  `json:"progress,omitempty"`
	Log       *LogRecord `json:"log,omitempty"`
	Error     *JobError  `json:"error,omitempty"`
	// GroupStatus is set on group events.
	GroupStatus *GroupStatus `json:"group_status,omitempty"`
	// Dropped is the number of events lost, on EventLagged.
	Dropped int `json:"dropped,omitempty"`
	// Schedule and Skipped are set on schedule events.
	Schedule string `json:"schedule,omitempty"`
	Skipped  string `json:"skipped,omitempty"`
}

// GroupStatus is a group's summary carried by group events.
type GroupStatus struct {
	Counts   map[State]int `json:"counts"`
	Progress float64       `json:"progress"`
	Done     bool          `json:"done"`
	Outcome  string        `json:"outcome,omitempty"`
}

// LogRecord is one log record a task wrote.
type LogRecord struct {
	Time    time.Time       `json:"time"`
	Attempt int             `json:"attempt"`
	Level   string          `json:"level"`
	Message string          `json:"message"`
	Fields  json.RawMessage `json:"fields,omitempty"`
}

// EventFilter selects events. Empty fields match everything; a job event
// matches Groups through the job's group.
type EventFilter struct {
	Jobs   []string
	Groups []string
	Types  []EventType
}

func (f *EventFilter) match(e *Event) bool {
	if len(f.Types) > 0 && !slices.Contains(f.Types, e.Type) {
		return false
	}
	if len(f.Jobs) == 0 && len(f.Groups) == 0 {
		return true
	}
	return (e.Job != "" && slices.Contains(f.Jobs, e.Job)) ||
		(e.Group != "" && slices.Contains(f.Groups, e.Group))
}

// subscriberBuffer is how many events a subscriber may fall behind before
// events are dropped (and an EventLagged tells it so). Publishing never
// blocks: a slow UI must not stall the engine.
const subscriberBuffer = 8192

type subscriber struct {
	filter  EventFilter
	ch      chan Event
	dropped int
}

// hub fans events out to subscribers.
type hub struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

// subscribe registers a subscriber until ctx ends or the hub closes; the
// channel is closed then.
func (h *hub) subscribe(ctx context.Context, f EventFilter) <-chan Event {
	s := &subscriber{filter: f, ch: make(chan Event, subscriberBuffer)}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		close(s.ch)
		return s.ch
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	context.AfterFunc(ctx, func() { h.unsubscribe(s) })
	return s.ch
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

// publish delivers events in order without blocking. It takes the write
// lock: publishers run on several goroutines and update drop counts.
func (h *hub) publish(events ...Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		for i := range events {
			e := &events[i]
			if !s.filter.match(e) {
				continue
			}
			if s.dropped > 0 {
				select {
				case s.ch <- Event{Type: EventLagged, Time: e.Time, Dropped: s.dropped}:
					s.dropped = 0
				default:
					s.dropped++
					continue
				}
			}
			select {
			case s.ch <- *e:
			default:
				s.dropped++
			}
		}
	}
}

// close ends every subscription.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.ch)
	}
}
