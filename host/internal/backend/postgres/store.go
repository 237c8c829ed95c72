package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/batchhost/batchhost/host/internal/backend"
)

// Store is backend.Store on PostgreSQL. Its methods are safe for
// concurrent use; several Stores (hosts) may share one database.
type Store struct {
	cfg     Config
	pool    *pgxpool.Pool
	changed chan struct{}
	closed  atomic.Bool
	// listening starts the listener at the first call of Changed: a
	// store nobody waits on (a CLI's, a test's) holds no connection
	// for it.
	listening sync.Once
	lctx      context.Context
	stop      context.CancelFunc
	wg        sync.WaitGroup // the goroutines of spawn
	spawnMu   sync.Mutex
	commits   commitObservers
	growth    growth                    // when to analyze the jobs table (grew)
	sink      atomic.Pointer[EventSink] // other hosts' events (SetEventSink)
}

var _ backend.Store = (*Store)(nil)

// Open connects to the database cfg names and checks its schema: a
// schema older than this build's is refused (run `batchhost migrate up`,
// or set cfg.Migrate), one newer too.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Migrate {
		if _, err := Migrate(ctx, cfg, MigrateUp); err != nil {
			return nil, err
		}
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: bad database URL: %w", err)
	}
	setParams(pc.ConnConfig.RuntimeParams, cfg)
	pc.MaxConns = int32(cfg.PoolSize)
	pc.MaxConnIdleTime = cfg.IdleTimeout
	pc.HealthCheckPeriod = min(cfg.IdleTimeout/2, time.Minute)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := checkSchema(ctx, pool, cfg); err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{cfg: cfg, pool: pool, changed: make(chan struct{}, 1)}
	s.lctx, s.stop = context.WithCancel(context.Background())
	return s, nil
}

// checkSchema refuses a database whose schema version is not this
// build's, naming the fix.
func checkSchema(ctx context.Context, pool *pgxpool.Pool, cfg Config) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Release()
	v, err := currentVersion(ctx, conn.Conn())
	if err != nil {
		return err
	}
	want := SchemaVersion()
	switch {
	case v == 0:
		return fmt.Errorf("postgres: %w in schema %q: run `batchhost migrate up` first", errNoSchema, cfg.Schema)
	case v < want:
		return fmt.Errorf("postgres: schema version %d is older than this build's %d: run `batchhost migrate up`", v, want)
	case v > want:
		return fmt.Errorf("postgres: schema version %d is newer than this build's %d: upgrade batchhost (or run this build's `batchhost migrate down` from the newer one)", v, want)
	}
	return nil
}

// Changed is signalled after a commit, by this store or by another host
// on the same schema, that made work claimable or asked something of a
// running attempt. The first call starts listening for the other hosts'
// notifications on a connection of its own, and returns when the
// listener is in place (or its first attempt failed: it keeps trying,
// and signals once when it is in place).
func (s *Store) Changed() <-chan struct{} {
	s.listening.Do(func() {
		ready := make(chan error, 1)
		if s.spawn(func() { s.listen(s.lctx, ready) }) {
			<-ready
		}
	})
	return s.changed
}

// spawn runs fn in a goroutine that Close waits for, unless the store is
// closed. The check and the count are one step under spawnMu, which
// Close takes after setting closed: nothing is counted in wg once Close
// waits on it.
func (s *Store) spawn(fn func()) bool {
	s.spawnMu.Lock()
	defer s.spawnMu.Unlock()
	if s.closed.Load() {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
	return true
}

func (s *Store) signal() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// Close stops listening and closes the connections; later calls fail
// with backend.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.spawnMu.Lock() // no spawn is under way: each one after sees closed
	s.spawnMu.Unlock()
	s.stop()
	s.wg.Wait()
	s.pool.Close()
	return nil
}

// errClosed is answered by every call after Close.
func errClosed() error { return storeErr(backend.ErrClosed, "postgres store is closed") }

// Transient server errors that a transaction retried from the start
// gets past: deadlocks between cascades, serialization failures.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// maxRetries bounds the retries of a transaction that keeps deadlocking.
const maxRetries = 20

// write runs fn in one transaction, retried from the start after a
// deadlock, and notifies the other hosts (and this one) when fn asked
// for it.
func (s *Store) write(ctx context.Context, fn func(w *wtx) error) error {
	if s.closed.Load() {
		return errClosed()
	}
	began := time.Now()
	for attempt := 0; ; attempt++ {
		w := &wtx{ctx: ctx, c: &change{}}
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			w.tx = tx
			if err := fn(w); err != nil {
				return err
			}
			if err := w.closeGroups(); err != nil {
				return err
			}
			if w.notify {
				_, err := tx.Exec(ctx, "SELECT pg_notify($1, '')", s.cfg.channel())
				return err
			}
			return nil
		})
		if err != nil && retryable(err) && attempt < maxRetries && ctx.Err() == nil {
			continue
		}
		if err != nil {
			return s.fail(err)
		}
		if w.notify {
			s.signal()
		}
		if len(w.c.jobs) > 0 {
			// Job writes only: heartbeats and leases are not the queue's.
			s.commits.observe(time.Since(began), len(w.c.jobs))
		}
		return nil
	}
}

// read runs fn on a pooled connection.
func (s *Store) read(ctx context.Context, fn func(q querier) error) error {
	if s.closed.Load() {
		return errClosed()
	}
	if err := fn(s.pool); err != nil {
		return s.fail(err)
	}
	return nil
}

// auto runs fn's statements on a pooled connection, each committed on
// its own: for a write of one statement outside the queue's
// transactions (the hosts' registry and the leader lease).
func (s *Store) auto(ctx context.Context, fn func(q querier) error) error {
	return s.read(ctx, fn)
}

// fail maps an error to the port's: a store error as it is, anything
// the server or the connection said as ErrUnavailable (the write was not
// acknowledged, and the database may answer again: it is another
// machine's, restarting or briefly out of reach), ErrClosed after Close.
func (s *Store) fail(err error) error {
	var se *storeError
	var ce *backend.CycleError
	switch {
	case errors.As(err, &se), errors.As(err, &ce), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case s.closed.Load():
		return errClosed()
	case refusedValue(err):
		return invalid("the queue's database refused a value given: %s", oneLineOf(err))
	}
	return fmt.Errorf("%w: %w", backend.ErrUnavailable, err)
}

// refusedValue reports whether the server refused a value as text it
// cannot hold (a NUL byte in an id or filter, \u0000 in JSON): asking
// again will not help, so it is no outage.
func refusedValue(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "22021" || pe.Code == "22P05")
}

// oneLineOf is the server's message without its detail lines.
func oneLineOf(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Message
	}
	return err.Error()
}

// querier is what reads need of a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}
