package host

import (
	"context"
	"encoding/json"
	"fmt"
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
	// lost, or, on a shared queue, events of other hosts were lost on the
	// way (Dropped of them; 0 when the number is unknown: this host's
	// listening connection to the database was down); re-read what it
	// shows with Get or GetGroup.
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
	// Dropped is the number of events lost, on EventLagged (0: unknown).
	Dropped int `json:"dropped,omitempty"`
	// Remote says the event happened on another host sharing the queue
	// (on EventLagged: the events lost were other hosts'). A host's
	// metrics count its own events only.
	Remote bool `json:"remote,omitempty"`
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
	if e.Type == EventLagged {
		return true // another host's events were lost: they may have been any watcher's
	}
	if len(f.Jobs) == 0 && len(f.Groups) == 0 {
		return true
	}
	return (e.Job != "" && slices.Contains(f.Jobs, e.Job)) ||
		(e.Group != "" && slices.Contains(f.Groups, e.Group))
}

// journalSize is how many recent events the hub keeps for its watchers to
// read at their own pace, whatever their number: a watcher that falls
// further behind loses the oldest and is told so by an EventLagged. About
// 250 bytes each, shared by all watchers.
const journalSize = 8192

// hub fans events out to watchers through one shared journal, so that
// neither memory nor the publisher's work grows with the watchers:
//   - the journal is a ring of the last journalSize events; every watcher
//     reads it from a cursor of its own, so a slow one costs nothing;
//   - watchers of all events (perhaps of some types) are woken together by
//     closing one channel: O(1) for the publisher;
//   - watchers of given jobs or groups are indexed by them: the publisher
//     touches only those an event is about, and they only read the
//     journal when something of theirs is in it.
//
// publish runs on the store's writer (after a commit), never under the
// engine: a slow watcher cannot stall either.
type hub struct {
	max int // watchers at most; 0 means no limit

	mu       sync.Mutex
	ring     []Event // grows to journalSize, then wraps: event seq is at ring[seq%journalSize]
	next     uint64  // seq of the next event; those in [next-len(ring), next) are held
	notify   chan struct{}
	byJob    map[string]map[*watcher]struct{}
	byGroup  map[string]map[*watcher]struct{}
	watchers int
	closed   bool
	done     chan struct{} // closed with the hub
}

func newHub(max int) *hub {
	return &hub{max: max, notify: make(chan struct{}), done: make(chan struct{}),
		byJob: map[string]map[*watcher]struct{}{}, byGroup: map[string]map[*watcher]struct{}{}}
}

// watcher is one reader of the journal.
type watcher struct {
	h      *hub
	filter EventFilter
	keyed  bool          // filter names jobs or groups: indexed, woken only for those
	done   chan struct{} // closed by stop

	// Under h.mu.
	cursor  uint64        // the next seq to read
	pending int           // keyed: matching events published and not yet read
	first   uint64        // keyed: seq of the first of those
	mark    uint64        // keyed: seq+1 of the last event counted, so one counted twice is not
	wake    chan struct{} // keyed: capacity 1, "pending > 0"
	stopped bool
}

