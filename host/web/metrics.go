package web

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/batchhost/batchhost/host"
)

// durationBuckets spans a millisecond task to an hour-long one.
var durationBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}

// maxTracked bounds the jobs whose queue or attempt start the metrics
// remember (about 100 bytes each). Beyond it a job's wait or attempt is not
// observed rather than memory growing without end.
const maxTracked = 1 << 18

// metrics turns the host's event stream into Prometheus counters and
// histograms, and reads gauges from Stats and Sources at scrape time. Job
// ids never become labels: tasks, plugins, states, priorities and error
// kinds are all bounded sets.
type metrics struct {
	reg *prometheus.Registry

	submitted   *prometheus.CounterVec
	finished    *prometheus.CounterVec
	failures    *prometheus.CounterVec
	crashes     *prometheus.CounterVec // nil when Sources.PluginCrashes is set
	attempts    *prometheus.HistogramVec
	queueWait   *prometheus.HistogramVec
	eventsLost  prometheus.Counter
	commitLat   prometheus.Histogram
	commitBatch prometheus.Histogram

	// Only the hub's goroutine touches these.
	queuedAt  map[string]time.Time
	startedAt map[string]time.Time
}

func newMetrics(h *host.Host, src Sources) *metrics {
	m := &metrics{
		reg:       prometheus.NewRegistry(),
		queuedAt:  map[string]time.Time{},
		startedAt: map[string]time.Time{},
		submitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "batchhost_jobs_submitted_total",
			Help: "Jobs submitted (created jobs moved to queued or waiting), by task.",
		}, []string{"task"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "batchhost_jobs_finished_total",
			Help: "Jobs that reached a final state, by task and outcome (completed, failed, canceled).",
		}, []string{"task", "outcome"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "batchhost_attempt_failures_total",
			Help: "Attempts that ended in an error, retried or not, by task and error kind.",
		}, []string{"task", "kind"}),
		attempts: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "batchhost_attempt_duration_seconds",
			Help:    "Time from an attempt's start to its end (paused time included), by task and outcome (completed, retry, failed, canceled).",
			Buckets: durationBuckets,
		}, []string{"task", "outcome"}),
		queueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "batchhost_queue_wait_seconds",
			Help:    "Time from a job entering the queue to its attempt's start, by task; includes any run-at delay or retry backoff.",
			Buckets: durationBuckets,
		}, []string{"task"}),
		eventsLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "batchhost_web_events_lost_total",
			Help: "Host events the dashboard fell too far behind to see; the event-based metrics undercount by as much.",
		}),
	}
	m.reg.MustRegister(m.submitted, m.finished, m.failures, m.attempts, m.queueWait, m.eventsLost,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&hostCollector{h: h, src: src})
	if src.PluginCrashes == nil {
		m.crashes = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "batchhost_plugin_crashes_total",
			Help: "Plugin processes that crashed during an attempt, by plugin and kind (exit, signal, killed, stream).",
		}, []string{"plugin", "kind"})
		m.reg.MustRegister(m.crashes)
	}
	if src.ObserveCommits != nil {
		m.commitLat = prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "batchhost_store_commit_seconds",
			Help:    "Latency of a store commit, fsync included.",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1},
		})
		m.commitBatch = prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "batchhost_store_commit_batch_size",
			Help:    "Changes written by one store commit (group commit).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		})
		m.reg.MustRegister(m.commitLat, m.commitBatch)
	}
	return m
}

// observeCommit is the store's commit hook.
func (m *metrics) observeCommit(latency time.Duration, changes int) {
	m.commitLat.Observe(latency.Seconds())
	m.commitBatch.Observe(float64(changes))
}

// observe accounts one event. It runs on the hub's goroutine only.
func (m *metrics) observe(ev *host.Event) {
	if ev.Remote {
		return // another host's: its own metrics count it, so that the hosts' sums are right
	}
	switch ev.Type {
	case host.EventLagged:
		m.eventsLost.Add(float64(ev.Dropped))
		// Starts and queue entries may have been missed: forget them all
		// rather than observe a wrong duration.
		clear(m.queuedAt)
		clear(m.startedAt)
		return
	case host.EventJobState:
	default:
		return
	}
	task := ev.Task
	if ev.PrevState == host.StateCreated && (ev.State == host.StateQueued || ev.State == host.StateWaiting) {
		m.submitted.WithLabelValues(task).Inc()
	}
	if ev.PrevState == host.StateRunning && ev.State != host.StatePaused {
		m.attemptEnded(ev)
	}
	if ev.PrevState == host.StateQueued {
		if q, ok := m.queuedAt[ev.Job]; ok {
			delete(m.queuedAt, ev.Job)
			if ev.State == host.StateRunning {
				m.queueWait.WithLabelValues(task).Observe(nonNegative(ev.Time.Sub(q)))
			}
		}
	}
	switch ev.State {
	case host.StateQueued:
		track(m.queuedAt, ev.Job, ev.Time)
	case host.StateRunning:
		if ev.PrevState != host.StatePaused {
			track(m.startedAt, ev.Job, ev.Time)
		}
	case host.StateCompleted, host.StateFailed, host.StateCanceled:
		m.finished.WithLabelValues(task, string(ev.State)).Inc()
		delete(m.queuedAt, ev.Job)
		delete(m.startedAt, ev.Job)
	}
}

