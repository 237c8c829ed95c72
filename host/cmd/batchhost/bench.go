package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/internal/runner"
)

// benchOptions are the bench command's flags.
type benchOptions struct {
	jobs      int
	workers   int
	task      string
	noSync    bool
	rounds    int
	samples   int
	pluginDir string
	dir       string
	// database, when given, puts each measured host's queue in PostgreSQL
	// (a schema of its own, dropped afterwards).
	database string
	// scale, when given, selects bench --scale (bench_scale.go).
	scale int
	// cpuProfile and blockProfile name files for pprof profiles of the
	// whole run (the plugins' own: see the chaos plugin's
	// BATCHHOST_CHAOS_PROFILE).
	cpuProfile   string
	blockProfile string
}

// benchResult is what bench prints; rates are medians over the rounds.
type benchResult struct {
	Jobs    int    `json:"jobs"`
	Workers int    `json:"workers"`
	Task    string `json:"task"`
	Sync    bool   `json:"sync"`
	Rounds  int    `json:"rounds"`
	// Backend is where the queue was: "bbolt" (the embedded file) or
	// "postgres" (--database).
	Backend string `json:"backend"`
	// SubmitOne: Submit calls one after another (each one durable).
	SubmitOne     float64 `json:"submit_jobs_per_sec"`
	SubmitOneJobs int     `json:"submit_jobs_per_round"`
	// SubmitParallel: Submit from benchCallers goroutines at once, which
	// group commit folds into shared transactions.
	SubmitParallel float64 `json:"submit_parallel_jobs_per_sec"`
	// SubmitMany: one SubmitMany call of Jobs jobs.
	SubmitMany float64 `json:"submit_many_jobs_per_sec"`
	// EndToEnd: SubmitMany of Jobs jobs until the last one is finished.
	EndToEnd float64 `json:"end_to_end_jobs_per_sec"`
	// RunnerCeiling: Jobs attempts of Task straight through the plugin
	// runner, Workers at once, on processes started beforehand: no queue,
	// no store. End to end cannot beat it; the gap is what the engine and
	// the store add.
	RunnerCeiling float64 `json:"runner_ceiling_attempts_per_sec"`
	// Latency: from calling Submit to receiving the job's running event,
	// one job at a time on an otherwise idle host.
	LatencyP50     float64 `json:"latency_p50_ms"`
	LatencyP99     float64 `json:"latency_p99_ms"`
	LatencySamples int     `json:"latency_samples"`
}

// benchCallers is the number of concurrent submitters of the parallel
// submit measure.
const benchCallers = 16

// Bounds of the bench flags. --workers is bounded as serve's --max-workers
// is (the host's limit), so any host configuration can be measured.
const (
	benchMaxJobs    = 1_000_000
	benchMaxWorkers = host.MaxWorkersLimit
	benchMaxRounds  = 100
	benchMaxSamples = 100_000
)

