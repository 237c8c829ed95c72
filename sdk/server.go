package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
	"github.com/batchhost/batchhost/sdk/internal/testhook"
)

// minHeartbeat is the floor of the heartbeat interval, which keeps a
// misconfigured host from flooding its own channel.
const minHeartbeat = 10 * time.Millisecond

// maxOutput is the largest result that fits one protocol message, with
// room for the envelope.
const maxOutput = pluginrpc.MaxMessageBytes - 4<<10

// errHostCanceled is the cause of a task's ctx when the host cancels the
// attempt (a user's cancel, a timeout or a shutdown: the host alone tells
// them apart).
var errHostCanceled = errors.New("the host canceled the attempt")

// server implements the plugin side of the protocol for one Plugin:
// Describe over gRPC, attempts on the attempt channel.
type server struct {
	pluginpb.UnimplementedTaskPluginServer
	describe *pluginpb.DescribeResponse
	tasks    map[string]Task
	names    string // the task names, for the unknown_task message
	opts     testhook.Options
	// running counts tasks that have not returned, including cancelled
	// ones; Describe reports it.
	running atomic.Int32
}

func init() {
	testhook.NewServer = func(p any, o testhook.Options) (testhook.Server, error) {
		pl, ok := p.(Plugin)
		if !ok {
			return nil, fmt.Errorf("testhook: want sdk.Plugin, got %T", p)
		}
		return newServer(pl, o)
	}
}

func newServer(p Plugin, opts testhook.Options) (*server, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	s := &server{
		describe: &pluginpb.DescribeResponse{
			Name:                   p.Name,
			Version:                p.Version,
			FreshProcessPerAttempt: p.FreshProcessPerAttempt,
			SdkVersion:             sdkVersion(),
		},
		tasks: make(map[string]Task, len(p.Tasks)),
		opts:  opts,
	}
	names := make([]string, 0, len(p.Tasks))
	for _, t := range p.Tasks {
		s.tasks[t.name] = t
		s.describe.Tasks = append(s.describe.Tasks, &pluginpb.TaskInfo{Name: t.name, Description: t.description})
		names = append(names, t.name)
	}
	sort.Strings(names)
	s.names = strings.Join(names, ", ")
	return s, nil
}

// Describe answers with the plugin's name, version and tasks, and how many
// tasks are still running.
func (s *server) Describe(context.Context, *pluginpb.DescribeRequest) (*pluginpb.DescribeResponse, error) {
	d := proto.CloneOf(s.describe)
	d.Running = s.running.Load()
	return d, nil
}

// attempt is one attempt in progress.
type attempt struct {
	seq    uint64
	req    *pluginpb.ExecuteRequest
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// channel serves one attempt channel and the cancels for its attempts.
type channel struct {
	s    *server
	c    *pluginrpc.Conn
	stop chan error // why serving ended: the first of the two readers to end

	mu        sync.Mutex
	cur       *attempt // the attempt whose task has not returned
	cancelled uint64   // the highest seq cancelled
}

// ServeAttempts runs the attempts the host starts on c, one at a time,
// each on the goroutine that reads c: a short attempt costs one read and
// one write, and no goroutine switch. The host's cancels come from
// cancels (the lifeline), read on a goroutine of their own. It returns
// when either ends (io.EOF: the host closed it or is gone) or the host
// breaks the protocol, and closes c. A task still running then is
// cancelled and left to return on its own.
func (s *server) ServeAttempts(c *pluginrpc.Conn, cancels io.Reader) error {
	ch := &channel{s: s, c: c, stop: make(chan error, 2)}
	go func() { ch.stop <- pluginrpc.ReadCancels(cancels, ch.cancelSeq) }()
	go func() { ch.stop <- ch.read() }()
	err := <-ch.stop
	ch.cancel(func(*attempt) bool { return true })
	c.Close()
	return err
}

// read reads start frames and runs their attempts until the channel ends.
func (ch *channel) read() error {
	for {
		f := &pluginpb.HostFrame{}
		if err := ch.c.Read(f); err != nil {
			return err
		}
		req := f.GetStart()
		if req == nil {
			continue // a frame of a later protocol revision
		}
		ctx, cancel := context.WithCancelCause(context.Background())
		a := &attempt{seq: f.GetSeq(), req: req, ctx: ctx, cancel: cancel}
		ch.mu.Lock()
		busy := ch.cur != nil
		if !busy {
			ch.cur = a
			if a.seq <= ch.cancelled {
				// Its cancel overtook its start.
				cancel(errHostCanceled)
			}
		}
		ch.mu.Unlock()
		if busy {
			cancel(nil)
			return errors.New("attempt channel: the host started an attempt while one was running")
		}
		ch.s.execute(ch.c, a, func() {
			ch.mu.Lock()
			ch.cur = nil
			ch.mu.Unlock()
		})
	}
}

// cancelSeq cancels attempt seq: now if it is running, at its start if it
// has not started yet.
func (ch *channel) cancelSeq(seq uint64) {
	ch.cancel(func(a *attempt) bool { return a.seq == seq })
	ch.mu.Lock()
	ch.cancelled = max(ch.cancelled, seq)
	ch.mu.Unlock()
}

// cancel cancels the running task, if it is one which says.
func (ch *channel) cancel(which func(*attempt) bool) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.cur != nil && which(ch.cur) {
		ch.cur.cancel(errHostCanceled)
	}
}

