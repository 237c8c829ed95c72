package host

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/batchhost/batchhost/host/internal/model"
)

// Config configures a Host. The zero value of every field but DataDir means
// its default; Open works on a copy with the defaults filled in.
type Config struct {
	// DataDir holds the job database and the job logs. Required.
	DataDir string
	// PluginDir is where batchhost-plugin-* executables are found. Defaults
	// to "plugins" beside the running executable.
	PluginDir string
	// PluginDirInsecure loads plugins from a directory, or binaries, that
	// a user other than the host's and root can write. By default they
	// are refused, as ssh's StrictModes refuses such keys: whoever can
	// write a plugin runs code as the host's user. Defaults to false.
	PluginDirInsecure bool
	// MaxWorkers bounds the jobs running at once, host-wide. Defaults to the
	// number of CPUs.
	MaxWorkers int
	// MaxQueueSize bounds the jobs in state queued (waiting jobs do not
	// count); a Submit beyond it fails at once with ErrQueueFull. Defaults
	// to 100000.
	MaxQueueSize int
	// MaxWatchers bounds the event subscriptions open at once (Watch,
	// Subscribe, the control API's watch and followed logs, one per
	// dashboard); one more is refused with ErrTooManyWatchers. Defaults
	// to 1024.
	MaxWatchers int
	// PollInterval is the fallback tick of the dispatcher. Dispatch is woken
	// by events (a submit, a finished job, a due retry); the tick only
	// guards against a missed wake-up. Defaults to 1s.
	PollInterval time.Duration

	// DefaultMaxAttempts applies to jobs that do not set MaxAttempts.
	// Defaults to 3.
	DefaultMaxAttempts int
	// DefaultBackoff applies to jobs that do not set Backoff. Defaults to
	// 1s initial, ×2, 5m max, ±20% jitter.
	DefaultBackoff *Backoff
	// DefaultTimeout applies to jobs that do not set Timeout. Defaults to
	// none.
	DefaultTimeout time.Duration
	// Retention is how long finished jobs are kept before they are pruned.
	// Defaults to 7 days.
	Retention time.Duration

	// KillGrace is how long a cancelled or timed-out attempt may take to
	// return before its plugin's process group is killed. Defaults to 5s.
	KillGrace time.Duration
	// PluginIdleTimeout stops a warm plugin process idle this long.
	// Defaults to 60s.
	PluginIdleTimeout time.Duration
	// PluginStartTimeout bounds a plugin process's launch and handshake.
	// Defaults to 10s.
	PluginStartTimeout time.Duration
	// PluginMemoryLimit caps each plugin process's memory in bytes (Linux;
	// 0 means none). PluginMemoryLimits overrides it per plugin name.
	PluginMemoryLimit  int64
	PluginMemoryLimits map[string]int64
	// PluginEnv is added to every plugin process's environment.
	PluginEnv []string
	// ExecAllow restricts the commands the exec plugin may run (absolute
	// paths or base names). nil allows every command; an empty, non-nil
	// list allows none. Whoever can submit jobs can run allowed commands
	// as the host's user.
	ExecAllow []string

	// Limits caps how many jobs of a task ("docs.ocr") or of a plugin
	// ("exec") run at once, on top of MaxWorkers. A name that matches no
	// loaded task or plugin is reported as a warning at start.
	Limits map[string]int
	// Rates caps how often attempts of a task ("docs.ocr") or of a plugin
	// ("exec", the sum of its tasks) start, with a token bucket per name
	// that starts full: jobs over the rate wait queued (Stats.Throttled
	// lists the names waiting for a token). The buckets are this host's.
	// A name that matches no loaded task or plugin is reported as a
	// warning at start. Defaults to none.
	Rates map[string]Rate
	// Capacity is what this host's running jobs may need in all (see
	// Resources for the rule by which jobs start within it). A zero
	// field defaults: CPU to the number of CPUs, MemoryMB to 80% of the
	// machine's memory. Jobs that declare no needs, and whose task has
	// no default (TaskResources), need nothing and start as before. On a
	// PostgreSQL queue each host has its own.
	Capacity Resources
	// TaskResources is the need of the jobs of a task ("docs.ocr") or of
	// a plugin ("exec") that declare none (JobSpec.Resources nil); the
	// task's entry wins over its plugin's. It is applied when a job is
	// created, and kept with the job. Defaults to none.
	TaskResources map[string]Resources
	// MemoryPressureLimit, when above 0, holds back jobs that need memory
	// while the machine's memory pressure is at or above it: the share
	// of the last 10 seconds in which some task stalled waiting for
	// memory, in percent ("some avg10" of /proc/pressure/memory, Linux
	// 4.20 and later; Open fails where it cannot be read). Jobs that
	// need no memory go on. Defaults to 0, off.
	MemoryPressureLimit float64
	// capacity is Capacity, defaults filled, as the engine counts it.
	capacity model.Resources

	// MaxLogBytes caps each job's log (all its attempts): records past it
	// are dropped and counted in one marker record per attempt, so that a
	// task flooding its log cannot fill the disk the queue lives on.
	// Defaults to 10 MiB; -1 means no cap.
	MaxLogBytes int64
	// MaxLogTotalBytes caps the bytes of all job logs in DataDir. A record
	// that would pass it first removes the logs of finished jobs, least
	// recently written first, down to nine tenths of the cap (the jobs'
	// records stay; their logs read as empty); when no finished job's log
	// is left, records are dropped and counted as past MaxLogBytes, with
	// one marker record per attempt. Defaults to 1 GiB; -1 means no cap.
	MaxLogTotalBytes int64

	// MaxArgsBytes bounds a job's JSON args. Defaults to 1 MiB.
	MaxArgsBytes int
	// MaxResultBytes bounds a job's JSON result; a larger result fails the
	// attempt with kind result_too_large. Defaults to 1 MiB.
	MaxResultBytes int

	// Logger receives the host's own logs. Defaults to a null logger.
	Logger hclog.Logger
	// TracerProvider makes the host's spans: one per Submit, SubmitMany
	// and Create call (batchhost.submit, batchhost.create), and one per
	// attempt (batchhost.attempt), a child of the span that created its
	// job and the parent of the spans its plugin makes from
	// job.Context(). Defaults to otel's global provider, which makes no
	// spans unless the program installed one (otel.SetTracerProvider).
	TracerProvider trace.TracerProvider
	// Clock lets tests control time. Defaults to the real clock.
	Clock Clock
	// Database, when set, keeps the queue in PostgreSQL (a connection
	// string, postgres://user@host:5432/db) instead of the embedded file
	// in DataDir, so that several hosts can share it; DataDir still holds
	// this host's job logs. The database's schema must be at this build's
	// version: Migrate (batchhost migrate up) brings it there.
	Database string
	// DatabaseSchema is the PostgreSQL schema that holds the queue; several
	// queues can share one database in schemas of their own. Defaults to
	// "public".
	DatabaseSchema string
	// DatabasePoolSize bounds the connections to the database. Defaults
	// to 8.
	DatabasePoolSize int
	// DatabaseStatementTimeout bounds each statement on the server.
	// Defaults to 30s.
	DatabaseStatementTimeout time.Duration
	// LeaseTTL is how long a host's registration in a shared queue, and
	// the leader's lease, last without renewal: a host silent for longer
	// is taken for dead, and the leader rescues its attempts (interrupted;
	// they follow their retry policy). Hosts renew every third of it.
	// Defaults to 15s.
	LeaseTTL time.Duration
	// Version is what this host registers in a shared queue as its
	// build, for batchhost hosts. Defaults to "" (unknown).
	Version string

	// NoSync skips fsync on commits. It makes every acknowledged change
	// losable on a power failure; only benchmarks should set it.
	NoSync bool
}

