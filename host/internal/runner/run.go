package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/jsonshape"
	"github.com/batchhost/batchhost/proto/pluginpb"
)

// Attempt is one attempt of one job.
type Attempt struct {
	JobID       string
	Attempt     int
	MaxAttempts int
	Task        string // "<plugin>.<task>"
	Args        []byte
	// Timeout bounds the attempt's running time, not counting time paused.
	// 0 means none.
	Timeout time.Duration
	// StallTimeout fails the attempt when the plugin sends nothing
	// (progress, log, heartbeat) for this long while not paused. 0 means
	// none. Only such attempts ask the plugin for heartbeats.
	StallTimeout time.Duration
	// TraceParent and TraceState are the W3C trace context of the host's
	// span of the attempt, handed to the plugin; empty when untraced.
	TraceParent, TraceState string
}

// EventKind says what an Event carries.
type EventKind int

// The event kinds passed to the onEvent callback.
const (
	EventProgress EventKind = iota + 1
	EventLog
)

// Event is progress or a log record from a running attempt.
type Event struct {
	Kind     EventKind
	Time     time.Time
	Fraction float64
	Message  string
	Level    string          // log
	Fields   json.RawMessage // log, a JSON object or nil
}

// Outcome is how an attempt ended.
type Outcome struct {
	Output            []byte
	Err               *AttemptError
	Started, Finished time.Time
}

// AttemptError is why an attempt failed.
type AttemptError struct {
	Kind       errkind.Kind
	Message    string
	Retryable  bool
	RetryAfter time.Duration
	Exit       string // exit status or signal, for crashes
	Stderr     string // the plugin's last stderr lines, for crashes
}

func (e *AttemptError) Error() string {
	if e.Exit != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Kind, e.Message, e.Exit)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

// Internal cancel causes.
var (
	errTimeout = errors.New("attempt timed out")
	errStalled = errors.New("attempt stalled")
)

// Run is an attempt in progress.
type Run struct {
	m       *Manager
	pl      *plugin
	a       Attempt
	onEvent func(Event)
	done    chan struct{}
	out     Outcome

	// stopParent ends the watch on Start's ctx.
	stopParent func() bool

	mu       sync.Mutex
	p        *proc
	paused   bool
	over     bool // the attempt has ended: its process may already serve another
	cause    error
	cancelAt time.Time
	cancelFn context.CancelCauseFunc // protocol version 1: the Execute call's
	grace    *time.Timer             // ends a cancelled task that does not return
	seq      uint64                  // protocol version 2: the attempt's number in its process
	timeout  *pausableTimer
	stall    *pausableTimer
	finished bool // done is closed
	onDone   []func()
}

// Start begins an attempt and returns at once; the outcome is ready when
// Done is closed. onEvent is called from one goroutine, in the order the
// plugin sent the events, and never after Done is closed. Only an unknown
// task or a closed manager is an error; everything that goes wrong later
// is in the Outcome.
//
// With a warm process of a protocol version 2 plugin at hand, Start writes
// the attempt to the process and returns: no goroutine is started for it.
// Otherwise the attempt waits for a process being launched (see Prewarm).
// Cancelling ctx cancels the attempt (ErrCanceled).
func (m *Manager) Start(ctx context.Context, a Attempt, onEvent func(Event)) (*Run, error) {
	name, _, _ := strings.Cut(a.Task, ".")
	if onEvent == nil {
		onEvent = func(Event) {}
	}
	r := &Run{a: a, m: m, onEvent: onEvent, done: make(chan struct{}), out: Outcome{Started: time.Now()}}
	// Watched before anyone else sees r; a ctx already done cancels it
	// before it starts.
	if ctx.Done() != nil {
		r.stopParent = context.AfterFunc(ctx, func() { r.Cancel(ErrCanceled) })
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		r.unwatch()
		return nil, ErrClosed
	}
	pl := m.plugins[name]
	if _, known := m.tasks[a.Task]; !known || pl == nil {
		m.mu.Unlock()
		r.unwatch()
		return nil, m.unknownTask(a.Task)
	}
	r.pl = pl
	m.runs.Add(1)
	p := m.takeIdleLocked(pl)
	if p == nil {
		pl.waiting = append(pl.waiting, r)
		m.launchForWaitersLocked(pl)
	}
	m.mu.Unlock()
	if p != nil {
		r.attach(p)
	}
	return r, nil
}

