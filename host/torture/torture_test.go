package torture

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/internal/testbin"
)

// TestTorture SIGKILLs a real daemon -torture.kills times (20 by default)
// at random moments under mixed load, restarting it on the same data dir,
// and checks after each restart and at the end:
//   - every acknowledged id exists (and, at the end, is finished);
//   - nothing exists that was not sent;
//   - no two attempts of one job overlap;
//   - group counts equal their members' states;
//   - no schedule fire time made two jobs;
//   - stats equals list, per state;
//   - no plugin or task process outlives its daemon, killed or stopped.
//
// The load: single submits and SubmitMany batches of chaos jobs (quick,
// sleeping, failing and retried, crashing the plugin, failing for good),
// groups (sequential, cancel-on-failure), DAGs with cancel and ignore
// edges, pause, resume, cancel and retry of random jobs, and a schedule
// firing every second.
func TestTorture(t *testing.T) {
	s := *seed
	if s == 0 {
		s = rand.Uint64()
	}
	t.Logf("seed %d (replay its choices with -torture.seed %d)", s, s)
	r := rand.New(rand.NewPCG(s, 0))
	start := time.Now()

	sockDir, err := os.MkdirTemp("", "bht")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	cfg := daemonConfig{dataDir: t.TempDir(), socket: filepath.Join(sockDir, "bh.sock"), runID: fmt.Sprintf("%d-%d", os.Getpid(), s)}

	led := newLedger()
	var tl tally
	var schedule string
	var restarts, reaped, orphaned, earlyKills, servedEarly int
	var tasks []*seenProc // task processes of the killed daemons not yet checked
	var last *daemon
	var startup time.Duration // the last full start's, spawn to serving
	var tags []string
	t.Cleanup(func() {
		if last != nil && last.exited != nil {
			select {
			case <-last.exited:
			default:
				last.cmd.Process.Kill()
				<-last.exited
			}
		}
	})
	// fatal fails with the daemon's last lines.
	fatal := func(d *daemon, format string, args ...any) {
		t.Helper()
		if d != nil {
			t.Fatalf("%s\ndaemon %d's last lines:\n%s", fmt.Sprintf(format, args...), d.n, d.log.tail(30))
		}
		t.Fatalf(format, args...)
	}

	for n := 0; ; n++ {
		// Task processes of the last killed daemon die with their plugin
		// or, at the latest, when the next daemon starts, before it runs
		// anything.
		var tagged []*seenProc
		for _, p := range testbin.FindByEnv(taskEnv + "=" + cfg.runID) {
			tagged = append(tagged, see(p))
		}
		orphans := slices.Concat(tasks, tagged)
		// One kill in four (after the first start) is at start-up: while
		// the daemon recovers what the last kill interrupted, or just
		// after it serves (within the last start-up's time and a half).
		// The checks wait for the next start.
		if n > 0 && n < *kills && r.IntN(4) == 0 {
			d, err := spawn(cfg, n)
			if err != nil {
				t.Fatal(err)
			}
			last = d
			tags = append(tags, d.tag)
			<-time.After(time.Duration(r.Int64N(int64(startup*3/2) + 1)))
			select {
			case <-d.log.serving:
				servedEarly++
			default:
			}
			k, tk, err := d.kill()
			if err != nil {
				t.Fatal(err)
			}
			reaped, tasks, earlyKills = reaped+k, append(tasks, tk...), earlyKills+1
			restarts++
			closeAll(tagged) // seen again before the next start
			continue
		}
		d, err := startDaemon(cfg, n)
		if d != nil {
			last = d
			tags = append(tags, d.tag)
		}
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			restarts++
		}
		startup = d.startup
		for _, p := range orphans {
			if !p.waitExit(30 * time.Second) {
				fatal(d, "task process %d (%s) a kill left lived on 30s past the next daemon's start", p.PID, p.Cmd)
			}
		}
		closeAll(orphans)
		orphaned += len(tasks)
		tasks = nil
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		if n == 0 {
			schedule, err = d.c.CreateSchedule(ctx, host.ScheduleSpec{Name: "torture", Cron: "@every 1s",
				Job: host.JobSpec{Task: "chaos.noop"}, Overlap: host.OverlapAllow})
			if err != nil {
				fatal(d, "create schedule: %v", err)
			}
		}

		// Checks after the restart, on a quiet daemon.
		if err := quiesce(ctx, d.c, schedule); err != nil {
			fatal(d, "after restart %d: %v", n, err)
		}
		snap, err := listAll(ctx, d.c)
		if err != nil {
			fatal(d, "after restart %d: %v", n, err)
		}
		if problems := resolve(ctx, d.c, led, snap); len(problems) > 0 {
			fatal(d, "after restart %d, the submits in flight at the kill:\n%s", n, strings.Join(problems, "\n"))
		}
		if snap, err = listAll(ctx, d.c); err != nil {
			fatal(d, "after restart %d: %v", n, err)
		}
		if f := check(ctx, d.c, led, schedule, snap, false); len(f.problems) > 0 {
			fatal(d, "after restart %d (%d jobs):\n%s", n, f.jobs, strings.Join(f.problems, "\n"))
		}
		if n == *kills {
			cancel()
			break
		}
		if err := resume(ctx, d.c, schedule); err != nil {
			fatal(d, "%v", err)
		}

		// Load, then a kill at a random moment of it.
		lctx, lcancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		l := &load{runID: cfg.runID, d: d, led: led, tally: &tl, errorf: t.Errorf, ctx: lctx, batching: make(chan struct{})}
		l.run(r.Uint64(), &wg)
		// The kill's moment is chosen, not awaited: a random one, or for
		// one kill in three, a few milliseconds after a SubmitMany is sent.
		after := time.Duration(r.Int64N(int64(2500 * time.Millisecond)))
		if r.IntN(3) == 0 {
			after = time.Duration(r.Int64N(int64(80 * time.Millisecond)))
			select {
			case <-l.batching:
			case <-time.After(5 * time.Second):
			}
		}
		<-time.After(after)
		k, tk, err := d.kill()
		reaped, tasks = reaped+k, append(tasks, tk...)
		lcancel()
		wg.Wait()
		d.c.Close()
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			t.FailNow()
		}
	}

	// The end: no more firings, every paused job resumed, and every job
	// finished, waited on.
	d := last
	// The backlog the load leaves grows with the kills: so does the drain.
	ctx, cancel := context.WithTimeout(context.Background(), max(3*time.Minute, time.Duration(*kills)*3*time.Second))
	defer cancel()
	if err := d.c.ResumeDispatch(ctx); err != nil {
		fatal(d, "resume dispatch: %v", err)
	}
	drained := time.Now()
	if err := drain(ctx, d); err != nil {
		fatal(d, "draining after the last restart: %v", err)
	}
	drainTime := time.Since(drained)
	snap, err := listAll(ctx, d.c)
	if err != nil {
		fatal(d, "%v", err)
	}
	f := check(ctx, d.c, led, schedule, snap, true)
	if len(f.problems) > 0 {
		fatal(d, "at the end (%d jobs):\n%s", f.jobs, strings.Join(f.problems, "\n"))
	}
	states := map[host.State]int{}
	interrupted := 0
	for _, j := range snap.jobs {
		states[j.State]++
		for _, a := range j.Attempts {
			if a.Error != nil && a.Error.Kind == "interrupted" {
				interrupted++
			}
		}
	}

	// The last daemon stops cleanly, and nothing it or any killed one
	// started is left.
	d.c.Close()
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	if left := testbin.Descendants(os.Getpid()); len(left) > 0 {
		t.Errorf("processes left below the test after the last daemon stopped: %+v", left)
	}
	if left := testbin.FindByEnv(taskEnv + "=" + cfg.runID); len(left) > 0 {
		t.Errorf("task processes left: %+v", left)
	}
	for _, tag := range tags {
		if left := testbin.FindByEnv(tagEnv + "=" + tag); len(left) > 0 {
			t.Errorf("processes of daemon %s left: %+v", tag, left)
		}
	}

	led.mu.Lock()
	defer led.mu.Unlock()
	t.Logf("kills %d (%d of them at start-up, %d of those after the daemon logged that it serves), restarts %d; plugin processes at the kills %d, all gone; task processes at the kills %d, all gone once the next daemon started", *kills, earlyKills, servedEarly, restarts, reaped, orphaned)
	t.Logf("jobs acknowledged %d (%d single submits, %d batches of %d jobs, and those of calls in flight at a kill, once sent again), schedule firings %d, groups %d, DAGs %d; attempts %d (%d interrupted by a kill)",
		len(led.acked), tl.submits.Load(), tl.batches.Load(), tl.batchJobs.Load(), f.scheduled, f.groups, tl.dags.Load(), f.attempts, interrupted)
	t.Logf("calls in flight at a kill: %d submits of %d jobs, %d of them committed and %d not (sent again with their keys); %d of the calls SubmitMany, %d of those committed whole, none in part; pause/resume/cancel/retry: %d done, %d refused for the job's state",
		led.unknownCalls, led.unknownCommitted+led.unknownLost, led.unknownCommitted, led.unknownLost, led.unknownBatches, led.batchesCommitted, tl.opsDone.Load(), tl.opsRefused.Load())
	t.Logf("final states %v; drained in %s; whole run %s; every check passed after each of %d restarts and at the end", states, drainTime.Round(time.Millisecond), time.Since(start).Round(time.Second), restarts)
}

