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
	// none.
	StallTimeout time.Duration
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

	mu       sync.Mutex
	p        *proc
	paused   bool
	over     bool // the attempt has ended: its process may already serve another
	cause    error
	cancelAt time.Time
	cancelFn context.CancelCauseFunc
	timeout  *pausableTimer
	stall    *pausableTimer
}

// Start begins an attempt and returns at once; the outcome is ready when
// Done is closed. onEvent is called from one goroutine, in the order the
// plugin sent the events, and never after Done is closed. Only an unknown
// task or a closed manager is an error; everything that goes wrong later
// is in the Outcome.
func (m *Manager) Start(ctx context.Context, a Attempt, onEvent func(Event)) (*Run, error) {
	name, _, _ := strings.Cut(a.Task, ".")
	m.mu.Lock()
	closed := m.closed
	pl := m.plugins[name]
	_, known := m.tasks[a.Task]
	if !closed && known {
		m.runs.Add(1)
	}
	m.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if !known || pl == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownTask, a.Task)
	}
	if onEvent == nil {
		onEvent = func(Event) {}
	}
	r := &Run{m: m, pl: pl, a: a, onEvent: onEvent, done: make(chan struct{})}
	go r.run(ctx)
	return r, nil
}

// Done is closed when the attempt is over and its process settled.
func (r *Run) Done() <-chan struct{} { return r.done }

// Outcome is valid after Done is closed.
func (r *Run) Outcome() Outcome {
	<-r.done
	return r.out
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
	defer r.mu.Unlock()
	r.cancelLocked(cause)
}

func (r *Run) cancelLocked(cause error) {
	if r.cause != nil {
		return
	}
	r.cause = cause
	r.cancelAt = time.Now()
	r.timeout.stop()
	r.stall.stop()
	if r.paused {
		// A stopped process cannot see its cancellation; let it run to
		// return within the grace period.
		r.paused = false
		if r.p != nil {
			r.p.signal(syscall.SIGCONT)
		}
	}
	if r.cancelFn != nil {
		r.cancelFn(cause)
	}
}

func (r *Run) run(parent context.Context) {
	defer r.m.runs.Done()
	defer close(r.done)
	r.out.Started = time.Now()
	defer func() { r.out.Finished = time.Now() }()

	p, err := r.m.acquire(r.pl)
	if err != nil {
		r.out.Err = &AttemptError{Kind: errkind.PluginCrashed, Retryable: true,
			Message: fmt.Sprintf("could not start plugin %s: %v", r.pl.name, err)}
		if errors.Is(err, ErrClosed) {
			r.out.Err = &AttemptError{Kind: errkind.Interrupted, Retryable: true, Message: "host is shutting down"}
		}
		return
	}
	// The caller's ctx ending means cancel, not a broken stream: the stream
	// itself runs on its own ctx so that a cancel is told apart from a crash.
	stop := context.AfterFunc(parent, func() { r.Cancel(ErrCanceled) })
	defer stop()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	r.mu.Lock()
	r.p = p
	r.cancelFn = cancel
	if r.cause != nil {
		cancel(r.cause)
	}
	if r.paused {
		p.signal(syscall.SIGSTOP)
	}
	r.timeout = newPausableTimer(r.a.Timeout, r.paused, func() { r.Cancel(errTimeout) })
	r.stall = newPausableTimer(r.a.StallTimeout, r.paused, func() { r.Cancel(errStalled) })
	r.mu.Unlock()

	result, streamErr := r.execute(ctx, p)

	r.mu.Lock()
	r.timeout.stop()
	r.stall.stop()
	cause, cancelAt := r.cause, r.cancelAt
	r.over = true
	if r.paused {
		// Stopped after the task returned: continue it before anyone
		// else gets it.
		r.paused = false
		p.signal(syscall.SIGCONT)
	}
	r.mu.Unlock()

	switch {
	case result != nil:
		// The task returned, so the process is free whatever else happened.
		r.out.Output, r.out.Err = fromResult(result)
		if r.out.Err != nil && cause != nil {
			r.out.Err = causeError(cause, r.a)
		}
		r.m.release(r.pl, p)
	case cause != nil:
		r.out.Err = causeError(cause, r.a)
		r.settle(p, cancelAt)
	default:
		r.out.Err = r.crash(p, streamErr)
	}
}

// execute runs the Execute stream until its result or its end.
func (r *Run) execute(ctx context.Context, p *proc) (*pluginpb.Result, error) {
	req := &pluginpb.ExecuteRequest{
		JobId:               r.a.JobID,
		Attempt:             int32(r.a.Attempt),
		Task:                r.a.Task[len(r.pl.name)+1:],
		Args:                r.a.Args,
		HeartbeatIntervalMs: r.m.cfg.HeartbeatInterval.Milliseconds(),
		MaxAttempts:         int32(r.a.MaxAttempts),
	}
	if r.a.Timeout > 0 {
		req.DeadlineUnixNano = time.Now().Add(r.a.Timeout).UnixNano()
	}
	stream, err := p.rpc.Execute(ctx, req)
	if err != nil {
		return nil, err
	}
	for {
		ev, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		r.stall.reset()
		r.mu.Unlock()
		switch e := ev.GetEvent().(type) {
		case *pluginpb.ExecuteEvent_Progress:
			r.onEvent(Event{Kind: EventProgress, Time: time.Now(), Fraction: e.Progress.GetFraction(), Message: e.Progress.GetMessage()})
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
			r.onEvent(Event{Kind: EventLog, Time: t, Level: levelName(e.Log.GetLevel()), Message: e.Log.GetMessage(), Fields: fields})
		case *pluginpb.ExecuteEvent_Result:
			return e.Result, nil
		}
	}
}

// settle decides, after a cancel, whether the process can take another
// attempt: it can once the plugin reports its task returned; if that has
// not happened when the kill grace is over, the process group is killed.
func (r *Run) settle(p *proc, cancelAt time.Time) {
	deadline := cancelAt.Add(r.m.cfg.KillGrace)
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		n, err := p.running(ctx)
		cancel()
		if err == nil && n == 0 {
			r.m.release(r.pl, p)
			return
		}
		if err != nil || time.Now().After(deadline) {
			r.m.discard(p)
			return
		}
		time.Sleep(settlePoll)
	}
}

// settlePoll is how often a cancelled attempt's plugin is asked whether
// its task has returned.
const settlePoll = 20 * time.Millisecond

// crash describes a stream that broke without a result: the plugin
// exited, was killed, or closed the stream. The process is discarded.
func (r *Run) crash(p *proc, streamErr error) *AttemptError {
	exit, ok := p.waitExit(2 * time.Second)
	if !ok {
		// The stream broke but the process lives on: it is not to be trusted.
		p.signal(syscall.SIGKILL)
		exit, _ = p.waitExit(killWatchdog)
		if exit == "" {
			exit = "killed after its stream broke"
		}
	}
	r.m.discard(p)
	stderr := p.stderr.String()
	msg := fmt.Sprintf("plugin %s exited during the attempt", r.pl.name)
	if exit == "" {
		msg = fmt.Sprintf("plugin %s broke the attempt's stream: %v", r.pl.name, oneLine(errString(streamErr)))
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
