package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/batchhost/batchhost/internal/testbin"
)

// TestBenchScale runs "bench --scale" for real, as a person would (it
// execs its own binary as the daemon): every figure is there and sane,
// and it leaves no process and no file behind. Speeds are not judged.
func TestBenchScale(t *testing.T) {
	dir := t.TempDir()
	tag := "BATCHHOST_BENCH_SCALE_TEST=" + strconv.Itoa(os.Getpid())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, batchhostBin, "--json", "bench", "--scale", "2000", "--plugin-dir", pluginDir, "--dir", dir)
	// The tag is inherited by the daemons and their plugins: a process
	// still carrying it once bench returned was leaked. A BATCHHOST_HTTP
	// meant for the user's daemon must not reach bench's (this one would
	// make serve refuse to start).
	cmd.Env = append(os.Environ(), tag, "BATCHHOST_HTTP=not-an-address")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("bench --scale: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	if left := testbin.FindByEnv(tag); len(left) > 0 {
		t.Errorf("processes left after bench --scale: %+v", left)
	}
	if left := testbin.Descendants(os.Getpid()); len(left) > 0 {
		t.Errorf("children left after bench --scale: %+v", left)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) > 0 {
		t.Errorf("bench --scale left files in --dir: %v %v", ents, err)
	}

	var r scaleResult
	decode(t, stdout.String(), &r)
	if r.Jobs != 2000 || r.Workers != 8 || r.Task != "chaos.noop" || r.LatencyRounds != 200 || r.DispatchRefJobs != scaleRefJobs || r.DispatchRefRounds != scaleRefRounds {
		t.Errorf("settings: %+v", r)
	}
	if len(r.Chunks) != 1 || r.Chunks[0] != (scaleCall{StoredBefore: 0, Jobs: 2000, Rate: r.SubmitManyLast}) || r.SubmitManyFirst != r.SubmitManyLast {
		t.Errorf("one SubmitMany of 2000 jobs: %+v", r)
	}
	positive := map[string]float64{
		"submit_many_last_jobs_per_s":          r.SubmitManyLast,
		"fill_s":                               r.FillSeconds,
		"data_dir_mb":                          r.DataDirMB,
		"start_to_answer_ms":                   r.StartToAnswerMs,
		"reference_start_to_answer_ms":         r.ReferenceAnswerMs,
		"restart_rss_mb":                       r.RestartRSSMB,
		"after_latency_rss_mb":                 r.AfterRSSMB,
		"get_p50_ms":                           r.GetP50Ms,
		"list_p50_ms":                          r.ListP50Ms,
		"stats_p50_ms":                         r.StatsP50Ms,
		"dispatch_big_queue_jobs_per_s":        r.DispatchBig,
		"dispatch_big_queue_window_s":          r.DispatchBigSecs,
		"dispatch_ref_queue_jobs_per_s":        r.DispatchRef,
		"dispatch_ref_queue_steady_jobs_per_s": r.DispatchRefSteady,
		"dispatch_ratio":                       r.DispatchRatio,
		"dispatch_ratio_steady":                r.DispatchRatioSteady,
	}
	for name, v := range positive {
		if !(v > 0) {
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}
	// A daemon holding 2000 noop jobs is a few tens of MB; a figure in kB
	// or in bytes would be far off either way.
	for name, v := range map[string]float64{"restart_rss_mb": r.RestartRSSMB, "after_latency_rss_mb": r.AfterRSSMB} {
		if v < 2 || v > 4096 {
			t.Errorf("%s = %v MB, not a daemon's size", name, v)
		}
	}
	if r.RestartPeakRSSMB < r.RestartRSSMB || r.AfterPeakRSSMB < r.AfterRSSMB {
		t.Errorf("a peak below its RSS: %+v", r)
	}
	for _, p := range [][2]float64{{r.GetP50Ms, r.GetP99Ms}, {r.ListP50Ms, r.ListP99Ms}, {r.StatsP50Ms, r.StatsP99Ms}} {
		if p[1] < p[0] {
			t.Errorf("a p99 below its p50: %+v", r)
		}
	}
	if r.DispatchBigJobs < 1 || r.DispatchBigJobs > 2000-scaleWarmup || r.QueuedAtWindow > 2000 {
		t.Errorf("dispatch window: %d jobs with %d queued, of 2000", r.DispatchBigJobs, r.QueuedAtWindow)
	}
}

// TestBenchScaleUsage: bad --scale values, and flags of the other mode,
// are one-line usage errors before anything runs; an unknown task is
// refused before a daemon starts.
func TestBenchScaleUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--scale", "999"}, "invalid --scale 999: between 1000 and 10000000"},
		{[]string{"bench", "--scale", "10000001"}, "invalid --scale 10000001: between 1000 and 10000000"},
		{[]string{"bench", "--scale", "0"}, "invalid --scale 0"},
		{[]string{"bench", "--scale", "lots"}, "invalid argument \"lots\" for \"--scale\""},
		{[]string{"bench", "--scale", "2000", "--jobs", "10"}, "--jobs does not apply to --scale"},
		{[]string{"bench", "--scale", "2000", "--no-sync"}, "--no-sync does not apply to --scale"},
		{[]string{"bench", "--scale", "2000", "--workers", "0"}, "invalid --workers 0"},
		{[]string{"bench", "--scale", "2000", "--samples", "0"}, "invalid --samples 0"},
	} {
		expectFail(t, runCLI(t, nil, "", c.args...), 2, c.want, c.args)
	}
	args := []string{"bench", "--scale", "1000", "--task", "chaos.nope", "--plugin-dir", pluginDir, "--dir", t.TempDir()}
	expectFail(t, runCLI(t, nil, "", args...), 1, "no plugin in "+pluginDir+" offers task chaos.nope", args)
}