// drain resumes every paused job and waits, on the daemon's Wait, until
// every job is finished. Nothing else acts on the jobs by then, and the
// schedule is paused.
func drain(ctx context.Context, d *daemon) error {
	for round := 0; ; round++ {
		var open []*host.Job
		for _, st := range []host.State{host.StateCreated, host.StateWaiting, host.StateQueued, host.StateRunning, host.StatePaused} {
			jobs, _, err := d.c.List(ctx, host.ListFilter{States: []host.State{st}, Limit: host.MaxListLimit})
			if err != nil {
				return fmt.Errorf("list %s: %w", st, err)
			}
			open = append(open, jobs...)
		}
		if len(open) == 0 {
			return nil
		}
		if round == 10 {
			return fmt.Errorf("jobs still unfinished after %d rounds of waiting, e.g. %s (%s)", round, open[0].ID, open[0].State)
		}
		for _, j := range open {
			switch j.State {
			case host.StateCreated:
				return fmt.Errorf("job %s is created: nothing the test sent leaves a job created", j.ID)
			case host.StatePaused:
				if err := d.c.Resume(ctx, j.ID); err != nil {
					return fmt.Errorf("resume %s: %w", j.ID, err)
				}
			}
		}
		for _, j := range open {
			if _, err := d.c.Wait(ctx, j.ID); err != nil {
				return fmt.Errorf("wait %s (%s): %w", j.ID, j.State, err)
			}
		}
	}
}
