package runner

import (
	"context"
	"time"

	"github.com/batchhost/batchhost/proto/pluginpb"
)

// Protocol version 1, spoken by plugins built with SDKs before version 2
// and by the Python SDK: one Execute call per attempt, driven by a
// goroutine of its own. A cancel is a Cancel call, which leaves the
// Execute call open so that what the task sends until it returns still
// arrives; a plugin without Cancel has its Execute call cancelled. The
// process is reused once the plugin says its task returned.

// runV1 runs r's attempt as an Execute call on p.
func (r *Run) runV1(ctx context.Context, p *proc) {
	result, streamErr := r.execute(ctx, p)
	cause, cancelAt := r.end()
	r.cancelFn(nil)
	switch {
	case result != nil:
		r.returned(p, result)
	case cause != nil:
		r.settle(p, cancelAt)
		r.finish(nil, causeError(cause, r.a))
	default:
		r.finish(nil, r.crash(p, streamErr))
	}
}

// execute runs the Execute stream until its result or its end.
func (r *Run) execute(ctx context.Context, p *proc) (*pluginpb.Result, error) {
	stream, err := p.rpc.Execute(ctx, r.request(r.m.cfg.HeartbeatInterval))
	if err != nil {
		return nil, err
	}
	for {
		ev, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		if res := ev.GetResult(); res != nil {
			return res, nil
		}
		r.event(ev)
	}
}

// cancelV1 cancels r's task in p. The Cancel call goes out on a goroutine
// of its own (r.mu is held); if the plugin does not implement it, or it
// fails, the Execute call is cancelled instead, which ends its stream at
// once. If the task has not returned after the kill grace, the Execute
// call is cancelled too, and settle kills the process.
func (r *Run) cancelV1(p *proc, cause error) {
	cancelCall := r.cancelFn
	r.grace = time.AfterFunc(r.m.cfg.KillGrace, func() { cancelCall(cause) })
	req := &pluginpb.CancelRequest{JobId: r.a.JobID, Attempt: int32(r.a.Attempt)}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), r.m.cfg.KillGrace)
		defer cancel()
		if _, err := p.rpc.Cancel(ctx, req); err != nil {
			cancelCall(cause)
		}
	}()
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

// running reports how many tasks the plugin says are still running.
func (p *proc) running(ctx context.Context) (int32, error) {
	d, err := p.rpc.Describe(ctx, &pluginpb.DescribeRequest{})
	if err != nil {
		return 0, err
	}
	return d.GetRunning(), nil
}
