package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

// Bounds and fixed sizes of bench --scale.
const (
	scaleMin = 1000
	scaleMax = 10_000_000
	// scaleChunk is the size of each SubmitMany call of the fill.
	scaleChunk = 100_000
	// scaleSampleIDs bounds the fill's ids kept for the Get rounds.
	scaleSampleIDs = 10_000
	// scaleListLimit is the page size of the List rounds.
	scaleListLimit = 100
	// The dispatch window from the big queue: after scaleWarmup jobs have
	// finished, until scaleWindowJobs more have or scaleWindow has passed.
	scaleWarmup     = 200
	scaleWindowJobs = 5000
	scaleWindow     = 10 * time.Second
	// scaleRefJobs is the reference queue: scaleRefJobs jobs submitted at
	// once to a fresh daemon warmed up with scaleWarmup jobs, timed
	// scaleRefRounds times (one such queue takes well under a second: a
	// median is steadier). Its steady rate leaves out the first and the
	// last scaleRefEdge jobs: the ramp-up and the tail, when fewer than
	// all workers are busy.
	scaleRefJobs   = 1000
	scaleRefRounds = 5
	scaleRefEdge   = 100
	// scalePoll is how often Stats is read while waiting for jobs to
	// finish; it bounds the error of the dispatch rates.
	scalePoll = 5 * time.Millisecond
	// scaleStartTimeout bounds the wait for a daemon's first answer.
	scaleStartTimeout = 5 * time.Minute
	// scaleRunTimeout bounds a wait for jobs to finish.
	scaleRunTimeout = 2 * time.Minute
	// scaleStopTimeout bounds a daemon's graceful stop before it is killed.
	scaleStopTimeout = 30 * time.Second
)

// scaleResult is what bench --scale prints. Rates are jobs per second,
// durations milliseconds, sizes MB (2^20 bytes).
type scaleResult struct {
	// Jobs is N: the jobs stored by the fill.
	Jobs    int    `json:"jobs"`
	Workers int    `json:"workers"`
	Task    string `json:"task"`

	// Fill: SubmitMany calls of ChunkJobs jobs on an embedded host that
	// is not started, each timed alone.
	ChunkJobs int         `json:"submit_many_chunk_jobs"`
	Chunks    []scaleCall `json:"submit_many_chunks"`
	// SubmitManyLast is the rate of the last call, made with Jobs minus
	// its size already stored: the headline.
	SubmitManyFirst float64 `json:"submit_many_first_jobs_per_s"`
	SubmitManyLast  float64 `json:"submit_many_last_jobs_per_s"`
	FillSeconds     float64 `json:"fill_s"`
	// DataDirMB is the size of the data directory after the fill.
	DataDirMB float64 `json:"data_dir_mb"`

	// Restart: "batchhost serve" on the filled data directory, from exec
	// to the first Stats answered over the control socket.
	StartToAnswerMs float64 `json:"start_to_answer_ms"`
	// RSS of the daemon (VmRSS, and its peak VmHWM) right after its first
	// answer and again after the latency rounds.
	RestartRSSMB      float64 `json:"restart_rss_mb"`
	RestartPeakRSSMB  float64 `json:"restart_peak_rss_mb"`
	AfterRSSMB        float64 `json:"after_latency_rss_mb"`
	AfterPeakRSSMB    float64 `json:"after_latency_peak_rss_mb"`
	ReferenceAnswerMs float64 `json:"reference_start_to_answer_ms"`

	// Latency: rounds of Get (a random job of the fill), List (limit
	// 100) and Stats over the control socket while the daemon dispatches
	// the big queue.
	LatencyRounds int `json:"latency_rounds"`
	// LatencyQueued is the jobs queued when the rounds began.
	LatencyQueued int     `json:"latency_queued_at_start"`
	GetP50Ms      float64 `json:"get_p50_ms"`
	GetP99Ms      float64 `json:"get_p99_ms"`
	ListP50Ms     float64 `json:"list_p50_ms"`
	ListP99Ms     float64 `json:"list_p99_ms"`
	StatsP50Ms    float64 `json:"stats_p50_ms"`
	StatsP99Ms    float64 `json:"stats_p99_ms"`

	// Dispatch from the big queue: jobs finished per second over a
	// window after the warm-up, with QueuedAtWindow jobs queued at its
	// start.
	DispatchBig     float64 `json:"dispatch_big_queue_jobs_per_s"`
	DispatchBigJobs int     `json:"dispatch_big_queue_window_jobs"`
	DispatchBigSecs float64 `json:"dispatch_big_queue_window_s"`
	QueuedAtWindow  int     `json:"dispatch_big_queue_queued_at_start"`
	// DispatchRef: scaleRefJobs jobs submitted at once to a fresh,
	// warmed-up daemon, from the SubmitMany call to the last finished;
	// the median of DispatchRefRounds. It includes the call, the ramp-up
	// and the tail, which the big queue's window does not: so
	// DispatchRatio (DispatchBig / DispatchRef) leans above 1.
	DispatchRef       float64 `json:"dispatch_ref_queue_jobs_per_s"`
	DispatchRefJobs   int     `json:"dispatch_ref_queue_jobs"`
	DispatchRefRounds int     `json:"dispatch_ref_rounds"`
	DispatchRatio     float64 `json:"dispatch_ratio"`
	// DispatchRefSteady is the same rounds' rate over their middle jobs
	// (all but the first and last scaleRefEdge), as the big queue's
	// window is measured; DispatchRatioSteady is DispatchBig over it, the
	// like-for-like comparison.
	DispatchRefSteady   float64 `json:"dispatch_ref_queue_steady_jobs_per_s"`
	DispatchRatioSteady float64 `json:"dispatch_ratio_steady"`
}