// pluginEnv is the environment added to plugin processes.
func (c *Config) pluginEnv() []string {
	env := slices.Clone(c.PluginEnv)
	if c.ExecAllow != nil {
		env = append(env, "BATCHHOST_EXEC_ALLOW="+strings.Join(c.ExecAllow, ","))
	}
	return env
}

// defaultBackoff is the documented default retry policy.
var defaultBackoff = Backoff{Initial: time.Second, Multiplier: 2, Max: 5 * time.Minute, Jitter: 0.2}

// MaxWorkersLimit is the largest MaxWorkers a host accepts.
const MaxWorkersLimit = 4096

// ConfigError is a Config value Open refuses. Field names the Config field,
// so that a front end can name its own flag for it; it matches ErrInvalid.
type ConfigError struct {
	Field  string // e.g. "MaxWorkers"
	Reason string // e.g. "must not be negative"
	msg    string
}

func (e *ConfigError) Error() string        { return e.msg }
func (e *ConfigError) Is(target error) bool { return target == ErrInvalid }

// Validate reports the first value Open would refuse, without opening
// anything: a front end can check its flags before it makes a socket or a
// data directory.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

// withDefaults returns a copy of c with defaults filled in, or an error that
// names the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.DataDir == "" {
		return c, fmt.Errorf("config: DataDir is required")
	}
	if c.PluginDir == "" {
		exe, err := os.Executable()
		if err != nil {
			return c, fmt.Errorf("config: PluginDir not set and the executable's directory is unknown: %w", err)
		}
		c.PluginDir = filepath.Join(filepath.Dir(exe), "plugins")
	}
	intDefault := func(name string, v *int, def int) error {
		if *v < 0 {
			return &ConfigError{name, "must not be negative", fmt.Sprintf("config: %s must not be negative (got %d)", name, *v)}
		}
		if *v == 0 {
			*v = def
		}
		return nil
	}
	durDefault := func(name string, v *time.Duration, def time.Duration) error {
		if *v < 0 {
			return &ConfigError{name, "must not be negative", fmt.Sprintf("config: %s must not be negative (got %s)", name, *v)}
		}
		if *v == 0 {
			*v = def
		}
		return nil
	}
	for _, err := range []error{
		intDefault("MaxWorkers", &c.MaxWorkers, runtime.NumCPU()),
		intDefault("MaxQueueSize", &c.MaxQueueSize, 100000),
		intDefault("MaxWatchers", &c.MaxWatchers, 1024),
		intDefault("DefaultMaxAttempts", &c.DefaultMaxAttempts, 3),
		intDefault("MaxArgsBytes", &c.MaxArgsBytes, 1<<20),
		intDefault("MaxResultBytes", &c.MaxResultBytes, 1<<20),
		intDefault("DatabasePoolSize", &c.DatabasePoolSize, 8),
		durDefault("PollInterval", &c.PollInterval, time.Second),
		durDefault("DefaultTimeout", &c.DefaultTimeout, 0),
		durDefault("Retention", &c.Retention, 7*24*time.Hour),
		durDefault("KillGrace", &c.KillGrace, 5*time.Second),
		durDefault("PluginIdleTimeout", &c.PluginIdleTimeout, 60*time.Second),
		durDefault("PluginStartTimeout", &c.PluginStartTimeout, 10*time.Second),
		durDefault("DatabaseStatementTimeout", &c.DatabaseStatementTimeout, 30*time.Second),
		durDefault("LeaseTTL", &c.LeaseTTL, 15*time.Second),
	} {
		if err != nil {
			return c, err
		}
	}
	if c.MaxWorkers > MaxWorkersLimit {
		return c, &ConfigError{"MaxWorkers", fmt.Sprintf("at most %d", MaxWorkersLimit), fmt.Sprintf("config: MaxWorkers %d is absurd (at most %d)", c.MaxWorkers, MaxWorkersLimit)}
	}
	if c.PollInterval < time.Millisecond {
		return c, &ConfigError{"PollInterval", "at least 1ms", fmt.Sprintf("config: PollInterval %s is below 1ms", c.PollInterval)}
	}
	if c.DefaultBackoff == nil {
		b := defaultBackoff
		c.DefaultBackoff = &b
	} else {
		b := *c.DefaultBackoff
		if err := b.validate("config: DefaultBackoff"); err != nil {
			return c, err
		}
		c.DefaultBackoff = &b
	}
	switch {
	case c.MaxLogBytes == 0:
		c.MaxLogBytes = 10 << 20
	case c.MaxLogBytes < -1:
		return c, &ConfigError{"MaxLogBytes", "must be -1 (no cap) or more", fmt.Sprintf("config: MaxLogBytes %d: want -1 (no cap) or a size", c.MaxLogBytes)}
	}
	switch {
	case c.MaxLogTotalBytes == 0:
		c.MaxLogTotalBytes = 1 << 30
	case c.MaxLogTotalBytes < -1:
		return c, &ConfigError{"MaxLogTotalBytes", "must be -1 (no cap) or more", fmt.Sprintf("config: MaxLogTotalBytes %d: want -1 (no cap) or a size", c.MaxLogTotalBytes)}
	}
	if c.PluginMemoryLimit < 0 {
		return c, fmt.Errorf("config: PluginMemoryLimit must not be negative")
	}
	for name, v := range c.PluginMemoryLimits {
		if v < 0 {
			return c, fmt.Errorf("config: PluginMemoryLimits[%q] must not be negative", name)
		}
	}
	for name, v := range c.Limits {
		if strings.TrimSpace(name) == "" {
			return c, fmt.Errorf("config: Limits has an empty name")
		}
		if v < 1 {
			return c, fmt.Errorf("config: Limits[%q] must be at least 1 (got %d)", name, v)
		}
	}
	for _, name := range sortedNames(c.Rates) {
		r := c.Rates[name]
		if strings.TrimSpace(name) == "" {
			return c, fmt.Errorf("config: Rates has an empty name")
		}
		if err := r.Check(); err != nil {
			return c, fmt.Errorf("config: Rates[%q]: %v", name, err)
		}
	}
	if err := c.checkResources(); err != nil {
		return c, err
	}
	// The engine keeps the map: a caller's later change must not reach it.
	c.Rates = maps.Clone(c.Rates)
	c.TaskResources = maps.Clone(c.TaskResources)
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	if c.TracerProvider == nil {
		// Global's provider delegates to one the program installs later.
		c.TracerProvider = otel.GetTracerProvider()
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	return c, nil
}
