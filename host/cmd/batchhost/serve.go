package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
	"github.com/batchhost/batchhost/host/web"
)

// serveEnv maps each serve flag to the environment variable it falls
// back to.
var serveEnv = map[string]string{
	"plugin-dir":            "BATCHHOST_PLUGIN_DIR",
	"plugin-dir-insecure":   "BATCHHOST_PLUGIN_DIR_INSECURE",
	"max-workers":           "BATCHHOST_MAX_WORKERS",
	"max-queue-size":        "BATCHHOST_MAX_QUEUE_SIZE",
	"max-watchers":          "BATCHHOST_MAX_WATCHERS",
	"poll-interval":         "BATCHHOST_POLL_INTERVAL",
	"drain-timeout":         "BATCHHOST_DRAIN_TIMEOUT",
	"retention":             "BATCHHOST_RETENTION",
	"default-timeout":       "BATCHHOST_DEFAULT_TIMEOUT",
	"default-max-attempts":  "BATCHHOST_DEFAULT_MAX_ATTEMPTS",
	"kill-grace":            "BATCHHOST_KILL_GRACE",
	"plugin-idle-timeout":   "BATCHHOST_PLUGIN_IDLE_TIMEOUT",
	"plugin-memory-limit":   "BATCHHOST_PLUGIN_MEMORY_LIMIT",
	"max-log-bytes":         "BATCHHOST_MAX_LOG_BYTES",
	"max-log-total":         "BATCHHOST_MAX_LOG_TOTAL",
	"limit":                 "BATCHHOST_LIMITS",
	"rate":                  "BATCHHOST_RATES",
	"capacity":              "BATCHHOST_CAPACITY",
	"resources":             "BATCHHOST_RESOURCES",
	"memory-pressure-limit": "BATCHHOST_MEMORY_PRESSURE_LIMIT",
	"log-level":             "BATCHHOST_LOG_LEVEL",
	"database":              databaseEnv,
	"database-schema":       "BATCHHOST_DATABASE_SCHEMA",
	"lease-ttl":             "BATCHHOST_LEASE_TTL",
}

// databaseEnv names the PostgreSQL queue's connection string, for serve
// and migrate.
const databaseEnv = "BATCHHOST_DATABASE_URL"