// scaleCall is one SubmitMany call of the fill.
type scaleCall struct {
	StoredBefore int     `json:"stored_before"`
	Jobs         int     `json:"jobs"`
	Rate         float64 `json:"jobs_per_s"`
}

// benchScale is bench --scale: the figures of a host holding o.scale
// queued jobs, measured on a real daemon restarted on them.
func (c *cli) benchScale(cmd *cobra.Command, o benchOptions) error {
	fl := cmd.Flags()
	for _, name := range []string{"jobs", "rounds", "no-sync", "cpuprofile", "blockprofile"} {
		if fl.Changed(name) {
			return usageErrorf("--%s does not apply to --scale", name)
		}
	}
	if o.scale < scaleMin || o.scale > scaleMax {
		return usageErrorf("invalid --scale %d: between %d and %d", o.scale, scaleMin, scaleMax)
	}
	if o.workers < 1 || o.workers > benchMaxWorkers {
		return usageErrorf("invalid --workers %d: between 1 and %d", o.workers, benchMaxWorkers)
	}
	if o.samples < 1 || o.samples > benchMaxSamples {
		return usageErrorf("invalid --samples %d: between 1 and %d", o.samples, benchMaxSamples)
	}
	if o.pluginDir == "" {
		o.pluginDir = defaultPluginDir()
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench --scale runs this executable as the daemon: %w", err)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := runScale(ctx, exe, o, func(msg string) {
		if isTerminal(c.stderr) {
			fmt.Fprintln(c.stderr, msg)
		}
	})
	if err != nil {
		if ctx.Err() != nil && cmd.Context().Err() == nil {
			return errors.New("bench: interrupted")
		}
		return err
	}
	if c.json {
		return c.printJSON(r)
	}
	return c.printScale(r)
}