// attemptEnded accounts an attempt that left running for anything but a
// pause.
func (m *metrics) attemptEnded(ev *host.Event) {
	outcome := string(ev.State)
	if ev.State == host.StateQueued || ev.State == host.StateWaiting {
		outcome = "retry"
	}
	if start, ok := m.startedAt[ev.Job]; ok {
		delete(m.startedAt, ev.Job)
		m.attempts.WithLabelValues(ev.Task, outcome).Observe(nonNegative(ev.Time.Sub(start)))
	}
	if ev.State == host.StateCompleted || ev.Error == nil {
		return
	}
	m.failures.WithLabelValues(ev.Task, string(ev.Error.Kind)).Inc()
	if m.crashes != nil && ev.Error.Kind == "plugin_crashed" {
		plugin, _, _ := strings.Cut(ev.Task, ".")
		m.crashes.WithLabelValues(plugin, crashKind(ev.Error.Exit)).Inc()
	}
}

// crashKind sorts a crash's exit description ("exit status 2",
// "signal: killed") into a small label set.
func crashKind(exit string) string {
	switch {
	case strings.HasPrefix(exit, "signal"):
		return "signal"
	case strings.HasPrefix(exit, "exit status"):
		return "exit"
	case exit == "":
		return "stream"
	case strings.HasPrefix(exit, "killed"):
		return "killed"
	}
	return "other"
}

func track(m map[string]time.Time, id string, t time.Time) {
	if _, ok := m[id]; ok || len(m) < maxTracked {
		m[id] = t
	}
}

func nonNegative(d time.Duration) float64 { return max(d, 0).Seconds() }

// hostCollector reads the gauges at scrape time, so they are never stale.
type hostCollector struct {
	h   *host.Host
	src Sources
}

var (
	descJobs        = prometheus.NewDesc("batchhost_jobs", "Stored jobs by state.", []string{"state"}, nil)
	descQueued      = prometheus.NewDesc("batchhost_jobs_queued", "Queued jobs (ready or delayed) by priority.", []string{"priority"}, nil)
	descByPriority  = prometheus.NewDesc("batchhost_jobs_by_priority", "Unfinished jobs by state and priority.", []string{"state", "priority"}, nil)
	descOldest      = prometheus.NewDesc("batchhost_queue_oldest_age_seconds", "Age of the oldest ready job, by priority (0 when none is ready).", []string{"priority"}, nil)
	descBusy        = prometheus.NewDesc("batchhost_workers_busy", "Attempts running now.", nil, nil)
	descMaxWorkers  = prometheus.NewDesc("batchhost_workers", "Attempts that may run at once (MaxWorkers).", nil, nil)
	descPaused      = prometheus.NewDesc("batchhost_dispatch_paused", "1 while dispatch is paused.", nil, nil)
	descProcs       = prometheus.NewDesc("batchhost_plugin_processes", "Live plugin processes by plugin.", []string{"plugin"}, nil)
	descStarts      = prometheus.NewDesc("batchhost_plugin_process_starts_total", "Plugin processes started, by plugin.", []string{"plugin"}, nil)
	descCrashSource = prometheus.NewDesc("batchhost_plugin_crashes_total", "Plugin processes that died unasked, by plugin and kind.", []string{"plugin", "kind"}, nil)
)

func (c *hostCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descJobs, descQueued, descBusy, descMaxWorkers, descPaused} {
		ch <- d
	}
	if c.src.CountsByPriority != nil {
		ch <- descByPriority
	}
	if c.src.OldestReady != nil {
		ch <- descOldest
	}
	if c.src.PluginProcesses != nil {
		ch <- descProcs
	}
	if c.src.PluginStarts != nil {
		ch <- descStarts
	}
	if c.src.PluginCrashes != nil {
		ch <- descCrashSource
	}
}

func (c *hostCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	st, err := c.h.Stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descJobs, err)
	} else {
		for _, s := range allStates {
			gauge(descJobs, float64(st.Counts[s]), string(s))
		}
		for _, p := range allPriorities {
			gauge(descQueued, float64(st.QueueDepth[p.String()]), p.String())
		}
		gauge(descBusy, float64(st.BusyWorkers))
		gauge(descMaxWorkers, float64(st.MaxWorkers))
		gauge(descPaused, boolFloat(st.DispatchPaused))
	}
	if c.src.CountsByPriority != nil {
		byp, err := c.src.CountsByPriority(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(descByPriority, err)
		}
		for _, s := range allStates {
			if _, ok := byp[s]; !ok || err != nil {
				continue
			}
			for _, p := range allPriorities {
				gauge(descByPriority, float64(byp[s][p]), string(s), p.String())
			}
		}
	}
	if c.src.OldestReady != nil {
		oldest := c.src.OldestReady()
		now := time.Now()
		for _, p := range allPriorities {
			age := 0.0
			if t, ok := oldest[p]; ok {
				age = nonNegative(now.Sub(t))
			}
			gauge(descOldest, age, p.String())
		}
	}
	if c.src.PluginProcesses != nil {
		for plugin, n := range c.src.PluginProcesses() {
			gauge(descProcs, float64(n), plugin)
		}
	}
	if c.src.PluginStarts != nil {
		for plugin, n := range c.src.PluginStarts() {
			counter(descStarts, float64(n), plugin)
		}
	}
	if c.src.PluginCrashes != nil {
		for plugin, kinds := range c.src.PluginCrashes() {
			for kind, n := range kinds {
				counter(descCrashSource, float64(n), plugin, kind)
			}
		}
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// allStates and allPriorities fix the order gauges and pages list them in.
var (
	allStates = []host.State{host.StateCreated, host.StateWaiting, host.StateQueued, host.StateRunning,
		host.StatePaused, host.StateCompleted, host.StateFailed, host.StateCanceled}
	allPriorities = []host.Priority{host.PriorityCritical, host.PriorityHigh, host.PriorityNormal, host.PriorityLow}
)
