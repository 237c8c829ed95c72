package host

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"

	"github.com/batchhost/batchhost/host/internal/backend/postgres"
)

// relay carries this host's events to the other hosts sharing its queue,
// and theirs to this host's watchers, so that watch, Subscribe and the
// dashboard show the work of every host, as on the embedded store. It is
// as best-effort as the journal: events are sent in the order they were
// published, batched (what is published while a batch is being sent goes
// in the next), and an event that cannot be sent (the outbox full, the
// database unreachable, an event too large even when cut) is counted and
// reaches the other hosts' watchers as an EventLagged.
type relay struct {
	feed   eventFeed
	origin string // this host's mark on its payloads, which come back to it too
	own    string // how this host's payloads begin, to pass them undecoded
	hub    *hub
	log    hclog.Logger

	mu      sync.Mutex
	out     []Event
	dropped int
	closed  bool
	failing bool // the last send failed: logged once until one succeeds
	wake    chan struct{}
	closing chan struct{} // closed by close: send at once
	done    chan struct{}
}

// eventFeed is what the relay needs of a shared store.
type eventFeed interface {
	PublishEvents(ctx context.Context, payloads []string) error
	SetEventSink(postgres.EventSink)
}

// maxOutbox bounds the events waiting to be sent, as the journal bounds
// those waiting to be read.
const maxOutbox = journalSize

// publishTimeout bounds one send: a database that does not answer costs
// the watchers elsewhere some events, never this host's progress.
const publishTimeout = 5 * time.Second

func newRelay(feed eventFeed, origin string, h *hub, log hclog.Logger) *relay {
	r := &relay{feed: feed, origin: origin, own: `{"o":` + strconv.Quote(origin), hub: h, log: log,
		wake: make(chan struct{}, 1), closing: make(chan struct{}), done: make(chan struct{})}
	feed.SetEventSink(r)
	go r.loop()
	return r
}

// send queues this host's events for the other hosts. It never blocks.
func (r *relay) send(evs []Event) {
	if len(evs) == 0 {
		return
	}
	r.mu.Lock()
	if !r.closed {
		n := min(len(evs), maxOutbox-len(r.out))
		r.out = append(r.out, evs[:n]...)
		r.dropped += len(evs) - n
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// gather is how long the relay lets events gather after the first before
// it sends them: one statement for many events costs the database far less
// than one each, and other hosts' watchers can wait that long.
const gather = 10 * time.Millisecond

// loop sends what is queued until close, then what is left.
func (r *relay) loop() {
	defer close(r.done)
	for {
		<-r.wake
		r.mu.Lock()
		closed := r.closed
		r.mu.Unlock()
		if !closed {
			select {
			case <-time.After(gather):
			case <-r.closing:
			}
		}
		r.mu.Lock()
		evs, dropped, closed := r.out, r.dropped, r.closed
		r.out, r.dropped = nil, 0
		r.mu.Unlock()
		if len(evs) > 0 || dropped > 0 {
			r.flush(evs, dropped)
		}
		if closed {
			return
		}
	}
}

// flush sends evs, and the count of events lost before them, in payloads
// of at most postgres.MaxEventPayload bytes.
func (r *relay) flush(evs []Event, dropped int) {
	payloads, unsent := encodePayloads(r.origin, evs, dropped)
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	err := r.feed.PublishEvents(ctx, payloads)
	cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropped += unsent
	if err != nil {
		r.dropped += len(evs) - unsent
		if !r.failing {
			r.log.Warn("telling the other hosts of this host's events failed; their watchers will hear they lagged", "error", err)
		}
	}
	r.failing = err != nil
}

// close sends what is queued and stops the relay.
func (r *relay) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	close(r.closing)
	select {
	case r.wake <- struct{}{}:
	default:
	}
	<-r.done
}

// payload is what one notification carries: its sender, how many of the
// sender's events were lost before these, and the events.
type payload struct {
	Origin  string  `json:"o"`
	Dropped int     `json:"d,omitempty"`
	Events  []Event `json:"e"`
}

// encodePayloads packs evs into payloads of at most MaxEventPayload
// bytes, the first carrying dropped. An event too large for a payload is
// cut (a log record's message and fields, an error's message and stderr)
// and, if still too large, counted in unsent.
func encodePayloads(origin string, evs []Event, dropped int) (payloads []string, unsent int) {
	const limit = postgres.MaxEventPayload
	room := limit - len(origin) - 48 // what an event may take: the rest is the payload's frame
	var buf []byte
	n := 0
	open := func() {
		buf = append(buf[:0], `{"o":`...)
		buf = strconv.AppendQuote(buf, origin)
		if len(payloads) == 0 && dropped > 0 {
			buf = append(buf, `,"d":`...)
			buf = strconv.AppendInt(buf, int64(dropped), 10)
		}
		buf = append(buf, `,"e":[`...)
		n = 0
	}
	end := func() { payloads = append(payloads, string(append(buf, "]}"...))) }
	open()
	for i := range evs {
		b, err := json.Marshal(&evs[i])
		if err == nil && len(b) > room {
			b, err = json.Marshal(cut(evs[i]))
		}
		if err != nil || len(b) > room {
			unsent++
			continue
		}
		if len(buf)+1+len(b)+2 > limit {
			end()
			open()
		}
		if n > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, b...)
		n++
	}
	if n > 0 || (len(payloads) == 0 && dropped > 0) {
		end()
	}
	return payloads, unsent
}

// cutLen is what cut keeps of a long text.
const cutLen = 1000

// cut is ev with its long texts cut to fit a payload.
func cut(ev Event) Event {
	if ev.Log != nil {
		l := *ev.Log
		l.Message, l.Fields = cutText(l.Message), nil
		ev.Log = &l
	}
	if ev.Error != nil {
		e := *ev.Error
		e.Message, e.Stderr = cutText(e.Message), cutText(e.Stderr)
		ev.Error = &e
	}
	return ev
}

func cutText(s string) string {
	if len(s) <= cutLen {
		return s
	}
	i := cutLen
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// Events takes a payload another host published (postgres.EventSink) and
// publishes its events to this host's watchers, after an EventLagged for
// the events its sender lost. Nothing is decoded while nobody watches.
func (r *relay) Events(p string) {
	if strings.HasPrefix(p, r.own) || !r.hub.watched() {
		return
	}
	var pl payload
	if err := json.Unmarshal([]byte(p), &pl); err != nil || pl.Origin == r.origin {
		return
	}
	for i := range pl.Events {
		pl.Events[i].Remote = true
	}
	if pl.Dropped > 0 {
		r.hub.publish(Event{Type: EventLagged, Time: time.Now(), Dropped: pl.Dropped, Remote: true})
	}
	r.hub.publish(pl.Events...)
}

// EventsLost tells this host's watchers that other hosts' events were
// missed while the listening connection was down (postgres.EventSink).
func (r *relay) EventsLost() {
	r.hub.publish(Event{Type: EventLagged, Time: time.Now(), Remote: true})
}