func (c *cli) printScale(r *scaleResult) error {
	fmt.Fprintf(c.stdout, "batchhost bench --scale %d: %s, %d workers\n", r.Jobs, r.Task, r.Workers)
	tw := table(c.stdout)
	for i, call := range r.Chunks {
		if i == 0 || i == len(r.Chunks)-1 {
			row(tw, fmt.Sprintf("submit many (%d jobs a call, %d stored)", call.Jobs, call.StoredBefore), fmt.Sprintf("%.0f jobs/s", call.Rate))
		}
	}
	row(tw, "data directory after the fill", fmt.Sprintf("%.0f MB", r.DataDirMB))
	row(tw, fmt.Sprintf("serve: start to answering (%d queued)", r.Jobs), fmt.Sprintf("%.0f ms (empty data dir: %.0f ms)", r.StartToAnswerMs, r.ReferenceAnswerMs))
	row(tw, "serve: RSS at the first answer", rss(r.RestartRSSMB, r.RestartPeakRSSMB))
	row(tw, "serve: RSS after the latency rounds", rss(r.AfterRSSMB, r.AfterPeakRSSMB))
	lat := func(p50, p99 float64) string { return fmt.Sprintf("p50 %.2fms  p99 %.2fms", p50, p99) }
	row(tw, fmt.Sprintf("get (%d rounds, %d queued)", r.LatencyRounds, r.LatencyQueued), lat(r.GetP50Ms, r.GetP99Ms))
	row(tw, fmt.Sprintf("list --limit %d", scaleListLimit), lat(r.ListP50Ms, r.ListP99Ms))
	row(tw, "stats", lat(r.StatsP50Ms, r.StatsP99Ms))
	row(tw, fmt.Sprintf("dispatch, %d queued (%d jobs in %.1fs)", r.QueuedAtWindow, r.DispatchBigJobs, r.DispatchBigSecs), fmt.Sprintf("%.0f jobs/s", r.DispatchBig))
	row(tw, fmt.Sprintf("dispatch, %d queued, call to last done (median of %d)", r.DispatchRefJobs, r.DispatchRefRounds), fmt.Sprintf("%.0f jobs/s; big queue at %.0f%% of it", r.DispatchRef, 100*r.DispatchRatio))
	row(tw, fmt.Sprintf("dispatch, %d queued, middle %d jobs (median of %d)", r.DispatchRefJobs, r.DispatchRefJobs-2*scaleRefEdge, r.DispatchRefRounds), fmt.Sprintf("%.0f jobs/s; big queue at %.0f%% of it", r.DispatchRefSteady, 100*r.DispatchRatioSteady))
	return tw.Flush()
}

func rss(now, peak float64) string {
	if now == 0 {
		return "n/a (no /proc)"
	}
	return fmt.Sprintf("%.0f MB (peak %.0f MB)", now, peak)
}

