package runner

import (
	"context"
	"time"

	"github.com/batchhost/batchhost/proto/pluginpb"
)

// Protocol version 1, spoken by plugins built with SDKs before version 2:
// one Execute call per attempt, driven by a goroutine of its own. A cancel
// cancels the call's context; the process is reused once the plugin says
// its task returned.

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