func (c *cli) serveCmd() *cobra.Command {
	var (
		cfg       host.Config
		drain     time.Duration
		memLimit  sizeValue
		logLimit  sizeValue
		logTotal  sizeValue
		limits    limitsValue
		rates     ratesValue
		capacity  capacityValue
		needs     taskResourcesValue
		logLevel  string
		execAllow string
		allowEnv  string
		httpf     httpFlags
	)
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Run the host in the foreground",
		Long: `Run the host in the foreground: dispatch jobs to the plugins and serve the
control socket the other commands use. Logs go to stderr. SIGINT or SIGTERM
stops gracefully: no new job starts, running jobs get --drain-timeout to
finish, then they are interrupted and run again after the next start (a
second signal cuts the drain short). SIGHUP reloads the plugins from the
plugin dir, as "batchhost plugins reload" does.

With --http it also serves the web dashboard, Prometheus /metrics and
/healthz, /readyz: on a loopback address as is, on any other address only
with --http-token or --http-token-file, which every request must then carry.

Every flag falls back to an environment variable (BATCHHOST_MAX_WORKERS for
--max-workers, BATCHHOST_LIMITS=a.b=2,c=4 for --limit, BATCHHOST_RATES=a.b=10/s
for --rate, BATCHHOST_HTTP for
--http, BATCHHOST_DATABASE_URL for --database, ...): flags override the
environment, which overrides the defaults.

With --database the queue lives in PostgreSQL and several hosts (each with
a data dir of its own) share it: each runs the tasks its plugins offer,
and the leader among them rescues the running jobs of a host that stopped
answering for --lease-ttl. Run "batchhost migrate up" first.

Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT (or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) names an OTLP gRPC collector, e.g.
http://127.0.0.1:4317: then a span per submit and per attempt goes there,
under OTEL_SERVICE_NAME (default batchhost); OTEL_TRACES_EXPORTER=none
turns it off again. The spans left are flushed at exit.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			given := map[string]bool{}
			cmd.Flags().Visit(func(f *pflag.Flag) { given[f.Name] = true })
			if err := c.applyEnv(cmd.Flags(), serveEnv); err != nil {
				return err
			}
			if err := c.applyEnv(cmd.Flags(), httpEnv); err != nil {
				return err
			}
			webOpts, err := httpf.options()
			if err != nil {
				return err
			}
			level := hclog.LevelFromString(logLevel)
			if level == hclog.NoLevel {
				return usageErrorf("invalid --log-level %q: want trace, debug, info, warn or error", logLevel)
			}
			if drain < 0 {
				return usageErrorf("invalid --drain-timeout %s: must not be negative", drain)
			}
			log := hclog.New(&hclog.LoggerOptions{Name: "batchhost", Level: level, Output: c.stderr})
			cfg.DataDir = c.dataDir
			if cfg.PluginDir == "" {
				cfg.PluginDir = defaultPluginDir()
			}
			cfg.PluginMemoryLimit = memLimit.n
			cfg.MaxLogBytes = logLimit.n
			cfg.MaxLogTotalBytes = logTotal.n
			cfg.Limits = limits.m
			cfg.Rates = rates.m
			cfg.Capacity = capacity.r
			cfg.TaskResources = needs.m
			if cmd.Flags().Changed("exec-allow") {
				cfg.ExecAllow = []string{} // given, even empty: only these
				for _, a := range strings.Split(execAllow, ",") {
					if a = strings.TrimSpace(a); a != "" {
						cfg.ExecAllow = append(cfg.ExecAllow, a)
					}
				}
			}
			if cmd.Flags().Changed("exec-allow-env") {
				cfg.PluginEnv = append(cfg.PluginEnv, "BATCHHOST_EXEC_ALLOW_ENV="+allowEnv)
			}
			cfg.Logger = log
			cfg.Version = buildVersion()
			if err := c.checkConfig(cmd.Flags(), cfg, given); err != nil {
				return err
			}
			tr, err := c.otlpTracing(cmd.Context())
			if err != nil {
				return err
			}
			if tr != nil {
				cfg.TracerProvider = tr.tp
				log.Info("tracing", "exporter", "otlp", "endpoint", tr.endpoint)
				defer func() {
					if err := tr.shutdown(); err != nil {
						log.Warn("tracing: spans left at exit were not exported", "error", err)
					}
				}()
			}
			return c.serve(cmd.Context(), cfg, drain, log, httpf.addr, webOpts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.PluginDir, "plugin-dir", "", "where the batchhost-plugin-* executables are (default: plugins/ beside batchhost)")
	cmd.MarkFlagDirname("plugin-dir")
	fl.BoolVar(&cfg.PluginDirInsecure, "plugin-dir-insecure", false, "load plugins even from a directory, or binaries, that users other than the daemon's and root can write (refused by default: they could run code as the daemon's user)")
	fl.IntVar(&cfg.MaxWorkers, "max-workers", 0, "jobs running at once, host-wide (default: the number of CPUs)")
	fl.IntVar(&cfg.MaxQueueSize, "max-queue-size", 0, "queued jobs before Submit is refused (default 100000)")
	fl.IntVar(&cfg.MaxWatchers, "max-watchers", 0, "event watches open at once (watch, logs --follow, dashboards) before one more is refused (default 1024)")
	fl.DurationVar(&cfg.PollInterval, "poll-interval", 0, "fallback dispatch tick; dispatch is event-driven (default 1s)")
	fl.DurationVar(&drain, "drain-timeout", 30*time.Second, "on SIGINT/SIGTERM, how long running jobs may finish before they are interrupted")
	fl.DurationVar(&cfg.Retention, "retention", 0, "keep finished jobs this long (default 168h)")
	fl.DurationVar(&cfg.DefaultTimeout, "default-timeout", 0, "attempt timeout of jobs that set none (default none)")
	fl.IntVar(&cfg.DefaultMaxAttempts, "default-max-attempts", 0, "attempt budget of jobs that set none (default 3)")
	fl.DurationVar(&cfg.KillGrace, "kill-grace", 0, "how long a cancelled attempt may take before its plugin is killed (default 5s)")
	fl.DurationVar(&cfg.PluginIdleTimeout, "plugin-idle-timeout", 0, "stop a plugin process idle this long (default 1m)")
	fl.Var(&memLimit, "plugin-memory-limit", "memory cap of each plugin process, e.g. 512M (default none)")
	fl.Var(&logLimit, "max-log-bytes", "cap of each job's log, e.g. 50M; records past it are dropped and counted (default 10M)")
	fl.Var(&logTotal, "max-log-total", "cap of all job logs in the data dir, e.g. 5G; past it the logs of the least recently written finished jobs are removed, then records are dropped and counted (default 1G)")
	fl.Var(&limits, "limit", "at most N jobs of a task or plugin at once, e.g. docs.ocr=2 (repeatable)")
	fl.Var(&rates, "rate", "at most COUNT/UNIT[:BURST] attempts of a task or plugin start, e.g. docs.ocr=10/s or exec=600/m:20 (repeatable or comma-separated)")
	fl.Var(&capacity, "capacity", "what the running jobs may need in all, e.g. cpu=4,memory_mb=8000: a job starts only while the needs of those running leave room for its own (default: the number of CPUs and 80% of the memory; with --database, each host's own)")
	fl.Var(&needs, "resources", "the need of the jobs of a task or plugin that declare none, e.g. docs.ocr=cpu=1,memory_mb=500 (repeatable, or ;-separated)")
	fl.Float64Var(&cfg.MemoryPressureLimit, "memory-pressure-limit", 0, "hold back jobs that need memory while the memory pressure (some avg10 of /proc/pressure/memory, percent) is at or above this (default 0: off)")
	fl.StringVar(&logLevel, "log-level", "info", "trace, debug, info, warn or error")
	fl.StringVar(&cfg.Database, "database", "", "keep the queue in PostgreSQL, shared with the other hosts given the same URL (postgres://user@host:5432/db); the data dir then holds this host's job logs (default: the embedded file in the data dir)")
	fl.StringVar(&cfg.DatabaseSchema, "database-schema", "", "PostgreSQL schema of the queue, for several queues in one database (default public)")
	fl.DurationVar(&cfg.LeaseTTL, "lease-ttl", 0, "with --database: a host silent this long is taken for dead and its running jobs are rescued (default 15s)")
	httpf.register(fl)
	fl.StringVar(&execAllow, "exec-allow", "", "commands the exec plugin may run, comma-separated names or absolute paths (default: any; plugins also inherit BATCHHOST_EXEC_ALLOW from the environment)")
	fl.StringVar(&allowEnv, "exec-allow-env", "", "variables an exec.run job may set, comma-separated names or PREFIX_* (default: any while --exec-allow is unset, else all but those loaders and tools read as code or configuration; plugins also inherit BATCHHOST_EXEC_ALLOW_ENV)")
	return cmd
}

func (c *cli) serve(ctx context.Context, cfg host.Config, drain time.Duration, log hclog.Logger, httpAddr string, webOpts *web.Options) error {
	// SIGHUP reloads the plugins, as "batchhost plugins reload" does;
	// caught from the start, so that one sent while the host starts
	// reloads once it serves instead of killing it.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// The sockets first: refusing one (another daemon, another user's
	// directory, a port in use) should not cost loading the plugins.
	l, err := control.Listen(c.socket)
	if err != nil {
		return err
	}
	var hl net.Listener
	if webOpts != nil {
		if hl, err = listenHTTP(httpAddr, webOpts); err != nil {
			l.Close()
			return err
		}
	}
	closeHTTP := func() {
		if hl != nil {
			hl.Close()
		}
	}
	h, err := host.Open(cfg)
	if err != nil {
		l.Close()
		closeHTTP()
		if errors.Is(err, host.ErrDatabase) {
			return usageErr(err) // a configuration to fix: exit code 2
		}
		return err
	}
	for _, p := range h.Problems() {
		log.Warn(p.Error())
	}
	if err := h.Start(ctx); err != nil {
		l.Close()
		closeHTTP()
		h.Close()
		return err
	}
	var dash *dashboard
	var dashErr <-chan error
	if hl != nil {
		if dash, err = startDashboard(h, hl, *webOpts, log); err != nil {
			l.Close()
			closeHTTP()
			h.Close()
			return err
		}
		dashErr = dash.errc
		log.Info("dashboard", "url", "http://"+hl.Addr().String()+"/", "token", webOpts.Token != "", "read_only", webOpts.ReadOnly)
	}
	srv := control.Serve(h, l)
	log.Info("serving", "socket", c.socket, "data_dir", cfg.DataDir, "plugin_dir", cfg.PluginDir, "tasks", len(h.Tasks()))

	sigCtx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	var serveErr error
wait:
	for {
		select {
		case <-hup:
			reloadOnSignal(sigCtx, h, log)
		case <-sigCtx.Done():
			break wait
		case <-srv.Done():
			serveErr = srv.Err()
			log.Error("control socket failed", "error", serveErr)
			break wait
		case serveErr = <-dashErr:
			log.Error("dashboard listener failed", "error", serveErr)
			break wait
		}
	}

	log.Info("stopping: no new jobs start; running jobs may finish", "drain_timeout", drain)
	drainCtx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	// A second signal cuts the drain short.
	drainCtx, stopDrain := signal.NotifyContext(drainCtx, os.Interrupt, syscall.SIGTERM)
	defer stopDrain()
	stopErr := h.Stop(drainCtx)
	if stopErr != nil {
		log.Error("stop", "error", stopErr)
	}
	if dash != nil {
		// The dashboard stays up through the drain, to watch it.
		shut, cancelShut := context.WithTimeout(context.Background(), 2*time.Second)
		dash.stop(shut)
		cancelShut()
	}
	closeErr := h.Close()
	// Calls in flight (waits, watches) end now that the host is closed;
	// give them a moment to tell their clients.
	grace, cancelGrace := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelGrace()
	srv.GracefulStop(grace)
	if closeErr != nil {
		return closeErr
	}
	if serveErr != nil {
		return serveErr
	}
	log.Info("stopped")
	return stopErr
}

// configFlags maps the Config fields serve sets from a flag to that flag.
var configFlags = map[string]string{
	"MaxWorkers":         "max-workers",
	"MaxQueueSize":       "max-queue-size",
	"MaxWatchers":        "max-watchers",
	"DefaultMaxAttempts": "default-max-attempts",
	"PollInterval":       "poll-interval",
	"Retention":          "retention",
	"DefaultTimeout":     "default-timeout",
	"KillGrace":          "kill-grace",
	"PluginIdleTimeout":  "plugin-idle-timeout",
	"LeaseTTL":           "lease-ttl",
}

// checkConfig refuses, as a usage error, what host.Open would refuse, but
// before the socket or the data directory is made, and naming the flag or
// the environment variable the value came from rather than the Config
// field.
func (c *cli) checkConfig(fs *pflag.FlagSet, cfg host.Config, given map[string]bool) error {
	err := cfg.Validate()
	if err == nil {
		return nil
	}
	var ce *host.ConfigError
	if errors.As(err, &ce) {
		if name, ok := configFlags[ce.Field]; ok {
			if env := serveEnv[name]; !given[name] && c.getenv(env) != "" {
				return usageErrorf("invalid %s=%q: %s", env, c.getenv(env), ce.Reason)
			}
			return usageErrorf("invalid --%s %s: %s", name, fs.Lookup(name).Value, ce.Reason)
		}
	}
	return usageErr(err)
}

// reloadOnSignal reloads the plugins for a SIGHUP and logs what changed
// (the runner logs each plugin) and the problems found, each once.
func reloadOnSignal(ctx context.Context, h *host.Host, log hclog.Logger) {
	log.Info("SIGHUP: reloading plugins")
	rep, err := h.ReloadPlugins(ctx)
	if err != nil {
		log.Error("plugin reload failed; the plugins loaded before stay", "error", err)
		return
	}
	for _, p := range rep.Problems {
		log.Warn(p.Error())
	}
	log.Info("plugins reloaded", "added", len(rep.Added), "removed", len(rep.Removed), "changed", len(rep.Changed),
		"unchanged", len(rep.Unchanged), "tasks", len(h.Tasks()))
}