// runScale fills a data directory, restarts a daemon on it and measures,
// then measures the reference on a fresh daemon. Every daemon is stopped
// and the temporary directory removed however it ends.
func runScale(ctx context.Context, exe string, o benchOptions, progress func(string)) (*scaleResult, error) {
	tmp, err := os.MkdirTemp(o.dir, "batchhost-bench-scale-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// Unix socket addresses are limited to about 100 bytes; --dir may be
	// deep.
	sockDir := tmp
	if len(filepath.Join(tmp, "big.sock")) > 100 {
		if sockDir, err = os.MkdirTemp("", "bh-bench-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(sockDir)
	}
	r := &scaleResult{Jobs: o.scale, Workers: o.workers, Task: o.task, ChunkJobs: min(scaleChunk, o.scale)}
	spec := host.JobSpec{Task: o.task}

	progress(fmt.Sprintf("bench: filling %d jobs...", o.scale))
	bigDir := filepath.Join(tmp, "big")
	ids, err := scaleFill(ctx, o, bigDir, r, progress)
	if err != nil {
		return nil, err
	}
	r.DataDirMB = mb(dirSize(bigDir))

	progress("bench: restarting as a daemon...")
	d, err := startScaleDaemon(ctx, exe, o, bigDir, filepath.Join(sockDir, "big.sock"), tmp)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	r.StartToAnswerMs = ms(d.answered)
	r.RestartRSSMB, r.RestartPeakRSSMB = d.rss()

	progress("bench: dispatch from the big queue...")
	if err := scaleDispatchBig(ctx, d.client, r); err != nil {
		return nil, err
	}
	progress("bench: get, list and stats while jobs run...")
	if err := scaleLatency(ctx, d.client, ids, o.samples, r); err != nil {
		return nil, err
	}
	r.AfterRSSMB, r.AfterPeakRSSMB = d.rss()
	if err := checkFailed(ctx, d.client, o.task); err != nil {
		return nil, err
	}
	if err := d.stop(); err != nil {
		return nil, err
	}

	progress(fmt.Sprintf("bench: dispatch from a %d-job queue...", scaleRefJobs))
	ref, err := startScaleDaemon(ctx, exe, o, filepath.Join(tmp, "ref"), filepath.Join(sockDir, "ref.sock"), tmp)
	if err != nil {
		return nil, err
	}
	defer ref.stop()
	r.ReferenceAnswerMs = ms(ref.answered)
	if _, err := ref.client.SubmitMany(ctx, repeatSpec(spec, scaleWarmup)); err != nil {
		return nil, err
	}
	if _, err := waitFinished(ctx, ref.client, scaleWarmup); err != nil {
		return nil, err
	}
	var whole, steady []float64
	for i := range scaleRefRounds {
		w, s, err := scaleRefRound(ctx, ref.client, spec, scaleWarmup+i*scaleRefJobs)
		if err != nil {
			return nil, err
		}
		whole, steady = append(whole, w), append(steady, s)
	}
	r.DispatchRefJobs, r.DispatchRefRounds = scaleRefJobs, scaleRefRounds
	r.DispatchRef, r.DispatchRefSteady = median(whole), median(steady)
	r.DispatchRatio, r.DispatchRatioSteady = r.DispatchBig/r.DispatchRef, r.DispatchBig/r.DispatchRefSteady
	if err := checkFailed(ctx, ref.client, o.task); err != nil {
		return nil, err
	}
	return r, ref.stop()
}

// scaleFill stores o.scale jobs in dir with SubmitMany calls of
// scaleChunk on an embedded host that is not started, records each call's
// rate in r and returns a sample of the ids, spread over the fill.
func scaleFill(ctx context.Context, o benchOptions, dir string, r *scaleResult, progress func(string)) ([]string, error) {
	h, err := host.Open(host.Config{
		DataDir:      dir,
		PluginDir:    o.pluginDir,
		MaxWorkers:   o.workers,
		MaxQueueSize: o.scale,
	})
	if err != nil {
		return nil, err
	}
	defer h.Close()
	if !slices.ContainsFunc(h.Tasks(), func(t host.TaskInfo) bool { return t.Name == o.task }) {
		return nil, fmt.Errorf("no plugin in %s offers task %s (see \"batchhost tasks\" or --plugin-dir)", o.pluginDir, o.task)
	}
	stride := max(1, o.scale/scaleSampleIDs)
	specs := repeatSpec(host.JobSpec{Task: o.task}, r.ChunkJobs)
	var sample []string
	fillStart := time.Now()
	for stored := 0; stored < o.scale; {
		n := min(r.ChunkJobs, o.scale-stored)
		start := time.Now()
		ids, err := h.SubmitMany(ctx, specs[:n])
		if err != nil {
			return nil, fmt.Errorf("fill, %d jobs stored: %w", stored, err)
		}
		rate := float64(n) / time.Since(start).Seconds()
		r.Chunks = append(r.Chunks, scaleCall{StoredBefore: stored, Jobs: n, Rate: rate})
		for i := 0; i < len(ids); i += stride {
			sample = append(sample, ids[i])
		}
		stored += n
		progress(fmt.Sprintf("bench: %d stored (last call %.0f jobs/s)", stored, rate))
	}
	r.FillSeconds = time.Since(fillStart).Seconds()
	r.SubmitManyFirst, r.SubmitManyLast = r.Chunks[0].Rate, r.Chunks[len(r.Chunks)-1].Rate
	return sample, h.Close()
}

// scaleDispatchBig measures the dispatch rate from the big queue: jobs
// finished per second over a window that starts once scaleWarmup have
// finished and ends after scaleWindowJobs more, scaleWindow, or when the
// queue is empty, whichever comes first.
func scaleDispatchBig(ctx context.Context, cl *control.Client, r *scaleResult) error {
	s, err := waitFinished(ctx, cl, scaleWarmup)
	if err != nil {
		return err
	}
	t0, c0 := time.Now(), finished(s)
	r.QueuedAtWindow = s.Counts[host.StateQueued]
	for {
		if err := sleepCtx(ctx, scalePoll); err != nil {
			return err
		}
		s, err := cl.Stats(ctx)
		if err != nil {
			return err
		}
		elapsed, done := time.Since(t0), finished(s)-c0
		if done >= scaleWindowJobs || elapsed >= scaleWindow || s.Counts[host.StateQueued] == 0 {
			r.DispatchBigJobs, r.DispatchBigSecs = done, elapsed.Seconds()
			r.DispatchBig = float64(done) / elapsed.Seconds()
			return nil
		}
	}
}

// scaleRefRound submits scaleRefJobs jobs to a daemon that has finished
// base and returns their rate from the call to the last one finished
// (whole) and over the middle jobs (steady).
func scaleRefRound(ctx context.Context, cl *control.Client, spec host.JobSpec, base int) (whole, steady float64, err error) {
	start := time.Now()
	if _, err := cl.SubmitMany(ctx, repeatSpec(spec, scaleRefJobs)); err != nil {
		return 0, 0, err
	}
	var t1 time.Time
	var c1 int
	s, err := waitFinishedEach(ctx, cl, base+scaleRefJobs, func(s host.Stats, at time.Time) {
		if done := finished(s) - base; t1.IsZero() && done >= scaleRefEdge {
			t1, c1 = at, done
		} else if !t1.IsZero() && steady == 0 && done >= scaleRefJobs-scaleRefEdge && done > c1 {
			steady = float64(done-c1) / at.Sub(t1).Seconds()
		}
	})
	if err != nil {
		return 0, 0, err
	}
	whole = scaleRefJobs / time.Since(start).Seconds()
	if steady == 0 { // the middle jobs finished between two reads
		steady = float64(finished(s)-base-c1) / time.Since(t1).Seconds()
	}
	return whole, steady, nil
}

// scaleLatency times rounds of Get (a random id of the sample), List and
// Stats, one call at a time.
func scaleLatency(ctx context.Context, cl *control.Client, ids []string, rounds int, r *scaleResult) error {
	s, err := cl.Stats(ctx)
	if err != nil {
		return err
	}
	r.LatencyQueued = s.Counts[host.StateQueued]
	var get, list, stats []time.Duration
	timed := func(out *[]time.Duration, fn func() error) error {
		start := time.Now()
		if err := fn(); err != nil {
			return err
		}
		*out = append(*out, time.Since(start))
		return nil
	}
	for range rounds {
		id := ids[rand.IntN(len(ids))]
		if err := timed(&get, func() error { _, err := cl.Get(ctx, id); return err }); err != nil {
			return fmt.Errorf("get %s: %w", id, err)
		}
		if err := timed(&list, func() error {
			_, _, err := cl.List(ctx, host.ListFilter{Limit: scaleListLimit})
			return err
		}); err != nil {
			return fmt.Errorf("list: %w", err)
		}
		if err := timed(&stats, func() error { _, err := cl.Stats(ctx); return err }); err != nil {
			return fmt.Errorf("stats: %w", err)
		}
	}
	r.LatencyRounds = rounds
	r.GetP50Ms, r.GetP99Ms = ms(quantile(get, 0.50)), ms(quantile(get, 0.99))
	r.ListP50Ms, r.ListP99Ms = ms(quantile(list, 0.50)), ms(quantile(list, 0.99))
	r.StatsP50Ms, r.StatsP99Ms = ms(quantile(stats, 0.50)), ms(quantile(stats, 0.99))
	return nil
}

// finished counts the jobs that reached a final state.
func finished(s host.Stats) int {
	return s.Counts[host.StateCompleted] + s.Counts[host.StateFailed] + s.Counts[host.StateCanceled]
}

// waitFinished polls Stats until n jobs are finished.
func waitFinished(ctx context.Context, cl *control.Client, n int) (host.Stats, error) {
	return waitFinishedEach(ctx, cl, n, func(host.Stats, time.Time) {})
}

// waitFinishedEach is waitFinished calling each with every Stats read and
// the time it was answered.
func waitFinishedEach(ctx context.Context, cl *control.Client, n int, each func(host.Stats, time.Time)) (host.Stats, error) {
	deadline := time.Now().Add(scaleRunTimeout)
	for {
		s, err := cl.Stats(ctx)
		if err != nil {
			return s, err
		}
		each(s, time.Now())
		if finished(s) >= n {
			return s, nil
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("bench: %d of %d jobs finished after %s", finished(s), n, scaleRunTimeout)
		}
		if err := sleepCtx(ctx, scalePoll); err != nil {
			return s, err
		}
	}
}

// checkFailed refuses a run where jobs failed: a broken plugin must not
// pass for a fast one.
func checkFailed(ctx context.Context, cl *control.Client, task string) error {
	jobs, _, err := cl.List(ctx, host.ListFilter{States: []host.State{host.StateFailed, host.StateCanceled}, Limit: 1})
	if err != nil || len(jobs) == 0 {
		return err
	}
	return fmt.Errorf("bench job %s of %s %s: %s", jobs[0].ID, task, jobs[0].State, errLine(jobs[0].Error))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// scaleDaemon is "batchhost serve" run by bench --scale.
type scaleDaemon struct {
	cmd      *exec.Cmd
	sock     string
	log      *os.File
	exited   chan struct{} // closed once the process is waited for
	waitErr  error
	client   *control.Client
	answered time.Duration // from exec to the first Stats answered
	stopped  bool
	stopErr  error
}

// startScaleDaemon execs exe as "batchhost serve" on dataDir and sock
// and returns once it answered Stats. Its log (errors only) goes to a
// file in logDir, whose last line explains a daemon that ended early.
func startScaleDaemon(ctx context.Context, exe string, o benchOptions, dataDir, sock, logDir string) (*scaleDaemon, error) {
	log, err := os.CreateTemp(logDir, "serve-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "--data-dir", dataDir, "--socket", sock, "serve",
		"--plugin-dir", o.pluginDir,
		"--max-workers", strconv.Itoa(o.workers),
		"--max-queue-size", strconv.Itoa(o.scale),
		"--drain-timeout", "10s",
		"--log-level", "error")
	cmd.Env = scaleDaemonEnv(os.Environ())
	cmd.Stderr = log
	// Its own process group, so that a Ctrl-C reaches bench alone, which
	// stops it in order; SIGTERM if bench dies without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	d := &scaleDaemon{cmd: cmd, sock: sock, log: log, exited: make(chan struct{})}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start serve: %w", err)
	}
	go func() {
		d.waitErr = cmd.Wait()
		close(d.exited)
	}()
	if err := d.awaitAnswer(ctx); err != nil {
		d.stop()
		return nil, err
	}
	d.answered = time.Since(start)
	return d, nil
}

// awaitAnswer dials and calls Stats in a tight loop until the daemon
// answers. A failed call drops its client: a fresh one does not wait out
// gRPC's reconnection backoff.
func (d *scaleDaemon) awaitAnswer(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, scaleStartTimeout)
	defer cancel()
	// A call in flight to a daemon that exits ends with it.
	go func() {
		select {
		case <-d.exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		cl, err := control.Dial(ctx, d.sock)
		if err == nil {
			if _, err = cl.Stats(ctx); err == nil {
				d.client = cl
				return nil
			}
			cl.Close()
		}
		select {
		case <-d.exited:
		case <-ctx.Done():
		case <-time.After(2 * time.Millisecond):
			continue
		}
		select {
		case <-d.exited:
			return fmt.Errorf("serve ended before answering: %s", d.lastLog())
		default:
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("serve did not answer within %s: %v", scaleStartTimeout, err)
		}
		return ctx.Err()
	}
}

// rss reads the daemon's resident set and its peak, in MB; zero without
// /proc.
func (d *scaleDaemon) rss() (now, peak float64) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(d.cmd.Process.Pid), "status"))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v) // "123456 kB"
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		if k == "VmRSS" {
			now = mb(kb << 10)
		} else {
			peak = mb(kb << 10)
		}
	}
	return now, peak
}

