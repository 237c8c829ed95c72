package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/batchhost/batchhost/host"
	pb "github.com/batchhost/batchhost/proto/controlpb"
)

// Client talks to a host's control socket. Its methods mirror host.Host's
// and return the same errors: errors.Is(err, host.ErrNotFound) works on
// both sides. When the host cannot be reached the error wraps ErrNoHost.
type Client struct {
	path string
	conn *grpc.ClientConn
	rpc  pb.ControlClient
}

// Dial connects to the host serving socketPath. It fails at once, with an
// error wrapping ErrNoHost that says how to start one, when nothing
// listens there.
func Dial(ctx context.Context, socketPath string) (*Client, error) {
	c := &Client{path: socketPath}
	// gRPC connects lazily; probe the socket so that "no daemon" is one
	// clear error here rather than a retrying RPC later.
	var d net.Dialer
	probeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := d.DialContext(probeCtx, "unix", socketPath)
	if err != nil {
		return nil, c.dialError(err)
	}
	conn.Close()
	cc, err := grpc.NewClient("passthrough:///batchhost",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", socketPath)
		}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes)),
	)
	if err != nil {
		return nil, fmt.Errorf("control client: %w", err)
	}
	c.conn, c.rpc = cc, pb.NewControlClient(cc)
	return c, nil
}

func (c *Client) dialError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
		return c.noHost("")
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w: permission denied on %s (is the host running as another user?)", ErrNoHost, c.path)
	}
	return fmt.Errorf("%w: cannot reach %s: %v", ErrNoHost, c.path, err)
}

// noHost says that nobody answers and what to do about it.
func (c *Client) noHost(detail string) error {
	if detail != "" {
		return fmt.Errorf("%w: lost the host at %s (%s)", ErrNoHost, c.path, detail)
	}
	return &noHostError{path: c.path}
}

type noHostError struct{ path string }

func (e *noHostError) Error() string {
	return fmt.Sprintf("no host is running at %s (start one with \"batchhost serve\")", e.path)
}

func (e *noHostError) Is(target error) bool { return target == ErrNoHost }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// SocketPath is the socket the client talks to.
func (c *Client) SocketPath() string { return c.path }

// Submit creates and submits a job; see host.Host.Submit.
func (c *Client) Submit(ctx context.Context, spec host.JobSpec) (string, error) {
	ps, err := toProtoSpec(spec)
	if err != nil {
		return "", err
	}
	r, err := c.rpc.Submit(ctx, &pb.SubmitRequest{Spec: ps})
	if err != nil {
		return "", c.fromStatus(ctx, err)
	}
	return r.GetId(), nil
}

// SubmitMany submits jobs in one durable commit, all or none.
func (c *Client) SubmitMany(ctx context.Context, specs []host.JobSpec) ([]string, error) {
	req := &pb.SubmitManyRequest{Specs: make([]*pb.JobSpec, len(specs))}
	for i, s := range specs {
		ps, err := toProtoSpec(s)
		if err != nil {
			return nil, fmt.Errorf("job %d: %w", i+1, err)
		}
		req.Specs[i] = ps
	}
	r, err := c.rpc.SubmitMany(ctx, req)
	if err != nil {
		return nil, c.fromStatus(ctx, err)
	}
	return r.GetIds(), nil
}

// Create records a job in state created.
func (c *Client) Create(ctx context.Context, spec host.JobSpec) (string, error) {
	ps, err := toProtoSpec(spec)
	if err != nil {
		return "", err
	}
	r, err := c.rpc.Create(ctx, &pb.SubmitRequest{Spec: ps})
	if err != nil {
		return "", c.fromStatus(ctx, err)
	}
	return r.GetId(), nil
}

// SubmitCreated submits created jobs, all or none.
func (c *Client) SubmitCreated(ctx context.Context, ids ...string) error {
	_, err := c.rpc.Enqueue(ctx, &pb.IDsRequest{Ids: ids})
	return c.fromStatus(ctx, err)
}

// AddDependencies makes a created job wait for more jobs.
func (c *Client) AddDependencies(ctx context.Context, id string, deps ...host.Dep) error {
	if err := checkDeps(deps); err != nil {
		return err
	}
	_, err := c.rpc.AddDependencies(ctx, &pb.AddDependenciesRequest{Id: id, Deps: toProtoDeps(deps)})
	return c.fromStatus(ctx, err)
}

// Get returns a snapshot of a job.
func (c *Client) Get(ctx context.Context, id string) (*host.Job, error) {
	j, err := c.rpc.Get(ctx, &pb.IDRequest{Id: id})
	if err != nil {
		return nil, c.fromStatus(ctx, err)
	}
	return fromProtoJob(j), nil
}

