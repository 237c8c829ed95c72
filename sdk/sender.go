package sdk

import (
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/batchhost/batchhost/proto/pluginpb"
)

// sender serializes the events of one attempt onto its stream. gRPC's Send
// is not safe for concurrent use, and a task may report progress and logs
// from many goroutines; the mutex also fixes the order events reach the
// host. After the result is sent (or a send failed) every later event is
// dropped: a goroutine the task left behind must not write to a stream
// whose handler has returned.
type sender struct {
	stream grpc.ServerStreamingServer[pluginpb.ExecuteEvent]

	mu     sync.Mutex
	closed bool
	err    error
}

func (s *sender) send(ev *pluginpb.ExecuteEvent) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if err := s.stream.Send(ev); err != nil {
		s.closed, s.err = true, err
	}
}

// finish sends the attempt's single result and closes the sender. It
// returns the send error, or the error of an earlier failed send (the host
// has gone away or cancelled; the result could not arrive anyway).
func (s *sender) finish(res *pluginpb.Result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.err
	}
	s.closed = true
	s.err = s.stream.Send(&pluginpb.ExecuteEvent{Event: &pluginpb.ExecuteEvent_Result{Result: res}})
	return s.err
}

var heartbeatEvent = &pluginpb.ExecuteEvent{Event: &pluginpb.ExecuteEvent_Heartbeat{Heartbeat: &pluginpb.Heartbeat{}}}

// heartbeats sends a heartbeat every interval until stop is closed, so that
// the host can tell a slow task from a wedged process.
func (s *sender) heartbeats(interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.send(heartbeatEvent)
		}
	}
}
