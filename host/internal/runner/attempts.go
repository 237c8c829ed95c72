package runner

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
)

// Protocol version 2: attempts travel on the process's attempt channel. A
// start frame goes out from Start's caller; one reader goroutine per
// process takes the plugin's events and result and finishes the attempt.
// No goroutine is started per attempt.

// inlineArgs is the largest args sent from Start's caller. A start frame
// of this size fits the socket's buffer, so the write cannot block on a
// plugin slow to read; a larger one goes out on a goroutine.
const inlineArgs = 64 << 10

// minHeartbeat is the shortest heartbeat interval asked of a plugin.
const minHeartbeat = 10 * time.Millisecond

// startV2 makes r p's attempt and returns the start frame that sends it
// off, or false if p's channel has already ended. r.mu is held; the frame
// is written after it is released (see send), so that the reader never
// waits on this attempt's lock for a result that came back before the
// write returned. A cancel in between still reaches the attempt: cancels
// name its seq and may overtake it.
func (r *Run) startV2(p *proc) (*pluginpb.HostFrame, bool) {
	seq, ok := p.setCurrent(r)
	if !ok {
		return nil, false
	}
	r.seq = seq
	var hb time.Duration
	if r.a.StallTimeout > 0 {
		// Heartbeats only where a stall timeout needs them, and often
		// enough that a live attempt cannot stall.
		hb = max(min(r.m.cfg.HeartbeatInterval, r.a.StallTimeout/3), minHeartbeat)
	}
	return pluginrpc.StartFrame(r.seq, r.request(hb)), true
}

// send writes an attempt's start frame to p.
func (p *proc) send(frame *pluginpb.HostFrame) {
	if len(frame.GetStart().GetArgs()) <= inlineArgs {
		if err := p.attempts.Write(frame); err != nil {
			p.brokenWrite(err)
		}
		return
	}
	go func() {
		if err := p.attempts.Write(frame); err != nil {
			p.brokenWrite(err)
		}
	}()
}

// brokenWrite handles a frame that could not be written: the process is
// gone or its channel broken. A SIGKILL makes sure its reader sees the end
// and finishes the attempt as a crash; the reader cleans up. Only the
// signal is sent here: the caller (the engine) must not wait for the
// cleanup. A channel this host closed is being killed already.
func (p *proc) brokenWrite(err error) {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) {
		return
	}
	p.mu.Lock()
	stopped := p.stopped
	p.mu.Unlock()
	if !stopped {
		p.signal(syscall.SIGKILL)
	}
}

// sendCancel cancels r's task in p, on p's lifeline: 8 bytes into a pipe
// the plugin always reads (the write cannot block), which may overtake a
// start frame still on its way (the plugin then starts the attempt
// cancelled). If the task has not returned after the kill grace, p is
// killed. r.mu is held.
func (r *Run) sendCancel(p *proc) {
	if err := pluginrpc.WriteCancel(p.lifeline, r.seq); err != nil {
		p.brokenWrite(err)
	}
	r.grace = time.AfterFunc(r.m.cfg.KillGrace, func() {
		if p.current() == r {
			r.m.log.Warn("plugin did not return from a cancelled task within the kill grace; killing it", "plugin", r.pl.name, "pid", p.pid)
			p.kill()
		}
	})
}

// setCurrent makes r p's attempt in progress and returns its seq; false
// if p's channel has ended (its reader will finish no attempt any more).
func (p *proc) setCurrent(r *Run) (uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return 0, false
	}
	p.cur = r
	p.seq++
	return p.seq, true
}

// current is the attempt p is running, nil between attempts.
func (p *proc) current() *Run {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// takeCurrent ends p's current attempt and returns it; with ended, p's
// channel has ended too, and no attempt may become current any more.
func (p *proc) takeCurrent(ended bool) *Run {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.cur
	p.cur = nil
	p.ended = p.ended || ended
	return r
}

// readAttempts is the reader of p's attempt channel, for p's whole life:
// it passes events on, finishes an attempt at its result, and when the
// channel ends (the process died or was stopped) finishes the attempt in
// progress, if any, and lets the process go.
func (m *Manager) readAttempts(p *proc) {
	defer m.bg.Done()
	for {
		ev := &pluginpb.ExecuteEvent{}
		if err := p.attempts.Read(ev); err != nil {
			m.lost(p, p.takeCurrent(true), err)
			return
		}
		if res := ev.GetResult(); res != nil {
			if r := p.takeCurrent(false); r != nil {
				r.returned(p, res)
			}
			continue
		}
		if r := p.current(); r != nil {
			r.event(ev)
		}
		// Events between attempts have no attempt to belong to; the SDK
		// sends none.
	}
}

// lost handles the end of p's attempt channel: p is discarded, and r, the
// attempt it was running, is finished as cancelled (if it was) or crashed.
func (m *Manager) lost(p *proc, r *Run, err error) {
	if r == nil {
		p.mu.Lock()
		asked := p.stopped
		p.mu.Unlock()
		if !asked {
			// It died while idle.
			exit, _ := p.waitExit(time.Second)
			m.stats.crashed(p.pl.name, exitKind(exit))
		}
		m.discard(p)
		return
	}
	if cause, _ := r.end(); cause != nil {
		m.discard(p)
		r.finish(nil, causeError(cause, r.a))
		return
	}
	r.finish(nil, r.crash(p, err))
}
