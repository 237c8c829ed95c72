package sdk

import (
	"context"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
	"github.com/batchhost/batchhost/sdk/internal/testhook"
)

// Heartbeat intervals: the default when the host does not ask for one, and
// the floor that keeps a misconfigured host from flooding its own stream.
const (
	defaultHeartbeat = time.Second
	minHeartbeat     = 10 * time.Millisecond
)

// maxOutput is the largest result that fits one protocol message, with
// room for the envelope.
const maxOutput = pluginrpc.MaxMessageBytes - 4<<10

// server implements the plugin side of the protocol for one Plugin.
type server struct {
	pluginpb.UnimplementedTaskPluginServer
	describe *pluginpb.DescribeResponse
	tasks    map[string]Task
	names    string // the task names, for the unknown_task message
	opts     testhook.Options
	// running counts tasks that have not returned, including ones whose
	// stream the host has cancelled: the host waits for 0 before it
	// reuses the process.
	running atomic.Int32
}

func init() {
	testhook.NewServer = func(p any, o testhook.Options) (pluginpb.TaskPluginServer, error) {
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

// Execute runs one attempt: the task's ctx is the stream's ctx, events are
// sent in the order the task makes them, heartbeats go out while it runs,
// and exactly one Result ends the stream. Problems the task reports travel
// as data in that Result, never as a gRPC error.
func (s *server) Execute(req *pluginpb.ExecuteRequest, stream grpc.ServerStreamingServer[pluginpb.ExecuteEvent]) error {
	if s.opts.ExecuteDone != nil {
		defer s.opts.ExecuteDone()
	}
	events := &sender{stream: stream}
	t, ok := s.tasks[req.GetTask()]
	if !ok {
		return events.finish(&pluginpb.Result{Outcome: &pluginpb.Result_Error{Error: &pluginpb.TaskError{
			Kind:    pluginpb.ErrorKind_ERROR_KIND_UNKNOWN_TASK,
			Message: fmt.Sprintf("unknown task %q: plugin %q offers %s", req.GetTask(), s.describe.Name, s.names),
		}}})
	}

	interval := time.Duration(req.GetHeartbeatIntervalMs()) * time.Millisecond
	if interval <= 0 {
		interval = defaultHeartbeat
	}
	interval = max(interval, minHeartbeat)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { events.heartbeats(interval, stop) })

	s.running.Add(1)
	out, err := s.run(stream.Context(), t, newJob(req, events), req.GetArgs())
	s.running.Add(-1)

	close(stop)
	wg.Wait()
	return events.finish(result(out, err))
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
		err = Permanent(fmt.Errorf("the result is %d bytes, over the protocol limit of %d", len(out), maxOutput))
	}
	if err != nil {
		return &pluginpb.Result{Outcome: &pluginpb.Result_Error{Error: toTaskError(err)}}
	}
	return &pluginpb.Result{Outcome: &pluginpb.Result_Output{Output: out}}
}
