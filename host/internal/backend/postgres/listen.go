package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// listen holds a connection of its own LISTENing on the schema's
// channels: it signals Changed on each notification of the changes
// channel, so that another host's commit wakes this one, and hands the
// events channel's payloads to the event sink. It reports on ready
// whether the first LISTEN took; after that (or after a first failure) a
// lost connection is redialled, and every notification missed meanwhile
// is covered by one signal after the redial (the engine then looks at the
// store itself) and one EventsLost.
func (s *Store) listen(ctx context.Context, ready chan<- error) {
	first, events := true, s.cfg.eventsChannel()
	for backoff := 100 * time.Millisecond; ctx.Err() == nil; {
		conn, err := connect(ctx, s.cfg)
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.cfg.channel()}.Sanitize()+"; LISTEN "+pgx.Identifier{events}.Sanitize())
		}
		if first {
			first = false
			ready <- err
		} else if err == nil {
			s.signal()
			if sink := s.eventSink(); sink != nil {
				sink.EventsLost()
			}
		}
		if err == nil {
			backoff = 100 * time.Millisecond
			for {
				n, werr := conn.WaitForNotification(ctx)
				if werr != nil {
					err = werr
					break
				}
				if n.Channel != events {
					s.signal()
				} else if sink := s.eventSink(); sink != nil {
					sink.Events(n.Payload)
				}
			}
		}
		if conn != nil {
			conn.Close(context.Background())
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
			backoff = min(2*backoff, 5*time.Second)
		}
	}
}
