package postgres

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// Config says which database to use and how.
type Config struct {
	// URL is the connection string (postgres://user@host:port/db?...).
	// Required.
	URL string
	// Schema holds batchhost's tables; several queues may share a
	// database in schemas of their own. Defaults to "public".
	Schema string
	// Owner names this host in the server's view of its connections
	// (application_name). Defaults to "batchhost".
	Owner string
	// PoolSize is the most connections the store opens, besides the one
	// that listens for notifications. Defaults to 8.
	PoolSize int
	// IdleTimeout closes a pooled connection unused this long. Defaults
	// to 5m.
	IdleTimeout time.Duration
	// StatementTimeout bounds each statement on the server. Defaults to
	// 30s.
	StatementTimeout time.Duration
	// Migrate applies pending migrations at Open instead of refusing an
	// older schema.
	Migrate bool
}

func (c Config) withDefaults() (Config, error) {
	if c.URL == "" {
		return c, errors.New("postgres: no database URL (set the connection string, e.g. postgres://user@host:5432/db)")
	}
	if c.Schema == "" {
		c.Schema = "public"
	}
	if c.Owner == "" {
		c.Owner = "batchhost"
	}
	if c.PoolSize <= 0 {
		c.PoolSize = 8
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 5 * time.Minute
	}
	if c.StatementTimeout <= 0 {
		c.StatementTimeout = 30 * time.Second
	}
	return c, nil
}

// channel is the notification channel of a schema's queue; a schema
// name too long for a channel name (63 bytes) is hashed into it.
func (c Config) channel() string { return c.channelNamed("batchhost_changed_") }

// eventsChannel carries the hosts' events to one another (see
// PublishEvents), apart from channel so that an event wakes no engine.
func (c Config) eventsChannel() string { return c.channelNamed("batchhost_events_") }

// channelNamed is prefix and the schema, hashed where the whole would
// pass PostgreSQL's 63-byte limit on names.
func (c Config) channelNamed(prefix string) string {
	ch := prefix + c.Schema
	if len(ch) > 63 {
		sum := sha256.Sum256([]byte(c.Schema))
		ch = prefix + hex.EncodeToString(sum[:16])
	}
	return ch
}