// execute runs one attempt: the task's events are sent in the order the
// task makes them, heartbeats go out if the host asked for them, and
// exactly one Result ends the attempt. Problems the task reports travel as
// data in that Result. idle is called once the task has returned, before
// the Result goes out: from then on a cancel is for nothing, and the host
// may start the next attempt as soon as it has the Result.
func (s *server) execute(c *pluginrpc.Conn, a *attempt, idle func()) {
	defer a.cancel(nil)
	req := a.req
	events := &sender{conn: c}
	t, ok := s.tasks[req.GetTask()]
	if !ok {
		idle()
		events.finish(&pluginpb.Result{Outcome: &pluginpb.Result_Error{Error: &pluginpb.TaskError{
			Kind:    pluginpb.ErrorKind_ERROR_KIND_UNKNOWN_TASK,
			Message: fmt.Sprintf("unknown task %q: plugin %q offers %s", req.GetTask(), s.describe.Name, s.names),
		}}})
		return
	}
	if ms := req.GetHeartbeatIntervalMs(); ms > 0 {
		events.heartbeats(max(time.Duration(ms)*time.Millisecond, minHeartbeat))
	}
	ctx := withTrace(a.ctx, req)
	s.running.Add(1)
	out, err := s.run(ctx, t, newJob(ctx, req, events), req.GetArgs())
	s.running.Add(-1)
	idle()
	events.finish(result(out, err))
}

// run calls the task. A panic is not recovered in a plugin binary: it
// kills the process with the Go trace on stderr, which is what the host
// needs to classify the attempt as plugin_crashed, and a process whose task
// panicked may hold broken state that must not serve the next job. Only
// sdktest, whose tasks run inside the test binary, turns recovery on.
func (s *server) run(ctx context.Context, t Task, job *Job, args []byte) (out []byte, err error) {
	if s.opts.RecoverPanics {
		defer func() {
			if v := recover(); v != nil {
				out, err = nil, &panicError{value: v, stack: debug.Stack()}
			}
		}()
	}
	return t.run(ctx, job, args)
}

func result(out []byte, err error) *pluginpb.Result {
	if err == nil && len(out) > maxOutput {
		// result_too_large, as the host reports a result over its own
		// limit: not a task's permanent error.
		err = &kindError{err: fmt.Errorf("the result is %d bytes, over the %d a plugin can send", len(out), maxOutput),
			kind: pluginpb.ErrorKind_ERROR_KIND_RESULT_TOO_LARGE}
	}
	if err != nil {
		return &pluginpb.Result{Outcome: &pluginpb.Result_Error{Error: toTaskError(err)}}
	}
	return &pluginpb.Result{Outcome: &pluginpb.Result_Output{Output: out}}
}