// List returns a page of jobs, newest first, and the next page's cursor.
func (c *Client) List(ctx context.Context, f host.ListFilter) ([]*host.Job, string, error) {
	limit, err := wireInt("limit", f.Limit)
	if err != nil {
		return nil, "", err
	}
	req := &pb.ListRequest{Task: f.Task, Group: f.Group, Limit: limit, Before: f.Before, Label: f.Label, Search: f.Search}
	for _, p := range f.Priorities {
		req.Priorities = append(req.Priorities, toProtoPriority(p))
	}
	for _, s := range f.States {
		ps := toProtoState(s)
		if ps == pb.JobState_JOB_STATE_UNSPECIFIED {
			return nil, "", fmt.Errorf("%w: unknown state %q", host.ErrInvalid, s)
		}
		req.States = append(req.States, ps)
	}
	r, err := c.rpc.List(ctx, req)
	if err != nil {
		return nil, "", c.fromStatus(ctx, err)
	}
	jobs := make([]*host.Job, len(r.GetJobs()))
	for i, j := range r.GetJobs() {
		jobs[i] = fromProtoJob(j)
	}
	return jobs, r.GetNext(), nil
}

// Wait blocks until the job is finished and returns it.
func (c *Client) Wait(ctx context.Context, id string) (*host.Job, error) {
	j, err := c.rpc.Wait(ctx, &pb.IDRequest{Id: id})
	if err != nil {
		return nil, c.fromStatus(ctx, err)
	}
	return fromProtoJob(j), nil
}

// Result decodes a completed job's result into v (nil only checks; a
// *json.RawMessage takes it as it is). A job that did not complete gives an
// error matching host.ErrNotCompleted.
func (c *Client) Result(ctx context.Context, id string, v any) error {
	r, err := c.rpc.Result(ctx, &pb.IDRequest{Id: id})
	if err != nil {
		return c.fromStatus(ctx, err)
	}
	if v == nil || len(r.GetResult()) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.GetResult(), v); err != nil {
		return fmt.Errorf("decode result of %s: %w", id, err)
	}
	return nil
}

// Cancel cancels an unfinished job.
func (c *Client) Cancel(ctx context.Context, id string) error {
	_, err := c.rpc.Cancel(ctx, &pb.IDRequest{Id: id})
	return c.fromStatus(ctx, err)
}

// Pause pauses a queued, waiting or running job.
func (c *Client) Pause(ctx context.Context, id string) error {
	_, err := c.rpc.Pause(ctx, &pb.IDRequest{Id: id})
	return c.fromStatus(ctx, err)
}

// Resume resumes a paused job.
func (c *Client) Resume(ctx context.Context, id string) error {
	_, err := c.rpc.Resume(ctx, &pb.IDRequest{Id: id})
	return c.fromStatus(ctx, err)
}

// Retry runs a failed or canceled job again with a fresh attempt budget.
func (c *Client) Retry(ctx context.Context, id string) error {
	_, err := c.rpc.Retry(ctx, &pb.IDRequest{Id: id})
	return c.fromStatus(ctx, err)
}

// EachLog calls fn with each of a job's stored log records, oldest first,
// as they arrive: memory does not grow with the log. An error from fn
// stops the stream and is returned.
func (c *Client) EachLog(ctx context.Context, id string, fn func(host.LogRecord) error) error {
	return c.logs(ctx, id, false, fn)
}