// watch registers a watcher that sees every event published from now on.
func (h *hub) watch(f EventFilter) (*watcher, error) {
	w := &watcher{h: h, filter: f, keyed: len(f.Jobs) > 0 || len(f.Groups) > 0, done: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if h.max > 0 && h.watchers >= h.max {
		return nil, &kindError{ErrTooManyWatchers, fmt.Sprintf("too many watchers: the host serves at most %d at once (MaxWatchers); close some or raise the limit", h.max)}
	}
	h.watchers++
	w.cursor = h.next
	if w.keyed {
		w.wake = make(chan struct{}, 1)
		for _, id := range f.Jobs {
			index(h.byJob, id, w)
		}
		for _, id := range f.Groups {
			index(h.byGroup, id, w)
		}
	}
	return w, nil
}

func index(m map[string]map[*watcher]struct{}, key string, w *watcher) {
	if m[key] == nil {
		m[key] = map[*watcher]struct{}{}
	}
	m[key][w] = struct{}{}
}

func unindex(m map[string]map[*watcher]struct{}, key string, w *watcher) {
	delete(m[key], w)
	if len(m[key]) == 0 {
		delete(m, key)
	}
}

// stop unregisters w; its next ends with ErrClosed. Stopping twice is
// harmless.
func (w *watcher) stop() {
	h := w.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if w.stopped {
		return
	}
	w.stopped = true
	h.watchers--
	for _, id := range w.filter.Jobs {
		unindex(h.byJob, id, w)
	}
	for _, id := range w.filter.Groups {
		unindex(h.byGroup, id, w)
	}
	close(w.done)
}

// next returns the next event for w, an EventLagged first if some were
// lost, waiting for one until ctx ends, w is stopped, or the hub closes
// (ErrClosed, once w has read what it still holds).
func (w *watcher) next(ctx context.Context) (Event, error) {
	h := w.h
	for {
		h.mu.Lock()
		if w.stopped {
			h.mu.Unlock()
			return Event{}, ErrClosed
		}
		if ev, ok := w.read(); ok {
			h.mu.Unlock()
			return ev, nil
		}
		closed := h.closed
		notify := h.notify
		h.mu.Unlock()
		if closed {
			return Event{}, ErrClosed
		}
		if w.keyed {
			notify = w.wake
		}
		select {
		case <-notify:
		case <-w.done:
		case <-h.done:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// read takes the next event of w from the journal, if there is one. h.mu
// is held.
func (w *watcher) read() (Event, bool) {
	h := w.h
	oldest := h.next - uint64(len(h.ring))
	if w.keyed {
		if w.pending == 0 {
			w.cursor = h.next
			return Event{}, false
		}
		w.cursor = max(w.cursor, w.first)
	}
	if w.cursor < oldest {
		lost := int(oldest - w.cursor)
		if w.keyed {
			held := 0
			for seq := oldest; seq < h.next; seq++ {
				if w.filter.match(&h.ring[seq%journalSize]) {
					held++
				}
			}
			lost = w.pending - held
			w.pending = held
		}
		w.cursor = oldest
		w.first = oldest
		if lost > 0 {
			return Event{Type: EventLagged, Time: time.Now(), Dropped: lost}, true
		}
	}
	for ; w.cursor < h.next; w.cursor++ {
		e := &h.ring[w.cursor%journalSize]
		if w.filter.match(e) {
			w.cursor++
			if w.keyed {
				w.pending--
			}
			return *e, true
		}
	}
	if w.keyed {
		w.pending = 0
	}
	return Event{}, false
}

// publish appends events to the journal in order and wakes the watchers
// they concern. It never blocks on a watcher.
func (h *hub) publish(events ...Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	if h.ring == nil {
		h.ring = make([]Event, 0, journalSize)
	}
	for i := range events {
		e := &events[i]
		seq := h.next
		if len(h.ring) < journalSize {
			h.ring = append(h.ring, *e)
		} else {
			h.ring[seq%journalSize] = *e
		}
		h.next++
		if e.Job != "" {
			h.touch(h.byJob[e.Job], e, seq)
		}
		if e.Group != "" {
			h.touch(h.byGroup[e.Group], e, seq)
		}
		if e.Type == EventLagged {
			for _, ws := range h.byJob {
				h.touch(ws, e, seq)
			}
			for _, ws := range h.byGroup {
				h.touch(ws, e, seq)
			}
		}
	}
	if len(events) > 0 {
		close(h.notify)
		h.notify = make(chan struct{})
	}
}

// touch counts e, at seq, for the indexed watchers that want it.
func (h *hub) touch(ws map[*watcher]struct{}, e *Event, seq uint64) {
	for w := range ws {
		if w.mark == seq+1 || !w.filter.match(e) {
			continue
		}
		w.mark = seq + 1
		if w.pending == 0 {
			w.first = seq
		}
		w.pending++
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// watched reports whether some watcher is open: other hosts' events are
// decoded only then.
func (h *hub) watched() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.watchers > 0
}

// close ends every watch once its reader has taken what the journal holds
// for it.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}
