package postgres

import (
	"context"
)

// The hosts sharing a queue tell one another their events (jobs' states,
// progress and log records, groups' and schedules' events) through NOTIFY
// on the schema's events channel, so that a watcher on any host sees the
// work of all. The feed is as best-effort as a host's own events are:
// PostgreSQL delivers each payload to every listening host in commit
// order, and one whose listening connection was down misses what was sent
// meanwhile (its sink is told).

// MaxEventPayload is the largest payload PublishEvents sends: NOTIFY
// takes at most 8,000 bytes.
const MaxEventPayload = 7900

// EventSink takes the payloads other hosts published, on the listener's
// goroutine: it must not block.
type EventSink interface {
	// Events is one payload, as PublishEvents was given it (this host's
	// own come back too).
	Events(payload string)
	// EventsLost says that the listener was reconnected: payloads sent
	// while it was down are lost.
	EventsLost()
}

// SetEventSink sets where other hosts' event payloads go; before it is
// set they are dropped. Call it before Changed starts the listener.
func (s *Store) SetEventSink(sink EventSink) { s.sink.Store(&sink) }

func (s *Store) eventSink() EventSink {
	if p := s.sink.Load(); p != nil {
		return *p
	}
	return nil
}

// PublishEvents sends payloads (each at most MaxEventPayload bytes) to
// every host listening on the schema, in order, in one statement.
func (s *Store) PublishEvents(ctx context.Context, payloads []string) error {
	if s.closed.Load() {
		return errClosed()
	}
	// unnest yields the payloads in order, and a transaction's
	// notifications are delivered in the order it sent them.
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS u(p)`, s.cfg.eventsChannel(), payloads); err != nil {
		return s.fail(err)
	}
	return nil
}
