package sdk

import (
	"sync"
	"time"

	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
)

// sender serializes the events of one attempt onto the attempt channel. A
// task may report progress and logs from many goroutines; the mutex fixes
// the order events reach the host. After the result is sent (or a send
// failed) every later event is dropped: a goroutine the task left behind
// must not write into the next attempt's events.
type sender struct {
	conn *pluginrpc.Conn

	mu       sync.Mutex
	closed   bool
	beat     *time.Timer // heartbeats, if the host asked for them
	interval time.Duration
}

func (s *sender) send(ev *pluginpb.ExecuteEvent) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendLocked(ev)
}

func (s *sender) sendLocked(ev *pluginpb.ExecuteEvent) {
	if s.closed {
		return
	}
	if err := s.conn.Write(ev); err != nil {
		// The host is gone or broke the channel; the result could not
		// arrive either. The channel's reader ends the process.
		s.closed = true
	}
}

// finish sends the attempt's single result and closes the sender.
func (s *sender) finish(res *pluginpb.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.beat != nil {
		s.beat.Stop()
	}
	s.sendLocked(&pluginpb.ExecuteEvent{Event: &pluginpb.ExecuteEvent_Result{Result: res}})
	s.closed = true
}

var heartbeatEvent = &pluginpb.ExecuteEvent{Event: &pluginpb.ExecuteEvent_Heartbeat{Heartbeat: &pluginpb.Heartbeat{}}}

// heartbeats sends a heartbeat every interval until the result, so that
// the host can tell a slow task from a wedged process. A timer rather than
// a goroutine: most attempts end before the first beat, and then cost
// nothing.
func (s *sender) heartbeats(interval time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.interval = interval
	s.beat = time.AfterFunc(interval, s.heartbeat)
}

func (s *sender) heartbeat() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.sendLocked(heartbeatEvent)
	s.beat.Reset(s.interval)
}