func (c *cli) benchCmd() *cobra.Command {
	o := benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench [--jobs N] [--workers N] [--task T] [--no-sync] | bench --scale N",
		Short: "Measure throughput and latency on an embedded host",
		Long: `Run an embedded host on a temporary data directory with the real plugins
and measure, as medians over --rounds rounds:
  submit jobs/s       durable Submit calls, one at a time and from 16 callers
  submit many jobs/s  one SubmitMany of --jobs jobs
  end-to-end jobs/s   --jobs jobs of --task with --workers, submit to finished
  runner ceiling      --jobs attempts of --task, --workers at once, straight
                      through the plugin runner (no queue, no store): what
                      end to end could reach, and how close it comes
  latency p50/p99     Submit to the job's running event on an idle host
Nothing touches the daemon or its data directory. --no-sync skips fsync
(unsafe for real use; shows what durability costs). With --database (env
BATCHHOST_DATABASE_URL) every measured host keeps its queue in that
PostgreSQL database instead, each in a schema of its own that bench
creates and drops.

With --scale N it measures a host holding N queued jobs instead: it stores
N jobs of --task with SubmitMany calls of 100,000 (rate of each call; the
last one runs with N-100,000 already stored), restarts on them as a real
"batchhost serve" (this executable, --workers workers) and measures the
time from exec to its first answer, its RSS, the p50/p99 of get, list
--limit 100 and stats over the control socket while it dispatches
(--samples rounds), and its dispatch rate, compared with the rate from a
queue of 1,000 jobs on a fresh daemon.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.applyEnv(cmd.Flags(), map[string]string{"plugin-dir": "BATCHHOST_PLUGIN_DIR", "database": databaseEnv}); err != nil {
				return err
			}
			if cmd.Flags().Changed("scale") {
				if o.database != "" {
					return usageErrorf("--scale measures the embedded queue; it does not take --database")
				}
				return c.benchScale(cmd, o)
			}
			// Upper bounds keep a typo from allocating (or running) forever.
			for _, f := range []struct {
				name     string
				v, limit int
			}{
				{"jobs", o.jobs, benchMaxJobs},
				{"workers", o.workers, benchMaxWorkers},
				{"rounds", o.rounds, benchMaxRounds},
				{"samples", o.samples, benchMaxSamples},
			} {
				if f.v < 1 || f.v > f.limit {
					return usageErrorf("invalid --%s %d: between 1 and %d", f.name, f.v, f.limit)
				}
			}
			if o.pluginDir == "" {
				o.pluginDir = defaultPluginDir()
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			stopProfiles, err := startProfiles(o)
			if err != nil {
				return err
			}
			r, err := runBench(ctx, o, func(msg string) {
				// Progress for a person watching; scripts get stderr clean.
				if isTerminal(c.stderr) {
					fmt.Fprintln(c.stderr, msg)
				}
			})
			if perr := stopProfiles(); err == nil {
				err = perr
			}
			if err != nil {
				return err
			}
			if c.json {
				return c.printJSON(r)
			}
			return c.printBench(r)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&o.jobs, "jobs", 10000, "jobs per round of submit-many and end-to-end")
	fl.IntVar(&o.workers, "workers", 8, "max workers of the embedded host")
	fl.StringVar(&o.task, "task", "chaos.noop", "task to run")
	fl.BoolVar(&o.noSync, "no-sync", false, "skip fsync on commits")
	fl.IntVar(&o.rounds, "rounds", 5, "rounds of each measure; the median is printed")
	fl.IntVar(&o.samples, "samples", 200, "jobs of the latency measure (with --scale: rounds of get, list and stats)")
	fl.IntVar(&o.scale, "scale", 0, fmt.Sprintf("measure a host holding `N` queued jobs (%d to %d) on a real daemon instead", scaleMin, scaleMax))
	fl.StringVar(&o.database, "database", "", "measure hosts whose queue is in this PostgreSQL database, postgres://user@host:5432/db (env "+databaseEnv+"; default: the embedded file)")
	fl.StringVar(&o.dir, "dir", "", "make the temporary data directory in `DIR`, to measure that disk (default: the system temp dir)")
	fl.StringVar(&o.pluginDir, "plugin-dir", "", "plugin directory (env BATCHHOST_PLUGIN_DIR; default: plugins/ beside batchhost)")
	fl.StringVar(&o.cpuProfile, "cpuprofile", "", "write a pprof CPU profile of the run to `FILE`")
	fl.StringVar(&o.blockProfile, "blockprofile", "", "write a pprof block profile of the run to `FILE`")
	cmd.MarkFlagDirname("dir")
	cmd.MarkFlagDirname("plugin-dir")
	cmd.MarkFlagFilename("cpuprofile")
	cmd.MarkFlagFilename("blockprofile")
	return cmd
}

// startProfiles starts the profiles o asks for and returns the function
// that writes them.
func startProfiles(o benchOptions) (stop func() error, err error) {
	var cpu *os.File
	if o.cpuProfile != "" {
		if cpu, err = os.Create(o.cpuProfile); err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, err
		}
	}
	if o.blockProfile != "" {
		runtime.SetBlockProfileRate(1)
	}
	return func() error {
		var errs []error
		if cpu != nil {
			pprof.StopCPUProfile()
			errs = append(errs, cpu.Close())
		}
		if o.blockProfile != "" {
			f, err := os.Create(o.blockProfile)
			if err == nil {
				err = pprof.Lookup("block").WriteTo(f, 0)
				errs = append(errs, f.Close())
			}
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}, nil
}

func (c *cli) printBench(r *benchResult) error {
	sync := "fsync on"
	if !r.Sync {
		sync = "fsync OFF"
	}
	fmt.Fprintf(c.stdout, "batchhost bench: %s, %d workers, %s, queue in %s; medians of %d rounds\n", r.Task, r.Workers, sync, r.Backend, r.Rounds)
	tw := table(c.stdout)
	row(tw, fmt.Sprintf("submit, 1 caller (%d jobs)", r.SubmitOneJobs), fmt.Sprintf("%.0f jobs/s", r.SubmitOne))
	row(tw, fmt.Sprintf("submit, %d callers (%d jobs)", benchCallers, r.Jobs), fmt.Sprintf("%.0f jobs/s", r.SubmitParallel))
	row(tw, fmt.Sprintf("submit many (%d jobs a call)", r.Jobs), fmt.Sprintf("%.0f jobs/s", r.SubmitMany))
	row(tw, fmt.Sprintf("end to end (%d jobs)", r.Jobs), fmt.Sprintf("%.0f jobs/s", r.EndToEnd))
	row(tw, fmt.Sprintf("runner ceiling (%d attempts)", r.Jobs), fmt.Sprintf("%.0f attempts/s; end to end is %.0f%% of it", r.RunnerCeiling, 100*r.EndToEnd/r.RunnerCeiling))
	row(tw, fmt.Sprintf("enqueue-to-start latency (%d jobs, idle)", r.LatencySamples), fmt.Sprintf("p50 %.2fms  p99 %.2fms", r.LatencyP50, r.LatencyP99))
	return tw.Flush()
}

// runBench runs every measure, each on a fresh host in a temporary data
// directory that is removed afterwards.
func runBench(ctx context.Context, o benchOptions, progress func(string)) (_ *benchResult, err error) {
	tmp, err := os.MkdirTemp(o.dir, "batchhost-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	r := &benchResult{Jobs: o.jobs, Workers: o.workers, Task: o.task, Sync: !o.noSync, Rounds: o.rounds, LatencySamples: o.samples, Backend: "bbolt"}
	var schemas *benchSchemas
	if o.database != "" {
		r.Backend = "postgres"
		schemas = &benchSchemas{url: o.database}
		defer func() {
			if derr := schemas.drop(); derr != nil && err == nil {
				err = derr
			}
		}()
	}
	// Sequential durable submits are bound by fsync latency; a few hundred
	// measure the rate without making the run long.
	r.SubmitOneJobs = min(o.jobs, 500)
	open := func(name string) (*host.Host, error) {
		cfg := host.Config{
			DataDir:      filepath.Join(tmp, name),
			PluginDir:    o.pluginDir,
			MaxWorkers:   o.workers,
			MaxQueueSize: 1 << 30, // the submit rounds accumulate queued jobs
			NoSync:       o.noSync,
		}
		if schemas != nil {
			if err := schemas.config(ctx, &cfg, name); err != nil {
				return nil, err
			}
		}
		h, err := host.Open(cfg)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(h.Tasks(), func(t host.TaskInfo) bool { return t.Name == o.task }) {
			h.Close()
			return nil, fmt.Errorf("no plugin in %s offers task %s (see \"batchhost tasks\" or --plugin-dir)", o.pluginDir, o.task)
		}
		return h, nil
	}
	spec := host.JobSpec{Task: o.task}

	// Submit rates, on a host that is not started: nothing runs, so the
	// measure is the durable commit path alone.
	progress("bench: submit rates...")
	h, err := open("submit")
	if err != nil {
		return nil, err
	}
	var one, parallel, many []float64
	for range o.rounds {
		rate, err := timeRate(r.SubmitOneJobs, func() error {
			for range r.SubmitOneJobs {
				if _, err := h.Submit(ctx, spec); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			one = append(one, rate)
			rate, err = timeRate(o.jobs, func() error { return submitParallel(ctx, h, spec, o.jobs) })
		}
		if err == nil {
			parallel = append(parallel, rate)
			rate, err = timeRate(o.jobs, func() error {
				_, err := h.SubmitMany(ctx, repeatSpec(spec, o.jobs))
				return err
			})
		}
		if err != nil {
			h.Close()
			return nil, err
		}
		many = append(many, rate)
	}
	if err := h.Close(); err != nil {
		return nil, err
	}
	r.SubmitOne, r.SubmitParallel, r.SubmitMany = median(one), median(parallel), median(many)

	progress("bench: end to end...")
	h, err = open("run")
	if err != nil {
		return nil, err
	}
	defer h.Close()
	if err := h.Start(ctx); err != nil {
		return nil, err
	}
	// Warm up: start the plugin processes before measuring.
	if err := runAll(ctx, h, repeatSpec(spec, 4*o.workers)); err != nil {
		return nil, err
	}
	var e2e []float64
	for range o.rounds {
		rate, err := timeRate(o.jobs, func() error { return runAll(ctx, h, repeatSpec(spec, o.jobs)) })
		if err != nil {
			return nil, err
		}
		e2e = append(e2e, rate)
	}
	r.EndToEnd = median(e2e)

	progress("bench: latency...")
	lat, err := idleLatency(ctx, h, spec, o.samples)
	if err != nil {
		return nil, err
	}
	r.LatencyP50, r.LatencyP99 = ms(quantile(lat, 0.50)), ms(quantile(lat, 0.99))
	if err := h.Close(); err != nil {
		return nil, err
	}

	progress("bench: runner ceiling...")
	if r.RunnerCeiling, err = runnerCeiling(ctx, o); err != nil {
		return nil, err
	}
	return r, nil
}

// runnerCeiling is the median rate of --jobs attempts of --task run
// straight through a plugin runner, --workers at once, on processes
// started beforehand: what end to end would reach if the queue and the
// store cost nothing.
func runnerCeiling(ctx context.Context, o benchOptions) (float64, error) {
	m, err := runner.Open(runner.Config{Dir: o.pluginDir, Logger: hclog.NewNullLogger()})
	if err != nil {
		return 0, err
	}
	defer m.Close()
	plugin, _, _ := strings.Cut(o.task, ".")
	if err := m.Prewarm(ctx, map[string]int{plugin: o.workers}); err != nil {
		return 0, err
	}
	if err := runAttempts(ctx, m, o.task, 4*o.workers, o.workers); err != nil { // warm up
		return 0, err
	}
	var rates []float64
	for range o.rounds {
		rate, err := timeRate(o.jobs, func() error { return runAttempts(ctx, m, o.task, o.jobs, o.workers) })
		if err != nil {
			return 0, err
		}
		rates = append(rates, rate)
	}
	return median(rates), m.Close()
}

// runAttempts runs n attempts of task, workers at once; an attempt that
// fails is an error, so a broken plugin cannot pass for a fast one.
func runAttempts(ctx context.Context, m *runner.Manager, task string, n, workers int) error {
	var next atomic.Int64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				r, err := m.Start(ctx, runner.Attempt{JobID: "bench", Attempt: 1, MaxAttempts: 1, Task: task}, nil)
				if err == nil {
					if out := r.Outcome(); out.Err != nil {
						err = fmt.Errorf("bench attempt of %s: %v", task, out.Err)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// timeRate runs fn and returns n divided by the seconds it took.
func timeRate(n int, fn func() error) (float64, error) {
	start := time.Now()
	if err := fn(); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func repeatSpec(s host.JobSpec, n int) []host.JobSpec {
	out := make([]host.JobSpec, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// submitParallel submits n jobs from benchCallers goroutines.
func submitParallel(ctx context.Context, h *host.Host, spec host.JobSpec, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, benchCallers)
	for w := range benchCallers {
		share := n / benchCallers
		if w < n%benchCallers {
			share++
		}
		wg.Go(func() {
			for range share {
				if _, err := h.Submit(ctx, spec); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// runAll submits specs in one commit and waits until every job is
// finished; a job that did not complete is an error, so a broken plugin
// cannot pass for a fast one.
func runAll(ctx context.Context, h *host.Host, specs []host.JobSpec) error {
	ids, err := h.SubmitMany(ctx, specs)
	if err != nil {
		return err
	}
	for _, id := range ids {
		j, err := h.Wait(ctx, id)
		if err != nil {
			return err
		}
		if j.State != host.StateCompleted {
			return fmt.Errorf("bench job %s %s: %s", id, j.State, errLine(j.Error))
		}
	}
	return nil
}

// idleLatency submits one job at a time and measures from the Submit call
// to receiving the job's running event, then lets it finish before the
// next one so that the host is idle at every submit.
func idleLatency(ctx context.Context, h *host.Host, spec host.JobSpec, n int) ([]time.Duration, error) {
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := h.Subscribe(subCtx, host.EventFilter{Types: []host.EventType{host.EventJobState}})
	out := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		id, err := h.Submit(ctx, spec)
		if err != nil {
			return nil, err
		}
		for running := false; !running; {
			select {
			case e, ok := <-events:
				if !ok {
					return nil, fmt.Errorf("latency: event stream ended: %w", host.ErrClosed)
				}
				running = e.Job == id && e.State == host.StateRunning
				if e.Type == host.EventLagged {
					return nil, fmt.Errorf("latency: event stream lagged")
				}
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		out = append(out, time.Since(t0))
		if _, err := h.Wait(ctx, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// quantile returns the q-quantile (nearest rank) of ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
