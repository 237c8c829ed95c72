package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// listen holds a connection of its own LISTENing on the schema's channel
// and signals Changed on each notification, so that another host's
// commit wakes this one. It reports on ready whether the first LISTEN
// took; after that (or after a first failure) a lost connection is
// redialled, and every notification missed meanwhile is covered by one
// signal after the redial: the engine then looks at the store itself.
func (s *Store) listen(ctx context.Context, ready chan<- error) {
	defer s.wg.Done()
	first := true
	for backoff := 100 * time.Millisecond; ctx.Err() == nil; {
		conn, err := connect(ctx, s.cfg)
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.cfg.channel()}.Sanitize())
		}
		if first {
			first = false
			ready <- err
		} else if err == nil {
			s.signal()
		}
		if err == nil {
			backoff = 100 * time.Millisecond
			for {
				if _, err = conn.WaitForNotification(ctx); err != nil {
					break
				}
				s.signal()
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