// Logs returns a job's stored log records, oldest first, all in memory:
// for a log of any size, use EachLog.
func (c *Client) Logs(ctx context.Context, id string) ([]host.LogRecord, error) {
	var out []host.LogRecord
	err := c.logs(ctx, id, false, func(r host.LogRecord) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// FollowLogs calls fn with each of a job's log records, the stored ones
// first, then new ones as the job writes them; it returns when the job is
// finished (nil), ctx ends, or fn fails. Records of one attempt arrive in
// order; a few written just before the call may arrive at the job's end.
func (c *Client) FollowLogs(ctx context.Context, id string, fn func(host.LogRecord) error) error {
	return c.logs(ctx, id, true, fn)
}

func (c *Client) logs(ctx context.Context, id string, follow bool, fn func(host.LogRecord) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.rpc.Logs(ctx, &pb.LogsRequest{Id: id, Follow: follow})
	if err != nil {
		return c.fromStatus(ctx, err)
	}
	for {
		r, err := st.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return c.fromStatus(ctx, err)
		}
		if err := fn(fromProtoLog(r)); err != nil {
			return err
		}
	}
}

// CreateGroup creates an empty group and returns its id.
func (c *Client) CreateGroup(ctx context.Context, spec host.GroupSpec) (string, error) {
	r, err := c.rpc.CreateGroup(ctx, &pb.GroupSpec{Name: spec.Name, Sequential: spec.Sequential, CancelOnFailure: spec.CancelOnFailure})
	if err != nil {
		return "", c.fromStatus(ctx, err)
	}
	return r.GetId(), nil
}

// AddJobsToGroup adds created jobs to a group in order, all or none.
func (c *Client) AddJobsToGroup(ctx context.Context, groupID string, jobIDs ...string) error {
	if len(jobIDs) == 0 {
		return fmt.Errorf("%w: no jobs to add to group %s", host.ErrInvalid, groupID)
	}
	_, err := c.rpc.AddToGroup(ctx, &pb.AddToGroupRequest{Group: groupID, Jobs: jobIDs})
	return c.fromStatus(ctx, err)
}

// AddToGroup adds a created job to a group.
func (c *Client) AddToGroup(ctx context.Context, jobID, groupID string) error {
	_, err := c.rpc.AddToGroup(ctx, &pb.AddToGroupRequest{Job: jobID, Group: groupID})
	return c.fromStatus(ctx, err)
}

// GetGroup returns a group's status.
func (c *Client) GetGroup(ctx context.Context, id string) (*host.Group, error) {
	g, err := c.rpc.GetGroup(ctx, &pb.IDRequest{Id: id})
	if err != nil {
		return nil, c.fromStatus(ctx, err)
	}
	return fromProtoGroup(g), nil
}

// ListGroups returns groups newest first, a page at a time.
func (c *Client) ListGroups(ctx context.Context, before string, limit int) ([]*host.Group, string, error) {
	l, err := wireInt("limit", limit)
	if err != nil {
		return nil, "", err
	}
	r, err := c.rpc.ListGroups(ctx, &pb.ListGroupsRequest{Before: before, Limit: l})
	if err != nil {
		return nil, "", c.fromStatus(ctx, err)
	}
	out := make([]*host.Group, len(r.GetGroups()))
	for i, g := range r.GetGroups() {
		out[i] = fromProtoGroup(g)
	}
	return out, r.GetNext(), nil
}

// WaitGroup blocks until every member of the group is finished.
func (c *Client) WaitGroup(ctx context.Context, id string) (*host.Group, error) {
	g, err := c.rpc.WaitGroup(ctx, &pb.IDRequest{Id: id})
	if err != nil {
		return nil, c.fromStatus(ctx, err)
	}
	return fromProtoGroup(g), nil
}

// CancelGroup cancels every unfinished member.
func (c *Client) CancelGroup(ctx context.Context, id string) error {
	_, err := c.rpc.CancelGroup(ctx, &pb.IDRequest{Id: id})
	return c.fromStatus(ctx, err)
}

// PauseGroup pauses every member that can be paused.
func (c *Client) PauseGroup(ctx context.Context, id string) error {
	_, err := c.rpc.PauseGroup(ctx, &pb.IDRequest{Id: id})
	return c.fromStatus(ctx, err)
}

// ResumeGroup resumes every paused member.
func (c *Client) ResumeGroup(ctx context.Context, id string) error {
	_, err := c.rpc.ResumeGroup(ctx, &pb.IDRequest{Id: id})
	return c.fromStatus(ctx, err)
}

// SubmitGroup submits every created member (see host.Host.SubmitGroup).
func (c *Client) SubmitGroup(ctx context.Context, id string) error {
	_, err := c.rpc.SubmitGroup(ctx, &pb.IDRequest{Id: id})
	return c.fromStatus(ctx, err)
}

// Tasks lists the tasks the host's plugins offer.
func (c *Client) Tasks(ctx context.Context) ([]host.TaskInfo, error) {
	r, err := c.rpc.Tasks(ctx, &pb.Empty{})
	if err != nil {
		return nil, c.fromStatus(ctx, err)
	}
	out := make([]host.TaskInfo, len(r.GetTasks()))
	for i, t := range r.GetTasks() {
		out[i] = fromProtoTask(t)
	}
	return out, nil
}

// Stats returns counts by state, queue depth and busy workers.
func (c *Client) Stats(ctx context.Context) (host.Stats, error) {
	r, err := c.rpc.Stats(ctx, &pb.Empty{})
	if err != nil {
		return host.Stats{}, c.fromStatus(ctx, err)
	}
	return fromProtoStats(r), nil
}

// Problems lists what went wrong loading plugins, and config warnings.
func (c *Client) Problems(ctx context.Context) ([]string, error) {
	r, err := c.rpc.Problems(ctx, &pb.Empty{})
	if err != nil {
		return nil, c.fromStatus(ctx, err)
	}
	return r.GetProblems(), nil
}

// PauseDispatch stops starting new attempts; running ones go on.
func (c *Client) PauseDispatch(ctx context.Context) error {
	_, err := c.rpc.PauseDispatch(ctx, &pb.Empty{})
	return c.fromStatus(ctx, err)
}

// ResumeDispatch undoes PauseDispatch.
func (c *Client) ResumeDispatch(ctx context.Context) error {
	_, err := c.rpc.ResumeDispatch(ctx, &pb.Empty{})
	return c.fromStatus(ctx, err)
}

// CreateSchedule validates and stores a schedule and returns its id; see
// host.Host.CreateSchedule.
func (c *Client) CreateSchedule(ctx context.Context, spec host.ScheduleSpec) (string, error) {
	ps, err := toProtoScheduleSpec(spec)
	if err != nil {
		return "", err
	}
	r, err := c.rpc.CreateSchedule(ctx, ps)
	if err != nil {
		return "", c.fromStatus(ctx, err)
	}
	return r.GetId(), nil
}

// GetSchedule returns a schedule by id or name.
func (c *Client) GetSchedule(ctx context.Context, idOrName string) (*host.Schedule, error) {
	s, err := c.rpc.GetSchedule(ctx, &pb.IDRequest{Id: idOrName})
	if err != nil {
		return nil, c.fromStatus(ctx, err)
	}
	return fromProtoSchedule(s), nil
}

// ListSchedules returns every schedule, by name.
func (c *Client) ListSchedules(ctx context.Context) ([]*host.Schedule, error) {
	r, err := c.rpc.ListSchedules(ctx, &pb.ListSchedulesRequest{})
	if err != nil {
		return nil, c.fromStatus(ctx, err)
	}
	out := make([]*host.Schedule, len(r.GetSchedules()))
	for i, s := range r.GetSchedules() {
		out[i] = fromProtoSchedule(s)
	}
	return out, nil
}

// PauseSchedule stops a schedule from firing until ResumeSchedule.
func (c *Client) PauseSchedule(ctx context.Context, idOrName string) error {
	_, err := c.rpc.PauseSchedule(ctx, &pb.IDRequest{Id: idOrName})
	return c.fromStatus(ctx, err)
}

// ResumeSchedule lets a paused schedule fire again from its next time
// after now.
func (c *Client) ResumeSchedule(ctx context.Context, idOrName string) error {
	_, err := c.rpc.ResumeSchedule(ctx, &pb.IDRequest{Id: idOrName})
	return c.fromStatus(ctx, err)
}

// DeleteSchedule removes a schedule; the jobs it fired stay.
func (c *Client) DeleteSchedule(ctx context.Context, idOrName string) error {
	_, err := c.rpc.DeleteSchedule(ctx, &pb.IDRequest{Id: idOrName})
	return c.fromStatus(ctx, err)
}

// TriggerSchedule fires a schedule now and returns the job's id.
func (c *Client) TriggerSchedule(ctx context.Context, idOrName string) (string, error) {
	r, err := c.rpc.TriggerSchedule(ctx, &pb.IDRequest{Id: idOrName})
	if err != nil {
		return "", c.fromStatus(ctx, err)
	}
	return r.GetId(), nil
}

// EventStream is a subscription opened by Watch.
type EventStream struct {
	c      *Client
	ctx    context.Context
	cancel context.CancelFunc
	st     pb.Control_WatchClient
}

// Watch subscribes to events matching f. It returns once the subscription
// is in place on the host, so no event after that is missed (unless the
// reader lags far behind: see host.EventLagged).
func (c *Client) Watch(ctx context.Context, f host.EventFilter) (*EventStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	st, err := c.rpc.Watch(ctx, toProtoFilter(f))
	if err == nil {
		var md metadata.MD
		md, err = st.Header()
		if err == nil && md == nil {
			// Ended without headers: refused; the status says why.
			_, err = st.Recv()
		}
	}
	if err != nil {
		cancel()
		return nil, c.fromStatus(ctx, err)
	}
	return &EventStream{c: c, ctx: ctx, cancel: cancel, st: st}, nil
}

// Recv returns the next event. It fails when the stream's ctx ends, the
// host closes (an error matching host.ErrClosed) or goes away (ErrNoHost).
func (s *EventStream) Recv() (host.Event, error) {
	e, err := s.st.Recv()
	if err != nil {
		return host.Event{}, s.c.fromStatus(s.ctx, err)
	}
	return fromProtoEvent(e), nil
}

// Close ends the subscription.
func (s *EventStream) Close() { s.cancel() }