// stop stops the daemon with SIGTERM, kills its process group if it has
// not ended within scaleStopTimeout, and reports an unclean end. Calls
// after the first return the first one's answer.
func (d *scaleDaemon) stop() error {
	if d.stopped {
		return d.stopErr
	}
	d.stopped = true
	if d.client != nil {
		d.client.Close()
	}
	defer d.log.Close()
	select {
	case <-d.exited:
		d.stopErr = fmt.Errorf("serve ended early: %s", d.lastLog())
		return d.stopErr
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		if d.waitErr != nil {
			d.stopErr = fmt.Errorf("serve: %v: %s", d.waitErr, d.lastLog())
		}
	case <-time.After(scaleStopTimeout):
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.exited
		d.stopErr = fmt.Errorf("serve did not stop within %s of SIGTERM; killed", scaleStopTimeout)
	}
	return d.stopErr
}

// lastLog is the last line the daemon logged, or a note that it logged
// nothing.
func (d *scaleDaemon) lastLog() string {
	b, _ := os.ReadFile(d.log.Name())
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
		return strings.TrimPrefix(last, "batchhost: ")
	}
	return "it logged nothing"
}

// scaleDaemonEnv is env without the variables that configure serve: the
// daemon is configured by its flags alone (a BATCHHOST_HTTP meant for
// the user's daemon would make it listen on a port).
func scaleDaemonEnv(env []string) []string {
	drop := map[string]bool{"BATCHHOST_DATA_DIR": true, "BATCHHOST_SOCKET": true}
	for _, m := range []map[string]string{serveEnv, httpEnv} {
		for _, v := range m {
			drop[v] = true
		}
	}
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return drop[k]
	})
}

// dirSize is the bytes of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func mb(bytes int64) float64 { return float64(bytes) / (1 << 20) }