// unwatch ends the watch on Start's ctx.
func (r *Run) unwatch() {
	if r.stopParent != nil {
		r.stopParent()
	}
}

// Done is closed when the attempt is over and its process settled.
func (r *Run) Done() <-chan struct{} { return r.done }

// Outcome is valid after Done is closed.
func (r *Run) Outcome() Outcome {
	<-r.done
	return r.out
}

// OnDone arranges for fn to be called once the attempt is over: after Done
// is closed, from the runner goroutine that closed it, or at once from the
// caller's if it is already closed. It lets a caller collect outcomes (in
// batches, say) without a goroutine per attempt waiting on Done. fn must
// not block for long: it holds up the next attempt of the process.
func (r *Run) OnDone(fn func()) {
	r.mu.Lock()
	if !r.finished {
		r.onDone = append(r.onDone, fn)
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	fn()
}

// PID is the plugin process's id, 0 before it has one.
func (r *Run) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p == nil {
		return 0
	}
	return r.p.pid
}

// Pause stops the plugin's process group (SIGSTOP) and the attempt's
// timeout and stall clocks.
func (r *Run) Pause() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paused || r.cause != nil || r.over {
		return nil
	}
	r.paused = true
	r.timeout.pause()
	r.stall.pause()
	if r.p != nil {
		return r.p.signal(syscall.SIGSTOP)
	}
	return nil
}

// Resume continues a paused attempt (SIGCONT) and its clocks.
func (r *Run) Resume() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.paused {
		return nil
	}
	r.paused = false
	r.timeout.resume()
	r.stall.resume()
	if r.p != nil {
		return r.p.signal(syscall.SIGCONT)
	}
	return nil
}

// Cancel stops the attempt: the task's context is cancelled; a plugin
// whose task has not returned after the kill grace is killed with its
// process group. cause is ErrCanceled or ErrInterrupted and decides the
// outcome's kind. Only the first cause counts.
func (r *Run) Cancel(cause error) {
	r.mu.Lock()
	waiting := r.cancelLocked(cause)
	r.mu.Unlock()
	// An attempt still waiting for a process ends here, unless a launch
	// took it meanwhile (attach then sees the cause).
	if waiting && r.m.unwait(r) {
		r.finish(nil, causeError(cause, r.a))
	}
}

// cancelLocked records cause and passes the cancel on; it reports whether
// the attempt has no process yet.
func (r *Run) cancelLocked(cause error) (waiting bool) {
	if r.cause != nil || r.over {
		return false
	}
	r.cause = cause
	r.cancelAt = time.Now()
	r.timeout.stop()
	r.stall.stop()
	if r.p == nil {
		return true
	}
	if r.paused {
		// A stopped process cannot see its cancellation; let it run to
		// return within the grace period.
		r.paused = false
		r.p.signal(syscall.SIGCONT)
	}
	if r.p.version == protocolV1 {
		r.cancelV1(r.p, cause)
	} else {
		r.sendCancel(r.p)
	}
	return false
}

// attach gives the attempt its process and sends it off.
func (r *Run) attach(p *proc) {
	r.mu.Lock()
	if r.cause != nil {
		// Cancelled while the process was on its way.
		cause := r.cause
		r.mu.Unlock()
		r.m.release(r.pl, p)
		r.finish(nil, causeError(cause, r.a))
		return
	}
	var frame *pluginpb.HostFrame
	if p.version == protocolV2 {
		var ok bool
		if frame, ok = r.startV2(p); !ok {
			// The process died while idle, after it was taken from the
			// pool: the attempt never reached it and waits for another.
			r.mu.Unlock()
			r.m.requeue(r)
			return
		}
	}
	r.p = p
	if r.paused {
		p.signal(syscall.SIGSTOP)
	}
	r.timeout = newPausableTimer(r.a.Timeout, r.paused, func() { r.Cancel(errTimeout) })
	r.stall = newPausableTimer(r.a.StallTimeout, r.paused, func() { r.Cancel(errStalled) })
	if p.version == protocolV1 {
		ctx, cancel := context.WithCancelCause(context.Background())
		r.cancelFn = cancel
		r.mu.Unlock()
		go r.runV1(ctx, p)
		return
	}
	r.mu.Unlock()
	p.send(frame)
}

// request is the attempt as the plugin sees it.
func (r *Run) request(heartbeat time.Duration) *pluginpb.ExecuteRequest {
	req := &pluginpb.ExecuteRequest{
		JobId:               r.a.JobID,
		Attempt:             int32(r.a.Attempt),
		Task:                r.a.Task[len(r.pl.name)+1:],
		Args:                r.a.Args,
		HeartbeatIntervalMs: heartbeat.Milliseconds(),
		MaxAttempts:         int32(r.a.MaxAttempts),
		Traceparent:         r.a.TraceParent,
		Tracestate:          r.a.TraceState,
	}
	if r.a.Timeout > 0 {
		req.DeadlineUnixNano = time.Now().Add(r.a.Timeout).UnixNano()
	}
	return req
}

// event passes one of the plugin's events on; a heartbeat only proves the
// attempt alive.
func (r *Run) event(ev *pluginpb.ExecuteEvent) {
	if r.stall != nil {
		r.mu.Lock()
		r.stall.reset()
		r.mu.Unlock()
	}
	switch e := ev.GetEvent().(type) {
	case *pluginpb.ExecuteEvent_Progress:
		r.onEvent(Event{Kind: EventProgress, Time: time.Now(), Fraction: e.Progress.GetFraction(), Message: jsonshape.Text(e.Progress.GetMessage())})
	case *pluginpb.ExecuteEvent_Log:
		t := time.Now()
		if ns := e.Log.GetTimeUnixNano(); ns > 0 {
			t = time.Unix(0, ns)
		}
		var fields json.RawMessage
		// Fields the log file could not read back are dropped.
		if f := e.Log.GetFieldsJson(); len(f) > 0 && json.Valid(f) && jsonshape.Check(f) == nil {
			fields = f
		}
		r.onEvent(Event{Kind: EventLog, Time: t, Level: levelName(e.Log.GetLevel()), Message: jsonshape.Text(e.Log.GetMessage()), Fields: fields})
	}
}

// end marks the attempt over, stops its clocks and continues a process
// stopped after its task returned, before anyone else gets it. It returns
// the cancel cause, if any.
func (r *Run) end() (cause error, cancelAt time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timeout.stop()
	r.stall.stop()
	if r.grace != nil {
		r.grace.Stop()
	}
	r.over = true
	if r.paused {
		r.paused = false
		r.p.signal(syscall.SIGCONT)
	}
	return r.cause, r.cancelAt
}

// returned records the result of a task that returned: the process is
// free whatever else happened.
func (r *Run) returned(p *proc, res *pluginpb.Result) {
	cause, _ := r.end()
	out, e := fromResult(res)
	if e != nil && cause != nil {
		e = causeError(cause, r.a)
	}
	r.m.release(r.pl, p)
	r.finish(out, e)
}

// finish records the outcome, closes Done and calls the OnDone functions.
func (r *Run) finish(out []byte, e *AttemptError) {
	r.unwatch()
	r.out.Output, r.out.Err, r.out.Finished = out, e, time.Now()
	close(r.done)
	r.mu.Lock()
	r.finished = true
	fns := r.onDone
	r.onDone = nil
	r.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
	r.m.runs.Done()
}

// startFailed ends an attempt whose process could not be launched.
func (r *Run) startFailed(err error) {
	e := &AttemptError{Kind: errkind.PluginCrashed, Retryable: true,
		Message: fmt.Sprintf("could not start plugin %s: %v", r.pl.name, err)}
	if errors.Is(err, ErrClosed) {
		e = &AttemptError{Kind: errkind.Interrupted, Retryable: true, Message: "host is shutting down"}
	}
	r.finish(nil, e)
}

// crash describes an attempt whose process broke off without a result: it
// exited, was killed, or closed its end. The process is discarded.
func (r *Run) crash(p *proc, broken error) *AttemptError {
	exit, ok := p.waitExit(2 * time.Second)
	kind := exitKind(exit)
	if !ok {
		// The channel broke but the process lives on: it is not to be trusted.
		p.signal(syscall.SIGKILL)
		exit, _ = p.waitExit(killWatchdog)
		if exit == "" {
			exit = "killed after its stream broke"
		}
	}
	r.m.discard(p)
	r.m.stats.crashed(r.pl.name, kind)
	stderr := p.stderr.String()
	msg := fmt.Sprintf("plugin %s exited during the attempt", r.pl.name)
	if exit == "" {
		msg = fmt.Sprintf("plugin %s broke the attempt's stream: %v", r.pl.name, oneLine(errString(broken)))
	}
	marker := p.stderr.Marker()
	switch {
	case p.memLimit > 0 && (strings.Contains(marker, "out of memory") || strings.Contains(stderr, "cannot allocate memory")):
		msg = fmt.Sprintf("plugin %s ran out of memory: it exceeded its memory limit of %d MiB", r.pl.name, p.memLimit>>20)
	case marker != "":
		// A Go crash: its first line says why; the tail is goroutine frames.
		msg += ": " + oneLine(marker)
	case lastLine(strings.TrimSpace(stderr)) != "":
		msg += ": " + oneLine(lastLine(strings.TrimSpace(stderr)))
	}
	if marker != "" && !strings.Contains(stderr, marker) {
		stderr = marker + "\n...\n" + stderr
	}
	return &AttemptError{Kind: errkind.PluginCrashed, Message: msg, Retryable: true, Exit: exit, Stderr: stderr}
}

func errString(err error) string {
	if err == nil {
		return "stream ended without a result"
	}
	return err.Error()
}

func causeError(cause error, a Attempt) *AttemptError {
	switch cause {
	case errTimeout:
		return &AttemptError{Kind: errkind.Timeout, Retryable: true, Message: fmt.Sprintf("attempt exceeded its timeout of %s", a.Timeout)}
	case errStalled:
		return &AttemptError{Kind: errkind.Stalled, Retryable: true, Message: fmt.Sprintf("plugin sent nothing for %s (stall timeout)", a.StallTimeout)}
	case ErrInterrupted:
		return &AttemptError{Kind: errkind.Interrupted, Retryable: true, Message: "interrupted by host shutdown"}
	}
	return &AttemptError{Kind: errkind.Canceled, Message: "canceled"}
}

func fromResult(res *pluginpb.Result) ([]byte, *AttemptError) {
	if te := res.GetError(); te != nil {
		return nil, &AttemptError{Kind: errkind.FromProto(te.GetKind()), Message: te.GetMessage(),
			Retryable: te.GetRetryable(), RetryAfter: time.Duration(te.GetRetryAfterMs()) * time.Millisecond}
	}
	return res.GetOutput(), nil
}

func levelName(l pluginpb.LogLevel) string {
	switch l {
	case pluginpb.LogLevel_LOG_LEVEL_TRACE:
		return "trace"
	case pluginpb.LogLevel_LOG_LEVEL_DEBUG:
		return "debug"
	case pluginpb.LogLevel_LOG_LEVEL_WARN:
		return "warn"
	case pluginpb.LogLevel_LOG_LEVEL_ERROR:
		return "error"
	}
	return "info"
}
